#ifndef EROOM_TESTS_BENCH_LATENCY_SAMPLES_H_
#define EROOM_TESTS_BENCH_LATENCY_SAMPLES_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/time/time.h"

namespace eroom::bench {

// Latencies measured during a run (e.g. batch written -> ack covering it),
// summarised at the end. Not thread-safe: keep one per thread and Merge.
class LatencySamples {
 public:
  void Add(absl::Duration latency) {
    micros_.push_back(absl::ToInt64Microseconds(latency));
    sorted_ = false;
  }
  void Merge(const LatencySamples& other);
  size_t size() const { return micros_.size(); }
  // The `quantile` (0..1, nearest rank) in milliseconds; 0 when empty.
  double QuantileMs(double quantile);
  double MaxMs();

 private:
  std::vector<int64_t> micros_;
  bool sorted_ = true;
};

}  // namespace eroom::bench

#endif  // EROOM_TESTS_BENCH_LATENCY_SAMPLES_H_
