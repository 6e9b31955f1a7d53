// Log delivery under torture: sequence-numbered lines written at full speed
// through rename rotation, copytruncate (with a copy the agent's globs skip,
// and with logrotate's dated copy, which they match), delete-and-recreate,
// rotation
// while the agent is stopped, and the agent killed with SIGKILL at random
// moments. Every line must be stored exactly once, in order per file.
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <ostream>
#include <random>
#include <set>
#include <string>
#include <thread>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/integration/process_harness.h"

namespace eroom::testing {
namespace {

using ::nlohmann::json;

constexpr int kLines = 6000;
constexpr char kMarker[] = "torture line ";

enum class Rotation {
  kRename,
  kCopyTruncate,
  kCopyTruncateDated,
  kDeleteRecreate
};

// Names the case in test names and failure messages (GetParam() = Rename).
void PrintTo(Rotation rotation, std::ostream* out) {
  switch (rotation) {
    case Rotation::kRename:
      *out << "Rename";
      return;
    case Rotation::kCopyTruncate:
      *out << "CopyTruncate";
      return;
    case Rotation::kCopyTruncateDated:
      *out << "CopyTruncateDated";
      return;
    case Rotation::kDeleteRecreate:
      *out << "DeleteRecreate";
      return;
  }
  *out << "Rotation" << static_cast<int>(rotation);
}

// Writes numbered ERoom lines into logs/server.log, rotating every
// `rotate_every` lines the way `rotation` says.
class LogWriter {
 public:
  LogWriter(std::string logs_dir, Rotation rotation, int rotate_every)
      : logs_dir_(std::move(logs_dir)),
        rotation_(rotation),
        rotate_every_(rotate_every) {}

  void Write(int first, int last) {
    std::ofstream out = Open();
    for (int n = first; n < last; ++n) {
      if (n > 0 && n % rotate_every_ == 0) {
        last_ = n - 1;
        out.close();
        Rotate();
        out = Open();
      }
      out << absl::StrFormat(
          "2026-11-26 10:00:%02d.%03d [pool-2-thread-1] INFO  "
          "c.f.e.s.queue.RoomRequestQueueManager    : %s%d\n",
          (n / 1000) % 60, n % 1000, kMarker, n);
      // A multi-line event now and then, so checkpoints land mid-event.
      if (n % 97 == 0) out << "\tat frame.of(Line.java:" << n << ")\n";
      if (n % 50 == 0) out.flush();
      // Bursts at full speed, spread over a few seconds so that the agent
      // gets killed many times while the lines are being written.
      if (n % 100 == 99) absl::SleepFor(burst_pause_);
    }
  }

  std::string active() const { return logs_dir_ + "/server.log"; }

  void Rotate() {
    ++rotations_;
    std::string rotated = absl::StrFormat("%s/server.2026-10-%02d.log",
                                          logs_dir_, rotations_ % 28 + 1);
    switch (rotation_) {
      case Rotation::kRename:
        std::filesystem::rename(active(), rotated);
        break;
      case Rotation::kCopyTruncate:
        // Lines not read before the truncation exist only in the copy (the
        // known copytruncate gap), so let the agent catch up first. The
        // copy gets logrotate's naming, which the agent's globs skip.
        WaitUntilRead();
        std::filesystem::copy_file(
            active(), absl::StrCat(active(), ".", rotations_),
            std::filesystem::copy_options::overwrite_existing);
        std::filesystem::resize_file(active(), 0);
        break;
      case Rotation::kCopyTruncateDated:
        // logrotate's dateext: the globs match the copy, which holds what
        // the agent had not read yet, and what it had.
        std::filesystem::copy_file(active(), rotated);
        std::filesystem::resize_file(active(), 0);
        break;
      case Rotation::kDeleteRecreate:
        // Deleting lines nobody read yet loses them by definition.
        WaitUntilRead();
        std::filesystem::remove(active());
        break;
    }
  }

  void set_burst_pause(absl::Duration pause) { burst_pause_ = pause; }

  // Set by the test: true once the collector holds line `n`.
  std::function<bool(int)> stored;

 private:
  std::ofstream Open() {
    return std::ofstream(active(), std::ios::app | std::ios::binary);
  }
  void WaitUntilRead() {
    PollUntil(absl::Seconds(30), [&] { return stored && stored(last_); });
  }

