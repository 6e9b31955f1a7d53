#include "cli/table.h"

#include <algorithm>
#include <cstdint>
#include <optional>

#include "cli/text_format.h"
#include "common/utf8.h"

namespace eroom::cli {
namespace {

// Code points a terminal draws two columns wide (East Asian Wide/Fullwidth,
// the ranges operators meet in ERoom logs).
bool IsWide(uint32_t cp) {
  return (cp >= 0x1100 && cp <= 0x115F) ||    // Hangul Jamo (leading)
         (cp >= 0x2E80 && cp <= 0x303E) ||    // CJK radicals, punctuation
         (cp >= 0x3041 && cp <= 0x33FF) ||    // Kana, Hangul compat. Jamo, ...
         (cp >= 0x3400 && cp <= 0x4DBF) ||    // CJK extension A
         (cp >= 0x4E00 && cp <= 0x9FFF) ||    // CJK unified ideographs
         (cp >= 0xA960 && cp <= 0xA97F) ||    // Hangul Jamo extended-A
         (cp >= 0xAC00 && cp <= 0xD7A3) ||    // Hangul syllables
         (cp >= 0xF900 && cp <= 0xFAFF) ||    // CJK compatibility ideographs
         (cp >= 0xFE30 && cp <= 0xFE4F) ||    // CJK compatibility forms
         (cp >= 0xFF00 && cp <= 0xFF60) ||    // Fullwidth forms
         (cp >= 0xFFE0 && cp <= 0xFFE6) ||    // Fullwidth signs
         (cp >= 0x1F300 && cp <= 0x1F64F) ||  // Emoji
         (cp >= 0x20000 && cp <= 0x3FFFD);    // CJK extensions B..
}

// The code point starting at byte `i` of `text`: its bytes and the columns
// a terminal draws it in. An invalid UTF-8 byte is one byte, one column.
struct CodePoint {
  size_t bytes;
  int columns;
};

CodePoint CodePointAt(absl::string_view text, size_t i) {
  const std::optional<Utf8Character> character =
      FirstUtf8Character(text.substr(i));
  if (!character.has_value()) return CodePoint{1, 1};
  return CodePoint{character->bytes, IsWide(character->code_point) ? 2 : 1};
}

void Pad(std::ostream& out, int count) {
  for (int i = 0; i < count; ++i) out << ' ';
}

}  // namespace

int DisplayWidth(absl::string_view text) {
  int width = 0;
  for (size_t i = 0; i < text.size();) {
    const CodePoint next = CodePointAt(text, i);
    width += next.columns;
    i += next.bytes;
  }
  return width;
}

std::string CutToWidth(absl::string_view text, int width) {
  int used = 0;
  size_t end = 0;
  while (end < text.size()) {
    const CodePoint next = CodePointAt(text, end);
    if (used + next.columns > width) break;
    used += next.columns;
    end += next.bytes;
  }
  return std::string(text.substr(0, end));
}

Table::Table(std::vector<std::string> headers)
    : headers_(std::move(headers)), align_(headers_.size(), Align::kLeft) {
  for (std::string& header : headers_) header = Printable(header);
}

void Table::SetAlign(size_t column, Align align) {
  if (column < align_.size()) align_[column] = align;
}

void Table::AddRow(std::vector<std::string> cells) {
  cells.resize(headers_.size());
  for (std::string& cell : cells) cell = Printable(cell);
  rows_.push_back(std::move(cells));
}

void Table::Render(std::ostream& out) const {
  std::vector<int> widths(headers_.size());
  for (size_t c = 0; c < headers_.size(); ++c) {
    widths[c] = DisplayWidth(headers_[c]);
    for (const auto& row : rows_) {
      widths[c] = std::max(widths[c], DisplayWidth(row[c]));
    }
  }
  auto render_row = [&](const std::vector<std::string>& cells) {
    for (size_t c = 0; c < cells.size(); ++c) {
      const bool last = c + 1 == cells.size();
      const int gap = widths[c] - DisplayWidth(cells[c]);
      if (align_[c] == Align::kRight) Pad(out, gap);
      out << cells[c];
      if (!last) {
        if (align_[c] == Align::kLeft) Pad(out, gap);
        out << "  ";
      }
    }
    out << '\n';
  };
  render_row(headers_);
  for (const auto& row : rows_) render_row(row);
}

}  // namespace eroom::cli
