#ifndef EROOM_AGENT_LOG_TAILER_H_
#define EROOM_AGENT_LOG_TAILER_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "eroom/monitor/v1/monitor.pb.h"

namespace eroom::agent {

struct LogSourceOptions {
  // Files to follow (absolute, or relative to the process's working dir).
  std::vector<std::string> paths;
  // Read existing content first (true) or only what is appended (false).
  bool start_at_beginning = false;
  // A pending multi-line event is emitted after this long without a line.
  absl::Duration multiline_timeout = absl::Seconds(1);
  // An event larger than this is cut and flagged `truncated`.
  size_t max_event_bytes = 64 * 1024;
  // Time zone of the log timestamps (ERoom logs local time, no zone).
  absl::TimeZone time_zone = absl::LocalTimeZone();
};

// Follows ERoom log files and turns their lines into classified LogEvents:
// header parsing (both ERoom patterns), multi-line assembly, event type and
// field extraction, and the room (ruid) each event belongs to.
//
// Not thread-safe: owned and driven by the agent's tail thread.
class LogTailer {
 public:
  using Sink = std::function<void(eroom::monitor::v1::LogEvent)>;

  static absl::StatusOr<std::unique_ptr<LogTailer>> Create(
      LogSourceOptions options, const Clock& clock, Sink sink);
  virtual ~LogTailer() = default;

  // Reads whatever is new in every followed file, emits complete events to
  // the sink, and emits pending events whose idle timeout has passed. A file
  // that cannot be read is logged once per failure streak and retried on the
  // next call; it never fails the call.
  virtual void PollOnce() = 0;

  // Emits every pending (incomplete) event, e.g. before shutdown.
  virtual void FlushPending() = 0;
};

}  // namespace eroom::agent

#endif  // EROOM_AGENT_LOG_TAILER_H_
