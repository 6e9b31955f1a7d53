#include "agent/log_housekeeper.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/unit/agent/log_test_privileges.h"
#include "tests/unit/test_support/fake_clock.h"
#include "tests/unit/test_support/status_matchers.h"
#include "tests/unit/test_support/temp_dir.h"

namespace eroom::agent {
namespace {
namespace v1 = ::eroom::monitor::v1;

using test_support::IsOk;
using test_support::StatusIs;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr absl::Duration kDay = absl::Hours(24);

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

// The bytes a gzip file decompresses to (zlib's own reader).
std::string Gunzip(const std::string& path) {
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) return "<cannot open>";
  std::string out;
  char buffer[4096];
  int read;
  while ((read = gzread(file, buffer, sizeof(buffer))) > 0) {
    out.append(buffer, static_cast<size_t>(read));
  }
  gzclose(file);
  return out;
}

absl::Time ModifiedTime(const std::string& path) {
  struct stat info {};
  lstat(path.c_str(), &info);
  return absl::TimeFromTimespec(info.st_mtim);
}

void SetModifiedTime(const std::string& path, absl::Time time) {
  const struct timespec times[2] = {absl::ToTimespec(time),
                                    absl::ToTimespec(time)};
  ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW), 0)
      << path;
}

// Every file under `root` (directories aside): path -> (size, mtime), to
// prove nothing changed.
std::map<std::string, std::pair<uintmax_t, absl::Time>> Listing(
    const std::filesystem::path& root) {
  std::map<std::string, std::pair<uintmax_t, absl::Time>> files;
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(root)) {
    if (entry.is_directory()) continue;
    const std::string path = entry.path().string();
    files[path] = {entry.is_regular_file() ? entry.file_size() : 0,
                   ModifiedTime(path)};
  }
  return files;
}

// A log of `lines` similar lines: compressible, as logs are.
std::string LogText(int lines) {
  std::string text;
  for (int i = 0; i < lines; ++i) {
    absl::StrAppend(&text, "2025-06-01 10:00:", i % 60,
                    ".000 [main] INFO  c.e.Room - room ", i, " started\n");
  }
  return text;
}

// An ERoom directory (the test's TempDir) with logs/*.log and the default
// policy: compress after 7 days, delete archives after 30, into
// logs/archive. The clock is the fake clock's; files get ages relative to
// it.
class LogHousekeeperTest : public test_support::TempDirTest {
 protected:
  LogHousekeeperTest() {
    std::filesystem::create_directories(PathIn("logs"));
    logs_.paths = {PathIn("logs/*.log")};
    logs_.eroom_dir = temp_dir().string();
    policy_.enabled = true;
    policy_.archive_dir = PathIn("logs/archive");
  }

  std::unique_ptr<LogHousekeeper> Housekeeper() {
    return LogHousekeeper::Create(
        policy_, logs_,
        [this]() -> absl::StatusOr<std::vector<LogFileStatus>> {
          return tailed_;
        },
        clock_);
  }

  // Writes `content` to `name` (under the ERoom directory), last modified
  // `age` before the clock's now.
  std::string WriteLog(const std::string& name, const std::string& content,
                       absl::Duration age) {
    const std::string path = PathIn(name);
    std::filesystem::create_directories(
        std::filesystem::path(path).parent_path());
    std::ofstream(path, std::ios::binary) << content;
    SetModifiedTime(path, clock_.Now() - age);
    return path;
  }

  FakeClock clock_;
  LogSourceOptions logs_;
  HousekeepingPolicy policy_;
  std::vector<LogFileStatus> tailed_;
};

const v1::HousekeepingAction* Find(
    const google::protobuf::RepeatedPtrField<v1::HousekeepingAction>& actions,
    const std::string& path) {
  for (const v1::HousekeepingAction& action : actions) {
    if (action.path() == path) return &action;
  }
  return nullptr;
}

