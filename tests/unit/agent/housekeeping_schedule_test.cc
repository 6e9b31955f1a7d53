#include "agent/housekeeping_schedule.h"

#include <optional>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/test_support/fake_clock.h"

namespace eroom::agent {
namespace {
namespace v1 = ::eroom::monitor::v1;

using ::testing::HasSubstr;

// Korea: the ERoom hosts' zone, without daylight saving time.
const absl::TimeZone kSeoul = absl::FixedTimeZone(9 * 60 * 60);
constexpr absl::Duration kAt0330 = absl::Minutes(3 * 60 + 30);

absl::Time Seoul(int year, int month, int day, int hour, int minute,
                 int second = 0) {
  return absl::FromCivil(
      absl::CivilSecond(year, month, day, hour, minute, second), kSeoul);
}

TEST(NextDailyRunTest, TodayWhileTheTimeIsAhead) {
  EXPECT_EQ(NextDailyRun(Seoul(2026, 3, 10, 1, 0), kAt0330, kSeoul),
            Seoul(2026, 3, 10, 3, 30));
  EXPECT_EQ(NextDailyRun(Seoul(2026, 3, 10, 3, 29, 59), kAt0330, kSeoul),
            Seoul(2026, 3, 10, 3, 30));
}

TEST(NextDailyRunTest, TomorrowOnceTheTimeCame) {
  EXPECT_EQ(NextDailyRun(Seoul(2026, 3, 10, 3, 30), kAt0330, kSeoul),
            Seoul(2026, 3, 11, 3, 30));
  EXPECT_EQ(NextDailyRun(Seoul(2026, 3, 10, 23, 59, 59), kAt0330, kSeoul),
            Seoul(2026, 3, 11, 3, 30));
}

TEST(NextDailyRunTest, RollsOverMonthsAndYears) {
  EXPECT_EQ(NextDailyRun(Seoul(2026, 2, 28, 12, 0), kAt0330, kSeoul),
            Seoul(2026, 3, 1, 3, 30));
  EXPECT_EQ(NextDailyRun(Seoul(2026, 12, 31, 4, 0), kAt0330, kSeoul),
            Seoul(2027, 1, 1, 3, 30));
  EXPECT_EQ(NextDailyRun(Seoul(2026, 12, 31, 23, 59, 59), absl::ZeroDuration(),
                         kSeoul),
            Seoul(2027, 1, 1, 0, 0));
}

TEST(NextDailyRunTest, TimeOfDayIsTheZonesNotUtc) {
  // 03:30 in Seoul is 18:30 UTC the day before.
  EXPECT_EQ(NextDailyRun(absl::FromCivil(absl::CivilSecond(2026, 3, 9, 18, 0),
                                         absl::UTCTimeZone()),
                         kAt0330, kSeoul),
            absl::FromCivil(absl::CivilSecond(2026, 3, 9, 18, 30),
                            absl::UTCTimeZone()));
}

class FakeHousekeeper final : public LogHousekeeper {
 public:
  absl::StatusOr<v1::HousekeepingReport> Run(bool dry_run) override {
    ++runs;
    last_dry_run = dry_run;
    return result;
  }
  void Stop() override {}
  int64_t last_run_unix_ms() const override { return 0; }
  int64_t oldest_uncompressed_log_unix_ms() const override { return 0; }

