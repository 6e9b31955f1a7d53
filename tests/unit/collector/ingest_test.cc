#include "collector/ingest.h"

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/collector/fake_storage.h"
#include "tests/unit/test_support/fake_clock.h"
#include "tests/unit/test_support/poll_until.h"
#include "tests/unit/test_support/status_matchers.h"

namespace eroom::collector {
namespace {
namespace v1 = ::eroom::monitor::v1;

using ::eroom::test_support::IsOk;
using ::eroom::test_support::StatusIs;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

class RecordingLink final : public StreamLink {
 public:
  void OnRegistered(v1::HelloAck ack) override {
    absl::MutexLock lock(&mu_);
    registered_ = ack.last_stored_sequence();
    ack_ = std::move(ack);
  }
  void OnStored(uint64_t through, size_t batches,
                absl::Duration batch_interval) override {
    absl::MutexLock lock(&mu_);
    stored_.push_back(through);
    acked_batches_ += batches;
    batch_intervals_.push_back(batch_interval);
  }
  void OnIngestFailed(const absl::Status& status) override {
    absl::MutexLock lock(&mu_);
    failure_ = status;
  }
  std::optional<uint64_t> registered() {
    absl::MutexLock lock(&mu_);
    return registered_;
  }
  v1::HelloAck ack() {
    absl::MutexLock lock(&mu_);
    return ack_;
  }
  std::vector<uint64_t> stored() {
    absl::MutexLock lock(&mu_);
    return stored_;
  }
  size_t acked_batches() {
    absl::MutexLock lock(&mu_);
    return acked_batches_;
  }
  std::vector<absl::Duration> batch_intervals() {
    absl::MutexLock lock(&mu_);
    return batch_intervals_;
  }
  absl::Status failure() {
    absl::MutexLock lock(&mu_);
    return failure_;
  }

 private:
  absl::Mutex mu_;
  std::optional<uint64_t> registered_ ABSL_GUARDED_BY(mu_);
  v1::HelloAck ack_ ABSL_GUARDED_BY(mu_);
  std::vector<uint64_t> stored_ ABSL_GUARDED_BY(mu_);
  size_t acked_batches_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<absl::Duration> batch_intervals_ ABSL_GUARDED_BY(mu_);
  absl::Status failure_ ABSL_GUARDED_BY(mu_);
};

// Remembers the sequences of every event it was told was stored, and the
// hellos and disconnects it saw.
class RecordingObserver final : public IngestObserver {
 public:
  void OnStored(const StoredBatch& stored) override {
    absl::MutexLock lock(&mu_);
    ++commits_;
    for (const AgentBatch& batch : stored.batches) {
      for (const v1::Event& event : batch.batch->events()) {
        sequences_.push_back(event.sequence());
      }
    }
    for (const StoredCommandProgress& progress : stored.command_progress) {
      progress_.push_back(progress.progress.command_id());
    }
  }
  void OnRegistered(const v1::AgentHello& hello, absl::Time) override {
    absl::MutexLock lock(&mu_);
    seen_.push_back("hello " + hello.agent_id());
  }
  void OnDisconnected(const std::string& agent_id, absl::Time) override {
    absl::MutexLock lock(&mu_);
    seen_.push_back("gone " + agent_id);
  }
  int commits() {
    absl::MutexLock lock(&mu_);
    return commits_;
  }
  std::vector<uint64_t> sequences() {
    absl::MutexLock lock(&mu_);
    return sequences_;
  }
  std::vector<std::string> progress() {
    absl::MutexLock lock(&mu_);
    return progress_;
  }
  std::vector<std::string> seen() {
    absl::MutexLock lock(&mu_);
    return seen_;
  }

