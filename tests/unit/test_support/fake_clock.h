#ifndef EROOM_TESTS_UNIT_TEST_SUPPORT_FAKE_CLOCK_H_
#define EROOM_TESTS_UNIT_TEST_SUPPORT_FAKE_CLOCK_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace eroom {

// A clock that only moves when told to: tests and generators that replay a
// timeline drive it instead of sleeping.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(absl::Time start = absl::FromUnixSeconds(1750000000))
      : now_(start) {}
  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }
  void Set(absl::Time t) {
    absl::MutexLock lock(&mu_);
    now_ = t;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace eroom

#endif  // EROOM_TESTS_UNIT_TEST_SUPPORT_FAKE_CLOCK_H_
