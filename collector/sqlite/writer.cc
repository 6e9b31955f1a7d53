#include "collector/sqlite/writer.h"

#include <sqlite3.h>

#include <algorithm>
#include <utility>

#include "SQLiteCpp/Transaction.h"
#include "absl/strings/str_cat.h"
#include "collector/alerting/message_shape.h"
#include "collector/metric_rollups.h"
#include "collector/room_timeline.h"
#include "collector/sqlite/room_rows.h"
#include "collector/sqlite/schema.h"
#include "collector/sqlite/sql_values.h"
#include "collector/storage.h"
#include "common/sqlite_migrations.h"
#include "common/sqlite_setup.h"
#include "common/sqlite_status.h"
#include "common/status_macros.h"

namespace eroom::collector {
namespace {
namespace v1 = ::eroom::monitor::v1;

// Binds the message's wire form as a blob.
void BindSerialized(SQLite::Statement& s, int index,
                    const google::protobuf::MessageLite& message) {
  const std::string bytes = message.SerializeAsString();
  s.bind(index, bytes.data(), static_cast<int>(bytes.size()));
}

// Binds the message's wire form, or NULL without one.
template <typename Message>
void BindSerialized(SQLite::Statement& s, int index,
                    const std::optional<Message>& message) {
  if (message.has_value()) {
    BindSerialized(s, index, *message);
  } else {
    s.bind(index);
  }
}

// The parameters InsertLogs binds for each log event.
constexpr size_t kLogColumnCount = 14;

// An INSERT of `rows` log events, each bound as InsertLogs binds it. A
// conflict rolls back the whole transaction, as Apply would anyway, so
// that the statement needs no journal to undo its own rows on an error.
std::string InsertLogsSql(size_t rows) {
  return absl::StrCat(R"sql(
      INSERT OR ROLLBACK INTO log_events (id, agent_id, sequence, time_ms,
        received_ms, source, file_offset, level, message, event_type, fields,
        ruid, truncated, has_header)
      VALUES )sql",
                      RowPlaceholders(rows, kLogColumnCount));
}

// `db` without SQLite's checks of its foreign keys, for the ingest writer.
// With them, an INSERT of many rows keeps a copy of every page it changes
// (a statement journal) in case a reference fails at its end, whatever its
// conflict clause: 5,800 of 26,000 instructions per stored log event
// (callgrind), and a temporary file's writes once it passes 64 KiB. The
// writer keeps the references itself: hosts are saved first in each
// transaction, series before their points, commands before their progress;
// a test checks the stored rows with PRAGMA foreign_key_check.
SQLite::Database WithoutForeignKeyChecks(SQLite::Database db) {
  db.exec("PRAGMA foreign_keys = OFF");
  return db;
}

}  // namespace

absl::StatusOr<SQLite::Database> OpenWriteConnection(const std::string& path) {
  ConfigureSqlite();
  EROOM_RETURN_IF_ERROR(KeepOwnerOnly(path));
  try {
    SQLite::Database db(
        path,
        SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_NOMUTEX,
        kBusyTimeoutMs);
    EROOM_RETURN_IF_ERROR(ConfigureWriteConnection(db));
    EROOM_RETURN_IF_ERROR(MigrateSchema(db, CollectorSchema()));
    return db;
  } catch (const SQLite::Exception& e) {
    return SqliteErrorStatus(absl::StrCat("open database ", path), e,
                             kDatabaseKind);
  }
}

absl::Status ConfigureWriteConnection(SQLite::Database& db) {
  UseLargePagesIfNew(db);
  std::string mode = db.execAndGet("PRAGMA journal_mode = WAL").getString();
  if (mode != "wal") {
    return absl::FailedPreconditionError(
        absl::StrCat(db.getFilename(), ": WAL journaling unavailable (got '",
                     mode, "'); the collector needs a database file"));
  }
  // An Ack tells the agent it may forget the acknowledged events, so a
  // commit must survive power loss, not only a crash of the collector.
  // Under WAL, NORMAL syncs only at checkpoints: the last transactions could
  // roll back after power loss. FULL syncs the WAL at every commit; the
  // ingest thread commits whole batches, so that is one sync per batch.
  db.exec("PRAGMA synchronous = FULL");
  db.exec("PRAGMA foreign_keys = ON");
  // A statement that may fail after changing rows keeps the pages it
  // changed in a statement journal, which past 64 KiB spills to a
  // temporary file: at 3,000 agents, with the foreign key checks that
  // SqliteWriter now turns off, the ingest thread wrote 3,400 pages a
  // second there (strace). The journal lives for one statement, so memory
  // holds it.
  db.exec("PRAGMA temp_store = MEMORY");
  // A large transaction grows the WAL file; once checkpointed, shrink it
  // back to this size rather than keep the disk space.
  db.exec("PRAGMA journal_size_limit = 67108864");
  return absl::OkStatus();
}

