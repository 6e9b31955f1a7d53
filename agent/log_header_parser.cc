#include "agent/log_header_parser.h"

#include "re2/re2.h"

namespace eroom::agent {
namespace {

namespace v1 = ::eroom::monitor::v1;

// Lines are written before the file's mtime, but the mtime is read before the
// lines it dates, so a line may be a little newer: tolerate that much.
constexpr absl::Duration kModifiedSlack = absl::Hours(1);

struct LevelName {
  std::string_view name;
  v1::LogLevel level;
};
constexpr LevelName kLevels[] = {{"INFO", v1::INFO},
                                 {"DEBUG", v1::DEBUG},
                                 {"WARN", v1::WARN},
                                 {"ERROR", v1::ERROR},
                                 {"TRACE", v1::TRACE}};

// What separates the logger from the message in each layout.
enum class Separator {
  kPaddedColon,  // `%-40logger{40} : `: one or more spaces, ':', a space.
  kDash,         // `%logger{36} - `: exactly " - ".
};

// Whitespace as in a regex's \s: a logger name ends at any of these.
bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

// The number written with `count` decimal digits at text[pos], or -1.
int Digits(std::string_view text, size_t pos, size_t count) {
  int value = 0;
  for (size_t i = pos; i < pos + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return -1;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

// Matches `LEVEL +logger` and the separator at the start of `rest`, filling
// the header's level, logger and message.
bool ParseLevelToMessage(std::string_view rest, Separator separator,
                         LogHeader& header) {
  const LevelName* level = nullptr;
  for (const LevelName& candidate : kLevels) {
    if (rest.size() > candidate.name.size() &&
        rest.starts_with(candidate.name) &&
        rest[candidate.name.size()] == ' ') {
      level = &candidate;
      break;
    }
  }
  if (level == nullptr) return false;
  size_t pos = rest.find_first_not_of(' ', level->name.size());
  const size_t logger_start = pos;
  while (pos < rest.size() && !IsSpace(rest[pos])) ++pos;
  if (pos == logger_start) return false;
  const std::string_view logger = rest.substr(logger_start, pos - logger_start);

  if (separator == Separator::kPaddedColon) {
    const size_t colon = rest.find_first_not_of(' ', pos);
    if (colon == pos || colon == std::string_view::npos || rest[colon] != ':') {
      return false;
    }
    pos = colon + 1;
  } else {
    if (rest.substr(pos, 2) != " -") return false;
    pos += 2;
  }
  if (pos < rest.size() && rest[pos] == ' ') ++pos;
  header.level = level->level;
  header.logger = logger;
  header.message = rest.substr(pos);
  return true;
}

// Matches ` [thread] ` and the rest of the header after the timestamp.
bool ParseAfterTimestamp(std::string_view rest, Separator separator,
                         LogHeader& header) {
  if (!rest.starts_with(" [")) return false;
  for (size_t close = rest.find("] ", 2); close != std::string_view::npos;
       close = rest.find("] ", close + 1)) {
    if (ParseLevelToMessage(rest.substr(close + 2), separator, header)) {
      header.thread = rest.substr(2, close - 2);
      return true;
    }
  }
  return false;
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

// absl::FromCivil(civil, zone), remembering the last minute converted on
// this thread: lines come in time order and most share their minute with the
// line before, so the zone's rules are consulted about once a minute of log
// rather than once a line.
absl::Time CachedFromCivil(absl::CivilSecond civil, absl::TimeZone zone) {
  struct Minute {
    absl::TimeZone zone;
    absl::CivilMinute minute;
    // Its first second, if the zone maps the whole minute to one minute (no
    // offset change within it).
    std::optional<absl::Time> start;
  };
  thread_local std::optional<Minute> last;
  const absl::CivilMinute minute(civil);
  if (!last || last->minute != minute || last->zone != zone) {
    const absl::TimeZone::TimeInfo start = zone.At(minute);
    const absl::TimeZone::TimeInfo end = zone.At(minute + 1);
    last = Minute{zone, minute, std::nullopt};
    if (start.kind == absl::TimeZone::TimeInfo::UNIQUE &&
        end.kind == absl::TimeZone::TimeInfo::UNIQUE &&
        end.pre - start.pre == absl::Minutes(1)) {
      last->start = start.pre;
    }
  }
  if (!last->start) return absl::FromCivil(civil, zone);
  return *last->start + absl::Seconds(civil.second());
}

int64_t ToUnixMillis(const absl::CivilSecond& civil, int millis,
                     absl::TimeZone zone) {
  return absl::ToUnixMillis(CachedFromCivil(civil, zone) +
                            absl::Milliseconds(millis));
}

}  // namespace

std::optional<absl::CivilDay> DayFromLogFileName(std::string_view path) {
  static const RE2& dated_name =
      *new RE2(R"(\.(\d{4})-(\d{2})-(\d{2})[^/]*\.log$)");
  int year, month, day;
  if (!RE2::PartialMatch(path, dated_name, &year, &month, &day)) {
    return std::nullopt;
  }
  std::optional<absl::CivilSecond> civil =
      ValidCivilSecond(year, month, day, 0, 0, 0);
  if (!civil) return std::nullopt;
  return absl::CivilDay(*civil);
}

LogHeaderParser::LogHeaderParser(absl::TimeZone time_zone)
    : time_zone_(time_zone) {}

std::optional<LogHeader> LogHeaderParser::Parse(
    std::string_view line, const LogFileDate& file_date) const {
  // Cheap rejection of continuation lines (`\tat ...`, `Caused by: ...`).
  if (line.size() < 3 || line[0] < '0' || line[0] > '9') return std::nullopt;

  LogHeader header;
  int hour, minute, second, millis;
  std::optional<absl::CivilSecond> civil;
  if (line[2] == ':') {
    // HH:mm:ss.SSS
    constexpr size_t kTimeLength = 12;
    if (line.size() < kTimeLength || line[5] != ':' || line[8] != '.') {
      return std::nullopt;
    }
    hour = Digits(line, 0, 2);
    minute = Digits(line, 3, 2);
    second = Digits(line, 6, 2);
    millis = Digits(line, 9, 3);
    if (hour < 0 || minute < 0 || second < 0 || millis < 0 ||
        !ParseAfterTimestamp(line.substr(kTimeLength), Separator::kDash,
                             header)) {
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
      if (civil && CachedFromCivil(*civil, time_zone_) >
                       file_date.modified + kModifiedSlack) {
        civil = on_day(modified_day - 1);
      }
    }
  } else {
    // yyyy-MM-dd HH:mm:ss.SSS
    constexpr size_t kDateTimeLength = 23;
    if (line.size() < kDateTimeLength || line[4] != '-' || line[7] != '-' ||
        line[10] != ' ' || line[13] != ':' || line[16] != ':' ||
        line[19] != '.') {
      return std::nullopt;
    }
    const int year = Digits(line, 0, 4);
    const int month = Digits(line, 5, 2);
    const int day = Digits(line, 8, 2);
    hour = Digits(line, 11, 2);
    minute = Digits(line, 14, 2);
    second = Digits(line, 17, 2);
    millis = Digits(line, 20, 3);
    if (year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 ||
        second < 0 || millis < 0 ||
        !ParseAfterTimestamp(line.substr(kDateTimeLength),
                             Separator::kPaddedColon, header)) {
      return std::nullopt;
    }
    civil = ValidCivilSecond(year, month, day, hour, minute, second);
  }
  if (!civil) return std::nullopt;
  header.time_unix_ms = ToUnixMillis(*civil, millis, time_zone_);
  return header;
}

}  // namespace eroom::agent
