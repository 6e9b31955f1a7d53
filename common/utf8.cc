#include "common/utf8.h"

#include <bit>
#include <cstring>

namespace eroom {

size_t FirstIllFormedUtf8(absl::string_view text) {
  // Log text is mostly ASCII: it is skipped a word at a time, up to the
  // word's first byte that is not. The characters that are not are only
  // checked, never decoded: the agent checks every line it reads and the
  // collector every log event it receives, much of them Korean.
  constexpr uint64_t kHighBits = 0x8080808080808080ULL;
  const size_t size = text.size();
  size_t pos = 0;
  while (pos < size) {
    if (size - pos >= sizeof(uint64_t)) {
      uint64_t word;
      std::memcpy(&word, text.data() + pos, sizeof(word));
      const uint64_t high = word & kHighBits;
      if (high == 0) {
        pos += sizeof(word);
        continue;
      }
      const int bits_before = std::endian::native == std::endian::little
                                  ? std::countr_zero(high)
                                  : std::countl_zero(high);
      pos += static_cast<size_t>(bits_before) / 8;
    } else if (static_cast<uint8_t>(text[pos]) < 0x80) {
      ++pos;
      continue;
    }
    const utf8_internal::Lead lead = utf8_internal::LeadOf(text[pos]);
    if (lead.bytes == 0 || size - pos < lead.bytes) return pos;
    for (size_t i = 1; i < lead.bytes; ++i) {
      if (!lead.Accepts(i, text[pos + i])) return pos;
    }
    pos += lead.bytes;
  }
  return pos;
}

}  // namespace eroom