  const std::string logs_dir_;
  const Rotation rotation_;
  const int rotate_every_;
  int rotations_ = 0;
  int last_ = 0;
  absl::Duration burst_pause_ = absl::ZeroDuration();
};

class LogDeliveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("delivery");
    logs_dir_ = dir_ + "/eroom/logs";
    std::filesystem::create_directories(logs_dir_);
    collector_address_ = absl::StrCat("127.0.0.1:", FreePort());
    WriteFile(dir_ + "/collector.yaml",
              absl::StrCat("listen: ", collector_address_, "\n",
                           "storage:\n  path: ", dir_, "/eroom.db\n",
                           kPlaintextCollectorConfig));
    WriteFile(dir_ + "/agent.yaml",
              absl::StrCat(
                  "agent:\n  id: torture\n  state_dir: ", dir_, "/state\n",
                  "eroom:\n  dir: ", dir_, "/eroom\n",
                  "  url: http://127.0.0.1:", FreePort(), "\n",
                  "logs:\n  start_at: beginning\n", "  poll_interval: 20ms\n",
                  "  multiline_timeout: 200ms\n",
                  "resources:\n  interval: 1h\n", "probes:\n  interval: 1h\n",
                  "collector:\n  address: ", collector_address_,
                  "\n  insecure: true\n", "  reconnect_initial: 20ms\n",
                  "  reconnect_max: 200ms\n", "  batch_max_delay: 20ms\n"));
    StartCollector();
    StartAgent();
  }

  void TearDown() override {
    if (HasFailure()) {
      std::cerr << "--- agent log (tail)\n"
                << Tail(agent_log()) << "\n"
                << "--- collector log (tail)\n"
                << Tail(dir_ + "/collector.out");
    }
  }

  static std::string Tail(const std::string& path) {
    std::string text = ReadFile(path);
    return text.size() > 4000 ? text.substr(text.size() - 4000) : text;
  }

  std::string agent_log() const { return dir_ + "/agent.out"; }

  void StartCollector() { collector_ = StartWithConfig(dir_, "collector"); }

  void StartAgent() {
    agent_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{BinaryPath("eroom-agent"), "--config",
                                 dir_ + "/agent.yaml"},
        agent_log());
  }

  // Line numbers the collector stored, with how often each was stored and
  // in which order per file; false if the query failed.
  bool Stored(std::map<int, int>* counts,
              std::map<std::string, std::vector<int>>* by_file) {
    CommandResult result = RunCommand(EroomctlArgv(
        collector_address_,
        {"-o", "json", "logs", "--grep", kMarker, "--limit", "10000"}));
    if (result.exit_code != 0) return false;
    json logs = json::parse(result.out, nullptr, false);
    if (!logs.is_object()) return false;
    counts->clear();
    if (by_file) by_file->clear();
    if (!logs.contains("events")) return true;
    // Newest first: walk backwards for sequence order.
    const json& events = logs["events"];
    for (auto it = events.rbegin(); it != events.rend(); ++it) {
      std::string message = (*it)["event"]["message"];
      size_t at = message.find(kMarker);
      int n;
      if (at == std::string::npos ||
          !absl::SimpleAtoi(
              message.substr(at + strlen(kMarker),
                             message.find('\n') - at - strlen(kMarker)),
              &n)) {
        continue;
      }
      ++(*counts)[n];
      if (by_file) {
        (*by_file)[(*it)["event"]["file"].get<std::string>()].push_back(n);
      }
    }
    return true;
  }

  void ExpectEveryLineExactlyOnce() {
    std::map<int, int> counts;
    std::map<std::string, std::vector<int>> by_file;
    bool complete = PollUntil(
        absl::Seconds(90),
        [&] { return Stored(&counts, nullptr) && counts.size() == kLines; },
        absl::Milliseconds(500));
    ASSERT_TRUE(Stored(&counts, &by_file));
    std::vector<int> missing, repeated;
    for (int n = 0; n < kLines; ++n) {
      if (!counts.contains(n))
        missing.push_back(n);
      else if (counts[n] > 1)
        repeated.push_back(n);
    }
    EXPECT_TRUE(complete) << counts.size() << " of " << kLines << " stored";
    EXPECT_THAT(missing, ::testing::IsEmpty());
    EXPECT_THAT(repeated, ::testing::IsEmpty());
    for (const auto& [file, lines] : by_file) {
      EXPECT_TRUE(std::is_sorted(lines.begin(), lines.end()))
          << "out of order in " << file;
    }
  }

  std::string dir_, logs_dir_, collector_address_;
  std::unique_ptr<ChildProcess> collector_, agent_;
};

