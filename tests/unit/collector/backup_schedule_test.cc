#include "collector/backup_schedule.h"

#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/test_support/fake_clock.h"
#include "tests/unit/test_support/temp_dir.h"

namespace eroom::collector {
namespace {
using ::testing::ElementsAre;
using ::testing::IsEmpty;

class BackupScheduleTest : public test_support::TempDirTest {
 protected:
  BackupSchedule MakeSchedule(int keep = 3) {
    return BackupSchedule(
        BackupScheduleConfig{
            .dir = PathIn("backups"), .every = absl::Hours(6), .keep = keep},
        clock_, [this](const std::string& path) -> absl::StatusOr<int64_t> {
          copied_to_.push_back(path);
          if (!fail_with_.ok()) return fail_with_;
          std::ofstream(path) << "copy";
          return 4;
        });
  }

  std::string Name(absl::Duration after_start) {
    return BackupSchedule::CopyName(start_ + after_start);
  }

  const absl::Time start_ = absl::FromUnixSeconds(1750000000);
  FakeClock clock_{start_};
  std::vector<std::string> copied_to_;
  absl::Status fail_with_;
};

TEST_F(BackupScheduleTest, CopiesAtOnceThenEveryIntervalKeepingTheNewest) {
  BackupSchedule schedule = MakeSchedule(/*keep=*/2);
  EXPECT_EQ(schedule.RunDue(), start_ + absl::Hours(6));
  EXPECT_THAT(schedule.Copies(), ElementsAre(Name(absl::ZeroDuration())));
  // Written under another name, then renamed.
  EXPECT_THAT(copied_to_,
              ElementsAre(PathIn("backups/" + Name(absl::ZeroDuration())) +
                          ".partial"));

  clock_.Advance(absl::Hours(5));
  EXPECT_EQ(schedule.RunDue(), start_ + absl::Hours(6));
  EXPECT_EQ(copied_to_.size(), 1u);

  clock_.Advance(absl::Hours(1));
  EXPECT_EQ(schedule.RunDue(), start_ + absl::Hours(12));
  clock_.Advance(absl::Hours(6));
  schedule.RunDue();
  EXPECT_THAT(schedule.Copies(),
              ElementsAre(Name(absl::Hours(6)), Name(absl::Hours(12))));
}

TEST_F(BackupScheduleTest, ARestartGoesOnFromTheNewestCopy) {
  MakeSchedule().RunDue();
  clock_.Advance(absl::Hours(2));
  BackupSchedule restarted = MakeSchedule();
  EXPECT_EQ(restarted.RunDue(), start_ + absl::Hours(6));
  EXPECT_EQ(copied_to_.size(), 1u);
}

TEST_F(BackupScheduleTest, AFailedCopyLeavesNothingAndIsTriedAgainSoon) {
  BackupSchedule schedule = MakeSchedule();
  fail_with_ = absl::UnavailableError("disk full");
  const absl::Time retry = schedule.RunDue();
  EXPECT_LT(retry, start_ + absl::Hours(6));
  EXPECT_GT(retry, start_);
  EXPECT_THAT(schedule.Copies(), IsEmpty());
  EXPECT_FALSE(std::filesystem::exists(copied_to_.back()));

  fail_with_ = absl::OkStatus();
  clock_.Set(retry);
  schedule.RunDue();
  EXPECT_EQ(schedule.Copies().size(), 1u);
}

TEST_F(BackupScheduleTest, OtherFilesInTheDirectoryAreLeftAlone) {
  std::filesystem::create_directories(PathIn("backups"));
  std::ofstream(PathIn("backups/notes.txt")) << "mine";
  BackupSchedule schedule = MakeSchedule(/*keep=*/1);
  for (int i = 0; i < 3; ++i) {
    schedule.RunDue();
    clock_.Advance(absl::Hours(6));
  }
  EXPECT_EQ(schedule.Copies().size(), 1u);
  EXPECT_TRUE(std::filesystem::exists(PathIn("backups/notes.txt")));
}

}  // namespace
}  // namespace eroom::collector