SqliteWriter::SqliteWriter(SQLite::Database db)
    : db_(WithoutForeignKeyChecks(std::move(db))),
      upsert_host_(db_, R"sql(
          INSERT INTO hosts (agent_id, hostname, version, labels, connected,
                             first_seen_ms, last_seen_ms)
          VALUES (?1, ?2, ?3, ?4, 1, ?5, ?5)
          ON CONFLICT (agent_id) DO UPDATE SET
            hostname = excluded.hostname, version = excluded.version,
            labels = excluded.labels, connected = 1,
            last_seen_ms = excluded.last_seen_ms
          RETURNING last_sequence)sql"),
      disconnect_host_(db_, R"sql(
          UPDATE hosts SET connected = 0, last_seen_ms = ?2
          WHERE agent_id = ?1)sql"),
      find_host_sequence_(
          db_, "SELECT last_sequence FROM hosts WHERE agent_id = ?1"),
      // A host not registered yet is created, so that its events are kept.
      save_progress_(db_, R"sql(
          INSERT INTO hosts (agent_id, first_seen_ms, last_seen_ms,
                             last_sequence, latest_sample, latest_health,
                             latest_queue)
          VALUES (?1, ?3, ?3, ?2, ?4, ?5, ?6)
          ON CONFLICT (agent_id) DO UPDATE SET
            last_sequence = excluded.last_sequence,
            last_seen_ms = excluded.last_seen_ms,
            latest_sample = coalesce(excluded.latest_sample, latest_sample),
            latest_health = coalesce(excluded.latest_health, latest_health),
            latest_queue = coalesce(excluded.latest_queue, latest_queue))sql"),
      find_last_log_id_(db_, "SELECT coalesce(max(id), 0) FROM log_events"),
      insert_log_(db_, InsertLogsSql(1)),
      insert_logs_(db_, InsertLogsSql(kLogRowsPerInsert)),
      upsert_log_source_(db_, R"sql(
          INSERT INTO log_sources (file, logger, thread, until_ms)
          VALUES (?1, ?2, ?3, ?4)
          ON CONFLICT (file, logger, thread) DO UPDATE SET
            until_ms = max(until_ms, excluded.until_ms)
          RETURNING source, until_ms)sql"),
      extend_log_source_(
          db_, "UPDATE log_sources SET until_ms = ?2 WHERE source = ?1"),
      insert_error_line_(db_, R"sql(
          INSERT INTO error_lines (id, agent_id, time_ms, shape, first_line)
          VALUES (?1, ?2, ?3, ?4, ?5))sql"),
      find_room_(db_, absl::StrCat("SELECT ", kRoomColumns,
                                   " FROM rooms WHERE agent_id = ?1 AND "
                                   "ruid = ?2")),
      find_open_rooms_(
          db_, absl::StrCat("SELECT ", kRoomColumns,
                            " FROM rooms WHERE agent_id = ?1 AND status IN (",
                            static_cast<int>(v1::ROOM_STATUS_UNSPECIFIED), ", ",
                            static_cast<int>(v1::ROOM_QUEUED), ", ",
                            static_cast<int>(v1::ROOM_RUNNING), ")")),
      save_room_(db_,
                 absl::StrCat("INSERT OR REPLACE INTO rooms (", kRoomColumns,
                              ", latest_ms) VALUES (?1, ?2, ?3, ?4, ?5, "
                              "?6, ?7, ?8, ?9, ?10, ?11, ?12)")),
      upsert_room_span_(db_, R"sql(
          INSERT INTO room_spans (ruid, agent_id, first_ms, last_ms)
          VALUES (?1, ?2, ?3, ?4)
          ON CONFLICT (ruid, agent_id) DO UPDATE SET
            first_ms = min(first_ms, excluded.first_ms),
            last_ms = max(last_ms, excluded.last_ms))sql"),
      insert_probe_(db_, R"sql(
          INSERT INTO probes (agent_id, sequence, time_ms, target, ok,
            http_status, latency_ms, error, health_status, queued, active,
            completed, max_concurrent)
          VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,
                  ?13))sql"),
      insert_notice_(db_, R"sql(
          INSERT INTO agent_notices (agent_id, sequence, time_ms, kind,
                                     message, count)
          VALUES (?1, ?2, ?3, ?4, ?5, ?6))sql"),
      // The no-op update makes RETURNING report the existing row's id too.
      upsert_series_(db_, R"sql(
          INSERT INTO metric_series (agent_id, name, labels)
          VALUES (?1, ?2, ?3)
          ON CONFLICT (name, agent_id, labels) DO UPDATE SET
            name = excluded.name
          RETURNING id)sql"),
      insert_point_(db_, R"sql(
          INSERT INTO metric_points (series_id, time_ms, sequence, value)
          VALUES (?1, ?2, ?3, ?4))sql"),
      upsert_rollup_(db_, R"sql(
          INSERT INTO metric_rollups (series_id, minute_ms, samples, total,
                                      low, high)
          VALUES (?1, ?2, ?3, ?4, ?5, ?6)
          ON CONFLICT (series_id, minute_ms) DO UPDATE SET
            samples = samples + excluded.samples,
            total = total + excluded.total,
            low = min(low, excluded.low), high = max(high, excluded.high))sql"),
      insert_command_(db_, R"sql(
          INSERT INTO commands (command_id, agent_id, command, requested_by,
                                requested_ms, state)
          VALUES (?1, ?2, ?3, ?4, ?5, ?6))sql"),
      find_command_(db_, R"sql(
          SELECT agent_id, command, requested_by, requested_ms, state
          FROM commands WHERE command_id = ?1)sql"),
      insert_command_progress_(db_, R"sql(
          INSERT INTO command_progress (command_id, state, message, time_ms,
                                        step)
          VALUES (?1, ?2, ?3, ?4, ?5))sql"),
      update_command_state_(
          db_, "UPDATE commands SET state = ?2 WHERE command_id = ?1"),
      insert_audit_(db_, R"sql(
          INSERT INTO command_audit (time_ms, actor, agent_id, action,
                                     parameters, result, command_id)
          VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7))sql"),
      prune_audit_(db_, R"sql(
          DELETE FROM command_audit
          WHERE id <= (SELECT max(id) FROM command_audit) - ?1)sql") {}

