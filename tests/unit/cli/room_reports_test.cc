// eroomctl rooms, room and report daily: their arguments and output.
#include "cli/room_reports.h"

#include <sstream>
#include <string>
#include <vector>

#include "cli/arguments.h"
#include "cli/json_output.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/unit/test_support/status_matchers.h"

namespace eroom::cli {
namespace {
namespace v1 = ::eroom::monitor::v1;
using ::eroom::test_support::IsOk;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// 2025-06-16 03:00:00 UTC.
const absl::Time kNow = absl::FromCivil(absl::CivilSecond(2025, 6, 16, 3, 0, 0),
                                        absl::UTCTimeZone());
const RenderContext kContext{kNow, absl::UTCTimeZone()};

int64_t MinutesAgo(int minutes) {
  return absl::ToUnixMillis(kNow - absl::Minutes(minutes));
}

class RoomArgumentsTest : public ::testing::Test {
 protected:
  ParsedArguments Parse(std::vector<std::string> args,
                        absl::TimeZone zone = absl::UTCTimeZone()) {
    args.insert(args.begin(), "eroomctl");
    std::vector<const char*> argv;
    for (const std::string& arg : args) argv.push_back(arg.c_str());
    err_.str("");
    return ParseArguments(static_cast<int>(argv.size()), argv.data(), kNow,
                          zone, out_, err_);
  }

  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(RoomArgumentsTest, RoomsFilters) {
  ParsedArguments parsed = Parse({"rooms", "--host", "web-1", "--host", "web-2",
                                  "--status", "failed", "--limit", "5"});
  ASSERT_TRUE(parsed.invocation.has_value()) << err_.str();
  const RoomsArgs& args = std::get<RoomsArgs>(parsed.invocation->command);
  EXPECT_THAT(args.hosts, ElementsAre("web-1", "web-2"));
  EXPECT_EQ(args.request.status(), v1::ROOM_FAILED);
  EXPECT_FALSE(args.request.slow_only());
  EXPECT_EQ(args.request.limit(), 5);
  // --since defaults to a day.
  EXPECT_EQ(args.request.since_unix_ms(),
            absl::ToUnixMillis(kNow - absl::Hours(24)));

  parsed = Parse({"rooms", "--status", "slow", "--since", "2h"});
  ASSERT_TRUE(parsed.invocation.has_value()) << err_.str();
  const RoomsArgs& slow = std::get<RoomsArgs>(parsed.invocation->command);
  EXPECT_TRUE(slow.request.slow_only());
  EXPECT_EQ(slow.request.status(), v1::ROOM_STATUS_UNSPECIFIED);
  EXPECT_EQ(slow.request.since_unix_ms(),
            absl::ToUnixMillis(kNow - absl::Hours(2)));

  ParsedArguments bad = Parse({"rooms", "--status", "stuck"});
  EXPECT_FALSE(bad.invocation.has_value());
  EXPECT_EQ(bad.exit_code, kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("--status"));
}

TEST_F(RoomArgumentsTest, RoomNeedsARuid) {
  ParsedArguments parsed = Parse({"room", "room_3f9a", "--host", "web-1"});
  ASSERT_TRUE(parsed.invocation.has_value()) << err_.str();
  EXPECT_EQ(std::get<RoomArgs>(parsed.invocation->command).ruid, "room_3f9a");
  EXPECT_EQ(std::get<RoomArgs>(parsed.invocation->command).host, "web-1");
  EXPECT_EQ(Parse({"room"}).exit_code, kExitUsage);
}

TEST_F(RoomArgumentsTest, DailyReportDateAndZone) {
  // Seoul is already on the 16th at 03:00 UTC: its noon is +09:00.
  ParsedArguments parsed =
      Parse({"report", "daily"}, absl::FixedTimeZone(9 * 3600));
  ASSERT_TRUE(parsed.invocation.has_value()) << err_.str();
  const DailyReportArgs& local =
      std::get<DailyReportArgs>(parsed.invocation->command);
  EXPECT_EQ(local.request.date(), "2025-06-16");
  EXPECT_EQ(local.request.utc_offset_minutes(), 9 * 60);
  EXPECT_TRUE(local.hosts.empty());

  parsed = Parse({"report", "daily", "--date", "2025-06-01", "--utc-offset",
                  "-05:30", "--host", "web-1", "-o", "csv"});
  ASSERT_TRUE(parsed.invocation.has_value()) << err_.str();
  const DailyReportArgs& given =
      std::get<DailyReportArgs>(parsed.invocation->command);
  EXPECT_EQ(given.request.date(), "2025-06-01");
  EXPECT_EQ(given.request.utc_offset_minutes(), -330);
  EXPECT_THAT(given.hosts, ElementsAre("web-1"));
  EXPECT_EQ(parsed.invocation->global.output, OutputFormat::kCsv);

  for (const std::vector<std::string>& refused :
       {std::vector<std::string>{"report", "daily", "--date", "2025-02-30"},
        std::vector<std::string>{"report", "daily", "--utc-offset", "+15:00"},
        std::vector<std::string>{"report", "daily", "--all", "--host", "a"},
        std::vector<std::string>{"rooms", "-o", "csv"}}) {
    ParsedArguments bad = Parse(refused);
    EXPECT_FALSE(bad.invocation.has_value()) << refused.back();
    EXPECT_EQ(bad.exit_code, kExitUsage);
  }
}

v1::ListRoomsResponse ThreeRooms() {
  v1::ListRoomsResponse response;
  v1::RoomRecord* running = response.add_rooms();
  running->set_agent_id("web-1");
  running->set_ruid("room_b");
  running->set_requested_unix_ms(MinutesAgo(13));
  running->set_dequeued_unix_ms(MinutesAgo(12));
  running->set_started_unix_ms(MinutesAgo(12));
  running->set_queue_wait_ms(60000);
  running->set_processing_ms(-1);
  running->set_theme("victoria");
  running->set_status(v1::ROOM_RUNNING);
  running->set_slow(true);
  v1::RoomRecord* failed = response.add_rooms();
  failed->set_agent_id("web-1");
  failed->set_ruid("room_a");
  failed->set_requested_unix_ms(MinutesAgo(60));
  failed->set_started_unix_ms(MinutesAgo(59));
  failed->set_finished_unix_ms(MinutesAgo(55));
  failed->set_queue_wait_ms(-1);
  failed->set_processing_ms(245300);
  failed->set_status(v1::ROOM_FAILED);
  failed->set_outcome("Meshy \x1b[31m500");
  v1::RoomRecord* queued = response.add_rooms();
  queued->set_agent_id("web-2");
  queued->set_ruid("room_c");
  queued->set_requested_unix_ms(MinutesAgo(1));
  queued->set_queue_wait_ms(-1);
  queued->set_processing_ms(-1);
  queued->set_status(v1::ROOM_QUEUED);
  return response;
}

TEST(RenderRoomsTest, OneLinePerRoomRunningRoomsShowTheirAge) {
  std::ostringstream out;
  RenderRooms(ThreeRooms(), kContext, out);
  EXPECT_EQ(out.str(),
            "HOST   RUID    REQUESTED            DEQUEUED  STARTED   FINISHED  "
            "      WAIT   PROCESSING  THEME     STATUS         OUTCOME\n"
            "web-1  room_b  2025-06-16 02:47:00  02:48:00  02:48:00  -         "
            "     1m00s  running 12m  victoria  running, slow  -\n"
            "web-1  room_a  2025-06-16 02:00:00  -         02:01:00  02:05:00  "
            "         -        4m05s  -         failed         "
            "Meshy \\x1b[31m500\n"
            "web-2  room_c  2025-06-16 02:59:00  -         -         -         "
            "waiting 1m            -  -         queued         -\n");
}

TEST(RenderRoomsTest, SaysSoWithoutRooms) {
  std::ostringstream out;
  RenderRooms(v1::ListRoomsResponse(), kContext, out);
  EXPECT_THAT(out.str(), HasSubstr("No rooms"));
}

TEST(RenderRoomTest, TimelineThenEvents) {
  v1::GetRoomResponse room;
  *room.mutable_room() = ThreeRooms().rooms(1);
  v1::StoredLogEvent* event = room.add_events();
  event->set_agent_id("web-1");
  event->mutable_event()->set_time_unix_ms(MinutesAgo(55));
  event->mutable_event()->set_level(v1::ERROR);
  event->mutable_event()->set_message("통합 방 생성 중 시스템 오류 발생");
  std::ostringstream out;
  RenderRoom(room, kContext, out);
  EXPECT_THAT(out.str(), HasSubstr("status      failed\n"));
  EXPECT_THAT(out.str(), HasSubstr("processing  4m05s\n"));
  EXPECT_THAT(out.str(), HasSubstr("통합 방 생성 중 시스템 오류 발생"));
}

TEST(FormatRoomDurationTest, Units) {
  EXPECT_EQ(FormatRoomDuration(-1), "-");
  EXPECT_EQ(FormatRoomDuration(850), "850 ms");
  EXPECT_EQ(FormatRoomDuration(45200), "45.2s");
  EXPECT_EQ(FormatRoomDuration(372000), "6m12s");
  EXPECT_EQ(FormatRoomDuration(3720000), "1h02m");
}

v1::DailyReportResponse Report() {
  v1::DailyReportResponse report;
  report.set_day_start_unix_ms(absl::ToUnixMillis(
      absl::FromCivil(absl::CivilDay(2025, 6, 16), absl::UTCTimeZone())));
  report.set_day_end_unix_ms(report.day_start_unix_ms() + 86400000);
  v1::HostReport* host = report.add_hosts();
  host->set_agent_id("a1");
  host->set_hostname("=cmd|' /C calc'!A0");
  v1::ReportFigures* figures = host->mutable_figures();
  figures->set_room_requests(4);
  figures->set_rooms_succeeded(2);
  figures->set_rooms_failed(1);
  figures->set_rooms_ended_unrequested(1);
  figures->set_success_rate(2.0 / 3);
  figures->set_processing_avg_ms(340000);
  figures->set_processing_p50_ms(360000);
  figures->set_processing_p95_ms(420000);
  figures->set_processing_max_ms(420000);
  figures->set_queue_wait_avg_ms(43333.3);
  figures->set_error_lines(5);
  figures->set_warn_lines(3);
  figures->set_alerts_fired(1);
  figures->set_restarts(1);
  v1::ErrorShapeCount* error = figures->add_top_errors();
  error->set_shape("API 호출 실패. 상태 코드: <n>");
  error->set_count(3);
  error->set_example("API 호출 실패. 상태 코드: 500");
  *report.mutable_total() = *figures;
  return report;
}

TEST(RenderDailyReportTest, FiguresPerHostAndTotal) {
  std::ostringstream out;
  RenderDailyReport(Report(), kContext, out);
  const std::string text = out.str();
  EXPECT_THAT(text, HasSubstr("Daily report for 2025-06-16 (2025-06-16 "
                              "00:00:00 to 2025-06-17 00:00:00)"));
  EXPECT_THAT(text, HasSubstr("room requests"));
  EXPECT_THAT(text, HasSubstr("success rate"));
  EXPECT_THAT(text, HasSubstr("66.7%"));
  EXPECT_THAT(text, HasSubstr("5m40s"));  // The average.
  EXPECT_THAT(text, HasSubstr("TOTAL"));
  EXPECT_THAT(text, HasSubstr("3  API 호출 실패. 상태 코드: <n>"));
  // More ended than were requested: the report says why.
  EXPECT_THAT(text, HasSubstr("  request unseen"));
  EXPECT_THAT(text, HasSubstr("1 room ended without its request in the log"));
}

TEST(RenderDailyReportTest, CsvDefusesFormulasInText) {
  std::ostringstream out;
  RenderDailyReportCsv(Report(), out);
  const std::string csv = out.str();
  EXPECT_THAT(csv, HasSubstr("day_start_unix_ms,agent_id,hostname,"));
  EXPECT_THAT(csv, HasSubstr("\r\n1750032000000,a1,'=cmd|' /C calc'!A0,4,2,1,"
                             "1,0.666667,340000,360000,420000,420000,43333.3,5,"
                             "3,1,1,3\u00d7API 호출 실패. 상태 코드: <n>\r\n"));
  EXPECT_THAT(csv, HasSubstr("\r\n1750032000000,*,,4,"));
}

TEST(RenderDailyReportTest, JsonKeepsEveryFigure) {
  absl::StatusOr<std::string> json = MessageToJson(Report());
  ASSERT_THAT(json, IsOk());
  const nlohmann::json parsed = nlohmann::json::parse(*json);
  EXPECT_EQ(parsed["total"]["room_requests"], "4");
  EXPECT_EQ(parsed["hosts"][0]["figures"]["top_errors"][0]["count"], "3");
}

}  // namespace
}  // namespace eroom::cli
