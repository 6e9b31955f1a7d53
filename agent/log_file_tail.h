#ifndef EROOM_AGENT_LOG_FILE_TAIL_H_
#define EROOM_AGENT_LOG_FILE_TAIL_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/classifier.h"
#include "agent/log_checkpoint_store.h"
#include "agent/log_event_assembler.h"
#include "agent/log_file_problems.h"
#include "agent/log_file_scanner.h"
#include "agent/log_header_parser.h"
#include "agent/log_line_splitter.h"
#include "agent/log_source_options.h"
#include "agent/room_tracker.h"
#include "agent/text_decoder.h"
#include "eroom/monitor/v1/monitor.pb.h"

namespace eroom::agent {

// How much of a file's beginning identifies it (with device and inode).
inline constexpr size_t kFingerprintBytes = 1024;

// What the files of one tailer share.
struct LogFileContext {
  const LogSourceOptions& options;
  const LogHeaderParser& parser;
  const Classifier& classifier;
  ProblemLog& read_problems;
  std::string& read_buffer;    // Holds one read; its size is the read size.
  std::string& decode_buffer;  // Holds one decoded line.
};

// Degradations counted per file; they go back with its reading state when
// a commit fails, so re-reading does not count them twice.
struct LogFileCounters {
  uint64_t truncated_lines = 0;
  uint64_t truncated_events = 0;
  uint64_t dropped_lines = 0;
  uint64_t utf8_replacements = 0;
  uint64_t encoding_replacements = 0;
  uint64_t truncations = 0;

  LogFileCounters& operator+=(const LogFileCounters& other);
};

// One log file followed by a LogTailer, known by device and inode and a
// fingerprint of its first bytes. Either open (an fd, and the state of
// reading it: partial line, pending event) or closed, a checkpoint only:
// a file known from the store until a scan finds it again, or one read to
// its end and idle.
//
// Reading state and committed state are kept apart: the checkpoint is the
// first byte not yet in an emitted event (the start of the pending event or
// partial line), and Rollback() returns to what the last commit saved.
class LogFileTail {
 public:
  using EmitFn = absl::FunctionRef<void(eroom::monitor::v1::LogEvent&&)>;

  // A file a scan found for the first time: opened, and read from its start
  // or, if `at_end`, from its current end. Fails if it cannot be opened
  // (Aborted if the path changed to another file meanwhile).
  static absl::StatusOr<std::unique_ptr<LogFileTail>> Open(
      const LogFileContext& context, const FoundLogFile& found, bool at_end,
      TextDecoder* decoder, absl::Time now);

  // A file known from a checkpoint; closed until Found().
  LogFileTail(const LogFileContext& context, const FileCheckpoint& checkpoint,
              TextDecoder* decoder);
  ~LogFileTail();
  LogFileTail(const LogFileTail&) = delete;
  LogFileTail& operator=(const LogFileTail&) = delete;

  // A scan found this file (same device and inode), maybe under a new name.
  // A closed file that changed (or was never checked) is reopened: its
  // fingerprint tells whether it still holds the content its checkpoint
  // refers to; if not (inode reused, or truncated), it is read from its
  // start. Fails if it cannot be reopened.
  absl::Status Found(const FoundLogFile& found, absl::Time now);

  // Call before reading in each poll: a file that shrank below what was
  // read, or whose first bytes changed, is replaced().
  void CheckForTruncation();

  // The content was replaced (truncated, maybe written again: copytruncate)
  // and the file is on hold: its reading state and checkpoint still refer to
  // the previous content, and nothing is read, until a copy of the previous
  // content takes it over (ContinueCopyOf) or FinishReplacement. Found()
  // and CheckForTruncation() put a file on hold; the caller ends it before
  // anything else.
  bool replaced() const { return replaced_; }
  // Emits what was pending from the previous content and reads the new
  // content from its start.
  void FinishReplacement(absl::Time now, EmitFn emit);

  // Whether `first_bytes` (of another file) begin with this file's first
  // bytes (its whole fingerprint; only the complete lines of a shorter one
  // unless replaced()): the other file is a copy of this one's content.
  bool IsCopiedIn(std::string_view first_bytes) const;
  // This file, just found, is a copy of the content `original` held before
  // it was replaced(): it reads on where `original` stopped (with its
  // pending event), and `original` reads its new content from the start.
  void ContinueCopyOf(LogFileTail& original, absl::Time now, EmitFn emit);

  // Reads and processes at most `max_bytes` (and one read buffer): returns
  // how many were read, 0 at the end of the file or on a read error.
  size_t Read(size_t max_bytes, absl::Time now, EmitFn emit);

