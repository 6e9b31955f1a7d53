#include "tests/bench/load_fleet.h"

#include <atomic>
#include <cmath>
#include <deque>
#include <functional>
#include <queue>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "eroom/monitor/v1/monitor.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace eroom::bench {
namespace v1 = ::eroom::monitor::v1;

namespace {

// A resource sample and two probe results, then log events, in every cycle.
constexpr uint64_t kEventsPerCycle = 50;

v1::ResourceSample MakeSample(uint64_t n, int64_t now_ms) {
  v1::ResourceSample sample;
  sample.set_time_unix_ms(now_ms);
  sample.set_cpu_percent(15.0 + static_cast<double>(n * 37 % 600) / 10.0);
  sample.set_memory_total_bytes(16ull << 30);
  sample.set_memory_used_bytes((6ull << 30) + (n * 7919 % 1024) * (1 << 20));
  for (const char* mount : {"/", "/srv"}) {
    v1::DiskUsage* disk = sample.add_disks();
    disk->set_mount(mount);
    disk->set_total_bytes(200ull << 30);
    disk->set_used_bytes((80ull << 30) + n * 4096);
  }
  v1::ProcessState* eroom = sample.mutable_eroom();
  eroom->set_up(true);
  eroom->set_pid(4242);
  eroom->set_rss_bytes((1500ull << 20) + (n % 64) * (1 << 20));
  eroom->set_cpu_percent(static_cast<double>(n * 13 % 900) / 10.0);
  eroom->set_port_listening(true);
  eroom->set_started_unix_ms(now_ms - 3'600'000);
  sample.set_load_average_1m(0.5 + static_cast<double>(n % 30) / 10.0);
  return sample;
}

// When the load generator produced `event` (each kind carries its time).
absl::Time ProducedAt(const v1::Event& event) {
  switch (event.payload_case()) {
    case v1::Event::kSample:
      return absl::FromUnixMillis(event.sample().time_unix_ms());
    case v1::Event::kProbe:
      return absl::FromUnixMillis(event.probe().time_unix_ms());
    default:
      return absl::FromUnixMillis(event.log().time_unix_ms());
  }
}

v1::ProbeResult MakeProbe(v1::ProbeTarget target, uint64_t n, int64_t now_ms) {
  v1::ProbeResult probe;
  probe.set_time_unix_ms(now_ms);
  probe.set_target(target);
  probe.set_ok(true);
  probe.set_http_status(200);
  probe.set_latency_ms(2.0 + static_cast<double>(n % 40) / 4.0);
  if (target == v1::HEALTH) probe.set_health_status("healthy");
  v1::QueueStatus* queue = probe.mutable_queue();
  queue->set_queued(static_cast<int64_t>(n % 5));
  queue->set_active(static_cast<int64_t>(n % 2));
  queue->set_completed(static_cast<int64_t>(n / kEventsPerCycle));
  queue->set_max_concurrent(1);
  return probe;
}

std::shared_ptr<grpc::Channel> AgentChannel(const FleetOptions& options) {
  grpc::ChannelArguments args;
  // Its own connection, as every real agent has: channels with equal
  // arguments would otherwise share one.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  // The uplink's keepalive and probe settings.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  return CreateSecureChannel(options.collector_address, options.security,
                             std::move(args));
}

}  // namespace

class AgentStream;

// One agent: what it produced and has not seen acknowledged, and its
// current stream. Called from the scheduler thread (Tick) and from gRPC's
// callback threads (the stream's reactions); one mutex guards it all.
class SimulatedAgent {
 public:
  SimulatedAgent(const FleetOptions& options, int index,
                 const std::vector<v1::LogEvent>& log_corpus,
                 std::atomic<int>& live_streams, absl::Time steady_from)
      : options_(options),
        steady_from_(steady_from),
        id_(absl::StrFormat("%s%04d", options.agent_id_prefix, index)),
        log_corpus_(log_corpus),
        corpus_offset_(static_cast<size_t>(index) * 7919),
        stub_(v1::AgentService::NewStub(AgentChannel(options))),
        live_streams_(live_streams) {}

  void Tick(absl::Time now);
  void StopGenerating();
  bool Delivered() const;
  void BeginClose();
  void Cancel();

