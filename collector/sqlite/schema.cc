#include "collector/sqlite/schema.h"

#include <sqlite3.h>

#include <iterator>
#include <string>

#include "SQLiteCpp/Transaction.h"
#include "absl/strings/str_cat.h"

namespace eroom::collector {
namespace {

// Append-only: a released step never changes, later changes are new steps.
// Times are Unix epoch milliseconds; serialized protos are wire-format
// blobs of the named message.
constexpr SchemaMigration kMigrations[] = {
    {1, R"sql(
CREATE TABLE hosts (
  agent_id TEXT PRIMARY KEY NOT NULL,
  hostname TEXT NOT NULL DEFAULT '',
  version TEXT NOT NULL DEFAULT '',
  labels TEXT NOT NULL DEFAULT '{}',  -- JSON object
  connected INTEGER NOT NULL DEFAULT 0,
  first_seen_ms INTEGER NOT NULL,
  last_seen_ms INTEGER NOT NULL,
  last_sequence INTEGER NOT NULL DEFAULT 0,
  latest_sample BLOB,  -- ResourceSample
  latest_health BLOB,  -- ProbeResult
  latest_queue BLOB    -- ProbeResult
);

CREATE TABLE log_events (
  id INTEGER PRIMARY KEY,
  agent_id TEXT NOT NULL REFERENCES hosts(agent_id),
  sequence INTEGER NOT NULL,
  time_ms INTEGER NOT NULL,
  received_ms INTEGER NOT NULL,
  file TEXT NOT NULL,
  file_offset INTEGER NOT NULL,
  level INTEGER NOT NULL,  -- LogLevel enum value
  logger TEXT NOT NULL,
  thread TEXT NOT NULL,
  message TEXT NOT NULL,
  event_type TEXT NOT NULL,
  fields TEXT NOT NULL,  -- JSON object of strings
  ruid TEXT NOT NULL,
  truncated INTEGER NOT NULL,
  has_header INTEGER NOT NULL,
  UNIQUE (agent_id, sequence)
);
-- Every log query reads newest first; each index serves one filter. Most
-- events have no type or room, so those two leave them out (a query uses
-- them only when its WHERE repeats the index's condition).
CREATE INDEX log_events_by_time ON log_events (time_ms);
CREATE INDEX log_events_by_agent ON log_events (agent_id, time_ms);
CREATE INDEX log_events_by_type ON log_events (event_type, time_ms)
  WHERE event_type <> '';
CREATE INDEX log_events_by_ruid ON log_events (ruid, time_ms)
  WHERE ruid <> '';

CREATE TABLE probes (
  id INTEGER PRIMARY KEY,
  agent_id TEXT NOT NULL REFERENCES hosts(agent_id),
  sequence INTEGER NOT NULL,
  time_ms INTEGER NOT NULL,
  target INTEGER NOT NULL,  -- ProbeTarget enum value
  ok INTEGER NOT NULL,
  http_status INTEGER NOT NULL,
  latency_ms REAL NOT NULL,
  error TEXT NOT NULL,
  health_status TEXT NOT NULL,
  -- NULL when the response carried no queue numbers.
  queued INTEGER,
  active INTEGER,
  completed INTEGER,
  max_concurrent INTEGER,
  UNIQUE (agent_id, sequence)
);
CREATE INDEX probes_by_agent ON probes (agent_id, time_ms);

-- One row per (agent, metric name, labels); points refer to it so that the
-- names and labels are not repeated for every point.
CREATE TABLE metric_series (
  id INTEGER PRIMARY KEY,
  agent_id TEXT NOT NULL REFERENCES hosts(agent_id),
  name TEXT NOT NULL,
  labels TEXT NOT NULL,  -- canonical JSON object: keys sorted, compact
  UNIQUE (name, agent_id, labels)
);
CREATE TABLE metric_points (
  series_id INTEGER NOT NULL REFERENCES metric_series(id),
  time_ms INTEGER NOT NULL,
  sequence INTEGER NOT NULL,  -- of the event the point came from
  value REAL NOT NULL,
  PRIMARY KEY (series_id, time_ms, sequence)
) WITHOUT ROWID;

CREATE TABLE agent_notices (
  id INTEGER PRIMARY KEY,
  agent_id TEXT NOT NULL REFERENCES hosts(agent_id),
  sequence INTEGER NOT NULL,
  time_ms INTEGER NOT NULL,
  kind TEXT NOT NULL,
  message TEXT NOT NULL,
  count INTEGER NOT NULL,
  UNIQUE (agent_id, sequence)
);
)sql"},
    // Substring search over log messages. The trigram tokenizer indexes
    // every three characters (code points, so Korean works, case-folded),
    // and FTS5 answers `message LIKE '%...%'` on this table by looking up the
    // pattern's trigrams and then testing the candidates' text. detail=none
    // keeps only which rows hold a trigram, not where: half the size and
    // twice the indexing speed of full detail, at the price of phrase MATCH,
    // which LIKE replaces. The index reads its text from log_events
    // (external content). The writer indexes each row it inserts, in the
    // same transaction: an AFTER INSERT trigger would too, but FTS5 flushes
    // its pending index at every statement that runs a trigger, which made
    // ingest seven times slower. The triggers keep the index in step with
    // deletes and updates.
    {2, R"sql(
CREATE VIRTUAL TABLE log_messages USING fts5 (
  message, content = 'log_events', content_rowid = 'id',
  tokenize = 'trigram', detail = none, columnsize = 0
);
-- Merge index segments in larger, rarer steps than the defaults (4 and 16):
-- a third more ingest throughput, no measurable cost to queries.
INSERT INTO log_messages (log_messages, rank) VALUES ('automerge', 16);
INSERT INTO log_messages (log_messages, rank) VALUES ('crisismerge', 64);
CREATE TRIGGER log_events_index_delete AFTER DELETE ON log_events BEGIN
  INSERT INTO log_messages (log_messages, rowid, message)
    VALUES ('delete', old.id, old.message);
END;
CREATE TRIGGER log_events_index_update AFTER UPDATE OF message ON log_events
BEGIN
  INSERT INTO log_messages (log_messages, rowid, message)
    VALUES ('delete', old.id, old.message);
  INSERT INTO log_messages (rowid, message) VALUES (new.id, new.message);
END;
INSERT INTO log_messages (log_messages) VALUES ('rebuild');
)sql"},
    // The message index moves to a file of its own
    // (collector/sqlite/search_index.h) so that building it no longer holds
    // this database's write lock. The index file records which database it was
    // built from by this id.
    {3, R"sql(
DROP TRIGGER log_events_index_delete;
DROP TRIGGER log_events_index_update;
DROP TABLE log_messages;
CREATE TABLE store_identity (id TEXT NOT NULL);
INSERT INTO store_identity VALUES (lower(hex(randomblob(16))));
)sql"},
    // Commands sent to agents and the progress the agents report. A
    // command's state is its latest progress's, kept in its row so that
    // listings need not read every progress.
    {4, R"sql(
CREATE TABLE commands (
  command_id TEXT PRIMARY KEY NOT NULL,
  agent_id TEXT NOT NULL,
  command BLOB NOT NULL,  -- Command
  requested_by TEXT NOT NULL,
  requested_ms INTEGER NOT NULL,
  state INTEGER NOT NULL  -- CommandState enum value
);
CREATE INDEX commands_by_time ON commands (requested_ms);
CREATE INDEX commands_by_agent ON commands (agent_id, requested_ms);
CREATE TABLE command_progress (
  id INTEGER PRIMARY KEY,
  command_id TEXT NOT NULL REFERENCES commands(command_id),
  state INTEGER NOT NULL,  -- CommandState enum value
  message TEXT NOT NULL,
  time_ms INTEGER NOT NULL,
  step TEXT NOT NULL
);
CREATE INDEX command_progress_by_command ON command_progress (command_id, id);
)sql"},
    // Alerts (collector/alerting/alert_store.h): each alert's latest state,
    // one history row per change, the silences, and one row per delivery
    // attempt of a notification. Enum columns hold the C++ enum's value
    // (AlertState, Severity, AlertEvent::Kind); NULL times are "never".
    // AUTOINCREMENT: ids operators typed are never reused after pruning.
    {5, R"sql(
CREATE TABLE alerts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  rule TEXT NOT NULL,
  agent_id TEXT NOT NULL,
  group_key TEXT NOT NULL,
  state INTEGER NOT NULL,
  severity INTEGER NOT NULL,
  labels TEXT NOT NULL,  -- JSON object of strings
  summary TEXT NOT NULL,
  value REAL NOT NULL,
  count INTEGER NOT NULL,
  pending_since_ms INTEGER,
  firing_since_ms INTEGER,
  resolved_ms INTEGER,
  last_evaluated_ms INTEGER,
  acknowledged_by TEXT NOT NULL DEFAULT '',
  ack_comment TEXT NOT NULL DEFAULT '',
  acknowledged_ms INTEGER
);
-- Pending and firing alerts: what a restart resumes, one per key.
CREATE UNIQUE INDEX alerts_active ON alerts (rule, agent_id, group_key)
  WHERE state <> 2;
CREATE INDEX alerts_by_resolved ON alerts (resolved_ms) WHERE state = 2;
CREATE TABLE alert_history (
  id INTEGER PRIMARY KEY,
  alert_id INTEGER NOT NULL REFERENCES alerts(id),
  kind INTEGER NOT NULL,
  time_ms INTEGER NOT NULL,
  summary TEXT NOT NULL,
  value REAL NOT NULL,
  count INTEGER NOT NULL,
  inhibited INTEGER NOT NULL
);
CREATE INDEX alert_history_by_time ON alert_history (time_ms);
CREATE INDEX alert_history_by_alert ON alert_history (alert_id);
CREATE TABLE silences (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  matchers TEXT NOT NULL,  -- JSON array of {label, op, value}
  comment TEXT NOT NULL,
  created_by TEXT NOT NULL,
  starts_ms INTEGER NOT NULL,
  ends_ms INTEGER NOT NULL,
  expired_by TEXT NOT NULL DEFAULT ''
);
CREATE INDEX silences_by_end ON silences (ends_ms);
CREATE TABLE alert_deliveries (
  id INTEGER PRIMARY KEY,
  alert_id INTEGER NOT NULL REFERENCES alerts(id),
  receiver TEXT NOT NULL,
  kind INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  time_ms INTEGER NOT NULL,
  ok INTEGER NOT NULL,
  error TEXT NOT NULL
);
CREATE INDEX alert_deliveries_by_alert ON alert_deliveries (alert_id, time_ms);
CREATE INDEX alert_deliveries_by_time ON alert_deliveries (time_ms);
)sql"},
    // The audit trail of commands: every request (refused ones too) and
    // every step stored, as text meant for people (AuditRecord).
    {6, R"sql(
CREATE TABLE command_audit (
  id INTEGER PRIMARY KEY,
  time_ms INTEGER NOT NULL,
  actor TEXT NOT NULL,
  agent_id TEXT NOT NULL,
  action TEXT NOT NULL,
  parameters TEXT NOT NULL,
  result TEXT NOT NULL,
  command_id TEXT NOT NULL
);
CREATE INDEX command_audit_by_time ON command_audit (time_ms);
CREATE INDEX command_audit_by_agent ON command_audit (agent_id, time_ms);
)sql"},
    // One-minute rollups of metric points (samples, total, low, high per
    // series and minute), kept longer than the points themselves
    // (RetentionPolicy::rollups). The writer adds the points of each
    // transaction to their minutes in that transaction, one upsert per series
    // and minute it touched, so rollups are never behind the points; a
    // trigger upserting per point made metric ingest three times slower.
    // Retention removes points without touching them. Points stored before
    // this step are rolled up once here.
    {7, R"sql(
CREATE TABLE metric_rollups (
  series_id INTEGER NOT NULL REFERENCES metric_series(id),
  minute_ms INTEGER NOT NULL,  -- start of the minute
  samples INTEGER NOT NULL,
  total REAL NOT NULL,  -- sum of the values
  low REAL NOT NULL,
  high REAL NOT NULL,
  PRIMARY KEY (series_id, minute_ms)
) WITHOUT ROWID;
INSERT INTO metric_rollups (series_id, minute_ms, samples, total, low, high)
  SELECT series_id, time_ms - (time_ms % 60000 + 60000) % 60000, count(*),
         sum(value), min(value), max(value)
  FROM metric_points GROUP BY 1, 2;
)sql"},
    // Rooms (collector/room_timeline.h), kept by the writer in the
    // transaction that stores their events so that listing them and the
    // daily report read a few rows rather than a day of log events.
    // latest_ms is the time of the room's latest event (ListRooms' order).
    // The rooms of the events already stored are built by the writer when
    // it opens (SqliteWriter::FinishPendingBackfills): pending_backfills
    // names the derived tables still to be built, in the step's transaction,
    // so that a collector stopped before the backfill finished does it at
    // its next start. The level index answers the report's ERROR and WARN
    // counts from the index alone. error_lines holds each ERROR event's
    // shape (alerting::MessageShape) and first line, by the event's id: the
    // report's top errors read this narrow table, not the messages.
    {8, R"sql(
CREATE TABLE rooms (
  agent_id TEXT NOT NULL,
  ruid TEXT NOT NULL,
  requested_ms INTEGER NOT NULL,  -- 0: not seen
  dequeued_ms INTEGER NOT NULL,
  started_ms INTEGER NOT NULL,
  finished_ms INTEGER NOT NULL,
  queue_wait_ms INTEGER NOT NULL,  -- -1: unknown
  processing_ms INTEGER NOT NULL,
  theme TEXT NOT NULL,
  status INTEGER NOT NULL,  -- RoomStatus enum value
  outcome TEXT NOT NULL,
  latest_ms INTEGER NOT NULL,
  PRIMARY KEY (agent_id, ruid)
);
CREATE INDEX rooms_by_latest ON rooms (latest_ms);
CREATE INDEX rooms_by_ruid ON rooms (ruid);
CREATE INDEX rooms_by_requested ON rooms (requested_ms) WHERE requested_ms > 0;
CREATE INDEX rooms_by_finished ON rooms (finished_ms) WHERE finished_ms > 0;
CREATE INDEX log_events_by_level ON log_events (level, time_ms, agent_id)
  WHERE level >= 4;
CREATE TABLE error_lines (
  id INTEGER PRIMARY KEY,  -- the log event's
  agent_id TEXT NOT NULL,
  time_ms INTEGER NOT NULL,
  shape TEXT NOT NULL,
  first_line TEXT NOT NULL
);
CREATE INDEX error_lines_by_time ON error_lines (time_ms);
CREATE TABLE pending_backfills (name TEXT PRIMARY KEY NOT NULL);
INSERT INTO pending_backfills VALUES ('rooms');
)sql"},
    // Where each room's events lie: for each host, the times of the
    // earliest and the latest event naming the room. A room filter reads
    // the host's events of that span by the index by host and time, instead
    // of an index of log_events by ruid: nearly every event of a room's
    // processing names it, and keeping that index took a quarter of the
    // ingest thread's work (4,700 of 20,200 instructions an event). The writer
    // widens the spans in the transaction that stores the events, once per room
    // and transaction. Retention removes a span once every event of it is
    // gone.
    {9, R"sql(
CREATE TABLE room_spans (
  ruid TEXT NOT NULL,
  agent_id TEXT NOT NULL,
  first_ms INTEGER NOT NULL,
  last_ms INTEGER NOT NULL,
  PRIMARY KEY (ruid, agent_id)
) WITHOUT ROWID;
CREATE INDEX room_spans_by_last ON room_spans (last_ms);
INSERT INTO room_spans (ruid, agent_id, first_ms, last_ms)
  SELECT ruid, agent_id, min(time_ms), max(time_ms) FROM log_events
  WHERE ruid <> '' GROUP BY ruid, agent_id;
DROP INDEX log_events_by_ruid;
)sql"},
    // A log event names its file, logger and thread through log_sources,
    // where each distinct three is stored once: they were about 40 % of a
    // row (80 of 205 bytes on a generated log), and a narrower row is less
    // to write, to copy back at each checkpoint and to keep. until_ms bounds
    // the times of the source's events from above (the writer raises it an
    // hour ahead at a time, not at every event), so that retention removes a
    // source once every event left is later. log_events is rebuilt in the
    // order SQLite's documentation gives for changing a table; its ids, which
    // the search index refers to, are kept.
    {10, R"sql(
CREATE TABLE log_sources (
  source INTEGER PRIMARY KEY,
  file TEXT NOT NULL,
  logger TEXT NOT NULL,
  thread TEXT NOT NULL,
  until_ms INTEGER NOT NULL,
  UNIQUE (file, logger, thread)
);
CREATE INDEX log_sources_by_until ON log_sources (until_ms);
INSERT INTO log_sources (file, logger, thread, until_ms)
  SELECT file, logger, thread, max(time_ms) FROM log_events
  GROUP BY file, logger, thread;
CREATE TABLE log_events_with_sources (
  id INTEGER PRIMARY KEY,
  agent_id TEXT NOT NULL REFERENCES hosts(agent_id),
  sequence INTEGER NOT NULL,
  time_ms INTEGER NOT NULL,
  received_ms INTEGER NOT NULL,
  source INTEGER NOT NULL REFERENCES log_sources(source),
  file_offset INTEGER NOT NULL,
  level INTEGER NOT NULL,  -- LogLevel enum value
  message TEXT NOT NULL,
  event_type TEXT NOT NULL,
  fields TEXT NOT NULL,  -- JSON object of strings
  ruid TEXT NOT NULL,
  truncated INTEGER NOT NULL,
  has_header INTEGER NOT NULL,
  UNIQUE (agent_id, sequence)
);
INSERT INTO log_events_with_sources
  SELECT id, agent_id, sequence, time_ms, received_ms, source, file_offset,
    level, message, event_type, fields, ruid, truncated, has_header
  FROM log_events JOIN log_sources USING (file, logger, thread)
  ORDER BY id;
DROP TABLE log_events;
ALTER TABLE log_events_with_sources RENAME TO log_events;
CREATE INDEX log_events_by_time ON log_events (time_ms);
CREATE INDEX log_events_by_agent ON log_events (agent_id, time_ms);
CREATE INDEX log_events_by_type ON log_events (event_type, time_ms)
  WHERE event_type <> '';
CREATE INDEX log_events_by_level ON log_events (level, time_ms, agent_id)
  WHERE level >= 4;
)sql"},
};

static_assert(std::size(kMigrations) == kSchemaVersion,
              "one migration step per schema version");

}  // namespace

const SchemaHistory& CollectorSchema() {
  static const SchemaHistory history{kDatabaseKind, kMigrations};
  return history;
}

}  // namespace eroom::collector