 private:
  absl::Mutex mu_;
  int commits_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<uint64_t> sequences_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> progress_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> seen_ ABSL_GUARDED_BY(mu_);
};

IngestItem Batch(const std::string& agent, std::shared_ptr<StreamLink> link,
                 std::vector<uint64_t> sequences) {
  IngestItem item;
  item.kind = IngestItem::Kind::kBatch;
  item.agent_id = agent;
  item.link = std::move(link);
  for (uint64_t s : sequences) {
    v1::Event* event = item.batch->add_events();
    event->set_sequence(s);
    event->mutable_notice()->set_kind("test");
  }
  return item;
}

IngestItem Hello(const std::string& agent, std::shared_ptr<StreamLink> link) {
  IngestItem item;
  item.kind = IngestItem::Kind::kHello;
  item.agent_id = agent;
  item.hello.set_agent_id(agent);
  item.link = std::move(link);
  return item;
}

IngestItem Disconnect(const std::string& agent) {
  IngestItem item;
  item.kind = IngestItem::Kind::kDisconnect;
  item.agent_id = agent;
  return item;
}

v1::CommandRecord Command(const std::string& command_id,
                          const std::string& agent_id) {
  v1::CommandRecord record;
  record.set_command_id(command_id);
  record.set_agent_id(agent_id);
  record.mutable_command()->set_command_id(command_id);
  record.mutable_command()->mutable_ping();
  record.set_requested_by("operator");
  record.set_requested_unix_ms(1750000000000);
  return record;
}

IngestItem CommandRequested(v1::CommandRecord record,
                            std::function<void(absl::Status)> on_recorded) {
  IngestItem item;
  item.kind = IngestItem::Kind::kCommandRequested;
  item.agent_id = record.agent_id();
  item.command = std::move(record);
  item.on_recorded = std::move(on_recorded);
  return item;
}

IngestItem Progress(const std::string& agent, const std::string& command_id,
                    v1::CommandState state) {
  IngestItem item;
  item.kind = IngestItem::Kind::kCommandProgress;
  item.agent_id = agent;
  item.progress.set_command_id(command_id);
  item.progress.set_state(state);
  return item;
}

class IngestPipelineTest : public ::testing::Test {
 protected:
  FakeStorage storage_;
  FakeClock clock_;
  RecordingObserver observer_;
};

TEST_F(IngestPipelineTest, HelloIsAnsweredWithTheLastStoredSequence) {
  storage_.SetStoredThrough("a", 41);
  auto link = std::make_shared<RecordingLink>();
  IngestPipeline ingest(storage_, clock_, {}, {&observer_});
  ASSERT_TRUE(ingest.Submit(Hello("a", link)));
  ingest.Start();
  ingest.Stop();
  EXPECT_EQ(link->registered(), 41u);
  EXPECT_THAT(observer_.seen(), ElementsAre("hello a"));
}

TEST_F(IngestPipelineTest, AHelloAfterASpoolLossLearnsWhereLogsResume) {
  auto first = std::make_shared<RecordingLink>();
  IngestPipeline ingest(storage_, clock_, {}, {&observer_});
  ingest.Start();
  ASSERT_TRUE(ingest.Submit(Hello("a", first)));
  IngestItem batch = Batch("a", first, {1, 2});
  for (v1::Event& event : *batch.batch->mutable_events()) {
    event.mutable_log()->set_file("/logs/server.log");
    event.mutable_log()->set_file_offset(100 * event.sequence());
    event.mutable_log()->set_message("line");
  }
  ASSERT_TRUE(ingest.Submit(std::move(batch)));
  auto ordinary = std::make_shared<RecordingLink>();
  ASSERT_TRUE(ingest.Submit(Hello("a", ordinary)));
  auto replaced = std::make_shared<RecordingLink>();
  IngestItem hello = Hello("a", replaced);
  hello.hello.set_spool_replaced(true);
  ASSERT_TRUE(ingest.Submit(std::move(hello)));
  ingest.Stop();

  EXPECT_THAT(ordinary->ack().log_resume_points(), IsEmpty());
  const v1::HelloAck ack = replaced->ack();
  EXPECT_EQ(ack.last_stored_sequence(), 2u);
  ASSERT_EQ(ack.log_resume_points_size(), 1);
  EXPECT_EQ(ack.log_resume_points(0).file(), "/logs/server.log");
  EXPECT_EQ(ack.log_resume_points(0).file_offset(), 200u);
}

TEST_F(IngestPipelineTest, QueuedBatchesShareOneTransactionAndAckAfterIt) {
  auto link_a = std::make_shared<RecordingLink>();
  auto link_b = std::make_shared<RecordingLink>();
  IngestPipeline ingest(storage_, clock_, {}, {&observer_});
  // Submitted before the thread starts, so one pass sees all three.
  ASSERT_TRUE(ingest.Submit(Batch("a", link_a, {1, 2})));
  ASSERT_TRUE(ingest.Submit(Batch("b", link_b, {1})));
  ASSERT_TRUE(ingest.Submit(Batch("a", link_a, {2, 3})));  // 2 is a resend.
  ingest.Start();
  ingest.Stop();
  EXPECT_EQ(storage_.transactions(), 1);
  EXPECT_EQ(storage_.events(), 4u);
  // One ack per stream and transaction, answering all its batches.
  EXPECT_THAT(link_a->stored(), ElementsAre(3));
  EXPECT_EQ(link_a->acked_batches(), 2u);
  EXPECT_THAT(link_b->stored(), ElementsAre(1));
  EXPECT_EQ(link_b->acked_batches(), 1u);
  EXPECT_EQ(observer_.commits(), 1);
}

// Group commit: while batches keep coming, a round waits for those that
// come within the commit interval (here for good: the fake clock stands
// still), until the queue is full.
TEST_F(IngestPipelineTest, WhileBatchesKeepComingOneCommitServesTheNextOnes) {
  auto link = std::make_shared<RecordingLink>();
  IngestPipeline ingest(
      storage_, clock_,
      {.queue_capacity = 3, .commit_interval = absl::Hours(1)}, {&observer_});
  ingest.Start();
  ASSERT_TRUE(ingest.Submit(Batch("a", link, {1})));
  // The first round after a quiet spell starts at once.
  PollUntil([&] { return storage_.transactions() == 1; }, absl::Seconds(30));
  ASSERT_TRUE(ingest.Submit(Batch("a", link, {2})));
  PollUntil([&] { return ingest.queue_depth() == 0; }, absl::Seconds(30));
  // Taken, and held for the next ones until the queue is full again.
  ASSERT_TRUE(ingest.Submit(Batch("a", link, {3})));
  ASSERT_TRUE(ingest.Submit(Batch("a", link, {4})));
  PollUntil([&] { return storage_.transactions() >= 2; }, absl::Seconds(30));
  ingest.Stop();
  EXPECT_EQ(storage_.transactions(), 2);
  EXPECT_THAT(link->stored(), ElementsAre(1, 4));
  EXPECT_EQ(link->acked_batches(), 4u);
}

TEST_F(IngestPipelineTest, StopStoresWhatARoundWaitsWithAtOnce) {
  auto link = std::make_shared<RecordingLink>();
  IngestPipeline ingest(
      storage_, clock_,
      {.queue_capacity = 100, .commit_interval = absl::Hours(1)}, {});
  ingest.Start();
  ASSERT_TRUE(ingest.Submit(Batch("a", link, {1})));
  PollUntil([&] { return storage_.transactions() == 1; }, absl::Seconds(30));
  ASSERT_TRUE(ingest.Submit(Batch("a", link, {2})));
  PollUntil([&] { return ingest.queue_depth() == 0; }, absl::Seconds(30));
  ingest.Stop();  // Within the hour.
  EXPECT_THAT(link->stored(), ElementsAre(1, 2));
}

// Holds the answer thread in OnStored until released.
class SlowLink final : public StreamLink {
 public:
  void OnRegistered(v1::HelloAck) override {}
  void OnStored(uint64_t, size_t, absl::Duration) override {
    answering.Notify();
    release.WaitForNotification();
  }
  void OnIngestFailed(const absl::Status&) override {}
  absl::Notification answering;
  absl::Notification release;
};

TEST_F(IngestPipelineTest, AStreamSlowToTakeItsAckDoesNotHoldTheNextCommit) {
  auto slow = std::make_shared<SlowLink>();
  auto link = std::make_shared<RecordingLink>();
  IngestPipeline ingest(storage_, clock_, {}, {&observer_});
  ingest.Start();
  ASSERT_TRUE(ingest.Submit(Batch("a", slow, {1})));
  slow->answering.WaitForNotification();
  ASSERT_TRUE(ingest.Submit(Batch("b", link, {1})));
  PollUntil([&] { return observer_.commits() == 2; }, absl::Seconds(30));
  EXPECT_EQ(observer_.commits(), 2);
  slow->release.Notify();
  ingest.Stop();  // Answers what was committed before it returns.
  EXPECT_THAT(link->stored(), ElementsAre(1));
}

TEST_F(IngestPipelineTest, ObserversSeeARedeliveredEventOnce) {
  auto link = std::make_shared<RecordingLink>();
  IngestPipeline ingest(storage_, clock_, {}, {&observer_});
  ingest.Start();
  ASSERT_TRUE(ingest.Submit(Hello("a", link)));
  ASSERT_TRUE(ingest.Submit(Batch("a", link, {1, 2})));
  // What an agent resends after a lost Ack, in the same and a later commit.
  ASSERT_TRUE(ingest.Submit(Batch("a", link, {1, 2, 3})));
  ingest.Stop();
  IngestPipeline later(storage_, clock_, {}, {&observer_});
  later.Start();
  ASSERT_TRUE(later.Submit(Batch("a", link, {2, 3, 4})));
  later.Stop();
  EXPECT_THAT(observer_.sequences(), ElementsAre(1, 2, 3, 4));
  EXPECT_EQ(storage_.events(), 4u);
  EXPECT_EQ(link->stored().back(), 4u);
}

TEST_F(IngestPipelineTest, KnowsWhatWasStoredBeforeItStarted) {
  // A batch without a hello first still is not stored twice.
  storage_.SetStoredThrough("a", 5);
  auto link = std::make_shared<RecordingLink>();
  IngestPipeline ingest(storage_, clock_, {}, {&observer_});
  ASSERT_TRUE(ingest.Submit(Batch("a", link, {4, 5, 6})));
  ingest.Start();
  ingest.Stop();
  EXPECT_THAT(observer_.sequences(), ElementsAre(6));
  EXPECT_THAT(link->stored(), ElementsAre(6));
}

// Makes storage fail from the hello until the first failure it is told of.
class OneFailureLink final : public StreamLink {
 public:
  explicit OneFailureLink(FakeStorage& storage) : storage_(storage) {}
  void OnRegistered(v1::HelloAck) override {
    storage_.FailWith(absl::InternalError("disk I/O error"));
  }
  void OnStored(uint64_t, size_t, absl::Duration) override {}
  void OnIngestFailed(const absl::Status&) override {
    storage_.FailWith(absl::OkStatus());
  }

