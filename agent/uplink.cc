#include "agent/uplink.h"

#include <algorithm>
#include <thread>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/metric_catalog.h"
#include "common/transport_security.h"
#include "grpcpp/grpcpp.h"
#include "spdlog/spdlog.h"

namespace eroom::agent {
namespace v1 = ::eroom::monitor::v1;
namespace {

// How long the collector has to answer the hello before the attempt fails.
constexpr absl::Duration kHelloTimeout = absl::Seconds(10);
// How long an attempt waits for the channel to connect before it is made
// (and fails, if the collector is still away).
constexpr absl::Duration kConnectWait = absl::Seconds(2);
// Largest batch the uplink sends, well under the collector's default
// message limit (16 MiB) even for one event at the agent's 1 MiB cap.
constexpr size_t kMaxBatchBytes = 4 << 20;
// Batches sent but not yet acknowledged before the uplink waits for acks:
// the collector's default window (ingest.stream_window_batches). Fewer
// leave the collector idle while acks travel: a window of 8 held one agent
// to about 200k events/s, 16 to about 217k (tests/bench/transport_bench).
constexpr uint64_t kMaxUnackedBatches = 16;

// What the stream's reader thread learns, shared with the uplink thread.
class StreamState {
 public:
  void OnMessage(const v1::CollectorMessage& message) {
    absl::MutexLock lock(&mu_);
    if (message.has_hello_ack()) {
      hello_answered_ = true;
      stored_through_ = message.hello_ack().last_stored_sequence();
    } else if (message.has_ack()) {
      stored_through_ =
          std::max(stored_through_, message.ack().stored_through_sequence());
    }
  }
  void OnBroken() {
    absl::MutexLock lock(&mu_);
    broken_ = true;
  }
  // Waits for the hello answer; false if the stream broke or time ran out.
  bool AwaitHelloAnswer(absl::Duration timeout, uint64_t* last_stored) {
    absl::MutexLock lock(&mu_);
    auto settled = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return hello_answered_ || broken_;
    };
    mu_.AwaitWithTimeout(absl::Condition(&settled), timeout);
    *last_stored = stored_through_;
    return hello_answered_ && !broken_;
  }
  // Waits until the acknowledged sequence reaches `sequence`, the stream
  // breaks, or `timeout` passes; returns the acknowledged sequence.
  uint64_t AwaitAck(uint64_t sequence, absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto settled = [this, sequence]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return stored_through_ >= sequence || broken_;
    };
    mu_.AwaitWithTimeout(absl::Condition(&settled), timeout);
    return stored_through_;
  }
  bool broken() const {
    absl::MutexLock lock(&mu_);
    return broken_;
  }

 private:
  mutable absl::Mutex mu_;
  bool hello_answered_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t stored_through_ ABSL_GUARDED_BY(mu_) = 0;
};

std::shared_ptr<grpc::Channel> MakeChannel(const UplinkOptions& options) {
  grpc::ChannelArguments args;
  // Keepalives notice a dead collector or a silently dropped connection.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  // The channel's own reconnect backoff follows ours, or a collector that
  // comes back would wait for gRPC's default (up to two minutes).
  args.SetInt(
      GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS,
      static_cast<int>(absl::ToInt64Milliseconds(options.reconnect_initial)));
  args.SetInt(
      GRPC_ARG_MIN_RECONNECT_BACKOFF_MS,
      static_cast<int>(absl::ToInt64Milliseconds(options.reconnect_initial)));
  args.SetInt(
      GRPC_ARG_MAX_RECONNECT_BACKOFF_MS,
      static_cast<int>(absl::ToInt64Milliseconds(options.reconnect_max)));
  return CreateSecureChannel(options.collector_address, options.security,
                             std::move(args));
}

}  // namespace

Uplink::Uplink(UplinkOptions options, v1::AgentHello hello, Spool& spool,
               const Clock& clock)
    : options_(std::move(options)),
      hello_(std::move(hello)),
      spool_(spool),
      clock_(clock),
      channel_(MakeChannel(options_)),
      stub_(v1::AgentService::NewStub(channel_)) {}

void Uplink::ReportDrops() {
  const uint64_t dropped = spool_.stats().dropped;
  if (dropped == reported_drops_) return;
  v1::Event event;
  v1::AgentNotice* notice = event.mutable_notice();
  notice->set_time_unix_ms(absl::ToUnixMillis(clock_.Now()));
  notice->set_kind(notice_kind::kEventsDropped);
  notice->set_count(static_cast<int64_t>(dropped - reported_drops_));
  notice->set_message(absl::StrCat(
      dropped - reported_drops_,
      " samples, probe results or notices dropped: the agent's spool was "
      "full or refused them"));
  // Refused, the notice is a drop itself, reported with the next one.
  if (spool_.Append({std::move(event)}).ok()) reported_drops_ = dropped;
}

uint64_t Uplink::Acknowledged(uint64_t stored_through) {
  {
    absl::MutexLock lock(&mu_);
    if (stored_through <= last_acked_) return last_acked_;
    last_acked_ = stored_through;
  }
  absl::Status deleted = spool_.DeleteThrough(stored_through);
  if (!deleted.ok()) {
    // Harmless: they are deleted with the next acknowledgement.
    spdlog::warn("cannot delete acknowledged events: {}", deleted.ToString());
  }
  return stored_through;
}

void Uplink::Abort() {
  absl::MutexLock lock(&mu_);
  if (active_context_ != nullptr) active_context_->TryCancel();
}

Uplink::Stats Uplink::stats() const {
  Spool::Stats spool = spool_.stats();
  absl::MutexLock lock(&mu_);
  return Stats{connected_, last_acked_, spool.dropped, spool.events};
}

