#ifndef EROOM_COMMON_COMMAND_LIMITS_H_
#define EROOM_COMMON_COMMAND_LIMITS_H_

#include "absl/time/time.h"

namespace eroom {

// The range SafeRestart.drain_timeout_ms must fall in: the collector does
// not send anything else and the agent refuses it. A room takes at most 10
// minutes; a safe restart waits for running ones.
inline constexpr absl::Duration kMinDrainTimeout = absl::Seconds(1);
inline constexpr absl::Duration kMaxDrainTimeout = absl::Minutes(30);

}  // namespace eroom

#endif  // EROOM_COMMON_COMMAND_LIMITS_H_
