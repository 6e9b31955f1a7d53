#ifndef EROOM_CLI_DAILY_CHECK_H_
#define EROOM_CLI_DAILY_CHECK_H_

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "eroom/monitor/v1/monitor.pb.h"

// The runbook's daily checklist (`eroomctl check`): what the collector
// knows about a host, judged pass, warn or fail. Pure: the fetching is the
// caller's.
namespace eroom::cli {

// The runbook's thresholds.
inline constexpr double kDiskWarnPercent = 80;
inline constexpr double kDiskFailPercent = 90;
inline constexpr absl::Duration kHousekeepingMaxAge = absl::Hours(48);
inline constexpr absl::Duration kUncompressedLogMaxAge = absl::Hours(24 * 8);
inline constexpr int64_t kErrorsTodayThreshold = 100;
inline constexpr int64_t kSpoolBacklogThreshold = 10000;

// The agent metrics the check reads (the agent's AgentState).
inline constexpr char kSpoolEventsMetric[] = "agent.spool_events";
inline constexpr char kEventsDroppedMetric[] = "agent.events_dropped_total";
inline constexpr char kHousekeepingLastRunMetric[] =
    "agent.housekeeping_last_run_unix_ms";
inline constexpr char kOldestUncompressedLogMetric[] =
    "agent.oldest_uncompressed_log_unix_ms";

// Exit codes of `eroomctl check`, for cron.
inline constexpr int kExitCheckWarning = 1;
inline constexpr int kExitCheckFailure = 2;

enum class CheckResult { kPass, kWarn, kFail };

// What the collector knows about one host. Each nullopt (or empty) reading
// is unknown, judged a warning ("no data").
struct HostCheckData {
  // Connection, latest sample and probes, firing alerts.
  eroom::monitor::v1::HostStatus host;
  // ERROR events since local midnight; counting may stop past
  // kErrorsTodayThreshold.
  std::optional<int64_t> errors_today;
  // The latest values of the agent metrics.
  std::optional<double> spool_events;
  std::optional<double> housekeeping_last_run_unix_ms;    // 0: never.
  std::optional<double> oldest_uncompressed_log_unix_ms;  // 0: none.
  // agent.events_dropped_total since local midnight, oldest first. The
  // counter starts at 0 when the agent does.
  std::vector<double> events_dropped_total_today;
};

struct CheckRow {
  std::string agent_id;
  std::string host;   // As HostLabel() prints it.
  std::string check;  // "connected", "health", "disk", ...
  CheckResult result = CheckResult::kPass;
  std::string detail;
};

// One row per check of the list, in the runbook's order.
std::vector<CheckRow> JudgeHost(const HostCheckData& data, absl::Time now);

// 0 when every row passed, kExitCheckWarning when the worst is a warning,
// kExitCheckFailure when any failed.
int CheckExitCode(const std::vector<CheckRow>& rows);

// "pass", "warn", "fail".
std::string_view CheckResultName(CheckResult result);

// HOST, CHECK, RESULT, DETAIL.
void RenderCheckRows(const std::vector<CheckRow>& rows, std::ostream& out);

}  // namespace eroom::cli

#endif  // EROOM_CLI_DAILY_CHECK_H_