  int runs = 0;
  bool last_dry_run = true;
  absl::StatusOr<v1::HousekeepingReport> result = v1::HousekeepingReport();
};

TEST(DailyHousekeepingTest, RunsOnceADayAtItsTime) {
  FakeClock clock(Seoul(2026, 3, 10, 1, 0));
  FakeHousekeeper housekeeper;
  DailyHousekeeping daily(housekeeper, kAt0330, kSeoul, clock);
  EXPECT_EQ(daily.next_run(), Seoul(2026, 3, 10, 3, 30));

  EXPECT_EQ(daily.Tick(), std::nullopt);
  clock.Set(Seoul(2026, 3, 10, 3, 29));
  EXPECT_EQ(daily.Tick(), std::nullopt);
  EXPECT_EQ(housekeeper.runs, 0);

  clock.Set(Seoul(2026, 3, 10, 3, 30, 20));
  std::optional<v1::Event> notice = daily.Tick();
  ASSERT_TRUE(notice.has_value());
  EXPECT_EQ(notice->notice().kind(), "housekeeping_done");
  EXPECT_EQ(housekeeper.runs, 1);
  EXPECT_FALSE(housekeeper.last_dry_run);
  EXPECT_EQ(daily.next_run(), Seoul(2026, 3, 11, 3, 30));

  clock.Set(Seoul(2026, 3, 10, 3, 31));
  EXPECT_EQ(daily.Tick(), std::nullopt);
  clock.Set(Seoul(2026, 3, 11, 3, 30));
  EXPECT_TRUE(daily.Tick().has_value());
  EXPECT_EQ(housekeeper.runs, 2);
}

TEST(DailyHousekeepingTest, MissedDaysAreNotCaughtUp) {
  FakeClock clock(Seoul(2026, 3, 10, 1, 0));
  FakeHousekeeper housekeeper;
  DailyHousekeeping daily(housekeeper, kAt0330, kSeoul, clock);
  clock.Set(Seoul(2026, 3, 13, 12, 0));
  EXPECT_TRUE(daily.Tick().has_value());
  EXPECT_EQ(daily.Tick(), std::nullopt);
  EXPECT_EQ(housekeeper.runs, 1);
  EXPECT_EQ(daily.next_run(), Seoul(2026, 3, 14, 3, 30));
}

TEST(DailyHousekeepingTest, AClockSetBackMovesTheRunBack) {
  FakeClock clock(Seoul(2026, 3, 10, 4, 0));
  FakeHousekeeper housekeeper;
  DailyHousekeeping daily(housekeeper, kAt0330, kSeoul, clock);
  EXPECT_EQ(daily.next_run(), Seoul(2026, 3, 11, 3, 30));
  clock.Set(Seoul(2026, 3, 9, 4, 0));
  EXPECT_EQ(daily.Tick(), std::nullopt);
  EXPECT_EQ(daily.next_run(), Seoul(2026, 3, 10, 3, 30));
}

TEST(DailyHousekeepingTest, AFailedRunIsReported) {
  FakeClock clock(Seoul(2026, 3, 10, 3, 0));
  FakeHousekeeper housekeeper;
  housekeeper.result = absl::FailedPreconditionError("archive directory x");
  DailyHousekeeping daily(housekeeper, kAt0330, kSeoul, clock);
  clock.Advance(absl::Hours(1));
  std::optional<v1::Event> notice = daily.Tick();
  ASSERT_TRUE(notice.has_value());
  EXPECT_EQ(notice->notice().kind(), "housekeeping_failed");
  EXPECT_THAT(notice->notice().message(), HasSubstr("archive directory x"));
}

v1::HousekeepingAction Action(v1::HousekeepingAction::Kind kind,
                              const std::string& path, uint64_t before,
                              uint64_t after, const std::string& reason = "") {
  v1::HousekeepingAction action;
  action.set_kind(kind);
  action.set_path(path);
  action.set_bytes_before(before);
  action.set_bytes_after(after);
  action.set_reason(reason);
  return action;
}

TEST(HousekeepingNoticeTest, SaysWhatWasDone) {
  v1::HousekeepingReport report;
  *report.add_actions() =
      Action(v1::HousekeepingAction::DELETE_ARCHIVE, "x.gz", 1 << 20, 0);
  *report.add_actions() =
      Action(v1::HousekeepingAction::COMPRESS, "a.log", 3 << 20, 1 << 20);
  *report.add_actions() =
      Action(v1::HousekeepingAction::COMPRESS, "b.log", (1 << 20) / 2, 0);
  *report.add_skipped() =
      Action(v1::HousekeepingAction::SKIP, "server.log", 10, 0, "active");
  report.set_bytes_freed((3 << 20) + (1 << 20) / 2);
  const absl::Time now = absl::FromUnixSeconds(1770000000);

  v1::Event event = HousekeepingNotice(report, now);
  EXPECT_EQ(event.notice().kind(), "housekeeping_done");
  EXPECT_EQ(event.notice().message(),
            "compressed 2 files, deleted 1 archives, freed 3.5 MB");
  EXPECT_EQ(event.notice().count(), 3);
  EXPECT_EQ(event.notice().time_unix_ms(), absl::ToUnixMillis(now));
}

TEST(SummarizeHousekeepingTest, ADryRunSaysWhatItWouldDo) {
  v1::HousekeepingReport report;
  report.set_dry_run(true);
  *report.add_actions() =
      Action(v1::HousekeepingAction::COMPRESS, "a.log", 3 << 20, 1 << 20);
  report.set_bytes_freed(2 << 20);
  const HousekeepingSummary summary = SummarizeHousekeeping(report);
  EXPECT_EQ(summary.compressed, 1);
  EXPECT_EQ(summary.failed, 0);
  EXPECT_EQ(summary.text,
            "would compress 1 files, delete 0 archives, free 2.0 MB");
}

TEST(HousekeepingNoticeTest, AFailedActionFailsTheRun) {
  v1::HousekeepingReport report;
  *report.add_actions() =
      Action(v1::HousekeepingAction::COMPRESS, "a.log", 2 << 20, 1 << 20);
  *report.add_actions() = Action(v1::HousekeepingAction::COMPRESS, "b.log", 100,
                                 0, "cannot open b.log: denied");
  *report.add_actions() = Action(v1::HousekeepingAction::COMPRESS, "c.log", 100,
                                 0, "cannot open c.log: denied");
  report.set_bytes_freed(1 << 20);

  v1::Event event = HousekeepingNotice(report, absl::UnixEpoch());
  EXPECT_EQ(event.notice().kind(), "housekeeping_failed");
  EXPECT_EQ(event.notice().count(), 2);
  EXPECT_EQ(event.notice().message(),
            "compressed 1 files, deleted 0 archives, freed 1.0 MB; 2 failed, "
            "first b.log: cannot open b.log: denied");
}

}  // namespace
}  // namespace eroom::agent
