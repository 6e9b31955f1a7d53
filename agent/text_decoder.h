#ifndef EROOM_AGENT_TEXT_DECODER_H_
#define EROOM_AGENT_TEXT_DECODER_H_

#include <iconv.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace eroom::agent {

// Whether `encoding` names UTF-8 ("utf-8", "UTF8", ...): such a file needs
// no conversion, only the UTF-8 repair every line gets anyway.
bool IsUtf8EncodingName(std::string_view encoding);

// Converts the lines of a log file written in another encoding (ERoom hosts
// that ran on Windows wrote CP949) to UTF-8 with iconv. Each invalid byte
// sequence becomes U+FFFD and is counted, so a wrong encoding setting or a
// damaged file degrades visibly instead of failing. Not thread-safe (one
// iconv state); stateless between lines.
class TextDecoder {
 public:
  // InvalidArgument if iconv does not know `encoding` (e.g. "cp949").
  static absl::StatusOr<std::unique_ptr<TextDecoder>> Create(
      const std::string& encoding);
  ~TextDecoder();
  TextDecoder(const TextDecoder&) = delete;
  TextDecoder& operator=(const TextDecoder&) = delete;

  // Replaces `out` with `bytes` converted to UTF-8 and returns the number of
  // U+FFFD substitutions made. An incomplete character at the very end is
  // one of them, unless `cut_at_end` (the line was truncated there): then it
  // is left out silently.
  size_t Decode(std::string_view bytes, bool cut_at_end, std::string& out);

  const std::string& encoding() const { return encoding_; }

 private:
  TextDecoder(std::string encoding, iconv_t converter);

  const std::string encoding_;
  const iconv_t converter_;
};

}  // namespace eroom::agent

#endif  // EROOM_AGENT_TEXT_DECODER_H_
