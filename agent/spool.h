#ifndef EROOM_AGENT_SPOOL_H_
#define EROOM_AGENT_SPOOL_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "SQLiteCpp/Database.h"
#include "SQLiteCpp/Statement.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "agent/command_journal.h"
#include "agent/disk_reserve.h"
#include "agent/log_checkpoint_store.h"
#include "eroom/monitor/v1/monitor.pb.h"

namespace eroom::agent {

struct SpoolOptions {
  std::string path;  // SQLite file; its directory is created if missing.
  // What the spooled events may take (serialized). Log events beyond it are
  // refused (reading pauses: the log file is the buffer); samples and probe
  // results evict the oldest samples and probe results instead.
  uint64_t max_spool_bytes = 256ull << 20;
  // Held beside the database while there is room, given back when its file
  // system fills up (see DiskReserve). Covers deleting delivered events and
  // one checkpoint of SQLite's write-ahead log (about 4 MB by default).
  uint64_t disk_reserve_bytes = 4ull << 20;
};

// The disk reserve (SpoolOptions::disk_reserve_bytes) of the spool at
// `spool_path`, a file beside it. It outlives the spool, for the next agent
// to take over.
std::string SpoolReservePath(const std::string& spool_path);

// Where log reading resumes after the spool was replaced
// (agent/log_resume.h).
struct LogResumePlan {
  // Every file, with the offset reading resumes at.
  std::vector<FileCheckpoint> checkpoints;
  // Of those, the files whose offset is the start of an event the
  // collector stored already: read again, that event is left out.
  std::vector<FileCheckpoint> stored_event_starts;
};

// The agent's durable state in one SQLite database (WAL): the spool of
// events not yet acknowledged by the collector, numbered with the agent's
// sequence, and the log checkpoints. An event counts as accepted once it is
// here. Log events commit in the same transaction as the checkpoints that
// follow them.
//
// A full file system is survived, not fatal: the store gives its disk
// reserve back so that delivered events can still be deleted, refuses log
// events and drops samples and probe results (counted) until there is room
// again, in the file system or inside the database (space that deleted
// events left).
//
// A damaged database is moved aside and replaced by a new one, which then
// knows neither where the logs were read to nor the sequence numbering:
// until the collector said what it has (ResumeLogs, FollowCollectorSequence)
// the spool says so, durably, so that neither is guessed.
//
// Thread-safe: the tail, sampler and prober threads and the uplink (its
// drop reports) write, the uplink reads and deletes.
class Spool final : public LogCheckpointStore, public CommandJournal {
 public:
  struct Stats {
    uint64_t events = 0;
    uint64_t bytes = 0;
    uint64_t last_sequence = 0;
    // Events dropped since Open: samples and probe results evicted to stay
    // under the cap, events refused when nothing could be evicted, and
    // events a failing database refused.
    uint64_t dropped = 0;
  };

  // A commit's log events are spooled up to this many to a row, and as
  // many as fit in a page (spool.cc).
  static constexpr int64_t kMaxEventsPerRow = 256;
  // Log sources (a file, logger and thread) the spool numbers before it
  // starts afresh, so that a host whose thread names keep changing does not
  // grow them without end. Those it no longer uses are forgotten once their
  // events are acknowledged.
  static constexpr size_t kMaxLogSources = 4096;

  static absl::StatusOr<std::unique_ptr<Spool>> Open(
      const SpoolOptions& options);

  // LogCheckpointStore. Commit leaves out the events ResumeLogs named as
  // stored already, and spools each event's file, logger and thread as a
  // log source (Event.log_source) that it numbers: it takes them out of
  // `events`.
  absl::StatusOr<SavedLogState> Load() override;
  absl::Status Commit(absl::Span<eroom::monitor::v1::LogEvent> events,
                      const std::vector<FileCheckpoint>& checkpoints) override
      ABSL_LOCKS_EXCLUDED(sources_mu_);

  // CommandJournal.
  absl::Status SaveCommandState(const eroom::monitor::v1::CommandProgress& last,
                                size_t keep) override;
  absl::StatusOr<std::vector<eroom::monitor::v1::CommandProgress>>
  LoadCommandStates() override;

