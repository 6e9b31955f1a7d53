#ifndef EROOM_COMMON_METRIC_CATALOG_H_
#define EROOM_COMMON_METRIC_CATALOG_H_

#include <map>
#include <string>
#include <vector>

#include "eroom/monitor/v1/monitor.pb.h"

namespace eroom {

// One numeric value derived from an observation, under a stable name that
// operators query (`eroomctl metrics NAME`) and thresholds refer to.
struct MetricValue {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// The single mapping from observations to metric names.
std::vector<MetricValue> MetricsFromSample(
    const eroom::monitor::v1::ResourceSample& sample);
std::vector<MetricValue> MetricsFromProbe(
    const eroom::monitor::v1::ProbeResult& probe);

// What an agent reports about itself, as "agent.<kind>" with the notice's
// count: drops, repairs and failures become series an operator can query
// and alert on.
std::vector<MetricValue> MetricsFromNotice(
    const eroom::monitor::v1::AgentNotice& notice);

// The notice kinds agents send (AgentNotice.kind).
namespace notice_kind {
inline constexpr char kEventsDropped[] = "events_dropped";
inline constexpr char kLogLinesTruncated[] = "log_lines_truncated";
inline constexpr char kLogLinesDropped[] = "log_lines_dropped";
inline constexpr char kLogUtf8Repaired[] = "log_utf8_repaired";
inline constexpr char kLogBytesUndecodable[] = "log_bytes_undecodable";
inline constexpr char kLogFileProblems[] = "log_file_problems";
inline constexpr char kLogReadingPaused[] = "log_reading_paused";
inline constexpr char kSamplerReadFailures[] = "sampler_read_failures";
inline constexpr char kSpoolReplaced[] = "spool_replaced";
// Restarts, so that alerts and reports can tell a host down during its own
// restart from an incident. A safe restart (eroomctl restart): started,
// then succeeded or failed (the message names the command and the failing
// step).
inline constexpr char kRestartStarted[] = "restart_started";
inline constexpr char kRestartSucceeded[] = "restart_succeeded";
inline constexpr char kRestartFailed[] = "restart_failed";
// The auto-restart policy: each attempt (count: its number since ERoom went
// down) and its outcome; the limit of attempts per hour reached (count:
// the limit), after which it waits for the hour to allow another.
inline constexpr char kAutoRestartAttempt[] = "auto_restart_attempt";
inline constexpr char kAutoRestartSucceeded[] = "auto_restart_succeeded";
inline constexpr char kAutoRestartFailed[] = "auto_restart_failed";
inline constexpr char kAutoRestartLimitReached[] = "auto_restart_limit_reached";
inline constexpr char kHousekeepingDone[] = "housekeeping_done";
inline constexpr char kHousekeepingFailed[] = "housekeeping_failed";
}  // namespace notice_kind

// Every name the functions above can produce, sorted.
const std::vector<std::string>& KnownMetricNames();

}  // namespace eroom

#endif  // EROOM_COMMON_METRIC_CATALOG_H_
