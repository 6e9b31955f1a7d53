#ifndef EROOM_AGENT_LOG_LINE_SPLITTER_H_
#define EROOM_AGENT_LOG_LINE_SPLITTER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/functional/function_ref.h"

namespace eroom::agent {

struct LogLine {
  // Without the '\n' (and without a trailing '\r'). Raw bytes: not
  // necessarily valid UTF-8. Valid only during the callback.
  std::string_view text;
  // Byte offset of the line's first byte in its file.
  uint64_t offset = 0;
  // The line was longer than the limit: `text` is its prefix.
  bool truncated = false;
};

// Splits a file's byte stream, fed in arbitrary chunks, into lines. Only a
// partial last line is buffered, and never more than `max_line_bytes` of it:
// a longer line yields its prefix (flagged truncated) as soon as the limit is
// reached and the rest is skipped up to its newline, so a huge line neither
// stalls the stream nor grows memory.
class LogLineSplitter {
 public:
  using LineFn = absl::FunctionRef<void(const LogLine&)>;

  explicit LogLineSplitter(size_t max_line_bytes);

  // Appends bytes that directly follow what was appended before.
  void Append(std::string_view bytes, LineFn on_line);

  // Yields the buffered partial line, if any, as if its newline had arrived
  // (the writer went idle, or the file ended).
  void FlushPartial(LineFn on_line);

  // Discards any partial line; the next byte appended is at `offset`.
  void Reset(uint64_t offset);

  bool has_partial() const { return !partial_.empty(); }
  // Offset of the next byte expected by Append.
  uint64_t end_offset() const { return end_offset_; }
  // Lines cut at max_line_bytes so far.
  uint64_t truncated_lines() const { return truncated_lines_; }

 private:
  void Yield(std::string_view text, uint64_t offset, bool truncated,
             LineFn on_line);

  const size_t max_line_bytes_;
  std::string partial_;
  uint64_t partial_offset_ = 0;
  // True between yielding a cut line and that line's newline.
  bool skipping_ = false;
  uint64_t end_offset_ = 0;
  uint64_t truncated_lines_ = 0;
};

}  // namespace eroom::agent

#endif  // EROOM_AGENT_LOG_LINE_SPLITTER_H_
