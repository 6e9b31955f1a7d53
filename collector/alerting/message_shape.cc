#include "collector/alerting/message_shape.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "common/utf8.h"

namespace eroom::collector::alerting {
namespace {

constexpr size_t kMaxShapeBytes = 200;

bool IsWordChar(char c) { return absl::ascii_isalnum(c) || c == '_'; }

bool AllHex(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return absl::ascii_isxdigit(c);
  });
}

// Whether `text` starts with a UUID (8-4-4-4-12 hex digits) that is a whole
// word.
bool StartsWithUuid(std::string_view text) {
  constexpr size_t kGroups[] = {8, 4, 4, 4, 12};
  size_t at = 0;
  for (size_t group : kGroups) {
    if (at > 0) {
      if (at >= text.size() || text[at] != '-') return false;
      ++at;
    }
    if (text.size() < at + group || !AllHex(text.substr(at, group))) {
      return false;
    }
    at += group;
  }
  return at == text.size() || !IsWordChar(text[at]);
}

void AppendMaskedWord(std::string_view word, std::string& shape) {
  if (word.starts_with("room_") && AllHex(word.substr(5))) {
    shape.append("<ruid>");
    return;
  }
  if ((word.starts_with("0x") || word.starts_with("0X")) &&
      AllHex(word.substr(2))) {
    shape.append("<hex>");
    return;
  }
  const bool has_digit = std::any_of(
      word.begin(), word.end(), [](char c) { return absl::ascii_isdigit(c); });
  const bool has_letter = std::any_of(
      word.begin(), word.end(), [](char c) { return absl::ascii_isalpha(c); });
  if (word.size() >= 8 && AllHex(word) && has_digit && has_letter) {
    shape.append("<hex>");
    return;
  }
  for (size_t i = 0; i < word.size();) {
    if (!absl::ascii_isdigit(word[i])) {
      shape.push_back(word[i++]);
      continue;
    }
    while (i < word.size() && absl::ascii_isdigit(word[i])) ++i;
    shape.append("<n>");
  }
}

}  // namespace

std::string MessageShape(std::string_view message) {
  std::string_view line = message.substr(0, message.find('\n'));
  while (!line.empty() && absl::ascii_isspace(line.back())) {
    line.remove_suffix(1);
  }
  std::string shape;
  for (size_t i = 0; i < line.size() && shape.size() <= kMaxShapeBytes;) {
    if (!IsWordChar(line[i])) {
      shape.push_back(line[i++]);
      continue;
    }
    if (StartsWithUuid(line.substr(i))) {
      shape.append("<uuid>");
      i += 36;
      continue;
    }
    size_t end = i;
    while (end < line.size() && IsWordChar(line[end])) ++end;
    AppendMaskedWord(line.substr(i, end - i), shape);
    i = end;
  }
  shape.resize(Utf8Prefix(shape, kMaxShapeBytes).size());
  return shape;
}

}  // namespace eroom::collector::alerting
