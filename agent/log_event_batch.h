#ifndef EROOM_AGENT_LOG_EVENT_BATCH_H_
#define EROOM_AGENT_LOG_EVENT_BATCH_H_

#include <cstddef>
#include <vector>

#include "absl/types/span.h"
#include "eroom/monitor/v1/monitor.pb.h"

namespace eroom::agent {

// The events of one commit, kept from one commit to the next: allocating
// and freeing each event's strings (about nine blocks) took about as long
// as the rest of turning a line into an event. An event added is swapped into
// an event of an earlier batch, and the caller gets that one back to clear
// and build its next event in: its strings keep their capacity. Clearing is
// left to the caller, which clears whatever its consumer left it (clearing
// twice took a tenth of the pipeline's time).
//
// Events whose strings are longer than kMaxKeptTextBytes in all (a stack
// trace, a huge line) are freed when the batch is cleared instead: the
// events beyond a small batch wait for a larger one, and in time every
// event of a batch of 1,000 could hold such a message.
class LogEventBatch {
 public:
  // Takes `event`'s content. `event` is left holding an event of an earlier
  // batch (or none), to be cleared before it is used.
  void Add(eroom::monitor::v1::LogEvent&& event);

  // Empties the batch. Its events are kept for the next Add()s.
  void Clear();

  // Valid until the next Add().
  absl::Span<const eroom::monitor::v1::LogEvent> events() const {
    return absl::MakeConstSpan(events_.data(), size_);
  }
  // For a consumer that takes what it needs out of the events (the spool):
  // the caller clears each event it gets back anyway.
  absl::Span<eroom::monitor::v1::LogEvent> mutable_events() {
    return absl::MakeSpan(events_.data(), size_);
  }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // The events' message bytes (what bounds a commit's size).
  size_t message_bytes() const { return message_bytes_; }

  // An ordinary event's strings take a few hundred bytes.
  static constexpr size_t kMaxKeptTextBytes = 1024;

 private:
  // The batch, then the events of earlier batches not reused yet.
  std::vector<eroom::monitor::v1::LogEvent> events_;
  size_t size_ = 0;
  size_t message_bytes_ = 0;
  // Those of the batch with more than kMaxKeptTextBytes, by index.
  std::vector<size_t> long_events_;
};

}  // namespace eroom::agent

#endif  // EROOM_AGENT_LOG_EVENT_BATCH_H_
