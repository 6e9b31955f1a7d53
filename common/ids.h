#ifndef EROOM_COMMON_IDS_H_
#define EROOM_COMMON_IDS_H_

#include <cstddef>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"

namespace eroom {

// Ids that agents and the collector exchange (agent ids, command ids,
// notice kinds, label and field keys) are echoed in logs, progress reports
// and terminals: made of these bytes only, they are inert there.
inline constexpr char kIdBytes[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-";
// kIdBytes in words, for problems: "byte 0x20 at offset 3 is not ...".
inline constexpr char kIdBytesDescription[] =
    "a letter, digit, '.', '_' or '-'";

// Agent ids are host names or operator-chosen names, as long as a fully
// qualified host name.
inline constexpr size_t kMaxAgentIdBytes = 253;
// A UUID fits.
inline constexpr size_t kMaxCommandIdBytes = 64;

// OK if `value`, the id in `field`, is not empty, at most `max_bytes` long
// and only kIdBytes. Otherwise InvalidArgument naming `field` and the
// problem; never echoes the value, which is not known to be inert.
inline absl::Status CheckId(absl::string_view field, absl::string_view value,
                            size_t max_bytes) {
  if (value.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": empty"));
  }
  if (value.size() > max_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", value.size(), " bytes, at most ", max_bytes));
  }
  if (const size_t bad = value.find_first_not_of(kIdBytes);
      bad != absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: byte 0x%02x at offset %d is not %s", field,
        static_cast<unsigned char>(value[bad]), bad, kIdBytesDescription));
  }
  return absl::OkStatus();
}

}  // namespace eroom

#endif  // EROOM_COMMON_IDS_H_