bool Uplink::RunConnection(const absl::Notification& stop,
                           absl::Duration flush_timeout) {
  // A channel whose last connection attempt failed fails new calls at once
  // until its own backoff has passed, and by then ours may have grown: a
  // collector that came back a moment later was missed for tens of
  // seconds. So the channel is asked to connect, and given a moment.
  const absl::Time ready_by = absl::Now() + kConnectWait;
  while (!stop.HasBeenNotified() && absl::Now() < ready_by &&
         !channel_->WaitForConnected(
             absl::ToChronoTime(absl::Now() + absl::Milliseconds(100)))) {
  }
  grpc::ClientContext context;
  AddCallCredentials(options_.security, &context);
  // Log text compresses several times over; the CPU is cheaper than the
  // link for a fleet of agents.
  context.set_compression_algorithm(GRPC_COMPRESS_GZIP);
  {
    absl::MutexLock lock(&mu_);
    active_context_ = &context;
  }
  std::unique_ptr<
      grpc::ClientReaderWriter<v1::AgentMessage, v1::CollectorMessage>>
      stream = stub_->Connect(&context);
  StreamState state;
  std::thread reader([&stream, &state] {
    SetThreadName("uplink-rx");
    v1::CollectorMessage message;
    while (stream->Read(&message)) state.OnMessage(message);
    state.OnBroken();
  });

  v1::AgentMessage hello;
  *hello.mutable_hello() = hello_;
  uint64_t last_stored = 0;
  bool answered = stream->Write(hello) &&
                  state.AwaitHelloAnswer(kHelloTimeout, &last_stored);
  absl::Status failure;
  if (answered) {
    {
      absl::MutexLock lock(&mu_);
      connected_ = true;
      last_acked_ = 0;
    }
    next_unreachable_warning_ = absl::InfinitePast();
    spdlog::info("connected to collector {} (stored through sequence {})",
                 options_.collector_address, last_stored);
    failure = spool_.FollowCollectorSequence(last_stored);
    Acknowledged(last_stored);
    // Everything after what the collector stored is (re)sent, in order.
    uint64_t sent_through = last_stored;
    const uint64_t max_unacked = kMaxUnackedBatches * options_.batch_max_events;
    absl::Time flush_deadline = absl::InfiniteFuture();
    bool healthy = failure.ok();
    while (healthy && !state.broken()) {
      if (stop.HasBeenNotified() && flush_deadline == absl::InfiniteFuture()) {
        flush_deadline = clock_.Now() + flush_timeout;
      }
      bool stopping = flush_deadline != absl::InfiniteFuture();
      if (stopping && clock_.Now() >= flush_deadline) break;
      uint64_t acked = Acknowledged(state.AwaitAck(0, absl::ZeroDuration()));
      if (sent_through - acked >= max_unacked) {
        Acknowledged(state.AwaitAck(sent_through - max_unacked + 1,
                                    options_.batch_max_delay));
        continue;
      }
      ReportDrops();
      absl::StatusOr<std::vector<v1::Event>> events =
          spool_.ReadAfter(sent_through, options_.batch_max_events);
      if (!events.ok()) {
        failure = events.status();
        break;
      }
      if (events->empty()) {
        if (stopping && acked >= sent_through) break;
        if (stopping) {
          Acknowledged(state.AwaitAck(sent_through, options_.batch_max_delay));
        } else {
          spool_.WaitForEventsAfter(sent_through, options_.batch_max_delay);
        }
        continue;
      }
      // Batches are bounded in bytes too: the collector refuses messages
      // over its limit, and one batch must never be too big to deliver.
      v1::AgentMessage message;
      size_t batch_bytes = 0;
      for (v1::Event& event : *events) {
        batch_bytes += event.ByteSizeLong();
        if (message.batch().events_size() > 0 && batch_bytes > kMaxBatchBytes) {
          break;
        }
        sent_through = event.sequence();
        *message.mutable_batch()->add_events() = std::move(event);
      }
      healthy = stream->Write(message);
    }
    Acknowledged(state.AwaitAck(0, absl::ZeroDuration()));
  }

  // A stream the collector ended (e.g. PERMISSION_DENIED) keeps its status
  // for Finish(); only a stream still open is cancelled.
  if (!state.broken()) context.TryCancel();
  reader.join();
  grpc::Status status = stream->Finish();
  {
    absl::MutexLock lock(&mu_);
    connected_ = false;
    active_context_ = nullptr;
  }
  if (!failure.ok()) {
    spdlog::error("spool failure, reconnecting: {}", failure.ToString());
  } else if (!stop.HasBeenNotified() &&
             (answered || clock_.Now() >= next_unreachable_warning_)) {
    // A collector that stays away is reported once a minute, not per retry.
    next_unreachable_warning_ = clock_.Now() + absl::Minutes(1);
    spdlog::warn("collector {} {}: {} ({} events spooled)",
                 options_.collector_address,
                 answered ? "connection lost" : "unreachable",
                 status.error_message().empty() ? "stream closed"
                                                : status.error_message(),
                 spool_.stats().events);
  }
  return answered;
}

void Uplink::Run(const absl::Notification& stop, absl::Duration flush_timeout) {
  absl::BitGen jitter;
  absl::Duration backoff = options_.reconnect_initial;
  while (!stop.HasBeenNotified()) {
    if (RunConnection(stop, flush_timeout))
      backoff = options_.reconnect_initial;
    if (stop.HasBeenNotified()) break;
    // Full jitter keeps many agents from reconnecting in lockstep.
    absl::Duration wait = backoff * absl::Uniform(jitter, 0.5, 1.0);
    stop.WaitForNotificationWithTimeout(wait);
    backoff = std::min(backoff * 2, options_.reconnect_max);
  }
}

}  // namespace eroom::agent
