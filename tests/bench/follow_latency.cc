// eroom-follow-latency: how long from a log event stored by the collector
// to `eroomctl logs -f` printing it, through the real eroom-agent,
// eroom-collector and eroomctl with default settings, beside the runbook's
// own way to watch the log measured on the same writes: `tail -F
// logs/server.log | grep`.
//
//   eroom-follow-latency [--events N] [--runs R]   (the binaries of this build)
//
// The collector stamps each event with the time it stored it
// (received_unix_ms, just before its transaction commits): stored ->
// printed is the time printed minus that stamp, on the same machine's
// clock, to the millisecond. Appended -> printed is shown as well, the same
// segment as the reference's.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "nlohmann/json.hpp"
#include "tests/bench/bench_figures.h"
#include "tests/bench/latency_samples.h"
#include "tests/bench/timed_lines.h"
#include "tests/integration/process_harness.h"

namespace eroom::bench {
namespace {

using ::eroom::testing::ChildProcess;

constexpr absl::Duration kEventTimeout = absl::Seconds(10);
constexpr char kWord[] = "followbench";

std::string InfoLine(const std::string& marker) {
  return absl::StrCat(
      absl::FormatTime("%Y-%m-%d %H:%M:%E3S", absl::Now(),
                       absl::LocalTimeZone()),
      " [pool-2-thread-1] INFO  c.f.e.s.queue.RoomRequestQueueManager    : ",
      kWord, " event ", marker, "\n");
}

void AppendInOneWrite(const std::string& file, const std::string& text) {
  const int fd = open(file.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0 || write(fd, text.data(), text.size()) !=
                    static_cast<ssize_t>(text.size())) {
    std::cerr << "cannot append to " << file << "\n";
    std::exit(1);
  }
  close(fd);
}

struct RunResult {
  LatencySamples stored_to_printed, appended_to_printed, appended_to_grepped;
  int missed = 0;
};

// Appends `events` events, one every 20 ms, each waited for in both
// outputs.
RunResult MeasureRun(int run, int events, const std::string& log,
                     TimedLines& follow, TimedLines& tail) {
  RunResult result;
  for (int event = 0; event < events; ++event) {
    const std::string marker = absl::StrCat("r", run, "e", event, "x");
    const absl::Time appended = absl::Now();
    AppendInOneWrite(log, InfoLine(marker));
    auto printed = follow.WaitFor(marker, kEventTimeout);
    auto grepped = tail.WaitFor(marker, kEventTimeout);
    nlohmann::json line =
        printed ? nlohmann::json::parse(printed->first, nullptr, false)
                : nlohmann::json();
    if (!grepped || !line.is_object() || !line.contains("received_unix_ms")) {
      ++result.missed;
      continue;
    }
    const absl::Time stored = absl::FromUnixMillis(
        std::stoll(line["received_unix_ms"].get<std::string>()));
    result.stored_to_printed.Add(printed->second - stored);
    result.appended_to_printed.Add(printed->second - appended);
    result.appended_to_grepped.Add(grepped->second - appended);
    absl::SleepFor(absl::Milliseconds(20));
  }
  return result;
}

void PrintRow(const char* name, LatencySamples& samples) {
  std::cout << absl::StrFormat("  %-34s %8.1f %8.1f %8.1f\n", name,
                               samples.QuantileMs(0.5),
                               samples.QuantileMs(0.99), samples.MaxMs());
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

int Run(const std::string& dir, int events, int runs) {
  const std::string log = dir + "/eroom/logs/server.log";
  std::filesystem::create_directories(dir + "/eroom/logs");
  testing::WriteFile(log, "");
  const std::string collector_address =
      absl::StrCat("127.0.0.1:", testing::FreePort());
  testing::WriteFile(dir + "/collector.yaml",
                     testing::PlaintextCollectorConfig(collector_address,
                                                       dir + "/db/eroom.db"));
  testing::WriteFile(
      dir + "/agent.yaml",
      testing::PlaintextAgentConfig("latency-host", dir, collector_address));
  ChildProcess collector({testing::BinaryPath("eroom-collector"), "--config",
                          dir + "/collector.yaml"},
                         dir + "/collector.out");
  ChildProcess agent(
      {testing::BinaryPath("eroom-agent"), "--config", dir + "/agent.yaml"},
      dir + "/agent.out");
  TimedLines tail({"tail", "-n", "0", "-F", log});
  TimedLines follow(testing::EroomctlArgv(
      collector_address,
      {"-o", "json", "logs", "-f", "--grep", kWord, "--limit", "1"}));

  // A first event, not counted, shows the whole path is up.
  bool ready = false;
  for (int attempt = 0; attempt < 30 && !ready; ++attempt) {
    const std::string marker = absl::StrCat("warmup", attempt, "x");
    AppendInOneWrite(log, InfoLine(marker));
    ready = follow.WaitFor(marker, absl::Seconds(1)).has_value();
  }
  if (!ready) {
    std::cerr << "eroomctl logs -f printed nothing within 30 s; collector "
                 "log:\n"
              << collector.Log() << "agent log:\n"
              << agent.Log();
    return 1;
  }

  std::vector<double> p50s, p99s, appended_p50s, appended_p99s, reference_p50s,
      reference_p99s;
  int missed = 0;
  for (int run = 0; run < runs; ++run) {
    RunResult result = MeasureRun(run, events, log, follow, tail);
    missed += result.missed;
    std::cout << absl::StrFormat(
        "run %d: %d events (%d missed), load %s, %u cores\n", run + 1, events,
        result.missed, LoadAverage(), std::thread::hardware_concurrency());
    std::cout << "                                       p50 ms   p99 ms   "
                 "max ms\n";
    PrintRow("stored -> eroomctl logs -f", result.stored_to_printed);
    PrintRow("appended -> eroomctl logs -f", result.appended_to_printed);
    PrintRow("appended -> tail -F | grep", result.appended_to_grepped);
    p50s.push_back(result.stored_to_printed.QuantileMs(0.5));
    p99s.push_back(result.stored_to_printed.QuantileMs(0.99));
    appended_p50s.push_back(result.appended_to_printed.QuantileMs(0.5));
    appended_p99s.push_back(result.appended_to_printed.QuantileMs(0.99));
    reference_p50s.push_back(result.appended_to_grepped.QuantileMs(0.5));
    reference_p99s.push_back(result.appended_to_grepped.QuantileMs(0.99));
  }
  testing::StopChildren({&agent, &collector});

  const double reference_p50 = Median(reference_p50s);
  const double reference_p99 = Median(reference_p99s);
  const double appended_p50 = Median(appended_p50s);
  const double appended_p99 = Median(appended_p99s);
  std::cout << absl::StrFormat(
      "median of %d runs: stored -> eroomctl logs -f p50 %.1f ms, p99 %.1f ms "
      "(goal: p99 <= 100 ms)\n"
      "  appended -> eroomctl logs -f p50 %.1f ms, p99 %.1f ms; "
      "tail -F | grep p50 %.1f ms, p99 %.1f ms; ratio p50 %.1fx, p99 %.1fx\n",
      runs, Median(p50s), Median(p99s), appended_p50, appended_p99,
      reference_p50, reference_p99,
      appended_p50 / std::max(reference_p50, 0.001),
      appended_p99 / std::max(reference_p99, 0.001));
  return missed == 0 ? 0 : 1;
}

}  // namespace
}  // namespace eroom::bench

int main(int argc, char** argv) {
  CLI::App app{"log event stored -> eroomctl logs -f latency"};
  int events = 200;
  int runs = 3;
  app.add_option("--events", events, "events measured per run (default 200)")
      ->check(CLI::Range(1, 100000));
  app.add_option("--runs", runs, "runs, whose medians are shown (default 3)")
      ->check(CLI::Range(1, 100));
  CLI11_PARSE(app, argc, argv);
  const std::string dir = eroom::testing::MakeTempDir("follow-latency");
  const int status = eroom::bench::Run(dir, events, runs);
  // Run's processes are stopped by now.
  eroom::testing::RemoveUnlessFailed(dir, status != 0);
  return status;
}
