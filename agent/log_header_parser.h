#ifndef EROOM_AGENT_LOG_HEADER_PARSER_H_
#define EROOM_AGENT_LOG_HEADER_PARSER_H_

#include <cstdint>
#include <optional>
#include <string_view>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "eroom/monitor/v1/monitor.pb.h"

namespace eroom::agent {

// The parts of an ERoom log line header. Views point into the parsed line.
struct LogHeader {
  int64_t time_unix_ms = 0;
  eroom::monitor::v1::LogLevel level =
      eroom::monitor::v1::LOG_LEVEL_UNSPECIFIED;
  std::string_view thread;
  std::string_view logger;  // As printed (abbreviated), without padding.
  std::string_view message;
};

// Where the date of a time-only (older pattern) header comes from.
struct LogFileDate {
  // From a dated file name (`server.2025-06-15.log`): every line has it.
  std::optional<absl::CivilDay> named_day;
  // Otherwise the file's modification time: a line is dated on that day,
  // or on the day before if that would put it after the modification (a
  // line logged before midnight, read after).
  absl::Time modified;
};

// The day in a log file name of the form `*.YYYY-MM-DD*.log` (logback's
// `server.2025-06-15.log`, `eroom.2025-06-15.3.log`), if any.
std::optional<absl::CivilDay> DayFromLogFileName(std::string_view path);

// Recognises the two ERoom header patterns (logback layouts):
//   shipped: `yyyy-MM-dd HH:mm:ss.SSS [thread] LEVEL +logger +: ?msg`
//   older:   `HH:mm:ss.SSS [thread] LEVEL +logger - ?msg`
// LEVEL is TRACE, DEBUG, INFO, WARN or ERROR; the logger has no whitespace;
// the thread may contain anything, "] " included: it ends at the first "] "
// after which the rest of the header fits. Timestamps are local times in
// `time_zone`. Every line goes through here, so the layouts are matched by
// position rather than by a regex. Thread safe.
class LogHeaderParser {
 public:
  explicit LogHeaderParser(absl::TimeZone time_zone);

  // The header of `line` (valid UTF-8), or nullopt if it does not start with
  // one (a continuation line or stray output).
  std::optional<LogHeader> Parse(std::string_view line,
                                 const LogFileDate& file_date) const;

 private:
  const absl::TimeZone time_zone_;
};

}  // namespace eroom::agent

#endif  // EROOM_AGENT_LOG_HEADER_PARSER_H_
