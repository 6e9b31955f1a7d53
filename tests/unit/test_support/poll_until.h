#ifndef EROOM_TESTS_UNIT_TEST_SUPPORT_POLL_UNTIL_H_
#define EROOM_TESTS_UNIT_TEST_SUPPORT_POLL_UNTIL_H_

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace eroom {

// Waits, polling, until `done` holds or `timeout` passes; returns `done()`.
// For what another thread does (a server, a queue's worker), not for time:
// tests drive time with FakeClock.
template <typename Predicate>
bool PollUntil(Predicate done, absl::Duration timeout = absl::Seconds(5)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

}  // namespace eroom

#endif  // EROOM_TESTS_UNIT_TEST_SUPPORT_POLL_UNTIL_H_
