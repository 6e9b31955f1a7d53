#ifndef EROOM_AGENT_LOG_EVENT_ASSEMBLER_H_
#define EROOM_AGENT_LOG_EVENT_ASSEMBLER_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/time/time.h"
#include "agent/log_header_parser.h"
#include "agent/log_line_splitter.h"
#include "eroom/monitor/v1/monitor.pb.h"

namespace eroom::agent {

// Turns the lines of one file into LogEvents (not yet classified): a header
// line starts an event, the following lines without a header continue it
// (stack frames, multi-line messages), and the event's message is the
// header's message and those lines joined with '\n'. Text is repaired to
// valid UTF-8 first.
//
// An event is complete when the next header arrives, when the caller
// flushes it (idle timeout, end of file), or when its message exceeds
// `max_event_bytes`: then it is cut, flagged truncated and emitted at once,
// and its further continuation lines are dropped (and counted). A line with
// no event to continue (stray output before the first header, or after a
// flush) is an event of its own: has_header false, level unspecified, dated
// `now`.
class LogEventAssembler {
 public:
  // Takes the event. It may move from it, and should: a protobuf move
  // swaps, and the assembler builds its next event in what it gets back
  // (LogEventBatch::Add gives back the cleared event of an earlier batch).
  using EventFn = absl::FunctionRef<void(eroom::monitor::v1::LogEvent&&)>;

  struct Counters {
    uint64_t utf8_replacements = 0;  // U+FFFD substitutions made.
    uint64_t truncated_events = 0;   // Events cut at max_event_bytes.
    uint64_t dropped_lines = 0;      // Continuation lines after such a cut.
  };

  LogEventAssembler(std::string file, const LogHeaderParser& parser,
                    size_t max_event_bytes);

  void AddLine(const LogLine& line, const LogFileDate& file_date,
               absl::Time now, EventFn emit);

  // Emits the pending event, if any.
  void Flush(EventFn emit);

  bool has_pending() const { return has_pending_; }
  const Counters& counters() const { return counters_; }

 private:
  // Emits the pending event if its message went over the limit.
  void EnforceLimit(EventFn emit);
  // Hands pending_ over: the pending event, or a stray line's.
  void Emit(EventFn emit);
  void AppendContinuation(std::string_view text, bool truncated);

  const std::string file_;
  const LogHeaderParser& parser_;
  const size_t max_event_bytes_;
  // Where every event is built, reusing the strings of earlier events.
  eroom::monitor::v1::LogEvent pending_;
  bool has_pending_ = false;
  // Set after an event was cut, until the next header or flush.
  bool dropping_ = false;
  std::string line_;  // Reused buffer for a line that needed repair.
  Counters counters_;
};

}  // namespace eroom::agent

#endif  // EROOM_AGENT_LOG_EVENT_ASSEMBLER_H_
