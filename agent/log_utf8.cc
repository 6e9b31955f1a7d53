#include "agent/log_utf8.h"

#include <optional>

#include "absl/strings/string_view.h"
#include "common/utf8.h"

namespace eroom::agent {
namespace {

constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";

}  // namespace

size_t RepairUtf8(std::string& text) {
  size_t pos = FirstIllFormedUtf8(text);
  if (pos == text.size()) return 0;
  std::string repaired(text, 0, pos);
  repaired.reserve(text.size() + kReplacementCharacter.size());
  size_t replacements = 0;
  while (pos < text.size()) {
    const absl::string_view rest = absl::string_view(text).substr(pos);
    if (const std::optional<Utf8Character> character =
            FirstUtf8Character(rest)) {
      repaired.append(rest.data(), character->bytes);
      pos += character->bytes;
    } else {
      repaired.append(kReplacementCharacter);
      ++replacements;
      pos += IllFormedUtf8Length(rest);
    }
  }
  text = std::move(repaired);
  return replacements;
}

bool TruncateUtf8(std::string& text, size_t max_bytes) {
  if (text.size() <= max_bytes) return false;
  text.resize(Utf8Prefix(text, max_bytes).size());
  return true;
}

}  // namespace eroom::agent
