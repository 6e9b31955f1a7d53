#include "agent/text_decoder.h"

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace eroom::agent {
namespace {

constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";
const iconv_t kInvalidConverter = reinterpret_cast<iconv_t>(-1);

}  // namespace

bool IsUtf8EncodingName(std::string_view encoding) {
  const std::string name = absl::AsciiStrToLower(
      absl::string_view(encoding.data(), encoding.size()));
  return name == "utf-8" || name == "utf8";
}

absl::StatusOr<std::unique_ptr<TextDecoder>> TextDecoder::Create(
    const std::string& encoding) {
  const iconv_t converter = iconv_open("UTF-8", encoding.c_str());
  if (converter == kInvalidConverter) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown encoding '", encoding, "' (`iconv -l` lists the known ones)"));
  }
  return std::unique_ptr<TextDecoder>(new TextDecoder(encoding, converter));
}

TextDecoder::TextDecoder(std::string encoding, iconv_t converter)
    : encoding_(std::move(encoding)), converter_(converter) {}

TextDecoder::~TextDecoder() { iconv_close(converter_); }

size_t TextDecoder::Decode(std::string_view bytes, bool cut_at_end,
                           std::string& out) {
  // Enough for the usual case (a byte becomes at most 3 UTF-8 bytes, U+FFFD
  // included); an exotic encoding that needs more grows the buffer below.
  out.resize(bytes.size() * 3);
  iconv(converter_, nullptr, nullptr, nullptr, nullptr);  // Initial state.
  char* in = const_cast<char*>(bytes.data());
  size_t in_left = bytes.size();
  size_t written = 0;
  size_t replacements = 0;
  while (in_left > 0) {
    char* dst = out.data() + written;
    size_t out_left = out.size() - written;
    const size_t result = iconv(converter_, &in, &in_left, &dst, &out_left);
    const int error = errno;
    written = dst - out.data();
    if (result != static_cast<size_t>(-1)) break;
    if (error == E2BIG || out.size() - written < kReplacementCharacter.size()) {
      out.resize(out.size() * 2 + kReplacementCharacter.size());
      continue;
    }
    // EINVAL: the input ends inside a character.
    if (error == EINVAL && cut_at_end) break;
    out.replace(written, kReplacementCharacter.size(), kReplacementCharacter);
    written += kReplacementCharacter.size();
    ++replacements;
    if (error != EILSEQ) break;
    // Skipping one byte resynchronises: a valid lead byte followed by an
    // invalid trail byte loses only the lead (the trail may be ASCII).
    ++in;
    --in_left;
  }
  out.resize(written);
  return replacements;
}

}  // namespace eroom::agent
