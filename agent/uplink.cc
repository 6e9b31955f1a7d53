#include "agent/uplink.h"

#include <algorithm>
#include <thread>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "grpcpp/grpcpp.h"
#include "spdlog/spdlog.h"

namespace eroom::agent {
namespace v1 = ::eroom::monitor::v1;
namespace {

// How long the collector has to answer the hello before the attempt fails.
constexpr absl::Duration kHelloTimeout = absl::Seconds(10);
// Batches sent but not yet acknowledged before the uplink waits for acks.
constexpr size_t kMaxUnackedBatches = 8;

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

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address) {
  grpc::ChannelArguments args;
  // Keepalives notice a dead collector or a silently dropped connection.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(),
                                   args);
}

}  // namespace

Uplink::Uplink(UplinkOptions options, v1::AgentHello hello, const Clock& clock)
    : options_(std::move(options)),
      hello_(std::move(hello)),
      clock_(clock),
      stub_(v1::AgentService::NewStub(MakeChannel(options_.collector_address))),
      queue_(options_.queue_capacity) {}

void Uplink::Submit(v1::Event event) {
  size_t dropped = queue_.PushDropOldest(std::move(event));
  if (dropped == 0) return;
  absl::MutexLock lock(&mu_);
  dropped_total_ += dropped;
  dropped_unreported_ += dropped;
}

void Uplink::Abort() {
  absl::MutexLock lock(&mu_);
  if (active_context_ != nullptr) active_context_->TryCancel();
}

Uplink::Stats Uplink::stats() const {
  absl::MutexLock lock(&mu_);
  return Stats{connected_, last_acked_, dropped_total_, queue_.size()};
}

std::vector<v1::Event> Uplink::TakeNewEvents() {
  std::vector<v1::Event> events =
      queue_.PopBatch(options_.batch_max_events, options_.batch_max_delay);
  uint64_t dropped;
  {
    absl::MutexLock lock(&mu_);
    dropped = dropped_unreported_;
    dropped_unreported_ = 0;
  }
  if (dropped > 0) {
    v1::Event notice;
    notice.mutable_notice()->set_time_unix_ms(absl::ToUnixMillis(clock_.Now()));
    notice.mutable_notice()->set_kind("events_dropped");
    notice.mutable_notice()->set_count(static_cast<int64_t>(dropped));
    notice.mutable_notice()->set_message(
        absl::StrCat(dropped,
                     " events dropped: the agent's queue was full while the "
                     "collector could not keep up or was unreachable"));
    events.insert(events.begin(), std::move(notice));
  }
  for (v1::Event& event : events) {
    event.set_sequence(next_sequence_++);
    unacked_.push_back(event);
  }
  return events;
}

void Uplink::ForgetAcknowledged(uint64_t stored_through) {
  while (!unacked_.empty() && unacked_.front().sequence() <= stored_through) {
    unacked_.pop_front();
  }
  absl::MutexLock lock(&mu_);
  last_acked_ = std::max(last_acked_, stored_through);
}

bool Uplink::RunConnection(const absl::Notification& stop,
                           absl::Duration flush_timeout) {
  grpc::ClientContext context;
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
  if (answered) {
    {
      absl::MutexLock lock(&mu_);
      connected_ = true;
    }
    spdlog::info("connected to collector {} (stored through sequence {})",
                 options_.collector_address, last_stored);
    ForgetAcknowledged(last_stored);
    next_sequence_ = std::max(next_sequence_, last_stored + 1);

    // Resend what the previous connection left unacknowledged, then stream.
    std::vector<v1::Event> resend(unacked_.begin(), unacked_.end());
    bool healthy = true;
    for (size_t i = 0; healthy && i < resend.size();
         i += options_.batch_max_events) {
      v1::AgentMessage message;
      size_t end = std::min(resend.size(), i + options_.batch_max_events);
      for (size_t j = i; j < end; ++j) {
        *message.mutable_batch()->add_events() = resend[j];
      }
      healthy = stream->Write(message);
    }
    absl::Time flush_deadline = absl::InfiniteFuture();
    const size_t max_unacked = kMaxUnackedBatches * options_.batch_max_events;
    while (healthy && !state.broken()) {
      if (stop.HasBeenNotified() && flush_deadline == absl::InfiniteFuture()) {
        flush_deadline = clock_.Now() + flush_timeout;
      }
      bool stopping = flush_deadline != absl::InfiniteFuture();
      if (stopping && clock_.Now() >= flush_deadline) break;
      if (unacked_.size() >= max_unacked) {
        ForgetAcknowledged(state.AwaitAck(unacked_.front().sequence(),
                                          options_.batch_max_delay));
        continue;
      }
      std::vector<v1::Event> events = TakeNewEvents();
      if (events.empty()) {
        if (stopping && unacked_.empty()) break;
        if (stopping) {
          ForgetAcknowledged(state.AwaitAck(unacked_.back().sequence(),
                                            options_.batch_max_delay));
        }
        continue;
      }
      v1::AgentMessage message;
      for (v1::Event& event : events) {
        *message.mutable_batch()->add_events() = std::move(event);
      }
      healthy = stream->Write(message);
      ForgetAcknowledged(state.AwaitAck(0, absl::ZeroDuration()));
    }
    ForgetAcknowledged(state.AwaitAck(0, absl::ZeroDuration()));
  }

  context.TryCancel();
  reader.join();
  grpc::Status status = stream->Finish();
  {
    absl::MutexLock lock(&mu_);
    connected_ = false;
    active_context_ = nullptr;
  }
  if (!stop.HasBeenNotified()) {
    spdlog::warn("collector {} {}: {} ({} events unacknowledged, {} queued)",
                 options_.collector_address,
                 answered ? "connection lost" : "unreachable",
                 status.error_message().empty() ? "stream closed"
                                                : status.error_message(),
                 unacked_.size(), queue_.size());
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
