// Online backup and metric rollups, each against a reference measured in
// the same run:
// - BM_Backup: the online copy (SQLite's backup API, then PRAGMA
//   integrity_check) of a database of N realistic log events, against
//   copying the same files with the file system (what `cp` does, with no
//   consistency) and to the sqlite3 shell's .backup (when installed), and
//   the integrity check's share; sizes in MiB.
// - BM_IngestDuringBackup: the ingest thread's loop (transactions of a
//   thousand events) while a backup of the same database runs, against the
//   same loop with none.
// - BM_MetricIngestRollups: storing resource samples (each yields a dozen
//   metric points) with the one-minute rollups the writer keeps, against
//   the same database where a trigger skips every rollup upsert.
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "SQLiteCpp/Database.h"
#include "absl/time/clock.h"
#include "benchmark/benchmark.h"
#include "collector/ingest_rules.h"
#include "collector/sqlite/online_backup.h"
#include "collector/sqlite/sqlite_storage.h"
#include "tests/bench/bench_figures.h"
#include "tests/bench/log_event_corpus.h"

namespace eroom::bench {
namespace {

namespace v1 = ::eroom::monitor::v1;
using collector::AgentBatch;
using collector::StoredBatch;

constexpr int kEventsPerTransaction = 1000;

StoredBatch Batch(AgentBatch batch) {
  std::vector<AgentBatch> batches;
  batches.push_back(std::move(batch));
  return collector::BuildStoredBatch(std::move(batches), {}, absl::Now());
}

// Agent "a"'s log events [first, first + count) from the corpus.
StoredBatch LogEvents(uint64_t first, int count) {
  const std::vector<v1::LogEvent>& corpus = RealisticLogEvents(100'000);
  const int64_t time_ms = absl::ToUnixMillis(absl::Now());
  AgentBatch batch;
  batch.agent_id = "a";
  for (int i = 0; i < count; ++i) {
    v1::Event* event = batch.batch->add_events();
    event->set_sequence(first + i);
    *event->mutable_log() = corpus[(first + i) % corpus.size()];
    event->mutable_log()->set_time_unix_ms(time_ms);
  }
  return Batch(std::move(batch));
}

// Resource samples of agent "a", [first, first + count), one second apart.
StoredBatch Samples(uint64_t first, int count) {
  const int64_t start_ms = absl::ToUnixMillis(absl::Now() - absl::Hours(24));
  AgentBatch batch;
  batch.agent_id = "a";
  for (int i = 0; i < count; ++i) {
    const uint64_t sequence = first + i;
    v1::Event* event = batch.batch->add_events();
    event->set_sequence(sequence);
    v1::ResourceSample* sample = event->mutable_sample();
    sample->set_time_unix_ms(start_ms + static_cast<int64_t>(sequence) * 1000);
    sample->set_cpu_percent(static_cast<double>(sequence % 100));
    sample->set_memory_used_bytes(1 << 30);
    sample->set_memory_total_bytes(4ull << 30);
    sample->set_load_average_1m(0.5);
    for (const char* mount : {"/", "/data"}) {
      v1::DiskUsage* disk = sample->add_disks();
      disk->set_mount(mount);
      disk->set_used_bytes(25 + sequence % 7);
      disk->set_total_bytes(100);
    }
    sample->mutable_eroom()->set_up(true);
    sample->mutable_eroom()->set_rss_bytes(700 << 20);
  }
  return Batch(std::move(batch));
}

class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "eroom-backup-XXXXXX")
            .string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string In(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::unique_ptr<collector::Storage> Open(const std::string& path) {
  absl::StatusOr<std::unique_ptr<collector::Storage>> storage =
      collector::OpenSqliteStorage({.path = path});
  return storage.ok() ? *std::move(storage) : nullptr;
}

bool StoreLogs(collector::Storage& storage, uint64_t& next_sequence,
               int64_t events) {
  for (int64_t stored = 0; stored < events; stored += kEventsPerTransaction) {
    if (!storage.Apply(LogEvents(next_sequence, kEventsPerTransaction)).ok()) {
      return false;
    }
    next_sequence += kEventsPerTransaction;
  }
  return true;
}

void BM_Backup(benchmark::State& state, int64_t events) {
  for (auto _ : state) {
    TempDir dir;
    const std::string database = dir.In("eroom.db");
    std::unique_ptr<collector::Storage> storage = Open(database);
    uint64_t next_sequence = 1;
    if (storage == nullptr || !StoreLogs(*storage, next_sequence, events)) {
      state.SkipWithError("storing the events failed");
      return;
    }
    auto start = std::chrono::steady_clock::now();
    for (const char* suffix : {"", "-wal"}) {
      std::filesystem::copy_file(database + suffix, dir.In("cp.db") + suffix);
    }
    const double cp_s = SecondsSince(start);
    // The sqlite3 shell's .backup, if installed: the same API in one step.
    start = std::chrono::steady_clock::now();
    const bool shell = std::system(("sqlite3 " + database + " '.backup " +
                                    dir.In("shell.db") + "' 2>/dev/null")
                                       .c_str()) == 0;
    const double shell_s = SecondsSince(start);
    start = std::chrono::steady_clock::now();
    absl::StatusOr<int64_t> unchecked = collector::CopyDatabaseOnline(
        database, dir.In("unchecked.db"),
        {.keep_going = {}, .check_integrity = false});
    const double unchecked_s = SecondsSince(start);
    start = std::chrono::steady_clock::now();
    absl::StatusOr<int64_t> checked = collector::CopyDatabaseOnline(
        database, dir.In("backup.db"),
        {.keep_going = {}, .check_integrity = true});
    const double backup_s = SecondsSince(start);
    if (!checked.ok() || !unchecked.ok()) {
      state.SkipWithError(checked.status().ToString().c_str());
      return;
    }
    state.counters["backup_ms"] = backup_s * 1000;
    state.counters["integrity_check_ms"] = (backup_s - unchecked_s) * 1000;
    state.counters["cp_ms"] = cp_s * 1000;
    state.counters["backup_vs_cp"] = backup_s / cp_s;
    if (shell) {
      state.counters["sqlite3_shell_backup_ms"] = shell_s * 1000;
      state.counters["backup_vs_sqlite3_shell"] = backup_s / shell_s;
    }
    state.counters["backup_MiB"] = FileMiB(dir.In("backup.db"));
    state.counters["database_and_wal_MiB"] =
        FileMiB(database) + FileMiB(database + "-wal");
  }
}

void BM_IngestDuringBackup(benchmark::State& state, int64_t events) {
  for (auto _ : state) {
    TempDir dir;
    const std::string database = dir.In("eroom.db");
    std::unique_ptr<collector::Storage> storage = Open(database);
    uint64_t next_sequence = 1;
    if (storage == nullptr || !StoreLogs(*storage, next_sequence, events)) {
      state.SkipWithError("storing the events failed");
      return;
    }
    // Without: as many transactions as fit in the time of one backup.
    auto start = std::chrono::steady_clock::now();
    absl::StatusOr<int64_t> first =
        collector::CopyDatabaseOnline(database, dir.In("first.db"), {});
    const double backup_s = SecondsSince(start);
    start = std::chrono::steady_clock::now();
    int64_t without = 0;
    while (SecondsSince(start) < backup_s) {
      StoreLogs(*storage, next_sequence, kEventsPerTransaction);
      without += kEventsPerTransaction;
    }
    const double without_rate = without / SecondsSince(start);

    std::atomic<bool> copying = true;
    absl::StatusOr<int64_t> during;
    std::thread backup([&] {
      during = collector::CopyDatabaseOnline(database, dir.In("during.db"), {});
      copying = false;
    });
    start = std::chrono::steady_clock::now();
    int64_t with = 0;
    while (copying) {
      StoreLogs(*storage, next_sequence, kEventsPerTransaction);
      with += kEventsPerTransaction;
    }
    const double with_s = SecondsSince(start);
    backup.join();
    if (!first.ok() || !during.ok()) {
      state.SkipWithError("the backup failed");
      return;
    }
    const double with_rate = with / with_s;
    state.counters["ingest_without_per_s"] = without_rate;
    state.counters["ingest_during_backup_per_s"] = with_rate;
    state.counters["ratio"] = without_rate > 0 ? with_rate / without_rate : 0;
    state.counters["backup_alone_ms"] = backup_s * 1000;
    state.counters["backup_during_ingest_ms"] = with_s * 1000;
  }
}

// Stores `samples` samples in transactions of a thousand; samples per s.
double SampleRate(collector::Storage& storage, int64_t samples) {
  const auto start = std::chrono::steady_clock::now();
  for (int64_t stored = 0; stored < samples; stored += 1000) {
    if (!storage.Apply(Samples(static_cast<uint64_t>(stored) + 1, 1000)).ok()) {
      return 0;
    }
  }
  return static_cast<double>(samples) / SecondsSince(start);
}

void BM_MetricIngestRollups(benchmark::State& state, int64_t samples) {
  for (auto _ : state) {
    TempDir dir;
    std::unique_ptr<collector::Storage> with = Open(dir.In("with.db"));
    std::unique_ptr<collector::Storage> without = Open(dir.In("without.db"));
    if (with == nullptr || without == nullptr) {
      state.SkipWithError("opening the stores failed");
      return;
    }
    without.reset();
    {
      SQLite::Database db(dir.In("without.db"), SQLite::OPEN_READWRITE);
      // Every rollup upsert is skipped: what storing samples costs without.
      db.exec(R"sql(
          CREATE TRIGGER skip_rollups BEFORE INSERT ON metric_rollups
          BEGIN SELECT RAISE(IGNORE); END)sql");
    }
    without = Open(dir.In("without.db"));
    const double without_rate = SampleRate(*without, samples);
    const double with_rate = SampleRate(*with, samples);
    state.counters["samples_without_rollups_per_s"] = without_rate;
    state.counters["samples_with_rollups_per_s"] = with_rate;
    state.counters["ratio"] = without_rate > 0 ? with_rate / without_rate : 0;
  }
}

BENCHMARK_CAPTURE(BM_Backup, small, 5'000)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Backup, 1M, 1'000'000)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_IngestDuringBackup, small, 5'000)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_IngestDuringBackup, 500k, 500'000)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_MetricIngestRollups, small, 2'000)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_MetricIngestRollups, 100k, 100'000)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace eroom::bench

BENCHMARK_MAIN();
