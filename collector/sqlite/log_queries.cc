#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "SQLiteCpp/Statement.h"
#include "absl/container/flat_hash_set.h"
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

constexpr char kLogEventColumns[] =
    "SELECT id, agent_id, sequence, time_ms, received_ms, file, file_offset, "
    "level, logger, thread, message, event_type, fields, ruid, truncated, "
    "has_header FROM log_events";

// The row `query` (selecting kLogEventColumns) stands on; its id is
// column 0.
v1::StoredLogEvent ReadLogEvent(SQLite::Statement& query) {
  v1::StoredLogEvent stored;
  stored.set_agent_id(query.getColumn(1).getString());
  stored.set_sequence(FromDb(query.getColumn(2).getInt64()));
  stored.set_received_unix_ms(query.getColumn(4).getInt64());
  v1::LogEvent* log = stored.mutable_event();
  log->set_time_unix_ms(query.getColumn(3).getInt64());
  log->set_file(query.getColumn(5).getString());
  log->set_file_offset(FromDb(query.getColumn(6).getInt64()));
  log->set_level(static_cast<v1::LogLevel>(query.getColumn(7).getInt()));
  log->set_logger(query.getColumn(8).getString());
  log->set_thread(query.getColumn(9).getString());
  log->set_message(query.getColumn(10).getString());
  log->set_event_type(query.getColumn(11).getString());
  FromJsonObject(query.getColumn(12).getText(), log->mutable_fields());
  log->set_ruid(query.getColumn(13).getString());
  log->set_truncated(query.getColumn(14).getInt() != 0);
  log->set_has_header(query.getColumn(15).getInt() != 0);
  return stored;
}

int64_t NewestLogPosition(SQLite::Database& db) {
  SQLite::Statement query(db, "SELECT coalesce(max(id), 0) FROM log_events");
  query.executeStep();
  return query.getColumn(0).getInt64();
}

}  // namespace

SqlConditions LogFilterConditions(const v1::QueryLogsRequest& request,
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
  return conditions;
}

v1::QueryLogsResponse QueryLogEvents(SQLite::Database& db,
                                     const v1::QueryLogsRequest& request,
                                     bool search_index_attached) {
  const SqlConditions conditions =
      LogFilterConditions(request, search_index_attached);
  SQLite::Statement query(
      db, absl::StrCat(kLogEventColumns, conditions.Where(),
                       " ORDER BY time_ms DESC, id DESC LIMIT ?"));
  query.bind(conditions.Bind(query), request.limit());
  v1::QueryLogsResponse response;
  size_t response_bytes = 0;
  while (query.executeStep()) {
    v1::StoredLogEvent* stored = response.add_events();
    *stored = ReadLogEvent(query);
    response_bytes += stored->ByteSizeLong();
    if (response_bytes > kMaxLogResponseBytes) {
      response.mutable_events()->RemoveLast();
      response.set_truncated(true);
      break;
    }
  }
  return response;
}

LogEventPage QueryStoredLogEvents(SQLite::Database& db,
                                  const v1::QueryLogsRequest& filter,
                                  const LogEventRange& range,
                                  bool search_index_attached) {
  LogEventPage page;
  // Rows at or below the newest id read now are all committed: the single
  // writer gives each transaction ids above every earlier one.
  page.through = std::min(range.through, NewestLogPosition(db));
  SqlConditions conditions = LogFilterConditions(filter, search_index_attached);
  conditions.Add("id > ?", range.after);
  conditions.Add("id <= ?", page.through);
  // Paging forward reads just past a recent position: a range of ids,
  // which an index on a filter (a host's, a type's) would make a scan of
  // everything it holds.
  SQLite::Statement query(
      db, absl::StrCat(kLogEventColumns, range.newest ? "" : " NOT INDEXED",
                       conditions.Where(), " ORDER BY id ",
                       range.newest ? "DESC" : "ASC", " LIMIT ?"));
  query.bind(conditions.Bind(query), range.limit);
  size_t page_bytes = 0;
  int64_t last_id = 0;
  while (query.executeStep()) {
    v1::StoredLogEvent stored = ReadLogEvent(query);
    page_bytes += stored.ByteSizeLong();
    // An event bigger than the cap on its own goes alone, not never.
    if (page_bytes > kMaxLogResponseBytes && !page.events.empty()) break;
    last_id = query.getColumn(0).getInt64();
    page.events.push_back(std::move(stored));
  }
  if (range.newest) {
    std::reverse(page.events.begin(), page.events.end());
  } else if (page.events.size() == static_cast<size_t>(range.limit) ||
             page_bytes > kMaxLogResponseBytes) {
    // More may match after the last event read.
    page.through = last_id;
  }
  return page;
}

LogResume QueryFollowResume(SQLite::Database& db,
                            const std::vector<v1::LogPosition>& hosts,
                            int64_t received_unix_ms) {
  LogResume resume;
  resume.newest = NewestLogPosition(db);
  resume.after = resume.newest;
  SQLite::Statement host_query(
      db, "SELECT min(id) FROM log_events WHERE agent_id = ? AND sequence > ?");
  for (const v1::LogPosition& host : hosts) {
    host_query.reset();
    host_query.bind(1, host.agent_id());
    host_query.bind(2, ToDb(host.sequence()));
    if (host_query.executeStep() && !host_query.getColumn(0).isNull()) {
      resume.after =
          std::min(resume.after, host_query.getColumn(0).getInt64() - 1);
    }
  }
  // The collector stamps events as it stores them, so the received times
  // grow with the ids: scanning back from the newest ends once events were
  // received well before the time (a clock stepped back a little leaves
  // nothing out).
  constexpr int64_t kClockStepAllowanceMs = 60'000;
  absl::flat_hash_set<std::string> listed;
  for (const v1::LogPosition& host : hosts) listed.insert(host.agent_id());
  SQLite::Statement received_query(
      db, "SELECT id, agent_id, received_ms FROM log_events ORDER BY id DESC");
  while (received_query.executeStep()) {
    const int64_t received_ms = received_query.getColumn(2).getInt64();
    if (received_ms < received_unix_ms - kClockStepAllowanceMs) break;
    if (received_ms >= received_unix_ms &&
        !listed.contains(received_query.getColumn(1).getString())) {
      resume.after =
          std::min(resume.after, received_query.getColumn(0).getInt64() - 1);
    }
  }
  return resume;
}

}  // namespace eroom::collector
