#ifndef EROOM_COLLECTOR_ALERTING_EVENT_WINDOW_H_
#define EROOM_COLLECTOR_ALERTING_EVENT_WINDOW_H_

#include <cstdint>
#include <deque>
#include <utility>

#include "absl/time/time.h"

namespace eroom::collector::alerting {

// How many events happened within a sliding window, in buckets of 1/60 of
// the window: its memory stays bounded whatever the rate, and an event
// leaves the count at most one bucket after the window passed it. Times
// are expected in order; an older one counts in the newest bucket.
class EventWindow {
 public:
  explicit EventWindow(absl::Duration window);

  absl::Duration window() const { return window_; }
  void Add(absl::Time at, int64_t count = 1);
  // The events of the window ending at `now`; forgets older ones.
  int64_t Count(absl::Time now);

 private:
  absl::Duration window_;
  int64_t bucket_ms_;
  std::deque<std::pair<int64_t, int64_t>> buckets_;  // (index, count)
  int64_t total_ = 0;
};

}  // namespace eroom::collector::alerting

#endif  // EROOM_COLLECTOR_ALERTING_EVENT_WINDOW_H_