TEST_F(LogHousekeeperTest, CompressesOldLogsIntoTheArchiveKeepingTheirTime) {
  const std::string content = LogText(2000);
  const std::string old_log =
      WriteLog("logs/server.2025-06-01.log", content, 10 * kDay);
  const absl::Time modified = ModifiedTime(old_log);
  WriteLog("logs/server.log", "today\n", absl::Minutes(1));

  std::unique_ptr<LogHousekeeper> housekeeper = Housekeeper();
  absl::StatusOr<v1::HousekeepingReport> report = housekeeper->Run(false);
  ASSERT_THAT(report, IsOk());

  const std::string archive = PathIn("logs/archive/server.2025-06-01.log.gz");
  ASSERT_THAT(report->actions(), SizeIs(1));
  const v1::HousekeepingAction& action = report->actions(0);
  EXPECT_EQ(action.kind(), v1::HousekeepingAction::COMPRESS);
  EXPECT_EQ(action.path(), old_log);
  EXPECT_EQ(action.target(), archive);
  EXPECT_EQ(action.reason(), "");
  EXPECT_EQ(action.bytes_before(), content.size());
  EXPECT_EQ(action.bytes_after(), std::filesystem::file_size(archive));
  EXPECT_EQ(action.modified_unix_ms(), absl::ToUnixMillis(modified));
  EXPECT_LT(action.bytes_after(), action.bytes_before() / 4);
  EXPECT_EQ(report->bytes_freed(),
            action.bytes_before() - action.bytes_after());

  EXPECT_FALSE(std::filesystem::exists(old_log));
  EXPECT_EQ(Gunzip(archive), content);
  EXPECT_EQ(ModifiedTime(archive), modified);
  // Only the archive is left in the archive directory: no temporary file.
  EXPECT_THAT(Listing(PathIn("logs/archive")), SizeIs(1));

  EXPECT_EQ(housekeeper->last_run_unix_ms(), absl::ToUnixMillis(clock_.Now()));
  EXPECT_EQ(housekeeper->oldest_uncompressed_log_unix_ms(),
            absl::ToUnixMillis(ModifiedTime(PathIn("logs/server.log"))));
}

TEST_F(LogHousekeeperTest, OldestUncompressedLogIsKnownBeforeAnyRun) {
  const std::string old_log = WriteLog("logs/a.log", "a\n", 10 * kDay);
  WriteLog("logs/b.log", "b\n", kDay);
  std::unique_ptr<LogHousekeeper> housekeeper = Housekeeper();
  EXPECT_EQ(housekeeper->last_run_unix_ms(), 0);
  EXPECT_EQ(housekeeper->oldest_uncompressed_log_unix_ms(),
            absl::ToUnixMillis(ModifiedTime(old_log)));
  EXPECT_EQ(OldestLogUnixMs(logs_), absl::ToUnixMillis(ModifiedTime(old_log)));
}

TEST_F(LogHousekeeperTest, LeavesRecentAndActiveFilesAlone) {
  const std::string recent = WriteLog("logs/recent.log", "recent\n", 6 * kDay);
  // Old by its time, but the tailer still has it open (read to its end).
  const std::string active = WriteLog("logs/active.log", "active\n", 9 * kDay);
  tailed_ = {{.path = active, .offset = 7, .size = 7, .open = true},
             {.path = recent, .offset = 7, .size = 7, .open = false}};
  const auto before = Listing(temp_dir());

  absl::StatusOr<v1::HousekeepingReport> report = Housekeeper()->Run(false);
  ASSERT_THAT(report, IsOk());
  EXPECT_THAT(report->actions(), IsEmpty());
  ASSERT_THAT(report->skipped(), SizeIs(2));
  const v1::HousekeepingAction* skipped_recent =
      Find(report->skipped(), recent);
  ASSERT_NE(skipped_recent, nullptr);
  EXPECT_EQ(skipped_recent->kind(), v1::HousekeepingAction::SKIP);
  EXPECT_THAT(skipped_recent->reason(), HasSubstr("within compress_after"));
  const v1::HousekeepingAction* skipped_active =
      Find(report->skipped(), active);
  ASSERT_NE(skipped_active, nullptr);
  EXPECT_THAT(skipped_active->reason(), HasSubstr("the tailer has it open"));
  EXPECT_EQ(report->bytes_freed(), 0u);

  EXPECT_EQ(Listing(temp_dir()), before);
}

