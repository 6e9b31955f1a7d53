#ifndef EROOM_CLI_TEXT_FORMAT_H_
#define EROOM_CLI_TEXT_FORMAT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

// How eroomctl writes numbers and times for people, and reads the times
// people type.
namespace eroom::cli {

// Binary units: "512 B", "812 MiB", "7.8 GiB".
std::string FormatBytes(uint64_t bytes);
// "12.5%".
std::string FormatPercent(double percent);
// "12 ms", "1.3 s".
std::string FormatLatency(double millis);
// The largest whole unit: "45s", "3m", "5h", "2d". Negative ages (clock
// skew between hosts) read as "0s".
std::string FormatAge(absl::Duration age);
// "yyyy-MM-dd HH:mm:ss.SSS" in `zone`.
std::string FormatLocalTime(int64_t unix_ms, absl::TimeZone zone);
// The first line of a multi-line message, followed by " (+N lines)" when
// there are more.
std::string FirstLineSummary(absl::string_view message);

// `text` from the network made inert on a terminal, for every text (not
// JSON) output: control characters, which move the cursor or start escape
// sequences, are shown as escapes: "\t", "\n", "\r", "\x1b" (C0 and DEL),
// "\u009b" (C1); a byte that is not UTF-8 as "\xff". Other text, Korean
// included, is unchanged, and so is Printable's own output.
std::string Printable(absl::string_view text);

// `values` as a line of at most `width` block characters (▁ to █), lowest
// to highest of them; more values than `width` are averaged in groups.
std::string Sparkline(const std::vector<double>& values, size_t width);

// `text` as one CSV field (RFC 4180): quoted when it holds a comma, quote or
// line break. A text from the network that a spreadsheet would run as a
// formula (starting with = + - @) is prefixed with ' first.
std::string CsvField(absl::string_view text);

// A --since/--until value: a duration before `now` ("30s", "15m", "1h",
// "2d", "1h30m"), an RFC 3339 time ("2025-06-16T09:15:00+09:00"), or a time
// as the logs table prints it ("2025-06-16 09:15:00[.123]", in `zone`).
absl::StatusOr<absl::Time> ParseTimeArgument(absl::string_view text,
                                             absl::Time now,
                                             absl::TimeZone zone);

}  // namespace eroom::cli

#endif  // EROOM_CLI_TEXT_FORMAT_H_
