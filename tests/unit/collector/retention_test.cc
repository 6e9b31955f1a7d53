#include "collector/retention.h"

#include <memory>
#include <string>
#include <vector>

#include "SQLiteCpp/Database.h"
#include "absl/synchronization/notification.h"
#include "collector/ingest.h"
#include "collector/sqlite/sqlite_storage.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/collector/fake_storage.h"
#include "tests/unit/collector/storage_test_data.h"
#include "tests/unit/test_support/fake_clock.h"
#include "tests/unit/test_support/status_matchers.h"
#include "tests/unit/test_support/temp_dir.h"

namespace eroom::collector {
namespace {

namespace v1 = ::eroom::monitor::v1;
using namespace ::eroom::collector::storage_test;  // NOLINT: test data
using ::eroom::test_support::IsOk;

constexpr absl::Duration kDay = absl::Hours(24);

// Log events [first, last] of agent "a", `age` before kNow.
StoredBatch OldLogs(uint64_t first, uint64_t last, absl::Duration age) {
  std::vector<v1::Event> events;
  for (uint64_t sequence = first; sequence <= last; ++sequence) {
    events.push_back(LogEvent(sequence, absl::ToUnixMillis(kNow - age),
                              v1::INFO, "line " + std::to_string(sequence)));
  }
  return Stored({Batch("a", std::move(events))});
}

class SqliteRetentionTest : public test_support::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    path_ = PathIn("data/collector.db");
    absl::StatusOr<std::unique_ptr<Storage>> opened = OpenSqliteStorage(
        {.path = path_, .search_index_delay = absl::ZeroDuration()});
    ASSERT_THAT(opened, IsOk());
    storage_ = *std::move(opened);
  }

  int64_t Rows(const std::string& table) {
    SQLite::Database db(path_, SQLite::OPEN_READONLY);
    return db.execAndGet("SELECT count(*) FROM " + table).getInt64();
  }

  std::string path_;
  std::unique_ptr<Storage> storage_;
  FakeClock clock_{kNow};
};

TEST_F(SqliteRetentionTest, ABacklogGoesInBatchesWithIngestBetween) {
  ASSERT_THAT(storage_->Apply(OldLogs(1, 2500, 31 * kDay)), IsOk());
  RetentionSweeper sweeper(*storage_, clock_,
                           {.policy = {}, .rows_per_batch = 1000});

  EXPECT_TRUE(sweeper.RunDue());
  EXPECT_EQ(Rows("log_events"), 1500);
  // Ingest commits between the batches; what it stores is young.
  ASSERT_THAT(storage_->Apply(OldLogs(2501, 2510, kDay)), IsOk());
  EXPECT_TRUE(sweeper.RunDue());
  ASSERT_THAT(storage_->Apply(OldLogs(2511, 2520, kDay)), IsOk());
  EXPECT_FALSE(sweeper.RunDue());  // The last 500: caught up.
  EXPECT_EQ(Rows("log_events"), 20);
  EXPECT_EQ(sweeper.removed().logs, 2500);
  EXPECT_EQ(sweeper.removed().total(), 2500);

  // Nothing more until the next check, which finds nothing.
  ASSERT_THAT(storage_->Apply(OldLogs(2521, 2521, 31 * kDay)), IsOk());
  ASSERT_THAT(storage_->Apply(OldLogs(2522, 2522, kDay)), IsOk());
  EXPECT_FALSE(sweeper.RunDue());
  EXPECT_EQ(Rows("log_events"), 22);
  clock_.Advance(absl::Minutes(1));
  EXPECT_FALSE(sweeper.RunDue());
  EXPECT_EQ(Rows("log_events"), 21);
  EXPECT_EQ(sweeper.removed().logs, 2501);
}

TEST_F(SqliteRetentionTest, ProbesAndNoticesGoPastTheirOwnAge) {
  auto at = [](absl::Duration age) { return absl::ToUnixMillis(kNow - age); };
  StoredBatch batch = Stored({Batch(
      "a", {ProbeEvent(1, at(8 * kDay), v1::HEALTH, 0),
            ProbeEvent(2, at(6 * kDay), v1::QUEUE_STATUS, 3),
            NoticeEvent(3, at(31 * kDay)), NoticeEvent(4, at(8 * kDay))})});
  ASSERT_THAT(storage_->Apply(batch), IsOk());
  RetentionSweeper sweeper(*storage_, clock_, {});
  EXPECT_FALSE(sweeper.RunDue());
  EXPECT_EQ(sweeper.removed().probes, 1);
  EXPECT_EQ(sweeper.removed().notices, 1);
  EXPECT_EQ(Rows("probes"), 1);
  EXPECT_EQ(Rows("agent_notices"), 1);
  // Their metric points are samples of the same age, kept 7 days.
  EXPECT_GT(sweeper.removed().samples, 0);
}

