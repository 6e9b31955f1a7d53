// eroom-search-bench: the speed of log searches and reports through
// eroomctl on a large database of realistic log events, beside references
// measured in the same run:
//
//   eroom-search-bench [--events N] [--hosts H] [--runs R] [--db PATH]
//                      [--keep]
//
// 1. Fill: N realistic log events (log_event_corpus.h) on H hosts over the
//    30 days before now, the previous UTC day holding 1,000,000 of them (a
//    tenth of N when that is less), stored in-process in transactions of
//    5000 as the ingest thread does; known needles (a rare ASCII word, a
//    rare Korean phrase, a rare two-character Korean word) in 10 events
//    each. Every stored message goes to PATH.messages.txt, one line each,
//    for grep. --db PATH of a completed fill (PATH.fill) reuses it as is.
// 2. Sizes: the database and its search index, per million events.
// 3. Queries: each eroomctl command timed as a whole process against the
//    real eroom-collector, p50 and p99 of R runs, beside `eroomctl hosts`
//    (the floor: a process and one RPC), `grep -c -F -i` over the messages
//    for substring searches and the sqlite3 shell's COUNT of the day for
//    `report daily`. The needles must be found exactly.
// 4. Ingest: Storage::Apply of more events alone, and with another thread
//    querying the same storage all along.
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "collector/ingest_rules.h"
#include "collector/sqlite/search_index.h"
#include "collector/sqlite/sqlite_storage.h"
#include "nlohmann/json.hpp"
#include "tests/bench/bench_figures.h"
#include "tests/bench/latency_samples.h"
#include "tests/bench/log_event_corpus.h"
#include "tests/integration/process_harness.h"

