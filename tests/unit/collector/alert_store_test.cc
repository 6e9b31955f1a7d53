// The SQLite AlertStore on a real database file.
#include "collector/sqlite/alert_store.h"

#include <sys/stat.h>

#include <memory>
#include <string>
#include <vector>

#include "SQLiteCpp/Database.h"
#include "collector/sqlite/schema.h"
#include "collector/sqlite/sqlite_storage.h"
#include "common/sqlite_migrations.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/test_support/fake_clock.h"
#include "tests/unit/test_support/status_matchers.h"
#include "tests/unit/test_support/temp_dir.h"

namespace eroom::collector {
namespace {

using alerting::Alert;
using alerting::AlertEvent;
using alerting::AlertState;
using alerting::DeliveryRecord;
using alerting::LabelMatcher;
using alerting::Severity;
using alerting::Silence;
using ::eroom::test_support::IsOk;
using ::eroom::test_support::IsOkAndHolds;
using ::eroom::test_support::StatusIs;
using ::eroom::test_support::TempDirTest;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::SizeIs;

class AlertStoreTest : public TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    options_.path = PathIn("collector.db");
    Reopen();
  }

  void Reopen() {
    store_.reset();
    absl::StatusOr<std::unique_ptr<SqliteAlertStore>> store =
        SqliteAlertStore::Open(options_, clock_);
    ASSERT_THAT(store, IsOk());
    store_ = *std::move(store);
  }

  // A change of rule `rule` on host "a1" at the clock's time.
  AlertEvent Change(AlertEvent::Kind kind, const std::string& rule,
                    int64_t id = 0) {
    AlertEvent event;
    event.kind = kind;
    event.at = clock_.Now();
    Alert& alert = event.alert;
    alert.id = id;
    alert.key = {rule, "a1", ""};
    alert.severity = Severity::kCritical;
    alert.labels = {{"alertname", rule}, {"host", "eroom-prod-1"}};
    alert.summary = "health failing";
    alert.value = 3;
    alert.count = 1;
    alert.pending_since = clock_.Now();
    alert.last_evaluated = clock_.Now();
    if (kind == AlertEvent::Kind::kFiring) {
      alert.state = AlertState::kFiring;
      alert.firing_since = clock_.Now();
    }
    if (kind == AlertEvent::Kind::kResolved) {
      alert.state = AlertState::kResolved;
      alert.resolved_at = clock_.Now();
    }
    return event;
  }

  // Saves a pending then firing alert of `rule`; returns its id.
  int64_t Fire(const std::string& rule) {
    absl::StatusOr<int64_t> id =
        store_->Save(Change(AlertEvent::Kind::kPending, rule));
    EXPECT_THAT(id, IsOk());
    clock_.Advance(absl::Seconds(30));
    EXPECT_THAT(store_->Save(Change(AlertEvent::Kind::kFiring, rule, *id)),
                IsOkAndHolds(*id));
    return *id;
  }

  Silence HostSilence() {
    Silence silence;
    silence.matchers = {{"host", LabelMatcher::Op::kEqual, "eroom-prod-1"},
                        {"alertname", LabelMatcher::Op::kRegex, "disk.*"}};
    silence.comment = "disk swap tonight";
    silence.created_by = "alice";
    silence.starts_at = clock_.Now();
    silence.ends_at = clock_.Now() + absl::Hours(2);
    return silence;
  }

  FakeClock clock_;
  SqliteAlertStoreOptions options_;
  std::unique_ptr<SqliteAlertStore> store_;
};

TEST_F(AlertStoreTest, FirstSaveAssignsAnIdLaterSavesKeepIt) {
  absl::StatusOr<int64_t> first =
      store_->Save(Change(AlertEvent::Kind::kPending, "health"));
  ASSERT_THAT(first, IsOk());
  EXPECT_GT(*first, 0);
  EXPECT_THAT(store_->Save(Change(AlertEvent::Kind::kFiring, "health", *first)),
              IsOkAndHolds(*first));
  absl::StatusOr<int64_t> other =
      store_->Save(Change(AlertEvent::Kind::kPending, "disk"));
  ASSERT_THAT(other, IsOk());
  EXPECT_NE(*other, *first);
}

