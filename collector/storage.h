#ifndef EROOM_COLLECTOR_STORAGE_H_
#define EROOM_COLLECTOR_STORAGE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "collector/log_filter.h"
#include "collector/retention_policy.h"
#include "collector/stored_batch.h"
#include "eroom/monitor/v1/monitor.pb.h"

namespace eroom::collector {

// Everything the collector keeps, behind two sides: a writer that applies
// what ingest decided and a reader that answers queries. SQLite is the
// embedded implementation (collector/sqlite/); another backend is one more
// folder beside it. Nothing above these interfaces depends on how an
// implementation stores things, and no rule of ingest (which events are
// new, which metrics an event yields) lives below them.

// The most audit records storage keeps: like the alert history, the audit
// trail is bounded in size as well as in age (RetentionPolicy::audit).
inline constexpr int64_t kMaxAuditRecords = 1'000'000;

// What one host did in a day [start, end), as the daily report counts it
// (collector/daily_report.h).
struct HostDayActivity {
  std::string agent_id;
  std::string hostname;
  // Rooms whose request (room_requested) came in the day.
  int64_t room_requests = 0;
  // Rooms that ended in the day (their finish time), ordered by ruid.
  std::vector<eroom::monitor::v1::RoomRecord> ended_rooms;
  int64_t error_lines = 0;  // Log events of level ERROR.
  int64_t warn_lines = 0;   // Log events of level WARN.
  // The day's ERROR events by shape (alerting::MessageShape of the
  // message), ordered by shape: how many, and the first line of one of
  // them (the least in byte order).
  struct ErrorShape {
    std::string shape;
    int64_t count = 0;
    std::string example;
    bool operator==(const ErrorShape&) const = default;
  };
  std::vector<ErrorShape> error_shapes;
  int64_t server_starts = 0;  // server_started events.
};

// Threading: one thread, the ingest thread, calls the writer.
class StorageWriter {
 public:
  virtual ~StorageWriter() = default;

  // Records each agent (creating it on first contact) as connected at
  // `now`, updates hostname/version/labels, and returns the highest
  // sequence stored for each (0 if none), in order. One write for all, so
  // that agents reconnecting together cost one commit, not one each. An
  // empty agent_id is InvalidArgument, and then none is recorded.
  virtual absl::StatusOr<std::vector<uint64_t>> RegisterAgents(
      absl::Span<const eroom::monitor::v1::AgentHello* const> hellos,
      absl::Time now) = 0;
  // RegisterAgents for one agent.
  absl::StatusOr<uint64_t> RegisterAgent(
      const eroom::monitor::v1::AgentHello& hello, absl::Time now) {
    const eroom::monitor::v1::AgentHello* const one[] = {&hello};
    absl::StatusOr<std::vector<uint64_t>> last = RegisterAgents(one, now);
    if (!last.ok()) return last.status();
    return last->front();
  }

  // Records the agent as disconnected at `now`. An agent never registered
  // has nothing to record: OK, no effect.
  virtual absl::Status MarkDisconnected(const std::string& agent_id,
                                        absl::Time now) = 0;

  // The highest sequence stored for the agent; 0 if it has none or is
  // unknown.
  virtual absl::StatusOr<uint64_t> LastStoredSequence(
      const std::string& agent_id) = 0;

  // Writes `batch` in one transaction: all of it or, on error, nothing.
  // Every event is inserted as given (ingest removed the ones stored
  // before); a host of `batch.hosts` not registered yet is created,
  // disconnected, first seen at batch.received. Each command progress is
  // appended to its command, whose state becomes the progress's state; the
  // command must exist. Each audit record is appended to the audit trail,
  // which keeps at most kMaxAuditRecords records (the oldest go first). An
  // empty agent_id is InvalidArgument.
  virtual absl::Status Apply(const StoredBatch& batch) = 0;

  // Records a command sent to an agent (command_id, agent_id, command,
  // requested_by, requested_unix_ms and state as given; its progress comes
  // later through Apply). AlreadyExists if command_id is taken;
  // InvalidArgument if command_id or agent_id is empty.
  virtual absl::Status RecordCommand(
      const eroom::monitor::v1::CommandRecord& command) = 0;

  // Removes, in one short transaction, at most `max_rows` rows that
  // `policy` no longer keeps at `now` (a command counts as one row with its
  // progress; a log event leaves the substring search and the daily
  // report's error shapes with it; the newest
  // log event stays until a newer one is stored; a room whose latest event
  // is older than the logs kept goes with them, uncounted), oldest first within
  // each kind, and returns how many of each kind went. Fewer than `max_rows`
  // means nothing more was due. A `max_rows` that is not positive is
  // InvalidArgument.
  virtual absl::StatusOr<RetentionCounts> DeleteExpired(
      const RetentionPolicy& policy, absl::Time now, int64_t max_rows) = 0;

