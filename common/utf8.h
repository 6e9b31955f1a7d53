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

namespace utf8_internal {

// What a lead byte announces, after Unicode's table of well-formed byte
// sequences: the sequence's length and the code point bits the lead holds.
// Its second byte's range is narrower for some leads: that leaves out
// overlong forms, surrogates and code points past U+10FFFF.
struct Lead {
  size_t bytes = 0;  // 0: no well-formed sequence starts with this byte.
  uint8_t second_min = 0x80;
  uint8_t second_max = 0xBF;
  char32_t bits = 0;

  // Whether `byte` may be byte `i` (from 1) of the sequence.
  bool Accepts(size_t i, char byte) const {
    const uint8_t value = static_cast<uint8_t>(byte);
    return i == 1 ? value >= second_min && value <= second_max
                  : IsUtf8ContinuationByte(byte);
  }
};

inline Lead LeadOf(char byte) {
  const uint8_t lead = static_cast<uint8_t>(byte);
  if (lead >= 0xC2 && lead <= 0xDF) {
    return {.bytes = 2, .bits = static_cast<char32_t>(lead & 0x1F)};
  }
  if (lead >= 0xE0 && lead <= 0xEF) {
    return {.bytes = 3,
            .second_min = static_cast<uint8_t>(lead == 0xE0 ? 0xA0 : 0x80),
            .second_max = static_cast<uint8_t>(lead == 0xED ? 0x9F : 0xBF),
            .bits = static_cast<char32_t>(lead & 0x0F)};
  }
  if (lead >= 0xF0 && lead <= 0xF4) {
    return {.bytes = 4,
            .second_min = static_cast<uint8_t>(lead == 0xF0 ? 0x90 : 0x80),
            .second_max = static_cast<uint8_t>(lead == 0xF4 ? 0x8F : 0xBF),
            .bits = static_cast<char32_t>(lead & 0x07)};
  }
  return {};
}

}  // namespace utf8_internal

// The character that `text` starts with; nullopt if `text` does not start
// with well-formed UTF-8 (a continuation byte, a byte no UTF-8 has, a
// sequence cut short, an overlong one, a surrogate, a code point past
// U+10FFFF). Code points so read tell characters apart exactly as their
// bytes do. Inline: the search index reads every character of every log
// message through it, and a call cost it 170 instructions an event.
inline std::optional<Utf8Character> FirstUtf8Character(absl::string_view text) {
  if (text.empty()) return std::nullopt;
  if (static_cast<uint8_t>(text[0]) < 0x80) {
    return Utf8Character{.code_point = static_cast<uint8_t>(text[0]),
                         .bytes = 1};
  }
  const utf8_internal::Lead lead = utf8_internal::LeadOf(text[0]);
  if (lead.bytes == 0 || text.size() < lead.bytes) return std::nullopt;
  char32_t point = lead.bits;
  for (size_t i = 1; i < lead.bytes; ++i) {
    if (!lead.Accepts(i, text[i])) return std::nullopt;
    point = point << 6 | (static_cast<uint8_t>(text[i]) & 0x3F);
  }
  return Utf8Character{.code_point = point, .bytes = lead.bytes};
}

// For `text` that does not start with well-formed UTF-8 (FirstUtf8Character
// is nullopt): how many of its bytes one U+FFFD replaces, its maximal
// ill-formed subpart (the Unicode and WHATWG convention): the longest start
// of a well-formed sequence it has, or its first byte alone.
inline size_t IllFormedUtf8Length(absl::string_view text) {
  const utf8_internal::Lead lead = utf8_internal::LeadOf(text[0]);
  size_t subpart = 1;
  while (subpart < lead.bytes && subpart < text.size() &&
         lead.Accepts(subpart, text[subpart])) {
    ++subpart;
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