TEST_F(LogHousekeeperTest, SkipsAFileTheTailerHasNotReadToItsEnd) {
  // A rotated file the tailer is still catching up on.
  const std::string rotated =
      WriteLog("logs/server.2025-06-01.log", LogText(10), 8 * kDay);
  const uint64_t size = std::filesystem::file_size(rotated);
  tailed_ = {{.path = rotated, .offset = 100, .size = size, .open = false}};

  absl::StatusOr<v1::HousekeepingReport> report = Housekeeper()->Run(false);
  ASSERT_THAT(report, IsOk());
  EXPECT_THAT(report->actions(), IsEmpty());
  ASSERT_THAT(report->skipped(), SizeIs(1));
  EXPECT_EQ(report->skipped(0).path(), rotated);
  EXPECT_EQ(report->skipped(0).reason(),
            absl::StrCat("the tailer has read 100 of its ", size, " bytes"));
  EXPECT_TRUE(std::filesystem::exists(rotated));

  // Once it has, the file goes.
  tailed_[0].offset = size;
  report = Housekeeper()->Run(false);
  ASSERT_THAT(report, IsOk());
  ASSERT_THAT(report->actions(), SizeIs(1));
  EXPECT_EQ(report->actions(0).kind(), v1::HousekeepingAction::COMPRESS);
  EXPECT_FALSE(std::filesystem::exists(rotated));
}

TEST_F(LogHousekeeperTest, DeletesArchivesOlderThanTheRetentionOnly) {
  const std::string expired =
      WriteLog("logs/archive/a.log.gz", std::string(1000, 'x'), 31 * kDay);
  const std::string kept =
      WriteLog("logs/archive/b.log.gz", std::string(500, 'y'), 29 * kDay);
  const std::string not_an_archive =
      WriteLog("logs/archive/notes.txt", "keep me", 90 * kDay);
  const std::string outside_archive =
      WriteLog("logs/old.log.gz", "not in the archive", 90 * kDay);

  absl::StatusOr<v1::HousekeepingReport> report = Housekeeper()->Run(false);
  ASSERT_THAT(report, IsOk());
  ASSERT_THAT(report->actions(), SizeIs(1));
  const v1::HousekeepingAction& action = report->actions(0);
  EXPECT_EQ(action.kind(), v1::HousekeepingAction::DELETE_ARCHIVE);
  EXPECT_EQ(action.path(), expired);
  EXPECT_EQ(action.bytes_before(), 1000u);
  EXPECT_EQ(action.bytes_after(), 0u);
  EXPECT_EQ(report->bytes_freed(), 1000u);
  EXPECT_FALSE(std::filesystem::exists(expired));
  EXPECT_TRUE(std::filesystem::exists(kept));
  EXPECT_TRUE(std::filesystem::exists(not_an_archive));
  EXPECT_TRUE(std::filesystem::exists(outside_archive));
}

TEST_F(LogHousekeeperTest, BytesFreedAddsCompressionsAndDeletions) {
  WriteLog("logs/a.log", LogText(500), 8 * kDay);
  WriteLog("logs/b.log", LogText(800), 20 * kDay);
  WriteLog("logs/archive/old.log.gz", std::string(4096, 'z'), 40 * kDay);

  absl::StatusOr<v1::HousekeepingReport> report = Housekeeper()->Run(false);
  ASSERT_THAT(report, IsOk());
  ASSERT_THAT(report->actions(), SizeIs(3));
  // Deletions come first.
  EXPECT_EQ(report->actions(0).kind(), v1::HousekeepingAction::DELETE_ARCHIVE);
  uint64_t freed = 0;
  for (const v1::HousekeepingAction& action : report->actions()) {
    EXPECT_EQ(action.reason(), "") << action.path();
    freed += action.bytes_before() - action.bytes_after();
  }
  EXPECT_EQ(report->bytes_freed(), freed);
  EXPECT_EQ(Gunzip(PathIn("logs/archive/a.log.gz")), LogText(500));
  EXPECT_EQ(Gunzip(PathIn("logs/archive/b.log.gz")), LogText(800));
}

