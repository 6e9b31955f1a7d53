#ifndef EROOM_COLLECTOR_DAILY_REPORT_H_
#define EROOM_COLLECTOR_DAILY_REPORT_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "collector/alerting/alert.h"
#include "collector/storage.h"
#include "eroom/monitor/v1/monitor.pb.h"

namespace eroom::collector {

// The daily report (eroomctl report daily): a day's figures per host and in
// total, from what storage says each host did that day (HostDayActivity)
// and the alerts that fired.
//
// Definitions:
//   - room_requests: rooms whose request was logged that day.
//   - rooms_succeeded / rooms_failed: rooms that ended that day (their one
//     outcome event, or the server start that cut them short, that day),
//     whenever they were requested; success_rate = succeeded / (succeeded +
//     failed).
//   - rooms_ended_unrequested: those of them whose request is not in the
//     log, made before the agent watched ERoom (or lost).
//   - processing_*: over those same rooms whose processing time is known
//     (ERoom's report, or the agent's measure from room_started), each room
//     once, the arithmetic mean of their processing times: not a mean of
//     every `처리 시간` line (ERoom logs it again in a failure's block and,
//     in newer builds, again in the queue manager's report), and not over
//     the requests; a room cut short without a time is left out, never
//     counted as 0. p50 and p95 are nearest-rank percentiles
//     (NearestRankPercentile), max the longest.
//   - queue_wait_avg_ms: the mean queue wait of the rooms that ended that
//     day whose wait is known.
//   - error_lines / warn_lines: log events of level ERROR / WARN.
//   - top_errors: the ERROR events' shapes (alerting::MessageShape), the
//     kTopErrorShapes most frequent (ties by shape), each with an example
//     (of its first lines, the least in byte order).
//   - alerts_fired: alerts that started firing that day (a host's, or the
//     collector's own, which only the total counts).
//   - restarts: server_started events.
// The total is the same figures over every host in the report.

inline constexpr int kTopErrorShapes = 10;
// The widest zone offsets in use: UTC-12 to UTC+14.
inline constexpr int kMinUtcOffsetMinutes = -12 * 60;
inline constexpr int kMaxUtcOffsetMinutes = 14 * 60;

struct ReportDay {
  absl::Time start;
  absl::Time end;  // Exclusive: the next day's start.
};

// The day `date` (YYYY-MM-DD; empty: the day it is at `now`) in the zone
// `utc_offset_minutes` east of UTC. InvalidArgument naming the field.
absl::StatusOr<ReportDay> DayOf(const std::string& date, int utc_offset_minutes,
                                absl::Time now);

// The nearest-rank percentile `percent` (0 < percent <= 100) of `sorted`
// (ascending): its value at rank ceil(percent / 100 * N), counting from 1;
// 0 for no values.
int64_t NearestRankPercentile(const std::vector<int64_t>& sorted,
                              double percent);

// The report of `day` from each host's activity (DayActivity's) and the
// alert changes that may include that day's (others are ignored). Hosts
// with alerts but no activity are added when `agent_ids` (the request's;
// empty: all) covers them.
eroom::monitor::v1::DailyReportResponse BuildDailyReport(
    const ReportDay& day, std::vector<HostDayActivity> activities,
    const std::vector<alerting::AlertEvent>& alert_changes,
    const std::vector<std::string>& agent_ids);

}  // namespace eroom::collector

#endif  // EROOM_COLLECTOR_DAILY_REPORT_H_
