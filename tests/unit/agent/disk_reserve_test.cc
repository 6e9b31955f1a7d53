#include "agent/disk_reserve.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>

#include "gtest/gtest.h"
#include "tests/unit/test_support/temp_dir.h"

namespace eroom::agent {
namespace {

using DiskReserveTest = test_support::TempDirTest;

TEST_F(DiskReserveTest, HoldsAllocatedBlocksUntilReleased) {
  const std::string path = PathIn("reserve");
  DiskReserve reserve(path, 1 << 20);
  ASSERT_TRUE(reserve.Acquire());
  EXPECT_TRUE(reserve.held());
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 1 << 20);
  // Real blocks, not a sparse file that a full disk could not back.
  EXPECT_GE(st.st_blocks * 512, 1 << 20);
  EXPECT_TRUE(reserve.Acquire());  // Held already: nothing changes.
  reserve.Release();
  EXPECT_FALSE(reserve.held());
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST_F(DiskReserveTest, TakesOverAReserveLeftByAnEarlierRun) {
  const std::string path = PathIn("reserve");
  ASSERT_TRUE(DiskReserve(path, 4096).Acquire());
  DiskReserve reserve(path, 4096);
  EXPECT_TRUE(reserve.Acquire());
  EXPECT_TRUE(reserve.held());
}

TEST_F(DiskReserveTest, SpaceThatIsNotThereIsRefusedAndLeavesNothing) {
  const std::string dir = temp_dir().string();
  EXPECT_GT(DiskReserve(dir + "/reserve", 0).FileSystemFreeBytes(), 0u);
  // A file size limit stands in for a full disk: asking the real file
  // system for more than it has would fill it for every other process.
  struct rlimit saved;
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &saved), 0);
  const struct rlimit limited = {.rlim_cur = 1 << 20,
                                 .rlim_max = saved.rlim_max};
  signal(SIGXFSZ, SIG_IGN);
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &limited), 0);
  DiskReserve reserve(dir + "/reserve", 4 << 20);
  const bool acquired = reserve.Acquire();
  setrlimit(RLIMIT_FSIZE, &saved);
  EXPECT_FALSE(acquired);
  EXPECT_FALSE(reserve.held());
  EXPECT_FALSE(std::filesystem::exists(dir + "/reserve"));
}

TEST_F(DiskReserveTest, UnwritableDirectoryIsRefused) {
  DiskReserve reserve("/nonexistent-dir/reserve", 4096);
  EXPECT_FALSE(reserve.Acquire());
  EXPECT_EQ(reserve.FileSystemFreeBytes(), 0u);
}

}  // namespace
}  // namespace eroom::agent