TEST_F(LogHousekeeperTest, DryRunChangesNothingAndReportsTheSamePlan) {
  WriteLog("logs/a.log", LogText(500), 8 * kDay);
  WriteLog("logs/recent.log", "recent\n", kDay);
  WriteLog("logs/archive/a.log.gz", "an older a.log", 3 * kDay);
  WriteLog("logs/archive/old.log.gz", std::string(4096, 'z'), 40 * kDay);
  const auto before = Listing(temp_dir());
  std::unique_ptr<LogHousekeeper> housekeeper = Housekeeper();

  absl::StatusOr<v1::HousekeepingReport> dry = housekeeper->Run(true);
  ASSERT_THAT(dry, IsOk());
  EXPECT_TRUE(dry->dry_run());
  EXPECT_EQ(Listing(temp_dir()), before);
  EXPECT_EQ(housekeeper->last_run_unix_ms(), 0);
  ASSERT_THAT(dry->actions(), SizeIs(2));
  // The name taken by the older archive is not reused.
  EXPECT_EQ(dry->actions(1).target(), PathIn("logs/archive/a.log.1.gz"));

  absl::StatusOr<v1::HousekeepingReport> real = housekeeper->Run(false);
  ASSERT_THAT(real, IsOk());
  EXPECT_FALSE(real->dry_run());
  real->set_dry_run(true);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*dry, *real))
      << "dry: " << dry->DebugString() << "real: " << real->DebugString();
  EXPECT_EQ(ReadFile(PathIn("logs/archive/a.log.gz")), "an older a.log");
  EXPECT_EQ(Gunzip(PathIn("logs/archive/a.log.1.gz")), LogText(500));
}

TEST_F(LogHousekeeperTest, DryRunDoesNotCreateTheArchiveDirectory) {
  WriteLog("logs/a.log", "a\n", 8 * kDay);
  absl::StatusOr<v1::HousekeepingReport> dry = Housekeeper()->Run(true);
  ASSERT_THAT(dry, IsOk());
  ASSERT_THAT(dry->actions(), SizeIs(1));
  EXPECT_EQ(dry->actions(0).target(), PathIn("logs/archive/a.log.gz"));
  EXPECT_FALSE(std::filesystem::exists(PathIn("logs/archive")));
}

// The scenario behind UnreadableFileIsReportedAndTheRunGoesOn, as a user
// permissions apply to: what went wrong, or "".
std::string UnreadableFileScenario(const std::string& root) {
  FakeClock clock;
  LogSourceOptions logs;
  logs.paths = {root + "/logs/*.log"};
  logs.eroom_dir = root;
  HousekeepingPolicy policy;
  policy.archive_dir = root + "/logs/archive";
  std::unique_ptr<LogHousekeeper> housekeeper = LogHousekeeper::Create(
      policy, logs,
      []() -> absl::StatusOr<std::vector<LogFileStatus>> {
        return std::vector<LogFileStatus>{};
      },
      clock);
  absl::StatusOr<v1::HousekeepingReport> report = housekeeper->Run(false);
  if (!report.ok()) return report.status().ToString();
  const v1::HousekeepingAction* bad =
      Find(report->actions(), root + "/logs/a-unreadable.log");
  const v1::HousekeepingAction* good =
      Find(report->actions(), root + "/logs/b-readable.log");
  if (bad == nullptr || good == nullptr) {
    return "missing action: " + report->DebugString();
  }
  if (bad->kind() != v1::HousekeepingAction::COMPRESS ||
      bad->reason().find("cannot open") == std::string::npos ||
      bad->bytes_after() != 0) {
    return "unreadable file: " + bad->DebugString();
  }
  if (!good->reason().empty() || Gunzip(good->target()) != LogText(200)) {
    return "readable file: " + good->DebugString();
  }
  if (report->bytes_freed() != good->bytes_before() - good->bytes_after()) {
    return "bytes freed: " + report->DebugString();
  }
  if (!std::filesystem::exists(root + "/logs/a-unreadable.log")) {
    return "the unreadable file is gone";
  }
  if (housekeeper->oldest_uncompressed_log_unix_ms() == 0) {
    return "the unreadable file does not count as uncompressed";
  }
  return "";
}