uint64_t SqliteWriter::RegisterAgent(const v1::AgentHello& hello,
                                     int64_t now_ms) {
  SQLite::Statement& s = upsert_host_;
  s.reset();
  s.bindNoCopy(1, hello.agent_id());
  s.bindNoCopy(2, hello.hostname());
  s.bindNoCopy(3, hello.version());
  s.bind(4, ToJsonObject(hello.labels()));
  s.bind(5, now_ms);
  s.executeStep();  // RETURNING yields the single row.
  uint64_t last_sequence = FromDb(s.getColumn(0).getInt64());
  s.reset();
  return last_sequence;
}

void SqliteWriter::MarkDisconnected(const std::string& agent_id,
                                    int64_t now_ms) {
  SQLite::Statement& s = disconnect_host_;
  s.reset();
  s.bindNoCopy(1, agent_id);
  s.bind(2, now_ms);
  s.exec();
}

uint64_t SqliteWriter::LastStoredSequence(const std::string& agent_id) {
  SQLite::Statement& s = find_host_sequence_;
  s.reset();
  s.bindNoCopy(1, agent_id);
  uint64_t last_sequence = 0;
  if (s.executeStep()) last_sequence = FromDb(s.getColumn(0).getInt64());
  s.reset();
  return last_sequence;
}

int64_t SqliteWriter::Apply(const StoredBatch& batch) {
  const int64_t received_ms = absl::ToUnixMillis(batch.received);
  int64_t log_events = 0;
  SQLite::Transaction txn(db_, SQLite::TransactionBehavior::IMMEDIATE);
  // Hosts first: the events refer to them.
  for (const HostProgress& host : batch.hosts) SaveProgress(host);
  if (next_log_id_ == 0) {  // Not known since the start or a failure.
    find_last_log_id_.reset();
    find_last_log_id_.executeStep();
    next_log_id_ = find_last_log_id_.getColumn(0).getInt64() + 1;
    find_last_log_id_.reset();
  }
  for (const AgentBatch& agent_batch : batch.batches) {
    for (const v1::Event& event : agent_batch.batch->events()) {
      InsertEvent(agent_batch.agent_id, event, received_ms);
      if (event.has_log()) ++log_events;
    }
  }
  InsertPendingLogs();
  UpsertRoomSpans();
  for (const DerivedMetrics& metrics : batch.metrics) InsertMetrics(metrics);
  UpsertRollups();
  for (const StoredCommandProgress& progress : batch.command_progress) {
    InsertCommandProgress(progress.progress);
  }
  for (const v1::AuditRecord& record : batch.audit) InsertAudit(record);
  if (!batch.audit.empty()) PruneAuditNowAndThen();
  txn.commit();
  return log_events;
}

void SqliteWriter::RecordCommand(const v1::CommandRecord& command) {
  SQLite::Statement& s = insert_command_;
  s.reset();
  s.bindNoCopy(1, command.command_id());
  s.bindNoCopy(2, command.agent_id());
  BindSerialized(s, 3, command.command());
  s.bindNoCopy(4, command.requested_by());
  s.bind(5, command.requested_unix_ms());
  s.bind(6, static_cast<int32_t>(command.state()));
  s.exec();
}

std::optional<v1::CommandRecord> SqliteWriter::RecordedCommand(
    const std::string& command_id) {
  SQLite::Statement& s = find_command_;
  s.reset();
  s.bindNoCopy(1, command_id);
  std::optional<v1::CommandRecord> record;
  if (s.executeStep()) {
    record.emplace();
    record->set_command_id(command_id);
    record->set_agent_id(s.getColumn(0).getString());
    const SQLite::Column command = s.getColumn(1);
    // A damaged blob leaves the action unset, as the readers do.
    if (!record->mutable_command()->ParseFromArray(command.getBlob(),
                                                   command.getBytes())) {
      record->mutable_command()->Clear();
    }
    record->set_requested_by(s.getColumn(2).getString());
    record->set_requested_unix_ms(s.getColumn(3).getInt64());
    record->set_state(static_cast<v1::CommandState>(s.getColumn(4).getInt()));
  }
  s.reset();
  return record;
}

