#include <sstream>

#include "absl/strings/str_cat.h"
#include "cli/json_output.h"
#include "cli/renderers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/unit/cli/test_protos.h"
#include "tests/unit/test_support/status_matchers.h"

namespace eroom::cli {

using ::eroom::test_support::IsOk;
namespace {
namespace v1 = ::eroom::monitor::v1;
using ::eroom::cli::testing::ActiveAlerts;
using ::eroom::cli::testing::AlertHistory;
using ::eroom::cli::testing::CpuMetrics;
using ::eroom::cli::testing::ErrorLogs;
using ::eroom::cli::testing::kNowMs;
using ::eroom::cli::testing::SucceededPing;
using ::eroom::cli::testing::TwoCommands;
using ::eroom::cli::testing::TwoHosts;
using ::eroom::cli::testing::TwoRules;
using ::eroom::cli::testing::TwoSilences;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

const RenderContext kContext{absl::FromUnixMillis(kNowMs), absl::UTCTimeZone()};

TEST(RenderHostsTest, OneRowPerHostWithUnitsAndStates) {
  std::ostringstream out;
  RenderHosts(TwoHosts(), kContext, out);
  EXPECT_EQ(out.str(),
            "HOST                   STATE      EROOM            CPU  "
            "MEMORY             DISK                  "
            "HEALTH                            QUEUE(Q/A/C)  ALERTS\n"
            "eroom-prod-1 (a1b2c3)  connected  up (pid 4242)  12.5%  "
            "2.0 GiB / 8.0 GiB  / 45.0%, /data 81.0%  "
            "healthy 12 ms                     12/1/142      -\n"
            "eroom-prod-2 (d4e5f6)  down 3m    -                  -  "
            "-                  -                     "
            "error: connection refused (2 ms)  -             -\n");
}

TEST(RenderHostsTest, SaysSoWhenThereAreNoHosts) {
  std::ostringstream out;
  RenderHosts(v1::ListHostsResponse(), kContext, out);
  EXPECT_THAT(out.str(), HasSubstr("No hosts"));
}

TEST(RenderStatusTest, DashboardOfOneHost) {
  HostReport report{TwoHosts().hosts(0), ErrorLogs()};
  std::ostringstream out;
  RenderStatus(report, kContext, out);
  EXPECT_EQ(out.str(),
            "== eroom-prod-1 (a1b2c3) ==  connected, last seen 2s ago, agent "
            "0.1.0\n"
            "Health  healthy 12 ms (3s ago)\n"
            "ERoom   up, pid 4242, RSS 812 MiB, CPU 35.2%, port listening\n"
            "Host    CPU 12.5%, memory 2.0 GiB / 8.0 GiB (25.0%), load 0.52\n"
            "Disk    / 45.0% of 100 GiB, /data 81.0% of 100 GiB\n"
            "Queue   12 queued, 1 active, 142 completed, max 1 (4s ago)  "
            "BACKLOG (more than 10 queued)\n"
            "Alerts  none firing\n"
            "Last errors:\n"
            "TIME                     TYPE          MESSAGE\n"
            "2025-06-15 15:05:50.000  model_failed  API 호출 실패. 상태 코드: "
            "429, 메시지: \n"
            "2025-06-15 15:06:30.344  room_failed   통합 방 생성 중 시스템 "
            "오류 발생: ruid=room_3f9a1c2b7d4e8f60 (+2 lines)\n");
}

TEST(RenderStatusTest, HostWithoutDataOrErrors) {
  HostReport report{TwoHosts().hosts(1), v1::QueryLogsResponse()};
  std::ostringstream out;
  RenderStatus(report, kContext, out);
  EXPECT_EQ(out.str(),
            "== eroom-prod-2 (d4e5f6) ==  down 3m, last seen 3m ago\n"
            "Health  error: connection refused (2 ms) (3m ago)\n"
            "ERoom   no sample yet\n"
            "Host    no sample yet\n"
            "Disk    -\n"
            "Queue   probe failed: 401 인증 실패 (3m ago)\n"
            "Alerts  none firing\n"
            "Last errors: none\n");
}

TEST(RenderStatusTest, ConnectedHostHeardFromTooLongAgoIsSilent) {
  v1::HostStatus host = TwoHosts().hosts(0);
  host.set_down(true);
  host.set_last_seen_unix_ms(kNowMs - 5 * 60 * 1000);
  std::ostringstream out;
  RenderStatus(HostReport{host, {}}, kContext, out);
  EXPECT_THAT(out.str(),
              StartsWith("== eroom-prod-1 (a1b2c3) ==  silent 5m, last seen "
                         "5m ago, agent 0.1.0\n"));
}

TEST(RenderStatusTest, ProcessDownIsLoud) {
  v1::HostStatus host = TwoHosts().hosts(0);
  host.mutable_latest_sample()->mutable_eroom()->Clear();
  std::ostringstream out;
  RenderStatus(HostReport{host, {}}, kContext, out);
  EXPECT_THAT(out.str(), HasSubstr("ERoom   DOWN, port not listening\n"));
}

TEST(RenderLogsTest, OldestFirstWithFirstLineAndLineCount) {
  v1::QueryLogsResponse logs = ErrorLogs();
  v1::LogEvent* info = logs.add_events()->mutable_event();
  info->set_time_unix_ms(1749999900000);
  info->set_level(v1::INFO);
  info->set_message("서버가 성공적으로 시작되었습니다");
  info->set_truncated(true);
  logs.mutable_events(2)->set_agent_id("d4e5f6");
  std::ostringstream out;
  RenderLogs(logs, kContext, {.brief = true}, out);
  EXPECT_EQ(
      out.str(),
      "TIME                     HOST    LEVEL  TYPE          MESSAGE\n"
      "2025-06-15 15:05:00.000  d4e5f6  INFO   -             서버가 "
      "성공적으로 시작되었습니다 [truncated]\n"
      "2025-06-15 15:05:50.000  a1b2c3  ERROR  model_failed  API 호출 "
      "실패. 상태 코드: 429, 메시지: \n"
      "2025-06-15 15:06:30.344  a1b2c3  ERROR  room_failed   통합 방 "
      "생성 중 시스템 오류 발생: ruid=room_3f9a1c2b7d4e8f60 \u2026 2 more "
      "lines\n");
}

TEST(RenderLogsTest, WithoutBriefEveryLineIsShown) {
  std::ostringstream out;
  RenderLogs(ErrorLogs(), kContext, {}, out);
  EXPECT_EQ(out.str(),
            "TIME                     HOST    LEVEL  TYPE          MESSAGE\n"
            "2025-06-15 15:05:50.000  a1b2c3  ERROR  model_failed  API 호출 "
            "실패. 상태 코드: 429, 메시지: \n"
            "2025-06-15 15:06:30.344  a1b2c3  ERROR  room_failed   통합 방 "
            "생성 중 시스템 오류 발생: ruid=room_3f9a1c2b7d4e8f60\n"
            "    java.lang.RuntimeException: boom\n"
            "        at c.f.e.Foo.bar(Foo.java:12)\n");
}

TEST(RenderLogLineTest, FollowShowsStackTracesWholeUnlessBrief) {
  const v1::StoredLogEvent failed = ErrorLogs().events(0);
  std::ostringstream whole;
  RenderLogLine(failed, kContext, /*brief=*/false, whole);
  EXPECT_EQ(whole.str(),
            "2025-06-15 15:06:30.344  a1b2c3  ERROR  room_failed  통합 방 "
            "생성 중 시스템 오류 발생: ruid=room_3f9a1c2b7d4e8f60\n"
            "    java.lang.RuntimeException: boom\n"
            "        at c.f.e.Foo.bar(Foo.java:12)\n");
  std::ostringstream brief;
  RenderLogLine(failed, kContext, /*brief=*/true, brief);
  EXPECT_EQ(brief.str(),
            "2025-06-15 15:06:30.344  a1b2c3  ERROR  room_failed  통합 방 "
            "생성 중 시스템 오류 발생: ruid=room_3f9a1c2b7d4e8f60 \u2026 2 "
            "more lines\n");
}

// One event of a log query's answer with context.
v1::StoredLogEvent LogLine(const std::string& agent_id, uint64_t sequence,
                           const std::string& file, bool context) {
  v1::StoredLogEvent stored;
  stored.set_agent_id(agent_id);
  stored.set_sequence(sequence);
  stored.set_context(context);
  stored.mutable_event()->set_time_unix_ms(1749999900000 +
                                           int64_t(sequence) * 1000);
  stored.mutable_event()->set_level(v1::INFO);
  stored.mutable_event()->set_file(file);
  stored.mutable_event()->set_message(absl::StrCat("line ", sequence));
  return stored;
}

TEST(RenderLogsTest, ContextIsMarkedAndRunsSeparated) {
  // As the collector sends them with context 1: runs newest first, each
  // by descending sequence. a/9 and a/6 are two runs of one file; a/2 is
  // in another file; b/5 is another host.
  v1::QueryLogsResponse response;
  for (const v1::StoredLogEvent& stored :
       {LogLine("a", 10, "s.log", true), LogLine("a", 9, "s.log", false),
        LogLine("a", 8, "s.log", true), LogLine("a", 7, "s.log", true),
        LogLine("a", 6, "s.log", false), LogLine("a", 5, "s.log", true),
        LogLine("b", 5, "s.log", false), LogLine("a", 2, "old.log", false),
        LogLine("a", 1, "old.log", true)}) {
    *response.add_events() = stored;
  }
  std::ostringstream out;
  RenderLogs(response, kContext, {.context = 1}, out);
  EXPECT_EQ(out.str(),
            "   TIME                     HOST  LEVEL  TYPE  MESSAGE\n"
            "-  2025-06-15 15:05:01.000  a     INFO   -     line 1\n"
            ">  2025-06-15 15:05:02.000  a     INFO   -     line 2\n"
            "--\n"
            ">  2025-06-15 15:05:05.000  b     INFO   -     line 5\n"
            "--\n"
            "-  2025-06-15 15:05:05.000  a     INFO   -     line 5\n"
            ">  2025-06-15 15:05:06.000  a     INFO   -     line 6\n"
            "-  2025-06-15 15:05:07.000  a     INFO   -     line 7\n"
            "--\n"
            "-  2025-06-15 15:05:08.000  a     INFO   -     line 8\n"
            ">  2025-06-15 15:05:09.000  a     INFO   -     line 9\n"
            "-  2025-06-15 15:05:10.000  a     INFO   -     line 10\n");
}

TEST(RenderLogsTest, SaysSoWhenNothingMatches) {
  std::ostringstream out;
  RenderLogs(v1::QueryLogsResponse(), kContext, {}, out);
  EXPECT_EQ(out.str(), "No log events match.\n");
}

TEST(RenderMetricsTest, PointsAndSummaryPerSeries) {
  std::ostringstream out;
  RenderMetrics("host.cpu_percent", CpuMetrics(), kContext, out);
  EXPECT_EQ(out.str(),
            "host.cpu_percent  a1b2c3\n"
            "TIME                     VALUE\n"
            "2025-06-15 15:05:40.000  10.0%\n"
            "2025-06-15 15:06:10.000  30.0%\n"
            "2025-06-15 15:06:40.000  20.0%\n"
            "\u2581\u2588\u2585\n"
            "min 10.0%  avg 20.0%  max 30.0%  last 20.0%  (3 points)\n");
}

TEST(RenderMetricsTest, ByteSeriesWithLabels) {
  v1::QueryMetricsResponse response;
  v1::MetricSeries* series = response.add_series();
  series->set_agent_id("a1b2c3");
  series->set_name("disk.used_bytes");
  (*series->mutable_labels())["mount"] = "/data";
  v1::MetricPoint* point = series->add_points();
  point->set_time_unix_ms(kNowMs);
  point->set_value(86973087744);
  std::ostringstream out;
  RenderMetrics("disk.used_bytes", response, kContext, out);
  EXPECT_THAT(out.str(), HasSubstr("disk.used_bytes  a1b2c3  mount=/data\n"));
  EXPECT_THAT(out.str(), HasSubstr("min 81.0 GiB"));
}

TEST(RenderMetricsTest, SaysSoWhenThereAreNoPoints) {
  std::ostringstream out;
  RenderMetrics("queue.queued", v1::QueryMetricsResponse(), kContext, out);
  EXPECT_EQ(out.str(), "No points of queue.queued in the selected range.\n");
}

v1::QueryMetricsResponse SteppedCpu() {
  v1::QueryMetricsResponse response;
  v1::MetricSeries* series = response.add_series();
  series->set_agent_id("a1b2c3");
  series->set_name("host.cpu_percent");
  for (int step = 0; step < 2; ++step) {
    v1::MetricPoint* point = series->add_points();
    point->set_time_unix_ms(kNowMs + step * 60000);
    point->set_value(step == 0 ? 20 : 50);
    point->set_count(step == 0 ? 3 : 1);
    point->set_min(step == 0 ? 10 : 50);
    point->set_max(step == 0 ? 30 : 50);
  }
  return response;
}

TEST(RenderMetricsTest, StepsShowTheirSpreadAndSamples) {
  std::ostringstream out;
  RenderMetrics("host.cpu_percent", SteppedCpu(), kContext, out);
  EXPECT_THAT(out.str(), HasSubstr("STEP"));
  EXPECT_THAT(out.str(), HasSubstr("20.0%  10.0%  30.0%        3\n"));
  EXPECT_THAT(out.str(), HasSubstr("\xe2\x96\x81\xe2\x96\x88\n"));  // ▁█
  // The average weighs each step by its samples: (3*20 + 50) / 4.
  EXPECT_THAT(out.str(),
              HasSubstr("min 10.0%  avg 27.5%  max 50.0%  last 50.0%  "
                        "(2 steps, 4 samples)"));
}

TEST(RenderMetricsCsvTest, OneRowPerPointWithLabelsQuotedAndDefused) {
  v1::QueryMetricsResponse response = SteppedCpu();
  (*response.mutable_series(0)->mutable_labels())["=cmd"] = "1,x";
  std::ostringstream out;
  RenderMetricsCsv(response, out);
  EXPECT_EQ(out.str(),
            absl::StrCat("agent_id,name,labels,time_unix_ms,value,count,min,max"
                         "\r\n"
                         "a1b2c3,host.cpu_percent,\"'=cmd=1,x\",",
                         kNowMs, ",20,3,10,30\r\n",
                         "a1b2c3,host.cpu_percent,\"'=cmd=1,x\",",
                         kNowMs + 60000, ",50,1,50,50\r\n"));
}

TEST(RenderQueueTest, NumbersAgeAndBacklogFlag) {
  v1::ListHostsResponse hosts = TwoHosts();
  v1::HostStatus* unprobed = hosts.add_hosts();
  unprobed->set_agent_id("g7");
  std::ostringstream out;
  RenderQueue(hosts, kContext, out);
  EXPECT_EQ(out.str(),
            "HOST                   QUEUED  ACTIVE  COMPLETED  MAX  PROBE AGE  "
            "STATE\n"
            "eroom-prod-1 (a1b2c3)      12       1        142    1         4s  "
            "BACKLOG\n"
            "eroom-prod-2 (d4e5f6)       -       -          -    -         3m  "
            "probe failed: 401 인증 실패\n"
            "g7                          -       -          -    -          -  "
            "no probe yet\n");
}

TEST(RenderQueueTest, TenQueuedIsNotYetABacklog) {
  v1::ListHostsResponse hosts;
  *hosts.add_hosts() = TwoHosts().hosts(0);
  hosts.mutable_hosts(0)->mutable_latest_queue()->mutable_queue()->set_queued(
      10);
  std::ostringstream out;
  RenderQueue(hosts, kContext, out);
  EXPECT_THAT(out.str(), Not(HasSubstr("BACKLOG")));
  EXPECT_THAT(out.str(), HasSubstr("  ok\n"));
}

TEST(JsonOutputTest, MessageUsesProtoNamesAndPrintsDefaults) {
  absl::StatusOr<std::string> text = MessageToJson(TwoHosts());
  ASSERT_THAT(text, IsOk());
  const nlohmann::json json = nlohmann::json::parse(*text);
  EXPECT_EQ(json["hosts"][0]["agent_id"], "a1b2c3");
  EXPECT_EQ(json["hosts"][0]["latest_sample"]["eroom"]["pid"], 4242);
  // int64 fields are strings in proto3 JSON.
  EXPECT_EQ(json["hosts"][0]["last_seen_unix_ms"], "1749999998000");
  // Primitive fields at their default are still printed.
  EXPECT_EQ(json["hosts"][1]["connected"], false);
  EXPECT_EQ(json["hosts"][1]["version"], "");
  EXPECT_EQ(json["hosts"][1]["latest_queue"]["error"], "401 인증 실패");
}

TEST(JsonOutputTest, OneHostReportIsAnObject) {
  absl::StatusOr<std::string> text =
      HostReportsToJson({HostReport{TwoHosts().hosts(0), ErrorLogs()}});
  ASSERT_THAT(text, IsOk());
  const nlohmann::json json = nlohmann::json::parse(*text);
  ASSERT_TRUE(json.is_object());
  EXPECT_EQ(json["host"]["agent_id"], "a1b2c3");
  ASSERT_EQ(json["recent_errors"].size(), 2u);
  EXPECT_EQ(json["recent_errors"][0]["event"]["level"], "ERROR");
  EXPECT_EQ(json["recent_errors"][0]["event"]["event_type"], "room_failed");
  EXPECT_EQ(json["recent_errors"][0]["sequence"], "4700");
}

TEST(JsonOutputTest, SeveralHostReportsAreAnArray) {
  const v1::ListHostsResponse hosts = TwoHosts();
  absl::StatusOr<std::string> text = HostReportsToJson(
      {HostReport{hosts.hosts(0), {}}, HostReport{hosts.hosts(1), {}}});
  ASSERT_THAT(text, IsOk());
  const nlohmann::json json = nlohmann::json::parse(*text);
  ASSERT_TRUE(json.is_array());
  ASSERT_EQ(json.size(), 2u);
  EXPECT_EQ(json[1]["host"]["agent_id"], "d4e5f6");
  EXPECT_TRUE(json[1]["recent_errors"].is_array());
  EXPECT_TRUE(json[1]["recent_errors"].empty());
}

TEST(RenderCommandsTest, NewestFirstWithStateAndLastStep) {
  std::ostringstream out;
  RenderCommands(TwoCommands(), kContext, out);
  const std::string text = out.str();
  EXPECT_THAT(text,
              StartsWith("COMMAND   HOST    ACTION            REQUESTED"));
  EXPECT_THAT(text, HasSubstr("d00d02    d4e5f6  log_housekeeping  10s ago"));
  EXPECT_THAT(text,
              HasSubstr("REJECTED   [policy] log_housekeeping is not enabled"));
  EXPECT_THAT(text, HasSubstr("c0ffee01  a1b2c3  ping"));
  EXPECT_LT(text.find("d00d02"), text.find("c0ffee01"));
}

TEST(RenderCommandsTest, UnansweredCommandIsSent) {
  v1::ListCommandsResponse response;
  v1::CommandRecord* command = response.add_commands();
  command->set_command_id("c1");
  command->mutable_command()->mutable_ping();
  std::ostringstream out;
  RenderCommands(response, kContext, out);
  EXPECT_THAT(out.str(), HasSubstr("SENT"));
}

TEST(RenderCommandsTest, SaysSoWhenThereAreNone) {
  std::ostringstream out;
  RenderCommands(v1::ListCommandsResponse(), kContext, out);
  EXPECT_EQ(out.str(), "No commands yet.\n");
}

TEST(RenderCommandStepTest, ElapsedSinceTheRequestStateAndMessage) {
  const v1::CommandRecord ping = SucceededPing();
  std::ostringstream out;
  for (const v1::CommandProgress& step : ping.progress()) {
    RenderCommandStep(step, ping.requested_unix_ms(), out);
  }
  EXPECT_EQ(out.str(),
            "+3 ms    ACCEPTED\n"
            "+5 ms    SUCCEEDED pong\n");
}

TEST(RenderCommandStepTest, AgentTextIsMadeInert) {
  v1::CommandProgress step;
  step.set_state(v1::FAILED);
  step.set_step("\x1b]0;title\x07");
  step.set_message("\x1b[2Jgone");
  std::ostringstream out;
  RenderCommandStep(step, 0, out);
  EXPECT_THAT(out.str(), Not(HasSubstr("\x1b")));
  EXPECT_THAT(out.str(), Not(HasSubstr("\x07")));
  EXPECT_THAT(out.str(), HasSubstr("[2Jgone"));
}

// Hostile text as an agent, a probed ERoom or a log line can deliver it:
// OSC retitle, BEL, clear screen, CR, NUL, DEL, C1 CSI, an invalid byte.
constexpr char kHostileBytes[] =
    "a\x1b]0;pwned\x07"
    "b\r\x1b[2Jc\0d\x7f\xC2\x9B"
    "e\xFF 한국어";
const std::string kHostile(kHostileBytes, sizeof(kHostileBytes) - 1);
constexpr char kHostileShown[] =
    "a\\x1b]0;pwned\\x07b\\r\\x1b[2Jc\\x00d\\x7f\\u009be\\xff 한국어";

// Whether `text` holds no C0 control but line ends, no DEL and no C1.
::testing::AssertionResult OnlyPrintable(const std::string& text) {
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char byte = text[i];
    const bool c1 = byte == 0xC2 && i + 1 < text.size() &&
                    (static_cast<unsigned char>(text[i + 1]) & 0xE0) == 0x80;
    if ((byte < 0x20 && byte != '\n') || byte == 0x7F || c1) {
      return ::testing::AssertionFailure()
             << "control byte " << static_cast<int>(byte) << " at " << i
             << " in: " << text;
    }
  }
  return ::testing::AssertionSuccess();
}

TEST(TerminalSafetyTest, LogMessagesAreShownEscaped) {
  v1::QueryLogsResponse logs;
  v1::StoredLogEvent* stored = logs.add_events();
  stored->set_agent_id("a1b2c3");
  stored->mutable_event()->set_level(v1::ERROR);
  stored->mutable_event()->set_event_type("error\x1b[8m");
  stored->mutable_event()->set_message(kHostile + "\n\tat Frame.run()");
  std::ostringstream out;
  RenderLogs(logs, kContext, {}, out);
  EXPECT_TRUE(OnlyPrintable(out.str()));
  EXPECT_THAT(out.str(), HasSubstr(kHostileShown));
  EXPECT_THAT(out.str(), HasSubstr("\n        at Frame.run()\n"));
  EXPECT_THAT(out.str(), HasSubstr("error\\x1b[8m"));
}

TEST(TerminalSafetyTest, HostsTableShowsProbeErrorsAndNamesEscaped) {
  v1::ListHostsResponse hosts = TwoHosts();
  hosts.mutable_hosts(0)->set_hostname("prod\x1b[2J");
  hosts.mutable_hosts(1)->mutable_latest_health()->set_error(kHostile);
  std::ostringstream out;
  RenderHosts(hosts, kContext, out);
  EXPECT_TRUE(OnlyPrintable(out.str()));
  EXPECT_THAT(out.str(), HasSubstr("prod\\x1b[2J (a1b2c3)"));
  EXPECT_THAT(out.str(), HasSubstr(kHostileShown));
}

TEST(TerminalSafetyTest, StatusShowsEveryReportedTextEscaped) {
  v1::HostStatus host = TwoHosts().hosts(0);
  host.set_version("0.1\r\x1b]2;x\x07");
  host.mutable_latest_health()->set_health_status("ok\x1b[5m");
  host.mutable_latest_sample()->mutable_disks(0)->set_mount("/\x1b[1A");
  v1::QueryLogsResponse errors = ErrorLogs();
  errors.mutable_events(0)->mutable_event()->set_message(kHostile);
  std::ostringstream out;
  RenderStatus(HostReport{host, errors}, kContext, out);
  EXPECT_TRUE(OnlyPrintable(out.str()));
  EXPECT_THAT(out.str(), HasSubstr("agent 0.1\\r\\x1b]2;x\\x07\n"));
  EXPECT_THAT(out.str(), HasSubstr("ok\\x1b[5m"));
  EXPECT_THAT(out.str(), HasSubstr("/\\x1b[1A"));
  EXPECT_THAT(out.str(), HasSubstr(kHostileShown));

  v1::HostStatus failing = TwoHosts().hosts(1);
  failing.mutable_latest_queue()->set_error(kHostile);
  out.str("");
  RenderStatus(HostReport{failing, {}}, kContext, out);
  EXPECT_TRUE(OnlyPrintable(out.str()));
  EXPECT_THAT(out.str(), HasSubstr(kHostileShown));
}

TEST(TerminalSafetyTest, MetricLabelsAreShownEscaped) {
  v1::QueryMetricsResponse response = CpuMetrics();
  (*response.mutable_series(0)->mutable_labels())["mount"] = kHostile;
  std::ostringstream out;
  RenderMetrics("host.cpu_percent", response, kContext, out);
  EXPECT_TRUE(OnlyPrintable(out.str()));
  EXPECT_THAT(out.str(), HasSubstr(kHostileShown));
}

TEST(TerminalSafetyTest, JsonKeepsTheTextExact) {
  constexpr char kControls[] = "\x1b]0;t\x07\r\0\x7f\xC2\x9B 한국어";
  const std::string controls(kControls, sizeof(kControls) - 1);
  v1::QueryLogsResponse logs;
  logs.add_events()->mutable_event()->set_message(controls);
  absl::StatusOr<std::string> text = MessageToJson(logs);
  ASSERT_THAT(text, IsOk());
  EXPECT_EQ(nlohmann::json::parse(*text)["events"][0]["event"]["message"],
            controls);
}

// TwoHosts() with ActiveAlerts()' firing one on prod-1.
v1::ListHostsResponse HostsWithAnAlert() {
  v1::ListHostsResponse hosts = TwoHosts();
  *hosts.mutable_hosts(0)->add_firing_alerts() = ActiveAlerts().alerts(0);
  return hosts;
}

TEST(RenderHostsTest, FiringAlertsAreCountedWithTheMostSevere) {
  std::ostringstream out;
  RenderHosts(HostsWithAnAlert(), kContext, out);
  EXPECT_THAT(out.str(), HasSubstr("12/1/142      1 critical\n"));
}

TEST(RenderStatusTest, FiringAlertsOneALine) {
  v1::HostStatus host = HostsWithAnAlert().hosts(0);
  v1::AlertRecord* second = host.add_firing_alerts();
  *second = ActiveAlerts().alerts(1);
  second->set_state(v1::ALERT_FIRING);
  second->set_firing_since_unix_ms(kNowMs - 3600 * 1000);
  std::ostringstream out;
  RenderStatus(HostReport{host, {}}, kContext, out);
  EXPECT_THAT(out.str(),
              HasSubstr("Alerts  critical health_down for 5m: /health failed 3 "
                        "times in a row (#12, acked)\n"
                        "        warning disk_full for 1h: \\x1b[31m/data "
                        "93.5% used (#14)\n"
                        "Last errors: none\n"));
}

TEST(RenderAlertsTest, OneRowPerAlertWithAgeAndAcknowledgement) {
  std::ostringstream out;
  RenderAlerts(ActiveAlerts(), kContext, out);
  EXPECT_EQ(out.str(),
            "ID  RULE         HOST    SEVERITY  STATE                   SINCE  "
            "VALUE  SUMMARY\n"
            "12  health_down  a1b2c3  critical  firing, acked by alice  5m     "
            "    3  /health failed 3 times in a row\n"
            "14  disk_full    a1b2c3  warning   pending                 1m     "
            " 93.5  \\x1b[31m/data 93.5% used\n");
}

TEST(RenderAlertsTest, SaysSoWhenNothingIsActive) {
  std::ostringstream out;
  RenderAlerts(v1::ListAlertsResponse(), kContext, out);
  EXPECT_EQ(out.str(), "No alerts are firing or pending.\n");
}

TEST(RenderAlertHistoryTest, OldestFirstMarkingWhatTheHostBeingDownHeldBack) {
  std::ostringstream out;
  RenderAlertHistory(AlertHistory(), kContext, out);
  EXPECT_EQ(out.str(),
            "TIME                     ID  RULE         HOST    SEVERITY  "
            "CHANGE              VALUE  SUMMARY\n"
            "2025-06-15 15:01:40.000  12  health_down  a1b2c3  critical  "
            "firing (host down)      3  /health failed 3 times in a row\n"
            "2025-06-15 15:05:40.000  12  health_down  a1b2c3  critical  "
            "resolved                0  /health answers again\n");
}

TEST(RenderSilencesTest, EndsInTheFutureOrEndedAndByWhom) {
  std::ostringstream out;
  RenderSilences(TwoSilences(), kContext, out);
  EXPECT_EQ(out.str(),
            "ID  MATCHERS                             ENDS                     "
            "      BY     COMMENT\n"
            " 3  host=eroom-prod-2                    ended 5m ago (expired by "
            "bob)  oscar  decommissioning\n"
            " 7  host=eroom-prod-1 alertname=~disk.*  in 2h                    "
            "      alice  disk swap tonight\n");
}

TEST(RenderRulesTest, EachRuleWithItsStateAndActiveAlerts) {
  std::ostringstream out;
  RenderRules(TwoRules(), kContext, out);
  EXPECT_EQ(out.str(),
            "RULE         KIND       SEVERITY  EVALUATED  ACTIVE         LAST "
            "ERROR\n"
            "health_down  threshold  critical  2s ago     a1b2c3 firing  -\n"
            "error_lines  log_match  warning   never      -              no "
            "events yet\n");
}

}  // namespace
}  // namespace eroom::cli
