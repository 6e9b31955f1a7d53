#ifndef EROOM_COLLECTOR_SQLITE_QUERIES_H_
#define EROOM_COLLECTOR_SQLITE_QUERIES_H_

#include <optional>
#include <string>
#include <vector>

#include "SQLiteCpp/Database.h"
#include "absl/time/time.h"
#include "collector/log_filter.h"
#include "collector/sqlite/checked_query.h"
#include "collector/sqlite/sql_values.h"
#include "collector/storage.h"
#include "eroom/monitor/v1/monitor.pb.h"

namespace eroom::collector {

// The queries of StorageReader (collector/storage.h), one file per family.
// Each reads through `db`, a reader connection (SqliteReaderPool), takes a
// request whose limit is positive, and throws SQLite::Exception.

// host_queries.cc
eroom::monitor::v1::ListHostsResponse QueryHosts(
    SQLite::Database& db, const eroom::monitor::v1::ListHostsRequest& request);

// What a query of a log event's file, logger or thread joins after its FROM
// log_events (and a NOT INDEXED, which must follow the table's name). A left
// join, which SQLite never reorders: log_events stays the outer loop, read
// by its own indexes, and each event looks its source up by key.
inline constexpr char kJoinLogSources[] =
    " LEFT JOIN log_sources USING (source)";

// log_queries.cc. `search_index_attached`: whether `db` has the search index
// (collector/sqlite/search_index.h); without it, searches scan.
//
// The conditions on log_events of every filter of `filter` but the regex
// (which LogFilter::MatchesRegex tests on the rows SQL selects) and the page
// position: what every query and follow of log events selects by.
SqlConditions LogFilterConditions(const LogFilter& filter,
                                  bool search_index_attached);
// `filter` is `request`'s, compiled. With `checked`, the one watching
// `db`, a search tries the newest events first within a step limit.
eroom::monitor::v1::QueryLogsResponse QueryLogEvents(
    SQLite::Database& db, const eroom::monitor::v1::QueryLogsRequest& request,
    const LogFilter& filter, bool search_index_attached,
    CheckedQuery* checked = nullptr);
LogEventPage QueryStoredLogEvents(SQLite::Database& db, const LogFilter& filter,
                                  const LogEventRange& range,
                                  bool search_index_attached);
LogResume QueryFollowResume(
    SQLite::Database& db,
    const std::vector<eroom::monitor::v1::LogPosition>& hosts,
    int64_t received_unix_ms);

// metric_queries.cc
eroom::monitor::v1::QueryMetricsResponse QueryMetricSeries(
    SQLite::Database& db,
    const eroom::monitor::v1::QueryMetricsRequest& request);

// command_queries.cc. nullopt for an unknown command.
std::optional<eroom::monitor::v1::CommandRecord> QueryCommand(
    SQLite::Database& db, const std::string& command_id);
eroom::monitor::v1::ListCommandsResponse QueryCommands(
    SQLite::Database& db,
    const eroom::monitor::v1::ListCommandsRequest& request);
std::vector<eroom::monitor::v1::CommandRecord> QueryUnfinishedCommands(
    SQLite::Database& db);
eroom::monitor::v1::ListAuditResponse QueryAudit(
    SQLite::Database& db, const eroom::monitor::v1::ListAuditRequest& request);

// resume_queries.cc
std::vector<eroom::monitor::v1::LogResumePoint> QueryLogResumePoints(
    SQLite::Database& db, const std::string& agent_id);

// room_queries.cc. QueryRoom: nullopt when no log event names the ruid.
eroom::monitor::v1::ListRoomsResponse QueryRooms(
    SQLite::Database& db, const eroom::monitor::v1::ListRoomsRequest& request,
    absl::Time now);
std::optional<eroom::monitor::v1::GetRoomResponse> QueryRoom(
    SQLite::Database& db, const eroom::monitor::v1::GetRoomRequest& request,
    int32_t event_limit, absl::Time now);
std::vector<HostDayActivity> QueryDayActivity(
    SQLite::Database& db, const std::vector<std::string>& agent_ids,
    int64_t start_ms, int64_t end_ms);

}  // namespace eroom::collector

#endif  // EROOM_COLLECTOR_SQLITE_QUERIES_H_
