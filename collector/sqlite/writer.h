#ifndef EROOM_COLLECTOR_SQLITE_WRITER_H_
#define EROOM_COLLECTOR_SQLITE_WRITER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "SQLiteCpp/Database.h"
#include "SQLiteCpp/Statement.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "collector/retention_policy.h"
#include "collector/stored_batch.h"
#include "eroom/monitor/v1/monitor.pb.h"

namespace eroom::collector {

// Sets up `db` as the connection the ingest thread writes through: WAL
// journaling, a sync at every commit, foreign keys.
absl::Status ConfigureWriteConnection(SQLite::Database& db);

// A connection that writes to the collector's database file at `path`
// (whose directory exists): the file created if need be and readable by
// its owner only, configured as above and migrated to the current schema.
absl::StatusOr<SQLite::Database> OpenWriteConnection(const std::string& path);

// A log event removed by retention, for the search index to forget.
struct RemovedLogEvent {
  int64_t id = 0;
};

struct ExpiredRows {
  RetentionCounts counts;
  std::vector<RemovedLogEvent> log_events;
};

// The write connection with the statements the ingest thread reuses; the
// SQLite side of StorageWriter (collector/storage.h), whose contracts its
// methods follow. Every method throws SQLite::Exception; after one did,
// call RecoverFromFailure. One thread at a time.
class SqliteWriter {
 public:
  // `db` is configured (ConfigureWriteConnection) with a current schema;
  // the writer turns its foreign key checks off and keeps the references
  // itself.
  explicit SqliteWriter(SQLite::Database db);
  SqliteWriter(const SqliteWriter&) = delete;
  SqliteWriter& operator=(const SqliteWriter&) = delete;

  uint64_t RegisterAgent(const eroom::monitor::v1::AgentHello& hello,
                         int64_t now_ms);
  void MarkDisconnected(const std::string& agent_id, int64_t now_ms);
  uint64_t LastStoredSequence(const std::string& agent_id);
  // Writes `batch` in one IMMEDIATE transaction; returns how many log events
  // it inserted.
  int64_t Apply(const StoredBatch& batch);
  void RecordCommand(const eroom::monitor::v1::CommandRecord& command);
  std::optional<eroom::monitor::v1::CommandRecord> RecordedCommand(
      const std::string& command_id);

  // StorageWriter::DeleteExpired, in one IMMEDIATE transaction, also
  // returning the log events removed.
  ExpiredRows DeleteExpired(const RetentionPolicy& policy, int64_t now_ms,
                            int64_t max_rows);

  // Builds, in one transaction, the derived tables a schema migration left
  // to build from the events already stored (pending_backfills).
  void FinishPendingBackfills();

  // Makes the writer usable again after a statement failed and its
  // transaction rolled back.
  void RecoverFromFailure();

 private:
  using SeriesKey = std::tuple<std::string, std::string, std::string>;

  void SaveProgress(const HostProgress& host);
  void InsertEvent(const std::string& agent_id,
                   const eroom::monitor::v1::Event& event, int64_t received_ms);
  // Queues the event for InsertPendingLogs, which runs once
  // kLogRowsPerInsert are queued, and stores what depends on it.
  void InsertLog(const std::string& agent_id, uint64_t sequence,
                 const eroom::monitor::v1::LogEvent& log, int64_t received_ms);
  struct PendingLog {
    int64_t id = 0;
    const std::string* agent_id = nullptr;
    uint64_t sequence = 0;
    int64_t source = 0;  // Its file, logger and thread in log_sources.
    const eroom::monitor::v1::LogEvent* log = nullptr;
    int64_t received_ms = 0;
    std::string fields;  // JSON, bound without a copy.
  };
  // The log_sources row of the event's file, logger and thread, added if
  // need be, and known to reach past the event's time.
  int64_t LogSource(const eroom::monitor::v1::LogEvent& log);
  // Inserts the queued log events, which refer to the batch being applied.
  void InsertPendingLogs();
  // Runs `s`, an InsertLogsSql statement of logs.size() rows.
  void InsertLogs(SQLite::Statement& s, absl::Span<const PendingLog> logs);
  // Widens the span of the event's room on its host to its time, in the
  // transaction's pending spans.
  void SpanRoom(const std::string& agent_id,
                const eroom::monitor::v1::LogEvent& log);
  // Widens the stored spans to the pending ones.
  void UpsertRoomSpans();
  // Adds a lifecycle event to its room, or ends the host's open rooms at a
  // server start (collector/room_timeline.h).
  void UpdateRooms(const std::string& agent_id,
                   const eroom::monitor::v1::LogEvent& log);
  void InsertProbe(const std::string& agent_id, uint64_t sequence,
                   const eroom::monitor::v1::ProbeResult& probe);
  void InsertNotice(const std::string& agent_id, uint64_t sequence,
                    const eroom::monitor::v1::AgentNotice& notice);
  void InsertMetrics(const DerivedMetrics& metrics);
  // Adds the points InsertMetrics kept since the last call to their
  // minutes' rollups.
  void UpsertRollups();
  void InsertCommandProgress(const eroom::monitor::v1::CommandProgress& step);
  void InsertAudit(const eroom::monitor::v1::AuditRecord& record);
  // Drops the audit records beyond kMaxAuditRecords, once enough were
  // written since the last time (age is DeleteExpired's business).
  void PruneAuditNowAndThen();
  // Each removes at most `max_rows` rows older than `before_ms` and
  // returns how many it removed.
  int64_t DeleteExpiredLogs(int64_t before_ms, int64_t max_rows,
                            std::vector<RemovedLogEvent>& removed);
  // Rooms whose latest event is before `before_ms`, at most `max_rows`.
  void DeleteExpiredRooms(int64_t before_ms, int64_t max_rows);
  // Room spans older than every log event left, at most `max_rows`.
  void DeleteExpiredRoomSpans(int64_t max_rows);
  // Log sources whose events are all gone, at most `max_rows`.
  void DeleteExpiredLogSources(int64_t max_rows);
  int64_t DeleteExpiredSamples(int64_t before_ms, int64_t max_rows);
  int64_t DeleteExpiredRollups(int64_t before_ms, int64_t max_rows);
  int64_t DeleteExpiredProbes(int64_t before_ms, int64_t max_rows);
  int64_t DeleteExpiredNotices(int64_t before_ms, int64_t max_rows);
  int64_t DeleteExpiredCommands(int64_t before_ms, int64_t max_rows);
  int64_t DeleteExpiredAudit(int64_t before_ms, int64_t max_rows);
  // Runs `remove_sql` (?1 a key, ?2 before_ms, ?3 the rows still to go)
  // for each key `keys_sql` lists until `max_rows` are gone; how many were.
  int64_t DeleteOldestPerKey(const char* keys_sql, const char* remove_sql,
                             int64_t before_ms, int64_t max_rows);
  int64_t SeriesId(const std::string& agent_id, const std::string& name,
                   std::string labels);

