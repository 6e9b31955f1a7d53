#include "collector/alerting/metric_window.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace eroom::collector::alerting {
namespace {

constexpr size_t kMaxPoints = 10000;

// Nearest rank: the smallest value with at least `fraction` of the values
// at or below it.
double Percentile(std::vector<double> values, double fraction) {
  const size_t rank = static_cast<size_t>(
      std::ceil(fraction * static_cast<double>(values.size())));
  const size_t index = std::clamp<size_t>(rank, 1, values.size()) - 1;
  std::nth_element(values.begin(), values.begin() + index, values.end());
  return values[index];
}

double Aggregated(Aggregation aggregation, std::vector<double> values) {
  switch (aggregation) {
    case Aggregation::kLast:
      return values.back();
    case Aggregation::kAvg:
    case Aggregation::kSum: {
      double sum = 0;
      for (double value : values) sum += value;
      return aggregation == Aggregation::kSum
                 ? sum
                 : sum / static_cast<double>(values.size());
    }
    case Aggregation::kMin:
      return *std::min_element(values.begin(), values.end());
    case Aggregation::kMax:
      return *std::max_element(values.begin(), values.end());
    case Aggregation::kCount:
      return static_cast<double>(values.size());
    case Aggregation::kP95:
      return Percentile(std::move(values), 0.95);
    case Aggregation::kP99:
      return Percentile(std::move(values), 0.99);
  }
  return values.back();
}

}  // namespace

void MetricWindow::Add(absl::Time at, double value) {
  points_.push_back({at, value});
  if (points_.size() > kMaxPoints) points_.pop_front();
}

void MetricWindow::Trim(absl::Time now, absl::Duration keep_for,
                        size_t keep_samples) {
  while (points_.size() > keep_samples && points_.front().at < now - keep_for) {
    points_.pop_front();
  }
}

absl::Time MetricWindow::last_at() const {
  return points_.empty() ? absl::InfinitePast() : points_.back().at;
}

std::optional<double> MetricWindow::Aggregate(Aggregation aggregation,
                                              absl::Time now,
                                              absl::Duration window,
                                              int samples) const {
  size_t first = points_.size();
  if (samples > 0) {
    if (points_.size() < static_cast<size_t>(samples)) return std::nullopt;
    first = points_.size() - static_cast<size_t>(samples);
  } else if (window > absl::ZeroDuration()) {
    while (first > 0 && points_[first - 1].at > now - window) --first;
  } else if (!points_.empty()) {
    first = points_.size() - 1;
  }
  if (first == points_.size()) return std::nullopt;
  std::vector<double> values;
  values.reserve(points_.size() - first);
  for (size_t i = first; i < points_.size(); ++i) {
    values.push_back(points_[i].value);
  }
  return Aggregated(aggregation, std::move(values));
}

}  // namespace eroom::collector::alerting