TEST_F(LogHousekeeperTest, UnreadableFileIsReportedAndTheRunGoesOn) {
  const std::string unreadable =
      WriteLog("logs/a-unreadable.log", "secret\n", 10 * kDay);
  WriteLog("logs/b-readable.log", LogText(200), 10 * kDay);
  ASSERT_EQ(chmod(unreadable.c_str(), 0), 0);
  const std::string root = temp_dir().string();
  if (geteuid() != 0) {
    EXPECT_EQ(UnreadableFileScenario(root), "");
    return;
  }
  // Root reads any file: the scenario runs as nobody, owning the tree.
  ASSERT_EQ(chmod(root.c_str(), 0755), 0);
  for (const std::string& path :
       {root, PathIn("logs"), unreadable, PathIn("logs/b-readable.log")}) {
    ASSERT_EQ(chown(path.c_str(), kNobody, kNobody), 0) << path;
  }
  const ScenarioResult result =
      RunAsNobody([root] { return UnreadableFileScenario(root); });
  if (result == ScenarioResult::kCannotDropPrivileges) {
    GTEST_SKIP() << "cannot switch to nobody";
  }
  EXPECT_EQ(result, ScenarioResult::kPassed) << "see the message above";
}

TEST_F(LogHousekeeperTest, DoesNotFollowASymbolicLinkOutOfTheEroomDir) {
  test_support::TempDir outside("housekeeper-outside");
  const std::string secret = outside.PathIn("secret.log");
  std::ofstream(secret) << "not ERoom's\n";
  SetModifiedTime(secret, clock_.Now() - 10 * kDay);
  const std::string link = PathIn("logs/link.log");
  ASSERT_EQ(symlink(secret.c_str(), link.c_str()), 0);

  absl::StatusOr<v1::HousekeepingReport> report = Housekeeper()->Run(false);
  ASSERT_THAT(report, IsOk());
  EXPECT_THAT(report->actions(), IsEmpty());
  ASSERT_THAT(report->skipped(), SizeIs(1));
  EXPECT_EQ(report->skipped(0).path(), link);
  EXPECT_THAT(report->skipped(0).reason(), HasSubstr("leads outside"));
  EXPECT_EQ(ReadFile(secret), "not ERoom's\n");
  EXPECT_TRUE(std::filesystem::is_symlink(link));
}

TEST_F(LogHousekeeperTest, RefusesAnArchiveDirectoryLinkedOutOfTheEroomDir) {
  test_support::TempDir outside("housekeeper-outside");
  const std::string foreign = outside.PathIn("backup.gz");
  std::ofstream(foreign) << "someone else's archive";
  SetModifiedTime(foreign, clock_.Now() - 90 * kDay);
  ASSERT_EQ(symlink(outside.path().c_str(), PathIn("logs/archive").c_str()), 0);
  WriteLog("logs/a.log", "a\n", 10 * kDay);

  EXPECT_THAT(Housekeeper()->Run(false),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("leads outside")));
  EXPECT_TRUE(std::filesystem::exists(foreign));
  EXPECT_TRUE(std::filesystem::exists(PathIn("logs/a.log")));
}

