#include "SQLiteCpp/Statement.h"
#include "absl/strings/str_cat.h"
#include "collector/log_resume_point.h"
#include "collector/sqlite/queries.h"
#include "collector/sqlite/sql_values.h"

namespace eroom::collector {
namespace v1 = ::eroom::monitor::v1;

std::vector<v1::LogResumePoint> QueryLogResumePoints(
    SQLite::Database& db, const std::string& agent_id) {
  // SQLite takes the bare columns of a MAX() aggregate from the row that
  // holds the maximum: each file's last stored event.
  SQLite::Statement query(
      db, absl::StrCat("SELECT file, file_offset, time_ms, has_header, "
                       "message, MAX(sequence) FROM log_events",
                       kJoinLogSources,
                       " WHERE agent_id = ? GROUP BY file ORDER BY file"));
  query.bind(1, agent_id);
  std::vector<v1::LogResumePoint> points;
  while (query.executeStep()) {
    v1::LogEvent event;
    event.set_file(query.getColumn(0).getString());
    event.set_file_offset(FromDb(query.getColumn(1).getInt64()));
    event.set_time_unix_ms(query.getColumn(2).getInt64());
    event.set_has_header(query.getColumn(3).getInt() != 0);
    event.set_message(query.getColumn(4).getString());
    points.push_back(LogResumePointOf(event));
  }
  return points;
}

}  // namespace eroom::collector
