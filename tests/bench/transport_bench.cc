// One agent to one collector on this machine, every event durably stored in
// the collector's SQLite (WAL, synchronous=FULL) before it is acknowledged.
// The collector runs in this process on loopback (plaintext, no tokens) with
// its database in the temporary directory, which must be on a real disk for
// the commits' fsyncs to count.
//
//   BM_RawProtocol: a bare AgentService.Connect client: hello, then batches
//     of 1000 realistic LogEvents with at most 16 batches unacknowledged (the
//     uplink's window), Acks read on a second thread. Prints events/s and
//     the ack latency (Write of a batch -> the Ack covering it) p50/p99/max.
//   BM_AgentPath: the real agent path: a producer commits log events to the
//     agent's Spool spool (as the tailer does, 1000 per commit) while
//     the Uplink delivers them; events/s from the first commit to the last
//     ack, and the producer's own spooling rate.
//
// Both also print the CPU they used per event, in all (client, gRPC and
// collector: one process) and in the collector's ingest thread alone. The
// ingest thread is the single SQLite writer: 1e6 / ingest_us/event is the
// most this collector can store per second with a core to itself, however
// busy the machine was during the run.
//
//   transport_bench --benchmark_filter=1M     # the full-size figures
//   transport_bench --benchmark_filter=small  # what CI runs

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "agent/spool.h"
#include "agent/uplink.h"
#include "benchmark/benchmark.h"
#include "collector/collector.h"
#include "collector/sqlite/search_index.h"
#include "common/clock.h"
#include "common/logging.h"
#include "common/transport_security.h"
#include "eroom/monitor/v1/monitor.grpc.pb.h"
#include "spdlog/spdlog.h"
#include "tests/bench/bench_figures.h"
#include "tests/bench/latency_samples.h"
#include "tests/bench/log_event_corpus.h"

namespace eroom::bench {
namespace {

namespace v1 = ::eroom::monitor::v1;

constexpr size_t kBatchEvents = 1000;        // The uplink's batch_max_events.
constexpr uint64_t kMaxUnackedBatches = 16;  // The uplink's window.

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "transport_bench: %s\n", what.c_str());
  std::exit(1);
}

std::string TempPath(const std::string& name) {
  static std::atomic<int> counter{0};
  return (std::filesystem::temp_directory_path() /
          absl::StrCat("eroom-transport-bench-", getpid(), "-", counter++, "-",
                       name))
      .string();
}

void RemoveDatabase(const std::string& path) {
  std::error_code ignored;
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::filesystem::remove(path + suffix, ignored);
  }
}

// eroom-collector on 127.0.0.1, an ephemeral port and a fresh database.
class LoopbackCollector {
 public:
  LoopbackCollector() : database_(TempPath("collector.db")) {
    collector::CollectorConfig config;
    config.listen_address = "127.0.0.1:0";
    config.database_path = database_;
    config.security.insecure = true;
    config.auth.tokens_required = false;
    config.stats_interval = absl::Hours(1);
    absl::StatusOr<std::unique_ptr<collector::Collector>> started =
        collector::Collector::Start(config, RealClock::Get());
    if (!started.ok()) Fail(started.status().ToString());
    collector_ = *std::move(started);
  }
  LoopbackCollector(const LoopbackCollector&) = delete;
  LoopbackCollector& operator=(const LoopbackCollector&) = delete;
  ~LoopbackCollector() {
    collector_->Stop();
    RemoveDatabase(database_);
    RemoveDatabase(collector::SearchIndexPath(database_));
  }

  // Waits until the search index, built behind ingest, covers every stored
  // event; returns how long that took.
  absl::Duration AwaitSearchIndex() const {
    const absl::Time start = absl::Now();
    while (true) {
      absl::StatusOr<collector::SearchIndexProgress> progress =
          collector::ReadSearchIndexProgress(database_);
      if (!progress.ok()) Fail(progress.status().ToString());
      if (progress->indexed_through == progress->newest_event) break;
      absl::SleepFor(absl::Milliseconds(10));
    }
    return absl::Now() - start;
  }

  std::string address() const {
    return absl::StrCat("127.0.0.1:", collector_->port());
  }

 private:
  const std::string database_;
  std::unique_ptr<collector::Collector> collector_;
};

// CPU time used so far by the whole process, by the collector's ingest
// thread (the single SQLite writer, the one that bounds throughput) and by
// its search index thread (which follows ingest at a lower priority): with
// them a figure taken on a busy machine still says what a free core gives.
struct CpuSnapshot {
  double process_seconds = 0;
  double ingest_seconds = 0;
  double index_seconds = 0;
};

