#include <optional>
#include <string>

#include "SQLiteCpp/Statement.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "collector/sqlite/queries.h"
#include "collector/sqlite/search_index.h"
#include "collector/sqlite/sql_values.h"
#include "collector/storage.h"

namespace eroom::collector {
namespace {
namespace v1 = ::eroom::monitor::v1;

// A LIKE pattern matching `text` anywhere, with '\' as the escape character.
std::string LikeSubstringPattern(const std::string& text) {
  return absl::StrCat(
      "%",
      absl::StrReplaceAll(text, {{"\\", "\\\\"}, {"%", "\\%"}, {"_", "\\_"}}),
      "%");
}

// Restricts log events to those whose message contains `text`, ignoring
// ASCII case (LIKE's folding) like grep -i. With the search index the exact
// test runs on its candidates only; without it, or for text too short to
// have a trigram, on every event the other conditions leave.
void AddContains(const std::string& text, bool search_index_attached,
                 SqlConditions& conditions) {
  if (search_index_attached) {
    if (std::optional<std::string> match = TrigramMatchExpression(text)) {
      conditions.Add(kSearchCondition, *std::move(match));
    }
  }
  conditions.Add("message LIKE ? ESCAPE '\\'", LikeSubstringPattern(text));
}

}  // namespace

v1::QueryLogsResponse QueryLogEvents(SQLite::Database& db,
                                     const v1::QueryLogsRequest& request,
                                     bool search_index_attached) {
  SqlConditions conditions;
  if (!request.agent_id().empty()) {
    conditions.Add("agent_id = ?", request.agent_id());
  }
  if (request.min_level() != v1::LOG_LEVEL_UNSPECIFIED) {
    conditions.Add("level >= ?", static_cast<int64_t>(request.min_level()));
  }
  if (!request.event_type().empty()) {
    // The repeated condition lets SQLite use the partial index.
    conditions.Add("event_type = ? AND event_type <> ''", request.event_type());
  }
  if (!request.ruid().empty()) {
    conditions.Add("ruid = ? AND ruid <> ''", request.ruid());
  }
  if (request.since_unix_ms() != 0) {
    conditions.Add("time_ms >= ?", request.since_unix_ms());
  }
  if (request.until_unix_ms() != 0) {
    conditions.Add("time_ms <= ?", request.until_unix_ms());
  }
  if (!request.contains().empty()) {
    AddContains(request.contains(), search_index_attached, conditions);
  }
  SQLite::Statement query(
      db, absl::StrCat("SELECT agent_id, sequence, time_ms, received_ms, "
                       "file, file_offset, level, logger, thread, message, "
                       "event_type, fields, ruid, truncated, has_header "
                       "FROM log_events",
                       conditions.Where(),
                       " ORDER BY time_ms DESC, id DESC LIMIT ?"));
  query.bind(conditions.Bind(query), request.limit());
  v1::QueryLogsResponse response;
  size_t response_bytes = 0;
  while (query.executeStep()) {
    v1::StoredLogEvent* stored = response.add_events();
    stored->set_agent_id(query.getColumn(0).getString());
    stored->set_sequence(FromDb(query.getColumn(1).getInt64()));
    stored->set_received_unix_ms(query.getColumn(3).getInt64());
    v1::LogEvent* log = stored->mutable_event();
    log->set_time_unix_ms(query.getColumn(2).getInt64());
    log->set_file(query.getColumn(4).getString());
    log->set_file_offset(FromDb(query.getColumn(5).getInt64()));
    log->set_level(static_cast<v1::LogLevel>(query.getColumn(6).getInt()));
    log->set_logger(query.getColumn(7).getString());
    log->set_thread(query.getColumn(8).getString());
    log->set_message(query.getColumn(9).getString());
    log->set_event_type(query.getColumn(10).getString());
    FromJsonObject(query.getColumn(11).getText(), log->mutable_fields());
    log->set_ruid(query.getColumn(12).getString());
    log->set_truncated(query.getColumn(13).getInt() != 0);
    log->set_has_header(query.getColumn(14).getInt() != 0);
    response_bytes += stored->ByteSizeLong();
    if (response_bytes > kMaxLogResponseBytes) {
      response.mutable_events()->RemoveLast();
      response.set_truncated(true);
      break;
    }
  }
  return response;
}

}  // namespace eroom::collector