ExpiredRows SqliteWriter::DeleteExpired(const RetentionPolicy& policy,
                                        int64_t now_ms, int64_t max_rows) {
  auto before = [now_ms](absl::Duration kept) {
    return now_ms - absl::ToInt64Milliseconds(kept);
  };
  ExpiredRows expired;
  RetentionCounts& counts = expired.counts;
  SQLite::Transaction txn(db_, SQLite::TransactionBehavior::IMMEDIATE);
  counts.logs =
      DeleteExpiredLogs(before(policy.logs), max_rows, expired.log_events);
  counts.samples =
      DeleteExpiredSamples(before(policy.samples), max_rows - counts.total());
  counts.rollups =
      DeleteExpiredRollups(before(policy.rollups), max_rows - counts.total());
  counts.probes =
      DeleteExpiredProbes(before(policy.probes), max_rows - counts.total());
  counts.notices =
      DeleteExpiredNotices(before(policy.notices), max_rows - counts.total());
  counts.commands =
      DeleteExpiredCommands(before(policy.commands), max_rows - counts.total());
  counts.audit =
      DeleteExpiredAudit(before(policy.audit), max_rows - counts.total());
  txn.commit();
  return expired;
}

int64_t SqliteWriter::DeleteExpiredLogs(int64_t before_ms, int64_t max_rows,
                                        std::vector<RemovedLogEvent>& removed) {
  if (max_rows <= 0) return 0;
  // The newest event stays: log event ids are the highest one plus one, and
  // a reused id would pass for indexed already (search_index.h).
  SQLite::Statement select(db_, R"sql(
      SELECT id FROM log_events
      WHERE time_ms < ?1 AND id < (SELECT max(id) FROM log_events)
      ORDER BY time_ms LIMIT ?2)sql");
  select.bind(1, before_ms);
  select.bind(2, max_rows);
  while (select.executeStep()) {
    removed.push_back(RemovedLogEvent{.id = select.getColumn(0).getInt64()});
  }
  SQLite::Statement remove(db_, "DELETE FROM log_events WHERE id = ?1");
  SQLite::Statement remove_error(db_, "DELETE FROM error_lines WHERE id = ?1");
  for (const RemovedLogEvent& event : removed) {
    for (SQLite::Statement* statement : {&remove, &remove_error}) {
      statement->reset();
      statement->bind(1, event.id);
      statement->exec();
    }
  }
  DeleteExpiredRooms(before_ms, max_rows);
  DeleteExpiredRoomSpans(max_rows);
  DeleteExpiredLogSources(max_rows);
  return static_cast<int64_t>(removed.size());
}

void SqliteWriter::DeleteExpiredRooms(int64_t before_ms, int64_t max_rows) {
  SQLite::Statement remove(db_, R"sql(
      DELETE FROM rooms WHERE rowid IN (
        SELECT rowid FROM rooms WHERE latest_ms < ?1
        ORDER BY latest_ms LIMIT ?2))sql");
  remove.bind(1, before_ms);
  remove.bind(2, max_rows);
  remove.exec();
}

void SqliteWriter::DeleteExpiredRoomSpans(int64_t max_rows) {
  // A span holds the times of all its events: one that ends before the
  // oldest event left has none left.
  SQLite::Statement remove(db_, R"sql(
      DELETE FROM room_spans WHERE (ruid, agent_id) IN (
        SELECT ruid, agent_id FROM room_spans
        WHERE last_ms < (SELECT min(time_ms) FROM log_events)
        ORDER BY last_ms LIMIT ?1))sql");
  remove.bind(1, max_rows);
  remove.exec();
}

void SqliteWriter::DeleteExpiredLogSources(int64_t max_rows) {
  // As room spans: until_ms is later than each of the source's events.
  SQLite::Statement remove(db_, R"sql(
      DELETE FROM log_sources WHERE source IN (
        SELECT source FROM log_sources
        WHERE until_ms < (SELECT min(time_ms) FROM log_events)
        ORDER BY until_ms LIMIT ?1))sql");
  remove.bind(1, max_rows);
  if (remove.exec() > 0) log_sources_.clear();
}

int64_t SqliteWriter::DeleteExpiredSamples(int64_t before_ms,
                                           int64_t max_rows) {
  // Points are keyed by series, then time.
  return DeleteOldestPerKey("SELECT id FROM metric_series ORDER BY id", R"sql(
      DELETE FROM metric_points
      WHERE series_id = ?1 AND (time_ms, sequence) IN (
        SELECT time_ms, sequence FROM metric_points
        WHERE series_id = ?1 AND time_ms < ?2
        ORDER BY time_ms LIMIT ?3))sql",
                            before_ms, max_rows);
}

