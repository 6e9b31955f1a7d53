// What the SQLite backend does beyond the storage contract (that is
// storage_conformance_test's): its files, schema, search index, failure
// recovery and WAL concurrency.
#include "collector/sqlite/sqlite_storage.h"

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "SQLiteCpp/Database.h"
#include "SQLiteCpp/Statement.h"
#include "SQLiteCpp/Transaction.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "collector/sqlite/schema.h"
#include "collector/sqlite/search_index.h"
#include "common/sqlite_migrations.h"
#include "eroom/monitor/v1/monitor.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spdlog/sinks/ostream_sink.h"
#include "spdlog/spdlog.h"
#include "tests/unit/collector/storage_test_data.h"
#include "tests/unit/collector/storage_test_queries.h"
#include "tests/unit/test_support/proto_matchers.h"
#include "tests/unit/test_support/status_matchers.h"
#include "tests/unit/test_support/temp_dir.h"

namespace eroom::collector {
namespace {

namespace v1 = ::eroom::monitor::v1;
using namespace ::eroom::collector::storage_test;  // NOLINT: test data
using ::eroom::test_support::EqualsProto;
using ::eroom::test_support::IsOk;
using ::eroom::test_support::IsOkAndHolds;
using ::eroom::test_support::StatusIs;
using ::eroom::test_support::TempDirTest;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

class SqliteStorageTest : public TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    path_ = PathIn("data/collector.db");
    Reopen();
  }

  void Reopen() {
    storage_.reset();
    absl::StatusOr<std::unique_ptr<Storage>> opened = OpenSqliteStorage(
        {.path = path_, .search_index_delay = absl::ZeroDuration()});
    ASSERT_THAT(opened, IsOk());
    storage_ = *std::move(opened);
  }

  void Apply(const StoredBatch& batch) {
    ASSERT_THAT(storage_->Apply(batch), IsOk());
  }

  // Waits for the background indexer to have indexed every stored event.
  void WaitForSearchIndex() {
    EXPECT_TRUE(storage_test::SearchIndexCaughtUp(path_));
  }

  std::vector<uint64_t> LogsContaining(const std::string& text) {
    return LogsContainingIn(*storage_, text);
  }
  // Runs retention keeping an hour of log events; how many it removed.
  int64_t ExpireLogsOlderThanAnHour() {
    absl::StatusOr<RetentionCounts> removed = storage_->DeleteExpired(
        RetentionPolicy{.logs = absl::Hours(1)}, kNow, 1000);
    EXPECT_THAT(removed, IsOk());
    return removed.ok() ? removed->logs : -1;
  }
  std::vector<v1::StoredLogEvent> StoredLogsContaining(
      const std::string& text) {
    return StoredLogsContainingIn(*storage_, text);
  }

  v1::HostStatus Host(const std::string& agent_id) {
    return HostIn(*storage_, agent_id);
  }

  // Overwrites the pages of the search index's own tables (FTS5's), leaving
  // its schema and watermark readable, as a failing disk would.
  void DamageSearchIndexData() {
    const std::string index_path = SearchIndexPath(path_);
    std::vector<int64_t> pages;
    int64_t page_size = 0;
    {
      SQLite::Database index(index_path, SQLite::OPEN_READWRITE);
      index.exec("PRAGMA wal_checkpoint(TRUNCATE)");
      page_size = index.execAndGet("PRAGMA page_size").getInt64();
      SQLite::Statement roots(index,
                              "SELECT rootpage FROM sqlite_schema WHERE name "
                              "IN ('log_terms_data', 'log_terms_idx')");
      while (roots.executeStep())
        pages.push_back(roots.getColumn(0).getInt64());
    }
    ASSERT_EQ(pages.size(), 2u);
    std::fstream file(index_path,
                      std::ios::in | std::ios::out | std::ios::binary);
    for (int64_t page : pages) {
      file.seekp((page - 1) * page_size);
      file << std::string(page_size, '\xA5');
    }
    ASSERT_TRUE(file.good());
  }

  // Waits (up to 30 s) for the search index file to pass SQLite's check
  // with its schema in place.
  ::testing::AssertionResult SearchIndexIntact() {
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    std::string check;
    while (absl::Now() < deadline) {
      try {
        SQLite::Database index(SearchIndexPath(path_), SQLite::OPEN_READONLY);
        check = index.execAndGet("PRAGMA quick_check").getString();
        if (check == "ok" && index.tableExists("index_state")) {
          return ::testing::AssertionSuccess();
        }
      } catch (const SQLite::Exception& e) {
        check = e.what();
      }
      absl::SleepFor(absl::Milliseconds(5));
    }
    return ::testing::AssertionFailure() << "index still damaged: " << check;
  }

  std::string path_;
  std::unique_ptr<Storage> storage_;
};

TEST_F(SqliteStorageTest, CreatesParentDirectoryAndLatestSchema) {
  ASSERT_TRUE(std::filesystem::exists(path_));
  SQLite::Database db(path_);
  EXPECT_THAT(StoredSchemaVersion(db, kDatabaseKind),
              IsOkAndHolds(kSchemaVersion));
  EXPECT_EQ(db.execAndGet("PRAGMA journal_mode").getString(), "wal");
}