CpuSnapshot operator-(const CpuSnapshot& end, const CpuSnapshot& start) {
  return CpuSnapshot{end.process_seconds - start.process_seconds,
                     end.ingest_seconds - start.ingest_seconds,
                     end.index_seconds - start.index_seconds};
}

CpuSnapshot& operator+=(CpuSnapshot& total, const CpuSnapshot& more) {
  total.process_seconds += more.process_seconds;
  total.ingest_seconds += more.ingest_seconds;
  total.index_seconds += more.index_seconds;
  return total;
}

CpuSnapshot TakeCpuSnapshot() {
  CpuSnapshot snapshot;
  snapshot.process_seconds = StatCpuSeconds("/proc/self/stat");
  for (const auto& task :
       std::filesystem::directory_iterator("/proc/self/task")) {
    std::string name;
    std::getline(std::ifstream(task.path() / "comm"), name);
    if (name == "ingest") {
      snapshot.ingest_seconds += StatCpuSeconds(task.path() / "stat");
    } else if (name == "search-index") {
      snapshot.index_seconds += StatCpuSeconds(task.path() / "stat");
    }
  }
  return snapshot;
}

// The search index after the last ack: how long it took to catch up, and
// the CPU it used from the start of the run until then.
struct IndexFollowUp {
  absl::Duration lag;
  CpuSnapshot cpu_used;

  void Await(const LoopbackCollector& collector, const CpuSnapshot& start) {
    lag += collector.AwaitSearchIndex();
    cpu_used += TakeCpuSnapshot() - start;
  }
};

// Microseconds of CPU per event: in total and of the ingest thread until the
// last ack, of the search index until it had caught up; and the mean time
// from the last ack until the index had caught up.
void SetCpuCounters(benchmark::State& state, const CpuSnapshot& used,
                    const IndexFollowUp& index, double events) {
  using benchmark::Counter;
  state.counters["cpu_us/event"] = Counter(used.process_seconds * 1e6 / events);
  state.counters["ingest_us/event"] =
      Counter(used.ingest_seconds * 1e6 / events);
  state.counters["index_us/event"] =
      Counter(index.cpu_used.index_seconds * 1e6 / events);
  state.counters["index_lag_s"] =
      Counter(absl::ToDoubleSeconds(index.lag) /
              static_cast<double>(state.iterations()));
}

ClientSecurity Plaintext() {
  ClientSecurity security;
  security.insecure = true;
  return security;
}

// Batches of kBatchEvents log events cycling through `corpus`, to be sent
// again and again with new sequence numbers.
std::vector<v1::AgentMessage> BatchTemplates(
    const std::vector<v1::LogEvent>& corpus) {
  std::vector<v1::AgentMessage> templates(
      std::max<size_t>(1, corpus.size() / kBatchEvents));
  size_t next = 0;
  for (v1::AgentMessage& message : templates) {
    for (size_t i = 0; i < kBatchEvents; ++i) {
      *message.mutable_batch()->add_events()->mutable_log() =
          corpus[next++ % corpus.size()];
    }
  }
  return templates;
}

// What the raw client's reader thread learns, shared with its writer.
class AckTracker {
 public:
  void Sent(uint64_t last_sequence, absl::Time when) {
    absl::MutexLock lock(&mu_);
    unacked_.push_back({last_sequence, when});
  }
  void Acked(uint64_t stored_through, absl::Time when) {
    absl::MutexLock lock(&mu_);
    acked_ = std::max(acked_, stored_through);
    while (!unacked_.empty() && unacked_.front().last_sequence <= acked_) {
      latencies_.Add(when - unacked_.front().written);
      unacked_.pop_front();
    }
  }
  void Broken() {
    absl::MutexLock lock(&mu_);
    broken_ = true;
  }
  // Waits until fewer than `max_unacked` batches await their ack; false if
  // the stream broke.
  bool AwaitWindow(size_t max_unacked) {
    absl::MutexLock lock(&mu_);
    auto open = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return unacked_.size() < max_unacked || broken_;
    };
    mu_.Await(absl::Condition(&open));
    return !broken_;
  }
  bool AwaitAcked(uint64_t sequence) {
    absl::MutexLock lock(&mu_);
    auto done = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return acked_ >= sequence || broken_;
    };
    mu_.Await(absl::Condition(&done));
    return acked_ >= sequence;
  }
  LatencySamples TakeLatencies() {
    absl::MutexLock lock(&mu_);
    return std::move(latencies_);
  }

 private:
  struct SentBatch {
    uint64_t last_sequence;
    absl::Time written;
  };
  absl::Mutex mu_;
  std::deque<SentBatch> unacked_ ABSL_GUARDED_BY(mu_);
  uint64_t acked_ ABSL_GUARDED_BY(mu_) = 0;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  LatencySamples latencies_ ABSL_GUARDED_BY(mu_);
};

