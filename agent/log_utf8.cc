#include "agent/log_utf8.h"

#include <cstdint>
#include <cstring>

namespace eroom::agent {
namespace {

constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";

bool IsContinuation(uint8_t byte) { return (byte & 0xC0) == 0x80; }

// Length of the well-formed sequence starting at text[pos], or 0 if it is
// ill-formed; then `*subpart` is the length of its maximal ill-formed subpart
// (at least 1), which one U+FFFD replaces.
size_t SequenceLength(std::string_view text, size_t pos, size_t* subpart) {
  const uint8_t lead = static_cast<uint8_t>(text[pos]);
  *subpart = 1;
  if (lead < 0x80) return 1;
  size_t length;
  // The second byte's valid range is narrower for some leads: that excludes
  // overlong forms, surrogates and code points above U+10FFFF.
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
    return 0;
  }
  for (size_t i = 1; i < length; ++i) {
    if (pos + i >= text.size()) return 0;
    const uint8_t byte = static_cast<uint8_t>(text[pos + i]);
    const bool valid = i == 1 ? byte >= second_min && byte <= second_max
                              : IsContinuation(byte);
    if (!valid) return 0;
    *subpart = i + 1;
  }
  return length;
}

// Position of the first ill-formed sequence, or text.size(). Log text is
// mostly ASCII, so it is skipped a word at a time.
size_t FirstInvalid(std::string_view text) {
  constexpr uint64_t kHighBits = 0x8080808080808080ULL;
  size_t pos = 0;
  while (pos < text.size()) {
    if (text.size() - pos >= sizeof(uint64_t)) {
      uint64_t word;
      std::memcpy(&word, text.data() + pos, sizeof(word));
      if ((word & kHighBits) == 0) {
        pos += sizeof(word);
        continue;
      }
    }
    if (static_cast<uint8_t>(text[pos]) < 0x80) {
      ++pos;
      continue;
    }
    size_t subpart;
    const size_t length = SequenceLength(text, pos, &subpart);
    if (length == 0) return pos;
    pos += length;
  }
  return pos;
}

}  // namespace

bool IsValidUtf8(std::string_view text) {
  return FirstInvalid(text) == text.size();
}

size_t RepairUtf8(std::string& text) {
  size_t pos = FirstInvalid(text);
  if (pos == text.size()) return 0;
  std::string repaired(text, 0, pos);
  repaired.reserve(text.size() + kReplacementCharacter.size());
  size_t replacements = 0;
  while (pos < text.size()) {
    size_t subpart;
    const size_t length = SequenceLength(text, pos, &subpart);
    if (length > 0) {
      repaired.append(text, pos, length);
      pos += length;
    } else {
      repaired.append(kReplacementCharacter);
      ++replacements;
      pos += subpart;
    }
  }
  text = std::move(repaired);
  return replacements;
}

bool TruncateUtf8(std::string& text, size_t max_bytes) {
  if (text.size() <= max_bytes) return false;
  size_t cut = max_bytes;
  while (cut > 0 && IsContinuation(static_cast<uint8_t>(text[cut]))) --cut;
  text.resize(cut);
  return true;
}

}  // namespace eroom::agent
