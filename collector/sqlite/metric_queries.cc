#include <cstdint>
#include <limits>

#include "SQLiteCpp/Statement.h"
#include "SQLiteCpp/Transaction.h"
#include "absl/strings/str_cat.h"
#include "collector/sqlite/queries.h"
#include "collector/sqlite/sql_values.h"

namespace eroom::collector {
namespace v1 = ::eroom::monitor::v1;

v1::QueryMetricsResponse QueryMetricSeries(
    SQLite::Database& db, const v1::QueryMetricsRequest& request) {
  SqlConditions series_conditions;
  series_conditions.Add("name = ?", request.name());
  if (!request.agent_id().empty()) {
    series_conditions.Add("agent_id = ?", request.agent_id());
  }
  const int64_t since = request.since_unix_ms() != 0
                            ? request.since_unix_ms()
                            : std::numeric_limits<int64_t>::min();
  const int64_t until = request.until_unix_ms() != 0
                            ? request.until_unix_ms()
                            : std::numeric_limits<int64_t>::max();
  // One snapshot for the series list and all their points.
  SQLite::Transaction snapshot(db);
  SQLite::Statement series(
      db,
      absl::StrCat("SELECT id, agent_id, labels FROM metric_series",
                   series_conditions.Where(), " ORDER BY agent_id, labels"));
  series_conditions.Bind(series);
  // The newest `limit` points (or steps) of the window, returned oldest
  // first.
  const bool stepped = request.step_ms() > 0;
  SQLite::Statement points(db, stepped ? R"sql(
      SELECT step, total / samples, samples, low, high FROM (
        SELECT (time_ms / ?5) * ?5 AS step, sum(value) AS total,
               count(*) AS samples, min(value) AS low, max(value) AS high
        FROM metric_points
        WHERE series_id = ?1 AND time_ms BETWEEN ?2 AND ?3
        GROUP BY step ORDER BY step DESC LIMIT ?4)
      ORDER BY step)sql"
                                       : R"sql(
      SELECT time_ms, value FROM (
        SELECT time_ms, sequence, value FROM metric_points
        WHERE series_id = ?1 AND time_ms BETWEEN ?2 AND ?3
        ORDER BY time_ms DESC, sequence DESC LIMIT ?4)
      ORDER BY time_ms, sequence)sql");
  v1::QueryMetricsResponse response;
  while (series.executeStep()) {
    points.reset();
    points.bind(1, series.getColumn(0).getInt64());
    points.bind(2, since);
    points.bind(3, until);
    points.bind(4, request.limit());
    if (stepped) points.bind(5, request.step_ms());
    v1::MetricSeries out;
    while (points.executeStep()) {
      v1::MetricPoint* point = out.add_points();
      point->set_time_unix_ms(points.getColumn(0).getInt64());
      point->set_value(points.getColumn(1).getDouble());
      if (stepped) {
        point->set_count(points.getColumn(2).getInt64());
        point->set_min(points.getColumn(3).getDouble());
        point->set_max(points.getColumn(4).getDouble());
      }
    }
    if (out.points().empty()) continue;
    out.set_agent_id(series.getColumn(1).getString());
    out.set_name(request.name());
    FromJsonObject(series.getColumn(2).getText(), out.mutable_labels());
    *response.add_series() = std::move(out);
  }
  return response;
}

}  // namespace eroom::collector
