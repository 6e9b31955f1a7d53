#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "SQLiteCpp/Statement.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "collector/log_filter.h"
#include "collector/room_timeline.h"
#include "collector/sqlite/queries.h"
#include "collector/sqlite/room_rows.h"
#include "collector/sqlite/sql_values.h"

namespace eroom::collector {
namespace {
namespace v1 = ::eroom::monitor::v1;

bool Wanted(const std::vector<std::string>& agent_ids,
            const std::string& agent_id) {
  return agent_ids.empty() || std::find(agent_ids.begin(), agent_ids.end(),
                                        agent_id) != agent_ids.end();
}

}  // namespace

v1::ListRoomsResponse QueryRooms(SQLite::Database& db,
                                 const v1::ListRoomsRequest& request,
                                 absl::Time now) {
  const int64_t until_ms = request.until_unix_ms() != 0
                               ? request.until_unix_ms()
                               : absl::ToUnixMillis(now);
  // The index on latest_ms gives the order; the conditions it can check
  // cheaply narrow the rows, RoomMatches decides.
  SqlConditions conditions;
  if (request.since_unix_ms() != 0) {
    conditions.Add(absl::StrCat("(latest_ms >= ? OR status NOT IN (",
                                static_cast<int>(v1::ROOM_COMPLETED), ", ",
                                static_cast<int>(v1::ROOM_FAILED), "))"),
                   request.since_unix_ms());
  }
  if (request.status() != v1::ROOM_STATUS_UNSPECIFIED) {
    conditions.Add("status = ?", static_cast<int64_t>(request.status()));
  }
  std::string where = conditions.Where();
  if (!request.agent_ids().empty()) {
    std::vector<std::string> placeholders(request.agent_ids().size(), "?");
    where =
        absl::StrCat(where, where.empty() ? " WHERE " : " AND ",
                     "agent_id IN (", absl::StrJoin(placeholders, ", "), ")");
  }
  SQLite::Statement query(
      db, absl::StrCat("SELECT ", kRoomColumns, " FROM rooms", where,
                       " ORDER BY latest_ms DESC, agent_id, ruid"));
  int index = conditions.Bind(query);
  for (const std::string& agent_id : request.agent_ids()) {
    query.bind(index++, agent_id);
  }
  v1::ListRoomsResponse response;
  while (response.rooms_size() < request.limit() && query.executeStep()) {
    v1::RoomRecord room = ReadRoom(query);
    DecideSlow(now, room);
    if (RoomMatches(request, until_ms, room)) {
      *response.add_rooms() = std::move(room);
    }
  }
  return response;
}

std::optional<v1::GetRoomResponse> QueryRoom(SQLite::Database& db,
                                             const v1::GetRoomRequest& request,
                                             int32_t event_limit,
                                             absl::Time now) {
  // The host of the room's newest event: its span ends last.
  SqlConditions conditions;
  conditions.Add("ruid = ?", request.ruid());
  if (!request.agent_id().empty()) {
    conditions.Add("agent_id = ?", request.agent_id());
  }
  SQLite::Statement newest(
      db, absl::StrCat("SELECT agent_id FROM room_spans", conditions.Where(),
                       " ORDER BY last_ms DESC LIMIT 1"));
  conditions.Bind(newest);
  if (!newest.executeStep()) return std::nullopt;
  const std::string agent_id = newest.getColumn(0).getString();

  v1::GetRoomResponse response;
  SQLite::Statement find(db, absl::StrCat("SELECT ", kRoomColumns,
                                          " FROM rooms WHERE agent_id = ?1 "
                                          "AND ruid = ?2"));
  find.bind(1, agent_id);
  find.bind(2, request.ruid());
  if (find.executeStep()) {
    *response.mutable_room() = ReadRoom(find);
    DecideSlow(now, *response.mutable_room());
  } else {
    response.mutable_room()->set_agent_id(agent_id);
    response.mutable_room()->set_ruid(request.ruid());
  }
  v1::QueryLogsRequest events;
  events.set_agent_id(agent_id);
  events.set_ruid(request.ruid());
  events.set_limit(event_limit);
  // A host, a room and a limit: filters that always compile.
  const LogFilter filter = *LogFilter::Compile(events);
  v1::QueryLogsResponse newest_first =
      QueryLogEvents(db, events, filter, /*search_index_attached=*/false);
  for (auto it = newest_first.mutable_events()->rbegin();
       it != newest_first.mutable_events()->rend(); ++it) {
    *response.add_events() = std::move(*it);
  }
  return response;
}

std::vector<HostDayActivity> QueryDayActivity(
    SQLite::Database& db, const std::vector<std::string>& agent_ids,
    int64_t start_ms, int64_t end_ms) {
  std::map<std::string, HostDayActivity> hosts;
  // The host's entry, if the report covers it.
  auto host = [&](const std::string& agent_id) -> HostDayActivity* {
    if (!Wanted(agent_ids, agent_id)) return nullptr;
    HostDayActivity& activity = hosts[agent_id];
    activity.agent_id = agent_id;
    return &activity;
  };
  auto bind_day = [&](SQLite::Statement& statement) {
    statement.bind(1, start_ms);
    statement.bind(2, end_ms);
  };

  SQLite::Statement requests(db, R"sql(
      SELECT agent_id, count(*) FROM rooms
      WHERE requested_ms >= ?1 AND requested_ms < ?2 AND requested_ms > 0
      GROUP BY agent_id)sql");
  bind_day(requests);
  while (requests.executeStep()) {
    if (HostDayActivity* activity = host(requests.getColumn(0).getString())) {
      activity->room_requests = requests.getColumn(1).getInt64();
    }
  }

  SQLite::Statement ended(
      db, absl::StrCat("SELECT ", kRoomColumns, R"sql( FROM rooms
      WHERE finished_ms >= ?1 AND finished_ms < ?2 AND finished_ms > 0
      ORDER BY agent_id, ruid)sql"));
  bind_day(ended);
  while (ended.executeStep()) {
    v1::RoomRecord room = ReadRoom(ended);
    if (HostDayActivity* activity = host(room.agent_id())) {
      activity->ended_rooms.push_back(std::move(room));
    }
  }

  // The level index holds these three columns: no event row is read.
  SQLite::Statement levels(db, R"sql(
      SELECT agent_id, level, count(*) FROM log_events
      WHERE level IN (4, 5) AND level >= 4
        AND time_ms >= ?1 AND time_ms < ?2
      GROUP BY agent_id, level)sql");
  bind_day(levels);
  while (levels.executeStep()) {
    if (HostDayActivity* activity = host(levels.getColumn(0).getString())) {
      (levels.getColumn(1).getInt() == v1::ERROR ? activity->error_lines
                                                 : activity->warn_lines) =
          levels.getColumn(2).getInt64();
    }
  }

  SQLite::Statement errors(db, R"sql(
      SELECT agent_id, shape, count(*), min(first_line) FROM error_lines
      WHERE time_ms >= ?1 AND time_ms < ?2
      GROUP BY agent_id, shape
      ORDER BY agent_id, shape)sql");
  bind_day(errors);
  while (errors.executeStep()) {
    if (HostDayActivity* activity = host(errors.getColumn(0).getString())) {
      activity->error_shapes.push_back(
          {.shape = errors.getColumn(1).getString(),
           .count = errors.getColumn(2).getInt64(),
           .example = errors.getColumn(3).getString()});
    }
  }

  SQLite::Statement starts(db, R"sql(
      SELECT agent_id, count(*) FROM log_events
      WHERE event_type = 'server_started' AND event_type <> ''
        AND time_ms >= ?1 AND time_ms < ?2
      GROUP BY agent_id)sql");
  bind_day(starts);
  while (starts.executeStep()) {
    if (HostDayActivity* activity = host(starts.getColumn(0).getString())) {
      activity->server_starts = starts.getColumn(1).getInt64();
    }
  }

  SQLite::Statement known(db, R"sql(
      SELECT agent_id, hostname, first_seen_ms < ?2 AND last_seen_ms >= ?1
      FROM hosts)sql");
  bind_day(known);
  while (known.executeStep()) {
    const std::string agent_id = known.getColumn(0).getString();
    const bool seen = known.getColumn(2).getInt() != 0;
    if (!seen && !hosts.contains(agent_id)) continue;
    if (HostDayActivity* activity = host(agent_id)) {
      activity->hostname = known.getColumn(1).getString();
    }
  }

  std::vector<HostDayActivity> activities;
  for (auto& [agent_id, activity] : hosts) {
    activities.push_back(std::move(activity));
  }
  return activities;
}

}  // namespace eroom::collector