TEST_F(SqliteStorageTest, DatabaseFilesAreReadableByTheCollectorOnly) {
  // The files the test's umask (022 on most hosts) would leave readable.
  const mode_t old_umask = umask(022);
  const std::string search_index = path_ + ".search";
  auto mode_of = [](const std::string& path) {
    struct stat info;
    return stat(path.c_str(), &info) == 0 ? info.st_mode & 07777 : 0;
  };
  storage_.reset();
  for (const std::string& file :
       {path_, path_ + "-wal", path_ + "-shm", search_index}) {
    if (std::filesystem::exists(file)) chmod(file.c_str(), 0644);
  }
  Reopen();
  Apply(Stored({LogLines("a", 1, 3)}));
  WaitForSearchIndex();
  for (const std::string& file : {path_, path_ + "-wal", path_ + "-shm",
                                  search_index, search_index + "-wal"}) {
    EXPECT_EQ(mode_of(file), 0600u) << file;
  }
  umask(old_umask);
}

TEST_F(SqliteStorageTest, MigrationBuildsTheRoomsOfStoredEvents) {
  storage_.reset();
  const std::string old_path = PathIn("old/collector.db");
  std::filesystem::create_directories(PathIn("old"));
  {
    SQLite::Database db(old_path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    ASSERT_THAT(MigrateSchema(db, CollectorSchema(), kSchemaVersion - 1),
                IsOk());
    db.exec(
        "INSERT INTO hosts (agent_id, first_seen_ms, last_seen_ms) "
        "VALUES ('a', 1, 2)");
    SQLite::Statement insert(db, R"sql(
        INSERT INTO log_events (agent_id, sequence, time_ms, received_ms,
          file, file_offset, level, logger, thread, message, event_type,
          fields, ruid, truncated, has_header)
        VALUES ('a', ?1, ?2, 0, 'server.log', 0, ?3, '', '', ?4, ?5, ?6, ?7,
                0, 1))sql");
    auto add = [&](int sequence, int64_t time_ms, int level,
                   const std::string& type, const std::string& fields,
                   const std::string& ruid) {
      insert.reset();
      insert.bind(1, sequence);
      insert.bind(2, time_ms);
      insert.bind(3, level);
      insert.bind(4, type);
      insert.bind(5, type);
      insert.bind(6, fields);
      insert.bind(7, ruid);
      insert.exec();
    };
    add(1, kT0, v1::INFO, "room_requested", "{}", "room_1");
    add(2, kT0 + 1, v1::INFO, "room_started", R"({"theme":"victoria"})",
        "room_1");
    add(3, kT0 + 2, v1::INFO, "room_completed",
        R"({"processing_ms":"300000","queue_wait_ms":"7"})", "room_1");
    add(4, kT0 + 3, v1::INFO, "room_started", "{}", "room_2");
    add(5, kT0 + 4, v1::INFO, "server_started", "{}", "");
    add(6, kT0 + 5, v1::INFO, "room_requested", "{}", "room_3");
    add(7, kT0 + 6, v1::ERROR, "error", "{}", "");
  }
  path_ = old_path;
  Reopen();
  v1::ListRoomsRequest request;
  request.set_limit(10);
  absl::StatusOr<v1::ListRoomsResponse> rooms =
      storage_->ListRooms(request, kNow);
  ASSERT_THAT(rooms, IsOk());
  ASSERT_EQ(rooms->rooms_size(), 3);
  EXPECT_EQ(rooms->rooms(0).ruid(), "room_3");
  EXPECT_EQ(rooms->rooms(0).status(), v1::ROOM_QUEUED);
  EXPECT_EQ(rooms->rooms(1).ruid(), "room_2");
  EXPECT_EQ(rooms->rooms(1).status(), v1::ROOM_FAILED);  // The restart.
  EXPECT_EQ(rooms->rooms(2).ruid(), "room_1");
  EXPECT_EQ(rooms->rooms(2).status(), v1::ROOM_COMPLETED);
  EXPECT_EQ(rooms->rooms(2).theme(), "victoria");
  EXPECT_EQ(rooms->rooms(2).processing_ms(), 300000);
  EXPECT_EQ(rooms->rooms(2).queue_wait_ms(), 7);
  // Built once: the next open finds nothing pending.
  Reopen();
  SQLite::Database db(path_);
  EXPECT_EQ(db.execAndGet("SELECT count(*) FROM pending_backfills").getInt(),
            0);
  EXPECT_EQ(db.execAndGet("SELECT count(*) FROM rooms").getInt(), 3);
  EXPECT_EQ(db.execAndGet("SELECT shape FROM error_lines").getString(),
            "error");
}

TEST_F(SqliteStorageTest, MigrationSpansTheRoomsOfStoredEvents) {
  storage_.reset();
  const std::string old_path = PathIn("old/collector.db");
  std::filesystem::create_directories(PathIn("old"));
  {
    SQLite::Database db(old_path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    ASSERT_THAT(MigrateSchema(db, CollectorSchema(), 8), IsOk());
    db.exec(R"sql(
        INSERT INTO hosts (agent_id, first_seen_ms, last_seen_ms)
        VALUES ('a', 1, 2), ('b', 1, 2);
        INSERT INTO log_events (agent_id, sequence, time_ms, received_ms,
          file, file_offset, level, logger, thread, message, event_type,
          fields, ruid, truncated, has_header)
        VALUES ('a', 1, 30, 0, 'f', 0, 3, '', '', 'm', '', '{}', 'room_1', 0, 1),
               ('a', 2, 10, 0, 'f', 0, 3, '', '', 'm', '', '{}', 'room_1', 0, 1),
               ('a', 3, 20, 0, 'f', 0, 3, '', '', 'm', '', '{}', '', 0, 1),
               ('b', 1, 40, 0, 'f', 0, 3, '', '', 'm', '', '{}', 'room_1', 0, 1);
    )sql");
  }
  path_ = old_path;
  Reopen();
  v1::QueryLogsRequest request;
  request.set_ruid("room_1");
  request.set_limit(10);
  absl::StatusOr<v1::QueryLogsResponse> logs =
      storage_->QueryLogs(request, /*check=*/{});
  ASSERT_THAT(logs, IsOk());
  std::vector<int64_t> times;
  for (const auto& event : logs->events()) {
    times.push_back(event.event().time_unix_ms());
  }
  EXPECT_THAT(times, ElementsAre(40, 30, 10));
  SQLite::Database db(path_);
  EXPECT_FALSE(db.execAndGet("SELECT count(*) FROM sqlite_schema WHERE name = "
                             "'log_events_by_ruid'")
                   .getInt());
}

TEST_F(SqliteStorageTest, RetentionRemovesTheSpansOfRoomsWithoutEvents) {
  const int64_t old_ms = kT0 - absl::ToInt64Milliseconds(absl::Hours(2));
  v1::Event old_line = LogEvent(1, old_ms, v1::INFO, "old");
  old_line.mutable_log()->set_ruid("room_old");
  v1::Event new_line = LogEvent(2, kT0, v1::INFO, "new");
  new_line.mutable_log()->set_ruid("room_new");
  Apply(Stored({Batch("a", {old_line, new_line})}));
  EXPECT_EQ(ExpireLogsOlderThanAnHour(), 1);
  SQLite::Database db(path_);
  EXPECT_EQ(
      db.execAndGet("SELECT group_concat(ruid) FROM room_spans").getString(),
      "room_new");
}

// A log event's file, logger and thread are stored once for all the events
// that share them.
TEST_F(SqliteStorageTest, LogEventsShareTheirSources) {
  v1::Event other_thread = LogEvent(41, kT0, v1::INFO, "other thread");
  other_thread.mutable_log()->set_thread("XNIO-1 I/O-4");
  // The same text, cut at another place: another source.
  v1::Event cut_at_a = LogEvent(42, kT0, v1::INFO, "cut a");
  cut_at_a.mutable_log()->set_file("a");
  cut_at_a.mutable_log()->set_logger("bc");
  v1::Event cut_at_b = LogEvent(43, kT0, v1::INFO, "cut b");
  cut_at_b.mutable_log()->set_file("ab");
  cut_at_b.mutable_log()->set_logger("c");
  Apply(Stored({LogLines("a", 1, 40)}));
  Apply(BuildStoredBatch(
      {Batch("a", {other_thread, cut_at_a, cut_at_b}), LogLines("b", 1, 5)},
      {{"a", 40}}, kNow));
  SQLite::Database db(path_);
  EXPECT_EQ(db.execAndGet("SELECT count(*) FROM log_sources").getInt(), 4);
  const std::vector<v1::StoredLogEvent> cut = StoredLogsContaining("cut");
  ASSERT_EQ(cut.size(), 2u);
  EXPECT_THAT(cut[0].event(), EqualsProto(cut_at_b.log()));
  EXPECT_THAT(cut[1].event(), EqualsProto(cut_at_a.log()));
}

TEST_F(SqliteStorageTest, RetentionRemovesTheSourcesOfRemovedEventsOnly) {
  const int64_t old_ms = kT0 - absl::ToInt64Milliseconds(absl::Hours(2));
  v1::Event gone_thread = LogEvent(1, old_ms, v1::INFO, "old");
  gone_thread.mutable_log()->set_thread("gone");
  // The same source two hours apart: the later event keeps it.
  v1::Event old_line = LogEvent(2, old_ms, v1::INFO, "old");
  v1::Event new_line = LogEvent(3, kT0, v1::INFO, "new");
  Apply(Stored({Batch("a", {gone_thread, old_line})}));
  Apply(BuildStoredBatch({Batch("a", {new_line})}, {{"a", 2}}, kNow));
  EXPECT_EQ(ExpireLogsOlderThanAnHour(), 2);
  SQLite::Database db(path_);
  EXPECT_EQ(
      db.execAndGet("SELECT group_concat(thread) FROM log_sources").getString(),
      new_line.log().thread());
  std::vector<v1::StoredLogEvent> kept = StoredLogsContaining("new");
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_THAT(kept[0].event(), EqualsProto(new_line.log()));

  // A source removed is added again by its next event.
  gone_thread.set_sequence(4);
  gone_thread.mutable_log()->set_time_unix_ms(kT0);
  Apply(BuildStoredBatch({Batch("a", {gone_thread})}, {{"a", 3}}, kNow));
  kept = StoredLogsContaining("old");
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_THAT(kept[0].event(), EqualsProto(gone_thread.log()));
}

TEST_F(SqliteStorageTest, ReopeningKeepsTheSchema) {
  Reopen();
  Reopen();
  SQLite::Database db(path_);
  EXPECT_THAT(StoredSchemaVersion(db, kDatabaseKind),
              IsOkAndHolds(kSchemaVersion));
}

TEST_F(SqliteStorageTest, ProbeRowsKeepWhatMetricsLeaveOut) {
  v1::Event failed;
  failed.set_sequence(3);
  failed.mutable_probe()->set_time_unix_ms(kT0 + 2);
  failed.mutable_probe()->set_target(v1::HEALTH);
  failed.mutable_probe()->set_error("401 인증 실패");
  failed.mutable_probe()->set_http_status(401);
  Apply(Stored(
      {Batch("a", {ProbeEvent(1, kT0, v1::HEALTH, 5),
                   ProbeEvent(2, kT0 + 1, v1::QUEUE_STATUS, 4), failed})}));

  SQLite::Database db(path_);
  SQLite::Statement rows(db,
                         "SELECT sequence, error, health_status, queued "
                         "FROM probes ORDER BY sequence");
  ASSERT_TRUE(rows.executeStep());
  EXPECT_EQ(rows.getColumn(2).getString(), "healthy");
  EXPECT_EQ(rows.getColumn(3).getInt(), 5);
  ASSERT_TRUE(rows.executeStep());
  ASSERT_TRUE(rows.executeStep());
  EXPECT_EQ(rows.getColumn(1).getString(), "401 인증 실패");
  EXPECT_TRUE(rows.getColumn(3).isNull());
}

TEST_F(SqliteStorageTest, NoticeRowIsStored) {
  Apply(Stored({Batch("a", {NoticeEvent(1, kT0)})}));
  SQLite::Database db(path_);
  SQLite::Statement row(db,
                        "SELECT agent_id, sequence, time_ms, kind, message, "
                        "count FROM agent_notices");
  ASSERT_TRUE(row.executeStep());
  EXPECT_EQ(row.getColumn(0).getString(), "a");
  EXPECT_EQ(row.getColumn(1).getInt64(), 1);
  EXPECT_EQ(row.getColumn(2).getInt64(), kT0);
  EXPECT_EQ(row.getColumn(3).getString(), "events_dropped");
  EXPECT_EQ(row.getColumn(4).getString(), "spool full");
  EXPECT_EQ(row.getColumn(5).getInt64(), 17);
}

TEST_F(SqliteStorageTest, LatestObservationsAreStoredAsBlobs) {
  Apply(Stored({Batch("a", {SampleEvent(1, kT0, 10)})}));
  SQLite::Database db(path_);
  EXPECT_EQ(
      db.execAndGet("SELECT typeof(latest_sample) FROM hosts").getString(),
      "blob");
}

TEST_F(SqliteStorageTest, StoredMessagesAreIndexedInTheBackground) {
  Apply(Stored({LogLines("a", 1, 3)}));
  Apply(BuildStoredBatch({LogLines("a", 2, 5)}, {{"a", 3}}, kNow));
  WaitForSearchIndex();
  SQLite::Database index(SearchIndexPath(path_), SQLite::OPEN_READONLY);
  RegisterSearchIndexTokenizer(index);
  EXPECT_EQ(
      index.execAndGet("SELECT indexed_through FROM index_state").getInt(), 5);
  // The five events share a block: its row lists each of their terms once.
  const std::string terms =
      index.execAndGet("SELECT terms FROM log_terms WHERE rowid = 0")
          .getString();
  const std::vector<std::string> listed = absl::StrSplit(terms, '\n');
  EXPECT_EQ(std::count(listed.begin(), listed.end(), "lin"), 1) << terms;
}

TEST_F(SqliteStorageTest, IndexCatchesUpWithEventsStoredBeforeARestart) {
  Apply(Stored({LogLines("a", 1, 3)}));
  storage_.reset();
  std::filesystem::remove(SearchIndexPath(path_));
  Reopen();
  WaitForSearchIndex();
  EXPECT_THAT(LogsContaining("line"), ElementsAre(3, 2, 1));
}

// Log lines of agent "a" with sequences 1 to 6, every other one "alpha",
// and behind them as many newer "gamma" lines as a search reads before it
// asks the index.
StoredBatch AlphaAndBeta() {
  std::vector<v1::Event> events;
  for (uint64_t seq = 1; seq <= 6 + kNewestScannedBeforeIndex; ++seq) {
    events.push_back(LogEvent(seq, kT0 + int64_t(seq) * 1000, v1::INFO,
                              seq > 6        ? "gamma line"
                              : seq % 2 == 1 ? "alpha line"
                                             : "beta line"));
  }
  return Stored({Batch("a", std::move(events))});
}

TEST_F(SqliteStorageTest, SearchJoinsTheNewestEventsAndTheIndexInTimeOrder) {
  std::vector<v1::Event> events;
  const uint64_t newest = 2 * kNewestScannedBeforeIndex;
  for (uint64_t seq = 1; seq <= newest; ++seq) {
    // Two matches among the newest events, three far behind them.
    const bool match =
        seq == 3 || seq == 5 || seq == 7 || seq == newest - 10 || seq == newest;
    events.push_back(LogEvent(seq, kT0 + int64_t(seq) * 1000, v1::INFO,
                              match ? "room 실패 after timeout" : "room ok"));
  }
  Apply(Stored({Batch("a", std::move(events))}));
  WaitForSearchIndex();
  const std::vector<uint64_t> all = {newest, newest - 10, 7, 5, 3};
  EXPECT_THAT(LogsContaining("timeout"), ::testing::ElementsAreArray(all));
  EXPECT_THAT(LogsContaining("실패"), ::testing::ElementsAreArray(all));
  EXPECT_THAT(LogsContaining("TIMEOUT"), ::testing::ElementsAreArray(all));
  // A filter no index serves in time order (two hosts), matching far back:
  // the newest events end, by their count or their step limit
  // (CheckedQueryTest), and the index answers the rest on the same
  // connection.
  v1::QueryLogsRequest two_hosts;
  two_hosts.set_contains("timeout");
  two_hosts.set_min_level(v1::INFO);
  two_hosts.add_agent_ids("a");
  two_hosts.add_agent_ids("b");
  two_hosts.set_limit(1000);
  absl::StatusOr<v1::QueryLogsResponse> found =
      storage_->QueryLogs(two_hosts, /*check=*/{});
  ASSERT_THAT(found, IsOk());
  EXPECT_EQ(found->events_size(), 5);
  // A common word fills its page from the newest events.
  v1::QueryLogsRequest request;
  request.set_contains("room");
  request.set_limit(3);
  absl::StatusOr<v1::QueryLogsResponse> page =
      storage_->QueryLogs(request, /*check=*/{});
  ASSERT_THAT(page, IsOk());
  ASSERT_EQ(page->events_size(), 3);
  EXPECT_EQ(page->events(2).sequence(), newest - 2);
  EXPECT_FALSE(page->next_cursor().empty());
}

// The log lines of the default logger while it lives.
class CapturedLog {
 public:
  CapturedLog()
      : sink_(std::make_shared<spdlog::sinks::ostream_sink_mt>(text_)) {
    spdlog::default_logger()->sinks().push_back(sink_);
  }
  ~CapturedLog() { spdlog::default_logger()->sinks().pop_back(); }
  std::string text() const { return text_.str(); }

 private:
  std::ostringstream text_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
};

TEST_F(SqliteStorageTest, SearchIndexDamagedWhileRunningIsScannedAndRebuilt) {
  Apply(AlphaAndBeta());
  WaitForSearchIndex();
  DamageSearchIndexData();
  CapturedLog log;
  EXPECT_THAT(LogsContaining("alpha"), ElementsAre(5, 3, 1));
  EXPECT_THAT(log.text(), HasSubstr(SearchIndexPath(path_)));
  EXPECT_TRUE(SearchIndexIntact());
  WaitForSearchIndex();
  EXPECT_THAT(LogsContaining("alpha"), ElementsAre(5, 3, 1));
  EXPECT_THAT(LogsContaining("beta"), ElementsAre(6, 4, 2));
}

TEST_F(SqliteStorageTest, SearchIndexDamagedWhileStoppedIsRebuiltAtStart) {
  Apply(AlphaAndBeta());
  WaitForSearchIndex();
  storage_.reset();
  DamageSearchIndexData();
  CapturedLog log;
  Reopen();
  EXPECT_TRUE(SearchIndexIntact());
  EXPECT_THAT(log.text(), HasSubstr(SearchIndexPath(path_)));
  WaitForSearchIndex();
  EXPECT_THAT(LogsContaining("alpha"), ElementsAre(5, 3, 1));
}

TEST_F(SqliteStorageTest, SearchStopsWhileRunningOnceItsCheckSaysSo) {
  // Enough events that a scan takes many steps.
  std::vector<AgentBatch> batches;
  for (uint64_t first = 1; first <= 20000; first += 1000) {
    batches.push_back(LogLines("a", first, first + 999));
  }
  Apply(Stored(std::move(batches)));
  v1::QueryLogsRequest request;
  request.set_contains("no such text");
  request.set_limit(10);
  int checks = 0;
  absl::StatusOr<v1::QueryLogsResponse> logs =
      storage_->QueryLogs(request, [&checks]() -> absl::Status {
        if (++checks < 3) return absl::OkStatus();
        return absl::CancelledError("the caller gave up");
      });
  EXPECT_THAT(logs,
              StatusIs(absl::StatusCode::kCancelled, "the caller gave up"));
  EXPECT_EQ(checks, 3);
  // The connection is fine for the next query.
  request.set_contains("line 20000");
  EXPECT_THAT(storage_->QueryLogs(request, /*check=*/{}), IsOk());
}

TEST_F(SqliteStorageTest, LogResponseStopsAtItsSizeCap) {
  std::vector<v1::Event> events;
  for (uint64_t seq = 1; seq <= 100; ++seq) {
    events.push_back(LogEvent(seq, kT0 + int64_t(seq) * 1000, v1::INFO,
                              std::string(60000, 'x')));
  }
  Apply(Stored({Batch("a", std::move(events))}));
  v1::QueryLogsRequest request;
  request.set_limit(1000);
  absl::StatusOr<v1::QueryLogsResponse> logs =
      storage_->QueryLogs(request, /*check=*/{});
  ASSERT_THAT(logs, IsOk());
  EXPECT_TRUE(logs->truncated());
  EXPECT_LE(logs->ByteSizeLong(), kMaxLogResponseBytes + 100);
  EXPECT_GE(logs->ByteSizeLong(), kMaxLogResponseBytes - 61000);
  // A truncated page's cursor goes on after the last event it held.
  std::vector<uint64_t> paged;
  for (int page = 0; page < 10; ++page) {
    for (const v1::StoredLogEvent& event : logs->events()) {
      paged.push_back(event.sequence());
    }
    if (logs->next_cursor().empty()) break;
    request.set_before_cursor(logs->next_cursor());
    logs = storage_->QueryLogs(request, /*check=*/{});
    ASSERT_THAT(logs, IsOk());
  }
  ASSERT_EQ(paged.size(), 100u);
  for (size_t i = 0; i < paged.size(); ++i) EXPECT_EQ(paged[i], 100 - i);
  request.clear_before_cursor();
  request.set_limit(10);
  logs = storage_->QueryLogs(request, /*check=*/{});
  ASSERT_THAT(logs, IsOk());
  EXPECT_FALSE(logs->truncated());
  EXPECT_EQ(logs->events_size(), 10);
}

TEST_F(SqliteStorageTest, FailedApplyRollsBackAndLaterOnesWork) {
  Apply(Stored({LogLines("a", 1, 1)}));
  {
    // A row the storage does not know about makes sequence 4 collide.
    SQLite::Database db(path_, SQLite::OPEN_READWRITE);
    db.exec(
        "INSERT INTO log_events (agent_id, sequence, time_ms, received_ms, "
        "source, file_offset, level, message, event_type, fields, ruid, "
        "truncated, has_header) VALUES ('a', 4, 0, 0, 1, 0, 0, 'planted', "
        "'', '{}', '', 0, 1)");
  }
  // Sequence 2 creates new metric series, and 3 a new log source, before 4
  // fails.
  v1::Event other_thread = LogEvent(3, kT0, v1::INFO, "x");
  other_thread.mutable_log()->set_thread("pool-2-thread-9");
  absl::Status failed = storage_->Apply(
      BuildStoredBatch({Batch("a", {SampleEvent(2, kT0, 1), other_thread,
                                    LogEvent(4, kT0, v1::INFO, "y")})},
                       {{"a", 1}}, kNow));
  EXPECT_THAT(failed, StatusIs(absl::StatusCode::kInternal,
                               HasSubstr("store event batches")));
  EXPECT_EQ(Host("a").last_sequence(), 1u);
  EXPECT_FALSE(Host("a").has_latest_sample());

  // The series must be created again, not taken from a stale cache.
  Apply(BuildStoredBatch({Batch("a", {SampleEvent(5, kT0 + 5, 7)})}, {{"a", 1}},
                         kNow));
  v1::QueryMetricsRequest request;
  request.set_name("host.cpu_percent");
  request.set_limit(10);
  absl::StatusOr<v1::QueryMetricsResponse> metrics =
      storage_->QueryMetrics(request);
  ASSERT_THAT(metrics, IsOk());
  EXPECT_EQ(metrics->series_size(), 1);
  EXPECT_THAT(storage_->RegisterAgent(Hello("a"), kNow), IsOkAndHolds(5u));

  // So must the log source.
  other_thread.set_sequence(6);
  Apply(BuildStoredBatch({Batch("a", {other_thread})}, {{"a", 5}}, kNow));
  const std::vector<v1::StoredLogEvent> stored = StoredLogsContaining("x");
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_THAT(stored[0].event(), EqualsProto(other_thread.log()));
}

// The writer inserts log events many to a statement and numbers them
// itself: every event of two hosts' batches, the full statements and the
// rest, keeps its order, and each ERROR line its event's id.
TEST_F(SqliteStorageTest, ManyLogEventsToAStatementKeepOrderAndErrorLines) {
  Apply(Stored({LogLines("a", 1, 3)}));
  auto events = [](const std::string& agent_id, uint64_t first, uint64_t last) {
    std::vector<v1::Event> events;
    for (uint64_t seq = first; seq <= last; ++seq) {
      const bool error = seq % 17 == 0;
      events.push_back(LogEvent(seq, kT0 + int64_t(seq),
                                error ? v1::ERROR : v1::INFO,
                                absl::StrCat(agent_id, " ", seq)));
    }
    return Batch(agent_id, std::move(events));
  };
  Apply(BuildStoredBatch({events("a", 4, 60), events("b", 1, 45)}, {{"a", 3}},
                         kNow));
  SQLite::Database db(path_);
  SQLite::Statement rows(db, "SELECT id, message FROM log_events ORDER BY id");
  std::vector<std::string> messages;
  int64_t expected_id = 1;
  while (rows.executeStep()) {
    EXPECT_EQ(rows.getColumn(0).getInt64(), expected_id++);
    messages.push_back(rows.getColumn(1).getString());
  }
  std::vector<std::string> expected = {"line 1", "line 2", "line 3"};
  for (int seq = 4; seq <= 60; ++seq)
    expected.push_back(absl::StrCat("a ", seq));
  for (int seq = 1; seq <= 45; ++seq)
    expected.push_back(absl::StrCat("b ", seq));
  EXPECT_EQ(messages, expected);
  SQLite::Statement errors(db, R"sql(
      SELECT e.message FROM error_lines l JOIN log_events e USING (id)
      WHERE l.first_line = e.message AND l.agent_id = e.agent_id
      ORDER BY id)sql");
  std::vector<std::string> error_messages;
  while (errors.executeStep()) {
    error_messages.push_back(errors.getColumn(0).getString());
  }
  EXPECT_THAT(error_messages,
              ElementsAre("a 17", "a 34", "a 51", "b 17", "b 34"));
  EXPECT_EQ(db.execAndGet("SELECT count(*) FROM error_lines").getInt(), 5);
}

// The ingest writer leaves SQLite's foreign key checks off and keeps the
// references itself.
TEST_F(SqliteStorageTest, EveryStoredRowRefersToARowThatExists) {
  Apply(Stored({LogLines("a", 1, 40)}));
  Apply(BuildStoredBatch(
      {Batch("b", {SampleEvent(1, kT0, 12), ProbeEvent(2, kT0, v1::HEALTH, 3),
                   NoticeEvent(3, kT0), LogEvent(4, kT0, v1::ERROR, "boom")}),
       LogLines("a", 41, 80)},
      {{"a", 40}}, kNow));
  SQLite::Database db(path_);
  ASSERT_GT(db.execAndGet("SELECT count(*) FROM metric_points").getInt(), 0);
  SQLite::Statement check(db, "PRAGMA foreign_key_check");
  EXPECT_FALSE(check.executeStep())
      << check.getColumn(0).getString() << " row "
      << check.getColumn(1).getInt64() << " refers to a missing "
      << check.getColumn(2).getString();
}

TEST_F(SqliteStorageTest, ReadDoesNotWaitForAnOpenWriteTransaction) {
  Apply(Stored({LogLines("a", 1, 2)}));
  // Another connection holds the write lock with uncommitted changes, as
  // the ingest thread does while it stores a large batch.
  SQLite::Database writer(path_, SQLite::OPEN_READWRITE);
  SQLite::Transaction txn(writer, SQLite::TransactionBehavior::IMMEDIATE);
  writer.exec("UPDATE hosts SET last_sequence = 99");

  absl::Notification done;
  absl::StatusOr<v1::QueryLogsResponse> logs;
  absl::StatusOr<v1::ListHostsResponse> hosts;
  std::thread reader([&] {
    v1::QueryLogsRequest request;
    request.set_limit(10);
    logs = storage_->QueryLogs(request, /*check=*/{});
    hosts = storage_->ListHosts({});
    done.Notify();
  });
  // Well below the busy timeout a blocked reader would wait out.
  EXPECT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(3)));
  reader.join();
  ASSERT_THAT(logs, IsOk());
  EXPECT_EQ(logs->events_size(), 2);
  ASSERT_THAT(hosts, IsOk());
  EXPECT_EQ(hosts->hosts(0).last_sequence(), 2u);  // The committed state.
}

