#include <cstdint>
#include <limits>
#include <optional>

#include "SQLiteCpp/Statement.h"
#include "SQLiteCpp/Transaction.h"
#include "absl/strings/str_cat.h"
#include "collector/metric_rollups.h"
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
  // first, from rollups and points as ChooseMetricSources decides (?6, ?7:
  // rollup minutes; ?2 to ?8 and ?9 to ?3: points).
  const bool stepped = request.step_ms() > 0;
  SQLite::Statement points(db, stepped ? R"sql(
      SELECT step, total / samples, samples, low, high FROM (
        SELECT (t / ?5) * ?5 AS step, sum(total) AS total,
               sum(samples) AS samples, min(low) AS low, max(high) AS high
        FROM (
          SELECT minute_ms AS t, samples, total, low, high
          FROM metric_rollups
          WHERE series_id = ?1 AND minute_ms >= ?6 AND minute_ms < ?7
          UNION ALL
          SELECT time_ms, 1, value, value, value FROM metric_points
          WHERE series_id = ?1 AND time_ms BETWEEN ?2 AND ?8
          UNION ALL
          SELECT time_ms, 1, value, value, value FROM metric_points
          WHERE series_id = ?1 AND time_ms BETWEEN ?9 AND ?3)
        GROUP BY step ORDER BY step DESC LIMIT ?4)
      ORDER BY step)sql"
                                       : R"sql(
      SELECT t, value, samples, low, high FROM (
        SELECT minute_ms AS t, -1 AS sequence, total / samples AS value,
               samples, low, high
        FROM metric_rollups
        WHERE series_id = ?1 AND minute_ms >= ?6 AND minute_ms < ?7
        UNION ALL
        SELECT time_ms, sequence, value, NULL, NULL, NULL FROM metric_points
        WHERE series_id = ?1 AND time_ms BETWEEN ?2 AND ?8
        UNION ALL
        SELECT time_ms, sequence, value, NULL, NULL, NULL FROM metric_points
        WHERE series_id = ?1 AND time_ms BETWEEN ?9 AND ?3
        ORDER BY t DESC, sequence DESC LIMIT ?4)
      ORDER BY t, sequence)sql");
  SQLite::Statement oldest_point(
      db, "SELECT min(time_ms) FROM metric_points WHERE series_id = ?1");
  v1::QueryMetricsResponse response;
  while (series.executeStep()) {
    const int64_t series_id = series.getColumn(0).getInt64();
    oldest_point.reset();
    oldest_point.bind(1, series_id);
    oldest_point.executeStep();
    const SQLite::Column oldest = oldest_point.getColumn(0);
    const MetricSources sources = ChooseMetricSources(
        since, until, request.step_ms(),
        oldest.isNull() ? std::nullopt
                        : std::optional<int64_t>(oldest.getInt64()));
    points.reset();
    points.bind(1, series_id);
    points.bind(2, since);
    points.bind(3, until);
    points.bind(4, request.limit());
    if (stepped) points.bind(5, request.step_ms());
    points.bind(6, sources.rollups_from);
    points.bind(7, sources.rollups_until);
    points.bind(8, sources.points_head_until);
    points.bind(9, sources.points_tail_from);
    v1::MetricSeries out;
    while (points.executeStep()) {
      v1::MetricPoint* point = out.add_points();
      point->set_time_unix_ms(points.getColumn(0).getInt64());
      point->set_value(points.getColumn(1).getDouble());
      // A point rolled up answers with its minute's count, min and max.
      if (!points.getColumn(2).isNull()) {
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
