#ifndef EROOM_AGENT_LOG_UTF8_H_
#define EROOM_AGENT_LOG_UTF8_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace eroom::agent {

// Log files are UTF-8 in theory only (hosts that ran on Windows wrote CP949,
// a cut can split a character), while protobuf string fields must be valid
// UTF-8 or serialization fails. These helpers make text safe to send
// (common/utf8.h tells whether it is).

// Replaces each ill-formed sequence in `text` with U+FFFD, one per maximal
// ill-formed subpart (the Unicode/WHATWG convention), and returns how many
// replacements were made. Well-formed text (NUL included) is left untouched
// and causes no allocation.
size_t RepairUtf8(std::string& text);

// Shortens well-formed `text` to at most `max_bytes` without splitting a
// character. Returns whether anything was cut.
bool TruncateUtf8(std::string& text, size_t max_bytes);

}  // namespace eroom::agent

#endif  // EROOM_AGENT_LOG_UTF8_H_