TEST_F(SqliteStorageTest, WriteDoesNotWaitForAnOpenReadTransaction) {
  Apply(Stored({LogLines("a", 1, 2)}));
  SQLite::Database reader(path_, SQLite::OPEN_READONLY);
  SQLite::Transaction snapshot(reader);
  EXPECT_EQ(reader.execAndGet("SELECT count(*) FROM log_events").getInt(), 2);

  absl::Notification done;
  absl::Status stored;
  std::thread writer([&] {
    stored = storage_->Apply(
        BuildStoredBatch({LogLines("a", 3, 4)}, {{"a", 2}}, kNow));
    done.Notify();
  });
  EXPECT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(3)));
  writer.join();
  ASSERT_THAT(stored, IsOk());
  // The open snapshot still sees the old state; new readers see the new one.
  EXPECT_EQ(reader.execAndGet("SELECT count(*) FROM log_events").getInt(), 2);
  EXPECT_THAT(LogsContaining("line"), ElementsAre(4, 3, 2, 1));
}

TEST_F(SqliteStorageTest, ConcurrentQueriesWhileIngesting) {
  constexpr int kQueryThreads = 4;
  constexpr int kBatches = 20;
  std::vector<std::thread> readers;
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  for (int i = 0; i < kQueryThreads; ++i) {
    readers.emplace_back([&] {
      v1::QueryLogsRequest request;
      request.set_limit(100);
      while (!stop.load()) {
        if (!storage_->QueryLogs(request, /*check=*/{}).ok()) ++failures;
        if (!storage_->ListHosts({}).ok()) ++failures;
      }
    });
  }
  for (int i = 0; i < kBatches; ++i) {
    Apply(BuildStoredBatch({LogLines("a", i * 10 + 1, i * 10 + 10)},
                           {{"a", i * 10}}, kNow));
  }
  stop = true;
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(Host("a").last_sequence(), uint64_t{kBatches * 10});
}

