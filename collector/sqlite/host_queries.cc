#include "SQLiteCpp/Statement.h"
#include "absl/strings/str_cat.h"
#include "collector/sqlite/queries.h"
#include "collector/sqlite/sql_values.h"
#include "spdlog/spdlog.h"

namespace eroom::collector {
namespace {
namespace v1 = ::eroom::monitor::v1;

// Fills a latest_* field of `host` from its blob; a blob that does not
// parse (a damaged row) leaves the field unset instead of failing the whole
// listing.
template <typename Message>
void ParseLatest(const SQLite::Column& column, v1::HostStatus& host,
                 Message* field, void (v1::HostStatus::*clear)()) {
  if (column.isNull()) {
    (host.*clear)();
    return;
  }
  if (!field->ParseFromArray(column.getBlob(), column.getBytes())) {
    spdlog::warn("host '{}': unreadable {} in the database; left out",
                 host.agent_id(), column.getName());
    (host.*clear)();
  }
}

}  // namespace

v1::ListHostsResponse QueryHosts(SQLite::Database& db,
                                 const v1::ListHostsRequest& request) {
  SqlConditions conditions;
  if (!request.agent_id().empty()) {
    conditions.Add("agent_id = ?", request.agent_id());
  }
  SQLite::Statement query(
      db, absl::StrCat("SELECT agent_id, hostname, version, labels, "
                       "connected, first_seen_ms, last_seen_ms, "
                       "last_sequence, latest_sample, latest_health, "
                       "latest_queue FROM hosts",
                       conditions.Where(), " ORDER BY agent_id"));
  conditions.Bind(query);
  v1::ListHostsResponse response;
  while (query.executeStep()) {
    v1::HostStatus* host = response.add_hosts();
    host->set_agent_id(query.getColumn(0).getString());
    host->set_hostname(query.getColumn(1).getString());
    host->set_version(query.getColumn(2).getString());
    FromJsonObject(query.getColumn(3).getText(), host->mutable_labels());
    host->set_connected(query.getColumn(4).getInt() != 0);
    host->set_first_seen_unix_ms(query.getColumn(5).getInt64());
    host->set_last_seen_unix_ms(query.getColumn(6).getInt64());
    host->set_last_sequence(FromDb(query.getColumn(7).getInt64()));
    ParseLatest(query.getColumn(8), *host, host->mutable_latest_sample(),
                &v1::HostStatus::clear_latest_sample);
    ParseLatest(query.getColumn(9), *host, host->mutable_latest_health(),
                &v1::HostStatus::clear_latest_health);
    ParseLatest(query.getColumn(10), *host, host->mutable_latest_queue(),
                &v1::HostStatus::clear_latest_queue);
  }
  return response;
}

}  // namespace eroom::collector
