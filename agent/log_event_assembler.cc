#include "agent/log_event_assembler.h"

#include <algorithm>
#include <utility>

#include "agent/log_utf8.h"
#include "common/utf8.h"

namespace eroom::agent {

namespace v1 = ::eroom::monitor::v1;

LogEventAssembler::LogEventAssembler(std::string file,
                                     const LogHeaderParser& parser,
                                     size_t max_event_bytes)
    : file_(std::move(file)),
      parser_(parser),
      max_event_bytes_(max_event_bytes) {}

void LogEventAssembler::AddLine(const LogLine& line,
                                const LogFileDate& file_date, absl::Time now,
                                EventFn emit) {
  std::string_view text = line.text;
  if (!IsWellFormedUtf8(absl::string_view(text.data(), text.size()))) {
    line_.assign(text);
    counters_.utf8_replacements += RepairUtf8(line_);
    text = line_;
  }

  if (std::optional<LogHeader> header = parser_.Parse(text, file_date)) {
    Flush(emit);
    has_pending_ = true;
    v1::LogEvent& event = pending_;
    event.set_time_unix_ms(header->time_unix_ms);
    event.set_file(file_);
    event.set_level(header->level);
    // Assigned in place: the strings keep the memory of an earlier event.
    event.mutable_logger()->assign(header->logger);
    event.mutable_thread()->assign(header->thread);
    event.mutable_message()->assign(header->message);
    // Defaults are left unset (pending_ is cleared): a set field is sent.
    if (line.truncated) event.set_truncated(true);
    event.set_file_offset(line.offset);
    event.set_has_header(true);
    EnforceLimit(emit);
    return;
  }
  if (dropping_) {
    ++counters_.dropped_lines;
    return;
  }
  if (has_pending_) {
    AppendContinuation(text, line.truncated);
    EnforceLimit(emit);
    return;
  }
  // With no event pending, pending_ is free to build the stray one in.
  v1::LogEvent& stray = pending_;
  stray.set_time_unix_ms(absl::ToUnixMillis(now));
  stray.set_file(file_);
  stray.mutable_message()->assign(text);
  if (line.truncated) stray.set_truncated(true);
  stray.set_file_offset(line.offset);
  if (TruncateUtf8(*stray.mutable_message(), max_event_bytes_)) {
    stray.set_truncated(true);
    ++counters_.truncated_events;
  }
  Emit(emit);
}

void LogEventAssembler::AppendContinuation(std::string_view text,
                                           bool truncated) {
  std::string& message = *pending_.mutable_message();
  // Copy at most one byte beyond the limit: enough for EnforceLimit to see
  // the overflow and the character boundary, without copying a huge line.
  const size_t room =
      max_event_bytes_ + 1 - std::min(message.size(), max_event_bytes_);
  message.push_back('\n');
  message.append(text.substr(0, room - 1));
  if (truncated) pending_.set_truncated(true);
}

void LogEventAssembler::EnforceLimit(EventFn emit) {
  if (!TruncateUtf8(*pending_.mutable_message(), max_event_bytes_)) return;
  pending_.set_truncated(true);
  ++counters_.truncated_events;
  Flush(emit);
  dropping_ = true;
}

void LogEventAssembler::Flush(EventFn emit) {
  dropping_ = false;
  if (!has_pending_) return;
  has_pending_ = false;
  Emit(emit);
}

void LogEventAssembler::Emit(EventFn emit) {
  emit(std::move(pending_));
  // Whatever the consumer left (a spent event swapped in, or this one if it
  // only copied it) must not lend a field to the next event; cleared, its
  // strings keep their capacity.
  pending_.Clear();
}

}  // namespace eroom::agent