class OpenSqliteStorageTest : public TempDirTest {};

TEST_F(OpenSqliteStorageTest, MigratesVersionOneDatabase) {
  const std::string path = PathIn("old.db");
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    ASSERT_THAT(MigrateSchema(db, CollectorSchema(), 1), IsOk());
    db.exec(
        "INSERT INTO hosts (agent_id, hostname, connected, first_seen_ms, "
        "last_seen_ms, last_sequence) VALUES ('old', 'old.example', 1, 1, 2, "
        "1)");
    db.exec(
        "INSERT INTO log_events (agent_id, sequence, time_ms, received_ms, "
        "file, file_offset, level, logger, thread, message, event_type, "
        "fields, ruid, truncated, has_header) VALUES "
        "('old', 1, 5, 6, 'f', 0, 3, 'l', 't', '비즈니스 로직 시작', '', "
        "'{}', '', 0, 1), "
        "('old', 2, 7, 8, 'f', 9, 3, 'l', 'u', 'other', '', '{}', '', 0, 1), "
        "('old', 3, 9, 9, 'f', 12, 3, 'l', 't', 'again', '', '{}', '', 0, 1)");
  }
  absl::StatusOr<std::unique_ptr<Storage>> storage =
      OpenSqliteStorage({.path = path});
  ASSERT_THAT(storage, IsOk());
  v1::QueryLogsRequest request;
  request.set_contains("비즈니스");
  request.set_limit(10);
  absl::StatusOr<v1::QueryLogsResponse> logs =
      (*storage)->QueryLogs(request, /*check=*/{});
  ASSERT_THAT(logs, IsOk());
  ASSERT_EQ(logs->events_size(), 1);
  EXPECT_EQ(logs->events(0).agent_id(), "old");
  EXPECT_EQ(logs->events(0).sequence(), 1u);
  EXPECT_EQ(logs->events(0).event().file(), "f");
  EXPECT_EQ(logs->events(0).event().logger(), "l");
  EXPECT_EQ(logs->events(0).event().thread(), "t");
  EXPECT_EQ(logs->events(0).event().file_offset(), 0u);
  request.set_contains("other");
  logs = (*storage)->QueryLogs(request, /*check=*/{});
  ASSERT_THAT(logs, IsOk());
  ASSERT_EQ(logs->events_size(), 1);
  EXPECT_EQ(logs->events(0).event().thread(), "u");
  EXPECT_EQ(logs->events(0).event().file_offset(), 9u);
  absl::StatusOr<v1::ListHostsResponse> hosts = (*storage)->ListHosts({});
  ASSERT_THAT(hosts, IsOk());
  ASSERT_EQ(hosts->hosts_size(), 1);
  EXPECT_FALSE(hosts->hosts(0).connected());
  EXPECT_THAT((*storage)->RegisterAgent(Hello("old"), kNow), IsOkAndHolds(1u));
  v1::ListCommandsRequest commands;
  commands.set_limit(10);
  EXPECT_THAT((*storage)->ListCommands(commands),
              IsOkAndHolds(::testing::Property(
                  &v1::ListCommandsResponse::commands, IsEmpty())));
}