 private:
  FakeStorage& storage_;
};

TEST_F(IngestPipelineTest, AFailedCommitIsDecidedAgainFromWhatIsStored) {
  auto link = std::make_shared<OneFailureLink>(storage_);
  IngestPipeline ingest(storage_, clock_, {}, {&observer_});
  ASSERT_TRUE(ingest.Submit(Hello("a", link)));
  ASSERT_TRUE(ingest.Submit(Batch("a", link, {1, 2})));  // Fails.
  ASSERT_TRUE(ingest.Submit(Disconnect("a")));  // Ends the commit group.
  ASSERT_TRUE(ingest.Submit(Batch("a", link, {1, 2})));  // The resend.
  ingest.Start();
  ingest.Stop();
  EXPECT_THAT(observer_.sequences(), ElementsAre(1, 2));
}

TEST_F(IngestPipelineTest, TransactionsAreSplitAtTheEventLimit) {
  auto link = std::make_shared<RecordingLink>();
  IngestPipeline ingest(storage_, clock_,
                        {.queue_capacity = 16, .max_events_per_transaction = 2},
                        {});
  ASSERT_TRUE(ingest.Submit(Batch("a", link, {1, 2})));
  ASSERT_TRUE(ingest.Submit(Batch("a", link, {3, 4})));
  ingest.Start();
  ingest.Stop();
  EXPECT_EQ(storage_.transactions(), 2);
  EXPECT_THAT(link->stored(), ElementsAre(2, 4));
}

TEST_F(IngestPipelineTest, TransactionsAreSplitAtTheBatchLimit) {
  auto a = std::make_shared<RecordingLink>();
  auto b = std::make_shared<RecordingLink>();
  IngestPipeline ingest(
      storage_, clock_,
      {.queue_capacity = 16, .max_batches_per_transaction = 2}, {});
  ASSERT_TRUE(ingest.Submit(Batch("a", a, {1})));
  ASSERT_TRUE(ingest.Submit(Batch("b", b, {1})));
  ASSERT_TRUE(ingest.Submit(Batch("a", a, {2})));
  ingest.Start();
  ingest.Stop();
  EXPECT_EQ(storage_.transactions(), 2);
  // Each transaction answers its own batches: `a` is acked once in each.
  EXPECT_THAT(a->stored(), ElementsAre(1, 2));
  EXPECT_THAT(b->stored(), ElementsAre(1));
}

// Stores `batches` one-event batches of one agent, queued before the ingest
// thread starts so that they make one round; returns what they were acked
// through, commit by commit.
std::vector<uint64_t> StoreOneRound(FakeStorage& storage, FakeClock& clock,
                                    uint64_t batches,
                                    size_t min_batches_per_transaction) {
  auto link = std::make_shared<RecordingLink>();
  IngestPipeline ingest(
      storage, clock,
      {.queue_capacity = 16,
       .min_batches_per_transaction = min_batches_per_transaction},
      {});
  for (uint64_t sequence = 1; sequence <= batches; ++sequence) {
    EXPECT_TRUE(ingest.Submit(Batch("a", link, {sequence})));
  }
  ingest.Start();
  ingest.Stop();
  return link->stored();
}

TEST_F(IngestPipelineTest, ARoundIsSplitInTwoAboveTheMinimum) {
  EXPECT_THAT(StoreOneRound(storage_, clock_, 5, 2), ElementsAre(3, 5));
  EXPECT_EQ(storage_.transactions(), 2);
}

TEST_F(IngestPipelineTest, ARoundOfTheMinimumIsOneTransaction) {
  EXPECT_THAT(StoreOneRound(storage_, clock_, 4, 4), ElementsAre(4));
  EXPECT_EQ(storage_.transactions(), 1);
}

TEST_F(IngestPipelineTest, StorageFailureIsReportedAndNothingAcked) {
  storage_.FailWith(absl::InternalError("disk I/O error"));
  auto link = std::make_shared<RecordingLink>();
  IngestPipeline ingest(storage_, clock_, {}, {&observer_});
  ASSERT_TRUE(ingest.Submit(Batch("a", link, {1})));
  ingest.Start();
  ingest.Stop();
  EXPECT_THAT(link->stored(), IsEmpty());
  EXPECT_THAT(link->failure(), StatusIs(absl::StatusCode::kInternal));
  EXPECT_EQ(observer_.commits(), 0);
}

TEST_F(IngestPipelineTest, FullQueueRefusesInsteadOfBlocking) {
  auto link = std::make_shared<RecordingLink>();
  IngestPipeline ingest(storage_, clock_, {.queue_capacity = 1}, {});
  EXPECT_TRUE(ingest.Submit(Batch("a", link, {1})));
  EXPECT_FALSE(ingest.Submit(Batch("a", link, {2})));
}

// Flow control: items beyond the queue's room wait, in the order they
// came, instead of being refused, and each one's caller hears when its
// item is queued.
TEST_F(IngestPipelineTest, ItemsBeyondTheRoomWaitTheirTurnInOrder) {
  auto link_a = std::make_shared<RecordingLink>();
  auto link_b = std::make_shared<RecordingLink>();
  IngestPipeline ingest(storage_, clock_, {.queue_capacity = 2}, {&observer_});
  absl::Mutex mu;
  std::vector<std::string> queued;
  const auto record = [&](std::string name) {
    return [&mu, &queued, name] {
      absl::MutexLock lock(&mu);
      queued.push_back(name);
    };
  };
  using Admission = IngestPipeline::Admission;
  EXPECT_EQ(ingest.SubmitOrWait(Batch("a", link_a, {1}), record("a1")),
            Admission::kQueued);
  EXPECT_EQ(ingest.SubmitOrWait(Batch("b", link_b, {1}), record("b1")),
            Admission::kQueued);
  EXPECT_EQ(ingest.SubmitOrWait(Batch("a", link_a, {2}), record("a2")),
            Admission::kWaiting);
  EXPECT_EQ(ingest.SubmitOrWait(Batch("b", link_b, {2}), record("b2")),
            Admission::kWaiting);
  // Room is made for nothing else while items wait: a newcomer waits too.
  EXPECT_FALSE(ingest.Submit(Batch("c", link_b, {1})));
  EXPECT_EQ(ingest.waiting_for_room(), 2u);

  ingest.Start();
  PollUntil([&] { return link_b->stored().size() >= 2; }, absl::Seconds(30));
  ingest.Stop();
  EXPECT_THAT(link_a->stored(), ElementsAre(1, 2));
  EXPECT_THAT(link_b->stored(), ElementsAre(1, 2));
  EXPECT_THAT(observer_.sequences(), ElementsAre(1, 1, 2, 2));
  absl::MutexLock lock(&mu);
  EXPECT_THAT(queued, ElementsAre("a2", "b2"));
  EXPECT_EQ(ingest.waiting_for_room(), 0u);
}

TEST_F(IngestPipelineTest, WaitingItemsAreDroppedAtStopWithoutACall) {
  auto link = std::make_shared<RecordingLink>();
  IngestPipeline ingest(storage_, clock_, {.queue_capacity = 1}, {});
  bool called = false;
  const auto mark = [&called] { called = true; };
  using Admission = IngestPipeline::Admission;
  EXPECT_EQ(ingest.SubmitOrWait(Batch("a", link, {1}), mark),
            Admission::kQueued);
  EXPECT_EQ(ingest.SubmitOrWait(Batch("a", link, {2}), mark),
            Admission::kWaiting);
  ingest.Stop();
  EXPECT_EQ(ingest.waiting_for_room(), 0u);
  EXPECT_EQ(ingest.SubmitOrWait(Batch("a", link, {3}), mark),
            Admission::kStopped);
  EXPECT_FALSE(called);
}

TEST_F(IngestPipelineTest, DisconnectIsRecordedInOrder) {
  IngestPipeline ingest(storage_, clock_, {}, {&observer_});
  auto link = std::make_shared<RecordingLink>();
  ASSERT_TRUE(ingest.Submit(Batch("a", link, {1})));
  ASSERT_TRUE(ingest.Submit(Disconnect("a")));
  ingest.Start();
  ingest.Stop();
  EXPECT_THAT(link->stored(), ElementsAre(1));
  EXPECT_THAT(storage_.disconnected(), ElementsAre("a"));
  EXPECT_THAT(observer_.seen(), ElementsAre("gone a"));
}

TEST_F(IngestPipelineTest, HellosQueuedTogetherAreRegisteredInOneWrite) {
  storage_.SetStoredThrough("b", 7);
  auto link_a = std::make_shared<RecordingLink>();
  auto link_b = std::make_shared<RecordingLink>();
  auto link_c = std::make_shared<RecordingLink>();
  IngestPipeline ingest(storage_, clock_, {}, {&observer_});
  // Agents reconnecting together, as after a restart of the collector.
  ASSERT_TRUE(ingest.Submit(Hello("a", link_a)));
  ASSERT_TRUE(ingest.Submit(Hello("b", link_b)));
  ASSERT_TRUE(ingest.Submit(Batch("a", link_a, {1})));
  ASSERT_TRUE(ingest.Submit(Hello("c", link_c)));
  ingest.Start();
  ingest.Stop();
  EXPECT_EQ(storage_.registrations(), 2);
  EXPECT_THAT(storage_.registered(), ElementsAre("a", "b", "c"));
  EXPECT_EQ(link_a->registered(), 0u);
  EXPECT_EQ(link_b->registered(), 7u);
  EXPECT_EQ(link_c->registered(), 0u);
  EXPECT_THAT(link_a->stored(), ElementsAre(1));
  EXPECT_THAT(observer_.seen(), ElementsAre("hello a", "hello b", "hello c"));
}

TEST_F(IngestPipelineTest, AcksShareTheBatchBudgetAmongConnectedStreams) {
  auto link = std::make_shared<RecordingLink>();
  IngestPipeline ingest(storage_, clock_, {.batches_per_second = 100},
                        {&observer_});
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(ingest.Submit(Hello(absl::StrCat("host-", i), link)));
  }
  ASSERT_TRUE(ingest.Submit(Batch("host-0", link, {1})));
  for (int i = 1; i < 50; ++i) {
    ASSERT_TRUE(ingest.Submit(Disconnect(absl::StrCat("host-", i))));
  }
  ASSERT_TRUE(ingest.Submit(Batch("host-0", link, {2})));
  // More streams than the budget gives a batch a second each: capped.
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(ingest.Submit(Hello(absl::StrCat("other-", i), link)));
  }
  ASSERT_TRUE(ingest.Submit(Batch("host-0", link, {3})));
  ingest.Start();
  ingest.Stop();
  // 50 streams share 100 batches a second, then 1, then 1,001 (capped).
  EXPECT_THAT(link->batch_intervals(),
              ElementsAre(absl::Milliseconds(500), absl::Milliseconds(10),
                          IngestPipeline::kMaxBatchInterval));
}

