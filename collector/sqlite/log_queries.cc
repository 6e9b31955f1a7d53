#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "SQLiteCpp/Statement.h"
#include "absl/cleanup/cleanup.h"
#include "absl/container/flat_hash_set.h"
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

// The test of a message containing the text bound to it, ignoring ASCII
// case (LIKE's folding) like grep -i.
constexpr char kMessageContains[] = "message LIKE ? ESCAPE '\\'";

// The index lookup of `filter`'s text, if it has one and the index serves it.
std::optional<IndexedSearch> IndexedSearchOf(const LogFilter& filter,
                                             bool search_index_attached) {
  if (!search_index_attached || filter.contains().empty()) return std::nullopt;
  return IndexedSearchFor(filter.contains());
}

// Restricts log events to those whose message contains `filter`'s text, if
// it has one. With the index lookup `indexed`, the exact test runs on its
// candidates only; without, on every event the other conditions leave.
void AddContains(const LogFilter& filter,
                 const std::optional<IndexedSearch>& indexed,
                 SqlConditions& conditions) {
  if (filter.contains().empty()) return;
  const std::string pattern = LikeSubstringPattern(filter.contains());
  if (indexed) {
    conditions.AddWithParams(indexed->condition, {indexed->match, pattern});
  }
  conditions.Add(kMessageContains, pattern);
}

// The test of an event naming the room bound to it. Its events on each
// host lie within the room's span there (room_spans): they are read by the
// host's index by time, the spans first.
constexpr char kNamesRoom[] =
    "id IN (SELECT room_event.id FROM room_spans AS span CROSS JOIN "
    "log_events AS room_event WHERE span.ruid = ? AND room_event.agent_id = "
    "span.agent_id AND room_event.time_ms BETWEEN span.first_ms AND "
    "span.last_ms AND room_event.ruid = span.ruid)";

// The conditions of every filter of `filter` but its text and its regex.
SqlConditions SelectionConditions(const LogFilter& filter) {
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
  if (!filter.ruid().empty()) conditions.Add(kNamesRoom, filter.ruid());
  if (filter.since_unix_ms() != 0) {
    conditions.Add("time_ms >= ?", filter.since_unix_ms());
  }
  if (filter.until_unix_ms() != 0) {
    conditions.Add("time_ms <= ?", filter.until_unix_ms());
  }
  return conditions;
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
                        " FROM log_events", kJoinLogSources,
                        " WHERE agent_id = ? AND sequence ", comparison,
                        " ? ORDER BY sequence ", order,
                        " LIMIT ?) WHERE file = ? ORDER BY sequence ", order,
                        " LIMIT ?");
  }

  SQLite::Statement older_;
  SQLite::Statement newer_;
};

int64_t NewestLogPosition(SQLite::Database& db) {
  SQLite::Statement query(db, "SELECT coalesce(max(id), 0) FROM log_events");
  query.executeStep();
  return query.getColumn(0).getInt64();
}

// Whether the message of the row of kLogColumns at `query`'s current step
// matches `filter`'s regex, read in place.
bool MessageMatchesRegex(SQLite::Statement& query, const LogFilter& filter) {
  SQLite::Column message = query.getColumn(9);
  const char* text = message.getText();
  return filter.MatchesRegex(
      absl::string_view(text, static_cast<size_t>(message.getBytes())));
}

}  // namespace

SqlConditions LogFilterConditions(const LogFilter& filter,
                                  bool search_index_attached) {
  SqlConditions conditions = SelectionConditions(filter);
  AddContains(filter, IndexedSearchOf(filter, search_index_attached),
              conditions);
  return conditions;
}

