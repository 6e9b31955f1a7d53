#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "SQLiteCpp/Statement.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "collector/log_page.h"
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

// The columns ReadStoredLogEvent reads, in its order.
constexpr char kLogColumns[] =
    "agent_id, sequence, time_ms, received_ms, file, file_offset, level, "
    "logger, thread, message, event_type, fields, ruid, truncated, has_header, "
    "id";

// The row of kLogColumns at `query`'s current step.
v1::StoredLogEvent ReadStoredLogEvent(SQLite::Statement& query) {
  v1::StoredLogEvent stored;
  stored.set_agent_id(query.getColumn(0).getString());
  stored.set_sequence(FromDb(query.getColumn(1).getInt64()));
  stored.set_received_unix_ms(query.getColumn(3).getInt64());
  v1::LogEvent* log = stored.mutable_event();
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
  return stored;
}

// Reads matches' context (LogContextReader) through two statements
// prepared once per query: the host's kLogContextReach events on one side
// of the match by sequence (its UNIQUE index), then those of its file.
class ContextReader {
 public:
  explicit ContextReader(SQLite::Database& db)
      : older_(db, Sql("<", "DESC")), newer_(db, Sql(">", "ASC")) {}

  std::vector<v1::StoredLogEvent> Read(const v1::StoredLogEvent& match,
                                       int count, bool older) {
    SQLite::Statement& query = older ? older_ : newer_;
    query.reset();
    query.bind(1, match.agent_id());
    query.bind(2, ToDb(match.sequence()));
    query.bind(3, kLogContextReach);
    query.bind(4, match.event().file());
    query.bind(5, count);
    std::vector<v1::StoredLogEvent> events;
    while (query.executeStep()) events.push_back(ReadStoredLogEvent(query));
    return events;
  }

 private:
  static std::string Sql(absl::string_view comparison,
                         absl::string_view order) {
    return absl::StrCat("SELECT ", kLogColumns, " FROM (SELECT ", kLogColumns,
                        " FROM log_events WHERE agent_id = ? AND sequence ",
                        comparison, " ? ORDER BY sequence ", order,
                        " LIMIT ?) WHERE file = ? ORDER BY sequence ", order,
                        " LIMIT ?");
  }

  SQLite::Statement older_;
  SQLite::Statement newer_;
};

}  // namespace

SqlConditions LogFilterConditions(const LogFilter& filter,
                                  bool search_index_attached) {
  SqlConditions conditions;
  if (!filter.agent_ids().empty()) {
    conditions.AddOneOf("agent_id", filter.agent_ids());
  }
  if (filter.min_level() != v1::LOG_LEVEL_UNSPECIFIED) {
    conditions.Add("level >= ?", static_cast<int64_t>(filter.min_level()));
  }
  if (!filter.event_types().empty()) {
    conditions.AddOneOf("event_type", filter.event_types());
    // Repeated, the partial index's condition lets SQLite use it.
    conditions.AddWithParams("event_type <> ''", {});
  }
  if (!filter.ruid().empty()) {
    conditions.Add("ruid = ? AND ruid <> ''", filter.ruid());
  }
  if (filter.since_unix_ms() != 0) {
    conditions.Add("time_ms >= ?", filter.since_unix_ms());
  }
  if (filter.until_unix_ms() != 0) {
    conditions.Add("time_ms <= ?", filter.until_unix_ms());
  }
  if (!filter.contains().empty()) {
    AddContains(filter.contains(), search_index_attached, conditions);
  }
  return conditions;
}

v1::QueryLogsResponse QueryLogEvents(SQLite::Database& db,
                                     const v1::QueryLogsRequest& request,
                                     const LogFilter& filter,
                                     bool search_index_attached) {
  SqlConditions conditions = LogFilterConditions(filter, search_index_attached);
  if (const std::optional<LogCursor>& before = filter.before()) {
    // The first condition alone is what an index on time serves.
    conditions.AddWithParams("time_ms <= ? AND (time_ms < ? OR id < ?)",
                             {before->time_ms, before->time_ms, before->id});
  }
  // Without a regex SQL finds exactly the matches: one more than the page
  // tells whether another page follows. With one, rows are read until the
  // page is full.
  std::string limit;
  if (!filter.has_regex()) {
    limit = absl::StrCat(" LIMIT ", int64_t{request.limit()} + 1);
  }
  SQLite::Statement query(
      db, absl::StrCat("SELECT ", kLogColumns, " FROM log_events",
                       conditions.Where(), " ORDER BY time_ms DESC, id DESC",
                       limit));
  conditions.Bind(query);
  std::optional<ContextReader> context_reader;
  if (request.context() > 0) context_reader.emplace(db);
  LogPageBuilder page(
      request.limit(), request.context(),
      [&](const v1::StoredLogEvent& match, int count, bool older) {
        return context_reader->Read(match, count, older);
      });
  while (query.executeStep()) {
    if (filter.has_regex()) {
      SQLite::Column message = query.getColumn(9);
      const char* text = message.getText();
      if (!filter.MatchesRegex(absl::string_view(
              text, static_cast<size_t>(message.getBytes())))) {
        continue;
      }
    }
    const LogCursor position{query.getColumn(2).getInt64(),
                             query.getColumn(15).getInt64()};
    if (!page.Add(ReadStoredLogEvent(query), position)) break;
  }
  return std::move(page).Finish();
}

}  // namespace eroom::collector
