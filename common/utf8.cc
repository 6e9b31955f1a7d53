#include "common/utf8.h"

#include <cstring>

namespace eroom {

size_t FirstIllFormedUtf8(absl::string_view text) {
  // Log text is mostly ASCII: it is skipped a word at a time.
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
    const std::optional<Utf8Character> character =
        FirstUtf8Character(text.substr(pos));
    if (!character.has_value()) return pos;
    pos += character->bytes;
  }
  return pos;
}

}  // namespace eroom
