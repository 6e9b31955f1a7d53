#include "agent/file_watcher.h"

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/unit/test_support/status_matchers.h"
#include "tests/unit/test_support/temp_dir.h"

namespace eroom::agent {

using ::eroom::test_support::IsOk;
namespace {

namespace fs = std::filesystem;

// Long enough that reaching it means the wake-up did not happen; waits in
// these tests end through an event that already happened, not by time.
constexpr absl::Duration kNever = absl::Seconds(20);
constexpr absl::Duration kPrompt = absl::Seconds(5);

class FileWatcherTest : public testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<FileWatcher>> watcher =
        FileWatcher::Create(/*use_inotify=*/true);
    ASSERT_THAT(watcher, IsOk());
    watcher_ = std::move(*watcher);
  }

  void RequireInotify() {
    if (!watcher_->uses_inotify()) GTEST_SKIP() << "no inotify here";
  }

  // How long WaitForChange took.
  absl::Duration TimedWait(absl::Duration min_wait, absl::Duration max_wait) {
    const absl::Time start = absl::Now();
    watcher_->WaitForChange(min_wait, max_wait);
    return absl::Now() - start;
  }

  test_support::TempDir temp_dir_{"file_watcher"};
  const std::string dir_ = temp_dir_.path().string();
  std::unique_ptr<FileWatcher> watcher_;
};

TEST_F(FileWatcherTest, WriteInAWatchedDirectoryEndsTheWait) {
  RequireInotify();
  watcher_->Watch({dir_});
  EXPECT_FALSE(watcher_->TakeChanges());
  std::ofstream(dir_ + "/server.log") << "line\n";
  EXPECT_LT(TimedWait(absl::ZeroDuration(), kNever), kPrompt);
  EXPECT_TRUE(watcher_->TakeChanges());
  EXPECT_FALSE(watcher_->TakeChanges());
}

TEST_F(FileWatcherTest, RenameAndDeleteAreChanges) {
  RequireInotify();
  std::ofstream(dir_ + "/server.log") << "line\n";
  watcher_->Watch({dir_});
  fs::rename(dir_ + "/server.log", dir_ + "/server.2025-06-16.log");
  EXPECT_TRUE(watcher_->TakeChanges());
  fs::remove(dir_ + "/server.2025-06-16.log");
  EXPECT_TRUE(watcher_->TakeChanges());
}

TEST_F(FileWatcherTest, WakeEndsTheWaitAtOnce) {
  watcher_->Wake();
  EXPECT_LT(TimedWait(kNever, kNever), kPrompt);
}

TEST_F(FileWatcherTest, WakeFromAnotherThread) {
  std::thread waker([this] { watcher_->Wake(); });
  EXPECT_LT(TimedWait(kNever, kNever), kPrompt);
  waker.join();
}

TEST_F(FileWatcherTest, ChangeReturnsNoSoonerThanMinWait) {
  RequireInotify();
  watcher_->Watch({dir_});
  std::ofstream(dir_ + "/server.log") << "line\n";
  const absl::Duration waited = TimedWait(absl::Milliseconds(30), kNever);
  EXPECT_GE(waited, absl::Milliseconds(30));
  EXPECT_LT(waited, kPrompt);
}

TEST_F(FileWatcherTest, DirectoryCreatedAgainIsWatchedAgain) {
  RequireInotify();
  const std::string logs = dir_ + "/logs";
  fs::create_directory(logs);
  watcher_->Watch({logs, dir_ + "/missing"});
  fs::remove(logs);
  EXPECT_TRUE(watcher_->TakeChanges());
  fs::create_directory(logs);
  watcher_->Watch({logs});
  watcher_->TakeChanges();
  std::ofstream(logs + "/server.log") << "line\n";
  EXPECT_TRUE(watcher_->TakeChanges());
}

TEST(FileWatcherFallbackTest, WithoutInotifyWaitsTimeOut) {
  absl::StatusOr<std::unique_ptr<FileWatcher>> watcher =
      FileWatcher::Create(/*use_inotify=*/false);
  ASSERT_THAT(watcher, IsOk());
  EXPECT_FALSE((*watcher)->uses_inotify());
  (*watcher)->Watch({testing::TempDir()});
  const absl::Time start = absl::Now();
  (*watcher)->WaitForChange(absl::ZeroDuration(), absl::Milliseconds(20));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(20));
  EXPECT_FALSE((*watcher)->TakeChanges());
  (*watcher)->Wake();
  (*watcher)->WaitForChange(kNever, kNever);  // Returns: woken.
}

}  // namespace
}  // namespace eroom::agent