  // The stream's reactions.
  void OnWriteDone(bool ok);
  void OnMessage(const v1::CollectorMessage& message);
  void OnReadsEnded();
  void OnStreamDone(const grpc::Status& status);

  AgentReport Report() const;
  void AddProgress(FleetProgress& progress) const;
  void AddLatencies(LoadFleet::Latencies& all) const;

 private:
  void ConnectLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void GenerateLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SendLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void AcknowledgedLocked(uint64_t stored_through)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  v1::Event MakeEvent(uint64_t n, int64_t now_ms) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);

  const FleetOptions& options_;
  const absl::Time steady_from_;  // When the warm-up ends.
  const std::string id_;
  const std::vector<v1::LogEvent>& log_corpus_;
  const size_t corpus_offset_;  // Agents do not all log the same lines.
  const std::unique_ptr<v1::AgentService::Stub> stub_;
  std::atomic<int>& live_streams_;  // Of the whole fleet.

  mutable absl::Mutex mu_;
  // Generation.
  bool ever_answered_ ABSL_GUARDED_BY(mu_) = false;
  bool generating_ ABSL_GUARDED_BY(mu_) = true;
  absl::Time generation_start_ ABSL_GUARDED_BY(mu_);
  uint64_t base_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t generated_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t generated_at_stop_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t acked_at_stop_ ABSL_GUARDED_BY(mu_) = 0;
  // Delivery: produced, not yet acknowledged, in sequence order.
  std::deque<v1::Event> unacked_events_ ABSL_GUARDED_BY(mu_);
  uint64_t acked_ ABSL_GUARDED_BY(mu_) = 0;
  // The current stream (null between streams).
  AgentStream* stream_ ABSL_GUARDED_BY(mu_) = nullptr;
  bool answered_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool reads_ended_ ABSL_GUARDED_BY(mu_) = false;
  bool writes_done_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t sent_through_ ABSL_GUARDED_BY(mu_) = 0;
  struct SentBatch {
    uint64_t last_sequence;
    absl::Time written;
    absl::Time oldest_produced;
  };
  // The collector's pacing (Ack.batch_interval_ms), as the uplink keeps it.
  absl::Duration batch_interval_ ABSL_GUARDED_BY(mu_);
  absl::Time last_written_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  double pacing_jitter_ ABSL_GUARDED_BY(mu_) = 1.0;
  absl::BitGen jitter_ ABSL_GUARDED_BY(mu_);
  std::deque<SentBatch> unacked_batches_ ABSL_GUARDED_BY(mu_);
  absl::Time reconnect_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  // Outcome.
  uint64_t streams_answered_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t stream_failures_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t protocol_anomalies_ ABSL_GUARDED_BY(mu_) = 0;
  std::string last_error_ ABSL_GUARDED_BY(mu_);
  LoadFleet::Latencies latencies_ ABSL_GUARDED_BY(mu_);
};

// One AgentService.Connect call. A read is always pending, so the end of
// the call always shows as a failed read; until then a hold keeps the
// reactor alive for writes the agent starts from outside its reactions.
// Counted in `live_streams` from construction to the very end of OnDone, so
// the fleet outlives every reactor.
class AgentStream final
    : public grpc::ClientBidiReactor<v1::AgentMessage, v1::CollectorMessage> {
 public:
  AgentStream(SimulatedAgent& agent, std::atomic<int>& live_streams)
      : agent_(agent), live_streams_(live_streams) {
    ++live_streams_;
  }

  void Begin(v1::AgentService::Stub& stub, const ClientSecurity& security,
             bool gzip, v1::AgentMessage hello) {
    AddCallCredentials(security, &context_);
    if (gzip) context_.set_compression_algorithm(GRPC_COMPRESS_GZIP);
    stub.async()->Connect(&context_, this);
    outgoing_ = std::move(hello);
    StartWrite(&outgoing_);
    StartRead(&incoming_);
    AddHold();
    StartCall();
  }
  void Send(v1::AgentMessage message) {
    outgoing_ = std::move(message);
    StartWrite(&outgoing_);
  }
  void EndWrites() { StartWritesDone(); }
  void Cancel() { context_.TryCancel(); }

  void OnWriteDone(bool ok) override { agent_.OnWriteDone(ok); }
  void OnReadDone(bool ok) override {
    if (!ok) {
      agent_.OnReadsEnded();  // From now on the agent starts no writes.
      RemoveHold();
      return;
    }
    agent_.OnMessage(incoming_);
    StartRead(&incoming_);
  }
  void OnDone(const grpc::Status& status) override {
    agent_.OnStreamDone(status);
    std::atomic<int>& live_streams = live_streams_;
    delete this;
    --live_streams;
  }

 private:
  SimulatedAgent& agent_;
  std::atomic<int>& live_streams_;
  grpc::ClientContext context_;
  v1::AgentMessage outgoing_;  // Owned by the write in progress.
  v1::CollectorMessage incoming_;
};