int64_t SqliteWriter::DeleteExpiredRollups(int64_t before_ms,
                                           int64_t max_rows) {
  return DeleteOldestPerKey("SELECT id FROM metric_series ORDER BY id", R"sql(
      DELETE FROM metric_rollups
      WHERE series_id = ?1 AND minute_ms IN (
        SELECT minute_ms FROM metric_rollups
        WHERE series_id = ?1 AND minute_ms < ?2
        ORDER BY minute_ms LIMIT ?3))sql",
                            before_ms, max_rows);
}

int64_t SqliteWriter::DeleteExpiredProbes(int64_t before_ms, int64_t max_rows) {
  // Probes are indexed by (agent, time) only.
  return DeleteOldestPerKey("SELECT agent_id FROM hosts", R"sql(
      DELETE FROM probes WHERE id IN (
        SELECT id FROM probes WHERE agent_id = ?1 AND time_ms < ?2
        ORDER BY time_ms LIMIT ?3))sql",
                            before_ms, max_rows);
}

int64_t SqliteWriter::DeleteOldestPerKey(const char* keys_sql,
                                         const char* remove_sql,
                                         int64_t before_ms, int64_t max_rows) {
  // One seek per key finds its oldest rows, where a condition on time alone
  // would scan them all.
  SQLite::Statement keys(db_, keys_sql);
  SQLite::Statement remove(db_, remove_sql);
  int64_t deleted = 0;
  while (deleted < max_rows && keys.executeStep()) {
    const SQLite::Column key = keys.getColumn(0);
    remove.reset();
    if (key.isInteger()) {
      remove.bind(1, key.getInt64());
    } else {
      remove.bind(1, key.getString());
    }
    remove.bind(2, before_ms);
    remove.bind(3, max_rows - deleted);
    deleted += remove.exec();
  }
  return deleted;
}

int64_t SqliteWriter::DeleteExpiredNotices(int64_t before_ms,
                                           int64_t max_rows) {
  if (max_rows <= 0) return 0;
  // Notices are few and stored in time order: the oldest ids come first.
  SQLite::Statement remove(db_, R"sql(
      DELETE FROM agent_notices WHERE id IN (
        SELECT id FROM agent_notices WHERE time_ms < ?1
        ORDER BY id LIMIT ?2))sql");
  remove.bind(1, before_ms);
  remove.bind(2, max_rows);
  return remove.exec();
}

int64_t SqliteWriter::DeleteExpiredCommands(int64_t before_ms,
                                            int64_t max_rows) {
  if (max_rows <= 0) return 0;
  SQLite::Statement select(db_, R"sql(
      SELECT command_id FROM commands WHERE requested_ms < ?1
      ORDER BY requested_ms LIMIT ?2)sql");
  select.bind(1, before_ms);
  select.bind(2, max_rows);
  std::vector<std::string> command_ids;
  while (select.executeStep()) command_ids.push_back(select.getColumn(0));
  // Progress first: it refers to its command.
  SQLite::Statement remove_progress(
      db_, "DELETE FROM command_progress WHERE command_id = ?1");
  SQLite::Statement remove_command(
      db_, "DELETE FROM commands WHERE command_id = ?1");
  for (const std::string& command_id : command_ids) {
    for (SQLite::Statement* remove : {&remove_progress, &remove_command}) {
      remove->reset();
      remove->bindNoCopy(1, command_id);
      remove->exec();
    }
  }
  return static_cast<int64_t>(command_ids.size());
}

int64_t SqliteWriter::DeleteExpiredAudit(int64_t before_ms, int64_t max_rows) {
  if (max_rows <= 0) return 0;
  SQLite::Statement remove(db_, R"sql(
      DELETE FROM command_audit WHERE id IN (
        SELECT id FROM command_audit WHERE time_ms < ?1
        ORDER BY time_ms LIMIT ?2))sql");
  remove.bind(1, before_ms);
  remove.bind(2, max_rows);
  return remove.exec();
}

void SqliteWriter::RecoverFromFailure() {
  // SQLite reports a failed step again at the statement's next reset.
  for (SQLite::Statement* statement : {&upsert_host_,
                                       &disconnect_host_,
                                       &find_host_sequence_,
                                       &save_progress_,
                                       &find_last_log_id_,
                                       &insert_log_,
                                       &insert_logs_,
                                       &upsert_log_source_,
                                       &extend_log_source_,
                                       &insert_error_line_,
                                       &find_room_,
                                       &find_open_rooms_,
                                       &save_room_,
                                       &upsert_room_span_,
                                       &insert_probe_,
                                       &insert_notice_,
                                       &upsert_series_,
                                       &insert_point_,
                                       &upsert_rollup_,
                                       &insert_command_,
                                       &find_command_,
                                       &insert_command_progress_,
                                       &update_command_state_,
                                       &insert_audit_,
                                       &prune_audit_}) {
    statement->tryReset();
  }
  // Series and log sources created or extended by the rolled-back
  // transaction are gone with it, and so are its points.
  series_ids_.clear();
  log_sources_.clear();
  pending_rollups_.clear();
  pending_logs_.clear();
  pending_room_spans_.clear();
  next_log_id_ = 0;  // The failed transaction's numbers are free again.
}

