#include "common/duration_text.h"

#include <cstdint>

#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"

namespace eroom {

std::optional<absl::Duration> ParseDurationText(absl::string_view text) {
  // absl durations stop at hours; operators also think in days.
  absl::string_view days_text = text;
  int64_t days;
  if (absl::ConsumeSuffix(&days_text, "d") &&
      absl::SimpleAtoi(days_text, &days)) {
    return absl::Hours(24) * days;
  }
  absl::Duration duration;
  if (absl::ParseDuration(text, &duration)) return duration;
  return std::nullopt;
}

}  // namespace eroom