void SimulatedAgent::Tick(absl::Time now) {
  absl::MutexLock lock(&mu_);
  if (stream_ == nullptr && !closing_ && now >= reconnect_at_) {
    ConnectLocked(now);
  }
  GenerateLocked(now);
  SendLocked();
}

void SimulatedAgent::ConnectLocked(absl::Time now) {
  v1::AgentMessage hello;
  v1::AgentHello* h = hello.mutable_hello();
  h->set_agent_id(id_);
  h->set_hostname(id_);
  h->set_version("eroom-loadgen");
  (*h->mutable_labels())["load"] = "test";
  h->set_started_unix_ms(absl::ToUnixMillis(now));
  stream_ = new AgentStream(*this, live_streams_);
  answered_ = false;
  writing_ = true;  // The hello.
  reads_ended_ = false;
  writes_done_ = false;
  unacked_batches_.clear();
  stream_->Begin(*stub_, options_.security, options_.gzip, std::move(hello));
}

void SimulatedAgent::GenerateLocked(absl::Time now) {
  // Events are numbered after what the collector had when the agent first
  // connected, so production starts then. (`now` was read before the lock,
  // so it may precede generation_start_.)
  if (!ever_answered_ || !generating_ || now <= generation_start_) return;
  const uint64_t due = static_cast<uint64_t>(
      std::floor(options_.events_per_second *
                 absl::ToDoubleSeconds(now - generation_start_)));
  const int64_t now_ms = absl::ToUnixMillis(now);
  while (generated_ < due) {
    unacked_events_.push_back(MakeEvent(generated_, now_ms));
    ++generated_;
  }
}

v1::Event SimulatedAgent::MakeEvent(uint64_t n, int64_t now_ms) const {
  v1::Event event;
  event.set_sequence(base_ + n + 1);
  switch (n % kEventsPerCycle) {
    case 0:
      *event.mutable_sample() = MakeSample(n, now_ms);
      break;
    case 1:
      *event.mutable_probe() = MakeProbe(v1::HEALTH, n, now_ms);
      break;
    case 2:
      *event.mutable_probe() = MakeProbe(v1::QUEUE_STATUS, n, now_ms);
      break;
    default: {
      v1::LogEvent* log = event.mutable_log();
      *log = log_corpus_[(corpus_offset_ + n) % log_corpus_.size()];
      log->set_time_unix_ms(now_ms);
    }
  }
  return event;
}

void SimulatedAgent::SendLocked() {
  if (stream_ == nullptr || !answered_ || writing_ || reads_ended_ ||
      writes_done_ || closing_ ||
      unacked_batches_.size() >= options_.max_unacked_batches ||
      unacked_events_.empty() ||
      unacked_events_.back().sequence() <= sent_through_) {
    return;
  }
  // As the uplink does: a batch that is not full waits until everything
  // sent is acknowledged.
  const bool batch_not_full =
      unacked_events_.back().sequence() - sent_through_ <
      options_.max_batch_events;
  if (!unacked_batches_.empty() && batch_not_full) return;
  // And no sooner than the collector's pacing allows, each wait drawn from
  // half of it to one and a half.
  const absl::Time now = absl::Now();
  if (batch_not_full &&
      now < last_written_ + batch_interval_ * pacing_jitter_) {
    return;
  }
  // Sequences in unacked_events_ are consecutive.
  const uint64_t front = unacked_events_.front().sequence();
  const size_t first = sent_through_ < front ? 0 : sent_through_ - front + 1;
  const size_t end =
      std::min(unacked_events_.size(), first + options_.max_batch_events);
  v1::AgentMessage message;
  for (size_t i = first; i < end; ++i) {
    *message.mutable_batch()->add_events() = unacked_events_[i];
  }
  sent_through_ = unacked_events_[end - 1].sequence();
  unacked_batches_.push_back(
      {sent_through_, now, ProducedAt(unacked_events_[first])});
  last_written_ = now;
  pacing_jitter_ = absl::Uniform(jitter_, 0.5, 1.5);
  writing_ = true;
  stream_->Send(std::move(message));
}