  // Emits the pending event, and a last line still missing its newline,
  // once no more of them is expected: at FlushDueAt(), or at once if the
  // file is `gone` (no longer in its directory) and read to its end.
  void FlushIfDue(absl::Time now, bool gone, EmitFn emit);
  // When FlushIfDue emits unless more is read: kEventEndQuietPeriod after
  // the last data for a pending event, the multi-line timeout for a partial
  // line (the writer is in the middle of it); InfiniteFuture if nothing is
  // pending.
  absl::Time FlushDueAt() const;
  // Emits them now.
  void Flush(absl::Time now, EmitFn emit);

  FileCheckpoint Checkpoint() const;
  // The store saved Checkpoint(): Rollback() returns here from now on.
  void MarkCommitted();
  // Back to the last committed state (reading resumes there).
  void Rollback(absl::Time now);
  // The store holds this file's current checkpoint.
  bool Committed() const;

  // Read to its end, nothing pending, and no data for `idle` (always true
  // for a closed file).
  bool Drained(absl::Time now, absl::Duration idle) const;
  // Keeps only the checkpoint. Only for a Drained and Committed file.
  void Close();

  bool is_open() const { return fd_ >= 0; }
  const std::string& path() const { return path_; }
  // The first bytes of the content the checkpoint refers to.
  const std::string& fingerprint() const { return fingerprint_; }
  uint64_t device() const { return device_; }
  uint64_t inode() const { return inode_; }
  // Everything before it is in committed or pending events.
  uint64_t CheckpointOffset() const;
  // As of the last poll or scan.
  uint64_t size() const { return size_; }
  // Bytes past the checkpoint, as of the last poll or scan.
  uint64_t bytes_behind() const;
  LogFileCounters Counters() const;

 private:
  // The state of reading the file from some offset on; rebuilt from the
  // checkpoint on rollback.
  struct Reading {
    Reading(const std::string& path, const LogFileContext& context,
            uint64_t offset);

    LogLineSplitter splitter;
    LogEventAssembler assembler;
    // Offset of the line the splitter has not finished (after the last
    // newline); of the last line the splitter cut at the size limit; of the
    // pending event's first line.
    uint64_t unfinished_line_start;
    uint64_t cut_line_start = UINT64_MAX;
    uint64_t pending_start = 0;
    // Every byte before this is in a line handed to the assembler. The rest
    // of a line cut at the size limit counts as consumed as it is skipped:
    // after a crash in the middle of a huge line whose event was already
    // emitted, the rest of it comes back as a stray event, not the line
    // again.
    uint64_t consumed;
  };

  LogFileTail(const LogFileContext& context, std::string path, uint64_t device,
              uint64_t inode, TextDecoder* decoder);

  // Starts reading the open file at `offset` (not replaced); with
  // `keep_counters` false the counters of the current reading are dropped
  // (rollback).
  void StartReading(uint64_t offset, absl::Time now, bool keep_counters);
  void MarkReplaced(const std::string& why);
  void Feed(std::string_view bytes, absl::Time now, EmitFn emit);
  void AddLine(const LogLine& line, absl::Time now, EmitFn emit);
  void Emit(eroom::monitor::v1::LogEvent&& event, EmitFn emit);
  void SetPath(std::string path);
  std::string Subject() const;

  const LogFileContext& context_;
  TextDecoder* const decoder_;  // Null for UTF-8.
  std::string path_;
  const uint64_t device_;
  const uint64_t inode_;
  std::string fingerprint_;
  int fd_ = -1;
  LogFileDate file_date_;
  // As of the last fstat (open) or scan (closed); InfinitePast: not yet.
  uint64_t size_ = 0;
  absl::Time modified_ = absl::InfinitePast();
  absl::Time last_data_;
  bool at_end_ = false;  // The last read found no more data.
  // The first bytes were compared with the fingerprint since reading
  // (re)started.
  bool fingerprint_checked_ = false;
  bool read_failing_ = false;
  bool replaced_ = false;
  std::optional<Reading> reading_;  // Present while open.
  uint64_t closed_offset_ = 0;      // The checkpoint while closed.
  RoomTracker rooms_;
  LogFileCounters counters_;  // Those of `reading_` not included.

  // Where Rollback() returns: the state the store saved or, for a file not
  // saved yet, the state it was found in.
  struct CommittedState {
    uint64_t offset = 0;
    std::string fingerprint;
    std::string path;
    RoomTracker rooms;
    LogFileCounters counters;
  };
  void SetCommittedState();
  CommittedState committed_;
  bool in_store_ = false;
};

}  // namespace eroom::agent

#endif  // EROOM_AGENT_LOG_FILE_TAIL_H_
