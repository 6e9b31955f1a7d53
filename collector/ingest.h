#ifndef EROOM_COLLECTOR_INGEST_H_
#define EROOM_COLLECTOR_INGEST_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "collector/storage.h"
#include "collector/stored_batch.h"
#include "common/bounded_queue.h"
#include "common/clock.h"
#include "eroom/monitor/v1/monitor.pb.h"

namespace eroom::collector {

// How the ingest thread answers the agent stream an item came from. Called
// on the ingest thread; implementations must not block.
class StreamLink {
 public:
  virtual ~StreamLink() = default;
  virtual void OnRegistered(uint64_t last_stored_sequence) = 0;
  virtual void OnStored(uint64_t stored_through_sequence) = 0;
  virtual void OnIngestFailed(const absl::Status& status) = 0;
};

// Sees exactly what each commit stored, right after it, on the ingest
// thread. This is where the rule engine observes stored data; an observer
// must not block (hand work to your own thread).
class IngestObserver {
 public:
  virtual ~IngestObserver() = default;
  virtual void OnStored(const StoredBatch& stored) = 0;
};

// One unit of work for the ingest thread.
struct IngestItem {
  enum class Kind {
    kHello,
    kBatch,
    kDisconnect,
    kCommandRequested,
    kCommandProgress
  };
  Kind kind = Kind::kBatch;
  std::string agent_id;
  eroom::monitor::v1::AgentHello hello;  // kHello
  eroom::monitor::v1::EventBatch batch;  // kBatch
  // kCommandRequested: the record as requested (no state, no progress), and
  // what to call on the ingest thread once it committed or failed.
  eroom::monitor::v1::CommandRecord command;
  std::function<void(absl::Status)> on_recorded;
  // kCommandProgress: a step received on agent `agent_id`'s stream.
  eroom::monitor::v1::CommandProgress progress;
  // Null for kDisconnect and kCommandRequested; may be null for
  // kCommandProgress.
  std::shared_ptr<StreamLink> link;
};

// The single writer: a named thread that takes items from a bounded queue in
// arrival order, stores consecutive batches in one transaction, and answers
// each stream only after that transaction committed.
class IngestPipeline {
 public:
  struct Options {
    size_t queue_capacity = 4096;
    size_t max_events_per_transaction = 20000;
  };

  IngestPipeline(Storage& storage, const Clock& clock, Options options,
                 std::vector<IngestObserver*> observers);
  ~IngestPipeline();

  // Never blocks; false when the queue is full or the pipeline stopped.
  bool Submit(IngestItem item);

  void Start();
  // Stores everything already submitted, then joins the thread.
  void Stop();

 private:
  void Run();
  void StoreGroup(std::vector<IngestItem>& group);
  void Handle(IngestItem& item);
  void Notify(const StoredBatch& stored);

  Storage& storage_;
  const Clock& clock_;
  const Options options_;
  const std::vector<IngestObserver*> observers_;
  BoundedQueue<IngestItem> queue_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace eroom::collector

#endif  // EROOM_COLLECTOR_INGEST_H_