v1::QueryLogsResponse QueryLogEvents(SQLite::Database& db,
                                     const v1::QueryLogsRequest& request,
                                     const LogFilter& filter,
                                     bool search_index_attached,
                                     CheckedQuery* checked) {
  SqlConditions conditions = SelectionConditions(filter);
  if (const std::optional<LogCursor>& before = filter.before()) {
    // The first condition alone is what an index on time serves.
    conditions.AddWithParams("time_ms <= ? AND (time_ms < ? OR id < ?)",
                             {before->time_ms, before->time_ms, before->id});
  }
  std::optional<ContextReader> context_reader;
  if (request.context() > 0) context_reader.emplace(db);
  const auto new_page = [&] {
    return LogPageBuilder(
        request.limit(), request.context(),
        [&](const v1::StoredLogEvent& match, int count, bool older) {
          return context_reader->Read(match, count, older);
        });
  };
  struct Filled {
    int rows_read = 0;
    bool page_full = false;
  };
  // Adds the rows of `query` (kLogColumns, then whether the message
  // contains the text if `tested` says so) that match to `page`, until it
  // is full.
  const auto fill = [&](SQLite::Statement& query, bool tested,
                        LogPageBuilder& page) {
    Filled filled;
    while (!filled.page_full && query.executeStep()) {
      ++filled.rows_read;
      if (tested && query.getColumn(16).getInt() == 0) continue;
      if (filter.has_regex() && !MessageMatchesRegex(query, filter)) continue;
      const LogCursor position{query.getColumn(2).getInt64(),
                               query.getColumn(15).getInt64()};
      filled.page_full = !page.Add(ReadStoredLogEvent(query), position);
    }
    return filled;
  };
  const std::optional<IndexedSearch> indexed =
      IndexedSearchOf(filter, search_index_attached);
  // Another filter that no index serves in time order (a level, several
  // hosts) may have the newest events read far back: past a few
  // milliseconds' work the index does better.
  if (indexed && checked != nullptr) {
    checked->LimitSteps(kNewestScanSteps);
    absl::Cleanup unlimit = [checked] { checked->Unlimit(); };
    try {
      LogPageBuilder page = new_page();
      SQLite::Statement newest(
          db, absl::StrCat("SELECT ", kLogColumns,
                           ", message LIKE ?1 ESCAPE '\\' FROM log_events",
                           kJoinLogSources, conditions.Where(),
                           " ORDER BY time_ms DESC, id DESC LIMIT ",
                           kNewestScannedBeforeIndex));
      newest.bind(1, LikeSubstringPattern(filter.contains()));
      conditions.Bind(newest, 2);
      // A page filled, or every selected event read: the answer is whole.
      const Filled filled = fill(newest, /*tested=*/true, page);
      if (filled.page_full || filled.rows_read < kNewestScannedBeforeIndex) {
        return std::move(page).Finish();
      }
    } catch (const SQLite::Exception&) {
      if (!checked->over_limit()) throw;
    }
  }
  AddContains(filter, indexed, conditions);
  // Without a regex SQL finds exactly the matches: one more than the page
  // tells whether another page follows. With one, rows are read until the
  // page is full.
  std::string limit;
  if (!filter.has_regex()) {
    limit = absl::StrCat(" LIMIT ", int64_t{request.limit()} + 1);
  }
  // The index's candidates are read by id and then sorted: an index on
  // time, for the order, would have every event read to be tested.
  SQLite::Statement query(
      db, absl::StrCat("SELECT ", kLogColumns, " FROM log_events",
                       indexed ? " NOT INDEXED" : "", kJoinLogSources,
                       conditions.Where(), " ORDER BY time_ms DESC, id DESC",
                       limit));
  conditions.Bind(query);
  LogPageBuilder page = new_page();
  fill(query, /*tested=*/false, page);
  return std::move(page).Finish();
}

LogEventPage QueryStoredLogEvents(SQLite::Database& db, const LogFilter& filter,
                                  const LogEventRange& range,
                                  bool search_index_attached) {
  LogEventPage page;
  // Rows at or below the newest id read now are all committed: the single
  // writer gives each transaction ids above every earlier one.
  page.through = std::min(range.through, NewestLogPosition(db));
  SqlConditions conditions = LogFilterConditions(filter, search_index_attached);
  conditions.AddWithParams("id > ? AND id <= ?", {range.after, page.through});
  // Without a regex SQL finds exactly the matches; with one, rows are read
  // until the page is full.
  std::string limit;
  if (!filter.has_regex()) limit = absl::StrCat(" LIMIT ", range.limit);
  // Paging forward reads just past a recent position: a range of ids,
  // which an index on a filter (a host's, a type's) would make a scan of
  // everything it holds.
  SQLite::Statement query(
      db, absl::StrCat("SELECT ", kLogColumns, " FROM log_events",
                       range.newest ? "" : " NOT INDEXED", kJoinLogSources,
                       conditions.Where(), " ORDER BY id ",
                       range.newest ? "DESC" : "ASC", limit));
  conditions.Bind(query);
  size_t page_bytes = 0;
  int64_t last_id = 0;
  while (query.executeStep() &&
         page.events.size() < static_cast<size_t>(range.limit)) {
    if (filter.has_regex() && !MessageMatchesRegex(query, filter)) continue;
    v1::StoredLogEvent stored = ReadStoredLogEvent(query);
    page_bytes += stored.ByteSizeLong();
    // An event bigger than the cap on its own goes alone, not never.
    if (page_bytes > kMaxLogResponseBytes && !page.events.empty()) break;
    last_id = query.getColumn(15).getInt64();
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
