#include "collector/sqlite/schema.h"

#include <string>

#include "SQLiteCpp/Database.h"
#include "SQLiteCpp/Statement.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/test_support/status_matchers.h"
#include "tests/unit/test_support/temp_dir.h"

namespace eroom::collector {

using ::eroom::test_support::IsOk;
using ::eroom::test_support::StatusIs;
using ::eroom::test_support::TempDirTest;
namespace {

using ::testing::HasSubstr;

class SchemaTest : public TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    db_ = std::make_unique<SQLite::Database>(
        PathIn("schema.db"), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  }

  int Version() { return StoredSchemaVersion(*db_, kDatabaseKind).value(); }

  std::unique_ptr<SQLite::Database> db_;
};

TEST_F(SchemaTest, NewDatabaseIsVersionZero) { EXPECT_EQ(Version(), 0); }

TEST_F(SchemaTest, MigratesStepByStep) {
  ASSERT_THAT(MigrateSchema(*db_, CollectorSchema(), 1), IsOk());
  EXPECT_EQ(Version(), 1);
  EXPECT_TRUE(db_->tableExists("log_events"));
  EXPECT_FALSE(db_->tableExists("log_messages"));
  ASSERT_THAT(MigrateSchema(*db_, CollectorSchema(), 2), IsOk());
  EXPECT_TRUE(db_->tableExists("log_messages"));
  ASSERT_THAT(MigrateSchema(*db_, CollectorSchema(), 3), IsOk());
  // The message index moved to a file of its own.
  EXPECT_FALSE(db_->tableExists("log_messages"));
  EXPECT_TRUE(db_->tableExists("store_identity"));
  EXPECT_FALSE(db_->tableExists("commands"));
  ASSERT_THAT(MigrateSchema(*db_, CollectorSchema(), 4), IsOk());
  EXPECT_TRUE(db_->tableExists("commands"));
  EXPECT_TRUE(db_->tableExists("command_progress"));
  EXPECT_FALSE(db_->tableExists("alerts"));
  ASSERT_THAT(MigrateSchema(*db_, CollectorSchema(), 5), IsOk());
  for (const char* table :
       {"alerts", "alert_history", "silences", "alert_deliveries"}) {
    EXPECT_TRUE(db_->tableExists(table)) << table;
  }
  EXPECT_FALSE(db_->tableExists("command_audit"));
  ASSERT_THAT(MigrateSchema(*db_, CollectorSchema(), 6), IsOk());
  EXPECT_TRUE(db_->tableExists("command_audit"));
  EXPECT_FALSE(db_->tableExists("metric_rollups"));
  ASSERT_THAT(MigrateSchema(*db_, CollectorSchema()), IsOk());
  EXPECT_EQ(Version(), kSchemaVersion);
  EXPECT_TRUE(db_->tableExists("metric_rollups"));
}

TEST_F(SchemaTest, RollupMigrationRollsUpThePointsStoredBefore) {
  ASSERT_THAT(MigrateSchema(*db_, CollectorSchema(), 6), IsOk());
  db_->exec(R"sql(
      INSERT INTO hosts (agent_id, first_seen_ms, last_seen_ms)
        VALUES ('a1', 1, 2);
      INSERT INTO metric_series (id, agent_id, name, labels)
        VALUES (1, 'a1', 'host.cpu_percent', '{}');
      INSERT INTO metric_points (series_id, time_ms, sequence, value)
        VALUES (1, 120000, 1, 2), (1, 150000, 2, 6), (1, 180000, 3, 5);)sql");
  ASSERT_THAT(MigrateSchema(*db_, CollectorSchema()), IsOk());
  SQLite::Statement minutes(*db_, R"sql(
      SELECT minute_ms, samples, total, low, high FROM metric_rollups
      ORDER BY minute_ms)sql");
  ASSERT_TRUE(minutes.executeStep());
  EXPECT_EQ(minutes.getColumn(0).getInt64(), 120000);
  EXPECT_EQ(minutes.getColumn(1).getInt(), 2);
  EXPECT_EQ(minutes.getColumn(2).getDouble(), 8);
  EXPECT_EQ(minutes.getColumn(3).getDouble(), 2);
  EXPECT_EQ(minutes.getColumn(4).getDouble(), 6);
  ASSERT_TRUE(minutes.executeStep());
  EXPECT_EQ(minutes.getColumn(0).getInt64(), 180000);
  EXPECT_EQ(minutes.getColumn(1).getInt(), 1);
  EXPECT_FALSE(minutes.executeStep());
}

TEST_F(SchemaTest, AuditMigrationKeepsTheCommands) {
  ASSERT_THAT(MigrateSchema(*db_, CollectorSchema(), 5), IsOk());
  db_->exec(
      "INSERT INTO commands (command_id, agent_id, command, requested_by, "
      "requested_ms, state) VALUES ('c1', 'a1', x'', 'alice', 1, 2)");
  ASSERT_THAT(MigrateSchema(*db_, CollectorSchema()), IsOk());
  EXPECT_EQ(db_->execAndGet("SELECT count(*) FROM commands").getInt(), 1);
  EXPECT_EQ(db_->execAndGet("SELECT count(*) FROM command_audit").getInt(), 0);
}

TEST_F(SchemaTest, MigratingAgainChangesNothing) {
  ASSERT_THAT(MigrateSchema(*db_, CollectorSchema()), IsOk());
  ASSERT_THAT(MigrateSchema(*db_, CollectorSchema()), IsOk());
  EXPECT_EQ(Version(), kSchemaVersion);
  // An older target never downgrades.
  ASSERT_THAT(MigrateSchema(*db_, CollectorSchema(), 1), IsOk());
  EXPECT_EQ(Version(), kSchemaVersion);
}

TEST_F(SchemaTest, EachDatabaseHasItsOwnIdentity) {
  ASSERT_THAT(MigrateSchema(*db_, CollectorSchema()), IsOk());
  SQLite::Database other(PathIn("other.db"),
                         SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  ASSERT_THAT(MigrateSchema(other, CollectorSchema()), IsOk());
  const std::string id =
      db_->execAndGet("SELECT id FROM store_identity").getString();
  EXPECT_EQ(id.size(), 32u);
  EXPECT_NE(id, other.execAndGet("SELECT id FROM store_identity").getString());
}

TEST_F(SchemaTest, RefusesNewerDatabase) {
  const int newer = kSchemaVersion + 1;
  db_->exec(absl::StrCat("PRAGMA user_version = ", newer));
  EXPECT_THAT(MigrateSchema(*db_, CollectorSchema()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr(absl::StrCat("version ", newer))));
  EXPECT_EQ(Version(), newer);
}

TEST_F(SchemaTest, RejectsUnknownTargetVersion) {
  EXPECT_THAT(MigrateSchema(*db_, CollectorSchema(), kSchemaVersion + 1),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(MigrateSchema(*db_, CollectorSchema(), -1),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(SchemaTest, FailedStepLeavesTheVersionUnchanged) {
  // A table in the way makes step 1 fail; nothing of it may remain.
  db_->exec("CREATE TABLE probes (x)");
  EXPECT_THAT(MigrateSchema(*db_, CollectorSchema()),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("probes")));
  EXPECT_EQ(Version(), 0);
  EXPECT_FALSE(db_->tableExists("hosts"));
}

}  // namespace
}  // namespace eroom::collector
