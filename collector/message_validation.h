#ifndef EROOM_COLLECTOR_MESSAGE_VALIDATION_H_
#define EROOM_COLLECTOR_MESSAGE_VALIDATION_H_

#include <cstddef>
#include <cstdint>
#include <limits>

#include "absl/status/status.h"
#include "common/event_sequence.h"
#include "common/ids.h"
#include "eroom/monitor/v1/monitor.pb.h"

namespace eroom::collector {

// Limits on every field an agent sends. gRPC's max_message_bytes bounds a
// whole message before it is parsed; these bound what the collector stores
// and shows. A refused message closes the agent's stream and the agent
// resends it after reconnecting, so every limit must hold for anything a
// well-configured agent can produce: the text an agent copies out of a log
// line (message, logger, thread, field values, ruid) is bounded by its
// logs.max_event_bytes, which must not exceed kMaxLogTextBytes.

// Ids and host names: kIdBytes only (common/ids.h, also kMaxAgentIdBytes
// and kMaxCommandIdBytes).
inline constexpr size_t kMaxHostnameBytes = 253;
inline constexpr size_t kMaxVersionBytes = 64;
inline constexpr size_t kMaxLabels = 64;
inline constexpr size_t kMaxLabelKeyBytes = 128;
inline constexpr size_t kMaxLabelValueBytes = 1024;

// The agent's collector.batch_max_events can be configured up to this.
inline constexpr size_t kMaxEventsPerBatch = 100000;
inline constexpr uint64_t kMaxSequence = kMaxEventSequence;
inline constexpr uint64_t kMaxSequenceStep = kMaxEventSequenceStep;

inline constexpr size_t kMaxLogTextBytes = 1 << 20;
inline constexpr size_t kMaxPathBytes = 4096;  // PATH_MAX.
inline constexpr size_t kMaxEventTypeBytes = 128;
inline constexpr size_t kMaxLogFields = 64;
inline constexpr size_t kMaxLogFieldKeyBytes = 128;
// Log file offsets are stored in SQLite's signed 64-bit integers.
inline constexpr uint64_t kMaxFileOffset = std::numeric_limits<int64_t>::max();

inline constexpr size_t kMaxDisks = 64;
inline constexpr size_t kMaxProbeErrorBytes = 4096;
inline constexpr size_t kMaxHealthStatusBytes = 1024;
inline constexpr int32_t kMaxHttpStatus = 999;

inline constexpr size_t kMaxNoticeKindBytes = 128;
inline constexpr size_t kMaxNoticeMessageBytes = 64 * 1024;

inline constexpr size_t kMaxCommandProgressMessageBytes = 4096;
inline constexpr size_t kMaxCommandStepBytes = 64;

// Every timestamp lies within the years 0000 to 9999 (a log header's
// four-digit year), widened by a day for the host's time zone: far from
// where time arithmetic overflows.
inline constexpr int64_t kMinTimeUnixMs = -62167219200000 - 86400000;
inline constexpr int64_t kMaxTimeUnixMs = 253402300800000 + 86400000;

// OK if every field of `message` is within the limits above and means
// something to this collector: exactly one kind set, and in a batch events
// with a payload set, sequences from 1 to kMaxSequence strictly increasing
// by at most kMaxSequenceStep,
// known enum values, finite non-negative measurements. A newer agent's
// payloads or enum values are refused, so collectors are upgraded before
// agents. Otherwise InvalidArgument naming the field and the limit, e.g.
// "batch.events[3].log.message: 2097152 bytes, at most 1048576". Stream
// rules (hello first, once) are the stream's business, not checked here.
absl::Status ValidateAgentMessage(
    const eroom::monitor::v1::AgentMessage& message);

// The sequences of the batches of one stream, each already valid by
// ValidateAgentMessage: every batch must go on after the last sequence of
// the one before it, by at most kMaxSequenceStep. Not thread-safe.
class StreamSequences {
 public:
  // OK and remembers `batch`'s last sequence, or InvalidArgument naming the
  // first sequence of `batch`.
  absl::Status Continue(const eroom::monitor::v1::EventBatch& batch);

 private:
  uint64_t last_ = 0;  // 0: no batch yet.
};

}  // namespace eroom::collector

#endif  // EROOM_COLLECTOR_MESSAGE_VALIDATION_H_
