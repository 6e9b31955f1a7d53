#include "cli/text_format.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <optional>
#include <string_view>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "common/duration_text.h"
#include "common/utf8.h"

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
  std::string printable;
  printable.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char byte = static_cast<unsigned char>(text[i]);
    const std::optional<Utf8Character> character =
        FirstUtf8Character(text.substr(i));
    if (!character.has_value()) {
      absl::StrAppendFormat(&printable, "\\x%02x", byte);  // Not UTF-8.
      ++i;
      continue;
    }
    const size_t length = character->bytes;
    if (character->code_point >= 0x80 && character->code_point <= 0x9F) {
      // C1 (U+0080..U+009F): U+009B is CSI on terminals that honour it.
      absl::StrAppendFormat(&printable, "\\u%04x",
                            static_cast<uint32_t>(character->code_point));
    } else if (byte == '\t') {
      printable += "\\t";
    } else if (byte == '\n') {
      printable += "\\n";
    } else if (byte == '\r') {
      printable += "\\r";
    } else if (byte < 0x20 || byte == 0x7F) {
      absl::StrAppendFormat(&printable, "\\x%02x", byte);
    } else {
      printable.append(text.data() + i, length);
    }
    i += length;
  }
  return printable;
}

std::string Sparkline(const std::vector<double>& values, size_t width) {
  if (values.empty() || width == 0) return "";
  std::vector<double> columns;
  const size_t count = std::min(values.size(), width);
  for (size_t column = 0; column < count; ++column) {
    const size_t begin = column * values.size() / count;
    const size_t end = (column + 1) * values.size() / count;
    double sum = 0;
    for (size_t i = begin; i < end; ++i) sum += values[i];
    columns.push_back(sum / static_cast<double>(end - begin));
  }
  const auto [low, high] = std::minmax_element(columns.begin(), columns.end());
  static constexpr std::string_view kBlocks[] = {"▁", "▂", "▃", "▄",
                                                 "▅", "▆", "▇", "█"};
  const double range = *high - *low;
  std::string line;
  for (double value : columns) {
    const size_t level =
        range > 0 ? static_cast<size_t>((value - *low) / range * 7 + 0.5) : 3;
    line += kBlocks[std::min<size_t>(level, 7)];
  }
  return line;
}

std::string CsvField(absl::string_view text) {
  const bool formula = !text.empty() && absl::string_view("=+-@").find(
                                            text[0]) != absl::string_view::npos;
  const std::string field = absl::StrCat(formula ? "'" : "", text);
  if (field.find_first_of(",\"\r\n") == std::string::npos) return field;
  return absl::StrCat("\"", absl::StrReplaceAll(field, {{"\"", "\"\""}}), "\"");
}

absl::StatusOr<absl::Time> ParseTimeArgument(absl::string_view text,
                                             absl::Time now,
                                             absl::TimeZone zone) {
  if (std::optional<absl::Duration> ago = ParseDurationText(text)) {
    if (*ago < absl::ZeroDuration()) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", text,
                       "': a duration back from now cannot be "
                       "negative"));
    }
    return now - *ago;
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
