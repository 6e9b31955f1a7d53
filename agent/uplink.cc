#include "agent/uplink.h"

#include <algorithm>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "agent/issued_token.h"
#include "common/event_sequence.h"
#include "common/log_sources.h"
#include "common/logging.h"
#include "common/metric_catalog.h"
#include "common/status_macros.h"
#include "spdlog/spdlog.h"

namespace eroom::agent {
namespace v1 = ::eroom::monitor::v1;
namespace {

// How long the collector has to answer the hello before the attempt fails.
constexpr absl::Duration kHelloTimeout = absl::Seconds(10);
// Largest batch the uplink sends, well under the collector's default
// message limit (16 MiB) even for one event at the agent's 1 MiB cap.
constexpr size_t kMaxBatchBytes = 4 << 20;
// Batches sent but not yet acknowledged before the uplink waits for acks:
// the collector's default window (ingest.stream_window_batches). Fewer
// leave the collector idle while acks travel: a window of 8 held one agent
// to about 200k events/s, 16 to about 217k (tests/bench/transport_bench).
constexpr uint64_t kMaxUnackedBatches = 16;
// Progress reports written per turn, between batches.
constexpr size_t kMaxProgressPerTurn = 64;
// The longest pacing taken from a collector (Ack.batch_interval_ms): events
// are never held back longer than this for it.
constexpr absl::Duration kMaxBatchInterval = absl::Seconds(10);

// Gives the log events of `batch` (an EventBatch in its wire format) their
// file, logger and thread again, for a collector older than log sources.
absl::Status ResolveEncodedBatch(std::string& batch) {
  v1::EventBatch parsed;
  if (!parsed.ParseFromString(batch)) {
    return absl::InternalError("the spool read back a batch that is not one");
  }
  EROOM_RETURN_IF_ERROR(eroom::ResolveLogSources(parsed));
  batch = parsed.SerializeAsString();
  return absl::OkStatus();
}

}  // namespace

// What the stream's reader thread learns, shared with the uplink thread.
// Commands go straight on to the runner, which never blocks the reader.
class Uplink::StreamState {
 public:
  explicit StreamState(CommandRunner& commands) : commands_(commands) {}