class LogRotationTest : public LogDeliveryTest,
                        public ::testing::WithParamInterface<Rotation> {};

TEST_P(LogRotationTest, EveryLineOnceThroughRotationsAndKills) {
  LogWriter writer(logs_dir_, GetParam(), /*rotate_every=*/400);
  writer.set_burst_pause(absl::Milliseconds(60));
  writer.stored = [this](int n) {
    std::map<int, int> counts;
    return Stored(&counts, nullptr) && counts.contains(n);
  };
  absl::Notification written;
  std::thread writing([&] {
    writer.Write(0, kLines);
    written.Notify();
  });
  std::mt19937 random(GetParam() == Rotation::kRename ? 1 : 2);
  int kills = 0;
  while (!written.WaitForNotificationWithTimeout(
      absl::Milliseconds(std::uniform_int_distribution<>(100, 400)(random)))) {
    agent_->Signal(SIGKILL);
    agent_->Wait(absl::Seconds(5));
    ++kills;
    StartAgent();
  }
  writing.join();
  EXPECT_GE(kills, 3) << "the writer finished too soon to test anything";
  ExpectEveryLineExactlyOnce();
  RecordProperty("agent_kills", kills);
}

INSTANTIATE_TEST_SUITE_P(Rotations, LogRotationTest,
                         ::testing::Values(Rotation::kRename,
                                           Rotation::kCopyTruncate,
                                           Rotation::kCopyTruncateDated,
                                           Rotation::kDeleteRecreate),
                         ::testing::PrintToStringParamName());

TEST_F(LogDeliveryTest, RotationWhileTheAgentIsStopped) {
  LogWriter writer(logs_dir_, Rotation::kRename, /*rotate_every=*/kLines);
  writer.Write(0, kLines / 2);
  std::map<int, int> counts;
  ASSERT_TRUE(PollUntil(absl::Seconds(30), [&] {
    return Stored(&counts, nullptr) && !counts.empty();
  }));
  agent_->Signal(SIGTERM);
  ASSERT_TRUE(agent_->Wait(absl::Seconds(5)).has_value());
  // While it is down: more lines, a rename rotation, and a new file.
  writer.Write(kLines / 2, kLines * 3 / 4);
  writer.Rotate();
  writer.Write(kLines * 3 / 4, kLines);
  StartAgent();
  ExpectEveryLineExactlyOnce();
}

TEST_F(LogDeliveryTest, CollectorKilledMidStream) {
  LogWriter writer(logs_dir_, Rotation::kRename, /*rotate_every=*/1000);
  writer.set_burst_pause(absl::Milliseconds(60));
  // The lines go in four parts, each after one more kill than the last, so
  // that at least three kills land while lines are written however fast
  // the machine writes or restarts.
  constexpr int kParts = 4;
  absl::Mutex mu;
  int kills = 0;
  absl::Notification written;
  std::thread writing([&] {
    for (int part = 0; part < kParts; ++part) {
      {
        absl::MutexLock lock(&mu);
        const auto killed_enough = [&] { return kills >= part; };
        mu.Await(absl::Condition(&killed_enough));
      }
      writer.Write(kLines * part / kParts, kLines * (part + 1) / kParts);
    }
    written.Notify();
  });
  std::mt19937 random(3);
  while (!written.WaitForNotificationWithTimeout(
      absl::Milliseconds(std::uniform_int_distribution<>(300, 700)(random)))) {
    collector_->Signal(SIGKILL);
    collector_->Wait(absl::Seconds(5));
    {
      absl::MutexLock lock(&mu);
      ++kills;
    }
    StartCollector();
  }
  writing.join();
  ExpectEveryLineExactlyOnce();
}

TEST_F(LogDeliveryTest, CollectorDownForAWhileThenBack) {
  collector_->Signal(SIGTERM);
  ASSERT_TRUE(collector_->Wait(absl::Seconds(5)).has_value());
  // Everything written meanwhile waits in the agent's spool.
  LogWriter writer(logs_dir_, Rotation::kRename, /*rotate_every=*/1500);
  writer.Write(0, kLines);
  ASSERT_TRUE(PollUntil(absl::Seconds(30), [&] {
    return SpooledEvents(dir_ + "/state/agent-state.db") >= kLines;
  })) << "the agent did not spool the lines while the collector was down";
  StartCollector();
  ExpectEveryLineExactlyOnce();
}

