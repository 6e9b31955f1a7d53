#include "agent/log_header_parser.h"

namespace eroom::agent {
namespace {

namespace v1 = ::eroom::monitor::v1;

// Lines are written before the file's mtime, but the mtime is read before the
// lines it dates, so a line may be a little newer: tolerate that much.
constexpr absl::Duration kModifiedSlack = absl::Hours(1);

// Patterns stop at the end of the header: the message is the rest of the
// line, so matching costs the same for a short and a 1 MiB message.
constexpr char kLevelLoggerPattern[] =
    R"( \[(.*?)\] (TRACE|DEBUG|INFO|WARN|ERROR) +(\S+))";

v1::LogLevel ToLevel(std::string_view name) {
  if (name == "TRACE") return v1::TRACE;
  if (name == "DEBUG") return v1::DEBUG;
  if (name == "INFO") return v1::INFO;
  if (name == "WARN") return v1::WARN;
  return v1::ERROR;  // The patterns admit nothing else.
}

// The civil time, unless a field is out of range (then absl would silently
// normalise it to another time).
std::optional<absl::CivilSecond> ValidCivilSecond(int year, int month, int day,
                                                  int hour, int minute,
                                                  int second) {
  const absl::CivilSecond civil(year, month, day, hour, minute, second);
  if (civil.year() != year || civil.month() != month || civil.day() != day ||
      civil.hour() != hour || civil.minute() != minute ||
      civil.second() != second) {
    return std::nullopt;
  }
  return civil;
}

int64_t ToUnixMillis(const absl::CivilSecond& civil, int millis,
                     absl::TimeZone zone) {
  return absl::ToUnixMillis(absl::FromCivil(civil, zone) +
                            absl::Milliseconds(millis));
}

}  // namespace

std::optional<absl::CivilDay> DayFromLogFileName(std::string_view path) {
  static LazyRE2 dated_name = {R"(\.(\d{4})-(\d{2})-(\d{2})[^/]*\.log$)"};
  int year, month, day;
  if (!RE2::PartialMatch(path, *dated_name, &year, &month, &day)) {
    return std::nullopt;
  }
  std::optional<absl::CivilSecond> civil =
      ValidCivilSecond(year, month, day, 0, 0, 0);
  if (!civil) return std::nullopt;
  return absl::CivilDay(*civil);
}

LogHeaderParser::LogHeaderParser(absl::TimeZone time_zone)
    : time_zone_(time_zone),
      dated_header_(std::string(R"((\d{4})-(\d{2})-(\d{2}) )"
                                R"((\d{2}):(\d{2}):(\d{2})\.(\d{3}))") +
                    kLevelLoggerPattern + " +: ?"),
      time_only_header_(std::string(R"((\d{2}):(\d{2}):(\d{2})\.(\d{3}))") +
                        kLevelLoggerPattern + " - ?") {}

std::optional<LogHeader> LogHeaderParser::Parse(
    std::string_view line, const LogFileDate& file_date) const {
  // Cheap rejection of continuation lines (`\tat ...`, `Caused by: ...`).
  if (line.size() < 3 || line[0] < '0' || line[0] > '9') return std::nullopt;

  re2::StringPiece rest(line);
  re2::StringPiece thread, level, logger;
  int hour, minute, second, millis;
  std::optional<absl::CivilSecond> civil;
  if (line[2] == ':') {
    if (!RE2::Consume(&rest, time_only_header_, &hour, &minute, &second,
                      &millis, &thread, &level, &logger)) {
      return std::nullopt;
    }
    const auto on_day = [&](absl::CivilDay day) {
      return ValidCivilSecond(day.year(), day.month(), day.day(), hour, minute,
                              second);
    };
    if (file_date.named_day) {
      civil = on_day(*file_date.named_day);
    } else {
      const absl::CivilDay modified_day =
          absl::ToCivilDay(file_date.modified, time_zone_);
      civil = on_day(modified_day);
      if (civil && absl::FromCivil(*civil, time_zone_) >
                       file_date.modified + kModifiedSlack) {
        civil = on_day(modified_day - 1);
      }
    }
  } else {
    int year, month, day;
    if (!RE2::Consume(&rest, dated_header_, &year, &month, &day, &hour, &minute,
                      &second, &millis, &thread, &level, &logger)) {
      return std::nullopt;
    }
    civil = ValidCivilSecond(year, month, day, hour, minute, second);
  }
  if (!civil) return std::nullopt;

  LogHeader header;
  header.time_unix_ms = ToUnixMillis(*civil, millis, time_zone_);
  header.level = ToLevel(level);
  header.thread = thread;
  header.logger = logger;
  header.message = rest;
  return header;
}

}  // namespace eroom::agent
