#include "agent/log_line_splitter.h"

#include <algorithm>

namespace eroom::agent {

LogLineSplitter::LogLineSplitter(size_t max_line_bytes)
    : max_line_bytes_(std::max<size_t>(max_line_bytes, 1)) {}

void LogLineSplitter::Append(std::string_view bytes, LineFn on_line) {
  while (!bytes.empty()) {
    const size_t newline = bytes.find('\n');
    const bool complete = newline != std::string_view::npos;
    const std::string_view piece = bytes.substr(0, newline);
    const uint64_t piece_offset = end_offset_;
    const size_t consumed = complete ? newline + 1 : bytes.size();
    end_offset_ += consumed;
    bytes.remove_prefix(consumed);

    if (skipping_) {
      skipping_ = !complete;
      continue;
    }
    if (partial_.empty() && complete && piece.size() <= max_line_bytes_) {
      Yield(piece, piece_offset, /*truncated=*/false, on_line);  // No copy.
      continue;
    }
    if (partial_.empty()) partial_offset_ = piece_offset;
    const size_t room = max_line_bytes_ - partial_.size();
    partial_.append(piece.substr(0, room));
    if (piece.size() > room) {
      ++truncated_lines_;
      skipping_ = !complete;
      Yield(partial_, partial_offset_, /*truncated=*/true, on_line);
      partial_.clear();
    } else if (complete) {
      Yield(partial_, partial_offset_, /*truncated=*/false, on_line);
      partial_.clear();
    }
  }
}

void LogLineSplitter::FlushPartial(LineFn on_line) {
  if (partial_.empty()) return;
  Yield(partial_, partial_offset_, /*truncated=*/false, on_line);
  partial_.clear();
}

void LogLineSplitter::Reset(uint64_t offset) {
  partial_.clear();
  skipping_ = false;
  end_offset_ = offset;
}

void LogLineSplitter::Yield(std::string_view text, uint64_t offset,
                            bool truncated, LineFn on_line) {
  if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
  on_line(LogLine{text, offset, truncated});
}

}  // namespace eroom::agent
