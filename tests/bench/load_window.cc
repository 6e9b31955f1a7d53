#include "tests/bench/load_window.h"

#include <cstdio>

#include "absl/strings/str_cat.h"

namespace eroom::bench {

absl::StatusOr<absl::Duration> ParsePositiveDurationFlag(
    const std::string& name, const std::string& text) {
  absl::Duration duration;
  if (!absl::ParseDuration(text, &duration) ||
      duration <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", name, " '", text, "' is not a positive duration (e.g. 30s, 5m)"));
  }
  return duration;
}

void PrintLoadEdge(absl::string_view edge, absl::Time time) {
  std::printf("load %.*s unix_ms=%lld\n", static_cast<int>(edge.size()),
              edge.data(), static_cast<long long>(absl::ToUnixMillis(time)));
  std::fflush(stdout);
}

}  // namespace eroom::bench
