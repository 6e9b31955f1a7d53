#include "agent/log_file_scanner.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/agent/log_test_privileges.h"
#include "tests/unit/test_support/temp_dir.h"

namespace eroom::agent {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;

uint64_t InodeOf(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0 ? info.st_ino : 0;
}

class LogFileScannerTest : public testing::Test {
 protected:
  std::string Touch(const std::string& name, const std::string& text = "x\n") {
    const std::string path = dir_ + "/" + name;
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream(path) << text;
    return path;
  }

  std::vector<std::string> Paths(const LogFileScan& scan) const {
    std::vector<std::string> paths;
    for (const FoundLogFile& file : scan.files) paths.push_back(file.path);
    return paths;
  }

  test_support::TempDir temp_dir_{"log_file_scanner"};
  const std::string dir_ = temp_dir_.path().string();
};

TEST(IsExcludedLogPathTest, ArchivesAndCompressedFiles) {
  EXPECT_TRUE(IsExcludedLogPath("logs/archive/server.2025-06-01.log"));
  EXPECT_TRUE(IsExcludedLogPath("/srv/eroom/logs/archive/x/y.log"));
  EXPECT_TRUE(IsExcludedLogPath("logs/server.2025-06-01.log.gz"));
  EXPECT_TRUE(IsExcludedLogPath("logs/server.log.zst"));
  EXPECT_FALSE(IsExcludedLogPath("logs/server.log"));
  EXPECT_FALSE(IsExcludedLogPath("logs/archive"));  // A file so named.
  EXPECT_FALSE(IsExcludedLogPath("logs/archived/server.log"));
}

TEST_F(LogFileScannerTest, ExpandsPatternsInOrderAndSkipsWhatIsNoLog) {
  const std::string server = Touch("logs/server.log");
  const std::string daily = Touch("logs/server.2025-06-15.log");
  const std::string eroom = Touch("logs/eroom.log");
  Touch("logs/archive/server.2025-06-01.log");
  Touch("logs/server.2025-06-01.log.gz");
  Touch("logs/other.txt");
  fs::create_directory(dir_ + "/logs/server.old.log");
  ASSERT_EQ(mkfifo((dir_ + "/logs/server.fifo.log").c_str(), 0644), 0);

  const LogFileScan scan =
      ScanLogFiles({dir_ + "/logs/server.log", dir_ + "/logs/server.*.log",
                    dir_ + "/logs/{eroom,missing}*.log"});
  EXPECT_THAT(Paths(scan), ElementsAre(server, daily, eroom));
  EXPECT_THAT(scan.problems,
              ElementsAre(Pair(dir_ + "/logs/server.fifo.log",
                               "is not a regular file (skipped)"),
                          Pair(dir_ + "/logs/server.old.log",
                               "is not a regular file (skipped)")));
  EXPECT_TRUE(scan.complete);
  EXPECT_THAT(scan.directories, ElementsAre(dir_ + "/logs"));
  EXPECT_EQ(scan.files[0].size, 2u);
}

TEST_F(LogFileScannerTest, AFileMatchedTwiceIsFoundOnce) {
  const std::string server = Touch("logs/server.log");
  fs::create_hard_link(server, dir_ + "/logs/eroom.log");
  const LogFileScan scan =
      ScanLogFiles({dir_ + "/logs/server.log", dir_ + "/logs/*.log"});
  EXPECT_THAT(Paths(scan), ElementsAre(server));
}

TEST_F(LogFileScannerTest, MissingIsCompleteAndFindsNothing) {
  const LogFileScan scan =
      ScanLogFiles({dir_ + "/logs/server.log", dir_ + "/logs/server.*.log"});
  EXPECT_THAT(scan.files, IsEmpty());
  EXPECT_THAT(scan.problems, IsEmpty());
  EXPECT_TRUE(scan.complete);
}

// A directory that cannot be read may hold known files: the scan says it
// is incomplete, so the tailer does not take them for gone.
TEST_F(LogFileScannerTest, UnreadableDirectoryMakesTheScanIncomplete) {
  Touch("locked/server.log");
  fs::permissions(dir_, fs::perms::owner_all | fs::perms::others_read |
                            fs::perms::others_exec);
  fs::permissions(dir_ + "/locked", fs::perms::none, fs::perm_options::replace);
  const std::string dir = dir_;
  const auto scenario = [dir]() -> std::string {
    for (const std::string& pattern :
         {dir + "/locked/server.log", dir + "/locked/*.log"}) {
      const LogFileScan scan = ScanLogFiles({pattern});
      if (!scan.files.empty() || scan.complete || scan.problems.size() != 1) {
        return "unreadable directory not reported for " + pattern;
      }
    }
    return "";
  };
  if (geteuid() != 0) {
    EXPECT_EQ(scenario(), "");
    return;
  }
  const ScenarioResult result = RunAsNobody(scenario);
  if (result == ScenarioResult::kCannotDropPrivileges) {
    GTEST_SKIP() << "cannot switch to nobody";
  }
  EXPECT_EQ(result, ScenarioResult::kPassed) << "see the message above";
}

TEST_F(LogFileScannerTest, DirectoriesWithWildcardsAreExpanded) {
  Touch("a/logs/server.log");
  Touch("b/logs/server.log");
  Touch("archive/logs/server.log");
  const LogFileScan scan = ScanLogFiles({dir_ + "/*/logs/server.log"});
  EXPECT_EQ(scan.files.size(), 2u);
  EXPECT_THAT(scan.directories,
              ElementsAre(dir_ + "/a/logs", dir_ + "/b/logs"));
}

// The logs directory is ERoom's to write: a link placed there must not make
// the agent read what lies outside the ERoom directory.
TEST_F(LogFileScannerTest, SymlinksLeadingOutOfTheRootAreRefused) {
  const std::string root = dir_ + "/eroom";
  const std::string secret = Touch("secret", "root only\n");
  Touch("elsewhere/server.2025-06-15.log");
  const std::string inside = Touch("eroom/data/eroom.log");
  Touch("eroom/logs/.keep");
  fs::create_symlink(secret, root + "/logs/server.log");
  fs::create_symlink("../data/eroom.log", root + "/logs/eroom.log");
  fs::create_symlink(dir_ + "/elsewhere", root + "/linked");
  const std::vector<std::string> patterns = {root + "/logs/server.log",
                                             root + "/logs/eroom*.log",
                                             root + "/linked/server.*.log"};

  const LogFileScan confined = ScanLogFiles(patterns, root);
  EXPECT_THAT(Paths(confined), ElementsAre(root + "/logs/eroom.log"));
  ASSERT_EQ(confined.problems.size(), 2u);
  EXPECT_EQ(confined.problems[0].first, root + "/logs/server.log");
  EXPECT_THAT(confined.problems[0].second,
              HasSubstr("symbolic link leads outside " + root + " (to " +
                        secret + ")"));
  EXPECT_EQ(confined.problems[1].first, root + "/linked/server.2025-06-15.log");
  EXPECT_TRUE(confined.complete);
  EXPECT_EQ(confined.files[0].inode, InodeOf(inside));

  // Links are allowed to leave it: everything is found.
  const LogFileScan unconfined = ScanLogFiles(patterns);
  EXPECT_THAT(Paths(unconfined),
              ElementsAre(root + "/logs/server.log", root + "/logs/eroom.log",
                          root + "/linked/server.2025-06-15.log"));
  EXPECT_THAT(unconfined.problems, IsEmpty());
}

// /opt/eroom is often a link to the installed release: what it leads to is
// the root.
TEST_F(LogFileScannerTest, RootReachedThroughALinkIsTheLinksTarget) {
  Touch("release-1.2/logs/server.log");
  fs::create_symlink(dir_ + "/release-1.2", dir_ + "/eroom");
  const std::string root = dir_ + "/eroom";
  const LogFileScan scan = ScanLogFiles({root + "/logs/server.log"}, root);
  EXPECT_THAT(Paths(scan), ElementsAre(root + "/logs/server.log"));
  EXPECT_THAT(scan.problems, IsEmpty());
}

// A path outside the root that the operator configured, reached through no
// link, is read as configured.
TEST_F(LogFileScannerTest, ConfiguredPathOutsideTheRootWithoutLinksIsRead) {
  const std::string other = Touch("var/log/other.log");
  const LogFileScan scan = ScanLogFiles({other}, dir_ + "/eroom");
  EXPECT_THAT(Paths(scan), ElementsAre(other));
}

}  // namespace
}  // namespace eroom::agent
