#include "collector/schema.h"

#include <string>

#include "SQLiteCpp/Database.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/test_support/temp_dir.h"

namespace eroom::collector {

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
  ASSERT_TRUE(MigrateSchema(*db_, CollectorSchema(), 1).ok());
  EXPECT_EQ(Version(), 1);
  EXPECT_TRUE(db_->tableExists("log_events"));
  EXPECT_FALSE(db_->tableExists("log_messages"));
  ASSERT_TRUE(MigrateSchema(*db_, CollectorSchema(), 2).ok());
  EXPECT_TRUE(db_->tableExists("log_messages"));
  ASSERT_TRUE(MigrateSchema(*db_, CollectorSchema()).ok());
  EXPECT_EQ(Version(), kSchemaVersion);
  // The message index moved to a file of its own.
  EXPECT_FALSE(db_->tableExists("log_messages"));
  EXPECT_TRUE(db_->tableExists("store_identity"));
}

TEST_F(SchemaTest, MigratingAgainChangesNothing) {
  ASSERT_TRUE(MigrateSchema(*db_, CollectorSchema()).ok());
  ASSERT_TRUE(MigrateSchema(*db_, CollectorSchema()).ok());
  EXPECT_EQ(Version(), kSchemaVersion);
  // An older target never downgrades.
  ASSERT_TRUE(MigrateSchema(*db_, CollectorSchema(), 1).ok());
  EXPECT_EQ(Version(), kSchemaVersion);
}

TEST_F(SchemaTest, EachDatabaseHasItsOwnIdentity) {
  ASSERT_TRUE(MigrateSchema(*db_, CollectorSchema()).ok());
  SQLite::Database other(PathIn("other.db"),
                         SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  ASSERT_TRUE(MigrateSchema(other, CollectorSchema()).ok());
  const std::string id =
      db_->execAndGet("SELECT id FROM store_identity").getString();
  EXPECT_EQ(id.size(), 32u);
  EXPECT_NE(id, other.execAndGet("SELECT id FROM store_identity").getString());
}

TEST_F(SchemaTest, RefusesNewerDatabase) {
  db_->exec("PRAGMA user_version = 7");
  absl::Status status = MigrateSchema(*db_, CollectorSchema());
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(status.message()), HasSubstr("version 7"));
  EXPECT_EQ(Version(), 7);
}

TEST_F(SchemaTest, RejectsUnknownTargetVersion) {
  EXPECT_EQ(MigrateSchema(*db_, CollectorSchema(), kSchemaVersion + 1).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MigrateSchema(*db_, CollectorSchema(), -1).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(SchemaTest, FailedStepLeavesTheVersionUnchanged) {
  // A table in the way makes step 1 fail; nothing of it may remain.
  db_->exec("CREATE TABLE probes (x)");
  absl::Status status = MigrateSchema(*db_, CollectorSchema());
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(status.message()), HasSubstr("probes"));
  EXPECT_EQ(Version(), 0);
  EXPECT_FALSE(db_->tableExists("hosts"));
}

}  // namespace
}  // namespace eroom::collector