TEST(RetentionSweeperTest, AFailureIsTriedAgainAtTheNextCheck) {
  FakeStorage storage;
  FakeClock clock(kNow);
  ASSERT_THAT(storage.Apply(OldLogs(1, 3, 31 * kDay)), IsOk());
  RetentionSweeper sweeper(storage, clock, {});
  storage.FailWith(absl::UnavailableError("disk gone"));
  EXPECT_FALSE(sweeper.RunDue());
  storage.FailWith(absl::OkStatus());
  EXPECT_FALSE(sweeper.RunDue());
  EXPECT_EQ(sweeper.removed().logs, 0);
  clock.Advance(absl::Minutes(1));
  EXPECT_FALSE(sweeper.RunDue());
  EXPECT_EQ(sweeper.removed().logs, 2);  // The newest stays.
}

class IgnoredLink final : public StreamLink {
 public:
  void OnRegistered(v1::HelloAck) override {}
  void OnStored(uint64_t, size_t, absl::Duration) override {}
  void OnIngestFailed(const absl::Status&) override {}
};

// `inner` as the sweeper sees it, telling when `target` log events are gone:
// the test waits for that, not for time.
class WatchedWriter final : public StorageWriter {
 public:
  WatchedWriter(StorageWriter& inner, int64_t target)
      : inner_(inner), target_(target) {}

  absl::StatusOr<RetentionCounts> DeleteExpired(const RetentionPolicy& policy,
                                                absl::Time now,
                                                int64_t max_rows) override {
    absl::StatusOr<RetentionCounts> removed =
        inner_.DeleteExpired(policy, now, max_rows);
    if (removed.ok()) logs_ += removed->logs;
    if (logs_ >= target_ && !logs_gone.HasBeenNotified()) logs_gone.Notify();
    return removed;
  }
  absl::StatusOr<std::vector<uint64_t>> RegisterAgents(
      absl::Span<const v1::AgentHello* const> hellos, absl::Time now) override {
    return inner_.RegisterAgents(hellos, now);
  }
  absl::Status MarkDisconnected(const std::string& agent_id,
                                absl::Time now) override {
    return inner_.MarkDisconnected(agent_id, now);
  }
  absl::StatusOr<uint64_t> LastStoredSequence(
      const std::string& agent_id) override {
    return inner_.LastStoredSequence(agent_id);
  }
  absl::Status Apply(const StoredBatch& batch) override {
    return inner_.Apply(batch);
  }
  absl::Status RecordCommand(const v1::CommandRecord& command) override {
    return inner_.RecordCommand(command);
  }
  absl::StatusOr<v1::CommandRecord> RecordedCommand(
      const std::string& command_id) override {
    return inner_.RecordedCommand(command_id);
  }

  absl::Notification logs_gone;

 private:
  StorageWriter& inner_;
  const int64_t target_;
  int64_t logs_ = 0;  // The ingest thread's only.
};

TEST(RetentionSweeperTest, TheIngestThreadWorksOffABacklogBetweenRounds) {
  FakeStorage storage;
  FakeClock clock(kNow);  // Never advances: no check interval passes.
  ASSERT_THAT(storage.Apply(OldLogs(1, 26, 31 * kDay)), IsOk());
  WatchedWriter watched(storage, 26);
  RetentionSweeper sweeper(watched, clock,
                           {.policy = {}, .rows_per_batch = 10});
  IngestPipeline ingest(storage, clock, {.retention = &sweeper}, {});
  // Queued before the start: stored before the first retention batch, so
  // that every old event has a newer one.
  IngestItem item;
  item.kind = IngestItem::Kind::kBatch;
  item.agent_id = "a";
  item.link = std::make_shared<IgnoredLink>();
  *item.batch->add_events() = LogEvent(27, kT0, v1::INFO, "young");
  ASSERT_TRUE(ingest.Submit(std::move(item)));
  ingest.Start();
  EXPECT_TRUE(
      watched.logs_gone.WaitForNotificationWithTimeout(absl::Seconds(10)));
  ingest.Stop();
  EXPECT_EQ(sweeper.removed().logs, 26);
  v1::QueryLogsRequest request;
  request.set_limit(100);
  absl::StatusOr<v1::QueryLogsResponse> kept =
      storage.QueryLogs(request, /*check=*/{});
  ASSERT_THAT(kept, IsOk());
  ASSERT_EQ(kept->events_size(), 1);
  EXPECT_EQ(kept->events(0).sequence(), 27u);
}

}  // namespace
}  // namespace eroom::collector