namespace eroom::bench {
namespace {

namespace v1 = ::eroom::monitor::v1;
using collector::AgentBatch;

constexpr int kEventsPerTransaction = 5000;
constexpr int kNeedlesEach = 10;
constexpr int64_t kMaxDayEvents = 1'000'000;
constexpr int64_t kMaxIngestEvents = 200'000;

// The needles: each planted in kNeedlesEach events, as the word of a
// message no corpus event has.
struct Needle {
  const char* word;
  const char* what;
  const char* message;
};
constexpr Needle kNeedles[] = {
    {"zanzibar", "rare word",
     "외부 API 호출 지연: upstream zanzibar gateway timed out after 3000ms"},
    {"결제 모듈 교착", "rare Korean phrase",
     "결제 모듈 교착 상태 감지, 대기 중인 요청을 다시 시도합니다"},
    {"횡재", "rare two-character Korean word",
     "이번 주 보상 이벤트는 그야말로 횡재 수준이라는 문의가 접수되었습니다"},
};
// A word in about half the corpus's messages (model generation polls).
constexpr char kCommonWord[] = "IN_PROGRESS";
// The most common two-character Korean word searched for on ERoom logs.
constexpr char kCommonKoreanWord[] = "실패";

// `program`'s path as the shell finds it on PATH; empty if it is not there.
std::string ProgramPath(const std::string& program) {
  const char* path = std::getenv("PATH");
  for (absl::string_view dir :
       absl::StrSplit(path == nullptr ? "/usr/bin:/bin" : path, ':')) {
    const std::string candidate = absl::StrCat(dir, "/", program);
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

std::string AgentId(int host) { return absl::StrCat("web-", host + 1); }

// What a fill made, kept in PATH.fill so that a later run reuses it.
struct FillPlan {
  int64_t events = 0;
  int hosts = 0;
  absl::CivilDay day;  // The UTC day of day_events events.
  int64_t day_events = 0;
  int64_t end_unix_ms = 0;  // The fill's "now".

  std::string Text() const {
    return absl::StrCat("events ", events, "\nhosts ", hosts, "\nday ",
                        absl::FormatCivilTime(day), "\nday_events ", day_events,
                        "\nend_unix_ms ", end_unix_ms, "\n");
  }
  static std::optional<FillPlan> Parse(const std::string& text) {
    std::istringstream in(text);
    std::map<std::string, std::string> values;
    std::string key, value;
    while (in >> key >> value) values[key] = value;
    FillPlan plan;
    try {
      plan.events = std::stoll(values.at("events"));
      plan.hosts = std::stoi(values.at("hosts"));
      plan.day_events = std::stoll(values.at("day_events"));
      plan.end_unix_ms = std::stoll(values.at("end_unix_ms"));
      if (!absl::ParseCivilTime(values.at("day"), &plan.day)) return {};
    } catch (const std::exception&) {
      return {};
    }
    return plan;
  }
};

// Where each event of a fill lies in time: the events before the day, the
// day's, then the ones after it, each part evenly spread, so that time
// grows with the event's index.
class FillTimes {
 public:
  explicit FillTimes(const FillPlan& plan)
      : start_ms_(plan.end_unix_ms - 30 * 86'400'000LL),
        day_start_ms_(
            absl::ToUnixMillis(absl::FromCivil(plan.day, absl::UTCTimeZone()))),
        day_events_(plan.day_events) {
    const double before_ms = static_cast<double>(day_start_ms_ - start_ms_);
    const double after_ms =
        static_cast<double>(plan.end_unix_ms - day_start_ms_ - 86'400'000LL);
    const int64_t others = plan.events - plan.day_events;
    before_events_ = static_cast<int64_t>(static_cast<double>(others) *
                                          before_ms / (before_ms + after_ms));
    const int64_t after_events = others - before_events_;
    before_step_ms_ =
        before_ms / static_cast<double>(std::max<int64_t>(before_events_, 1));
    day_step_ms_ = 86'400'000.0 / static_cast<double>(day_events_);
    after_step_ms_ =
        after_ms / static_cast<double>(std::max<int64_t>(after_events, 1));
  }

  int64_t TimeMs(int64_t event) const {
    if (event < before_events_) {
      return start_ms_ + Steps(event, before_step_ms_);
    }
    event -= before_events_;
    if (event < day_events_) return day_start_ms_ + Steps(event, day_step_ms_);
    return day_start_ms_ + 86'400'000LL +
           Steps(event - day_events_, after_step_ms_);
  }

 private:
  static int64_t Steps(int64_t count, double step_ms) {
    return static_cast<int64_t>(static_cast<double>(count) * step_ms);
  }

  int64_t start_ms_, day_start_ms_, day_events_;
  int64_t before_events_ = 0;
  double before_step_ms_ = 0, day_step_ms_ = 0, after_step_ms_ = 0;
};

// Each host walks the corpus from its own place, so that its rooms are
// whole; each pass over it is new rooms.
struct CorpusWalk {
  size_t index;
  uint64_t pass;
};
CorpusWalk Walk(int host, int hosts, uint64_t host_event, size_t corpus_size) {
  const uint64_t position =
      host_event + static_cast<uint64_t>(host) * corpus_size / hosts;
  return {static_cast<size_t>(position % corpus_size), position / corpus_size};
}

std::string RoomId(const std::string& ruid, int host, uint64_t pass) {
  return absl::StrCat(ruid, "_", host, "_", pass);
}

// The events of the fill holding needle `needle`: spread from the oldest
// to the newest.
std::map<int64_t, const char*> NeedlePositions(int64_t events) {
  std::map<int64_t, const char*> positions;
  for (int needle = 0; needle < 3; ++needle) {
    for (int k = 0; k < kNeedlesEach; ++k) {
      positions[k * (events - 100) / (kNeedlesEach - 1) + 10 * needle + 1] =
          kNeedles[needle].message;
    }
  }
  return positions;
}

bool Fill(const FillPlan& plan, collector::Storage& storage,
          const std::string& messages_path) {
  const std::vector<v1::LogEvent>& corpus = RealisticLogEvents(100'000);
  const FillTimes times(plan);
  const std::map<int64_t, const char*> needles = NeedlePositions(plan.events);
  std::ofstream messages(messages_path, std::ios::trunc);
  const auto start = std::chrono::steady_clock::now();
  auto last_print = start;
  for (int64_t first = 0; first < plan.events; first += kEventsPerTransaction) {
    std::vector<AgentBatch> batches(plan.hosts);
    for (int host = 0; host < plan.hosts; ++host) {
      batches[host].agent_id = AgentId(host);
    }
    const int64_t last = std::min(plan.events, first + kEventsPerTransaction);
    for (int64_t i = first; i < last; ++i) {
      const int host = static_cast<int>(i % plan.hosts);
      const uint64_t host_event = static_cast<uint64_t>(i / plan.hosts);
      const CorpusWalk walk = Walk(host, plan.hosts, host_event, corpus.size());
      v1::Event* event = batches[host].batch->add_events();
      event->set_sequence(host_event + 1);
      v1::LogEvent* log = event->mutable_log();
      *log = corpus[walk.index];
      log->set_time_unix_ms(times.TimeMs(i));
      if (!log->ruid().empty()) {
        log->set_ruid(RoomId(log->ruid(), host, walk.pass));
      }
      if (auto needle = needles.find(i); needle != needles.end()) {
        log->set_message(needle->second);
      }
      messages << absl::StrReplaceAll(log->message(),
                                      {{"\r\n", " "}, {"\n", " "}, {"\r", " "}})
               << '\n';
    }
    absl::Status applied = storage.Apply(
        collector::BuildStoredBatch(std::move(batches), {}, absl::Now()));
    if (!applied.ok()) {
      std::cerr << "storing the fill failed: " << applied << "\n";
      return false;
    }
    if (SecondsSince(last_print) >= 10) {
      last_print = std::chrono::steady_clock::now();
      std::cout << absl::StrFormat("  fill: %d of %d events stored\n", last,
                                   plan.events)
                << std::flush;
    }
  }
  messages.close();
  const double seconds = SecondsSince(start);
  std::cout << absl::StrFormat(
      "fill: %d events on %d hosts in %.1f s: %.0f events/s (transactions of "
      "%d)\n",
      plan.events, plan.hosts, seconds,
      static_cast<double>(plan.events) / seconds, kEventsPerTransaction);
  return messages.good();
}

// Waits, with the storage open (its indexer running), until the search
// index holds every event.
bool WaitForIndex(const std::string& db) {
  const auto start = std::chrono::steady_clock::now();
  auto last_print = start;
  collector::SearchIndexProgress progress;
  const bool caught_up = testing::PollUntil(
      absl::Hours(6),
      [&] {
        absl::StatusOr<collector::SearchIndexProgress> read =
            collector::ReadSearchIndexProgress(db);
        if (!read.ok()) return false;
        progress = *read;
        if (SecondsSince(last_print) >= 10) {
          last_print = std::chrono::steady_clock::now();
          std::cout << absl::StrFormat("  search index: %d of %d events\n",
                                       progress.indexed_through,
                                       progress.newest_event)
                    << std::flush;
        }
        return progress.indexed_through >= progress.newest_event;
      },
      absl::Milliseconds(200));
  std::cout << absl::StrFormat(
      "search index: %d events indexed; %.1f s waited after the last one was "
      "stored\n",
      progress.indexed_through, SecondsSince(start));
  return caught_up;
}

void PrintSizes(const std::string& db, int64_t events) {
  const std::string index = collector::SearchIndexPath(db);
  const double database_mib = FileMiB(db) + FileMiB(db + "-wal");
  const double index_mib = FileMiB(index) + FileMiB(index + "-wal");
  const double millions = static_cast<double>(events) / 1e6;
  std::cout << absl::StrFormat(
      "sizes: database %.1f MiB (with -wal), %.1f MiB per million events; "
      "search index %.1f MiB, %.1f MiB per million events; the index is "
      "%.0f%% of the %.1f MiB total\n",
      database_mib, database_mib / millions, index_mib, index_mib / millions,
      100 * index_mib / (database_mib + index_mib), database_mib + index_mib);
}

struct Timed {
  LatencySamples samples;
  std::string out;  // Of the last run.
};

// Runs `argv` `runs` times, timing each whole process.
std::optional<Timed> TimeCommand(const std::vector<std::string>& argv, int runs,
                                 std::map<std::string, std::string> env = {}) {
  Timed timed;
  for (int run = 0; run < runs; ++run) {
    const auto start = std::chrono::steady_clock::now();
    testing::CommandResult result =
        testing::RunCommand(argv, absl::Minutes(5), env);
    timed.samples.Add(
        absl::FromChrono(std::chrono::steady_clock::now() - start));
    if (result.exit_code != 0) {
      std::cerr << "`" << absl::StrJoin(argv, " ") << "` exited "
                << result.exit_code << ": " << result.err << "\n";
      return std::nullopt;
    }
    timed.out = std::move(result.out);
  }
  return timed;
}

// Waits until the collector is idle (its start-up check of the search
// index done): under 50 ms of CPU in each of two seconds running.
void WaitUntilIdle(pid_t pid) {
  const auto start = std::chrono::steady_clock::now();
  const std::string stat = absl::StrCat("/proc/", pid, "/stat");
  int quiet = 0;
  double cpu = StatCpuSeconds(stat);
  while (quiet < 2 && SecondsSince(start) < 120) {
    absl::SleepFor(absl::Seconds(1));
    const double now = StatCpuSeconds(stat);
    quiet = now - cpu < 0.05 ? quiet + 1 : 0;
    cpu = now;
  }
  std::cout << absl::StrFormat("collector idle after %.1f s\n",
                               SecondsSince(start));
}

std::string MsFigures(LatencySamples& samples) {
  return absl::StrFormat("p50 %.1f ms p99 %.1f ms", samples.QuantileMs(0.5),
                         samples.QuantileMs(0.99));
}

class QueryRunner {
 public:
  QueryRunner(std::string address, std::string messages, int runs)
      : address_(std::move(address)),
        messages_(std::move(messages)),
        runs_(runs) {}

  bool MeasureFloor() {
    std::optional<Timed> floor =
        TimeCommand(testing::EroomctlArgv(address_, {"hosts"}), runs_);
    if (!floor) return false;
    floor_ms_ = floor->samples.QuantileMs(0.5);
    std::cout << "floor eroomctl hosts: " << MsFigures(floor->samples) << "\n";
    return true;
  }

  // `eroomctl logs ARGS`: p50, p99, events printed, against the floor and,
  // for a substring search of `word`, grep. With `expected`, the count of
  // events it must print.
  bool Logs(const std::string& name, const std::vector<std::string>& args,
            const std::string& goal, const std::string& word = "",
            std::optional<int> expected = std::nullopt) {
    std::vector<std::string> json_args = {"-o", "json", "logs"};
    json_args.insert(json_args.end(), args.begin(), args.end());
    // Untimed: warms the collector and counts the events.
    std::optional<Timed> counted =
        TimeCommand(testing::EroomctlArgv(address_, json_args), 1);
    std::vector<std::string> text_args = {"logs"};
    text_args.insert(text_args.end(), args.begin(), args.end());
    std::optional<Timed> timed =
        TimeCommand(testing::EroomctlArgv(address_, text_args), runs_);
    if (!counted || !timed) return false;
    const nlohmann::json response =
        nlohmann::json::parse(counted->out, nullptr, false);
    const size_t events = response.is_object() && response.contains("events")
                              ? response["events"].size()
                              : 0;
    std::string line = absl::StrFormat(
        "%s: %s, %d events; %.1fx the floor", name, MsFigures(timed->samples),
        events, timed->samples.QuantileMs(0.5) / floor_ms_);
    if (!word.empty()) {
      std::optional<Timed> grep =
          TimeCommand({ProgramPath("grep"), "-c", "-F", "-i", word, messages_},
                      runs_, {{"LC_ALL", "C"}});
      if (!grep) return false;
      absl::StrAppendFormat(
          &line, "; grep -c %.1f ms (%s lines); ratio %.2f",
          grep->samples.QuantileMs(0.5), absl::StripAsciiWhitespace(grep->out),
          timed->samples.QuantileMs(0.5) / grep->samples.QuantileMs(0.5));
    }
    std::cout << line << " (goal " << goal << ")\n" << std::flush;
    if (expected && static_cast<int>(events) != *expected) {
      std::cout << "WRONG: " << name << " printed " << events
                << " events; the fill planted " << *expected << "\n";
      wrong_ = true;
    }
    return true;
  }

  bool ReportDaily(const FillPlan& plan, const std::string& db) {
    const std::string date = absl::FormatCivilTime(plan.day);
    const std::vector<std::string> args = {
        "report", "daily", "--date", date, "--utc-offset", "+00:00", "--all"};
    std::vector<std::string> json_args = {"-o", "json"};
    json_args.insert(json_args.end(), args.begin(), args.end());
    std::optional<Timed> counted =
        TimeCommand(testing::EroomctlArgv(address_, json_args), 1);
    std::optional<Timed> timed =
        TimeCommand(testing::EroomctlArgv(address_, args), runs_);
    if (!counted || !timed) return false;
    const nlohmann::json report =
        nlohmann::json::parse(counted->out, nullptr, false);
    auto total = [&report](const char* figure) -> std::string {
      if (!report.is_object() || !report.contains("total") ||
          !report["total"].is_object()) {
        return "?";
      }
      const nlohmann::json value =
          report["total"].value(figure, nlohmann::json());
      return value.is_string() ? value.get<std::string>() : value.dump();
    };
    std::string line = absl::StrFormat(
        "report daily --date %s --all (%d events that day): %s, %s room "
        "requests, %s error lines; %.1fx the floor",
        date, plan.day_events, MsFigures(timed->samples),
        total("room_requests"), total("error_lines"),
        timed->samples.QuantileMs(0.5) / floor_ms_);
    const int64_t day_start =
        absl::ToUnixMillis(absl::FromCivil(plan.day, absl::UTCTimeZone()));
    const std::string count_sql =
        absl::StrCat("SELECT count(*) FROM log_events WHERE time_ms BETWEEN ",
                     day_start, " AND ", day_start + 86'400'000LL - 1);
    if (const std::string sqlite3 = ProgramPath("sqlite3"); !sqlite3.empty()) {
      std::optional<Timed> count =
          TimeCommand({sqlite3, "-readonly", db, count_sql}, runs_);
      if (!count) return false;
      absl::StrAppendFormat(
          &line, "; sqlite3 count %.1f ms (%s); ratio %.2f",
          count->samples.QuantileMs(0.5),
          absl::StripAsciiWhitespace(count->out),
          timed->samples.QuantileMs(0.5) / count->samples.QuantileMs(0.5));
    }
    std::cout << line << " (goal <= 200 ms)\n" << std::flush;
    return true;
  }

  bool wrong() const { return wrong_; }

 private:
  const std::string address_, messages_;
  const int runs_;
  double floor_ms_ = 1;
  bool wrong_ = false;
};

// The event type most of the corpus's typed events have.
std::string CommonEventType(const std::vector<v1::LogEvent>& corpus) {
  std::map<std::string, int> counts;
  for (const v1::LogEvent& event : corpus) {
    if (!event.event_type().empty()) ++counts[event.event_type()];
  }
  auto most = std::max_element(
      counts.begin(), counts.end(),
      [](const auto& a, const auto& b) { return a.second < b.second; });
  return most == counts.end() ? "room_requested" : most->first;
}

// A room the fill stored: the first one host 0 walks through.
std::string StoredRoom(const std::vector<v1::LogEvent>& corpus,
                       const FillPlan& plan) {
  for (size_t i = 0; i < corpus.size(); ++i) {
    if (!corpus[i].ruid().empty()) {
      return RoomId(corpus[i].ruid(), 0,
                    Walk(0, plan.hosts, i, corpus.size()).pass);
    }
  }
  return "none";
}

bool RunQueries(const FillPlan& plan, const std::string& db,
                const std::string& messages, int runs, bool& wrong) {
  const std::string dir = testing::MakeTempDir("search-bench-collector");
  const std::string address = absl::StrCat("127.0.0.1:", testing::FreePort());
  // Retention would delete the fill's oldest events while measuring.
  testing::WriteFile(
      dir + "/collector.yaml",
      absl::StrCat(testing::PlaintextCollectorConfig(address, db),
                   "retention:\n  logs: 3650d\n"));
  std::unique_ptr<testing::ChildProcess> collector =
      testing::StartWithConfig(dir, "collector");
  if (!testing::PollUntil(absl::Minutes(5), [&] {
        return testing::RunCommand(testing::EroomctlArgv(address, {"hosts"}))
                   .exit_code == 0;
      })) {
    std::cerr << "the collector did not answer; its log:\n" << collector->Log();
    return false;
  }
  WaitUntilIdle(collector->pid());
  const std::vector<v1::LogEvent>& corpus = RealisticLogEvents(100'000);
  const std::string type = CommonEventType(corpus);
  const std::string ruid = StoredRoom(corpus, plan);
  const std::string search_goal = "p50 <= 50 ms, p99 <= 200 ms";
  QueryRunner runner(address, messages, runs);
  bool ok = runner.MeasureFloor();
  for (const Needle& needle : kNeedles) {
    ok = ok &&
         runner.Logs(
             absl::StrCat("search ", needle.word, " (", needle.what, ")"),
             {"--grep", needle.word}, search_goal, needle.word, kNeedlesEach);
  }
  ok =
      ok &&
      runner.Logs(absl::StrCat("search ", kCommonKoreanWord,
                               " (common two-character Korean word)"),
                  {"--grep", kCommonKoreanWord}, search_goal,
                  kCommonKoreanWord) &&
      runner.Logs(
          absl::StrCat("search ", kCommonWord, " --limit 50 (common word)"),
          {"--grep", kCommonWord, "--limit", "50"}, search_goal, kCommonWord) &&
      runner.Logs("--level ERROR --since 1h",
                  {"--level", "error", "--since", "1h"}, "p50 <= 20 ms") &&
      runner.Logs(absl::StrCat("--type ", type, " --limit 100"),
                  {"--type", type, "--limit", "100"}, "p50 <= 20 ms") &&
      runner.Logs(absl::StrCat("--ruid ", ruid), {"--ruid", ruid},
                  "p50 <= 20 ms") &&
      runner.ReportDaily(plan, db);
  wrong = runner.wrong();
  testing::StopChildren({collector.get()});
  if (!ok) std::cerr << "collector log:\n" << collector->Log();
  std::filesystem::remove_all(dir);
  return ok;
}

// Stores `events` more corpus events now, in transactions of
// kEventsPerTransaction, continuing each host's sequence; events per s.
double IngestRate(collector::Storage& storage, int hosts, int64_t events,
                  std::vector<uint64_t>& next_sequence) {
  const std::vector<v1::LogEvent>& corpus = RealisticLogEvents(100'000);
  const auto start = std::chrono::steady_clock::now();
  for (int64_t first = 0; first < events; first += kEventsPerTransaction) {
    std::vector<AgentBatch> batches(hosts);
    for (int host = 0; host < hosts; ++host) {
      batches[host].agent_id = AgentId(host);
    }
    const int64_t time_ms = absl::ToUnixMillis(absl::Now());
    for (int64_t i = first; i < std::min(events, first + kEventsPerTransaction);
         ++i) {
      const int host = static_cast<int>(i % hosts);
      v1::Event* event = batches[host].batch->add_events();
      event->set_sequence(next_sequence[host]++);
      *event->mutable_log() = corpus[next_sequence[host] % corpus.size()];
      event->mutable_log()->set_time_unix_ms(time_ms);
    }
    if (!storage
             .Apply(collector::BuildStoredBatch(std::move(batches), {},
                                                absl::Now()))
             .ok()) {
      return 0;
    }
  }
  return static_cast<double>(events) / SecondsSince(start);
}

bool MeasureIngest(const std::string& db, int hosts, int64_t events) {
  absl::StatusOr<std::unique_ptr<collector::Storage>> storage =
      collector::OpenSqliteStorage({.path = db});
  if (!storage.ok()) {
    std::cerr << "cannot open " << db << ": " << storage.status() << "\n";
    return false;
  }
  std::vector<uint64_t> next_sequence;
  for (int host = 0; host < hosts; ++host) {
    absl::StatusOr<uint64_t> last =
        (*storage)->LastStoredSequence(AgentId(host));
    if (!last.ok()) return false;
    next_sequence.push_back(*last + 1);
  }
  // Alone before and after, against the page cache's state drifting (the
  // copy's writeback, the index's pages read in).
  const double alone_before =
      IngestRate(**storage, hosts, events, next_sequence);

  std::atomic<bool> ingesting = true;
  std::atomic<int64_t> queries = 0;
  std::atomic<bool> query_failed = false;
  std::thread reader([&] {
    v1::QueryLogsRequest search;
    search.set_contains(kCommonKoreanWord);
    search.set_limit(100);
    v1::QueryLogsRequest errors;
    errors.set_min_level(v1::ERROR);
    errors.set_limit(100);
    while (ingesting) {
      const v1::QueryLogsRequest& request = queries % 2 == 0 ? search : errors;
      if (!(*storage)->QueryLogs(request, {}).ok()) query_failed = true;
      ++queries;
    }
  });
  const auto start = std::chrono::steady_clock::now();
  const double beside = IngestRate(**storage, hosts, events, next_sequence);
  const double seconds = SecondsSince(start);
  ingesting = false;
  reader.join();
  const double alone_after =
      IngestRate(**storage, hosts, events, next_sequence);
  const double alone = (alone_before + alone_after) / 2;
  std::cout << absl::StrFormat(
      "ingest (Storage::Apply, transactions of %d): %.0f events/s alone "
      "(%.0f before, %.0f after); %.0f events/s with QueryLogs beside it (%d "
      "queries, %.1f/s: '%s' and --level ERROR in turn); ratio %.2f\n",
      kEventsPerTransaction, alone, alone_before, alone_after, beside,
      queries.load(), static_cast<double>(queries) / seconds, kCommonKoreanWord,
      alone > 0 ? beside / alone : 0);
  if (alone_before == 0 || alone_after == 0 || beside == 0 || query_failed) {
    std::cerr << "storing or querying failed during the ingest measure\n";
    return false;
  }
  return true;
}

// Copies the closed store at `from` (the database and its search index,
// with their WALs) to `to`; `to`, or empty if that failed.
std::string CopyStore(const std::string& from, const std::string& to) {
  const auto start = std::chrono::steady_clock::now();
  for (const auto& [source, target] :
       {std::pair(from, to), std::pair(collector::SearchIndexPath(from),
                                       collector::SearchIndexPath(to))}) {
    for (const char* suffix : {"", "-wal"}) {
      std::error_code error;
      if (!std::filesystem::exists(source + suffix)) continue;
      std::filesystem::copy_file(source + suffix, target + suffix, error);
      if (error) {
        std::cerr << "cannot copy " << source << suffix << ": "
                  << error.message() << "\n";
        return "";
      }
    }
  }
  // Written back now rather than during the measure.
  sync();
  std::cout << absl::StrFormat(
      "ingest is measured on a copy of the database (%.1f s to copy)\n",
      SecondsSince(start));
  return to;
}

int Run(int64_t events, int hosts, int runs, std::string db, bool keep) {
  std::cout << "load at start: " << LoadAverage() << ", "
            << std::thread::hardware_concurrency() << " cores\n";
  std::string temp_dir;
  if (db.empty()) {
    temp_dir = testing::MakeTempDir("search-bench");
    db = temp_dir + "/eroom.db";
  }
  const std::string plan_path = db + ".fill";
  const std::string messages = db + ".messages.txt";
  FillPlan plan;
  const bool reuse = std::filesystem::exists(db);
  if (reuse) {
    std::optional<FillPlan> kept = FillPlan::Parse(
        std::filesystem::exists(plan_path) ? testing::ReadFile(plan_path) : "");
    if (!kept || !std::filesystem::exists(messages)) {
      std::cerr << db << " is not a completed fill (" << plan_path << " and "
                << messages << " are made at its end): remove it to fill "
                << "again\n";
      return 1;
    }
    plan = *kept;
    std::cout << absl::StrFormat(
        "reusing %s: %d events on %d hosts, %d of them on %s (UTC), filled "
        "up to %s\n",
        db, plan.events, plan.hosts, plan.day_events,
        absl::FormatCivilTime(plan.day),
        absl::FormatTime(absl::FromUnixMillis(plan.end_unix_ms)));
  } else {
    const absl::Time now = absl::Now();
    plan = {.events = events,
            .hosts = hosts,
            .day = absl::ToCivilDay(now, absl::UTCTimeZone()) - 1,
            .day_events = std::min(kMaxDayEvents, events / 10),
            .end_unix_ms = absl::ToUnixMillis(now)};
    std::filesystem::create_directories(
        std::filesystem::path(db).parent_path());
  }
  {
    absl::StatusOr<std::unique_ptr<collector::Storage>> storage =
        collector::OpenSqliteStorage({.path = db});
    if (!storage.ok()) {
      std::cerr << "cannot open " << db << ": " << storage.status() << "\n";
      return 1;
    }
    if (!reuse) {
      if (!Fill(plan, **storage, messages)) return 1;
      testing::WriteFile(plan_path, plan.Text());
    }
    if (!WaitForIndex(db)) return 1;
  }
  PrintSizes(db, plan.events);

  bool wrong = false;
  if (!RunQueries(plan, db, messages, runs, wrong)) return 1;
  // A kept database stays as filled: more events would change what the
  // next run measures.
  const std::string ingest_dir =
      temp_dir.empty() ? testing::MakeTempDir("search-bench-ingest") : "";
  const std::string ingest_db =
      temp_dir.empty() ? CopyStore(db, ingest_dir + "/eroom.db") : db;
  const bool ingested = !ingest_db.empty() &&
                        MeasureIngest(ingest_db, plan.hosts,
                                      std::min(kMaxIngestEvents, plan.events));
  if (!ingest_dir.empty()) std::filesystem::remove_all(ingest_dir);
  if (!ingested) return 1;
  std::cout << "load at end: " << LoadAverage() << "\n";
  if (!temp_dir.empty() && !keep) {
    std::filesystem::remove_all(temp_dir);
  } else if (!temp_dir.empty()) {
    std::cout << "kept " << temp_dir << "\n";
  }
  if (wrong) {
    std::cout << "FAILED: a needle search printed the wrong number of "
                 "events\n";
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace eroom::bench

int main(int argc, char** argv) {
  CLI::App app{
      "log searches and reports through eroomctl on a large database, beside "
      "grep and sqlite3"};
  int64_t events = 10'000'000;
  int hosts = 8;
  int runs = 10;
  std::string db;
  bool keep = false;
  app.add_option("--events", events,
                 "log events to fill the database with (default 10,000,000)")
      ->check(CLI::Range(int64_t{10'000}, int64_t{1'000'000'000}));
  app.add_option("--hosts", hosts, "hosts the events come from (default 8)")
      ->check(CLI::Range(1, 1000));
  app.add_option("--runs", runs, "timed runs of each command (default 10)")
      ->check(CLI::Range(1, 1000));
  app.add_option("--db", db,
                 "the database: reused as is if it is a completed fill, else "
                 "filled and kept (default a temporary one)");
  app.add_flag("--keep", keep, "keep the temporary directory");
  CLI11_PARSE(app, argc, argv);
  return eroom::bench::Run(events, hosts, runs, db, keep);
}
