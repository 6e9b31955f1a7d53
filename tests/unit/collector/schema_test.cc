#include "collector/schema.h"

#include <string>

#include "SQLiteCpp/Database.h"
#include "SQLiteCpp/Statement.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/collector/storage_test_util.h"

namespace eroom::collector {
namespace {

using ::testing::HasSubstr;

class SchemaTest : public TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    db_ = std::make_unique<SQLite::Database>(
        PathIn("schema.db"), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  }

  int Version() { return StoredSchemaVersion(*db_).value(); }

  // How many log events the message index lists under `trigram`.
  int DocumentsIndexedUnder(const std::string& trigram) {
    db_->exec(
        "CREATE VIRTUAL TABLE IF NOT EXISTS temp.vocabulary "
        "USING fts5vocab(main, log_messages, row)");
    SQLite::Statement query(*db_,
                            "SELECT coalesce(sum(doc), 0) FROM vocabulary "
                            "WHERE term = ?");
    query.bind(1, trigram);
    query.executeStep();
    return query.getColumn(0).getInt();
  }

  std::unique_ptr<SQLite::Database> db_;
};

TEST_F(SchemaTest, NewDatabaseIsVersionZero) { EXPECT_EQ(Version(), 0); }

TEST_F(SchemaTest, MigratesStepByStep) {
  ASSERT_TRUE(MigrateSchema(*db_, 1).ok());
  EXPECT_EQ(Version(), 1);
  EXPECT_TRUE(db_->tableExists("log_events"));
  EXPECT_FALSE(db_->tableExists("log_messages"));
  ASSERT_TRUE(MigrateSchema(*db_).ok());
  EXPECT_EQ(Version(), kSchemaVersion);
  EXPECT_TRUE(db_->tableExists("log_messages"));
}

TEST_F(SchemaTest, MigratingAgainChangesNothing) {
  ASSERT_TRUE(MigrateSchema(*db_).ok());
  ASSERT_TRUE(MigrateSchema(*db_).ok());
  EXPECT_EQ(Version(), kSchemaVersion);
  // An older target never downgrades.
  ASSERT_TRUE(MigrateSchema(*db_, 1).ok());
  EXPECT_EQ(Version(), kSchemaVersion);
}

TEST_F(SchemaTest, RebuildsTheIndexForRowsWrittenBeforeIt) {
  ASSERT_TRUE(MigrateSchema(*db_, 1).ok());
  db_->exec(
      "INSERT INTO hosts (agent_id, first_seen_ms, last_seen_ms) "
      "VALUES ('a', 0, 0);"
      "INSERT INTO log_events (agent_id, sequence, time_ms, received_ms, "
      "file, file_offset, level, logger, thread, message, event_type, "
      "fields, ruid, truncated, has_header) VALUES ('a', 1, 0, 0, '', 0, 0, "
      "'', '', 'Undertow 서버가 포트 8080에서', '', '{}', '', 0, 1)");
  ASSERT_TRUE(MigrateSchema(*db_).ok());
  EXPECT_EQ(DocumentsIndexedUnder("서버가"), 1);
}

TEST_F(SchemaTest, IndexFollowsDeletesAndUpdates) {
  ASSERT_TRUE(MigrateSchema(*db_).ok());
  db_->exec(
      "INSERT INTO hosts (agent_id, first_seen_ms, last_seen_ms) "
      "VALUES ('a', 0, 0);"
      "INSERT INTO log_events (agent_id, sequence, time_ms, received_ms, "
      "file, file_offset, level, logger, thread, message, event_type, "
      "fields, ruid, truncated, has_header) VALUES ('a', 1, 0, 0, '', 0, 0, "
      "'', '', 'alpha beta', '', '{}', '', 0, 1);"
      // New rows are the writer's to index; the triggers do the rest.
      "INSERT INTO log_messages (rowid, message) "
      "SELECT id, message FROM log_events");
  EXPECT_EQ(DocumentsIndexedUnder("alp"), 1);
  db_->exec("UPDATE log_events SET message = 'gamma'");
  EXPECT_EQ(DocumentsIndexedUnder("alp"), 0);
  EXPECT_EQ(DocumentsIndexedUnder("gam"), 1);
  db_->exec("DELETE FROM log_events");
  EXPECT_EQ(DocumentsIndexedUnder("gam"), 0);
}

TEST_F(SchemaTest, RefusesNewerDatabase) {
  db_->exec("PRAGMA user_version = 7");
  absl::Status status = MigrateSchema(*db_);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(status.message()), HasSubstr("version 7"));
  EXPECT_EQ(Version(), 7);
}

TEST_F(SchemaTest, RejectsUnknownTargetVersion) {
  EXPECT_EQ(MigrateSchema(*db_, kSchemaVersion + 1).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MigrateSchema(*db_, -1).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(SchemaTest, FailedStepLeavesTheVersionUnchanged) {
  // A table in the way makes step 1 fail; nothing of it may remain.
  db_->exec("CREATE TABLE probes (x)");
  absl::Status status = MigrateSchema(*db_);
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(status.message()), HasSubstr("probes"));
  EXPECT_EQ(Version(), 0);
  EXPECT_FALSE(db_->tableExists("hosts"));
}

}  // namespace
}  // namespace eroom::collector
