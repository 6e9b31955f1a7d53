#ifndef EROOM_COLLECTOR_METRIC_ROLLUPS_H_
#define EROOM_COLLECTOR_METRIC_ROLLUPS_H_

#include <cstdint>
#include <optional>

namespace eroom::collector {

// Metric points are rolled up per minute (count, sum, min, max) as they are
// stored, and the rollups outlive the points (RetentionPolicy::rollups).
inline constexpr int64_t kRollupMs = 60'000;

// The start of the minute holding `time_ms`.
int64_t RollupMinute(int64_t time_ms);

// Where a query of one series over [since_ms, until_ms] (inclusive, the
// int64 extremes when unbounded) reads: rollup minutes in
// [rollups_from, rollups_until) and points in [since_ms, points_head_until]
// and [points_tail_from, until_ms] (either range may be empty). Only whole
// minutes come from rollups, so a bound inside a minute reads that minute's
// points and the answer is the same whichever holds the data.
struct MetricSources {
  int64_t rollups_from = 0;
  int64_t rollups_until = 0;
  int64_t points_head_until = 0;
  int64_t points_tail_from = 0;
};

// A step that is a multiple of a minute is answered from rollups (exact:
// the average is the sum over the count); any other step, or none, from
// the points, and from rollups only for the minutes before
// `oldest_point_ms`, the series' oldest stored point (nullopt: it has
// none), where the points have expired.
MetricSources ChooseMetricSources(int64_t since_ms, int64_t until_ms,
                                  int64_t step_ms,
                                  std::optional<int64_t> oldest_point_ms);

}  // namespace eroom::collector

#endif  // EROOM_COLLECTOR_METRIC_ROLLUPS_H_