TEST_F(AlertStoreTest, SaveAllWritesEveryChangeOrNone) {
  absl::StatusOr<std::vector<int64_t>> ids =
      store_->SaveAll({Change(AlertEvent::Kind::kPending, "health"),
                       Change(AlertEvent::Kind::kPending, "disk")});
  ASSERT_THAT(ids, IsOkAndHolds(SizeIs(2)));
  EXPECT_LT((*ids)[0], (*ids)[1]);
  EXPECT_THAT(store_->SaveAll({Change(AlertEvent::Kind::kPending, "queue"),
                               Change(AlertEvent::Kind::kFiring, "x", 999)}),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_->LoadActive(), IsOkAndHolds(SizeIs(2)));
  EXPECT_THAT(store_->History(absl::InfinitePast(), 10, ""),
              IsOkAndHolds(SizeIs(2)));
}

TEST_F(AlertStoreTest, SavingAnUnknownIdIsNotFound) {
  EXPECT_THAT(store_->Save(Change(AlertEvent::Kind::kFiring, "health", 999)),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("999")));
}

TEST_F(AlertStoreTest, ASecondFirstSaveOfAnActiveKeyCarriesOnWithIt) {
  const int64_t id = Fire("health");
  EXPECT_THAT(store_->Save(Change(AlertEvent::Kind::kFiring, "health")),
              IsOkAndHolds(id));
  EXPECT_THAT(store_->LoadActive(), IsOkAndHolds(SizeIs(1)));
}

TEST_F(AlertStoreTest, AKeyThatResolvedFiresAgainAsANewAlert) {
  const int64_t first = Fire("health");
  ASSERT_THAT(
      store_->Save(Change(AlertEvent::Kind::kResolved, "health", first)),
      IsOk());
  absl::StatusOr<int64_t> again =
      store_->Save(Change(AlertEvent::Kind::kPending, "health"));
  ASSERT_THAT(again, IsOk());
  EXPECT_NE(*again, first);
}

TEST_F(AlertStoreTest, LoadActiveReturnsPendingAndFiringWithTheirFields) {
  const int64_t firing = Fire("health");
  const absl::Time fired = clock_.Now();
  ASSERT_THAT(store_->Save(Change(AlertEvent::Kind::kPending, "disk")), IsOk());
  const int64_t resolved = Fire("queue");
  ASSERT_THAT(
      store_->Save(Change(AlertEvent::Kind::kResolved, "queue", resolved)),
      IsOk());

  absl::StatusOr<std::vector<Alert>> active = store_->LoadActive();
  ASSERT_THAT(active, IsOk());
  ASSERT_THAT(*active, SizeIs(2));
  const Alert& alert = (*active)[0];
  EXPECT_EQ(alert.id, firing);
  EXPECT_EQ(alert.key, (alerting::AlertKey{"health", "a1", ""}));
  EXPECT_EQ(alert.state, AlertState::kFiring);
  EXPECT_EQ(alert.severity, Severity::kCritical);
  EXPECT_THAT(alert.labels, ElementsAre(Pair("alertname", "health"),
                                        Pair("host", "eroom-prod-1")));
  EXPECT_EQ(alert.summary, "health failing");
  EXPECT_EQ(alert.value, 3);
  EXPECT_EQ(alert.firing_since, fired);
  EXPECT_EQ(alert.pending_since, fired);
  EXPECT_EQ(alert.resolved_at, absl::InfinitePast());
  EXPECT_EQ(alert.last_notified_at, absl::InfinitePast());
  EXPECT_EQ((*active)[1].key.rule, "disk");
  EXPECT_EQ((*active)[1].state, AlertState::kPending);
}

