// The agent's log pipeline on one core, as the tailer runs it on each chunk
// it reads: split lines, assemble multi-line events (UTF-8 repair, header
// parse), classify with field extraction, attach ruids, batch the events.
// No network, no spool. Beside it, in the same run, `grep -c ERROR` on the
// same file: the ratio says what understanding the log costs over scanning
// it.
//
//   log_pipeline_bench --benchmark_filter=1M    # the 1,000,000-line figure
//   log_pipeline_bench --benchmark_filter=small # what CI runs

#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "agent/classifier.h"
#include "agent/log_event_assembler.h"
#include "agent/log_event_batch.h"
#include "agent/log_header_parser.h"
#include "agent/log_line_splitter.h"
#include "agent/room_tracker.h"
#include "benchmark/benchmark.h"
#include "tests/bench/temp_log_file.h"

namespace eroom::bench {
namespace {

namespace v1 = ::eroom::monitor::v1;
using agent::Classifier;
using agent::LogEventAssembler;
using agent::LogFileDate;
using agent::LogHeaderParser;
using agent::LogLine;
using agent::LogLineSplitter;
using agent::RoomTracker;

// As the tailer configures it.
constexpr size_t kReadChunkBytes = 64 * 1024;
constexpr size_t kMaxEventBytes = 64 * 1024;

struct PipelineTotals {
  uint64_t lines = 0;
  uint64_t events = 0;
  uint64_t classified = 0;
  uint64_t with_ruid = 0;
};

// What the tailer does for one file read from its beginning to its end.
PipelineTotals RunPipeline(const std::string& path,
                           const LogHeaderParser& parser,
                           const Classifier& classifier) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) std::abort();
  LogLineSplitter splitter(kMaxEventBytes);
  LogEventAssembler assembler(path, parser, kMaxEventBytes);
  RoomTracker rooms;
  LogFileDate file_date;
  file_date.named_day = agent::DayFromLogFileName(path);
  file_date.modified = absl::Now();
  const absl::Time now = absl::Now();
  std::string buffer(kReadChunkBytes, '\0');
  // The events of one chunk, as the tailer commits them together.
  agent::LogEventBatch batch;

  PipelineTotals totals;
  auto emit = [&](v1::LogEvent&& event) {
    classifier.Classify(event);
    rooms.Assign(event);
    totals.classified += !event.event_type().empty();
    totals.with_ruid += !event.ruid().empty();
    batch.Add(std::move(event));
  };
  auto add_line = [&](const LogLine& line) {
    ++totals.lines;
    assembler.AddLine(line, file_date, now, emit);
  };
  while (true) {
    const ssize_t n = read(fd, buffer.data(), buffer.size());
    if (n <= 0) break;
    splitter.Append(std::string_view(buffer.data(), n), add_line);
    totals.events += batch.size();
    batch.Clear();
  }
  splitter.FlushPartial(add_line);
  assembler.Flush(emit);
  totals.events += batch.size();
  close(fd);
  return totals;
}

struct GrepTimes {
  double wall_seconds = 0;
  double cpu_seconds = 0;
};

// `grep -c ERROR path`: the fastest of a few runs. Its output goes to a
// pipe, not /dev/null: GNU grep stops at the first match when its output is
// discarded.
GrepTimes TimeGrep(const std::string& path) {
  GrepTimes best{1e30, 1e30};
  for (int run = 0; run < 3; ++run) {
    int output[2];
    if (pipe2(output, O_CLOEXEC) != 0) std::abort();
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, output[1], STDOUT_FILENO);
    const char* argv[] = {"grep", "-c", "ERROR", path.c_str(), nullptr};
    const absl::Time start = absl::Now();
    pid_t pid;
    if (posix_spawn(&pid, "/usr/bin/grep", &actions, nullptr,
                    const_cast<char* const*>(argv), environ) != 0) {
      std::abort();
    }
    close(output[1]);
    char count[64];
    while (read(output[0], count, sizeof(count)) > 0) {
    }
    int status;
    struct rusage usage;
    wait4(pid, &status, 0, &usage);
    const double wall = absl::ToDoubleSeconds(absl::Now() - start);
    close(output[0]);
    posix_spawn_file_actions_destroy(&actions);
    const double cpu = usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
                       (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
    best.wall_seconds = std::min(best.wall_seconds, wall);
    best.cpu_seconds = std::min(best.cpu_seconds, cpu);
  }
  return best;
}

double ThreadCpuSeconds() {
  timespec now;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return now.tv_sec + now.tv_nsec / 1e9;
}

void BM_Pipeline(benchmark::State& state, uint64_t lines) {
  const TempLogFile& log = GeneratedLogFile(lines);
  const LogHeaderParser parser(absl::UTCTimeZone());
  const Classifier classifier =
      *Classifier::Create(agent::DefaultClassificationRules());

  PipelineTotals totals;
  double wall_seconds = 0;
  double cpu_seconds = 0;
  for (auto _ : state) {
    const absl::Time start = absl::Now();
    const double cpu_start = ThreadCpuSeconds();
    totals = RunPipeline(log.path, parser, classifier);
    cpu_seconds += ThreadCpuSeconds() - cpu_start;
    wall_seconds += absl::ToDoubleSeconds(absl::Now() - start);
  }
  const double iterations = static_cast<double>(state.iterations());

  const GrepTimes grep = TimeGrep(log.path);
  using benchmark::Counter;
  state.counters["lines/s"] =
      Counter(static_cast<double>(totals.lines) * iterations / wall_seconds);
  state.counters["MB/s"] =
      Counter(static_cast<double>(log.bytes) * iterations / wall_seconds / 1e6);
  state.counters["events"] = Counter(static_cast<double>(totals.events));
  state.counters["classified"] =
      Counter(static_cast<double>(totals.classified));
  state.counters["with_ruid"] = Counter(static_cast<double>(totals.with_ruid));
  state.counters["grep_MB/s"] =
      Counter(static_cast<double>(log.bytes) / grep.wall_seconds / 1e6);
  // How many times longer than grep the pipeline takes, on the clock and in
  // CPU time (the latter is steadier on a busy machine).
  state.counters["x_grep_wall"] =
      Counter(wall_seconds / iterations / grep.wall_seconds);
  state.counters["x_grep_cpu"] =
      Counter(cpu_seconds / iterations / grep.cpu_seconds);
}

BENCHMARK_CAPTURE(BM_Pipeline, small, 20'000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_Pipeline, 1M, 1'000'000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace eroom::bench

BENCHMARK_MAIN();