void SimulatedAgent::AcknowledgedLocked(uint64_t stored_through) {
  if (stored_through <= acked_) return;
  acked_ = stored_through;
  while (!unacked_events_.empty() &&
         unacked_events_.front().sequence() <= acked_) {
    unacked_events_.pop_front();
  }
}

void SimulatedAgent::OnMessage(const v1::CollectorMessage& message) {
  absl::MutexLock lock(&mu_);
  if (message.has_hello_ack()) {
    const uint64_t last_stored = message.hello_ack().last_stored_sequence();
    if (!ever_answered_) {
      ever_answered_ = true;
      base_ = last_stored;
      acked_ = last_stored;
      generation_start_ = absl::Now();
    } else if (last_stored < acked_) {
      // The collector forgot events it had acknowledged.
      ++protocol_anomalies_;
    }
    AcknowledgedLocked(last_stored);
    // Everything after what the collector has is (re)sent.
    sent_through_ = acked_;
    answered_ = true;
    ++streams_answered_;
  } else if (message.has_ack()) {
    const uint64_t stored_through = message.ack().stored_through_sequence();
    if (stored_through > sent_through_) ++protocol_anomalies_;
    AcknowledgedLocked(stored_through);
    batch_interval_ = absl::Milliseconds(message.ack().batch_interval_ms());
    const absl::Time now = absl::Now();
    while (!unacked_batches_.empty() &&
           unacked_batches_.front().last_sequence <= stored_through) {
      const SentBatch& batch = unacked_batches_.front();
      const bool steady = batch.written >= steady_from_;
      (steady ? latencies_.ack : latencies_.warmup_ack)
          .Add(now - batch.written);
      (steady ? latencies_.event_age : latencies_.warmup_event_age)
          .Add(now - batch.oldest_produced);
      unacked_batches_.pop_front();
    }
  }
  SendLocked();
}

void SimulatedAgent::OnWriteDone(bool ok) {
  absl::MutexLock lock(&mu_);
  writing_ = false;
  if (!ok) return;  // The call is over; the failed read reports it.
  if (closing_ && answered_ && !writes_done_ && !reads_ended_) {
    writes_done_ = true;
    stream_->EndWrites();
    return;
  }
  SendLocked();
}

void SimulatedAgent::OnReadsEnded() {
  absl::MutexLock lock(&mu_);
  reads_ended_ = true;
}

void SimulatedAgent::OnStreamDone(const grpc::Status& status) {
  absl::MutexLock lock(&mu_);
  stream_ = nullptr;
  answered_ = false;
  writing_ = false;
  unacked_batches_.clear();
  if (closing_ && status.ok()) return;
  ++stream_failures_;
  last_error_ = absl::StrCat("code ", static_cast<int>(status.error_code()),
                             ": ", status.error_message());
  reconnect_at_ = absl::Now() + options_.reconnect_delay;
}

void SimulatedAgent::StopGenerating() {
  absl::MutexLock lock(&mu_);
  GenerateLocked(absl::Now());
  generating_ = false;
  generated_at_stop_ = generated_;
  acked_at_stop_ = acked_ - base_;
}

bool SimulatedAgent::Delivered() const {
  absl::MutexLock lock(&mu_);
  return ever_answered_ && unacked_events_.empty();
}

void SimulatedAgent::BeginClose() {
  absl::MutexLock lock(&mu_);
  closing_ = true;
  if (stream_ == nullptr) return;
  if (!answered_) {
    stream_->Cancel();
  } else if (!writing_ && !writes_done_ && !reads_ended_) {
    writes_done_ = true;
    stream_->EndWrites();
  }
}

void SimulatedAgent::Cancel() {
  absl::MutexLock lock(&mu_);
  if (stream_ != nullptr) stream_->Cancel();
}

