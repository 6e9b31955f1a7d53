// `report daily` over a day of stored events: what the collector does for
// it (the day's activity from storage, then the figures), p50 of several
// runs, beside a plain SQLite COUNT of the same day's log events on the same
// database in the same run, with their ratio; and ListRooms (the newest 100
// rooms of the day). Events are realistic (log_event_corpus.h: rooms,
// errors, stack traces), four hosts, spread evenly over the day; a second
// case makes every tenth event an ERROR (an incident day: 100,000 error
// lines to count and shape).
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "SQLiteCpp/Database.h"
#include "SQLiteCpp/Statement.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "benchmark/benchmark.h"
#include "collector/daily_report.h"
#include "collector/ingest_rules.h"
#include "collector/sqlite/sqlite_storage.h"
#include "tests/bench/log_event_corpus.h"

namespace eroom::bench {
namespace {

namespace v1 = ::eroom::monitor::v1;
using collector::AgentBatch;

constexpr int kHosts = 4;
constexpr int kEventsPerTransaction = 5000;
constexpr int kRuns = 7;
const absl::CivilDay kDay(2025, 6, 16);

class DayStore {
 public:
  // `events` log events over kDay (UTC) on kHosts hosts; with
  // `error_every`, every error_every-th of them an ERROR of its own text.
  DayStore(int64_t events, int error_every) {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "eroom-report-XXXXXX")
            .string();
    dir_ = mkdtemp(pattern.data());
    storage_ = *collector::OpenSqliteStorage({.path = path()});
    const std::vector<v1::LogEvent>& corpus = RealisticLogEvents(100'000);
    const int64_t per_host = events / kHosts;
    const int64_t start_ms = absl::ToUnixMillis(start());
    const double step_ms = 86'400'000.0 / static_cast<double>(per_host);
    for (int host = 0; host < kHosts; ++host) {
      const std::string agent_id = absl::StrCat("web-", host + 1);
      for (int64_t first = 0; first < per_host;
           first += kEventsPerTransaction) {
        AgentBatch batch;
        batch.agent_id = agent_id;
        const int64_t last = std::min(per_host, first + kEventsPerTransaction);
        for (int64_t i = first; i < last; ++i) {
          v1::Event* event = batch.batch->add_events();
          event->set_sequence(static_cast<uint64_t>(i + 1));
          v1::LogEvent* log = event->mutable_log();
          *log = corpus[static_cast<size_t>(i) % corpus.size()];
          log->set_time_unix_ms(
              start_ms +
              static_cast<int64_t>(static_cast<double>(i) * step_ms));
          if (error_every > 0 && i % error_every == 0) {
            log->set_level(v1::ERROR);
            log->set_message(absl::StrCat(
                "API 호출 실패. 상태 코드: 500, 메시지: job ", i, "\n\tat x"));
          }
          // Each pass over the corpus is new rooms.
          if (!log->ruid().empty()) {
            log->set_ruid(absl::StrCat(log->ruid(), "_",
                                       static_cast<size_t>(i) / corpus.size()));
          }
        }
        std::vector<AgentBatch> batches;
        batches.push_back(std::move(batch));
        if (!storage_
                 ->Apply(collector::BuildStoredBatch(std::move(batches), {},
                                                     absl::Now()))
                 .ok()) {
          abort();
        }
      }
    }
  }
  ~DayStore() {
    storage_.reset();
    std::filesystem::remove_all(dir_);
  }

  static absl::Time start() {
    return absl::FromCivil(kDay, absl::UTCTimeZone());
  }
  static absl::Time end() {
    return absl::FromCivil(kDay + 1, absl::UTCTimeZone());
  }
  std::string path() const { return dir_ + "/eroom.db"; }
  collector::Storage& storage() { return *storage_; }

 private:
  std::string dir_;
  std::unique_ptr<collector::Storage> storage_;
};

// The median of `runs` timings of `work`, in milliseconds.
template <typename Work>
double MedianMs(int runs, Work work) {
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    const auto begin = std::chrono::steady_clock::now();
    work();
    ms.push_back(std::chrono::duration<double, std::milli>(
                     std::chrono::steady_clock::now() - begin)
                     .count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

void BM_DailyReport(benchmark::State& state, int64_t events, int error_every) {
  for (auto _ : state) {
    DayStore store(events, error_every);
    collector::ReportDay day{DayStore::start(), DayStore::end()};
    v1::DailyReportResponse report;
    const double report_ms = MedianMs(kRuns, [&] {
      absl::StatusOr<std::vector<collector::HostDayActivity>> activity =
          store.storage().DayActivity({}, day.start, day.end);
      if (!activity.ok()) abort();
      report = collector::BuildDailyReport(day, *std::move(activity), {}, {});
    });

    // Of which storage's part (the rest is the figures and error shapes).
    const double activity_ms = MedianMs(kRuns, [&] {
      if (!store.storage().DayActivity({}, day.start, day.end).ok()) abort();
    });

    SQLite::Database db(store.path(), SQLite::OPEN_READONLY);
    int64_t counted = 0;
    const double count_ms = MedianMs(kRuns, [&] {
      SQLite::Statement count(
          db,
          "SELECT count(*) FROM log_events WHERE time_ms >= ?1 AND "
          "time_ms < ?2");
      count.bind(1, absl::ToUnixMillis(day.start));
      count.bind(2, absl::ToUnixMillis(day.end));
      count.executeStep();
      counted = count.getColumn(0).getInt64();
    });

    v1::ListRoomsRequest request;
    request.set_since_unix_ms(absl::ToUnixMillis(day.start));
    request.set_limit(100);
    int rooms = 0;
    const double list_ms = MedianMs(kRuns, [&] {
      absl::StatusOr<v1::ListRoomsResponse> listed =
          store.storage().ListRooms(request, day.end);
      if (!listed.ok()) abort();
      rooms = listed->rooms_size();
    });

    state.counters["events_in_day"] = static_cast<double>(counted);
    state.counters["report_p50_ms"] = report_ms;
    state.counters["day_activity_p50_ms"] = activity_ms;
    state.counters["sqlite_count_p50_ms"] = count_ms;
    state.counters["report_over_count"] =
        count_ms > 0 ? report_ms / count_ms : 0;
    state.counters["list_rooms_p50_ms"] = list_ms;
    state.counters["rooms_listed"] = rooms;
    state.counters["room_requests"] =
        static_cast<double>(report.total().room_requests());
    state.counters["error_lines"] =
        static_cast<double>(report.total().error_lines());
  }
}

BENCHMARK_CAPTURE(BM_DailyReport, small, 20'000, 0)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_DailyReport, 1M, 1'000'000, 0)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_DailyReport, 1M_incident, 1'000'000, 10)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace eroom::bench

BENCHMARK_MAIN();
