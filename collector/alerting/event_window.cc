#include "collector/alerting/event_window.h"

#include <algorithm>

namespace eroom::collector::alerting {

EventWindow::EventWindow(absl::Duration window)
    : window_(window),
      bucket_ms_(std::max<int64_t>(1, absl::ToInt64Milliseconds(window) / 60)) {
}

void EventWindow::Add(absl::Time at, int64_t count) {
  const int64_t index = absl::ToUnixMillis(at) / bucket_ms_;
  if (!buckets_.empty() && buckets_.back().first >= index) {
    buckets_.back().second += count;
  } else {
    buckets_.emplace_back(index, count);
  }
  total_ += count;
}

int64_t EventWindow::Count(absl::Time now) {
  const int64_t cutoff_ms =
      absl::ToUnixMillis(now) - absl::ToInt64Milliseconds(window_);
  while (!buckets_.empty() &&
         (buckets_.front().first + 1) * bucket_ms_ <= cutoff_ms) {
    total_ -= buckets_.front().second;
    buckets_.pop_front();
  }
  return total_;
}

}  // namespace eroom::collector::alerting