void SqliteWriter::SaveProgress(const HostProgress& host) {
  SQLite::Statement& s = save_progress_;
  s.reset();
  s.bindNoCopy(1, host.agent_id);
  s.bind(2, ToDb(host.last_sequence));
  s.bind(3, absl::ToUnixMillis(host.last_seen));
  BindSerialized(s, 4, host.latest_sample);
  BindSerialized(s, 5, host.latest_health);
  BindSerialized(s, 6, host.latest_queue);
  s.exec();
}

void SqliteWriter::InsertEvent(const std::string& agent_id,
                               const v1::Event& event, int64_t received_ms) {
  switch (event.payload_case()) {
    case v1::Event::kLog:
      InsertLog(agent_id, event.sequence(), event.log(), received_ms);
      break;
    case v1::Event::kProbe:
      InsertProbe(agent_id, event.sequence(), event.probe());
      break;
    case v1::Event::kNotice:
      InsertNotice(agent_id, event.sequence(), event.notice());
      break;
    case v1::Event::kSample:          // Kept as metrics and latest_sample.
    case v1::Event::PAYLOAD_NOT_SET:  // A kind this code predates.
      break;
  }
}

void SqliteWriter::InsertLog(const std::string& agent_id, uint64_t sequence,
                             const v1::LogEvent& log, int64_t received_ms) {
  const int64_t id = next_log_id_++;
  pending_logs_.push_back(PendingLog{id, &agent_id, sequence, LogSource(log),
                                     &log, received_ms,
                                     ToJsonObject(log.fields())});
  if (pending_logs_.size() == kLogRowsPerInsert) InsertPendingLogs();
  if (log.level() == v1::ERROR) InsertErrorLine(id, agent_id, log);
  if (!log.ruid().empty()) SpanRoom(agent_id, log);
  UpdateRooms(agent_id, log);
}

void SqliteWriter::SpanRoom(const std::string& agent_id,
                            const v1::LogEvent& log) {
  const int64_t time_ms = log.time_unix_ms();
  auto [entry, added] = pending_room_spans_.try_emplace(
      std::make_pair(absl::string_view(agent_id),
                     absl::string_view(log.ruid())),
      RoomSpan{.agent_id = &agent_id,
               .ruid = &log.ruid(),
               .first_ms = time_ms,
               .last_ms = time_ms});
  if (added) return;
  RoomSpan& span = entry->second;
  span.first_ms = std::min(span.first_ms, time_ms);
  span.last_ms = std::max(span.last_ms, time_ms);
}

void SqliteWriter::UpsertRoomSpans() {
  SQLite::Statement& s = upsert_room_span_;
  for (const auto& [key, span] : pending_room_spans_) {
    s.reset();
    s.bindNoCopy(1, *span.ruid);
    s.bindNoCopy(2, *span.agent_id);
    s.bind(3, span.first_ms);
    s.bind(4, span.last_ms);
    s.exec();
  }
  pending_room_spans_.clear();
}

int64_t SqliteWriter::LogSource(const v1::LogEvent& log) {
  // One reused string, not a key of three strings as the series have: that
  // would allocate for each event. Each length ends where its text starts,
  // so that no three texts can pass for another three.
  log_source_key_.clear();
  absl::StrAppend(&log_source_key_, log.file().size(), ":", log.file(),
                  log.logger().size(), ":", log.logger(), log.thread());
  const int64_t time_ms = log.time_unix_ms();
  auto known = log_sources_.find(log_source_key_);
  if (known == log_sources_.end()) {
    if (log_sources_.size() >= kMaxKnownLogSources) log_sources_.clear();
    SQLite::Statement& s = upsert_log_source_;
    s.reset();
    s.bindNoCopy(1, log.file());
    s.bindNoCopy(2, log.logger());
    s.bindNoCopy(3, log.thread());
    s.bind(4, time_ms + kLogSourceReachMs);
    s.executeStep();  // RETURNING yields the row, new or existing.
    KnownLogSource added{.source = s.getColumn(0).getInt64(),
                         .until_ms = s.getColumn(1).getInt64()};
    s.reset();
    known = log_sources_.emplace(log_source_key_, added).first;
  }
  KnownLogSource& source = known->second;
  if (time_ms > source.until_ms) {
    source.until_ms = time_ms + kLogSourceReachMs;
    SQLite::Statement& s = extend_log_source_;
    s.reset();
    s.bind(1, source.source);
    s.bind(2, source.until_ms);
    s.exec();
  }
  return source.source;
}

void SqliteWriter::InsertPendingLogs() {
  if (pending_logs_.size() == kLogRowsPerInsert) {
    InsertLogs(insert_logs_, pending_logs_);
  } else {
    for (const PendingLog& log : pending_logs_) InsertLogs(insert_log_, {log});
  }
  pending_logs_.clear();
}

