// The agent's spool damaged while it holds lines the collector has not
// stored (the collector is down), with a rename rotation among them: the
// agent replaces its spool, asks the collector where each file's stored
// lines end, and resumes there. Every line still on disk is stored exactly
// once, whatever `logs.start_at` says, and the collector stores the
// agent's spool_replaced notice.
#include <signal.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "SQLiteCpp/Database.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/process_harness.h"

namespace eroom::testing {
namespace {

constexpr char kMarker[] = "damage line ";

class SpoolDamageTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("spool-damage");
    logs_dir_ = dir_ + "/eroom/logs";
    std::filesystem::create_directories(logs_dir_);
    WriteFile(logs_dir_ + "/server.log", "");
    address_ = absl::StrCat("127.0.0.1:", FreePort());
    WriteFile(dir_ + "/collector.yaml",
              absl::StrCat("listen: ", address_, "\n", "storage:\n  path: ",
                           db_path(), "\n", kPlaintextCollectorConfig));
    WriteFile(dir_ + "/agent.yaml",
              absl::StrCat(
                  "agent:\n  id: damaged\n  state_dir: ", dir_, "/state\n",
                  "eroom:\n  dir: ", dir_, "/eroom\n",
                  "  url: http://127.0.0.1:", FreePort(), "\n",
                  "logs:\n  start_at: ", GetParam(), "\n",
                  "  poll_interval: 20ms\n  multiline_timeout: 200ms\n",
                  "resources:\n  interval: 1h\n", "probes:\n  interval: 1h\n",
                  "collector:\n  address: ", address_, "\n  insecure: true\n",
                  "  reconnect_initial: 20ms\n  reconnect_max: 200ms\n",
                  "  batch_max_delay: 20ms\n"));
  }

  void TearDown() override {
    StopChildren({agent_.get(), collector_.get()});
    if (HasFailure()) {
      std::cerr << "--- agent log\n"
                << Tail(dir_ + "/agent.out") << "\n--- collector log\n"
                << Tail(dir_ + "/collector.out");
    }
  }

  static std::string Tail(const std::string& path) {
    std::string text = ReadFile(path);
    return text.size() > 6000 ? text.substr(text.size() - 6000) : text;
  }

  std::string db_path() const { return dir_ + "/eroom.db"; }
  std::string spool_path() const { return dir_ + "/state/agent-state.db"; }

  void StartCollector() {
    collector_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{BinaryPath("eroom-collector"), "--config",
                                 dir_ + "/collector.yaml"},
        dir_ + "/collector.out");
  }
  void StopCollector() {
    collector_->Signal(SIGTERM);
    ASSERT_TRUE(collector_->Wait(absl::Seconds(10)).has_value());
  }
  void StartAgent() {
    agent_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{BinaryPath("eroom-agent"), "--config",
                                 dir_ + "/agent.yaml"},
        dir_ + "/agent.out");
  }

  // Lines [first, last) appended to server.log, stamped with the time they
  // are written (the agent tells rotated files apart by it); a multi-line
  // event now and then, so that events end on their continuation lines.
  void Write(int first, int last) {
    std::ofstream out(logs_dir_ + "/server.log",
                      std::ios::app | std::ios::binary);
    for (int n = first; n < last; ++n) {
      out << absl::FormatTime("%Y-%m-%d %H:%M:%E3S", absl::Now(),
                              absl::LocalTimeZone())
          << " [pool-2-thread-1] INFO  c.f.e.s.queue.RoomRequestQueueManager"
             "    : "
          << kMarker << n << "\n";
      if (n % 97 == 0) out << "\tat frame.of(Line.java:" << n << ")\n";
    }
  }

  // logback's daily rename: server.log becomes a dated file the agent's
  // patterns still match, and a new server.log begins.
  void Rotate(const std::string& day) {
    std::filesystem::rename(logs_dir_ + "/server.log",
                            absl::StrCat(logs_dir_, "/server.", day, ".log"));
    WriteFile(logs_dir_ + "/server.log", "");
    // The next line is logged after the rotated file's last change, as at
    // midnight: a moment later, not in the same millisecond.
    absl::SleepFor(absl::Milliseconds(20));
  }

  // How often the collector stored each line; nullopt if it cannot tell.
  std::optional<std::map<int, int>> Stored() {
    try {
      SQLite::Database db(db_path(), SQLite::OPEN_READONLY);
      SQLite::Statement query(
          db, absl::StrCat("SELECT message FROM log_events WHERE message "
                           "LIKE '",
                           kMarker, "%'"));
      std::map<int, int> counts;
      while (query.executeStep()) {
        std::string message = query.getColumn(0).getString();
        ++counts[std::stoi(message.substr(strlen(kMarker)))];
      }
      return counts;
    } catch (const SQLite::Exception&) {
      return std::nullopt;
    }
  }

  bool AllStored(int lines) {
    std::optional<std::map<int, int>> counts = Stored();
    return counts.has_value() && counts->size() == static_cast<size_t>(lines);
  }

  int StoredNotices(const std::string& kind) {
    try {
      SQLite::Database db(db_path(), SQLite::OPEN_READONLY);
      SQLite::Statement query(
          db, "SELECT COUNT(*) FROM agent_notices WHERE kind = ?");
      query.bind(1, kind);
      query.executeStep();
      return query.getColumn(0).getInt();
    } catch (const SQLite::Exception&) {
      return 0;
    }
  }

  std::string dir_, logs_dir_, address_;
  std::unique_ptr<ChildProcess> collector_, agent_;
};

