#include "collector/ingest.h"

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/collector/fake_storage.h"
#include "tests/unit/test_support/fake_clock.h"

namespace eroom::collector {
namespace {
namespace v1 = ::eroom::monitor::v1;

using ::testing::ElementsAre;

class RecordingLink final : public StreamLink {
 public:
  void OnRegistered(uint64_t last) override {
    absl::MutexLock lock(&mu_);
    registered_ = last;
  }
  void OnStored(uint64_t through) override {
    absl::MutexLock lock(&mu_);
    stored_.push_back(through);
  }
  void OnIngestFailed(const absl::Status& status) override {
    absl::MutexLock lock(&mu_);
    failure_ = status;
  }
  std::optional<uint64_t> registered() {
    absl::MutexLock lock(&mu_);
    return registered_;
  }
  std::vector<uint64_t> stored() {
    absl::MutexLock lock(&mu_);
    return stored_;
  }
  absl::Status failure() {
    absl::MutexLock lock(&mu_);
    return failure_;
  }

 private:
  absl::Mutex mu_;
  std::optional<uint64_t> registered_ ABSL_GUARDED_BY(mu_);
  std::vector<uint64_t> stored_ ABSL_GUARDED_BY(mu_);
  absl::Status failure_ ABSL_GUARDED_BY(mu_);
};

class CountingObserver final : public IngestObserver {
 public:
  void OnStored(const StoredBatch& stored) override {
    absl::MutexLock lock(&mu_);
    batches_ += stored.batches.size();
  }
  size_t batches() {
    absl::MutexLock lock(&mu_);
    return batches_;
  }

 private:
  absl::Mutex mu_;
  size_t batches_ ABSL_GUARDED_BY(mu_) = 0;
};

IngestItem Batch(const std::string& agent, std::shared_ptr<StreamLink> link,
                 std::vector<uint64_t> sequences) {
  IngestItem item;
  item.kind = IngestItem::Kind::kBatch;
  item.agent_id = agent;
  item.link = std::move(link);
  for (uint64_t s : sequences) item.batch.add_events()->set_sequence(s);
  return item;
}

class IngestPipelineTest : public ::testing::Test {
 protected:
  FakeStorage storage_;
  FakeClock clock_;
  CountingObserver observer_;
};

TEST_F(IngestPipelineTest, HelloIsAnsweredWithTheLastStoredSequence) {
  storage_.SetStoredThrough("a", 41);
  auto link = std::make_shared<RecordingLink>();
  IngestPipeline ingest(storage_, clock_, {}, {});
  IngestItem hello;
  hello.kind = IngestItem::Kind::kHello;
  hello.agent_id = "a";
  hello.hello.set_agent_id("a");
  hello.link = link;
  ASSERT_TRUE(ingest.Submit(std::move(hello)));
  ingest.Start();
  ingest.Stop();
  EXPECT_EQ(link->registered(), 41u);
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
  EXPECT_THAT(link_a->stored(), ElementsAre(3, 3));
  EXPECT_THAT(link_b->stored(), ElementsAre(1));
  EXPECT_EQ(observer_.batches(), 3u);
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

TEST_F(IngestPipelineTest, StorageFailureIsReportedAndNothingAcked) {
  storage_.FailWith(absl::InternalError("disk I/O error"));
  auto link = std::make_shared<RecordingLink>();
  IngestPipeline ingest(storage_, clock_, {}, {&observer_});
  ASSERT_TRUE(ingest.Submit(Batch("a", link, {1})));
  ingest.Start();
  ingest.Stop();
  EXPECT_TRUE(link->stored().empty());
  EXPECT_EQ(link->failure().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(observer_.batches(), 0u);
}

TEST_F(IngestPipelineTest, FullQueueRefusesInsteadOfBlocking) {
  auto link = std::make_shared<RecordingLink>();
  IngestPipeline ingest(storage_, clock_, {.queue_capacity = 1}, {});
  EXPECT_TRUE(ingest.Submit(Batch("a", link, {1})));
  EXPECT_FALSE(ingest.Submit(Batch("a", link, {2})));
}

TEST_F(IngestPipelineTest, DisconnectIsRecordedInOrder) {
  IngestPipeline ingest(storage_, clock_, {}, {});
  auto link = std::make_shared<RecordingLink>();
  ASSERT_TRUE(ingest.Submit(Batch("a", link, {1})));
  IngestItem gone;
  gone.kind = IngestItem::Kind::kDisconnect;
  gone.agent_id = "a";
  ASSERT_TRUE(ingest.Submit(std::move(gone)));
  ingest.Start();
  ingest.Stop();
  EXPECT_THAT(link->stored(), ElementsAre(1));
  EXPECT_THAT(storage_.disconnected(), ElementsAre("a"));
}

}  // namespace
}  // namespace eroom::collector