  SQLite::Database db_;
  SQLite::Statement upsert_host_;
  SQLite::Statement disconnect_host_;
  SQLite::Statement find_host_sequence_;
  SQLite::Statement save_progress_;
  SQLite::Statement find_last_log_id_;
  // Log events are inserted kLogRowsPerInsert to a statement: one row per
  // statement spent more on starting and ending the statement and on
  // seeking each index from its root than on the row (callgrind, 100,000
  // events: 34,351 instructions per event on the ingest thread, 21,542
  // with 32 rows; 128 rows saved no more). The writer numbers the events
  // itself, the ids SQLite would have chosen, so that it knows each one's
  // before its statement runs.
  static constexpr size_t kLogRowsPerInsert = 32;
  SQLite::Statement insert_log_;
  SQLite::Statement insert_logs_;
  SQLite::Statement upsert_log_source_;
  SQLite::Statement extend_log_source_;
  // log_sources rows looked up or added, by the key LogSource builds of
  // file, logger and thread. A source's until_ms is raised this far past an
  // event's time, so that a busy source is written once an hour, not with
  // each event.
  struct KnownLogSource {
    int64_t source = 0;
    int64_t until_ms = 0;
  };
  absl::flat_hash_map<std::string, KnownLogSource> log_sources_;
  std::string log_source_key_;  // Reused to look each event's source up.
  static constexpr int64_t kLogSourceReachMs = 60 * 60 * 1000;
  // Forgotten beyond this many: a host whose thread names keep changing
  // must not grow the writer without end.
  static constexpr size_t kMaxKnownLogSources = 4096;
  std::vector<PendingLog> pending_logs_;
  // Of the next log event Apply inserts; 0 until read from the database.
  // Only this writer adds log events, so it is read once, not per batch.
  int64_t next_log_id_ = 0;
  // The ERROR event numbered `id`, in error_lines.
  void InsertErrorLine(int64_t id, const std::string& agent_id,
                       const eroom::monitor::v1::LogEvent& log);
  SQLite::Statement insert_error_line_;
  SQLite::Statement find_room_;
  SQLite::Statement find_open_rooms_;
  SQLite::Statement save_room_;
  SQLite::Statement upsert_room_span_;
  // The spans of the rooms whose events the transaction under way stores,
  // by (agent, ruid). Keys and names are the batch's strings, alive until
  // Apply returns.
  struct RoomSpan {
    const std::string* agent_id = nullptr;
    const std::string* ruid = nullptr;
    int64_t first_ms = 0;
    int64_t last_ms = 0;
  };
  absl::flat_hash_map<std::pair<absl::string_view, absl::string_view>, RoomSpan>
      pending_room_spans_;
  SQLite::Statement insert_probe_;
  SQLite::Statement insert_notice_;
  SQLite::Statement upsert_series_;
  SQLite::Statement insert_point_;
  SQLite::Statement upsert_rollup_;
  SQLite::Statement insert_command_;
  SQLite::Statement find_command_;
  SQLite::Statement insert_command_progress_;
  SQLite::Statement update_command_state_;
  SQLite::Statement insert_audit_;
  SQLite::Statement prune_audit_;
  // Audit records written since the last pruning; the first Apply prunes.
  int64_t audit_since_prune_ = kAuditPruneEvery;
  static constexpr int64_t kAuditPruneEvery = 1000;
  // The points of the transaction under way, by (series id, minute).
  struct Rollup {
    int64_t samples = 0;
    double total = 0;
    double low = 0;
    double high = 0;
  };
  absl::flat_hash_map<std::pair<int64_t, int64_t>, Rollup> pending_rollups_;
  // Series ids already looked up or created, by (agent, name, labels).
  absl::flat_hash_map<SeriesKey, int64_t> series_ids_;
};

}  // namespace eroom::collector

#endif  // EROOM_COLLECTOR_SQLITE_WRITER_H_
