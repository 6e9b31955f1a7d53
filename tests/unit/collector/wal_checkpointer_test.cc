#include "collector/wal_checkpointer.h"

#include <filesystem>
#include <string>

#include "SQLiteCpp/Database.h"
#include "SQLiteCpp/Statement.h"
#include "SQLiteCpp/Transaction.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/unit/collector/storage_test_util.h"

namespace eroom::collector {
namespace {

class WalCheckpointerTest : public TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    path_ = PathIn("wal.db");
    writer_ = std::make_unique<SQLite::Database>(
        path_, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    writer_->exec("PRAGMA journal_mode = WAL");
    writer_->exec("CREATE TABLE t (payload BLOB)");
  }

  // Commits `commits` transactions of about 1 MB each.
  void Write(int commits) {
    SQLite::Statement insert(*writer_,
                             "INSERT INTO t VALUES (randomblob(4000))");
    for (int commit = 0; commit < commits; ++commit) {
      SQLite::Transaction txn(*writer_);
      for (int row = 0; row < 250; ++row) {
        insert.reset();
        insert.exec();
      }
      txn.commit();
    }
  }

  uintmax_t DatabaseFileBytes() const {
    return std::filesystem::file_size(path_);
  }

  std::string path_;
  std::unique_ptr<SQLite::Database> writer_;
};

TEST_F(WalCheckpointerTest, CommitsLeaveTheCopyingToTheCheckpointer) {
  {
    WalCheckpointer checkpointer(writer_->getHandle(), path_);
    Write(12);
    // The log is copied into the database file behind the commits.
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (DatabaseFileBytes() < (8u << 20) && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    EXPECT_GE(DatabaseFileBytes(), 8u << 20);
  }
  // Stopped, it no longer receives commits, and nothing checkpoints them:
  // SQLite's own automatic checkpoint stays replaced.
  const uintmax_t before = DatabaseFileBytes();
  Write(8);
  EXPECT_EQ(DatabaseFileBytes(), before);
}

}  // namespace
}  // namespace eroom::collector
