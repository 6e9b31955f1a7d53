#ifndef EROOM_COLLECTOR_INGEST_H_
#define EROOM_COLLECTOR_INGEST_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "collector/ingest_rules.h"
#include "collector/retention.h"
#include "collector/storage.h"
#include "collector/stored_batch.h"
#include "common/bounded_queue.h"
#include "common/clock.h"
#include "eroom/monitor/v1/monitor.pb.h"

namespace eroom::collector {

// How the ingest pipeline answers the agent stream an item came from.
// OnRegistered and OnIngestFailed are called on the ingest thread, OnStored
// on its answer thread, in commit order; a failure may overtake the OnStored
// of an earlier commit: the stream ends, and its agent resends what it has
// not seen acknowledged. Implementations must not block.
class StreamLink {
 public:
  virtual ~StreamLink() = default;
  // The hello's answer: the last stored sequence, and the log resume points
  // if the hello asked for them.
  virtual void OnRegistered(eroom::monitor::v1::HelloAck ack) = 0;
  // Once per transaction: `batches` of the stream's batches were in it.
  // `batch_interval` is the pacing the agent is asked to keep (Ack).
  virtual void OnStored(uint64_t stored_through_sequence, size_t batches,
                        absl::Duration batch_interval) = 0;
  virtual void OnIngestFailed(const absl::Status& status) = 0;
};

// Sees what the ingest thread stored, right after each write committed, on
// the ingest thread. This is where the rule engine, `logs -f` and /metrics
// observe stored data; an observer must not block (hand work to your own
// thread).
class IngestObserver {
 public:
  virtual ~IngestObserver() = default;
  // Exactly what one transaction stored: a redelivered event is never seen
  // twice.
  virtual void OnStored(const StoredBatch& batch) = 0;
  // An agent's stream said hello and the agent is recorded as connected.
  virtual void OnRegistered(const eroom::monitor::v1::AgentHello& /*hello*/,
                            absl::Time /*at*/) {}
  // An agent's stream ended (whether or not storage could record it).
  virtual void OnDisconnected(const std::string& /*agent_id*/,
                              absl::Time /*at*/) {}
};

// One unit of work for the ingest thread.
struct IngestItem {
  enum class Kind {
    kHello,
    kBatch,
    kDisconnect,
    kCommandRequested,
    kCommandProgress,
    kAudit,
  };
  Kind kind = Kind::kBatch;
  std::string agent_id;
  eroom::monitor::v1::AgentHello hello;  // kHello
  ReceivedEvents batch;                  // kBatch
  // kCommandRequested: the record to store (state unspecified, no progress)
  // and what to call, on the ingest thread, once it committed (OK) or
  // failed (its status).
  eroom::monitor::v1::CommandRecord command;
  std::function<void(absl::Status)> on_recorded;
  // kCommandProgress: received on the stream of agent `agent_id`. Stored if
  // the command exists and was sent to that agent, and audited as reported
  // by `actor` (collector/command_audit.h); otherwise dropped, counted and
  // logged (the stream goes on).
  eroom::monitor::v1::CommandProgress progress;
  std::string actor = "agent";
  // kAudit: a record to append to the audit trail.
  eroom::monitor::v1::AuditRecord audit;
  // Null for kDisconnect and kCommandRequested; may be null for
  // kCommandProgress.
  std::shared_ptr<StreamLink> link;
  // kHello, kDisconnect: whether the item still tells how the agent is
  // connected when the ingest thread gets to it (a newer stream may have
  // replaced the hello's, or connected after the disconnect); if not, it
  // is skipped. Null: always.
  std::function<bool()> current;
};

// The single writer: a named thread that takes items from a bounded queue in
// arrival order, decides what consecutive batches and command progress
// store (collector/ingest_rules.h) and stores them in one transaction, and
// answers each stream only after that transaction committed. Acks are
// written, and stored batches freed, by a second thread ("ingest-answers"):
// at 3,000 agents writing acks to sockets and freeing batches took a tenth
// of the writer's CPU.
class IngestPipeline {
 public:
  struct Options {
    size_t queue_capacity = 4096;
    size_t max_events_per_transaction = 20000;
    // Each batch costs about as much as the index pages of its host that
    // it rewrites, however few its events: at 3,000 agents sending ten
    // events a batch, a round of 1,400 batches took 230 ms before any was
    // answered. Bounding batches too lets the first acks of such a round go
    // out after a fraction of it; an agent sending at full speed fills
    // batches of 2,000 events and meets the event limit first.
    size_t max_batches_per_transaction = 256;
    // A round's acks go out at its commit, and a batch that arrives while a
    // round is stored waits for it and then its own round: a round is split
    // into two transactions so that its first half is answered after about
    // half of it, but none holds fewer batches than this, so that a writer
    // past capacity, whose rounds are long, does not also commit more often
    // than it must.
    size_t min_batches_per_transaction = 64;
    // Run by the ingest thread after each round of transactions (and when
    // idle), if given.
    RetentionSweeper* retention = nullptr;
    // Batches per second the connected streams share: each ack asks its
    // agent to leave (connected streams / this) seconds between batches
    // that are not full, at most kMaxBatchInterval. 0: no pacing.
    size_t batches_per_second = 0;
    // While items keep coming, rounds of transactions start at most this
    // often: items taken sooner wait for those that come meanwhile (until
    // the queue is full), so that one commit serves them all. A round
    // after a quiet spell starts at once. 0: every round starts at once.
    absl::Duration commit_interval = absl::ZeroDuration();
  };
  static constexpr absl::Duration kMaxBatchInterval = absl::Seconds(2);

