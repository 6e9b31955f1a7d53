#ifndef EROOM_COMMON_CLOCK_H_
#define EROOM_COMMON_CLOCK_H_

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace eroom {

// Source of the current time. Injected everywhere time matters so that unit
// tests control it instead of sleeping.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

class RealClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
  // Process-wide instance; stateless, so sharing is safe.
  static const Clock& Get() {
    static const RealClock clock;
    return clock;
  }
};

}  // namespace eroom

#endif  // EROOM_COMMON_CLOCK_H_
