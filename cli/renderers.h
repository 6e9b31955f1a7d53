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

// "connected", "silent 2m" (connected, nothing arrived lately), "down 3m".
std::string ConnectionState(const eroom::monitor::v1::HostStatus& host,
                            const RenderContext& context);
// The latest /health probe: "healthy 12 ms", "error: timeout (1.0 s)", "-".
std::string HealthSummary(const eroom::monitor::v1::HostStatus& host);
// The queue as the latest /queue/status probe reported it, if it did.
const eroom::monitor::v1::QueueStatus* LatestQueue(
    const eroom::monitor::v1::HostStatus& host);
bool IsBacklog(const eroom::monitor::v1::QueueStatus& queue);
// "2 critical": how many, and the most severe (the collector sends it
// first); "-" when none fires.
std::string FiringAlertsSummary(const eroom::monitor::v1::HostStatus& host);
// "critical health_down for 5m: summary (#12)", ", acked" once acknowledged.
std::string FiringAlertText(const eroom::monitor::v1::AlertRecord& alert,
                            const RenderContext& context);
// The first line of a log event's message, with " [truncated]" when the
// agent cut it.
std::string EventMessage(const eroom::monitor::v1::LogEvent& event);

void RenderHosts(const eroom::monitor::v1::ListHostsResponse& response,
                 const RenderContext& context, std::ostream& out);
void RenderStatus(const HostReport& report, const RenderContext& context,
                  std::ostream& out);
struct LogRenderOptions {
  // Each event's first line, with "… N more lines" for the rest (a stack
  // trace); else every line, the rest indented below the event's row.
  bool brief = false;
  // The context asked for (QueryLogsRequest.context); when positive, each
  // row starts with '>' for a match or '-' for context, like grep, and "--"
  // separates the runs of the collector's answer.
  int context = 0;
};

// One event in RenderLogs' columns, for a follow: one line when `brief`,
// else its further lines (a stack trace) indented below it.
void RenderLogLine(const eroom::monitor::v1::StoredLogEvent& stored,
                   const RenderContext& context, bool brief, std::ostream& out);

// Oldest first, whatever order the collector sent: by time, or with
// context the collector's runs, each in its file's order.
void RenderLogs(const eroom::monitor::v1::QueryLogsResponse& response,
                const RenderContext& context, const LogRenderOptions& options,
                std::ostream& out);
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
