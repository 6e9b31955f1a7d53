// The daily report over a fixture day stored in SQLite: two hosts, rooms
// completed, failed (one by a restart), running and slow, rooms that cross
// midnight either way, ERROR and WARN lines at the day's edges, restarts
// and alerts. Every expected figure is counted by hand from the fixture
// below, not by the code under test.
#include "collector/daily_report.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/time/civil_time.h"
#include "collector/sqlite/sqlite_storage.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/collector/room_test_data.h"
#include "tests/unit/test_support/status_matchers.h"
#include "tests/unit/test_support/temp_dir.h"

namespace eroom::collector {
namespace {

namespace v1 = ::eroom::monitor::v1;
using namespace ::eroom::collector::storage_test;  // NOLINT: test data
using ::eroom::test_support::IsOk;
using ::eroom::test_support::StatusIs;
using ::testing::DoubleNear;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr int kSeoulOffsetMinutes = 9 * 60;
const absl::TimeZone kSeoul = absl::FixedTimeZone(kSeoulOffsetMinutes * 60);

// 2025-06-16 (the fixture day) at hh:mm:ss.ms in Seoul; day -1 and +1 the
// days around it.
int64_t At(int hour, int minute, int second = 0, int millis = 0, int day = 0) {
  const absl::CivilSecond civil(2025, 6, 16 + day, hour, minute, second);
  return absl::ToUnixMillis(absl::FromCivil(civil, kSeoul) +
                            absl::Milliseconds(millis));
}

v1::Event Line(uint64_t sequence, int64_t time_ms, v1::LogLevel level,
               const std::string& message) {
  return LogEvent(sequence, time_ms, level, message);
}

alerting::AlertEvent Change(alerting::AlertEvent::Kind kind,
                            const std::string& agent_id, int64_t time_ms) {
  alerting::AlertEvent change;
  change.kind = kind;
  change.alert.key.agent_id = agent_id;
  change.alert.key.rule = "room_failures";
  change.at = absl::FromUnixMillis(time_ms);
  return change;
}

class DailyReportTest : public test_support::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    absl::StatusOr<std::unique_ptr<Storage>> opened =
        OpenSqliteStorage({.path = PathIn("collector.db")});
    ASSERT_THAT(opened, IsOk());
    storage_ = *std::move(opened);
    StoreFixtureDay();
  }