  // A recorded command as RecordCommand was given it (its agent, action
  // and requester), without its progress; NotFound if there is none.
  virtual absl::StatusOr<eroom::monitor::v1::CommandRecord> RecordedCommand(
      const std::string& command_id) = 0;
};

// Asked now and then while a query runs whether it may go on: OK, or the
// status it stops with (CANCELLED, DEADLINE_EXCEEDED), which the query then
// returns. Called from the querying thread, often: it must be cheap. An
// empty check never stops a query.
using QueryCheck = std::function<absl::Status()>;

// The largest QueryLogs response, in bytes of its events: gRPC's default for
// the largest message a client receives, so that every client can take it.
inline constexpr size_t kMaxLogResponseBytes = 4 << 20;

// Where a log event stands in the order log events were stored: each event
// stored has a greater position than every event stored before it, deleted
// ones included, across restarts. 0 is before the first event.
inline constexpr int64_t kLastLogPosition = INT64_MAX;

// Stored log events between two positions, for following the log.
struct LogEventRange {
  int64_t after = 0;                   // Exclusive.
  int64_t through = kLastLogPosition;  // Inclusive.
  int32_t limit = 0;
  // When more than `limit` events match: the newest ones (a backlog)
  // rather than the oldest (paging forward).
  bool newest = false;
};

struct LogEventPage {
  // Oldest stored first.
  std::vector<eroom::monitor::v1::StoredLogEvent> events;
  // Where the next page starts: no matching event stored after it is in
  // `events`, and (unless the range asked for the newest) every matching
  // event stored after the range's `after` and at or before it is.
  int64_t through = 0;
};

// Where a follow that resumes finds the events it still needs.
struct LogResume {
  // At or before the position of every stored event that is either of a
  // listed host with a greater sequence than listed, or of another host
  // received at or after the time given (it may be earlier: the caller
  // skips what it does not need).
  int64_t after = 0;
  int64_t newest = 0;  // The newest position stored.
};

// How many of a host's log events on each side of a match QueryLogs looks
// through for the match's context (events of the same file): a file's
// first or last event costs at most this many reads, not the host's
// history.
inline constexpr int kLogContextReach = 1000;

// Threading: any number of threads may call the reader at once,
// concurrently with the writer; a query sees only committed writes and
// never waits for a write transaction. Limits are the caller's policy
// (collector/query_service.h): a limit that is not positive is
// InvalidArgument.
class StorageReader {
 public:
  virtual ~StorageReader() = default;

  // Every host ordered by agent_id, or only request.agent_id's. `down` is
  // left unset: liveness is the collector's knowledge, not storage's.
  virtual absl::StatusOr<eroom::monitor::v1::ListHostsResponse> ListHosts(
      const eroom::monitor::v1::ListHostsRequest& request) = 0;

  // The newest request.limit log events matching every filter given, newest
  // first by the event's own time (then the newest stored first), as
  // collector/log_filter.h compiles them: an event of any of the hosts
  // (agent_id and agent_ids) and of any of the types (event_type and
  // event_types); since/until bounds are inclusive. `contains` matches a
  // substring of the message literally, ignoring ASCII case (Korean has
  // none); `regex` matches the message partially (RE2), tested on the events
  // the other filters leave, reading on until the page is full. Events stop
  // before their size passes kMaxLogResponseBytes, with `truncated` set.
  //
  // Paging: next_cursor is the position of the page's last match, set when
  // an older event matches (or the page was truncated); before_cursor
  // restricts a query to events strictly after that position in the order,
  // so that paging through events of equal times repeats and skips none.
  //
  // Context: with request.context = N, each match comes with up to N events
  // of its host and file on each side in the host's order (sequence), found
  // among the host's kLogContextReach log events on that side of it, and
  // marked `context`; filters do not apply to them and the limit counts
  // matches only. The page is then in runs (collector/log_page.h): each
  // match with its context, highest sequence first, runs sharing an event
  // joined, each event once (a match rather than context).
  //
  // InvalidArgument (naming the field) for a regex RE2 refuses, a malformed
  // before_cursor, an empty host or type in the lists, a negative context.
  // Stops early when `check` says so, with its status.
  virtual absl::StatusOr<eroom::monitor::v1::QueryLogsResponse> QueryLogs(
      const eroom::monitor::v1::QueryLogsRequest& request,
      const QueryCheck& check) = 0;

  // The events matching every filter of `filter` (as QueryLogs applies
  // them, the regex included; the page position aside) stored in range
  // (after, through], at most range.limit of them, oldest stored first.
  // Events stop before their size passes kMaxLogResponseBytes. `through` of
  // the page is the last event's position when the page stopped at
  // range.limit or at the size, else the range's through or the newest
  // position stored, whichever comes first. Stops early when `check` says
  // so.
  virtual absl::StatusOr<LogEventPage> StoredLogEvents(
      const LogFilter& filter, const LogEventRange& range,
      const QueryCheck& check) = 0;

