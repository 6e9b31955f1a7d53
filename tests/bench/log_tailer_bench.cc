// LogTailer end to end on a generated file read from its beginning: the
// pipeline of log_pipeline_bench plus the tailer's own work (finding the
// file, fingerprints, checkpoints, commit batches), with a store that keeps
// nothing, so neither SQLite nor the network is measured.
//
//   log_tailer_bench --benchmark_filter=1M

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "agent/log_checkpoint_store.h"
#include "agent/log_tailer.h"
#include "benchmark/benchmark.h"
#include "common/clock.h"
#include "tests/bench/temp_log_file.h"
#include "tests/unit/test_support/fake_clock.h"

namespace eroom::bench {
namespace {

namespace v1 = ::eroom::monitor::v1;

// Accepts every commit and forgets it.
class DiscardingStore final : public agent::LogCheckpointStore {
 public:
  absl::StatusOr<agent::SavedLogState> Load() override {
    return agent::SavedLogState();
  }
  absl::Status Commit(absl::Span<v1::LogEvent> events,
                      const std::vector<agent::FileCheckpoint>&) override {
    events_ += events.size();
    return absl::OkStatus();
  }
  uint64_t events() const { return events_; }

 private:
  uint64_t events_ = 0;
};

void BM_Tailer(benchmark::State& state, uint64_t lines) {
  const TempLogFile& log = GeneratedLogFile(lines);
  FakeClock clock;
  uint64_t events = 0;
  for (auto _ : state) {
    DiscardingStore store;
    agent::LogSourceOptions options;
    options.paths = {log.path};
    options.start_at_beginning = true;
    options.use_inotify = false;
    options.time_zone = absl::UTCTimeZone();
    std::unique_ptr<agent::LogTailer> tailer =
        *agent::LogTailer::Create(options, clock, store);
    while (tailer->Stats().bytes_read < log.bytes) tailer->PollOnce();
    tailer->FlushPending();
    events = store.events();
  }

  using benchmark::Counter;
  state.counters["lines/s"] = Counter(
      static_cast<double>(lines * state.iterations()), Counter::kIsRate);
  state.counters["MB/s"] =
      Counter(static_cast<double>(log.bytes * state.iterations()) / 1e6,
              Counter::kIsRate);
  state.counters["events"] = Counter(static_cast<double>(events));
}

BENCHMARK_CAPTURE(BM_Tailer, small, 20'000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_Tailer, 1M, 1'000'000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace eroom::bench

BENCHMARK_MAIN();
