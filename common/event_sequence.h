#ifndef EROOM_COMMON_EVENT_SEQUENCE_H_
#define EROOM_COMMON_EVENT_SEQUENCE_H_

#include <cstdint>

namespace eroom {

// The bounds of the sequence numbers an agent gives its events, which both
// ends of the agent stream enforce on what the other sends.
//
// The highest sequence either side accepts: far below where SQLite's signed
// 64-bit integers and the agent's renumbering (sequence + count) overflow,
// and at a million events a second still 146,000 years away.
inline constexpr uint64_t kMaxEventSequence = uint64_t{1} << 62;
// The largest step from one event to the next on one stream. Sequences
// leave gaps only where an agent's full spool dropped events, never four
// billion of them.
inline constexpr uint64_t kMaxEventSequenceStep = uint64_t{1} << 32;

}  // namespace eroom

#endif  // EROOM_COMMON_EVENT_SEQUENCE_H_