  // Spools samples, probe results and notices, numbering them: the door
  // for every producer but the log tailer (which commits). When the spool
  // is full the oldest samples and probe results are evicted to make room,
  // or the new events dropped if that is not enough. Notices are always
  // kept (they report the drops). Fails only if the database fails (the
  // first failure of a streak is logged here); the events are dropped then.
  // Every drop is counted in Stats::dropped, for the uplink to report.
  absl::Status Append(std::vector<eroom::monitor::v1::Event> events);

  // Appends to `batch`, in the wire format of an EventBatch, the spooled
  // events with sequence > `after`, in order: up to `max_events` of them,
  // as many as fit in `max_bytes` of payload (one at least), and the log
  // sources they refer to (EventBatch.log_sources). The events of
  // one commit are read together where they fit, so that acknowledgements
  // fall between rows. Returns the last one's sequence, `after` if none.
  // Events handed out are no longer evicted to make room: they may be
  // stored at the collector already. Events no longer as they were spooled
  // (damage on disk) are logged and left out, their sequences a gap.
  absl::StatusOr<uint64_t> ReadAfter(uint64_t after, size_t max_events,
                                     size_t max_bytes, std::string& batch);

  // Forgets every event up to `sequence` (acknowledged by the collector).
  absl::Status DeleteThrough(uint64_t sequence);

  // The collector's last stored sequence, at each hello. If it stores more
  // for this agent than this spool ever numbered, or this spool replaced a
  // damaged one, the numbering restarted: spooled events are renumbered to
  // follow `collector_last`, so they are not taken for duplicates.
  absl::Status FollowCollectorSequence(uint64_t collector_last);

  // This spool replaced a damaged one and log reading has not resumed yet:
  // the collector must be asked where each file's stored events end.
  bool log_resume_pending() const;
  // The collector's answer to that question (from the uplink); wakes
  // AwaitLogResumePoints.
  void OfferLogResumePoints(
      std::vector<eroom::monitor::v1::LogResumePoint> points);
  // The points offered, once they are, or nullopt after `timeout`.
  std::optional<std::vector<eroom::monitor::v1::LogResumePoint>>
  AwaitLogResumePoints(absl::Duration timeout);
  // Saves `plan` as the log checkpoints (as a Commit of no events) and ends
  // the pending resume. Until a file's checkpoint passes it, the event at
  // each of plan.stored_event_starts is left out of Commit.
  absl::Status ResumeLogs(const LogResumePlan& plan);

  // Waits until an event with sequence > `after` is spooled, or `timeout`.
  bool WaitForEventsAfter(uint64_t after, absl::Duration timeout);

  Stats stats() const;

  // Where a damaged database found at Open() was moved (empty if none), so
  // the agent can report it.
  const std::string& moved_aside() const { return moved_aside_; }

