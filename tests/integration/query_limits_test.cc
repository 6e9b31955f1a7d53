// A slow search through the real collector: it leaves the other queries
// answered, it refuses more slow searches than it has room for, and it stops
// neither the caller giving up nor SIGTERM.
#include <signal.h>

#include <memory>
#include <string>
#include <vector>

#include "SQLiteCpp/Database.h"
#include "SQLiteCpp/Statement.h"
#include "SQLiteCpp/Transaction.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/process_harness.h"

namespace eroom::testing {
namespace {

using ::testing::HasSubstr;

// Each stored message is 60,000 'a's with one 'b' in the middle; the search
// text holds only trigrams those messages have, so every one is a candidate
// and the exact test takes a good fraction of a second on each.
constexpr int kSlowEvents = 60;
const std::string kSlowSearchText =
    std::string(500, 'a') + "b" + std::string(10, 'a') + "b";

class QueryLimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("query-limits");
    address_ = absl::StrCat("127.0.0.1:", FreePort());
    database_ = dir_ + "/db/eroom.db";
    WriteFile(dir_ + "/collector.yaml",
              PlaintextCollectorConfig(address_, database_));
    // The collector creates its database; the slow events go in while it
    // is stopped.
    StartCollector();
    ASSERT_TRUE(PollUntil(absl::Seconds(30),
                          [&] { return Ctl({"hosts"}).exit_code == 0; }));
    collector_->Signal(SIGTERM);
    ASSERT_EQ(collector_->Wait(absl::Seconds(30)), 0) << collector_->Log();
    StoreSlowEvents();
    StartCollector();
    ASSERT_TRUE(PollUntil(absl::Seconds(30),
                          [&] { return Ctl({"hosts"}).exit_code == 0; }));
  }

  void TearDown() override {
    StopChildren({slow_search_.get(), collector_.get()});
    if (HasFailure()) std::cerr << "--- collector log\n" << collector_->Log();
  }

  void StartCollector() { collector_ = StartWithConfig(dir_, "collector"); }

  void StoreSlowEvents() {
    SQLite::Database db(database_, SQLite::OPEN_READWRITE);
    SQLite::Transaction txn(db);
    db.exec(
        "INSERT INTO log_sources (source, file, logger, thread, until_ms) "
        "VALUES (1, 'server.log', '', '', 0)");
    SQLite::Statement insert(db, R"sql(
        INSERT INTO log_events (agent_id, sequence, time_ms, received_ms,
            source, file_offset, level, message, event_type, fields, ruid,
            truncated, has_header)
        VALUES ('slow', ?1, ?3, ?3, 1, 0, 3, ?2, '', '{}', '', 0, 1))sql");
    const std::string message =
        std::string(30000, 'a') + "b" + std::string(30000, 'a');
    // Recent: retention would remove events from 1970 at once.
    const int64_t now_ms = absl::ToUnixMillis(absl::Now());
    for (int i = 1; i <= kSlowEvents; ++i) {
      insert.reset();
      insert.bind(1, i);
      insert.bind(2, message);
      insert.bind(3, now_ms + i);
      insert.exec();
    }
    txn.commit();
  }

  CommandResult Ctl(std::vector<std::string> args,
                    absl::Duration timeout = absl::Seconds(30)) {
    return RunCommand(EroomctlArgv(address_, args), timeout);
  }

  // Starts a search that takes longer than the test, in the background.
  void StartSlowSearch() {
    // Under way once a quick one is refused for it; started again if it was
    // the one refused, for the quick one.
    ASSERT_TRUE(PollUntil(absl::Seconds(10), [&] {
      if (slow_search_ == nullptr || !slow_search_->running()) {
        slow_search_ = std::make_unique<ChildProcess>(
            EroomctlArgv(address_, {"--timeout", "120s", "logs", "--grep",
                                    kSlowSearchText}),
            dir_ + "/slow-search.out");
      }
      return Ctl({"logs", "--grep", "zzz"}).exit_code != 0;
    }));
  }

  std::string dir_;
  std::string address_;
  std::string database_;
  std::unique_ptr<ChildProcess> collector_;
  std::unique_ptr<ChildProcess> slow_search_;
};

TEST_F(QueryLimitsTest, HostsAreAnsweredAndMoreSearchesRefusedWhileOneRuns) {
  StartSlowSearch();
  CommandResult second =
      Ctl({"--timeout", "120s", "logs", "--grep", "aab"}, absl::Seconds(10));
  EXPECT_NE(second.exit_code, 0);
  EXPECT_THAT(second.err, HasSubstr("too many log queries"));
  const absl::Time start = absl::Now();
  CommandResult hosts = Ctl({"--timeout", "3s", "hosts"});
  EXPECT_EQ(hosts.exit_code, 0) << hosts.err;
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  EXPECT_TRUE(slow_search_->running());
}

TEST_F(QueryLimitsTest, SearchStopsWhenItsCallerGivesUp) {
  CommandResult gave_up =
      Ctl({"--timeout", "1s", "logs", "--grep", kSlowSearchText});
  EXPECT_NE(gave_up.exit_code, 0);
  // It stops soon after, not once it would have ended.
  EXPECT_TRUE(PollUntil(absl::Seconds(3), [&] {
    return collector_->Log().find("the caller cancelled") != std::string::npos;
  }));
}

TEST_F(QueryLimitsTest, SigtermStopsTheCollectorWithinFiveSecondsOfASearch) {
  StartSlowSearch();
  collector_->Signal(SIGTERM);
  EXPECT_EQ(collector_->Wait(absl::Seconds(5)), 0);
  EXPECT_TRUE(slow_search_->Wait(absl::Seconds(5)).has_value());
}

}  // namespace
}  // namespace eroom::testing
