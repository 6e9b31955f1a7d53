#ifndef EROOM_COMMON_IDS_H_
#define EROOM_COMMON_IDS_H_

#include <cstddef>

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

}  // namespace eroom

#endif  // EROOM_COMMON_IDS_H_
