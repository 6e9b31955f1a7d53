#include "cli/daily_check.h"

#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/cli/test_protos.h"

namespace eroom::cli {
namespace {
namespace v1 = ::eroom::monitor::v1;
using ::eroom::cli::testing::ActiveAlerts;
using ::eroom::cli::testing::kNowMs;
using ::eroom::cli::testing::TwoHosts;
using ::testing::HasSubstr;
using ::testing::Not;

const absl::Time kNow = absl::FromUnixMillis(kNowMs);
constexpr double kHourMs = 3600 * 1000;

// prod-1 with everything in order: no backlog, disks below 80%, the agent
// reporting a recent housekeeping run and nothing dropped.
HostCheckData HealthyHost() {
  HostCheckData data;
  data.host = TwoHosts().hosts(0);
  data.host.mutable_latest_queue()->mutable_queue()->set_queued(2);
  data.host.mutable_latest_sample()->mutable_disks(1)->set_used_bytes(50ull
                                                                      << 30);
  data.errors_today = 2;
  data.spool_events = 0;
  data.housekeeping_last_run_unix_ms = kNowMs - 5 * kHourMs;
  data.oldest_uncompressed_log_unix_ms = kNowMs - 72 * kHourMs;
  data.events_dropped_total_today = {4, 4, 4};
  return data;
}

// The row of `check`; fails the test if there is none.
CheckRow Row(const std::vector<CheckRow>& rows, const std::string& check) {
  for (const CheckRow& row : rows) {
    if (row.check == check) return row;
  }
  ADD_FAILURE() << "no row for " << check;
  return CheckRow();
}

CheckResult ResultOf(const HostCheckData& data, const std::string& check) {
  return Row(JudgeHost(data, kNow), check).result;
}

TEST(DailyCheckTest, HealthyHostPassesEveryCheckInTheRunbooksOrder) {
  const std::vector<CheckRow> rows = JudgeHost(HealthyHost(), kNow);
  std::vector<std::string> checks;
  for (const CheckRow& row : rows) {
    checks.push_back(row.check);
    EXPECT_EQ(row.result, CheckResult::kPass)
        << row.check << ": " << row.detail;
    EXPECT_EQ(row.agent_id, "a1b2c3");
    EXPECT_EQ(row.host, "eroom-prod-1 (a1b2c3)");
  }
  EXPECT_THAT(checks,
              ::testing::ElementsAre("connected", "health", "disk",
                                     "housekeeping", "errors_today", "queue",
                                     "eroom_process", "agent_spool", "alerts"));
  EXPECT_EQ(CheckExitCode(rows), 0);
  EXPECT_EQ(Row(rows, "disk").detail, "/ 45.0%, /data 50.0%");
  EXPECT_EQ(Row(rows, "housekeeping").detail,
            "last run 5h ago, oldest uncompressed log 3d old");
  EXPECT_EQ(Row(rows, "eroom_process").detail, "up (pid 4242), port listening");
  EXPECT_EQ(Row(rows, "agent_spool").detail,
            "backlog 0 events, 0 dropped today");
}

TEST(DailyCheckTest, DiskWarnsFromEightyAndFailsFromNinetyPercent) {
  HostCheckData data = HealthyHost();
  v1::DiskUsage* disk = data.host.mutable_latest_sample()->mutable_disks(1);
  disk->set_total_bytes(100);
  disk->set_used_bytes(79);
  EXPECT_EQ(ResultOf(data, "disk"), CheckResult::kPass);
  disk->set_used_bytes(80);
  EXPECT_EQ(ResultOf(data, "disk"), CheckResult::kWarn);
  disk->set_used_bytes(90);
  EXPECT_EQ(ResultOf(data, "disk"), CheckResult::kFail);
  EXPECT_EQ(Row(JudgeHost(data, kNow), "disk").detail, "/ 45.0%, /data 90.0%");
}

TEST(DailyCheckTest, HousekeepingWarnsWhenOldNeverOrUnknown) {
  HostCheckData data = HealthyHost();
  data.housekeeping_last_run_unix_ms = kNowMs - 49 * kHourMs;
  EXPECT_EQ(ResultOf(data, "housekeeping"), CheckResult::kWarn);
  data.housekeeping_last_run_unix_ms = 0;
  EXPECT_EQ(ResultOf(data, "housekeeping"), CheckResult::kWarn);
  EXPECT_THAT(Row(JudgeHost(data, kNow), "housekeeping").detail,
              HasSubstr("never run"));
  data.housekeeping_last_run_unix_ms.reset();
  EXPECT_EQ(ResultOf(data, "housekeeping"), CheckResult::kWarn);
  EXPECT_THAT(Row(JudgeHost(data, kNow), "housekeeping").detail,
              HasSubstr("no data"));

  data = HealthyHost();
  data.oldest_uncompressed_log_unix_ms = kNowMs - 9 * 24 * kHourMs;
  EXPECT_EQ(ResultOf(data, "housekeeping"), CheckResult::kWarn);
  EXPECT_THAT(Row(JudgeHost(data, kNow), "housekeeping").detail,
              HasSubstr("oldest uncompressed log 9d old"));
  data.oldest_uncompressed_log_unix_ms = 0;  // Nothing left uncompressed.
  EXPECT_EQ(ResultOf(data, "housekeeping"), CheckResult::kPass);
  data.oldest_uncompressed_log_unix_ms.reset();
  EXPECT_EQ(ResultOf(data, "housekeeping"), CheckResult::kWarn);
}

TEST(DailyCheckTest, ErrorsTodayWarnAboveTheThreshold) {
  HostCheckData data = HealthyHost();
  data.errors_today = kErrorsTodayThreshold;
  EXPECT_EQ(ResultOf(data, "errors_today"), CheckResult::kPass);
  data.errors_today = kErrorsTodayThreshold + 1;
  EXPECT_EQ(ResultOf(data, "errors_today"), CheckResult::kWarn);
  EXPECT_EQ(Row(JudgeHost(data, kNow), "errors_today").detail,
            "more than 100 ERROR lines since midnight");
  data.errors_today.reset();
  EXPECT_EQ(ResultOf(data, "errors_today"), CheckResult::kWarn);
}

TEST(DailyCheckTest, QueueBacklogWarns) {
  HostCheckData data = HealthyHost();
  data.host.mutable_latest_queue()->mutable_queue()->set_queued(11);
  EXPECT_EQ(ResultOf(data, "queue"), CheckResult::kWarn);
  data.host.mutable_latest_queue()->mutable_queue()->set_queued(10);
  EXPECT_EQ(ResultOf(data, "queue"), CheckResult::kPass);
  data.host.clear_latest_queue();
  EXPECT_EQ(ResultOf(data, "queue"), CheckResult::kWarn);
}

TEST(DailyCheckTest, ProcessDownOrPortClosedFails) {
  HostCheckData data = HealthyHost();
  v1::ProcessState* eroom = data.host.mutable_latest_sample()->mutable_eroom();
  eroom->set_port_listening(false);
  EXPECT_EQ(ResultOf(data, "eroom_process"), CheckResult::kFail);
  eroom->set_up(false);
  EXPECT_EQ(ResultOf(data, "eroom_process"), CheckResult::kFail);
  EXPECT_EQ(Row(JudgeHost(data, kNow), "eroom_process").detail, "process down");
}

TEST(DailyCheckTest, SpoolWarnsOnDropsTodayAndABigBacklog) {
  HostCheckData data = HealthyHost();
  data.events_dropped_total_today = {4, 6};
  EXPECT_EQ(ResultOf(data, "agent_spool"), CheckResult::kWarn);
  EXPECT_THAT(Row(JudgeHost(data, kNow), "agent_spool").detail,
              HasSubstr("2 dropped today"));
  // The agent restarted (the counter starts again from 0) and dropped 3.
  data.events_dropped_total_today = {4, 4, 3};
  EXPECT_THAT(Row(JudgeHost(data, kNow), "agent_spool").detail,
              HasSubstr("3 dropped today"));
  data = HealthyHost();
  data.spool_events = kSpoolBacklogThreshold + 1;
  EXPECT_EQ(ResultOf(data, "agent_spool"), CheckResult::kWarn);
  data.spool_events = kSpoolBacklogThreshold;
  EXPECT_EQ(ResultOf(data, "agent_spool"), CheckResult::kPass);
  data.events_dropped_total_today.clear();
  EXPECT_EQ(ResultOf(data, "agent_spool"), CheckResult::kWarn);
  EXPECT_THAT(Row(JudgeHost(data, kNow), "agent_spool").detail,
              HasSubstr("drops: no data"));
}

TEST(DailyCheckTest, FiringAlertsWarnOrFailBySeverity) {
  HostCheckData data = HealthyHost();
  v1::AlertRecord warning = ActiveAlerts().alerts(1);
  warning.set_state(v1::ALERT_FIRING);
  *data.host.add_firing_alerts() = warning;
  EXPECT_EQ(ResultOf(data, "alerts"), CheckResult::kWarn);
  *data.host.add_firing_alerts() = ActiveAlerts().alerts(0);
  EXPECT_EQ(ResultOf(data, "alerts"), CheckResult::kFail);
  EXPECT_EQ(Row(JudgeHost(data, kNow), "alerts").detail,
            "2 firing: warning disk_full (#14), critical health_down (#12)");
}

TEST(DailyCheckTest, DisconnectedHostFailsAndItsMissingDataWarns) {
  HostCheckData data;
  data.host = TwoHosts().hosts(1);
  const std::vector<CheckRow> rows = JudgeHost(data, kNow);
  EXPECT_EQ(Row(rows, "connected").result, CheckResult::kFail);
  EXPECT_EQ(Row(rows, "connected").detail, "not connected, last seen 3m ago");
  EXPECT_EQ(Row(rows, "health").result, CheckResult::kFail);
  EXPECT_THAT(Row(rows, "health").detail, HasSubstr("connection refused"));
  EXPECT_EQ(Row(rows, "disk").result, CheckResult::kWarn);
  EXPECT_EQ(Row(rows, "disk").detail, "no data");
  EXPECT_EQ(Row(rows, "eroom_process").result, CheckResult::kWarn);
  EXPECT_EQ(CheckExitCode(rows), kExitCheckFailure);
}

TEST(DailyCheckTest, ExitCodeIsTheWorstResult) {
  EXPECT_EQ(CheckExitCode({}), 0);
  CheckRow pass{"a", "a", "health", CheckResult::kPass, ""};
  CheckRow warn{"a", "a", "disk", CheckResult::kWarn, ""};
  CheckRow fail{"b", "b", "connected", CheckResult::kFail, ""};
  EXPECT_EQ(CheckExitCode({pass, pass}), 0);
  EXPECT_EQ(CheckExitCode({pass, warn}), kExitCheckWarning);
  EXPECT_EQ(CheckExitCode({fail, warn, pass}), kExitCheckFailure);
}

TEST(DailyCheckTest, TableShowsWhatTheNetworkSentEscaped) {
  HostCheckData data = HealthyHost();
  data.host.mutable_latest_health()->set_ok(false);
  data.host.mutable_latest_health()->set_error("\x1b[2Jboom");
  std::ostringstream out;
  RenderCheckRows(JudgeHost(data, kNow), out);
  EXPECT_THAT(out.str(), ::testing::StartsWith("HOST "));
  EXPECT_THAT(out.str(), HasSubstr("health"));
  EXPECT_THAT(out.str(), HasSubstr("fail    failing: \\x1b[2Jboom (3s ago)"));
  EXPECT_THAT(out.str(), Not(HasSubstr("\x1b")));
}

}  // namespace
}  // namespace eroom::cli