struct RawRun {
  absl::Duration elapsed;  // First write to the last ack.
  CpuSnapshot cpu_used;    // Meanwhile.
  LatencySamples ack_latencies;
};

RawRun SendRaw(const std::string& address,
               std::vector<v1::AgentMessage>& templates, uint64_t events) {
  std::unique_ptr<v1::AgentService::Stub> stub =
      v1::AgentService::NewStub(CreateSecureChannel(address, Plaintext()));
  grpc::ClientContext context;
  auto stream = stub->Connect(&context);
  v1::AgentMessage hello;
  hello.mutable_hello()->set_agent_id("transport-bench");
  hello.mutable_hello()->set_hostname("transport-bench");
  v1::CollectorMessage answer;
  if (!stream->Write(hello) || !stream->Read(&answer) ||
      !answer.has_hello_ack()) {
    Fail(absl::StrCat("no hello answer: ", stream->Finish().error_message()));
  }

  AckTracker tracker;
  std::thread reader([&] {
    v1::CollectorMessage message;
    while (stream->Read(&message)) {
      if (message.has_ack()) {
        tracker.Acked(message.ack().stored_through_sequence(), absl::Now());
      }
    }
    tracker.Broken();
  });

  const CpuSnapshot cpu_start = TakeCpuSnapshot();
  const absl::Time start = absl::Now();
  uint64_t sequence = 0;
  for (size_t batch = 0; sequence < events; ++batch) {
    if (!tracker.AwaitWindow(kMaxUnackedBatches)) break;
    v1::AgentMessage& message = templates[batch % templates.size()];
    for (v1::Event& event : *message.mutable_batch()->mutable_events()) {
      event.set_sequence(++sequence);
    }
    tracker.Sent(sequence, absl::Now());
    if (!stream->Write(message)) break;
  }
  const bool complete = tracker.AwaitAcked(sequence);
  const absl::Duration elapsed = absl::Now() - start;
  const CpuSnapshot cpu_used = TakeCpuSnapshot() - cpu_start;
  stream->WritesDone();
  reader.join();
  const grpc::Status status = stream->Finish();
  if (!complete) {
    Fail(absl::StrCat("stream broke before everything was acknowledged: ",
                      status.error_message()));
  }
  return RawRun{elapsed, cpu_used, tracker.TakeLatencies()};
}

void BM_RawProtocol(benchmark::State& state, uint64_t events,
                    uint64_t corpus_lines) {
  std::vector<v1::AgentMessage> templates =
      BatchTemplates(RealisticLogEvents(corpus_lines));
  const uint64_t sent = (events + kBatchEvents - 1) / kBatchEvents *
                        kBatchEvents;  // Whole batches.
  absl::Duration elapsed;
  CpuSnapshot cpu_used;
  IndexFollowUp index;
  LatencySamples latencies;
  for (auto _ : state) {
    LoopbackCollector collector;
    const CpuSnapshot start = TakeCpuSnapshot();
    RawRun run = SendRaw(collector.address(), templates, sent);
    index.Await(collector, start);
    state.SetIterationTime(absl::ToDoubleSeconds(run.elapsed));
    elapsed += run.elapsed;
    cpu_used += run.cpu_used;
    latencies.Merge(run.ack_latencies);
  }
  using benchmark::Counter;
  const double total = static_cast<double>(sent * state.iterations());
  state.counters["events/s"] = Counter(total / absl::ToDoubleSeconds(elapsed));
  SetCpuCounters(state, cpu_used, index, total);
  state.counters["ack_p50_ms"] = Counter(latencies.QuantileMs(0.5));
  state.counters["ack_p99_ms"] = Counter(latencies.QuantileMs(0.99));
  state.counters["ack_max_ms"] = Counter(latencies.MaxMs());
}

struct AgentRun {
  absl::Duration delivered;  // First commit to the last ack.
  absl::Duration spooled;    // First commit to the last commit.
  CpuSnapshot cpu_used;      // Until the last ack.
};