  void StoreFixtureDay() {
    ASSERT_THAT(
        storage_->RegisterAgent(Hello("web-1"), absl::FromUnixMillis(At(7, 0))),
        IsOk());
    ASSERT_THAT(
        storage_->RegisterAgent(Hello("web-2"), absl::FromUnixMillis(At(7, 0))),
        IsOk());
    const std::string meshy = "API 호출 실패. 상태 코드: 500, 메시지: job ";
    AgentBatch web1 = Batch(
        "web-1",
        {// The day before: a restart, a WARN, and room_4's start.
         ServerStarted(1, At(22, 0, 0, 0, -1)),
         Line(2, At(23, 59, 59, 999, -1), v1::WARN, "late warn"),
         RoomEvent(3, At(23, 55, 0, 0, -1), "room_requested", "room_4"),
         RoomEvent(4, At(23, 56, 0, 0, -1), "room_started", "room_4",
                   {{"queue_wait_ms", "60000"}}),
         // The day: a WARN at its very start; room_4 ends after midnight.
         Line(5, At(0, 0), v1::WARN, "first warn"),
         RoomEvent(6, At(0, 3), "room_completed", "room_4",
                   {{"processing_ms", "420000"}, {"queue_wait_ms", "60000"}}),
         ServerStarted(7, At(8, 0)),
         // room_1: completed in 6 minutes.
         RoomEvent(8, At(9, 0), "room_requested", "room_1"),
         RoomEvent(9, At(9, 0, 10), "room_dequeued", "room_1",
                   {{"queue_wait_ms", "10000"}}),
         RoomEvent(10, At(9, 0, 10), "room_started", "room_1",
                   {{"theme", "victoria"}}),
         RoomEvent(11, At(9, 6, 10), "room_completed", "room_1",
                   {{"processing_ms", "360000"}, {"queue_wait_ms", "10000"}}),
         Line(12, At(9, 30), v1::WARN, "모델 생성 타임아웃 발생"),
         Line(13, At(9, 31), v1::WARN, "모델 생성 타임아웃 발생"),
         // room_2: failed, with Meshy errors.
         RoomEvent(14, At(10, 0), "room_requested", "room_2"),
         RoomEvent(15, At(10, 1), "room_started", "room_2",
                   {{"queue_wait_ms", "60000"}}),
         Line(16, At(10, 2), v1::ERROR, meshy + "1234"),
         Line(17, At(10, 3), v1::ERROR, meshy + "98"),
         RoomEvent(18, At(10, 5), "room_failed", "room_2",
                   {{"processing_ms", "240000"}, {"queue_wait_ms", "60000"}},
                   v1::ERROR),
         // room_5: still running.
         RoomEvent(19, At(14, 0), "room_requested", "room_5"),
         RoomEvent(20, At(14, 0, 5), "room_started", "room_5"),
         Line(
             21, At(15, 0), v1::ERROR,
             "java.lang.NullPointerException\n\tat c.f.eroom.X.run(X.java:42)"),
         // room_3: requested before midnight, ends the next day.
         RoomEvent(22, At(23, 58), "room_requested", "room_3"),
         RoomEvent(23, At(23, 58, 30), "room_started", "room_3",
                   {{"queue_wait_ms", "30000"}}),
         Line(24, At(23, 59, 59, 999), v1::ERROR, meshy + "7"),
         // The next day.
         Line(25, At(0, 0, 0, 0, 1), v1::ERROR, meshy + "8"),
         RoomEvent(26, At(0, 5, 30, 0, 1), "room_completed", "room_3",
                   {{"processing_ms", "420000"}})});
    // room_2's failure line is an ERROR of its own shape.
    web1.batch->mutable_events(17)->mutable_log()->set_message(
        "통합 방 생성 중 시스템 오류 발생: ruid=room_2\n"
        "java.lang.RuntimeException: Meshy");
    AgentBatch web2 = Batch(
        "web-2",
        {// room_6: waited 2.5 minutes (slow), completed.
         RoomEvent(1, At(11, 0), "room_requested", "room_6"),
         RoomEvent(2, At(11, 2, 30), "room_started", "room_6",
                   {{"queue_wait_ms", "150000"}}),
         RoomEvent(3, At(11, 10), "room_completed", "room_6",
                   {{"processing_ms", "450000"}, {"queue_wait_ms", "150000"}}),
         // room_7: cut short by a restart.
         RoomEvent(4, At(12, 0), "room_requested", "room_7"),
         RoomEvent(5, At(12, 0, 5), "room_dequeued", "room_7",
                   {{"queue_wait_ms", "5000"}}),
         RoomEvent(6, At(12, 0, 5), "room_started", "room_7"),
         Line(7, At(12, 29), v1::ERROR,
              "Claude 529 overloaded 서버를 종료합니다."),
         ServerStarted(8, At(12, 30)),
         // room_9: its request is not in the log, only its outcome.
         RoomEvent(9, At(13, 0), "room_completed", "room_9")});
    ASSERT_THAT(storage_->Apply(Stored({web1, web2})), IsOk());
  }

  v1::DailyReportResponse Report(std::vector<std::string> agent_ids = {}) {
    absl::StatusOr<ReportDay> day =
        DayOf("2025-06-16", kSeoulOffsetMinutes, absl::Now());
    EXPECT_THAT(day, IsOk());
    absl::StatusOr<std::vector<HostDayActivity>> activity =
        storage_->DayActivity(agent_ids, day->start, day->end);
    EXPECT_THAT(activity, IsOk());
    const std::vector<alerting::AlertEvent> alerts = {
        Change(alerting::AlertEvent::Kind::kFiring, "web-1", At(13, 0)),
        Change(alerting::AlertEvent::Kind::kResolved, "web-1", At(13, 30)),
        Change(alerting::AlertEvent::Kind::kFiring, "web-1",
               At(23, 0, 0, 0, -1)),
        Change(alerting::AlertEvent::Kind::kFiring, "web-2", At(12, 31)),
        Change(alerting::AlertEvent::Kind::kPending, "web-2", At(12, 30)),
    };
    return BuildDailyReport(*day, *std::move(activity), alerts, agent_ids);
  }

  std::unique_ptr<Storage> storage_;
};