TEST_F(LogHousekeeperTest, LinksAreFollowedOutsideWhenTheTailerMayFollowThem) {
  test_support::TempDir outside("housekeeper-outside");
  const std::string target = outside.PathIn("server.log");
  std::ofstream(target) << "kept elsewhere\n";
  SetModifiedTime(target, clock_.Now() - 10 * kDay);
  ASSERT_EQ(symlink(outside.path().c_str(), PathIn("logs/elsewhere").c_str()),
            0);
  logs_.paths = {PathIn("logs/elsewhere/*.log")};
  logs_.follow_symlinks_outside = true;

  absl::StatusOr<v1::HousekeepingReport> report = Housekeeper()->Run(false);
  ASSERT_THAT(report, IsOk());
  ASSERT_THAT(report->actions(), SizeIs(1));
  EXPECT_EQ(report->actions(0).reason(), "");
  EXPECT_EQ(Gunzip(PathIn("logs/archive/server.log.gz")), "kept elsewhere\n");
  EXPECT_FALSE(std::filesystem::exists(target));
}

TEST_F(LogHousekeeperTest, NeverTakesAnArchiveOrCompressedFileForALog) {
  logs_.paths = {PathIn("logs/*"), PathIn("logs/archive/*")};
  WriteLog("logs/archive/a.log", "in the archive\n", 10 * kDay);
  WriteLog("logs/b.log.gz", "compressed\n", 10 * kDay);

  absl::StatusOr<v1::HousekeepingReport> report = Housekeeper()->Run(false);
  ASSERT_THAT(report, IsOk());
  EXPECT_THAT(report->actions(), IsEmpty());
  EXPECT_EQ(ReadFile(PathIn("logs/archive/a.log")), "in the archive\n");
  EXPECT_EQ(ReadFile(PathIn("logs/b.log.gz")), "compressed\n");
}

TEST_F(LogHousekeeperTest, FailsWithoutTouchingFilesWhenTheTailerIsUnknown) {
  WriteLog("logs/a.log", "a\n", 10 * kDay);
  std::unique_ptr<LogHousekeeper> housekeeper = LogHousekeeper::Create(
      policy_, logs_,
      []() -> absl::StatusOr<std::vector<LogFileStatus>> {
        return absl::UnavailableError("log reading has not started");
      },
      clock_);
  EXPECT_THAT(housekeeper->Run(false),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_TRUE(std::filesystem::exists(PathIn("logs/a.log")));
  EXPECT_EQ(housekeeper->last_run_unix_ms(), 0);
}

TEST_F(LogHousekeeperTest, DoesNothingOnceStopped) {
  WriteLog("logs/a.log", "a\n", 10 * kDay);
  std::unique_ptr<LogHousekeeper> housekeeper = Housekeeper();
  housekeeper->Stop();
  EXPECT_THAT(housekeeper->Run(false), StatusIs(absl::StatusCode::kCancelled));
  EXPECT_TRUE(std::filesystem::exists(PathIn("logs/a.log")));
}

TEST_F(LogHousekeeperTest, LogsOfTheSameNameGetDistinctArchives) {
  logs_.paths = {PathIn("logs/*/server.log")};
  WriteLog("logs/node1/server.log", "one\n", 10 * kDay);
  WriteLog("logs/node2/server.log", "two\n", 10 * kDay);

  absl::StatusOr<v1::HousekeepingReport> report = Housekeeper()->Run(false);
  ASSERT_THAT(report, IsOk());
  ASSERT_THAT(report->actions(), SizeIs(2));
  EXPECT_EQ(report->actions(0).target(), PathIn("logs/archive/server.log.gz"));
  EXPECT_EQ(report->actions(1).target(),
            PathIn("logs/archive/server.log.1.gz"));
  EXPECT_EQ(Gunzip(PathIn("logs/archive/server.log.gz")), "one\n");
  EXPECT_EQ(Gunzip(PathIn("logs/archive/server.log.1.gz")), "two\n");
}

}  // namespace
}  // namespace eroom::agent