  // Writes through `storage`; reads it only to answer a hello that asks
  // where its logs resume.
  IngestPipeline(Storage& storage, const Clock& clock, Options options,
                 std::vector<IngestObserver*> observers);
  ~IngestPipeline();

  // Never blocks; false when the queue is full or the pipeline stopped. A
  // kDisconnect is queued even when full: each follows a hello that took
  // its place, and a lost one would leave the host connected for good.
  bool Submit(IngestItem item);

  enum class Admission { kQueued, kWaiting, kStopped };
  // For agent streams, which stop reading while an item of theirs waits:
  // flow control instead of a failed stream when ingest falls behind.
  // Queues `item` (kQueued), or, when the queue is full or other items
  // already wait, keeps it (kWaiting) and queues it when its turn comes, in
  // the order items came to wait, then calls `on_queued` on the ingest
  // thread (it must not block). Waiting items are dropped at Stop, without
  // a call.
  Admission SubmitOrWait(IngestItem item, std::function<void()> on_queued);

  void Start();
  // Stores everything already submitted, then joins the thread.
  void Stop();

  // Items waiting for the ingest thread.
  size_t queue_depth() const { return queue_.size(); }
  // Items (one per agent stream at most) waiting for room in that queue.
  size_t waiting_for_room() const {
    absl::MutexLock lock(&waiting_mu_);
    return waiting_.size();
  }

  // Command progress dropped because its command is unknown or belongs to
  // another agent.
  uint64_t dropped_command_progress() const {
    return dropped_command_progress_.load();
  }

 private:
  // What one transaction tells its streams, with what it stored: the items
  // keep the links alive, and both are freed once answered.
  struct Answers {
    struct StreamAck {
      StreamLink* link;
      uint64_t stored_through_sequence;
      size_t batches;
    };
    std::vector<StreamAck> acks;
    absl::Duration batch_interval;
    std::vector<IngestItem> items;
    StoredBatch stored;
  };
  // Commits whose acks are not written yet; past this many the writer
  // waits for the answer thread.
  static constexpr size_t kAnswerQueueCapacity = 64;

  void Run();
  void RunAnswers();
  // Adds to `items` what comes until the commit interval since the last
  // round's start has passed or the queue is full.
  void GatherRound(std::vector<IngestItem>& items);
  // Moves waiting items into the queue while it has room.
  void QueueWaiting();
  void StoreGroup(std::vector<IngestItem>& group);
  // The most batches a transaction of a round of `items` holds.
  size_t BatchesPerTransaction(const std::vector<IngestItem>& items) const;
  // Runs the retention sweeper, if any; true if it has more to do now.
  bool RunRetention();
  absl::StatusOr<StoredBatch> Decide(std::vector<IngestItem>& group);
  absl::Status LearnStoredSequence(const std::string& agent_id);
  // The command `item`'s progress belongs to, or nullopt if it is not one
  // sent to the item's agent.
  absl::StatusOr<std::optional<eroom::monitor::v1::CommandRecord>>
  AcceptProgress(const IngestItem& item);
  // Registers consecutive hellos in one write, answers each, and clears
  // `hellos`.
  void RegisterHellos(std::vector<IngestItem>& hellos);
  void AnswerHello(IngestItem& item, uint64_t last_stored, absl::Time now);
  // Disconnects and recorded commands, one at a time.
  void Handle(IngestItem& item);
  // The pacing asked of agents now (Options::batches_per_second).
  absl::Duration BatchInterval() const;

  Storage& storage_;
  const Clock& clock_;
  const Options options_;
  const std::vector<IngestObserver*> observers_;
  BoundedQueue<IngestItem> queue_;
  struct WaitingItem {
    IngestItem item;
    std::function<void()> on_queued;
  };
  // Also serializes SubmitOrWait's pushes with QueueWaiting, so that an
  // item never passes one that waits.
  mutable absl::Mutex waiting_mu_;
  std::deque<WaitingItem> waiting_ ABSL_GUARDED_BY(waiting_mu_);
  bool waiting_closed_ ABSL_GUARDED_BY(waiting_mu_) = false;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> dropped_command_progress_{0};
  // Owned by the ingest thread: the single writer knows every agent's
  // highest stored sequence once it has looked it up.
  StoredSequences stored_sequences_;
  // Streams whose hello came and whose disconnect has not.
  size_t connected_streams_ = 0;
  absl::Time last_round_start_ = absl::InfinitePast();
  BoundedQueue<Answers> answers_{kAnswerQueueCapacity};
  std::thread thread_;
  std::thread answer_thread_;
};

}  // namespace eroom::collector

#endif  // EROOM_COLLECTOR_INGEST_H_
