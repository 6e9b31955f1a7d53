#include "cli/text_format.h"

#include <algorithm>
#include <array>
#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"

namespace eroom::cli {

std::string FormatBytes(uint64_t bytes) {
  static constexpr std::array<const char*, 5> kUnits = {"B", "KiB", "MiB",
                                                        "GiB", "TiB"};
  if (bytes < 1024) return absl::StrCat(bytes, " B");
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < kUnits.size()) {
    value /= 1024;
    ++unit;
  }
  // Three significant digits at most: "7.8 GiB", "812 MiB".
  return value < 100 ? absl::StrFormat("%.1f %s", value, kUnits[unit])
                     : absl::StrFormat("%.0f %s", value, kUnits[unit]);
}

std::string FormatPercent(double percent) {
  return absl::StrFormat("%.1f%%", percent);
}

std::string FormatLatency(double millis) {
  if (millis >= 1000) return absl::StrFormat("%.1f s", millis / 1000);
  return absl::StrFormat("%.0f ms", millis);
}

std::string FormatAge(absl::Duration age) {
  const int64_t seconds = absl::ToInt64Seconds(age);
  if (seconds < 60) return absl::StrCat(std::max<int64_t>(seconds, 0), "s");
  if (seconds < 3600) return absl::StrCat(seconds / 60, "m");
  if (seconds < 48 * 3600) return absl::StrCat(seconds / 3600, "h");
  return absl::StrCat(seconds / 86400, "d");
}

std::string FormatLocalTime(int64_t unix_ms, absl::TimeZone zone) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%E3S", absl::FromUnixMillis(unix_ms),
                          zone);
}

std::string FirstLineSummary(absl::string_view message) {
  const size_t newline = message.find('\n');
  if (newline == absl::string_view::npos) return std::string(message);
  const absl::string_view first =
      absl::StripSuffix(message.substr(0, newline), "\r");
  // A trailing newline does not start another line.
  const absl::string_view rest =
      absl::StripSuffix(message.substr(newline + 1), "\n");
  if (rest.empty()) return std::string(first);
  const size_t more_lines = 1 + std::count(rest.begin(), rest.end(), '\n');
  return absl::StrCat(first, " (+", more_lines,
                      more_lines == 1 ? " line)" : " lines)");
}

std::string Printable(absl::string_view text) {
  static constexpr char kReplacement[] = "\xEF\xBF\xBD";  // U+FFFD
  std::string printable;
  printable.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char byte = static_cast<unsigned char>(text[i]);
    if (byte < 0x20 || byte == 0x7F) {
      printable += kReplacement;
    } else if (byte == 0xC2 && i + 1 < text.size() &&
               static_cast<unsigned char>(text[i + 1]) <= 0x9F &&
               static_cast<unsigned char>(text[i + 1]) >= 0x80) {
      printable += kReplacement;  // U+0080..U+009F in UTF-8.
      ++i;
    } else {
      printable += static_cast<char>(byte);
    }
  }
  return printable;
}

absl::StatusOr<absl::Time> ParseTimeArgument(absl::string_view text,
                                             absl::Time now,
                                             absl::TimeZone zone) {
  absl::Duration ago;
  // absl durations stop at hours; operators also think in days.
  absl::string_view days_text = text;
  int64_t days;
  if (absl::ConsumeSuffix(&days_text, "d") &&
      absl::SimpleAtoi(days_text, &days) && days >= 0) {
    return now - absl::Hours(24 * days);
  }
  if (absl::ParseDuration(text, &ago)) {
    if (ago < absl::ZeroDuration()) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", text,
                       "': a duration back from now cannot be "
                       "negative"));
    }
    return now - ago;
  }
  absl::Time time;
  std::string ignored;
  if (absl::ParseTime(absl::RFC3339_full, text, &time, &ignored)) return time;
  for (const char* format : {"%Y-%m-%d %H:%M:%E*S", "%Y-%m-%d %H:%M"}) {
    if (absl::ParseTime(format, text, zone, &time, &ignored)) return time;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("'", text,
                   "' is neither a duration (30s, 15m, 1h, 2d) nor a time "
                   "(2025-06-16T09:15:00+09:00 or 2025-06-16 09:15:00)"));
}

}  // namespace eroom::cli