TEST_P(SpoolDamageTest, EveryLineOnceAndTheNoticeStored) {
  constexpr int kDelivered = 2000, kSpooled = 4000, kLines = 5000;
  StartCollector();
  StartAgent();
  // With start_at: end, lines written before the first scan are not read.
  ASSERT_TRUE(PollUntil(absl::Seconds(30), [&] {
    try {
      SQLite::Database state(spool_path(), SQLite::OPEN_READONLY);
      return state
                 .execAndGet(
                     "SELECT COUNT(*) FROM meta WHERE key = "
                     "'logs_committed'")
                 .getInt() > 0;
    } catch (const SQLite::Exception&) {
      return false;
    }
  })) << "the agent never scanned its logs";
  Write(0, 1000);
  Rotate("2026-12-01");
  Write(1000, kDelivered);
  ASSERT_TRUE(PollUntil(absl::Seconds(60), [&] {
    return AllStored(kDelivered);
  })) << "the first lines never arrived";

  // Collector down: the next lines, and a rotation, wait in the spool.
  StopCollector();
  Write(kDelivered, 3000);
  Rotate("2026-12-02");
  Write(3000, kSpooled);
  ASSERT_TRUE(PollUntil(absl::Seconds(60), [&] {
    return SpooledEvents(spool_path()) >= kSpooled - kDelivered;
  })) << "the agent did not spool the lines";
  agent_->Signal(SIGKILL);
  agent_->Wait(absl::Seconds(10));

  // The spool damaged beyond reading; more lines while the agent is down.
  for (const char* suffix : {"-wal", "-shm"}) {
    std::filesystem::remove(spool_path() + suffix);
  }
  WriteFile(spool_path(), std::string(8192, 'x'));
  Write(kSpooled, kLines);

  // The agent comes back first and must wait for the collector's answer.
  StartAgent();
  ASSERT_TRUE(PollUntil(absl::Seconds(10), [&] {
    return ReadFile(dir_ + "/agent.out").find("moved it to") !=
           std::string::npos;
  }));
  StartCollector();

  std::optional<std::map<int, int>> counts;
  PollUntil(
      absl::Seconds(60),
      [&] {
        counts = Stored();
        return counts.has_value() &&
               counts->size() == static_cast<size_t>(kLines) &&
               StoredNotices("spool_replaced") > 0;
      },
      absl::Milliseconds(200));
  ASSERT_TRUE(counts.has_value());
  std::vector<int> missing, repeated;
  for (int n = 0; n < kLines; ++n) {
    if (!counts->contains(n)) {
      missing.push_back(n);
    } else if (counts->at(n) > 1) {
      repeated.push_back(n);
    }
  }
  EXPECT_EQ(missing.size(), 0u)
      << "first missing: " << (missing.empty() ? -1 : missing.front());
  EXPECT_EQ(repeated.size(), 0u)
      << "first repeated: " << (repeated.empty() ? -1 : repeated.front());
  EXPECT_EQ(StoredNotices("spool_replaced"), 1);
}

INSTANTIATE_TEST_SUITE_P(StartAt, SpoolDamageTest,
                         ::testing::Values("end", "beginning"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace eroom::testing
