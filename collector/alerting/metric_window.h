#ifndef EROOM_COLLECTOR_ALERTING_METRIC_WINDOW_H_
#define EROOM_COLLECTOR_ALERTING_METRIC_WINDOW_H_

#include <cstddef>
#include <deque>
#include <optional>

#include "absl/time/time.h"
#include "collector/alerting/alert_rule.h"

namespace eroom::collector::alerting {

// The recent points of one series of one host, aggregated as threshold
// rules ask. Keeps what Trim is told the rules need, and never more than
// 10,000 points.
class MetricWindow {
 public:
  // Points are expected in time order.
  void Add(absl::Time at, double value);
  // Forgets points older than `keep_for` before `now`, but never the
  // newest `keep_samples`.
  void Trim(absl::Time now, absl::Duration keep_for, size_t keep_samples);

  // InfinitePast when empty.
  absl::Time last_at() const;
  // The aggregation of the last `samples` points when `samples` > 0 (none
  // until there are that many), else of the points after now - `window`
  // when `window` > 0, else of the last point. nullopt without points.
  std::optional<double> Aggregate(Aggregation aggregation, absl::Time now,
                                  absl::Duration window, int samples) const;

 private:
  struct Point {
    absl::Time at;
    double value;
  };
  std::deque<Point> points_;
};

}  // namespace eroom::collector::alerting

#endif  // EROOM_COLLECTOR_ALERTING_METRIC_WINDOW_H_