TEST_F(IngestPipelineTest, WithoutABudgetAcksAskForNoPacing) {
  auto link = std::make_shared<RecordingLink>();
  IngestPipeline ingest(storage_, clock_, {}, {&observer_});
  ASSERT_TRUE(ingest.Submit(Hello("a", link)));
  ASSERT_TRUE(ingest.Submit(Batch("a", link, {1})));
  ingest.Start();
  ingest.Stop();
  EXPECT_THAT(link->batch_intervals(), ElementsAre(absl::ZeroDuration()));
}

TEST_F(IngestPipelineTest, CommandIsRecordedAndItsProgressStored) {
  std::vector<absl::Status> recorded;
  IngestPipeline ingest(storage_, clock_, {}, {&observer_});
  ASSERT_TRUE(ingest.Submit(CommandRequested(
      Command("c1", "a"),
      [&recorded](absl::Status status) { recorded.push_back(status); })));
  ASSERT_TRUE(ingest.Submit(Progress("a", "c1", v1::ACCEPTED)));
  ASSERT_TRUE(ingest.Submit(Progress("a", "c1", v1::SUCCEEDED)));
  ingest.Start();
  ingest.Stop();
  ASSERT_THAT(recorded, ElementsAre(IsOk()));
  EXPECT_THAT(observer_.progress(), ElementsAre("c1", "c1"));
  absl::StatusOr<v1::CommandRecord> command = storage_.GetCommand("c1");
  ASSERT_THAT(command, IsOk());
  EXPECT_EQ(command->state(), v1::SUCCEEDED);
  EXPECT_EQ(command->progress_size(), 2);
  EXPECT_EQ(ingest.dropped_command_progress(), 0u);
}

