#ifndef EROOM_COMMON_UTF8_H_
#define EROOM_COMMON_UTF8_H_

#include <cstddef>
#include <cstdint>
#include <optional>

#include "absl/strings/string_view.h"

namespace eroom {

// One character of UTF-8 text.
struct Utf8Character {
  char32_t code_point = 0;
  size_t bytes = 0;  // Its length in the text.
};

// The character that `text` starts with; nullopt if `text` does not start
// with well-formed UTF-8 (a continuation byte, a byte no UTF-8 has, a
// sequence cut short, an overlong one, a surrogate, a code point past
// U+10FFFF). Code points so read tell characters apart exactly as their
// bytes do. Inline: the search index reads every character of every log
// message through it, and a call cost it 170 instructions an event.
inline std::optional<Utf8Character> FirstUtf8Character(absl::string_view text) {
  if (text.empty()) return std::nullopt;
  const uint8_t lead = static_cast<uint8_t>(text[0]);
  if (lead < 0x80) return Utf8Character{.code_point = lead, .bytes = 1};
  // The bits the lead byte holds, and the least code point of its length.
  size_t bytes;
  char32_t point;
  char32_t least;
  if ((lead & 0xE0) == 0xC0) {
    bytes = 2;
    point = lead & 0x1F;
    least = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    bytes = 3;
    point = lead & 0x0F;
    least = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    bytes = 4;
    point = lead & 0x07;
    least = 0x10000;
  } else {
    return std::nullopt;
  }
  if (text.size() < bytes) return std::nullopt;
  for (size_t i = 1; i < bytes; ++i) {
    const uint8_t next = static_cast<uint8_t>(text[i]);
    if ((next & 0xC0) != 0x80) return std::nullopt;
    point = point << 6 | (next & 0x3F);
  }
  constexpr char32_t kSurrogates = 0xD800;
  constexpr char32_t kAfterSurrogates = 0xE000;
  constexpr char32_t kLast = 0x10FFFF;
  if (point < least || (point >= kSurrogates && point < kAfterSurrogates) ||
      point > kLast) {
    return std::nullopt;
  }
  return Utf8Character{.code_point = point, .bytes = bytes};
}

}  // namespace eroom

#endif  // EROOM_COMMON_UTF8_H_
