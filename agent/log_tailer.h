#ifndef EROOM_AGENT_LOG_TAILER_H_
#define EROOM_AGENT_LOG_TAILER_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/classifier.h"
#include "common/clock.h"
#include "eroom/monitor/v1/monitor.pb.h"

namespace eroom::agent {

struct LogSourceOptions {
  // Files to follow (absolute, or relative to the process's working dir).
  std::vector<std::string> paths;
  // Read existing content first (true) or only what is appended (false).
  bool start_at_beginning = false;
  // A pending multi-line event (and a last line still missing its newline)
  // is emitted after its file received nothing for this long.
  absl::Duration multiline_timeout = absl::Seconds(1);
  // An event larger than this is cut and flagged `truncated`; so is a
  // longer line, of which no more than this is ever buffered.
  size_t max_event_bytes = 64 * 1024;
  // Time zone of the log timestamps (ERoom logs local time, no zone).
  absl::TimeZone time_zone = absl::LocalTimeZone();
  // How events get their event_type and fields.
  std::vector<ClassificationRule> classification_rules =
      DefaultClassificationRules();
};

// What the tailer has done so far, summed over its files: degradations are
// counted here rather than logged per occurrence.
struct LogTailerStats {
  uint64_t bytes_read = 0;
  uint64_t events_emitted = 0;
  uint64_t truncated_lines = 0;    // Lines cut at max_event_bytes.
  uint64_t truncated_events = 0;   // Events cut at max_event_bytes.
  uint64_t dropped_lines = 0;      // Continuation lines after such a cut.
  uint64_t utf8_replacements = 0;  // Ill-formed sequences made U+FFFD.
  uint64_t rotations = 0;          // A path renamed away or removed.
  uint64_t truncations = 0;        // A file that shrank (copytruncate).
};

// Follows ERoom log files and turns their lines into classified LogEvents:
// header parsing (both ERoom patterns), multi-line assembly, event type and
// field extraction, and the room (ruid) each event belongs to.
//
// Each path is followed across rotations: when it names a new file (rename
// rotation) or disappears, the old file is read to its end first, and the
// new one is read from its beginning; a file that shrank (copytruncate) is
// read again from its beginning. Only a file present at the first poll
// honours start_at_beginning = false. Events of a file are emitted in file
// order; `file` is the configured path.
//
// Not thread-safe: owned and driven by the agent's tail thread.
class LogTailer {
 public:
  using Sink = std::function<void(eroom::monitor::v1::LogEvent)>;

  // InvalidArgument for an empty or duplicate path, a zero max_event_bytes,
  // a negative multiline_timeout, a bad classification rule or no sink.
  static absl::StatusOr<std::unique_ptr<LogTailer>> Create(
      LogSourceOptions options, const Clock& clock, Sink sink);
  virtual ~LogTailer() = default;

  // Reads whatever is new in every followed file (at most 8 MiB per file per
  // call; the rest on the next calls), emits complete events to the sink, and
  // emits pending events whose idle timeout has passed. A file that cannot be
  // read is logged once per failure streak and retried on the next call; it
  // never fails the call.
  virtual void PollOnce() = 0;

  // Emits every pending (incomplete) event, e.g. before shutdown.
  virtual void FlushPending() = 0;

  virtual LogTailerStats Stats() const = 0;
};

}  // namespace eroom::agent

#endif  // EROOM_AGENT_LOG_TAILER_H_