TEST_F(OpenSqliteStorageTest, OpensVersionZeroDatabase) {
  const std::string path = PathIn("empty.db");
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec("CREATE TABLE unrelated (x)");  // A real file, user_version 0.
  }
  absl::StatusOr<std::unique_ptr<Storage>> storage =
      OpenSqliteStorage({.path = path});
  ASSERT_THAT(storage, IsOk());
  EXPECT_THAT((*storage)->RegisterAgent(Hello("a"), kNow), IsOk());
}

TEST_F(OpenSqliteStorageTest, RefusesNewerSchema) {
  const std::string path = PathIn("future.db");
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec("PRAGMA user_version = 99");
  }
  EXPECT_THAT(OpenSqliteStorage({.path = path}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("version 99 is newer")));
}

TEST_F(OpenSqliteStorageTest, CorruptFileIsAClearError) {
  const std::string path = PathIn("corrupt.db");
  std::ofstream(path) << std::string(8192, 'x');
  absl::StatusOr<std::unique_ptr<Storage>> storage =
      OpenSqliteStorage({.path = path});
  EXPECT_THAT(storage,
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("not a valid eroom-collector database")));
  EXPECT_THAT(storage, StatusIs(absl::StatusCode::kDataLoss, HasSubstr(path)));
}

TEST_F(OpenSqliteStorageTest, UnusablePathIsAnError) {
  EXPECT_THAT(OpenSqliteStorage({.path = ""}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  const std::string file = PathIn("a-file");
  std::ofstream(file) << "x";
  EXPECT_THAT(OpenSqliteStorage({.path = file + "/sub/db"}), Not(IsOk()));
  EXPECT_THAT(OpenSqliteStorage({.path = ":memory:"}),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_FALSE(std::filesystem::exists(":memory:"));
}

}  // namespace
}  // namespace eroom::collector
