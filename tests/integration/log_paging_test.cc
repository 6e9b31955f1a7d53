// `eroomctl logs` paging and context through the real binaries: every page
// that the text output says follows is fetched with the command it prints,
// and the pages together are every event once, in order, although many
// share a time; context stops at the edge of the match's file and host.
#include <signal.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "SQLiteCpp/Database.h"
#include "SQLiteCpp/Statement.h"
#include "SQLiteCpp/Transaction.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/integration/process_harness.h"

namespace eroom::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Per host: kEventsPerHost events, three at each time; the first half in
// the rotated file, the rest in the current one; every seventh a hit.
constexpr int kEventsPerHost = 30;
constexpr char kRotatedFile[] = "/opt/eroom/logs/server.2026-12-03.log";
constexpr char kCurrentFile[] = "/opt/eroom/logs/server.log";

bool IsHit(int sequence) { return sequence % 7 == 0; }

class LogPagingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("log-paging");
    address_ = absl::StrCat("127.0.0.1:", FreePort());
    database_ = dir_ + "/db/eroom.db";
    WriteFile(dir_ + "/collector.yaml",
              PlaintextCollectorConfig(address_, database_));
    // The collector creates its database; the events go in while it is
    // stopped.
    StartCollector();
    ASSERT_TRUE(PollUntil(absl::Seconds(30),
                          [&] { return Ctl({"hosts"}).exit_code == 0; }));
    collector_->Signal(SIGTERM);
    ASSERT_EQ(collector_->Wait(absl::Seconds(30)), 0) << collector_->Log();
    StoreEvents();
    StartCollector();
    ASSERT_TRUE(PollUntil(absl::Seconds(30),
                          [&] { return Ctl({"hosts"}).exit_code == 0; }));
  }

  void TearDown() override {
    StopChildren({collector_.get()});
    if (HasFailure()) std::cerr << "--- collector log\n" << collector_->Log();
  }

  void StartCollector() { collector_ = StartWithConfig(dir_, "collector"); }

  // Hosts web-a and web-b write at the same times, stored interleaved.
  void StoreEvents() {
    SQLite::Database db(database_, SQLite::OPEN_READWRITE);
    SQLite::Transaction txn(db);
    // Recent: retention would remove events from 1970 at once.
    const int64_t now_ms = absl::ToUnixMillis(absl::Now());
    for (const char* host : {"web-a", "web-b"}) {
      SQLite::Statement add_host(
          db,
          "INSERT INTO hosts (agent_id, hostname, first_seen_ms, "
          "last_seen_ms, last_sequence) VALUES (?1, ?1, ?2, ?2, ?3)");
      add_host.bind(1, host);
      add_host.bind(2, now_ms);
      add_host.bind(3, kEventsPerHost);
      add_host.exec();
    }
    SQLite::Statement add_sources(db, R"sql(
        INSERT INTO log_sources (source, file, logger, thread, until_ms)
        VALUES (1, ?1, '', 'main', ?3), (2, ?2, '', 'main', ?3))sql");
    add_sources.bind(1, kRotatedFile);
    add_sources.bind(2, kCurrentFile);
    add_sources.bind(3, now_ms);
    add_sources.exec();
    SQLite::Statement insert(db, R"sql(
        INSERT INTO log_events (agent_id, sequence, time_ms, received_ms,
            source, file_offset, level, message, event_type, fields, ruid,
            truncated, has_header)
        VALUES (?1, ?2, ?3, ?3, ?4, ?2, 3, ?5, '', '{}', '', 0, 1))sql");
    for (int sequence = 1; sequence <= kEventsPerHost; ++sequence) {
      for (const char* host : {"web-a", "web-b"}) {
        insert.reset();
        insert.bind(1, host);
        insert.bind(2, sequence);
        insert.bind(3, now_ms - 60000 + (sequence - 1) / 3 * 1000);
        insert.bind(4, sequence <= kEventsPerHost / 2 ? 1 : 2);
        insert.bind(5, absl::StrCat(IsHit(sequence) ? "hit " : "line ", host,
                                    " #", sequence, "\n\tat Frame.run()"));
        insert.exec();
      }
    }
    txn.commit();
  }

  std::vector<std::string> CtlArgv(const std::vector<std::string>& args) {
    return EroomctlArgv(address_, args);
  }

  CommandResult Ctl(const std::vector<std::string>& args) {
    return RunCommand(CtlArgv(args));
  }

  // `eroomctl -o json logs ARGS`, parsed; null when it failed.
  nlohmann::json LogsJson(std::vector<std::string> args) {
    args.insert(args.begin(), {"-o", "json", "logs"});
    CommandResult result = Ctl(args);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    if (result.exit_code != 0) return nullptr;
    return nlohmann::json::parse(result.out);
  }

  // "host/sequence" of each event, "-" marking context.
  static std::vector<std::string> Keys(const nlohmann::json& response) {
    std::vector<std::string> keys;
    for (const nlohmann::json& event :
         response.value("events", nlohmann::json::array())) {
      keys.push_back(absl::StrCat(event.value("context", false) ? "-" : "",
                                  event["agent_id"].get<std::string>(), "/",
                                  event["sequence"].get<std::string>()));
    }
    return keys;
  }

  std::string dir_;
  std::string address_;
  std::string database_;
  std::unique_ptr<ChildProcess> collector_;
};

