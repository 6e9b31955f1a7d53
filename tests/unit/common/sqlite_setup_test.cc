#include "common/sqlite_setup.h"

#include <sys/stat.h>

#include <fstream>
#include <string>

#include "gtest/gtest.h"
#include "tests/unit/test_support/status_matchers.h"
#include "tests/unit/test_support/temp_dir.h"

namespace eroom {
namespace {

using ::eroom::test_support::IsOk;
using ::eroom::test_support::StatusIs;

class KeepOwnerOnlyTest : public test_support::TempDirTest {
 protected:
  static mode_t ModeOf(const std::string& path) {
    struct stat info;
    if (stat(path.c_str(), &info) != 0) return 0;
    return info.st_mode & 07777;
  }
};

TEST_F(KeepOwnerOnlyTest, ANewDatabaseAndTheFilesSqliteAddsAreTheOwners) {
  const mode_t old_umask = umask(022);
  const std::string path = PathIn("new.db");
  EXPECT_THAT(KeepOwnerOnly(path), IsOk());
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("CREATE TABLE t (x)");
    EXPECT_EQ(ModeOf(path), 0600);
    EXPECT_EQ(ModeOf(path + "-wal"), 0600);
    EXPECT_EQ(ModeOf(path + "-shm"), 0600);
  }
  umask(old_umask);
}

TEST_F(KeepOwnerOnlyTest, ExistingFilesLoseGroupAndOtherAccess) {
  const std::string path = PathIn("old.db");
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::ofstream(path + suffix) << "";
    ASSERT_EQ(chmod((path + suffix).c_str(), 0644), 0);
  }
  EXPECT_THAT(KeepOwnerOnly(path), IsOk());
  for (const char* suffix : {"", "-wal", "-shm"}) {
    EXPECT_EQ(ModeOf(path + suffix), 0600) << suffix;
  }
}

TEST_F(KeepOwnerOnlyTest, AnImpossiblePathIsNamed) {
  EXPECT_THAT(KeepOwnerOnly(PathIn("missing/dir/x.db")),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       ::testing::HasSubstr("missing/dir/x.db")));
}

TEST(RowPlaceholdersTest, RowsOfParameters) {
  EXPECT_EQ(RowPlaceholders(1, 1), "(?)");
  EXPECT_EQ(RowPlaceholders(1, 3), "(?, ?, ?)");
  EXPECT_EQ(RowPlaceholders(3, 2), "(?, ?), (?, ?), (?, ?)");
}

}  // namespace
}  // namespace eroom
