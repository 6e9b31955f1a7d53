// `eroomctl logs -f` against the real agent and collector: the backlog,
// then live events; a filter applied to live events; and a follow that
// outlives collector restarts (killed and stopped) while events keep
// coming, printing every event exactly once.
#include <signal.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/integration/process_harness.h"

namespace eroom::testing {
namespace {

using ::nlohmann::json;

constexpr char kMarker[] = "followed line ";
constexpr absl::Duration kDeadline = absl::Seconds(60);

class EroomctlFollowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("follow");
    std::filesystem::create_directories(dir_ + "/eroom/logs");
    collector_address_ = absl::StrCat("127.0.0.1:", FreePort());
    WriteFile(dir_ + "/collector.yaml",
              PlaintextCollectorConfig(collector_address_, dir_ + "/eroom.db"));
    WriteFile(dir_ + "/agent.yaml",
              absl::StrCat(
                  "agent:\n  id: follow-host\n  state_dir: ", dir_, "/state\n",
                  "eroom:\n  dir: ", dir_, "/eroom\n",
                  "  url: http://127.0.0.1:", FreePort(), "\n",
                  "logs:\n  start_at: beginning\n  poll_interval: 20ms\n",
                  "  multiline_timeout: 100ms\n",
                  "resources:\n  interval: 1h\n", "probes:\n  interval: 1h\n",
                  "collector:\n  address: ", collector_address_,
                  "\n  insecure: true\n", "  reconnect_initial: 20ms\n",
                  "  reconnect_max: 200ms\n", "  batch_max_delay: 20ms\n"));
    StartCollector();
    agent_ = StartWithConfig(dir_, "agent");
  }

  void TearDown() override {
    StopChildren({follow_.get(), agent_.get(), collector_.get()});
    if (HasFailure()) {
      std::cerr << "--- follow output (tail)\n"
                << Tail(dir_ + "/follow.out") << "\n--- collector log (tail)\n"
                << Tail(dir_ + "/collector.out") << "\n--- agent log (tail)\n"
                << Tail(dir_ + "/agent.out") << "\n";
    }
  }

  static std::string Tail(const std::string& path) {
    std::string text = ReadFile(path);
    return text.size() > 4000 ? text.substr(text.size() - 4000) : text;
  }

  void StartCollector() { collector_ = StartWithConfig(dir_, "collector"); }

  // Appends ERoom lines [first, last) at `level` to server.log.
  void WriteLines(int first, int last, const std::string& level = "INFO") {
    std::ofstream out(dir_ + "/eroom/logs/server.log", std::ios::app);
    for (int n = first; n < last; ++n) {
      out << absl::StrFormat(
          "2026-11-26 10:%02d:%02d.%03d [pool-2-thread-1] %-5s "
          "c.f.e.s.queue.RoomRequestQueueManager    : %s%d\n",
          (n / 60000) % 60, (n / 1000) % 60, n % 1000, level, kMarker, n);
    }
  }

  // How many events with the marker the collector holds.
  int StoredCount() {
    CommandResult result = RunCommand(EroomctlArgv(
        collector_address_,
        {"-o", "json", "logs", "--grep", kMarker, "--limit", "10000"}));
    if (result.exit_code != 0) return -1;
    json logs = json::parse(result.out, nullptr, false);
    if (!logs.is_object() || !logs.contains("events")) return 0;
    return static_cast<int>(logs["events"].size());
  }

  void StartFollow(std::vector<std::string> args) {
    args.insert(args.begin(), {"-o", "json", "logs", "-f"});
    follow_ = std::make_unique<ChildProcess>(
        EroomctlArgv(collector_address_, args), dir_ + "/follow.out");
  }

  // The line numbers the follow printed, in order (its output holds
  // stderr too: lines that are not JSON objects are left out).
  std::vector<int> Followed() {
    std::vector<int> numbers;
    std::vector<std::string> lines =
        absl::StrSplit(ReadFile(dir_ + "/follow.out"), '\n');
    lines.pop_back();  // Empty, or a line still being written.
    for (const std::string& line : lines) {
      if (!absl::StartsWith(line, "{")) continue;
      json event = json::parse(line, nullptr, false);
      EXPECT_TRUE(event.is_object()) << line;
      if (!event.is_object()) continue;
      std::string message = event["event"]["message"];
      int n;
      const size_t at = message.find(kMarker);
      if (at != std::string::npos &&
          absl::SimpleAtoi(message.substr(at + strlen(kMarker)), &n)) {
        numbers.push_back(n);
      }
    }
    return numbers;
  }

