#include "collector/sqlite/wal_checkpointer.h"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "SQLiteCpp/Database.h"
#include "collector/sqlite/writer.h"
#include "gtest/gtest.h"
#include "tests/unit/test_support/poll_until.h"
#include "tests/unit/test_support/status_matchers.h"
#include "tests/unit/test_support/temp_dir.h"

namespace eroom::collector {
namespace {

using ::eroom::test_support::IsOk;
using ::eroom::test_support::TempDirTest;

constexpr int64_t kPageBytes = 16384;  // UseLargePagesIfNew's.

class WalCheckpointerTest : public TempDirTest {
 protected:
  void SetUp() override {
    path_ = PathIn("eroom.db");
    absl::StatusOr<SQLite::Database> db = OpenWriteConnection(path_);
    ASSERT_THAT(db.status(), IsOk());
    writer_ = std::make_unique<SQLite::Database>(*std::move(db));
    writer_->exec("CREATE TABLE pages (content BLOB)");
  }

  std::unique_ptr<WalCheckpointer> StartWatching(int restart_frames) {
    absl::StatusOr<std::unique_ptr<WalCheckpointer>> checkpointer =
        WalCheckpointer::Start(path_, restart_frames);
    EXPECT_THAT(checkpointer.status(), IsOk());
    if (!checkpointer.ok()) return nullptr;
    (*checkpointer)->Watch(*writer_);
    return *std::move(checkpointer);
  }

  // One transaction that adds a page's worth of data.
  void CommitPage() {
    writer_->exec("INSERT INTO pages VALUES (zeroblob(16384))");
  }

  int64_t FileBytes(const std::string& path) {
    return static_cast<int64_t>(std::filesystem::file_size(path));
  }

  std::string path_;
  // Each test closes it before its checkpointer goes, as Watch requires.
  std::unique_ptr<SQLite::Database> writer_;
};

TEST_F(WalCheckpointerTest, ThreadCopiesEachCommitIntoTheDatabase) {
  std::unique_ptr<WalCheckpointer> checkpointer =
      StartWatching(WalCheckpointer::kDefaultRestartFrames);
  ASSERT_NE(checkpointer, nullptr);
  const int64_t before = FileBytes(path_);
  constexpr int kCommits = 20;
  for (int i = 0; i < kCommits; ++i) CommitPage();
  // Far below the restart size and SQLite's own 1,000 pages: only the
  // thread copies, and the pages reach the database file only by a copy.
  EXPECT_TRUE(PollUntil([&] {
    return FileBytes(path_) >= before + kCommits * kPageBytes;
  })) << FileBytes(path_)
      << " bytes";
  writer_.reset();
}

TEST_F(WalCheckpointerTest, LogStartsOverUnderAWriterThatNeverPauses) {
  constexpr int kRestartFrames = 16;
  std::unique_ptr<WalCheckpointer> checkpointer = StartWatching(kRestartFrames);
  ASSERT_NE(checkpointer, nullptr);
  // Each commit adds a few frames and the next begins at once, before the
  // thread has copied them: without the writer's own copy at the restart
  // size the log would hold every commit, at least a page each. Commits
  // that find the thread copying try again at the next.
  constexpr int kCommits = 1000;
  for (int i = 0; i < kCommits; ++i) CommitPage();
  const int64_t frame_bytes = kPageBytes + 24;
  EXPECT_LT(FileBytes(path_ + "-wal"), kCommits / 5 * frame_bytes);
  writer_.reset();
}

TEST_F(WalCheckpointerTest, StartFailsOnAMissingDatabase) {
  EXPECT_FALSE(WalCheckpointer::Start(PathIn("missing/eroom.db")).ok());
}

}  // namespace
}  // namespace eroom::collector
