#include "collector/metric_rollups.h"

#include <algorithm>
#include <limits>

namespace eroom::collector {
namespace {

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

// The first minute start at or after `time_ms`.
int64_t FirstWholeMinute(int64_t time_ms) {
  if (time_ms == kMin) return kMin;  // Unbounded; its minute would overflow.
  const int64_t minute = RollupMinute(time_ms);
  if (minute == time_ms) return minute;
  return minute > kMax - kRollupMs ? kMax : minute + kRollupMs;
}

}  // namespace

int64_t RollupMinute(int64_t time_ms) {
  // The minute would start before the first representable time.
  if (time_ms < kMin + kRollupMs) return kMin;
  return time_ms - ((time_ms % kRollupMs) + kRollupMs) % kRollupMs;
}

MetricSources ChooseMetricSources(int64_t since_ms, int64_t until_ms,
                                  int64_t step_ms,
                                  std::optional<int64_t> oldest_point_ms) {
  MetricSources sources;
  sources.rollups_from = FirstWholeMinute(since_ms);
  // The minute holding until_ms is whole only if until_ms is its last
  // millisecond.
  sources.rollups_until = until_ms == kMax ? kMax : RollupMinute(until_ms + 1);
  const bool step_in_minutes = step_ms > 0 && step_ms % kRollupMs == 0;
  if (!step_in_minutes && oldest_point_ms.has_value()) {
    sources.rollups_until =
        std::min(sources.rollups_until, RollupMinute(*oldest_point_ms));
  }
  sources.points_head_until =
      sources.rollups_from == kMin
          ? kMin
          : std::min(sources.rollups_from - 1, until_ms);
  sources.points_tail_from =
      std::max(sources.rollups_until, sources.rollups_from);
  return sources;
}

}  // namespace eroom::collector