  bool FollowedCount(size_t count) {
    return PollUntil(kDeadline, [&] { return Followed().size() >= count; });
  }

  // Ctrl-C ends the follow with exit status 0.
  void Interrupt() {
    follow_->Signal(SIGINT);
    EXPECT_EQ(follow_->Wait(absl::Seconds(10)), 0);
  }

  static std::vector<int> Range(int first, int last) {
    std::vector<int> numbers;
    for (int n = first; n < last; ++n) numbers.push_back(n);
    return numbers;
  }

  std::string dir_, collector_address_;
  std::unique_ptr<ChildProcess> collector_, agent_, follow_;
};

TEST_F(EroomctlFollowTest, PrintsTheBacklogThenNewEvents) {
  WriteLines(0, 20);
  ASSERT_TRUE(PollUntil(kDeadline, [&] { return StoredCount() == 20; }));
  StartFollow({"--grep", kMarker, "--limit", "5"});
  ASSERT_TRUE(FollowedCount(5));
  EXPECT_EQ(Followed(), Range(15, 20));
  WriteLines(20, 40);
  ASSERT_TRUE(FollowedCount(25)) << Followed().size();
  // Nothing more arrives, and nothing twice.
  absl::SleepFor(absl::Milliseconds(300));
  std::vector<int> expected = Range(15, 40);
  EXPECT_EQ(Followed(), expected);
  Interrupt();
}

TEST_F(EroomctlFollowTest, TheFilterAppliesToLiveEvents) {
  StartFollow({"--grep", kMarker, "--level", "ERROR"});
  WriteLines(0, 10, "INFO");
  WriteLines(10, 13, "ERROR");
  WriteLines(13, 20, "WARN");
  ASSERT_TRUE(PollUntil(kDeadline, [&] { return StoredCount() == 20; }));
  ASSERT_TRUE(FollowedCount(3));
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(Followed(), Range(10, 13));
  Interrupt();
}

TEST_F(EroomctlFollowTest, EveryEventOnceAcrossCollectorRestarts) {
  constexpr int kTotal = 3000;
  WriteLines(0, 100);
  ASSERT_TRUE(PollUntil(kDeadline, [&] { return StoredCount() == 100; }));
  StartFollow({"--grep", kMarker, "--limit", "100"});
  ASSERT_TRUE(FollowedCount(100));
  std::thread writer([&] {
    for (int n = 100; n < kTotal; n += 50) {
      WriteLines(n, n + 50);
      absl::SleepFor(absl::Milliseconds(25));
    }
  });
  // Killed mid-stream, then stopped in order, while lines keep coming.
  absl::SleepFor(absl::Milliseconds(500));
  collector_->Signal(SIGKILL);
  collector_->Wait(absl::Seconds(10));
  absl::SleepFor(absl::Milliseconds(300));
  StartCollector();
  absl::SleepFor(absl::Milliseconds(700));
  collector_->Signal(SIGTERM);
  EXPECT_EQ(collector_->Wait(absl::Seconds(5)), 0);
  StartCollector();
  writer.join();
  ASSERT_TRUE(PollUntil(kDeadline, [&] { return StoredCount() == kTotal; }));
  ASSERT_TRUE(FollowedCount(kTotal)) << Followed().size();
  absl::SleepFor(absl::Milliseconds(300));
  const std::vector<int> followed = Followed();
  std::map<int, int> times;
  for (int n : followed) ++times[n];
  std::vector<int> missing, repeated;
  for (int n = 0; n < kTotal; ++n) {
    if (!times.contains(n)) missing.push_back(n);
    if (times[n] > 1) repeated.push_back(n);
  }
  EXPECT_THAT(missing, ::testing::IsEmpty());
  EXPECT_THAT(repeated, ::testing::IsEmpty());
  EXPECT_EQ(followed, Range(0, kTotal));
  // Said once, however often the collector went away.
  const std::string output = ReadFile(dir_ + "/follow.out");
  size_t said = 0;
  for (size_t at = output.find("lost the collector"); at != std::string::npos;
       at = output.find("lost the collector", at + 1)) {
    ++said;
  }
  EXPECT_EQ(said, 1u);
  Interrupt();
}

}  // namespace
}  // namespace eroom::testing