TEST_F(IngestPipelineTest, StoredStepsAndAuditRecordsAreAudited) {
  v1::CommandRecord restart = Command("c1", "a");
  restart.mutable_command()->mutable_safe_restart()->set_drain_timeout_ms(
      90000);
  ASSERT_THAT(storage_.RecordCommand(restart), IsOk());
  IngestPipeline ingest(storage_, clock_, {}, {});
  IngestItem requested;
  requested.kind = IngestItem::Kind::kAudit;
  requested.agent_id = "a";
  requested.audit.set_time_unix_ms(absl::ToUnixMillis(clock_.Now()));
  requested.audit.set_result("requested");
  ASSERT_TRUE(ingest.Submit(std::move(requested)));
  IngestItem drain = Progress("a", "c1", v1::RUNNING);
  drain.progress.set_step("drain");
  drain.progress.set_message("1 room running");
  ASSERT_TRUE(ingest.Submit(std::move(drain)));
  IngestItem ended = Progress("a", "c1", v1::FAILED);
  ended.actor = "collector";
  ASSERT_TRUE(ingest.Submit(std::move(ended)));
  // Dropped progress is not audited.
  ASSERT_TRUE(ingest.Submit(Progress("b", "c1", v1::SUCCEEDED)));
  ingest.Start();
  ingest.Stop();

  v1::ListAuditRequest request;
  request.set_limit(10);
  absl::StatusOr<v1::ListAuditResponse> audit = storage_.ListAudit(request);
  ASSERT_THAT(audit, IsOk());
  ASSERT_EQ(audit->records_size(), 3);
  // All at the same time: the newest stored first.
  const v1::AuditRecord& failed = audit->records(0);
  EXPECT_EQ(failed.actor(), "collector");
  EXPECT_EQ(failed.result(), "FAILED");
  const v1::AuditRecord& running = audit->records(1);
  EXPECT_EQ(running.actor(), "agent");
  EXPECT_EQ(running.agent_id(), "a");
  EXPECT_EQ(running.action(), "safe_restart");
  EXPECT_EQ(running.parameters(), "drain_timeout=1m30s force=false");
  EXPECT_EQ(running.result(), "RUNNING drain: 1 room running");
  EXPECT_EQ(running.command_id(), "c1");
  EXPECT_EQ(running.time_unix_ms(), absl::ToUnixMillis(clock_.Now()));
  EXPECT_EQ(audit->records(2).result(), "requested");
}