TEST_F(AlertStoreTest, HistoryHasOneRowPerStateChangeNewestFirst) {
  const int64_t id = Fire("health");
  clock_.Advance(absl::Seconds(10));
  AlertEvent updated = Change(AlertEvent::Kind::kUpdated, "health", id);
  updated.alert.state = AlertState::kFiring;
  updated.alert.value = 7;
  ASSERT_THAT(store_->Save(updated), IsOk());
  clock_.Advance(absl::Seconds(10));
  AlertEvent resolved = Change(AlertEvent::Kind::kResolved, "health", id);
  resolved.inhibited = true;
  ASSERT_THAT(store_->Save(resolved), IsOk());

  absl::StatusOr<std::vector<AlertEvent>> history =
      store_->History(absl::InfinitePast(), 10, "");
  ASSERT_THAT(history, IsOk());
  ASSERT_THAT(*history, SizeIs(3));  // The update is not a change of state.
  EXPECT_EQ((*history)[0].kind, AlertEvent::Kind::kResolved);
  EXPECT_EQ((*history)[0].alert.state, AlertState::kResolved);
  EXPECT_TRUE((*history)[0].inhibited);
  EXPECT_EQ((*history)[0].at, clock_.Now());
  EXPECT_EQ((*history)[1].kind, AlertEvent::Kind::kFiring);
  EXPECT_EQ((*history)[1].alert.state, AlertState::kFiring);
  EXPECT_EQ((*history)[2].kind, AlertEvent::Kind::kPending);
  for (const AlertEvent& event : *history) {
    EXPECT_EQ(event.alert.id, id);
    EXPECT_EQ(event.alert.key.rule, "health");
  }
  // The latest value, kept by the update, is in the alert's row.
  EXPECT_EQ((*history)[0].alert.value, 3);
}

