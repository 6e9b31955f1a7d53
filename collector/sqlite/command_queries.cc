#include <optional>
#include <string>
#include <vector>

#include "SQLiteCpp/Statement.h"
#include "SQLiteCpp/Transaction.h"
#include "absl/strings/str_cat.h"
#include "collector/sqlite/queries.h"
#include "collector/sqlite/sql_values.h"

namespace eroom::collector {
namespace {
namespace v1 = ::eroom::monitor::v1;

constexpr char kCommandColumns[] =
    "SELECT command_id, agent_id, command, requested_by, requested_ms, state "
    "FROM commands";

// Reads the progress of each command it is asked for, oldest first.
class ProgressReader {
 public:
  explicit ProgressReader(SQLite::Database& db)
      : query_(db,
               "SELECT state, message, time_ms, step FROM command_progress "
               "WHERE command_id = ?1 ORDER BY id") {}

  void AddTo(v1::CommandRecord& record) {
    query_.reset();
    query_.bind(1, record.command_id());
    while (query_.executeStep()) {
      v1::CommandProgress* progress = record.add_progress();
      progress->set_command_id(record.command_id());
      progress->set_state(
          static_cast<v1::CommandState>(query_.getColumn(0).getInt()));
      progress->set_message(query_.getColumn(1).getString());
      progress->set_time_unix_ms(query_.getColumn(2).getInt64());
      progress->set_step(query_.getColumn(3).getString());
    }
  }

 private:
  SQLite::Statement query_;
};

// The command of the current row of a kCommandColumns query. A command blob
// that does not parse (a damaged row) leaves the action unset.
v1::CommandRecord ReadCommand(SQLite::Statement& row) {
  v1::CommandRecord record;
  record.set_command_id(row.getColumn(0).getString());
  record.set_agent_id(row.getColumn(1).getString());
  const SQLite::Column command = row.getColumn(2);
  if (!record.mutable_command()->ParseFromArray(command.getBlob(),
                                                command.getBytes())) {
    record.mutable_command()->Clear();
  }
  record.set_requested_by(row.getColumn(3).getString());
  record.set_requested_unix_ms(row.getColumn(4).getInt64());
  record.set_state(static_cast<v1::CommandState>(row.getColumn(5).getInt()));
  return record;
}

}  // namespace

std::optional<v1::CommandRecord> QueryCommand(SQLite::Database& db,
                                              const std::string& command_id) {
  // One snapshot for the command and its progress.
  SQLite::Transaction snapshot(db);
  SQLite::Statement query(
      db, absl::StrCat(kCommandColumns, " WHERE command_id = ?"));
  query.bind(1, command_id);
  if (!query.executeStep()) return std::nullopt;
  v1::CommandRecord record = ReadCommand(query);
  ProgressReader(db).AddTo(record);
  return record;
}

v1::ListCommandsResponse QueryCommands(SQLite::Database& db,
                                       const v1::ListCommandsRequest& request) {
  SqlConditions conditions;
  if (!request.agent_id().empty()) {
    conditions.Add("agent_id = ?", request.agent_id());
  }
  SQLite::Transaction snapshot(db);
  SQLite::Statement query(
      db, absl::StrCat(kCommandColumns, conditions.Where(),
                       " ORDER BY requested_ms DESC, rowid DESC LIMIT ?"));
  query.bind(conditions.Bind(query), request.limit());
  ProgressReader progress(db);
  v1::ListCommandsResponse response;
  while (query.executeStep()) {
    v1::CommandRecord* record = response.add_commands();
    *record = ReadCommand(query);
    progress.AddTo(*record);
  }
  return response;
}

std::vector<v1::CommandRecord> QueryUnfinishedCommands(SQLite::Database& db) {
  SQLite::Statement query(
      db, absl::StrCat(kCommandColumns, " WHERE state NOT IN (?, ?, ?)",
                       " ORDER BY requested_ms, rowid"));
  query.bind(1, static_cast<int32_t>(v1::SUCCEEDED));
  query.bind(2, static_cast<int32_t>(v1::FAILED));
  query.bind(3, static_cast<int32_t>(v1::REJECTED));
  std::vector<v1::CommandRecord> unfinished;
  while (query.executeStep()) unfinished.push_back(ReadCommand(query));
  return unfinished;
}

v1::ListAuditResponse QueryAudit(SQLite::Database& db,
                                 const v1::ListAuditRequest& request) {
  SqlConditions conditions;
  if (!request.agent_id().empty()) {
    conditions.Add("agent_id = ?", request.agent_id());
  }
  if (request.since_unix_ms() != 0) {
    conditions.Add("time_ms >= ?", request.since_unix_ms());
  }
  SQLite::Statement query(
      db, absl::StrCat("SELECT time_ms, actor, agent_id, action, parameters, "
                       "result, command_id FROM command_audit",
                       conditions.Where(),
                       " ORDER BY time_ms DESC, id DESC LIMIT ?"));
  query.bind(conditions.Bind(query), request.limit());
  v1::ListAuditResponse response;
  while (query.executeStep()) {
    v1::AuditRecord* record = response.add_records();
    record->set_time_unix_ms(query.getColumn(0).getInt64());
    record->set_actor(query.getColumn(1).getString());
    record->set_agent_id(query.getColumn(2).getString());
    record->set_action(query.getColumn(3).getString());
    record->set_parameters(query.getColumn(4).getString());
    record->set_result(query.getColumn(5).getString());
    record->set_command_id(query.getColumn(6).getString());
  }
  return response;
}

}  // namespace eroom::collector
