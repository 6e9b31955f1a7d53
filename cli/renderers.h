#ifndef EROOM_CLI_RENDERERS_H_
#define EROOM_CLI_RENDERERS_H_

#include <cstdint>
#include <ostream>
#include <string>

#include "absl/time/time.h"
#include "eroom/monitor/v1/monitor.pb.h"

// Human-readable (-o table) output of each command.
namespace eroom::cli {

// The runbook's threshold: more waiting rooms than this is a backlog.
inline constexpr int64_t kQueueBacklogThreshold = 10;

struct RenderContext {
  absl::Time now;       // For ages ("3m ago").
  absl::TimeZone zone;  // For printed times.
};

// What `eroomctl status` shows about one host.
struct HostReport {
  eroom::monitor::v1::HostStatus host;
  eroom::monitor::v1::QueryLogsResponse recent_errors;  // Newest first.
};

// "hostname (agent id)", or just the agent id when they agree.
std::string HostLabel(const eroom::monitor::v1::HostStatus& host);

// Why a probe failed: its error, else its HTTP status.
std::string ProbeFailure(const eroom::monitor::v1::ProbeResult& probe);

void RenderHosts(const eroom::monitor::v1::ListHostsResponse& response,
                 const RenderContext& context, std::ostream& out);
void RenderStatus(const HostReport& report, const RenderContext& context,
                  std::ostream& out);
// Oldest first, whatever order the collector sent.
// One event as one line of RenderLogs' columns, for a follow.
void RenderLogLine(const eroom::monitor::v1::StoredLogEvent& stored,
                   const RenderContext& context, std::ostream& out);
void RenderLogs(const eroom::monitor::v1::QueryLogsResponse& response,
                const RenderContext& context, std::ostream& out);
void RenderMetrics(const std::string& name,
                   const eroom::monitor::v1::QueryMetricsResponse& response,
                   const RenderContext& context, std::ostream& out);
// One row per point (RFC 4180, CRLF): agent_id, name, labels ("k=v;..."),
// time_unix_ms, value, and count, min, max for a stepped query.
void RenderMetricsCsv(const eroom::monitor::v1::QueryMetricsResponse& response,
                      std::ostream& out);
void RenderQueue(const eroom::monitor::v1::ListHostsResponse& response,
                 const RenderContext& context, std::ostream& out);

// What the agent said last: "[step] message", first line only.
std::string StepSummary(const eroom::monitor::v1::CommandProgress& step);
// "command c0ffee01 (safe_restart on a1b2c3, requested by oscar): RUNNING
// [drain] message".
std::string CommandSummary(const eroom::monitor::v1::CommandRecord& command);

// One line per step as `eroomctl ping` prints it, with the time since the
// command was requested: "+3 ms  ACCEPTED  message".
void RenderCommandStep(const eroom::monitor::v1::CommandProgress& step,
                       int64_t requested_unix_ms, std::ostream& out);
void RenderCommands(const eroom::monitor::v1::ListCommandsResponse& response,
                    const RenderContext& context, std::ostream& out);
// One line per step of a procedure (restart, housekeeping), with the time
// since it was requested: "[ 12.3s] drain     RUNNING  active 1, queued 0".
void RenderProcedureStep(const eroom::monitor::v1::CommandProgress& step,
                         int64_t requested_unix_ms, std::ostream& out);
// A step that failed, in full: its message and the ERoom log lines around
// the failure.
void RenderStepFailure(const eroom::monitor::v1::CommandProgress& step,
                       std::ostream& out);
// ACTION, FILE, BEFORE, AFTER, REASON, then the space freed.
void RenderHousekeepingReport(
    const eroom::monitor::v1::HousekeepingReport& report, std::ostream& out);
// Oldest first, whatever order the collector sent.
void RenderAudit(const eroom::monitor::v1::ListAuditResponse& response,
                 const RenderContext& context, std::ostream& out);

// Alerts pending and firing, in the collector's order (most severe first).
void RenderAlerts(const eroom::monitor::v1::ListAlertsResponse& response,
                  const RenderContext& context, std::ostream& out);
// Alert changes, oldest first whatever order the collector sent.
void RenderAlertHistory(const eroom::monitor::v1::ListAlertsResponse& response,
                        const RenderContext& context, std::ostream& out);
void RenderSilences(const eroom::monitor::v1::ListSilencesResponse& response,
                    const RenderContext& context, std::ostream& out);
void RenderRules(const eroom::monitor::v1::ListRulesResponse& response,
                 const RenderContext& context, std::ostream& out);

}  // namespace eroom::cli

#endif  // EROOM_CLI_RENDERERS_H_