TEST_F(AlertStoreTest, HistorySinceLimitAndHost) {
  Fire("health");  // Two changes at T and T+30s.
  AlertEvent other = Change(AlertEvent::Kind::kPending, "disk");
  other.alert.key.agent_id = "b2";
  ASSERT_THAT(store_->Save(other), IsOk());
  EXPECT_THAT(store_->History(absl::InfinitePast(), 2, ""),
              IsOkAndHolds(SizeIs(2)));
  EXPECT_THAT(store_->History(clock_.Now(), 10, ""), IsOkAndHolds(SizeIs(2)));
  EXPECT_THAT(store_->History(clock_.Now() + absl::Seconds(1), 10, ""),
              IsOkAndHolds(IsEmpty()));
  absl::StatusOr<std::vector<AlertEvent>> of_b2 =
      store_->History(absl::InfinitePast(), 10, "b2");
  ASSERT_THAT(of_b2, IsOkAndHolds(SizeIs(1)));
  EXPECT_EQ((*of_b2)[0].alert.key.rule, "disk");
  EXPECT_THAT(store_->History(absl::InfinitePast(), 0, ""),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(AlertStoreTest, AcknowledgeOnlyWhileActive) {
  const int64_t id = Fire("health");
  const absl::Time at = clock_.Now();
  ASSERT_THAT(store_->Acknowledge(id, "alice", "restarting it", at), IsOk());
  absl::StatusOr<std::vector<Alert>> active = store_->LoadActive();
  ASSERT_THAT(active, IsOkAndHolds(SizeIs(1)));
  EXPECT_EQ((*active)[0].acknowledged_by, "alice");
  EXPECT_EQ((*active)[0].ack_comment, "restarting it");
  EXPECT_EQ((*active)[0].acknowledged_at, at);

  // A later save of the alert keeps the acknowledgement.
  clock_.Advance(absl::Seconds(5));
  AlertEvent updated = Change(AlertEvent::Kind::kUpdated, "health", id);
  updated.alert.state = AlertState::kFiring;
  ASSERT_THAT(store_->Save(updated), IsOk());
  active = store_->LoadActive();
  ASSERT_THAT(active, IsOkAndHolds(SizeIs(1)));
  EXPECT_EQ((*active)[0].acknowledged_by, "alice");

  EXPECT_THAT(store_->Acknowledge(id + 100, "alice", "x", at),
              StatusIs(absl::StatusCode::kNotFound));
  ASSERT_THAT(store_->Save(Change(AlertEvent::Kind::kResolved, "health", id)),
              IsOk());
  EXPECT_THAT(
      store_->Acknowledge(id, "bob", "late", at),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("resolved")));
}

TEST_F(AlertStoreTest, SilencesAreAddedListedAndExpired) {
  absl::StatusOr<int64_t> id = store_->AddSilence(HostSilence());
  ASSERT_THAT(id, IsOk());
  absl::StatusOr<std::vector<Silence>> silences =
      store_->Silences(clock_.Now());
  ASSERT_THAT(silences, IsOkAndHolds(SizeIs(1)));
  const Silence& silence = (*silences)[0];
  EXPECT_EQ(silence.id, *id);
  ASSERT_THAT(silence.matchers, SizeIs(2));
  EXPECT_EQ(silence.matchers[1].label, "alertname");
  EXPECT_EQ(silence.matchers[1].op, LabelMatcher::Op::kRegex);
  EXPECT_EQ(silence.matchers[1].value, "disk.*");
  EXPECT_EQ(silence.comment, "disk swap tonight");
  EXPECT_EQ(silence.created_by, "alice");
  EXPECT_EQ(silence.ends_at, clock_.Now() + absl::Hours(2));

  clock_.Advance(absl::Minutes(10));
  ASSERT_THAT(store_->ExpireSilence(*id, "bob", clock_.Now()), IsOk());
  EXPECT_THAT(store_->Silences(clock_.Now()), IsOkAndHolds(IsEmpty()));
  silences = store_->Silences(absl::InfinitePast());
  ASSERT_THAT(silences, IsOkAndHolds(SizeIs(1)));
  EXPECT_EQ((*silences)[0].expired_by, "bob");
  EXPECT_EQ((*silences)[0].ends_at, clock_.Now());

  EXPECT_THAT(store_->ExpireSilence(*id, "bob", clock_.Now()),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(store_->ExpireSilence(*id + 1, "bob", clock_.Now()),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(AlertStoreTest, SilencesEndByThemselves) {
  ASSERT_THAT(store_->AddSilence(HostSilence()), IsOk());
  clock_.Advance(absl::Hours(2));
  EXPECT_THAT(store_->Silences(clock_.Now()), IsOkAndHolds(IsEmpty()));
  EXPECT_THAT(store_->Silences(clock_.Now() - absl::Seconds(1)),
              IsOkAndHolds(SizeIs(1)));
}

TEST_F(AlertStoreTest, DeliveriesNewestFirstAndTheLastSuccessIsLastNotified) {
  const int64_t id = Fire("health");
  const absl::Time sent = clock_.Now();
  ASSERT_THAT(
      store_->RecordDelivery(
          {id, "ops-webhook", AlertEvent::Kind::kFiring, 1, sent, true, ""}),
      IsOk());
  clock_.Advance(absl::Minutes(5));
  ASSERT_THAT(
      store_->RecordDelivery({id, "ops-mail", AlertEvent::Kind::kFiring, 2,
                              clock_.Now(), false, "connection refused"}),
      IsOk());

  absl::StatusOr<std::vector<DeliveryRecord>> deliveries =
      store_->Deliveries(id);
  ASSERT_THAT(deliveries, IsOkAndHolds(SizeIs(2)));
  EXPECT_EQ((*deliveries)[0].receiver, "ops-mail");
  EXPECT_EQ((*deliveries)[0].attempt, 2);
  EXPECT_FALSE((*deliveries)[0].ok);
  EXPECT_EQ((*deliveries)[0].error, "connection refused");
  EXPECT_EQ((*deliveries)[1].receiver, "ops-webhook");
  EXPECT_TRUE((*deliveries)[1].ok);
  EXPECT_EQ((*deliveries)[1].kind, AlertEvent::Kind::kFiring);

  absl::StatusOr<std::vector<Alert>> active = store_->LoadActive();
  ASSERT_THAT(active, IsOkAndHolds(SizeIs(1)));
  EXPECT_EQ((*active)[0].last_notified_at, sent);
}

TEST_F(AlertStoreTest, EverythingSurvivesARestart) {
  const int64_t id = Fire("health");
  ASSERT_THAT(store_->Acknowledge(id, "alice", "on it", clock_.Now()), IsOk());
  ASSERT_THAT(store_->RecordDelivery({id, "ops", AlertEvent::Kind::kFiring, 1,
                                      clock_.Now(), true, ""}),
              IsOk());
  ASSERT_THAT(store_->AddSilence(HostSilence()), IsOk());

  Reopen();
  absl::StatusOr<std::vector<Alert>> active = store_->LoadActive();
  ASSERT_THAT(active, IsOkAndHolds(SizeIs(1)));
  EXPECT_EQ((*active)[0].id, id);
  EXPECT_EQ((*active)[0].state, AlertState::kFiring);
  EXPECT_EQ((*active)[0].acknowledged_by, "alice");
  EXPECT_EQ((*active)[0].last_notified_at, clock_.Now());
  EXPECT_THAT(store_->History(absl::InfinitePast(), 10, ""),
              IsOkAndHolds(SizeIs(2)));
  EXPECT_THAT(store_->Silences(clock_.Now()), IsOkAndHolds(SizeIs(1)));
  EXPECT_THAT(store_->Deliveries(id), IsOkAndHolds(SizeIs(1)));
  // New ids continue after the old ones.
  absl::StatusOr<int64_t> next =
      store_->Save(Change(AlertEvent::Kind::kPending, "disk"));
  ASSERT_THAT(next, IsOk());
  EXPECT_GT(*next, id);
}

TEST_F(AlertStoreTest, SharesTheFileWithTheCollectorsStorageAndKeepsItPrivate) {
  absl::StatusOr<std::unique_ptr<Storage>> storage =
      OpenSqliteStorage({options_.path});
  ASSERT_THAT(storage, IsOk());
  Fire("health");
  EXPECT_THAT((*storage)->ListHosts({}), IsOk());
  struct stat info;
  ASSERT_EQ(stat(options_.path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600);
}

TEST_F(AlertStoreTest, MigratesADatabaseOfThePreviousVersion) {
  store_.reset();
  const std::string path = PathIn("old.db");
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    ASSERT_THAT(MigrateSchema(db, CollectorSchema(), kSchemaVersion - 1),
                IsOk());
    db.exec(
        "INSERT INTO hosts (agent_id, first_seen_ms, last_seen_ms) "
        "VALUES ('a1', 1, 2)");
  }
  options_.path = path;
  Reopen();
  Fire("health");
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  EXPECT_THAT(StoredSchemaVersion(db, kDatabaseKind),
              IsOkAndHolds(kSchemaVersion));
  EXPECT_EQ(db.execAndGet("SELECT count(*) FROM hosts").getInt(), 1);
  EXPECT_EQ(db.execAndGet("SELECT count(*) FROM alerts").getInt(), 1);
}

TEST_F(AlertStoreTest, PruningKeepsTheNewestRowsWithinTheRetention) {
  options_.max_rows = 3;
  options_.retention = absl::Hours(1);
  Reopen();
  const int64_t old_resolved = Fire("old");
  ASSERT_THAT(
      store_->Save(Change(AlertEvent::Kind::kResolved, "old", old_resolved)),
      IsOk());
  ASSERT_THAT(
      store_->RecordDelivery({old_resolved, "ops", AlertEvent::Kind::kResolved,
                              1, clock_.Now(), true, ""}),
      IsOk());
  Silence ended = HostSilence();
  ended.ends_at = clock_.Now() + absl::Minutes(1);
  ASSERT_THAT(store_->AddSilence(ended), IsOk());
  clock_.Advance(absl::Hours(2));
  const int64_t firing = Fire("health");
  for (int i = 0; i < 3; ++i) {
    clock_.Advance(absl::Seconds(1));
    ASSERT_THAT(store_->Save(Change(AlertEvent::Kind::kPending,
                                    "disk" + std::to_string(i))),
                IsOk());
  }
  ASSERT_THAT(store_->Prune(), IsOk());

  absl::StatusOr<std::vector<AlertEvent>> history =
      store_->History(absl::InfinitePast(), 100, "");
  ASSERT_THAT(history, IsOkAndHolds(SizeIs(3)));
  EXPECT_EQ((*history)[0].alert.key.rule, "disk2");
  EXPECT_EQ((*history)[2].alert.key.rule, "disk0");
  EXPECT_THAT(store_->Deliveries(old_resolved), IsOkAndHolds(IsEmpty()));
  EXPECT_THAT(store_->Silences(absl::InfinitePast()), IsOkAndHolds(IsEmpty()));
  // Active alerts stay whatever happened to their history; the resolved
  // one without any is gone.
  EXPECT_THAT(store_->LoadActive(), IsOkAndHolds(SizeIs(4)));
  EXPECT_THAT(store_->Acknowledge(firing, "alice", "x", clock_.Now()), IsOk());
  EXPECT_THAT(store_->Acknowledge(old_resolved, "alice", "x", clock_.Now()),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(AlertStoreTest, PrunesByItselfAfterEnoughWrites) {
  options_.max_rows = 2;
  options_.prune_every_rows = 4;
  Reopen();
  Fire("a");  // Two history rows.
  Fire("b");  // Four: pruned to two.
  EXPECT_THAT(store_->History(absl::InfinitePast(), 100, ""),
              IsOkAndHolds(SizeIs(2)));
}

}  // namespace
}  // namespace eroom::collector
