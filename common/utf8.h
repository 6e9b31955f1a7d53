#ifndef EROOM_COMMON_UTF8_H_
#define EROOM_COMMON_UTF8_H_

#include <cstddef>
#include <cstdint>
#include <optional>

#include "absl/strings/string_view.h"

namespace eroom {

// Whether `c` continues a UTF-8 character rather than starting one.
inline bool IsUtf8ContinuationByte(char c) {
  return (static_cast<uint8_t>(c) & 0xC0) == 0x80;
}

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
    if (!IsUtf8ContinuationByte(text[i])) return std::nullopt;
    point = point << 6 | (static_cast<uint8_t>(text[i]) & 0x3F);
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

// For `text` that does not start with well-formed UTF-8 (FirstUtf8Character
// is nullopt): how many of its bytes one U+FFFD replaces, its maximal
// ill-formed subpart (the Unicode and WHATWG convention): the longest start
// of a well-formed sequence it has, or its first byte alone.
inline size_t IllFormedUtf8Length(absl::string_view text) {
  const uint8_t lead = static_cast<uint8_t>(text[0]);
  // The length the lead byte announces, and its second byte's range, narrow
  // for some leads: that leaves out overlong forms, surrogates and code
  // points past U+10FFFF.
  size_t length;
  uint8_t second_min = 0x80;
  uint8_t second_max = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) second_min = 0xA0;
    if (lead == 0xED) second_max = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) second_min = 0x90;
    if (lead == 0xF4) second_max = 0x8F;
  } else {
    return 1;
  }
  size_t subpart = 1;
  for (; subpart < length && subpart < text.size(); ++subpart) {
    const uint8_t next = static_cast<uint8_t>(text[subpart]);
    const bool fits = subpart == 1 ? next >= second_min && next <= second_max
                                   : IsUtf8ContinuationByte(text[subpart]);
    if (!fits) break;
  }
  return subpart;
}

// Where the first ill-formed sequence of `text` starts (see
// FirstUtf8Character), or text.size() if there is none (NUL is
// well-formed).
size_t FirstIllFormedUtf8(absl::string_view text);

inline bool IsWellFormedUtf8(absl::string_view text) {
  return FirstIllFormedUtf8(text) == text.size();
}

// The longest start of `text` of at most `max_bytes` that does not end
// inside a character.
inline absl::string_view Utf8Prefix(absl::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  size_t cut = max_bytes;
  while (cut > 0 && IsUtf8ContinuationByte(text[cut])) --cut;
  return text.substr(0, cut);
}

}  // namespace eroom

#endif  // EROOM_COMMON_UTF8_H_
