#ifndef EROOM_AGENT_LOG_CHECKPOINT_STORE_H_
#define EROOM_AGENT_LOG_CHECKPOINT_STORE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "eroom/monitor/v1/monitor.pb.h"

namespace eroom::agent {

// Where reading of one log file resumes. A file is known by what it is
// (device, inode, and a fingerprint of its first bytes), not by its name, so
// a rotation that happened while the agent was stopped is recognised.
struct FileCheckpoint {
  uint64_t device = 0;
  uint64_t inode = 0;
  // The file's first bytes (up to a fixed length, e.g. 1 KiB; shorter while
  // the file is shorter): tells a new file that reused an inode from the
  // old one, and finds a renamed file again.
  std::string fingerprint;
  // The path the file was last seen at (informational, for reports).
  std::string path;
  // The first byte not yet turned into an emitted event: the start of a
  // pending multi-line event or of a partial last line. Resuming here
  // neither repeats nor loses a line.
  uint64_t offset = 0;

  bool operator==(const FileCheckpoint&) const = default;
};

// What the store holds for the tailer.
struct SavedLogState {
  // Some Commit succeeded (on this or an earlier run). False only before
  // the tailer's very first run saved its first scan, the one run on which
  // files already there may start at their end: a run that found no file
  // leaves no checkpoint, so an empty `checkpoints` cannot tell.
  bool committed = false;
  // The checkpoints saved by the last successful Commit.
  std::vector<FileCheckpoint> checkpoints;
};

// The durable side of the tailer: events and the checkpoints that follow
// them commit together, so a crash at any instant neither loses nor repeats
// a line.
class LogCheckpointStore {
 public:
  virtual ~LogCheckpointStore() = default;

  virtual absl::StatusOr<SavedLogState> Load() = 0;

  // Durably appends `events` (in order), replaces the saved checkpoints
  // with `checkpoints` and records that a commit succeeded, all or nothing. On
  // error nothing was recorded: the tailer must resume from its previous
  // checkpoints (ResourceExhausted means the store is full: pause reading, the
  // file is the buffer). The store may take what it keeps out of the events
  // (the spool takes their file, logger and thread): the tailer clears them
  // before it reuses them for its next batch (LogEventBatch).
  virtual absl::Status Commit(
      absl::Span<eroom::monitor::v1::LogEvent> events,
      const std::vector<FileCheckpoint>& checkpoints) = 0;
};

}  // namespace eroom::agent

#endif  // EROOM_AGENT_LOG_CHECKPOINT_STORE_H_