AgentReport SimulatedAgent::Report() const {
  absl::MutexLock lock(&mu_);
  AgentReport report;
  report.agent_id = id_;
  report.first_sequence_base = base_;
  report.generated = generated_;
  report.acked = acked_;
  report.generated_at_stop = generated_at_stop_;
  report.acked_at_stop = acked_at_stop_;
  report.streams_answered = streams_answered_;
  report.stream_failures = stream_failures_;
  report.protocol_anomalies = protocol_anomalies_;
  report.last_error = last_error_;
  return report;
}

void SimulatedAgent::AddProgress(FleetProgress& progress) const {
  absl::MutexLock lock(&mu_);
  progress.connected += answered_ ? 1 : 0;
  progress.generated += generated_;
  progress.acked += acked_ - base_;
  progress.stream_failures += stream_failures_;
}

void SimulatedAgent::AddLatencies(LoadFleet::Latencies& all) const {
  absl::MutexLock lock(&mu_);
  all.ack.Merge(latencies_.ack);
  all.event_age.Merge(latencies_.event_age);
  all.warmup_ack.Merge(latencies_.warmup_ack);
  all.warmup_event_age.Merge(latencies_.warmup_event_age);
}

LoadFleet::LoadFleet(FleetOptions options,
                     const std::vector<v1::LogEvent>& log_corpus)
    : options_(std::move(options)) {
  agents_.reserve(options_.agents);
  const absl::Time steady_from = absl::Now() + options_.warmup;
  for (int i = 0; i < options_.agents; ++i) {
    agents_.push_back(std::make_unique<SimulatedAgent>(
        options_, i, log_corpus, live_streams_, steady_from));
  }
}

LoadFleet::~LoadFleet() { Close(absl::Seconds(5)); }

void LoadFleet::Start() {
  scheduler_ = std::thread([this] { Schedule(); });
}

void LoadFleet::Schedule() {
  // (next tick, agent): agents spread evenly over one send interval, so
  // connections and batches do not come in waves.
  using Slot = std::pair<absl::Time, size_t>;
  std::priority_queue<Slot, std::vector<Slot>, std::greater<Slot>> due;
  const absl::Time start = absl::Now();
  for (size_t i = 0; i < agents_.size(); ++i) {
    due.push({start + options_.send_interval * static_cast<double>(i) /
                          static_cast<double>(agents_.size()),
              i});
  }
  while (!stop_scheduling_.HasBeenNotified()) {
    absl::Time now = absl::Now();
    while (!due.empty() && due.top().first <= now) {
      auto [when, index] = due.top();
      due.pop();
      agents_[index]->Tick(now);
      // A scheduler that fell behind skips ticks rather than bursting.
      due.push({std::max(when + options_.send_interval, now), index});
    }
    if (due.empty()) break;
    stop_scheduling_.WaitForNotificationWithTimeout(due.top().first -
                                                    absl::Now());
  }
}

void LoadFleet::StopGenerating() {
  for (auto& agent : agents_) agent->StopGenerating();
}

bool LoadFleet::AwaitDelivered(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    bool delivered = true;
    for (auto& agent : agents_) delivered = delivered && agent->Delivered();
    if (delivered) return true;
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(100));
  }
}

void LoadFleet::Close(absl::Duration timeout) {
  if (!scheduler_.joinable()) return;
  for (auto& agent : agents_) agent->BeginClose();
  const absl::Time deadline = absl::Now() + timeout;
  while (live_streams_ > 0) {
    if (absl::Now() >= deadline) {
      for (auto& agent : agents_) agent->Cancel();
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  stop_scheduling_.Notify();
  scheduler_.join();
}

FleetProgress LoadFleet::Progress() const {
  FleetProgress progress;
  for (const auto& agent : agents_) agent->AddProgress(progress);
  return progress;
}

std::vector<AgentReport> LoadFleet::Reports() const {
  std::vector<AgentReport> reports;
  reports.reserve(agents_.size());
  for (const auto& agent : agents_) reports.push_back(agent->Report());
  return reports;
}

LoadFleet::Latencies LoadFleet::AckLatencies() const {
  Latencies all;
  for (const auto& agent : agents_) agent->AddLatencies(all);
  return all;
}

}  // namespace eroom::bench