TEST_F(LogPagingTest, JsonPagesAreEveryEventOnceInOrder) {
  const nlohmann::json all = LogsJson({"--limit", "1000"});
  const std::vector<std::string> expected = Keys(all);
  ASSERT_EQ(expected.size(), size_t{2 * kEventsPerHost});
  EXPECT_EQ(all["next_cursor"], "");
  std::vector<std::string> paged;
  std::vector<std::string> args = {"--limit", "7"};
  for (int page = 0; page < 100; ++page) {
    const nlohmann::json response = LogsJson(args);
    ASSERT_FALSE(response.is_null());
    const std::vector<std::string> keys = Keys(response);
    paged.insert(paged.end(), keys.begin(), keys.end());
    if (response["next_cursor"] == "") break;
    EXPECT_EQ(keys.size(), 7u);
    args = {"--limit", "7", "--before",
            response["next_cursor"].get<std::string>()};
  }
  EXPECT_EQ(paged, expected);
  EXPECT_EQ(std::set<std::string>(paged.begin(), paged.end()).size(),
            paged.size());
}

TEST_F(LogPagingTest, TextPagesFollowThePrintedCommandToTheEnd) {
  std::vector<std::string> argv =
      CtlArgv({"logs", "--limit", "8", "--brief", "--host", "web-a"});
  int rows = 0;
  int pages = 0;
  for (; pages < 100; ++pages) {
    CommandResult result = RunCommand(argv);
    ASSERT_EQ(result.exit_code, 0) << result.err;
    for (absl::string_view line : absl::StrSplit(result.out, '\n')) {
      if (absl::StrContains(line, "web-a")) ++rows;
      EXPECT_FALSE(absl::StrContains(line, "Frame.run")) << "--brief";
    }
    if (result.err.empty()) break;
    // "more: eroomctl ARGS --before CURSOR": run as printed.
    ASSERT_TRUE(absl::StartsWith(result.err, "more: eroomctl ")) << result.err;
    std::vector<std::string> words =
        absl::StrSplit(absl::StripSuffix(result.err.substr(6), "\n"), ' ');
    words.front() = BinaryPath("eroomctl");
    argv = words;
  }
  EXPECT_EQ(pages, (kEventsPerHost + 7) / 8 - 1);
  EXPECT_EQ(rows, kEventsPerHost);
}

TEST_F(LogPagingTest, ContextStopsAtTheFilesEdgeAndStaysOnItsHost) {
  // Hits on web-a: 7 and 14 in the rotated file, 21 and 28 in the current
  // one. 14's context ends with its file at 15; 28's with the host at 30.
  const nlohmann::json response =
      LogsJson({"--host", "web-a", "--regex", "^hit", "--context", "2"});
  EXPECT_THAT(Keys(response),
              ElementsAre("-web-a/30", "-web-a/29", "web-a/28", "-web-a/27",
                          "-web-a/26", "-web-a/23", "-web-a/22", "web-a/21",
                          "-web-a/20", "-web-a/19", "-web-a/15", "web-a/14",
                          "-web-a/13", "-web-a/12", "-web-a/9", "-web-a/8",
                          "web-a/7", "-web-a/6", "-web-a/5"));
  // As text: hits marked '>', context '-', runs apart.
  CommandResult text = Ctl({"logs", "--host", "web-a", "--regex", "^hit",
                            "--context", "1", "--limit", "1"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_THAT(text.out, HasSubstr("\n-  "));
  EXPECT_THAT(text.out, HasSubstr("\n>  "));
  EXPECT_THAT(text.out, HasSubstr("hit web-a #28\n        at Frame.run()\n"));
  EXPECT_THAT(text.err, HasSubstr("--context 1 --limit 1 --before "));
}

}  // namespace
}  // namespace eroom::testing
