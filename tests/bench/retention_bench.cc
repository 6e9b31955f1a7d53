// Ingest rate with retention working off a backlog beside it, against the
// same store without: the ingest thread's own loop (a transaction of a
// thousand realistic log events, then a retention batch), with the search
// index following on its thread as in the collector. Prints both rates
// (events stored per second) and their ratio.
#include <stdlib.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "benchmark/benchmark.h"
#include "collector/ingest_rules.h"
#include "collector/retention.h"
#include "collector/sqlite/sqlite_storage.h"
#include "common/clock.h"
#include "tests/bench/log_event_corpus.h"

namespace eroom::bench {
namespace {

namespace v1 = ::eroom::monitor::v1;
using collector::AgentBatch;
using collector::StoredBatch;

constexpr int kEventsPerTransaction = 1000;

// Agent "a"'s events [first, first + count) from the corpus, timed `age`
// before now.
StoredBatch Events(uint64_t first, int count, absl::Duration age) {
  const std::vector<v1::LogEvent>& corpus = RealisticLogEvents(100'000);
  const int64_t time_ms = absl::ToUnixMillis(absl::Now() - age);
  AgentBatch batch;
  batch.agent_id = "a";
  for (int i = 0; i < count; ++i) {
    v1::Event* event = batch.batch->add_events();
    event->set_sequence(first + i);
    *event->mutable_log() = corpus[(first + i) % corpus.size()];
    event->mutable_log()->set_time_unix_ms(time_ms);
  }
  std::vector<AgentBatch> batches;
  batches.push_back(std::move(batch));
  return collector::BuildStoredBatch(std::move(batches), {}, absl::Now());
}

class TempStore {
 public:
  TempStore() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "eroom-retention-XXXXXX")
            .string();
    dir_ = mkdtemp(pattern.data());
    storage_ = *collector::OpenSqliteStorage({.path = dir_ + "/eroom.db"});
  }
  ~TempStore() {
    storage_.reset();
    std::filesystem::remove_all(dir_);
  }
  collector::Storage& storage() { return *storage_; }

 private:
  std::string dir_;
  std::unique_ptr<collector::Storage> storage_;
};

// Stores `events` young events in transactions of kEventsPerTransaction,
// running `sweeper` (if any) after each; returns events per second.
double IngestRate(collector::Storage& storage, uint64_t& next_sequence,
                  int64_t events, collector::RetentionSweeper* sweeper) {
  const auto start = std::chrono::steady_clock::now();
  for (int64_t stored = 0; stored < events; stored += kEventsPerTransaction) {
    if (!storage
             .Apply(
                 Events(next_sequence, kEventsPerTransaction, absl::Hours(1)))
             .ok()) {
      return 0;
    }
    next_sequence += kEventsPerTransaction;
    if (sweeper != nullptr) sweeper->RunDue();
  }
  const std::chrono::duration<double> took =
      std::chrono::steady_clock::now() - start;
  return static_cast<double>(events) / took.count();
}

void BM_IngestBesideRetention(benchmark::State& state, int64_t events) {
  for (auto _ : state) {
    TempStore store;
    uint64_t next_sequence = 1;
    // Twice what the timed part stores: retention never runs out of work.
    for (int64_t stored = 0; stored < 2 * events;
         stored += kEventsPerTransaction) {
      if (!store.storage()
               .Apply(Events(next_sequence, kEventsPerTransaction,
                             absl::Hours(24 * 40)))
               .ok()) {
        state.SkipWithError("storing the backlog failed");
        return;
      }
      next_sequence += kEventsPerTransaction;
    }
    collector::RetentionSweeper sweeper(store.storage(), RealClock::Get(),
                                        {.policy = {}, .rows_per_batch = 1000});
    const double without =
        IngestRate(store.storage(), next_sequence, events, nullptr);
    const double with =
        IngestRate(store.storage(), next_sequence, events, &sweeper);
    state.counters["ingest_without_per_s"] = without;
    state.counters["ingest_with_retention_per_s"] = with;
    state.counters["ratio"] = without > 0 ? with / without : 0;
    state.counters["removed"] = static_cast<double>(sweeper.removed().logs);
  }
}

BENCHMARK_CAPTURE(BM_IngestBesideRetention, small, 10'000)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_IngestBesideRetention, 200k, 200'000)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace eroom::bench

BENCHMARK_MAIN();
