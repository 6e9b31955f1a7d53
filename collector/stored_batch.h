#ifndef EROOM_COLLECTOR_STORED_BATCH_H_
#define EROOM_COLLECTOR_STORED_BATCH_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/metric_catalog.h"
#include "eroom/monitor/v1/monitor.pb.h"
#include "google/protobuf/arena.h"

namespace eroom::collector {

// A batch of events as the collector received it: parsed into an arena of
// its own (collector/agent_service.cc), whose few blocks are freed at once
// once the batch is stored. Freed one string at a time on the ingest thread
// after the gRPC thread allocated them, they took a tenth of the
// collector's CPU. A copy is made on the heap. A moved-from one holds no
// batch: it may only be assigned or destroyed.
class ReceivedEvents {
 public:
  // An empty batch on the heap.
  ReceivedEvents() : batch_(new eroom::monitor::v1::EventBatch) {}
  // `batch`, allocated in `arena`, which goes with it.
  ReceivedEvents(std::unique_ptr<google::protobuf::Arena> arena,
                 eroom::monitor::v1::EventBatch* batch)
      : batch_(batch, Deleter{std::move(arena)}) {}
  ReceivedEvents(const ReceivedEvents& other)
      : batch_(new eroom::monitor::v1::EventBatch(*other)) {}
  ReceivedEvents& operator=(const ReceivedEvents& other) {
    if (this != &other)
      batch_.reset(new eroom::monitor::v1::EventBatch(*other));
    return *this;
  }
  ReceivedEvents(ReceivedEvents&&) = default;
  ReceivedEvents& operator=(ReceivedEvents&&) = default;

  eroom::monitor::v1::EventBatch& operator*() const { return *batch_; }
  eroom::monitor::v1::EventBatch* operator->() const { return batch_.get(); }

 private:
  // Frees the arena the batch is in, or without one the batch.
  struct Deleter {
    std::unique_ptr<google::protobuf::Arena> arena;
    void operator()(eroom::monitor::v1::EventBatch* batch) const {
      if (arena == nullptr) delete batch;
    }
  };
  std::unique_ptr<eroom::monitor::v1::EventBatch, Deleter> batch_;
};

// Events one agent sent in one message.
struct AgentBatch {
  std::string agent_id;
  ReceivedEvents batch;
};

// The metric values derived from one stored event.
struct DerivedMetrics {
  std::string agent_id;
  uint64_t sequence = 0;  // Of the event they came from.
  int64_t time_unix_ms = 0;
  std::vector<MetricValue> values;
};

// Where one agent stands once a stored batch is applied.
struct HostProgress {
  std::string agent_id;
  uint64_t last_sequence = 0;  // Highest sequence stored, this batch included.
  absl::Time last_seen;
  // The newest of each kind in this batch; unset: keep the stored one.
  std::optional<eroom::monitor::v1::ResourceSample> latest_sample;
  std::optional<eroom::monitor::v1::ProbeResult> latest_health;
  std::optional<eroom::monitor::v1::ProbeResult> latest_queue;
};

// Sequences an agent skipped: events it lost before sending them. Reported,
// never refused.
struct SequenceGaps {
  std::string agent_id;
  uint64_t count = 0;
  uint64_t first_expected = 0;  // The sequence expected at the first gap...
  uint64_t first_received = 0;  // ...and the one that arrived instead.
};

// Command progress an agent reported, stored against its command.
struct StoredCommandProgress {
  std::string agent_id;
  eroom::monitor::v1::CommandProgress progress;
};

// What one storage transaction writes, decided by ingest (collector/
// ingest.h): storage applies it as it is, and observers see exactly it.
struct StoredBatch {
  absl::Time received;  // When the collector took these events in.
  // Only events never stored before, in arrival order; a received batch
  // whose events were all stored already is left out.
  std::vector<AgentBatch> batches;
  std::vector<DerivedMetrics> metrics;  // In event order.
  // One per agent that sent a batch, even one with no new event.
  std::vector<HostProgress> hosts;
  std::vector<SequenceGaps> gaps;  // Agents whose sequences jumped.
  std::vector<StoredCommandProgress> command_progress;  // In arrival order.
  // Audit records of command requests and of the progress above.
  std::vector<eroom::monitor::v1::AuditRecord> audit;
};

// InvalidArgument if a host or batch of `batch` names no agent: every
// backend refuses such a batch whole, before storing any of it.
inline absl::Status RequireAgentIds(const StoredBatch& batch) {
  for (const HostProgress& host : batch.hosts) {
    if (host.agent_id.empty()) {
      return absl::InvalidArgumentError("stored batch without agent_id");
    }
  }
  for (const AgentBatch& agent_batch : batch.batches) {
    if (agent_batch.agent_id.empty()) {
      return absl::InvalidArgumentError("event batch without agent_id");
    }
  }
  return absl::OkStatus();
}

}  // namespace eroom::collector

#endif  // EROOM_COLLECTOR_STORED_BATCH_H_
