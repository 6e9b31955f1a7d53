// eroom-alert-latency: how long from an ERROR event appended to
// logs/server.log to the webhook POST that tells of it, through the real
// eroom-agent and eroom-collector with the shipped rules and the default
// settings, beside the runbook's own alert path measured on the same writes:
// `tail -F logs/server.log` and a grep for ERROR (what the operators' alert
// script does before it mails).
//
//   eroom-alert-latency [--trials N]   (the binaries of this build)
//
// Each trial appends one event in one write(2), as logback does: every
// other one is an ERROR line with a 6-line stack trace. Each event has a
// message shape of its own (a word of letters, which masking leaves alone),
// so each is a new alert of the grouped new-ERROR-lines rule.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "tests/bench/bench_figures.h"
#include "tests/bench/latency_samples.h"
#include "tests/bench/timed_lines.h"
#include "tests/integration/process_harness.h"
#include "tests/integration/webhook_sink.h"

namespace eroom::bench {
namespace {

using ::eroom::testing::ChildProcess;
using ::eroom::testing::WebhookSink;

constexpr absl::Duration kTrialTimeout = absl::Seconds(10);

// A word of letters that the message-shape masking keeps (no hex digits).
std::string Marker(int trial) {
  std::string word = "zq";
  do {
    word += static_cast<char>('g' + trial % 20);
    trial /= 20;
  } while (trial > 0);
  return word;
}

std::string ErrorEvent(const std::string& marker, bool with_trace) {
  const absl::Time now = absl::Now();
  std::string event = absl::StrCat(
      absl::FormatTime("%Y-%m-%d %H:%M:%E3S", now, absl::LocalTimeZone()),
      " [pool-1-thread-4] ERROR c.f.eroom.service.RoomServiceImpl   : "
      "benchmark failure ",
      marker, "\n");
  if (with_trace) {
    absl::StrAppend(&event,
                    "java.lang.IllegalStateException: benchmark failure ",
                    marker, "\n");
    for (int frame = 0; frame < 5; ++frame) {
      absl::StrAppend(&event,
                      "\tat com.febeeso.eroom.service.RoomServiceImpl.step",
                      frame, "(RoomServiceImpl.java:", 100 + frame, ")\n");
    }
  }
  return event;
}

// When the first POST mentioning `marker` arrived.
std::optional<absl::Time> WaitForPost(const WebhookSink& sink,
                                      const std::string& marker,
                                      absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  size_t seen = 0;
  while (true) {
    std::vector<WebhookSink::Request> requests = sink.Requests();
    for (; seen < requests.size(); ++seen) {
      if (absl::StrContains(requests[seen].body, marker)) {
        return requests[seen].received;
      }
    }
    if (absl::Now() >= deadline) return std::nullopt;
    sink.WaitForRequests(seen + 1, deadline - absl::Now());
  }
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

int Run(const std::string& dir, int trials) {
  const std::string log = dir + "/eroom/logs/server.log";
  std::filesystem::create_directories(dir + "/eroom/logs");
  testing::WriteFile(log, "");
  WebhookSink sink;
  testing::WriteFile(dir + "/hook.url", sink.Url("/hook"));
  const std::string collector_address =
      absl::StrCat("127.0.0.1:", testing::FreePort());
  testing::WriteFile(
      dir + "/collector.yaml",
      absl::StrCat(testing::PlaintextCollectorConfig(collector_address,
                                                     dir + "/db/eroom.db"),
                   "rules_files: [", EROOM_SOURCE_DIR,
                   "/deploy/rules/*.yaml]\n", "notifications:\n  receivers:\n",
                   "    - {name: bench, type: webhook, url_file: hook.url}\n",
                   "  default_receivers: [bench]\n"));
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

  // A first event, not counted, shows the whole path is up.
  const std::string warm_up = Marker(trials);
  bool ready = false;
  for (int attempt = 0; attempt < 30 && !ready; ++attempt) {
    AppendInOneWrite(log, ErrorEvent(warm_up, false));
    ready = WaitForPost(sink, warm_up, absl::Seconds(1)).has_value();
  }
  if (!ready) {
    std::cerr << "no webhook POST within 30 s; collector log:\n"
              << collector.Log() << "agent log:\n"
              << agent.Log();
    return 1;
  }

  LatencySamples ours, reference;
  int missed = 0;
  for (int trial = 0; trial < trials; ++trial) {
    const std::string marker = Marker(trial);
    const std::string event = ErrorEvent(marker, trial % 2 == 1);
    const absl::Time written = absl::Now();
    AppendInOneWrite(log, event);
    std::optional<absl::Time> posted = WaitForPost(sink, marker, kTrialTimeout);
    std::optional<std::pair<std::string, absl::Time>> grepped =
        tail.WaitFor(marker, kTrialTimeout);
    if (!posted.has_value() || !grepped.has_value()) {
      ++missed;
      continue;
    }
    ours.Add(*posted - written);
    reference.Add(grepped->second - written);
    absl::SleepFor(absl::Milliseconds(20));
  }
  testing::StopChildren({&agent, &collector});

  std::cout << absl::StrFormat(
      "ERROR event appended -> webhook POST received, %d trials (%d missed), "
      "load %s, %u cores\n",
      trials, missed, LoadAverage(), std::thread::hardware_concurrency());
  std::cout << "                       p50 ms   p90 ms   p99 ms   max ms\n";
  std::cout << absl::StrFormat("  eroom-monitor      %8.1f %8.1f %8.1f %8.1f\n",
                               ours.QuantileMs(0.5), ours.QuantileMs(0.9),
                               ours.QuantileMs(0.99), ours.MaxMs());
  std::cout << absl::StrFormat("  tail -F | grep     %8.1f %8.1f %8.1f %8.1f\n",
                               reference.QuantileMs(0.5),
                               reference.QuantileMs(0.9),
                               reference.QuantileMs(0.99), reference.MaxMs());
  std::cout << absl::StrFormat(
      "  eroom-monitor / tail -F | grep: p50 %.1fx (+%.1f ms), p99 %.1fx "
      "(+%.1f ms); goal: p50 <= 100 ms, p99 <= 500 ms\n",
      ours.QuantileMs(0.5) / reference.QuantileMs(0.5),
      ours.QuantileMs(0.5) - reference.QuantileMs(0.5),
      ours.QuantileMs(0.99) / reference.QuantileMs(0.99),
      ours.QuantileMs(0.99) - reference.QuantileMs(0.99));
  return missed == 0 ? 0 : 1;
}

}  // namespace
}  // namespace eroom::bench

int main(int argc, char** argv) {
  CLI::App app{"ERROR line -> webhook latency through agent and collector"};
  int trials = 100;
  app.add_option("--trials", trials, "events measured (default 100)")
      ->check(CLI::Range(1, 100000));
  CLI11_PARSE(app, argc, argv);
  const std::string dir = eroom::testing::MakeTempDir("alert-latency");
  const int status = eroom::bench::Run(dir, trials);
  // Run's processes are stopped by now.
  eroom::testing::RemoveUnlessFailed(dir, status != 0);
  return status;
}
