#include "collector/log_filter.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "re2/re2.h"

namespace eroom::collector {
namespace v1 = ::eroom::monitor::v1;
namespace {

// The version of the cursor's text, so that a later format can tell an old
// cursor from its own.
constexpr absl::string_view kCursorVersion = "1";

// `single` (if set) and `more`, sorted without repeats; an empty entry of
// `more` is InvalidArgument naming `field`.
absl::StatusOr<std::vector<std::string>> Union(
    const std::string& single,
    const google::protobuf::RepeatedPtrField<std::string>& more,
    absl::string_view field) {
  std::vector<std::string> all;
  if (!single.empty()) all.push_back(single);
  for (int i = 0; i < more.size(); ++i) {
    if (more[i].empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, "[", i, "] is empty"));
    }
    all.push_back(more[i]);
  }
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  return all;
}

bool Contains(const std::vector<std::string>& sorted,
              const std::string& value) {
  return std::binary_search(sorted.begin(), sorted.end(), value);
}

}  // namespace

std::string EncodeLogCursor(const LogCursor& cursor) {
  return absl::WebSafeBase64Escape(
      absl::StrCat(kCursorVersion, ":", cursor.time_ms, ":", cursor.id));
}

absl::StatusOr<LogCursor> DecodeLogCursor(absl::string_view text) {
  auto malformed = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("before_cursor: '", text.substr(0, 64),
                     "' is not a cursor the collector returned "
                     "(next_cursor of a previous page)"));
  };
  std::string decoded;
  if (!absl::WebSafeBase64Unescape(text, &decoded)) return malformed();
  std::vector<absl::string_view> parts = absl::StrSplit(decoded, ':');
  LogCursor cursor;
  if (parts.size() != 3 || parts[0] != kCursorVersion ||
      !absl::SimpleAtoi(parts[1], &cursor.time_ms) ||
      !absl::SimpleAtoi(parts[2], &cursor.id)) {
    return malformed();
  }
  return cursor;
}

absl::StatusOr<LogFilter> LogFilter::Compile(
    const v1::QueryLogsRequest& request) {
  LogFilter filter;
  absl::StatusOr<std::vector<std::string>> agent_ids =
      Union(request.agent_id(), request.agent_ids(), "agent_ids");
  if (!agent_ids.ok()) return agent_ids.status();
  filter.agent_ids_ = *std::move(agent_ids);
  absl::StatusOr<std::vector<std::string>> event_types =
      Union(request.event_type(), request.event_types(), "event_types");
  if (!event_types.ok()) return event_types.status();
  filter.event_types_ = *std::move(event_types);
  filter.min_level_ = request.min_level();
  filter.ruid_ = request.ruid();
  filter.since_unix_ms_ = request.since_unix_ms();
  filter.until_unix_ms_ = request.until_unix_ms();
  filter.contains_ = request.contains();
  filter.contains_lower_ = absl::AsciiStrToLower(request.contains());
  if (!request.regex().empty()) {
    RE2::Options options;
    options.set_log_errors(false);
    auto regex = std::make_shared<const RE2>(request.regex(), options);
    if (!regex->ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("regex: not a valid RE2 expression: ", regex->error()));
    }
    filter.regex_ = std::move(regex);
  }
  if (!request.before_cursor().empty()) {
    absl::StatusOr<LogCursor> before = DecodeLogCursor(request.before_cursor());
    if (!before.ok()) return before.status();
    filter.before_ = *before;
  }
  if (request.context() < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("context: must not be negative, got ", request.context()));
  }
  return filter;
}

bool LogFilter::Matches(const v1::StoredLogEvent& stored) const {
  const v1::LogEvent& log = stored.event();
  return (agent_ids_.empty() || Contains(agent_ids_, stored.agent_id())) &&
         (min_level_ == v1::LOG_LEVEL_UNSPECIFIED ||
          log.level() >= min_level_) &&
         (event_types_.empty() || Contains(event_types_, log.event_type())) &&
         (ruid_.empty() || log.ruid() == ruid_) &&
         (since_unix_ms_ == 0 || log.time_unix_ms() >= since_unix_ms_) &&
         (until_unix_ms_ == 0 || log.time_unix_ms() <= until_unix_ms_) &&
         (contains_lower_.empty() ||
          absl::AsciiStrToLower(log.message()).find(contains_lower_) !=
              std::string::npos) &&
         MatchesRegex(log.message());
}

bool LogFilter::MatchesRegex(absl::string_view message) const {
  return regex_ == nullptr ||
         RE2::PartialMatch(re2::StringPiece(message.data(), message.size()),
                           *regex_);
}

}  // namespace eroom::collector
