#include "tests/bench/latency_samples.h"

#include <algorithm>
#include <cmath>

namespace eroom::bench {

void LatencySamples::Merge(const LatencySamples& other) {
  micros_.insert(micros_.end(), other.micros_.begin(), other.micros_.end());
  sorted_ = false;
}

double LatencySamples::QuantileMs(double quantile) {
  if (micros_.empty()) return 0;
  if (!sorted_) {
    std::sort(micros_.begin(), micros_.end());
    sorted_ = true;
  }
  const double rank = std::ceil(quantile * static_cast<double>(micros_.size()));
  const size_t index =
      std::clamp<size_t>(static_cast<size_t>(rank), 1, micros_.size()) - 1;
  return static_cast<double>(micros_[index]) / 1000.0;
}

double LatencySamples::MaxMs() { return QuantileMs(1.0); }

}  // namespace eroom::bench