void SqliteWriter::InsertLogs(SQLite::Statement& s,
                              absl::Span<const PendingLog> logs) {
  s.reset();
  int parameter = 0;
  for (const PendingLog& pending : logs) {
    const v1::LogEvent& log = *pending.log;
    s.bind(++parameter, pending.id);
    s.bindNoCopy(++parameter, *pending.agent_id);
    s.bind(++parameter, ToDb(pending.sequence));
    s.bind(++parameter, log.time_unix_ms());
    s.bind(++parameter, pending.received_ms);
    s.bind(++parameter, pending.source);
    s.bind(++parameter, ToDb(log.file_offset()));
    s.bind(++parameter, static_cast<int32_t>(log.level()));
    s.bindNoCopy(++parameter, log.message());
    s.bindNoCopy(++parameter, log.event_type());
    s.bindNoCopy(++parameter, pending.fields);
    s.bindNoCopy(++parameter, log.ruid());
    s.bind(++parameter, log.truncated() ? 1 : 0);
    s.bind(++parameter, log.has_header() ? 1 : 0);
  }
  s.exec();
}

void SqliteWriter::InsertErrorLine(int64_t id, const std::string& agent_id,
                                   const v1::LogEvent& log) {
  SQLite::Statement& s = insert_error_line_;
  s.reset();
  s.bind(1, id);
  s.bindNoCopy(2, agent_id);
  s.bind(3, log.time_unix_ms());
  s.bind(4, alerting::MessageShape(log.message()));
  s.bind(5, log.message().substr(0, log.message().find('\n')));
  s.exec();
}

void SqliteWriter::UpdateRooms(const std::string& agent_id,
                               const v1::LogEvent& log) {
  std::vector<v1::RoomRecord> changed;
  if (IsRoomLifecycleEvent(log)) {
    SQLite::Statement& find = find_room_;
    find.reset();
    find.bindNoCopy(1, agent_id);
    find.bindNoCopy(2, log.ruid());
    v1::RoomRecord room =
        find.executeStep() ? ReadRoom(find) : NewRoom(agent_id, log.ruid());
    find.reset();
    AddRoomEvent(log, room);
    changed.push_back(std::move(room));
  } else if (IsServerStart(log)) {
    SQLite::Statement& find = find_open_rooms_;
    find.reset();
    find.bindNoCopy(1, agent_id);
    while (find.executeStep()) {
      v1::RoomRecord room = ReadRoom(find);
      if (EndByRestart(log.time_unix_ms(), room)) {
        changed.push_back(std::move(room));
      }
    }
    find.reset();
  }
  SQLite::Statement& save = save_room_;
  for (const v1::RoomRecord& room : changed) {
    save.reset();
    BindRoom(save, room);
    save.exec();
  }
}

void SqliteWriter::FinishPendingBackfills() {
  if (!db_.execAndGet("SELECT count(*) FROM pending_backfills WHERE name = "
                      "'rooms'")
           .getInt()) {
    return;
  }
  SQLite::Transaction txn(db_, SQLite::TransactionBehavior::IMMEDIATE);
  // In the order stored, as the writer would have seen them.
  SQLite::Statement events(db_, R"sql(
      SELECT agent_id, time_ms, event_type, fields, ruid, message
      FROM log_events
      WHERE event_type IN ('room_requested', 'room_dequeued', 'room_started',
                           'room_completed', 'room_failed', 'server_started')
        AND event_type <> ''
      ORDER BY id)sql");
  while (events.executeStep()) {
    v1::LogEvent log;
    log.set_time_unix_ms(events.getColumn(1).getInt64());
    log.set_event_type(events.getColumn(2).getString());
    FromJsonObject(events.getColumn(3).getText(), log.mutable_fields());
    log.set_ruid(events.getColumn(4).getString());
    log.set_message(events.getColumn(5).getString());
    UpdateRooms(events.getColumn(0).getString(), log);
  }
  SQLite::Statement errors(db_, R"sql(
      SELECT id, agent_id, time_ms, message FROM log_events
      WHERE level = 5 AND level >= 4 ORDER BY id)sql");
  while (errors.executeStep()) {
    v1::LogEvent log;
    log.set_time_unix_ms(errors.getColumn(2).getInt64());
    log.set_message(errors.getColumn(3).getString());
    InsertErrorLine(errors.getColumn(0).getInt64(),
                    errors.getColumn(1).getString(), log);
  }
  db_.exec("DELETE FROM pending_backfills WHERE name = 'rooms'");
  txn.commit();
}

