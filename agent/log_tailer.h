#ifndef EROOM_AGENT_LOG_TAILER_H_
#define EROOM_AGENT_LOG_TAILER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/log_checkpoint_store.h"
#include "agent/log_source_options.h"
#include "common/clock.h"

namespace eroom::agent {

// What the tailer has done so far, summed over its files: degradations are
// counted here rather than logged per occurrence.
struct LogTailerStats {
  uint64_t bytes_read = 0;         // Re-reads after a failed commit included.
  uint64_t events_emitted = 0;     // Committed to the store.
  uint64_t truncated_lines = 0;    // Lines cut at max_event_bytes.
  uint64_t truncated_events = 0;   // Events cut at max_event_bytes.
  uint64_t dropped_lines = 0;      // Continuation lines after such a cut.
  uint64_t utf8_replacements = 0;  // Ill-formed UTF-8 made U+FFFD.
  uint64_t encoding_replacements = 0;  // Undecodable bytes (e.g. CP949).
  uint64_t rotations = 0;              // Files seen under a new name.
  uint64_t files_released = 0;  // Gone (deleted, renamed away), read to end.
  uint64_t truncations = 0;     // Files shrunk (copytruncate) or replaced.
  uint64_t file_errors = 0;     // Warnings: unreadable or unusable files.
  uint64_t commit_failures = 0;
  // Now: files followed (open or idle), open ones, and bytes written to
  // them not read yet (as of the last poll).
  uint64_t files_tracked = 0;
  uint64_t files_open = 0;
  uint64_t bytes_behind = 0;
};

// One followed file, for status reports.
struct LogFileStatus {
  std::string path;
  uint64_t offset = 0;  // Checkpoint: everything before is in events.
  uint64_t size = 0;    // As of the last poll or scan.
  bool open = false;    // False: idle, kept as a checkpoint only.
};

// Follows ERoom log files and turns their lines into classified LogEvents:
// header parsing (both ERoom patterns), multi-line assembly, decoding,
// event type and field extraction, and the room (ruid) of each event.
//
// Files are found by glob and known by device, inode and a fingerprint of
// their first bytes, not by name. A renamed file is read on to its end
// (under its new name); a new file is read from its start; one that shrank
// or whose first bytes changed (copytruncate) is read again from its
// start; a file that is gone (deleted, renamed out of the patterns) is
// drained before it is released. A new file that begins as a followed one
// did before it was truncated (copytruncate's copy, e.g. dated) is read
// from where that one stopped, pending event included; one that begins as
// a followed file still does (a copy of a file not truncated yet) is not
// read.
//
// Events reach `store` only together with the checkpoints that follow them
// (LogCheckpointStore::Commit), so a crash at any instant neither loses nor
// repeats a line: after a restart every file resumes at its checkpoint
// (found again by identity, whatever its name now), which is the start of
// the event that was still pending. If a commit fails, the tailer goes back
// to the last committed state and tries again a second later; a full store
// (ResourceExhausted) so pauses reading.
//
// Driven by one thread: PollOnce, WaitForChange, FlushPending, Stats and
// Files must not be called concurrently; Wake may be called from any thread.
class LogTailer {
 public:
  // InvalidArgument for an empty or duplicate path, an unknown encoding, a
  // zero size limit, a negative duration or a bad classification rule; the
  // store's error if it cannot load the checkpoints.
  static absl::StatusOr<std::unique_ptr<LogTailer>> Create(
      LogSourceOptions options, const Clock& clock, LogCheckpointStore& store);
  virtual ~LogTailer() = default;

  // Finds the files (when a scan is due), reads whatever is new in them (at
  // most 8 MiB per file per call; the rest on the next calls), emits pending
  // events that are complete (kEventEndQuietPeriod after the end of the
  // file's data; at once for a file that is gone), and commits them with the
  // new checkpoints (several commits when there are many). A file that
  // cannot be read is logged once per failure streak and retried; it never
  // fails the call.
  virtual void PollOnce() = 0;

  // Blocks until a followed file or directory may have changed, Wake() is
  // called, a pending event is due, or `max_wait` passed; at once if the
  // last poll left data unread.
  virtual void WaitForChange(absl::Duration max_wait) = 0;

  // Ends the current or next WaitForChange at once (e.g. for shutdown).
  virtual void Wake() = 0;

  // Emits every pending (incomplete) event and commits, e.g. at shutdown.
  virtual void FlushPending() = 0;

  virtual LogTailerStats Stats() const = 0;
  virtual std::vector<LogFileStatus> Files() const = 0;
};

}  // namespace eroom::agent

#endif  // EROOM_AGENT_LOG_TAILER_H_