TEST_F(DailyReportTest, TheDayIsMidnightToMidnightInTheZone) {
  const v1::DailyReportResponse report = Report();
  EXPECT_EQ(report.day_start_unix_ms(), At(0, 0));
  EXPECT_EQ(report.day_end_unix_ms(), At(0, 0, 0, 0, 1));
  ASSERT_EQ(report.hosts_size(), 2);
  EXPECT_EQ(report.hosts(0).agent_id(), "web-1");
  EXPECT_EQ(report.hosts(0).hostname(), "web-1.example");
  EXPECT_EQ(report.hosts(1).agent_id(), "web-2");
}

TEST_F(DailyReportTest, FirstHostsFigures) {
  const v1::ReportFigures web1 = Report().hosts(0).figures();
  // Requested that day: room_1, room_2, room_5, room_3 (not room_4).
  EXPECT_EQ(web1.room_requests(), 4);
  // Ended that day: room_4, room_1 (completed), room_2 (failed).
  EXPECT_EQ(web1.rooms_succeeded(), 2);
  EXPECT_EQ(web1.rooms_failed(), 1);
  EXPECT_EQ(web1.rooms_ended_unrequested(), 0);
  EXPECT_THAT(web1.success_rate(), DoubleNear(2.0 / 3, 1e-9));
  // 240000, 360000, 420000.
  EXPECT_DOUBLE_EQ(web1.processing_avg_ms(), 340000);
  EXPECT_DOUBLE_EQ(web1.processing_p50_ms(), 360000);  // Rank 2 of 3.
  EXPECT_DOUBLE_EQ(web1.processing_p95_ms(), 420000);  // Rank 3 of 3.
  EXPECT_DOUBLE_EQ(web1.processing_max_ms(), 420000);
  EXPECT_THAT(web1.queue_wait_avg_ms(),
              DoubleNear((60000 + 10000 + 60000) / 3.0, 1e-6));
  // Meshy 10:02, 10:03, 23:59:59.999; room_2's failure; the NPE.
  EXPECT_EQ(web1.error_lines(), 5);
  // 00:00:00.000, 09:30, 09:31.
  EXPECT_EQ(web1.warn_lines(), 3);
  EXPECT_EQ(web1.restarts(), 1);
  EXPECT_EQ(web1.alerts_fired(), 1);
  ASSERT_EQ(web1.top_errors_size(), 3);
  EXPECT_EQ(web1.top_errors(0).shape(),
            "API 호출 실패. 상태 코드: <n>, 메시지: job <n>");
  EXPECT_EQ(web1.top_errors(0).count(), 3);
  EXPECT_THAT(web1.top_errors(0).example(), HasSubstr("job "));
  EXPECT_EQ(web1.top_errors(1).count(), 1);
  EXPECT_EQ(web1.top_errors(1).shape(), "java.lang.NullPointerException");
  EXPECT_EQ(web1.top_errors(2).shape(),
            "통합 방 생성 중 시스템 오류 발생: ruid=<ruid>");
}

TEST_F(DailyReportTest, SecondHostsFigures) {
  const v1::ReportFigures web2 = Report().hosts(1).figures();
  EXPECT_EQ(web2.room_requests(), 2);
  EXPECT_EQ(web2.rooms_succeeded(), 2);          // room_6, room_9.
  EXPECT_EQ(web2.rooms_failed(), 1);             // room_7, cut short.
  EXPECT_EQ(web2.rooms_ended_unrequested(), 1);  // room_9.
  EXPECT_THAT(web2.success_rate(), DoubleNear(2.0 / 3, 1e-9));
  // room_7 and room_9 have no processing time: room_6's alone.
  EXPECT_DOUBLE_EQ(web2.processing_avg_ms(), 450000);
  EXPECT_DOUBLE_EQ(web2.processing_p50_ms(), 450000);
  EXPECT_DOUBLE_EQ(web2.processing_p95_ms(), 450000);
  EXPECT_DOUBLE_EQ(web2.processing_max_ms(), 450000);
  EXPECT_DOUBLE_EQ(web2.queue_wait_avg_ms(), (150000 + 5000) / 2.0);
  EXPECT_EQ(web2.error_lines(), 1);
  EXPECT_EQ(web2.warn_lines(), 0);
  EXPECT_EQ(web2.restarts(), 1);
  EXPECT_EQ(web2.alerts_fired(), 1);
  ASSERT_EQ(web2.top_errors_size(), 1);
  EXPECT_EQ(web2.top_errors(0).count(), 1);
}