TEST_F(LogDeliveryTest, CollectorStartedJustAfterTheAgentIsFoundAtOnce) {
  agent_->Signal(SIGTERM);
  ASSERT_TRUE(agent_->Wait(absl::Seconds(5)).has_value());
  collector_->Signal(SIGTERM);
  ASSERT_TRUE(collector_->Wait(absl::Seconds(5)).has_value());
  std::filesystem::remove(agent_log());
  StartAgent();
  ASSERT_TRUE(PollUntil(absl::Seconds(10), [&] {
    return ReadFile(agent_log()).find("unreachable") != std::string::npos;
  }));
  StartCollector();
  // Not after the agent's and the channel's backoffs have both run out.
  EXPECT_TRUE(PollUntil(absl::Seconds(3), [&] {
    return ReadFile(agent_log()).find("connected to collector") !=
           std::string::npos;
  }));
}

TEST_F(LogDeliveryTest, AgentStateDiskFullWhileTheCollectorIsDown) {
  agent_->Signal(SIGTERM);
  ASSERT_TRUE(agent_->Wait(absl::Seconds(5)).has_value());
  collector_->Signal(SIGTERM);
  ASSERT_TRUE(collector_->Wait(absl::Seconds(5)).has_value());
  // The agent's state lives on a small file system of its own, which
  // something else then fills up (as ERoom's own logs might).
  const std::string state = dir_ + "/state";
  std::filesystem::remove_all(state);
  std::filesystem::create_directories(state);
  if (mount("tmpfs", state.c_str(), "tmpfs", 0, "size=16m") != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs (needs root): " << strerror(errno);
  }
  absl::Cleanup unmount = [&] {
    if (agent_) agent_->Signal(SIGKILL);
    agent_.reset();
    umount2(state.c_str(), MNT_DETACH);
  };
  StartAgent();
  const std::string reserve = state + "/agent-state.db-reserve";
  ASSERT_TRUE(PollUntil(absl::Seconds(10),
                        [&] { return std::filesystem::exists(reserve); }));
  const std::string filler = state + "/filler";
  {
    const int fd = open(filler.c_str(), O_WRONLY | O_CREAT, 0600);
    ASSERT_GE(fd, 0);
    // The agent writes meanwhile: what was free a moment ago may be gone.
    int filled = ENOSPC;
    for (int attempt = 0; attempt < 10 && filled == ENOSPC; ++attempt) {
      struct statvfs fs;
      ASSERT_EQ(statvfs(state.c_str(), &fs), 0);
      const off_t leave = 512 << 10;
      ASSERT_EQ(ftruncate(fd, 0), 0);
      filled = posix_fallocate(
          fd, 0, static_cast<off_t>(fs.f_bavail * fs.f_frsize) - leave);
    }
    close(fd);
    ASSERT_EQ(filled, 0) << strerror(filled);
  }
  LogWriter writer(logs_dir_, Rotation::kRename, /*rotate_every=*/kLines);
  writer.Write(0, kLines);
  ASSERT_TRUE(PollUntil(absl::Seconds(30), [&] {
    return ReadFile(agent_log()).find("state file system full") !=
           std::string::npos;
  })) << "the agent never found its disk full";
  EXPECT_FALSE(std::filesystem::exists(reserve));
  ASSERT_TRUE(agent_->running()) << "the agent exited on a full disk";

  // Delivered events are deleted even though the disk is still full, and
  // the space they leave takes the rest of the lines.
  StartCollector();
  ExpectEveryLineExactlyOnce();
  EXPECT_TRUE(agent_->running());

  std::filesystem::remove(filler);
  std::ofstream(writer.active(), std::ios::app)
      << "2026-11-26 10:59:59.000 [main] INFO  c.f.e.Main : room again\n";
  EXPECT_TRUE(PollUntil(absl::Seconds(10), [&] {
    return std::filesystem::exists(reserve);
  })) << "the reserve was not taken back once there was room";
}

}  // namespace
}  // namespace eroom::testing