  // Where a follow resuming after each of `hosts`' sequence, and from
  // `received_unix_ms` for the hosts not listed, starts reading.
  virtual absl::StatusOr<LogResume> FollowResume(
      const std::vector<eroom::monitor::v1::LogPosition>& hosts,
      int64_t received_unix_ms, const QueryCheck& check) = 0;

  // One series per (agent, labels) of metric request.name that has points
  // in [since, until] (0: unbounded), ordered by agent_id, then by labels in
  // an order of the backend's choosing; each holds its newest request.limit
  // points, oldest first. A name nothing was stored under has no series.
  // With request.step_ms, a point per step (its start, a multiple of the
  // step): average, count, min and max of the values in it. Every point is
  // also kept rolled up per minute (count, sum, min, max) for
  // RetentionPolicy::rollups; where the points have expired, their minutes
  // answer instead (without a step, as one point per minute carrying its
  // count, min and max), and a step that is a multiple of a minute is
  // answered from the minutes always, as ChooseMetricSources
  // (collector/metric_rollups.h) decides: the same answer as the points
  // give, for whole minutes.
  virtual absl::StatusOr<eroom::monitor::v1::QueryMetricsResponse> QueryMetrics(
      const eroom::monitor::v1::QueryMetricsRequest& request) = 0;

  // The command with all its progress, oldest first; NotFound if unknown.
  virtual absl::StatusOr<eroom::monitor::v1::CommandRecord> GetCommand(
      const std::string& command_id) = 0;

  // The newest request.limit commands (of request.agent_id's, if given),
  // newest first by request time (then the newest recorded first), each
  // with its progress.
  virtual absl::StatusOr<eroom::monitor::v1::ListCommandsResponse> ListCommands(
      const eroom::monitor::v1::ListCommandsRequest& request) = 0;

  // Commands whose state is not final (not SUCCEEDED, FAILED or REJECTED),
  // oldest first, without their progress.
  virtual absl::StatusOr<std::vector<eroom::monitor::v1::CommandRecord>>
  UnfinishedCommands() = 0;

  // The newest request.limit audit records (of request.agent_id's, if
  // given; at or after request.since_unix_ms, if not 0), newest first by
  // time (then the newest stored first).
  virtual absl::StatusOr<eroom::monitor::v1::ListAuditResponse> ListAudit(
      const eroom::monitor::v1::ListAuditRequest& request) = 0;

  // For each file the agent's stored log events name, the one stored last
  // (highest sequence), ordered by file; none for an unknown agent. What an
  // agent that lost its spool resumes its logs from.
  virtual absl::StatusOr<std::vector<eroom::monitor::v1::LogResumePoint>>
  LogResumePoints(const std::string& agent_id) = 0;

  // Rooms: each (agent, ruid) built by collector/room_timeline.h from the
  // lifecycle and server start events stored, in the order stored.

  // The rooms RoomMatches (until 0: `now`), slowness decided at `now`, in
  // NewerRoomFirst order, at most request.limit.
  virtual absl::StatusOr<eroom::monitor::v1::ListRoomsResponse> ListRooms(
      const eroom::monitor::v1::ListRoomsRequest& request, absl::Time now) = 0;

  // The room request.ruid of request.agent_id's (empty: the host whose
  // events of it are the newest), slowness decided at `now`, with the log
  // events naming its ruid, oldest first (then first stored first): at
  // most `event_limit`, stopping before their size passes
  // kMaxLogResponseBytes. A ruid no lifecycle event names is a room with
  // only its agent_id and ruid set. NotFound if no log event of the host
  // names the ruid.
  virtual absl::StatusOr<eroom::monitor::v1::GetRoomResponse> GetRoom(
      const eroom::monitor::v1::GetRoomRequest& request, int32_t event_limit,
      absl::Time now) = 0;

  // What each host (of `agent_ids`; empty: every host) did in [start,
  // end), for the hosts that did anything then or were seen then (first
  // seen before `end`, last seen at or after `start`), ordered by agent_id.
  virtual absl::StatusOr<std::vector<HostDayActivity>> DayActivity(
      const std::vector<std::string>& agent_ids, absl::Time start,
      absl::Time end) = 0;
};

// GetRoom's NotFound.
inline absl::Status UnknownRoom(
    const eroom::monitor::v1::GetRoomRequest& request) {
  return absl::NotFoundError(
      absl::StrCat("no log event names room '", request.ruid(), "'",
                   request.agent_id().empty()
                       ? ""
                       : absl::StrCat(" on host '", request.agent_id(), "'")));
}

// An opened backend: both sides over the same data. Opening one marks every
// host disconnected, since no agent stream survives a collector restart.
class Storage : public StorageWriter, public StorageReader {};

}  // namespace eroom::collector

#endif  // EROOM_COLLECTOR_STORAGE_H_