TEST_F(IngestPipelineTest, FailedCommandRecordIsReported) {
  ASSERT_THAT(storage_.RecordCommand(Command("c1", "a")), IsOk());
  std::vector<absl::Status> recorded;
  IngestPipeline ingest(storage_, clock_, {}, {});
  ASSERT_TRUE(ingest.Submit(CommandRequested(
      Command("c1", "a"),
      [&recorded](absl::Status status) { recorded.push_back(status); })));
  ingest.Start();
  ingest.Stop();
  EXPECT_THAT(recorded,
              ElementsAre(StatusIs(absl::StatusCode::kAlreadyExists)));
}

TEST_F(IngestPipelineTest, ProgressOfAnUnknownOrForeignCommandIsDropped) {
  ASSERT_THAT(storage_.RecordCommand(Command("c1", "a")), IsOk());
  auto link = std::make_shared<RecordingLink>();
  IngestPipeline ingest(storage_, clock_, {}, {&observer_});
  ASSERT_TRUE(ingest.Submit(Progress("b", "c1", v1::ACCEPTED)));
  ASSERT_TRUE(ingest.Submit(Progress("a", "nope", v1::ACCEPTED)));
  // The stream goes on: its events are stored in the same commit.
  ASSERT_TRUE(ingest.Submit(Batch("b", link, {1})));
  ingest.Start();
  ingest.Stop();
  EXPECT_EQ(ingest.dropped_command_progress(), 2u);
  EXPECT_THAT(observer_.progress(), IsEmpty());
  EXPECT_THAT(link->stored(), ElementsAre(1));
  EXPECT_THAT(link->failure(), IsOk());
  absl::StatusOr<v1::CommandRecord> command = storage_.GetCommand("c1");
  ASSERT_THAT(command, IsOk());
  EXPECT_EQ(command->state(), v1::COMMAND_STATE_UNSPECIFIED);
}

}  // namespace
}  // namespace eroom::collector
