#ifndef EROOM_COMMON_DURATION_TEXT_H_
#define EROOM_COMMON_DURATION_TEXT_H_

#include <optional>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace eroom {

// A duration as operators write it in configs and on the command line:
// absl's form ("250ms", "1h30m", "-1h") or whole days ("7d"); nullopt if it
// is neither.
std::optional<absl::Duration> ParseDurationText(absl::string_view text);

}  // namespace eroom

#endif  // EROOM_COMMON_DURATION_TEXT_H_
