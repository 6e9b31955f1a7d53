#ifndef EROOM_COLLECTOR_LOG_FILTER_H_
#define EROOM_COLLECTOR_LOG_FILTER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "eroom/monitor/v1/monitor.pb.h"

namespace re2 {
class RE2;
}

namespace eroom::collector {

// Where a stored log event stands in the order of log queries: newest first
// by the event's own time, then by `id`, the backend's storing order
// (newest stored first). A page cursor (QueryLogsResponse.next_cursor) is
// the position of the page's last match.
struct LogCursor {
  int64_t time_ms = 0;
  int64_t id = 0;

  // Whether an event at `this` comes after `other` in that order: it is
  // older, or as old and stored before it.
  bool IsAfter(const LogCursor& other) const {
    return time_ms < other.time_ms ||
           (time_ms == other.time_ms && id < other.id);
  }
};

// The cursor as the opaque text the protocol carries, and back. A text
// that no EncodeLogCursor made is InvalidArgument naming before_cursor.
std::string EncodeLogCursor(const LogCursor& cursor);
absl::StatusOr<LogCursor> DecodeLogCursor(absl::string_view text);

// The filters of a QueryLogsRequest (or a FollowLogsRequest's), checked and
// compiled once: what every backend and every reader of log events (a
// query, a follow) selects events by. The backends test most filters where
// they keep the events (SQL), the regex always here (MatchesRegex); a
// backend without such a language tests all of them with Matches. Cheap to
// copy; thread-safe once compiled.
class LogFilter {
 public:
  // InvalidArgument naming the field: an empty host or type in the lists,
  // a regex RE2 refuses (with RE2's reason), a malformed before_cursor, a
  // negative context. Limits on sizes are the caller's policy.
  static absl::StatusOr<LogFilter> Compile(
      const eroom::monitor::v1::QueryLogsRequest& request);

  // Whether the event passes every filter of the request but the page
  // position (before_cursor): host, level, type, room, time bounds (both
  // inclusive), `contains` (a substring ignoring ASCII case, like LIKE) and
  // the regex.
  bool Matches(const eroom::monitor::v1::StoredLogEvent& stored) const;
  // Whether `message` matches the regex somewhere (RE2 partial match, case
  // sensitive unless the expression says (?i)); true without one.
  bool MatchesRegex(absl::string_view message) const;

  // agent_id and agent_ids, sorted, without repeats; empty: every host.
  const std::vector<std::string>& agent_ids() const { return agent_ids_; }
  // event_type and event_types likewise; empty: any type.
  const std::vector<std::string>& event_types() const { return event_types_; }
  eroom::monitor::v1::LogLevel min_level() const { return min_level_; }
  const std::string& ruid() const { return ruid_; }
  int64_t since_unix_ms() const { return since_unix_ms_; }   // 0: unbounded.
  int64_t until_unix_ms() const { return until_unix_ms_; }   // 0: unbounded.
  const std::string& contains() const { return contains_; }  // Empty: any.
  bool has_regex() const { return regex_ != nullptr; }
  // The events strictly after this position, if the request pages.
  const std::optional<LogCursor>& before() const { return before_; }

 private:
  LogFilter() = default;

  std::vector<std::string> agent_ids_;
  std::vector<std::string> event_types_;
  eroom::monitor::v1::LogLevel min_level_ =
      eroom::monitor::v1::LOG_LEVEL_UNSPECIFIED;
  std::string ruid_;
  int64_t since_unix_ms_ = 0;
  int64_t until_unix_ms_ = 0;
  std::string contains_;
  std::string contains_lower_;  // For Matches: ASCII case folded.
  std::shared_ptr<const re2::RE2> regex_;
  std::optional<LogCursor> before_;
};

}  // namespace eroom::collector

#endif  // EROOM_COLLECTOR_LOG_FILTER_H_