 private:
  Spool(std::unique_ptr<SQLite::Database> db, const SpoolOptions& options);
  // After a write failed for want of disk space: gives the reserve back and
  // folds the write-ahead log into the database so its space is reused.
  void OnDiskFullLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Whether `needed` more bytes may be written: always, unless the disk was
  // found full; then once the reserve could be taken again, or when the
  // database's own free pages hold them. Throws SQLite::Exception.
  bool HasRoomLocked(uint64_t needed) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The status for failure `e` of `context`, noting a full disk.
  absl::Status FailedLocked(absl::string_view context,
                            const SQLite::Exception& e)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Deletes the oldest evictable events until `needed` more bytes fit;
  // false if they cannot be made to fit.
  bool MakeRoomLocked(uint64_t needed) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Events framed for one row of the spool (spool.cc says how).
  struct Row {
    std::string payload;
    int64_t events = 0;
    std::string sources;  // Of its log events, each a varint.
  };
  // A log source as Commit knows it.
  struct KnownSource {
    uint32_t id = 0;
    // The commit and row of that commit whose `sources` list it last.
    uint64_t listed_in_commit = 0;
    size_t listed_in_row = 0;
  };
  // A log source numbered by a commit, spooled with its events.
  struct NewSource {
    uint32_t id = 0;
    std::string definition;  // Serialized LogSource.
  };
  // The source of `event`, numbered if new (and added to `added`); takes
  // the event's file, logger and thread out of it.
  KnownSource& SourceOf(eroom::monitor::v1::LogEvent& event,
                        std::vector<NewSource>& added)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(sources_mu_);
  // Starts numbering sources afresh: those numbered so far are deleted
  // once every event spooled until now is acknowledged.
  void ForgetSourcesLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(sources_mu_, mu_);
  // Appends to `batch` the definitions (EventBatch.log_sources) of the
  // sources `sources` lists (varints) that are not in `defined` yet, and
  // adds them to it. False if one is not as it was spooled. Throws
  // SQLite::Exception.
  bool AppendSourcesLocked(absl::string_view sources,
                           absl::flat_hash_set<uint32_t>& defined,
                           std::string& batch)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Numbers the events of `rows` and inserts them (inside the caller's
  // transaction); `evictable` for samples and probe results.
  void InsertLocked(absl::Span<const Row> rows, bool evictable)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // After the rows through `sequence` were deleted: the row that holds
  // `sequence` and later events keeps only the later ones. Returns the
  // events and bytes it gave up.
  std::pair<uint64_t, uint64_t> TrimAcknowledgedLocked(uint64_t sequence)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SaveLastSequenceLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SaveCheckpointsLocked(const std::vector<FileCheckpoint>& checkpoints)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The stored_starts_ still ahead of the files' new `checkpoints`, saved
  // (inside the caller's transaction) if that is fewer.
  std::vector<FileCheckpoint> StoredStartsAheadLocked(
      const std::vector<FileCheckpoint>& checkpoints)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SaveStoredStartsLocked(const std::vector<FileCheckpoint>& starts)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Held through Commit, by the tailer's thread, while it numbers sources
  // and builds rows: mu_ is taken only to insert them.
  absl::Mutex sources_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  // By file, logger and thread, each length before its text (built in
  // source_key_, reused so that a lookup does not allocate).
  absl::flat_hash_map<std::string, KnownSource> source_ids_
      ABSL_GUARDED_BY(sources_mu_);
  std::string source_key_ ABSL_GUARDED_BY(sources_mu_);
  uint32_t next_source_ ABSL_GUARDED_BY(sources_mu_) = 1;
  uint64_t commits_ ABSL_GUARDED_BY(sources_mu_) = 0;

  mutable absl::Mutex mu_;
  std::unique_ptr<SQLite::Database> db_ ABSL_GUARDED_BY(mu_);
  // Prepared once: the uplink reads and deletes at every batch, and once
  // rows held many events, preparing these took a tenth of its CPU time
  // (perf).
  SQLite::Statement insert_row_ ABSL_GUARDED_BY(mu_);
  SQLite::Statement rows_after_ ABSL_GUARDED_BY(mu_);
  SQLite::Statement totals_through_ ABSL_GUARDED_BY(mu_);
  SQLite::Statement delete_through_ ABSL_GUARDED_BY(mu_);
  SQLite::Statement trim_row_ ABSL_GUARDED_BY(mu_);
  SQLite::Statement save_last_sequence_ ABSL_GUARDED_BY(mu_);
  SQLite::Statement insert_source_ ABSL_GUARDED_BY(mu_);
  SQLite::Statement select_source_ ABSL_GUARDED_BY(mu_);
  // Serialized LogSources by id, as ReadAfter sends them: those Commit
  // spooled, and those read back from the database.
  absl::flat_hash_map<uint32_t, std::string> source_definitions_
      ABSL_GUARDED_BY(mu_);
  // Sources numbered before this are no longer used by Commit; they are
  // deleted once the events through stale_through_sequence_ are
  // acknowledged. 0: none.
  uint32_t stale_sources_below_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t stale_through_sequence_ ABSL_GUARDED_BY(mu_) = 0;
  // Mirrors the database; restored as a whole when a transaction fails.
  Stats totals_ ABSL_GUARDED_BY(mu_);
  uint64_t handed_out_through_ ABSL_GUARDED_BY(mu_) = 0;
  const uint64_t max_spool_bytes_;
  DiskReserve reserve_ ABSL_GUARDED_BY(mu_);
  bool disk_full_ ABSL_GUARDED_BY(mu_) = false;
  bool append_failing_ ABSL_GUARDED_BY(mu_) = false;
  // Mirror meta flags, set when this spool replaced a damaged one.
  bool log_resume_pending_ ABSL_GUARDED_BY(mu_) = false;
  bool numbering_restarted_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<FileCheckpoint> stored_starts_ ABSL_GUARDED_BY(mu_);
  std::optional<std::vector<eroom::monitor::v1::LogResumePoint>> offered_points_
      ABSL_GUARDED_BY(mu_);
  std::string moved_aside_;
};

}  // namespace eroom::agent

#endif  // EROOM_AGENT_SPOOL_H_