TEST_F(DailyReportTest, TotalIsOverEveryHost) {
  const v1::ReportFigures total = Report().total();
  EXPECT_EQ(total.room_requests(), 6);
  EXPECT_EQ(total.rooms_succeeded(), 4);
  EXPECT_EQ(total.rooms_failed(), 2);
  EXPECT_EQ(total.rooms_ended_unrequested(), 1);
  EXPECT_THAT(total.success_rate(), DoubleNear(4.0 / 6, 1e-9));
  // 240000, 360000, 420000, 450000.
  EXPECT_DOUBLE_EQ(total.processing_avg_ms(), 367500);
  EXPECT_DOUBLE_EQ(total.processing_p50_ms(), 360000);  // Rank 2 of 4.
  EXPECT_DOUBLE_EQ(total.processing_p95_ms(), 450000);  // Rank 4 of 4.
  EXPECT_DOUBLE_EQ(total.processing_max_ms(), 450000);
  EXPECT_DOUBLE_EQ(total.queue_wait_avg_ms(),
                   (60000 + 10000 + 60000 + 150000 + 5000) / 5.0);
  EXPECT_EQ(total.error_lines(), 6);
  EXPECT_EQ(total.warn_lines(), 3);
  EXPECT_EQ(total.restarts(), 2);
  EXPECT_EQ(total.alerts_fired(), 2);
  ASSERT_EQ(total.top_errors_size(), 4);
  EXPECT_EQ(total.top_errors(0).count(), 3);
  int64_t counted = 0;
  for (const v1::ErrorShapeCount& error : total.top_errors()) {
    counted += error.count();
  }
  EXPECT_EQ(counted, total.error_lines());
}

TEST_F(DailyReportTest, OneHost) {
  const v1::DailyReportResponse report = Report({"web-2"});
  ASSERT_EQ(report.hosts_size(), 1);
  EXPECT_EQ(report.hosts(0).agent_id(), "web-2");
  EXPECT_EQ(report.total().room_requests(), 2);
  EXPECT_EQ(report.total().alerts_fired(), 1);
}

TEST(NearestRankPercentileTest, RankIsTheCeilingOfTheShare) {
  const std::vector<int64_t> ten = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  EXPECT_EQ(NearestRankPercentile(ten, 50), 5);   // ceil(5) = 5
  EXPECT_EQ(NearestRankPercentile(ten, 95), 10);  // ceil(9.5) = 10
  EXPECT_EQ(NearestRankPercentile(ten, 90), 9);   // ceil(9) = 9
  EXPECT_EQ(NearestRankPercentile(ten, 1), 1);    // ceil(0.1) = 1
  EXPECT_EQ(NearestRankPercentile(ten, 100), 10);
  const std::vector<int64_t> twenty_one = [] {
    std::vector<int64_t> values;
    for (int64_t i = 1; i <= 21; ++i) values.push_back(i * 100);
    return values;
  }();
  EXPECT_EQ(NearestRankPercentile(twenty_one, 50), 1100);  // ceil(10.5)
  EXPECT_EQ(NearestRankPercentile(twenty_one, 95), 2000);  // ceil(19.95)
  EXPECT_EQ(NearestRankPercentile({}, 50), 0);
  EXPECT_EQ(NearestRankPercentile({7}, 95), 7);
}

TEST(DayOfTest, ValidatesTheDateAndZone) {
  EXPECT_THAT(DayOf("2025-02-30", 0, absl::Now()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("date")));
  EXPECT_THAT(DayOf("16/06/2025", 0, absl::Now()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("date")));
  EXPECT_THAT(DayOf("2025-06-16", 15 * 60, absl::Now()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("utc_offset_minutes")));
  // Empty: the day it is now in the zone.
  const absl::Time now = absl::FromUnixMillis(At(23, 30));
  absl::StatusOr<ReportDay> today = DayOf("", kSeoulOffsetMinutes, now);
  ASSERT_THAT(today, IsOk());
  EXPECT_EQ(absl::ToUnixMillis(today->start), At(0, 0));
  absl::StatusOr<ReportDay> in_utc = DayOf("", 0, now);
  ASSERT_THAT(in_utc, IsOk());
  EXPECT_EQ(
      absl::FormatTime("%Y-%m-%d %H:%M", in_utc->start, absl::UTCTimeZone()),
      "2025-06-16 00:00");
}

}  // namespace
}  // namespace eroom::collector