  // False, after logging why, if the collector sent a sequence this agent
  // must not follow: the stream is then to end (and be retried), since
  // renumbering or freeing the spool after it would lose events silently.
  bool OnMessage(v1::CollectorMessage& message) {
    if (message.has_command()) {
      commands_.Submit(std::move(*message.mutable_command()));
      return true;
    }
    absl::MutexLock lock(&mu_);
    if (message.has_hello_ack()) {
      const uint64_t last = message.hello_ack().last_stored_sequence();
      if (last > kMaxEventSequence) {
        return Refuse(absl::StrCat("HelloAck.last_stored_sequence ", last,
                                   " is beyond any sequence (at most ",
                                   kMaxEventSequence, ")"));
      }
      hello_answered_ = true;
      stored_through_ = last;
      sent_through_ = std::max(sent_through_, last);
      issued_token_ = message.hello_ack().agent_token();
      collector_reads_log_sources_ = message.hello_ack().log_sources();
      log_resume_points_.assign(message.hello_ack().log_resume_points().begin(),
                                message.hello_ack().log_resume_points().end());
    } else if (message.has_ack()) {
      const uint64_t acked = message.ack().stored_through_sequence();
      if (acked > sent_through_) {
        return Refuse(absl::StrCat("Ack.stored_through_sequence ", acked,
                                   " is beyond the last sequence sent, ",
                                   sent_through_));
      }
      stored_through_ = std::max(stored_through_, acked);
      batch_interval_ =
          std::min(absl::Milliseconds(message.ack().batch_interval_ms()),
                   kMaxBatchInterval);
    }
    return true;
  }
  // Whether the collector said in its HelloAck that it reads log sources.
  bool collector_reads_log_sources() const {
    absl::MutexLock lock(&mu_);
    return collector_reads_log_sources_;
  }
  // The pacing the collector asked for in its last Ack.
  absl::Duration batch_interval() const {
    absl::MutexLock lock(&mu_);
    return batch_interval_;
  }
  // Notes that events through `sequence` are about to be sent: acks up to
  // there are sound.
  void Sending(uint64_t sequence) {
    absl::MutexLock lock(&mu_);
    sent_through_ = std::max(sent_through_, sequence);
  }
  // The token the collector issued in its HelloAck, if any.
  std::string issued_token() const {
    absl::MutexLock lock(&mu_);
    return issued_token_;
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
  std::vector<v1::LogResumePoint> log_resume_points() const {
    absl::MutexLock lock(&mu_);
    return log_resume_points_;
  }

 private:
  bool Refuse(const std::string& problem) {
    spdlog::error(
        "the collector sent {}: ending the stream and reconnecting (spooled "
        "events are kept)",
        problem);
    return false;
  }

  CommandRunner& commands_;
  mutable absl::Mutex mu_;
  bool hello_answered_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t stored_through_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t sent_through_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Duration batch_interval_ ABSL_GUARDED_BY(mu_);
  std::string issued_token_ ABSL_GUARDED_BY(mu_);
  bool collector_reads_log_sources_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<v1::LogResumePoint> log_resume_points_ ABSL_GUARDED_BY(mu_);
};

Uplink::Uplink(UplinkOptions options, v1::AgentHello hello, Spool& spool,
               CommandRunner& commands, const Clock& clock)
    : Uplink(
          options, std::move(hello), spool, commands, clock,
          NewGrpcCollectorLink(options.collector_address, options.security,
                               options.compression, options.reconnect_initial,
                               options.reconnect_max)) {}

Uplink::Uplink(UplinkOptions options, v1::AgentHello hello, Spool& spool,
               CommandRunner& commands, const Clock& clock,
               std::unique_ptr<CollectorLink> link)
    : options_(std::move(options)),
      hello_(std::move(hello)),
      spool_(spool),
      commands_(commands),
      clock_(clock),
      link_(std::move(link)),
      backoff_(options_.reconnect_initial) {}

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
  if (active_call_ != nullptr) active_call_->Cancel();
}

Uplink::Stats Uplink::stats() const {
  Spool::Stats spool = spool_.stats();
  absl::MutexLock lock(&mu_);
  return Stats{connected_, last_acked_, spool.dropped, spool.events};
}

bool Uplink::SendHello(CollectorCall& call, StreamState& state,
                       uint64_t* last_stored) {
  v1::EncodedAgentMessage hello;
  *hello.mutable_hello() = hello_;
  // Asked until the spool took the answer: a restart may come first.
  const bool ask_log_resume = spool_.log_resume_pending();
  hello.mutable_hello()->set_spool_replaced(ask_log_resume);
  if (!call.Write(hello) ||
      !state.AwaitHelloAnswer(kHelloTimeout, last_stored)) {
    return false;
  }
  if (ask_log_resume) spool_.OfferLogResumePoints(state.log_resume_points());
  return true;
}

bool Uplink::SendProgress(CollectorCall& call) {
  for (v1::CommandProgress& progress :
       commands_.TakeProgress(kMaxProgressPerTurn)) {
    unsent_progress_.push_back(std::move(progress));
  }
  while (!unsent_progress_.empty()) {
    v1::EncodedAgentMessage message;
    *message.mutable_command_progress() = unsent_progress_.front();
    if (!call.Write(message)) return false;
    unsent_progress_.pop_front();
  }
  return true;
}

absl::StatusOr<Uplink::Sent> Uplink::SendEvents(CollectorCall& call,
                                                StreamState& state,
                                                uint64_t* sent_through) {
  // The loop turns every batch_max_delay while idle: no query then.
  if (spool_.stats().last_sequence <= *sent_through) return Sent::kNothing;
  // Batches are bounded in bytes too: the collector refuses messages over
  // its limit, and one batch must never be too big to deliver.
  v1::EncodedAgentMessage message;
  EROOM_ASSIGN_OR_RETURN(
      const uint64_t last,
      spool_.ReadAfter(*sent_through, options_.batch_max_events, kMaxBatchBytes,
                       *message.mutable_batch()));
  if (message.batch().empty()) return Sent::kNothing;
  if (!state.collector_reads_log_sources()) {
    EROOM_RETURN_IF_ERROR(ResolveEncodedBatch(*message.mutable_batch()));
  }
  *sent_through = last;
  state.Sending(*sent_through);
  return call.Write(message) ? Sent::kBatch : Sent::kBroken;
}

absl::Status Uplink::Exchange(CollectorCall& call, StreamState& state,
                              uint64_t last_stored,
                              const absl::Notification& stop,
                              absl::Duration flush_timeout) {
  EROOM_RETURN_IF_ERROR(spool_.FollowCollectorSequence(last_stored));
  Acknowledged(last_stored);
  // Everything after what the collector stored is (re)sent, in order.
  uint64_t sent_through = last_stored;
  const uint64_t max_unacked = kMaxUnackedBatches * options_.batch_max_events;
  absl::Time flush_deadline = absl::InfiniteFuture();
  absl::Time last_batch_sent = absl::InfinitePast();
  // Each wait is drawn around the collector's interval, so that agents its
  // slow commit acknowledged together do not go on sending together.
  double pacing_jitter = 1.0;
  while (!state.broken()) {
    if (stop.HasBeenNotified() && flush_deadline == absl::InfiniteFuture()) {
      flush_deadline = clock_.Now() + flush_timeout;
    }
    const bool stopping = flush_deadline != absl::InfiniteFuture();
    if (stopping && clock_.Now() >= flush_deadline) break;
    const uint64_t acked =
        Acknowledged(state.AwaitAck(0, absl::ZeroDuration()));
    if (!SendProgress(call)) break;
    if (sent_through - acked >= max_unacked) {
      Acknowledged(state.AwaitAck(sent_through - max_unacked + 1,
                                  options_.batch_max_delay));
      continue;
    }
    // As Nagle's algorithm does with segments: a batch that is not full
    // waits until everything sent is acknowledged. A collector that falls
    // behind then receives fewer, fuller batches rather than more and more
    // small ones, each costing it far more than its few events; a quiet
    // agent still sends each event at once.
    const uint64_t spooled_through = spool_.stats().last_sequence;
    const bool batch_not_full =
        spooled_through < sent_through + options_.batch_max_events;
    if (sent_through > acked && batch_not_full) {
      Acknowledged(state.AwaitAck(sent_through, options_.batch_max_delay));
      continue;
    }
    // And no sooner than the collector's pacing allows (Ack), unless
    // stopping, when the spool is delivered as fast as it goes.
    if (spooled_through > sent_through && batch_not_full && !stopping) {
      const absl::Duration early = last_batch_sent +
                                   state.batch_interval() * pacing_jitter -
                                   clock_.Now();
      if (early > absl::ZeroDuration()) {
        Acknowledged(state.AwaitAck(sent_through + 1,
                                    std::min(early, options_.batch_max_delay)));
        continue;
      }
    }
    ReportDrops();
    EROOM_ASSIGN_OR_RETURN(Sent sent, SendEvents(call, state, &sent_through));
    if (sent == Sent::kBroken) break;
    if (sent == Sent::kBatch) {
      last_batch_sent = clock_.Now();
      pacing_jitter = absl::Uniform(jitter_, 0.5, 1.5);
      continue;
    }
    if (stopping && acked >= sent_through) break;
    if (stopping) {
      Acknowledged(state.AwaitAck(sent_through, options_.batch_max_delay));
    } else {
      // Command progress waits at most this long too.
      spool_.WaitForEventsAfter(sent_through, options_.batch_max_delay);
    }
  }
  return absl::OkStatus();
}

bool Uplink::RunConnection(const absl::Notification& stop,
                           absl::Duration flush_timeout) {
  std::unique_ptr<CollectorCall> call = link_->Connect(stop);
  {
    absl::MutexLock lock(&mu_);
    active_call_ = call.get();
  }
  StreamState state(commands_);
  std::thread reader([&call, &state] {
    SetThreadName("uplink-rx");
    v1::CollectorMessage message;
    while (call->Read(&message)) {
      if (!state.OnMessage(message)) {
        call->Cancel();
        while (call->Read(&message)) {
        }
      }
    }
    state.OnBroken();
  });

  uint64_t last_stored = 0;
  const bool answered = SendHello(*call, state, &last_stored);
  absl::Status failure;
  if (answered) {
    {
      absl::MutexLock lock(&mu_);
      connected_ = true;
      last_acked_ = 0;
    }
    next_unreachable_warning_ = absl::InfinitePast();
    KeepIssuedToken(state.issued_token());
    spdlog::info("connected to collector {} (stored through sequence {})",
                 options_.collector_address, last_stored);
    failure = Exchange(*call, state, last_stored, stop, flush_timeout);
  }

  // A stream the collector ended (e.g. PERMISSION_DENIED) keeps its status
  // for Finish(); only a stream still open is cancelled.
  if (!state.broken()) call->Cancel();
  reader.join();
  // Acks read before the stream ended free their events too.
  if (answered) Acknowledged(state.AwaitAck(0, absl::ZeroDuration()));
  const grpc::Status status = call->Finish();
  {
    absl::MutexLock lock(&mu_);
    connected_ = false;
    active_call_ = nullptr;
  }
  ReportEnd(answered, failure, status, stop);
  return answered;
}

void Uplink::KeepIssuedToken(const std::string& token) {
  if (token.empty()) return;
  link_->UseToken(token);
  if (options_.issued_token_path.empty()) return;
  if (absl::Status saved = SaveIssuedToken(options_.issued_token_path, token);
      !saved.ok()) {
    spdlog::error(
        "enrolled with the collector, but cannot keep the token it issued: "
        "{}; after a restart this agent cannot connect until the enrollment "
        "is removed on the collector",
        saved.ToString());
    return;
  }
  spdlog::info(
      "enrolled with the collector; its token for this agent is "
      "kept in {}",
      options_.issued_token_path);
}

void Uplink::ReportEnd(bool answered, const absl::Status& failure,
                       const grpc::Status& status,
                       const absl::Notification& stop) {
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
}

absl::Duration Uplink::NextBackoff(bool healthy) {
  if (healthy) backoff_ = options_.reconnect_initial;
  // Full jitter keeps many agents from reconnecting in lockstep.
  const absl::Duration wait = backoff_ * absl::Uniform(jitter_, 0.5, 1.0);
  backoff_ = std::min(backoff_ * 2, options_.reconnect_max);
  return wait;
}

void Uplink::Run(const absl::Notification& stop, absl::Duration flush_timeout) {
  while (!stop.HasBeenNotified()) {
    const bool healthy = RunConnection(stop, flush_timeout);
    if (stop.HasBeenNotified()) break;
    stop.WaitForNotificationWithTimeout(NextBackoff(healthy));
  }
}

}  // namespace eroom::agent