// Commits `events` log events to `spool` (as the tailer does, kBatchEvents
// per commit) while an Uplink delivers them.
AgentRun DeliverThroughUplink(const agent::UplinkOptions& options,
                              agent::Spool& spool,
                              const std::vector<v1::LogEvent>& corpus,
                              uint64_t events) {
  v1::AgentHello hello;
  hello.set_agent_id("transport-bench-agent");
  hello.set_hostname("transport-bench-agent");
  agent::CommandRunner commands({}, RealClock::Get());  // None arrive.
  agent::Uplink uplink(options, hello, spool, commands, RealClock::Get());
  absl::Notification stop;
  std::thread delivery([&] {
    SetThreadName("uplink");  // As in the agent.
    uplink.Run(stop, absl::Seconds(10));
  });

  const CpuSnapshot cpu_start = TakeCpuSnapshot();
  const absl::Time start = absl::Now();
  size_t next = 0;
  for (uint64_t committed = 0; committed < events;) {
    const uint64_t size = std::min<uint64_t>(kBatchEvents, events - committed);
    std::vector<v1::LogEvent> chunk;
    chunk.reserve(size);
    for (uint64_t i = 0; i < size; ++i) {
      chunk.push_back(corpus[(next + i) % corpus.size()]);
    }
    const absl::Status status = spool.Commit(absl::MakeSpan(chunk), {});
    if (absl::IsResourceExhausted(status)) {
      // Full spool: the tailer pauses reading, the file is the buffer.
      absl::SleepFor(absl::Milliseconds(10));
      continue;
    }
    if (!status.ok()) Fail(status.ToString());
    committed += size;
    next += size;
  }
  const absl::Duration spooled = absl::Now() - start;
  while (uplink.stats().last_acked_sequence < events) {
    absl::SleepFor(absl::Milliseconds(2));
  }
  const absl::Duration delivered = absl::Now() - start;
  const CpuSnapshot cpu_used = TakeCpuSnapshot() - cpu_start;
  stop.Notify();
  delivery.join();
  return AgentRun{delivered, spooled, cpu_used};
}

AgentRun SendThroughAgent(const std::string& address,
                          const std::vector<v1::LogEvent>& corpus,
                          uint64_t events) {
  const std::string spool_path = TempPath("agent-state.db");
  absl::StatusOr<std::unique_ptr<agent::Spool>> spool =
      agent::Spool::Open({.path = spool_path});
  if (!spool.ok()) Fail(spool.status().ToString());
  agent::UplinkOptions options;
  options.collector_address = address;
  options.security = Plaintext();
  options.batch_max_events = kBatchEvents;
  const AgentRun run = DeliverThroughUplink(options, **spool, corpus, events);
  spool->reset();
  RemoveDatabase(spool_path);
  std::filesystem::remove(agent::SpoolReservePath(spool_path));
  return run;
}

void BM_AgentPath(benchmark::State& state, uint64_t events,
                  uint64_t corpus_lines) {
  const std::vector<v1::LogEvent>& corpus = RealisticLogEvents(corpus_lines);
  absl::Duration delivered;
  absl::Duration spooled;
  CpuSnapshot cpu_used;
  IndexFollowUp index;
  for (auto _ : state) {
    LoopbackCollector collector;
    const CpuSnapshot start = TakeCpuSnapshot();
    AgentRun run = SendThroughAgent(collector.address(), corpus, events);
    index.Await(collector, start);
    state.SetIterationTime(absl::ToDoubleSeconds(run.delivered));
    delivered += run.delivered;
    spooled += run.spooled;
    cpu_used += run.cpu_used;
  }
  using benchmark::Counter;
  const double total = static_cast<double>(events * state.iterations());
  state.counters["events/s"] =
      Counter(total / absl::ToDoubleSeconds(delivered));
  state.counters["spooled/s"] = Counter(total / absl::ToDoubleSeconds(spooled));
  SetCpuCounters(state, cpu_used, index, total);
}

// Times are those of the transfer alone (manual time): starting and
// stopping the collector is not measured. The full-size runs take seconds
// each: one iteration is the measurement.
BENCHMARK_CAPTURE(BM_RawProtocol, small, 20'000, 20'000)
    ->Unit(benchmark::kMillisecond)
    ->UseManualTime();
BENCHMARK_CAPTURE(BM_RawProtocol, 1M, 1'000'000, 200'000)
    ->Unit(benchmark::kMillisecond)
    ->UseManualTime()
    ->Iterations(1);
BENCHMARK_CAPTURE(BM_AgentPath, small, 20'000, 20'000)
    ->Unit(benchmark::kMillisecond)
    ->UseManualTime();
BENCHMARK_CAPTURE(BM_AgentPath, 1M, 1'000'000, 200'000)
    ->Unit(benchmark::kMillisecond)
    ->UseManualTime()
    ->Iterations(1);

}  // namespace
}  // namespace eroom::bench

int main(int argc, char** argv) {
  // The collector's and uplink's connect/disconnect lines would interleave
  // with the table.
  spdlog::set_level(spdlog::level::warn);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