void SqliteWriter::InsertProbe(const std::string& agent_id, uint64_t sequence,
                               const v1::ProbeResult& probe) {
  SQLite::Statement& s = insert_probe_;
  s.reset();
  s.bindNoCopy(1, agent_id);
  s.bind(2, ToDb(sequence));
  s.bind(3, probe.time_unix_ms());
  s.bind(4, static_cast<int32_t>(probe.target()));
  s.bind(5, probe.ok() ? 1 : 0);
  s.bind(6, probe.http_status());
  s.bind(7, probe.latency_ms());
  s.bindNoCopy(8, probe.error());
  s.bindNoCopy(9, probe.health_status());
  if (probe.has_queue()) {
    s.bind(10, probe.queue().queued());
    s.bind(11, probe.queue().active());
    s.bind(12, probe.queue().completed());
    s.bind(13, probe.queue().max_concurrent());
  } else {
    for (int index = 10; index <= 13; ++index) s.bind(index);
  }
  s.exec();
}

void SqliteWriter::InsertNotice(const std::string& agent_id, uint64_t sequence,
                                const v1::AgentNotice& notice) {
  SQLite::Statement& s = insert_notice_;
  s.reset();
  s.bindNoCopy(1, agent_id);
  s.bind(2, ToDb(sequence));
  s.bind(3, notice.time_unix_ms());
  s.bindNoCopy(4, notice.kind());
  s.bindNoCopy(5, notice.message());
  s.bind(6, notice.count());
  s.exec();
}

void SqliteWriter::InsertMetrics(const DerivedMetrics& metrics) {
  SQLite::Statement& s = insert_point_;
  for (const MetricValue& metric : metrics.values) {
    int64_t series_id =
        SeriesId(metrics.agent_id, metric.name, ToJsonObject(metric.labels));
    s.reset();
    s.bind(1, series_id);
    s.bind(2, metrics.time_unix_ms);
    s.bind(3, ToDb(metrics.sequence));
    s.bind(4, metric.value);
    s.exec();
    auto [rollup, added] = pending_rollups_.try_emplace(
        std::make_pair(series_id, RollupMinute(metrics.time_unix_ms)));
    Rollup& minute = rollup->second;
    if (added) {
      minute.low = metric.value;
      minute.high = metric.value;
    }
    ++minute.samples;
    minute.total += metric.value;
    minute.low = std::min(minute.low, metric.value);
    minute.high = std::max(minute.high, metric.value);
  }
}

void SqliteWriter::UpsertRollups() {
  SQLite::Statement& s = upsert_rollup_;
  for (const auto& [key, rollup] : pending_rollups_) {
    s.reset();
    s.bind(1, key.first);
    s.bind(2, key.second);
    s.bind(3, rollup.samples);
    s.bind(4, rollup.total);
    s.bind(5, rollup.low);
    s.bind(6, rollup.high);
    s.exec();
  }
  pending_rollups_.clear();
}

void SqliteWriter::InsertCommandProgress(const v1::CommandProgress& step) {
  SQLite::Statement& update = update_command_state_;
  update.reset();
  update.bindNoCopy(1, step.command_id());
  update.bind(2, static_cast<int32_t>(step.state()));
  if (update.exec() == 0) {  // No foreign key check does it.
    throw SQLite::Exception(
        absl::StrCat("progress of command '", step.command_id(),
                     "', which was never recorded"),
        SQLITE_CONSTRAINT_FOREIGNKEY);
  }
  SQLite::Statement& insert = insert_command_progress_;
  insert.reset();
  insert.bindNoCopy(1, step.command_id());
  insert.bind(2, static_cast<int32_t>(step.state()));
  insert.bindNoCopy(3, step.message());
  insert.bind(4, step.time_unix_ms());
  insert.bindNoCopy(5, step.step());
  insert.exec();
}

void SqliteWriter::InsertAudit(const v1::AuditRecord& record) {
  SQLite::Statement& s = insert_audit_;
  s.reset();
  s.bind(1, record.time_unix_ms());
  s.bindNoCopy(2, record.actor());
  s.bindNoCopy(3, record.agent_id());
  s.bindNoCopy(4, record.action());
  s.bindNoCopy(5, record.parameters());
  s.bindNoCopy(6, record.result());
  s.bindNoCopy(7, record.command_id());
  s.exec();
  ++audit_since_prune_;
}

void SqliteWriter::PruneAuditNowAndThen() {
  if (audit_since_prune_ < kAuditPruneEvery) return;
  audit_since_prune_ = 0;
  SQLite::Statement& s = prune_audit_;
  s.reset();
  s.bind(1, kMaxAuditRecords);
  s.exec();
}

int64_t SqliteWriter::SeriesId(const std::string& agent_id,
                               const std::string& name, std::string labels) {
  SeriesKey key(agent_id, name, std::move(labels));
  if (auto it = series_ids_.find(key); it != series_ids_.end()) {
    return it->second;
  }
  SQLite::Statement& s = upsert_series_;
  s.reset();
  s.bindNoCopy(1, std::get<0>(key));
  s.bindNoCopy(2, std::get<1>(key));
  s.bindNoCopy(3, std::get<2>(key));
  s.executeStep();  // RETURNING yields the id, new or existing.
  int64_t id = s.getColumn(0).getInt64();
  s.reset();
  series_ids_.emplace(std::move(key), id);
  return id;
}

}  // namespace eroom::collector
