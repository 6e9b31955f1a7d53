#include "agent/spool.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/log_sources.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/test_support/status_matchers.h"
#include "tests/unit/test_support/temp_dir.h"

namespace eroom::agent {
namespace {
namespace v1 = ::eroom::monitor::v1;

using test_support::IsOk;
using test_support::IsOkAndHolds;
using test_support::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Each test's spool, in a directory Open creates.
class SpoolTest : public test_support::TempDirTest {
 protected:
  std::string SpoolPath() const { return PathIn("state/agent-state.db"); }
};

v1::LogEvent Log(const std::string& message) {
  v1::LogEvent log;
  log.set_message(message);
  return log;
}

v1::LogEvent LogFrom(const std::string& file, const std::string& logger,
                     const std::string& thread, const std::string& message) {
  v1::LogEvent log = Log(message);
  log.set_file(file);
  log.set_logger(logger);
  log.set_thread(thread);
  return log;
}

// Commits copies of `events`: Commit takes their file, logger and thread.
absl::Status CommitLogs(Spool& spool, std::vector<v1::LogEvent> events,
                        const std::vector<FileCheckpoint>& checkpoints = {}) {
  return spool.Commit(absl::MakeSpan(events), checkpoints);
}

v1::Event Notice(const std::string& kind) {
  v1::Event event;
  event.mutable_notice()->set_kind(kind);
  return event;
}

// The batch ReadAfter appends to, parsed.
v1::EventBatch EncodedBatchAfter(Spool& spool, uint64_t after,
                                 size_t max_events = 100,
                                 size_t max_bytes = 1 << 20) {
  std::string encoded;
  EXPECT_THAT(spool.ReadAfter(after, max_events, max_bytes, encoded), IsOk());
  v1::EventBatch batch;
  EXPECT_TRUE(batch.ParseFromString(encoded));
  return batch;
}

// The events ReadAfter appends to a batch, parsed and given their log
// sources as the collector does.
std::vector<v1::Event> ReadAfter(Spool& spool, uint64_t after,
                                 size_t max_events,
                                 size_t max_bytes = 1 << 20) {
  v1::EventBatch batch = EncodedBatchAfter(spool, after, max_events, max_bytes);
  EXPECT_THAT(ResolveLogSources(batch), IsOk());
  return {batch.events().begin(), batch.events().end()};
}

std::vector<std::string> Threads(const std::vector<v1::Event>& events) {
  std::vector<std::string> out;
  for (const v1::Event& e : events) out.push_back(e.log().thread());
  return out;
}

int64_t SpooledSources(const std::string& path) {
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  return db.execAndGet("SELECT COUNT(*) FROM log_sources").getInt64();
}

std::vector<uint64_t> Sequences(const std::vector<v1::Event>& events) {
  std::vector<uint64_t> out;
  for (const v1::Event& e : events) out.push_back(e.sequence());
  return out;
}

TEST_F(SpoolTest, EventsAndCheckpointsCommitTogether) {
  std::string path = SpoolPath();
  FileCheckpoint checkpoint{.device = 1,
                            .inode = 2,
                            .fingerprint = "2025-06",
                            .path = "logs/server.log",
                            .offset = 300};
  {
    auto store = *Spool::Open({.path = path});
    ASSERT_THAT(CommitLogs(*store, {Log("a"), Log("b")}, {checkpoint}), IsOk());
    ASSERT_THAT(store->Append({Notice("n")}), IsOk());
  }
  auto store = *Spool::Open({.path = path});
  EXPECT_THAT(store->Load()->checkpoints, ElementsAre(checkpoint));
  std::vector<v1::Event> events = ReadAfter(*store, 0, 10);
  EXPECT_THAT(Sequences(events), ElementsAre(1, 2, 3));
  EXPECT_EQ(events[0].log().message(), "a");
  EXPECT_EQ(events[2].notice().kind(), "n");
  EXPECT_EQ(store->stats().events, 3u);
  EXPECT_GT(store->stats().bytes, 0u);
}

// A commit's log events share rows: 70 of them take a full row and part of
// another. Each comes back as the Event holding it, byte for byte, with its
// own number.
TEST_F(SpoolTest, ManyLogEventsToAStatementKeepTheirOrderAndContent) {
  std::string path = SpoolPath();
  std::vector<v1::LogEvent> logs;
  for (int i = 0; i < 70; ++i) {
    v1::LogEvent log = Log(absl::StrCat("line ", i, " 방 생성"));
    log.set_level(v1::ERROR);
    log.set_file_offset(100 * i);
    (*log.mutable_fields())["ruid"] = absl::StrCat("room-", i);
    logs.push_back(std::move(log));
  }
  {
    auto store = *Spool::Open({.path = path});
    ASSERT_THAT(store->Append({Notice("first")}), IsOk());
    ASSERT_THAT(CommitLogs(*store, logs, {}), IsOk());
    EXPECT_EQ(store->stats().events, 71u);
    EXPECT_EQ(store->stats().last_sequence, 71u);
  }
  auto store = *Spool::Open({.path = path});
  EXPECT_EQ(store->stats().events, 71u);
  std::vector<v1::Event> events = ReadAfter(*store, 0, 100);
  ASSERT_EQ(events.size(), 71u);
  EXPECT_EQ(events[0].notice().kind(), "first");
  for (size_t i = 0; i < logs.size(); ++i) {
    v1::Event expected;
    expected.set_sequence(i + 2);
    *expected.mutable_log() = logs[i];
    EXPECT_EQ(events[i + 1].SerializeAsString(), expected.SerializeAsString())
        << "event " << i;
  }
}

// Events of one file, logger and thread share a source, spooled once; a
// batch defines each source its events refer to.
TEST_F(SpoolTest, LogEventsReferToTheirSourceWhichABatchDefinesOnce) {
  const std::string path = SpoolPath();
  auto store = *Spool::Open({.path = path});
  const std::vector<v1::LogEvent> logs = {
      LogFrom("logs/server.log", "c.e.Api", "exec-1", "a"),
      LogFrom("logs/server.log", "c.e.Room", "worker-1", "b"),
      LogFrom("logs/server.log", "c.e.Api", "exec-1", "c")};
  ASSERT_THAT(CommitLogs(*store, logs), IsOk());
  ASSERT_THAT(store->Append({Notice("n")}), IsOk());
  ASSERT_THAT(CommitLogs(*store, {logs[0]}), IsOk());
  EXPECT_EQ(SpooledSources(path), 2);

  v1::EventBatch batch = EncodedBatchAfter(*store, 0);
  ASSERT_EQ(batch.events_size(), 5);
  EXPECT_EQ(batch.log_sources_size(), 2);
  for (int i : {0, 1, 2, 4}) {
    EXPECT_NE(batch.events(i).log_source(), 0u) << i;
    const v1::LogEvent& log = batch.events(i).log();
    EXPECT_FALSE(log.has_file() || log.has_logger() || log.has_thread()) << i;
  }
  EXPECT_EQ(batch.events(0).log_source(), batch.events(2).log_source());
  EXPECT_EQ(batch.events(0).log_source(), batch.events(4).log_source());
  EXPECT_NE(batch.events(0).log_source(), batch.events(1).log_source());

  ASSERT_THAT(ResolveLogSources(batch), IsOk());
  for (int i : {0, 1, 2}) {
    EXPECT_EQ(batch.events(i).log().SerializeAsString(),
              logs[i].SerializeAsString())
        << i;
  }
  EXPECT_EQ(batch.events(4).log().SerializeAsString(),
            logs[0].SerializeAsString());
  // A batch of the later events only defines their source only.
  EXPECT_EQ(EncodedBatchAfter(*store, 3).log_sources_size(), 1);
}

// The sources of an earlier run are numbered anew; the old ones serve the
// events spooled then, and are deleted once those are acknowledged.
TEST_F(SpoolTest, SourcesOfAnEarlierRunGoOnceItsEventsAreAcknowledged) {
  const std::string path = SpoolPath();
  const v1::LogEvent log = LogFrom("server.log", "x.Y", "main", "m");
  ASSERT_THAT(CommitLogs(**Spool::Open({.path = path}), {log, log}), IsOk());
  auto store = *Spool::Open({.path = path});
  ASSERT_THAT(CommitLogs(*store, {log}), IsOk());
  EXPECT_EQ(SpooledSources(path), 2);
  EXPECT_THAT(Threads(ReadAfter(*store, 0, 10)),
              ElementsAre("main", "main", "main"));
  ASSERT_THAT(store->DeleteThrough(1), IsOk());
  EXPECT_EQ(SpooledSources(path), 2);
  ASSERT_THAT(store->DeleteThrough(2), IsOk());
  EXPECT_EQ(SpooledSources(path), 1);
  EXPECT_THAT(Threads(ReadAfter(*store, 0, 10)), ElementsAre("main"));
}

// A host whose thread names keep changing: past Spool::kMaxLogSources the
// spool numbers its sources afresh and deletes the old ones in time.
TEST_F(SpoolTest, SourcesAreNumberedAfreshPastTheirLimit) {
  const std::string path = SpoolPath();
  auto store = *Spool::Open({.path = path});
  std::vector<v1::LogEvent> logs;
  for (size_t i = 0; i < Spool::kMaxLogSources; ++i) {
    logs.push_back(LogFrom("server.log", "x.Y", absl::StrCat("pool-", i), ""));
  }
  ASSERT_THAT(CommitLogs(*store, logs), IsOk());
  ASSERT_THAT(CommitLogs(*store, {logs[7]}), IsOk());
  EXPECT_EQ(SpooledSources(path), Spool::kMaxLogSources + 1);
  ASSERT_THAT(store->DeleteThrough(Spool::kMaxLogSources), IsOk());
  EXPECT_EQ(SpooledSources(path), 1);
  EXPECT_THAT(Threads(ReadAfter(*store, 0, 10)), ElementsAre("pool-7"));
}

// A commit that fails spools none of the sources it numbered, so no later
// event may refer to them.
TEST_F(SpoolTest, SourcesOfACommitThatFailedAreNumberedAgain) {
  auto store = *Spool::Open({.path = SpoolPath(), .max_spool_bytes = 100});
  const v1::LogEvent big = LogFrom("b.log", "y", "t2", std::string(60, 'b'));
  ASSERT_THAT(CommitLogs(*store, {LogFrom("a.log", "x", "t1", big.message())}),
              IsOk());
  ASSERT_THAT(CommitLogs(*store, {big}),
              StatusIs(absl::StatusCode::kResourceExhausted));
  ASSERT_THAT(store->DeleteThrough(1), IsOk());
  ASSERT_THAT(CommitLogs(*store, {big}), IsOk());
  EXPECT_THAT(Threads(ReadAfter(*store, 0, 10)), ElementsAre("t2"));
}

// Renumbered to follow the collector, the events of an earlier run keep
// their sources until they themselves are acknowledged.
TEST_F(SpoolTest, SourcesStayWithTheEventsARenumberingMoves) {
  const std::string path = SpoolPath();
  const v1::LogEvent log = LogFrom("server.log", "x.Y", "main", "m");
  ASSERT_THAT(CommitLogs(**Spool::Open({.path = path}), {log, log}), IsOk());
  auto store = *Spool::Open({.path = path});
  ASSERT_THAT(store->FollowCollectorSequence(100), IsOk());
  ASSERT_THAT(store->DeleteThrough(100), IsOk());
  EXPECT_THAT(Threads(ReadAfter(*store, 100, 10)), ElementsAre("main", "main"));
  ASSERT_THAT(store->DeleteThrough(102), IsOk());
  EXPECT_EQ(SpooledSources(path), 0);
}

TEST_F(SpoolTest, RemembersACommitWithoutCheckpoints) {
  std::string path = SpoolPath();
  {
    auto store = *Spool::Open({.path = path});
    EXPECT_FALSE(store->Load()->committed);
    ASSERT_THAT(CommitLogs(*store, {}, {}), IsOk());
  }
  auto store = *Spool::Open({.path = path});
  SavedLogState saved = *store->Load();
  EXPECT_TRUE(saved.committed);
  EXPECT_THAT(saved.checkpoints, IsEmpty());
}

TEST_F(SpoolTest, CheckpointsAreReplacedNotMerged) {
  auto store = *Spool::Open({.path = SpoolPath()});
  FileCheckpoint old_file{
      .device = 1, .inode = 1, .fingerprint = "x", .path = "a", .offset = 5};
  FileCheckpoint new_file{
      .device = 1, .inode = 9, .fingerprint = "y", .path = "a", .offset = 0};
  ASSERT_THAT(CommitLogs(*store, {}, {old_file}), IsOk());
  ASSERT_THAT(CommitLogs(*store, {}, {new_file}), IsOk());
  EXPECT_THAT(store->Load()->checkpoints, ElementsAre(new_file));
}

TEST_F(SpoolTest, AcknowledgedEventsAreDeletedButNumberingContinues) {
  std::string path = SpoolPath();
  {
    auto store = *Spool::Open({.path = path});
    ASSERT_THAT(store->Append({Notice("1"), Notice("2"), Notice("3")}), IsOk());
    ASSERT_THAT(store->DeleteThrough(3), IsOk());
    EXPECT_EQ(store->stats().events, 0u);
    EXPECT_EQ(store->stats().bytes, 0u);
  }
  auto store = *Spool::Open({.path = path});
  EXPECT_THAT(ReadAfter(*store, 0, 10), IsEmpty());
  ASSERT_THAT(store->Append({Notice("4")}), IsOk());
  EXPECT_THAT(Sequences(ReadAfter(*store, 0, 10)), ElementsAre(4));
}

TEST_F(SpoolTest, ReadAfterPagesInOrder) {
  auto store = *Spool::Open({.path = SpoolPath()});
  for (int i = 0; i < 5; ++i) ASSERT_THAT(store->Append({Notice("x")}), IsOk());
  EXPECT_THAT(Sequences(ReadAfter(*store, 0, 2)), ElementsAre(1, 2));
  EXPECT_THAT(Sequences(ReadAfter(*store, 2, 2)), ElementsAre(3, 4));
  EXPECT_THAT(Sequences(ReadAfter(*store, 4, 2)), ElementsAre(5));
}

TEST_F(SpoolTest, ReadAfterStopsOncePastTheBytesButReadsOneAtLeast) {
  auto store = *Spool::Open({.path = SpoolPath()});
  for (int i = 0; i < 5; ++i) {
    ASSERT_THAT(store->Append({Notice(std::string(100, 'x'))}), IsOk());
  }
  std::string batch;
  EXPECT_THAT(store->ReadAfter(0, 10, 250, batch), IsOkAndHolds(2u));
  EXPECT_THAT(Sequences(ReadAfter(*store, 0, 10, 250)), ElementsAre(1, 2));
  EXPECT_THAT(store->ReadAfter(2, 10, 1, batch), IsOkAndHolds(3u));
  EXPECT_THAT(Sequences(ReadAfter(*store, 2, 10, 1)), ElementsAre(3));
  batch.clear();
  EXPECT_THAT(store->ReadAfter(5, 10, 250, batch), IsOkAndHolds(5u));
  EXPECT_THAT(batch, IsEmpty());
}

// Rows of log events are filled up to a page each, so that the spool of a
// long log takes little more disk, and writes little more, than its events.
TEST_F(SpoolTest, RowsOfLogEventsFillTheirPages) {
  const std::string path = SpoolPath();
  {
    auto store = *Spool::Open({.path = path});
    // 176 bytes each once spooled, about a generated log's 190.
    const std::vector<v1::LogEvent> events(2000, Log(std::string(170, 'x')));
    for (int commit = 0; commit < 10; ++commit) {
      ASSERT_THAT(CommitLogs(*store, events, {}), IsOk());
    }
  }
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  const int64_t payload =
      db.execAndGet("SELECT SUM(LENGTH(payload)) FROM spool").getInt64();
  const int64_t pages = db.execAndGet("PRAGMA page_count").getInt64();
  const int64_t page_bytes = db.execAndGet("PRAGMA page_size").getInt64();
  EXPECT_GT(payload, pages * page_bytes * 9 / 10)
      << pages << " pages for " << payload << " bytes of events";
}

TEST_F(SpoolTest, ReadAfterEndsABatchBetweenRowsWhereItCan) {
  auto store = *Spool::Open({.path = SpoolPath()});
  const size_t row = Spool::kMaxEventsPerRow;
  ASSERT_THAT(
      CommitLogs(*store, std::vector<v1::LogEvent>(row + 10, Log("x")), {}),
      IsOk());
  // Room for more than a row's events, not for two rows': the first row.
  EXPECT_EQ(ReadAfter(*store, 0, row + 5).size(), row);
  // Room for less than a row: the row is split.
  EXPECT_THAT(Sequences(ReadAfter(*store, 0, 2)), ElementsAre(1, 2));
  EXPECT_THAT(Sequences(ReadAfter(*store, 2, 2)), ElementsAre(3, 4));
  EXPECT_EQ(ReadAfter(*store, row, 100).size(), 10u);
  EXPECT_EQ(ReadAfter(*store, row - 1, 100).size(), 11u);
}

// An acknowledgement that ends inside a row: the row keeps its later events
// only, so that neither a reconnection nor a renumbering sends the others
// again, and the totals count what is left.
TEST_F(SpoolTest, AnAcknowledgementInsideARowKeepsItsLaterEventsOnly) {
  const std::string path = SpoolPath();
  std::vector<v1::LogEvent> logs;
  for (int i = 1; i <= 5; ++i) logs.push_back(Log(absl::StrCat("line ", i)));
  Spool::Stats left;
  {
    auto store = *Spool::Open({.path = path});
    ASSERT_THAT(CommitLogs(*store, logs, {}), IsOk());
    const uint64_t all_bytes = store->stats().bytes;
    ASSERT_THAT(store->DeleteThrough(2), IsOk());
    left = store->stats();
    EXPECT_EQ(left.events, 3u);
    EXPECT_LT(left.bytes, all_bytes);
    EXPECT_THAT(Sequences(ReadAfter(*store, 0, 10)), ElementsAre(3, 4, 5));
  }
  auto store = *Spool::Open({.path = path});
  EXPECT_EQ(store->stats().events, left.events);
  EXPECT_EQ(store->stats().bytes, left.bytes);
  std::vector<v1::Event> events = ReadAfter(*store, 0, 10);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].log().message(), "line 3");
  EXPECT_EQ(events[2].log().message(), "line 5");
  ASSERT_THAT(store->DeleteThrough(4), IsOk());
  EXPECT_THAT(Sequences(ReadAfter(*store, 0, 10)), ElementsAre(5));
  ASSERT_THAT(store->FollowCollectorSequence(40), IsOk());
  events = ReadAfter(*store, 0, 10);
  EXPECT_THAT(Sequences(events), ElementsAre(41));
  EXPECT_EQ(events[0].log().message(), "line 5");
  ASSERT_THAT(store->DeleteThrough(41), IsOk());
  EXPECT_EQ(store->stats().events, 0u);
  EXPECT_EQ(store->stats().bytes, 0u);
}

// An uplink's life in random steps: commits of any size with samples
// between them, batches of any limits, acknowledgements anywhere (inside
// rows too), reconnections that read again from the last acknowledgement,
// and restarts. Every event comes out in order, as spooled, until it is
// acknowledged, and the totals count exactly what is left.
TEST_F(SpoolTest, EveryEventIsReadInOrderUntilAcknowledged) {
  const std::string path = SpoolPath();
  auto store = *Spool::Open({.path = path});
  std::mt19937 random(20261206);
  const auto between = [&random](uint64_t low, uint64_t high) {
    return std::uniform_int_distribution<uint64_t>(low, high)(random);
  };
  std::map<uint64_t, std::string> unacknowledged;  // Sequence: its text.
  uint64_t last = 0, sent = 0, acknowledged = 0, written = 0;
  for (int step = 0; step < 400; ++step) {
    std::vector<v1::LogEvent> logs(between(0, 150));
    for (v1::LogEvent& log : logs) {
      log = Log(absl::StrCat("line ", ++written));
      unacknowledged[++last] = log.message();
    }
    ASSERT_THAT(CommitLogs(*store, logs, {}), IsOk());
    if (between(0, 3) == 0) {
      ASSERT_THAT(store->Append({Notice(absl::StrCat("notice ", ++written))}),
                  IsOk());
      unacknowledged[++last] = absl::StrCat("notice ", written);
    }
    const size_t max_events = between(1, 200);
    const std::vector<v1::Event> batch =
        ReadAfter(*store, sent, max_events, between(10, 20000));
    ASSERT_LE(batch.size(), max_events);
    auto expected = unacknowledged.upper_bound(sent);
    ASSERT_EQ(batch.empty(), expected == unacknowledged.end()) << step;
    for (const v1::Event& event : batch) {
      ASSERT_NE(expected, unacknowledged.end()) << step;
      ASSERT_EQ(event.sequence(), expected->first) << step;
      ASSERT_EQ(event.has_log() ? event.log().message() : event.notice().kind(),
                expected->second)
          << step;
      sent = event.sequence();
      ++expected;
    }
    if (between(0, 2) == 0) {
      acknowledged = between(acknowledged, sent);
      ASSERT_THAT(store->DeleteThrough(acknowledged), IsOk());
      unacknowledged.erase(unacknowledged.begin(),
                           unacknowledged.upper_bound(acknowledged));
    }
    ASSERT_EQ(store->stats().events, unacknowledged.size()) << step;
    if (between(0, 9) == 0) sent = acknowledged;  // A reconnection.
    if (between(0, 29) == 0) {
      const Spool::Stats before = store->stats();
      store.reset();
      store = *Spool::Open({.path = path});
      ASSERT_EQ(store->stats().events, before.events) << step;
      ASSERT_EQ(store->stats().bytes, before.bytes) << step;
      ASSERT_EQ(store->stats().last_sequence, before.last_sequence) << step;
      sent = acknowledged;
    }
  }
}

TEST_F(SpoolTest, ReadAfterLeavesOutARowOfEventsChangedOnDisk) {
  const std::string path = SpoolPath();
  auto store = *Spool::Open({.path = path});
  ASSERT_THAT(CommitLogs(*store, {Log("a"), Log("b"), Log("c")}, {}), IsOk());
  ASSERT_THAT(store->Append({Notice("d")}), IsOk());
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE);
    db.exec(
        "UPDATE spool SET payload = CAST(replace(CAST(payload AS TEXT), 'b', "
        "'z') AS BLOB) WHERE sequence = 3");
  }
  std::vector<v1::Event> events = ReadAfter(*store, 0, 10);
  EXPECT_THAT(Sequences(events), ElementsAre(4));
  // Acknowledging part of it leaves it as it is.
  ASSERT_THAT(store->DeleteThrough(1), IsOk());
  EXPECT_EQ(store->stats().events, 4u);
}

// The count numbers a row's events: a wrong one would send them under
// other sequences.
TEST_F(SpoolTest, ReadAfterLeavesOutARowWhoseCountChangedOnDisk) {
  const std::string path = SpoolPath();
  auto store = *Spool::Open({.path = path});
  ASSERT_THAT(CommitLogs(*store, {Log("a"), Log("b"), Log("c")}, {}), IsOk());
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE);
    db.exec("UPDATE spool SET events = 2 WHERE sequence = 3");
  }
  EXPECT_THAT(ReadAfter(*store, 0, 10), IsEmpty());
}

// A row's sources are part of what its checksum covers: a wrong one would
// send its events under another file, or a source the collector refuses.
TEST_F(SpoolTest, ReadAfterLeavesOutARowWhoseSourcesChangedOnDisk) {
  const std::string path = SpoolPath();
  auto store = *Spool::Open({.path = path});
  ASSERT_THAT(CommitLogs(*store, {LogFrom("a.log", "x", "t1", "a")}), IsOk());
  ASSERT_THAT(CommitLogs(*store, {LogFrom("b.log", "x", "t2", "b")}), IsOk());
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE);
    db.exec("UPDATE spool SET sources = x'02' WHERE sequence = 1");
  }
  EXPECT_THAT(Threads(ReadAfter(*store, 0, 10)), ElementsAre("t2"));
}

// A source read back from the database is checked before it is sent.
TEST_F(SpoolTest, ReadAfterLeavesOutTheEventsOfASourceChangedOnDisk) {
  const std::string path = SpoolPath();
  {
    auto store = *Spool::Open({.path = path});
    ASSERT_THAT(CommitLogs(*store, {LogFrom("a.log", "x", "t1", "a")}), IsOk());
    ASSERT_THAT(CommitLogs(*store, {LogFrom("b.log", "x", "t2", "b")}), IsOk());
    SQLite::Database db(path, SQLite::OPEN_READWRITE);
    db.exec("UPDATE log_sources SET definition = x'ff' WHERE source = 1");
  }
  auto store = *Spool::Open({.path = path});
  EXPECT_THAT(Threads(ReadAfter(*store, 0, 10)), ElementsAre("t2"));
}

TEST_F(SpoolTest, ReadAfterLeavesOutAnEventChangedOnDisk) {
  const std::string path = SpoolPath();
  auto store = *Spool::Open({.path = path});
  ASSERT_THAT(store->Append({Notice("a"), Notice("b"), Notice("c")}), IsOk());
  {
    // Still an Event, but not the one spooled: the checksum tells.
    SQLite::Database db(path, SQLite::OPEN_READWRITE);
    db.exec(
        "UPDATE spool SET payload = CAST(replace(CAST(payload AS TEXT), 'b', "
        "'z') AS BLOB) WHERE sequence = 2");
  }
  std::string batch;
  EXPECT_THAT(store->ReadAfter(0, 10, 1 << 20, batch), IsOkAndHolds(3u));
  std::vector<v1::Event> events = ReadAfter(*store, 0, 10);
  EXPECT_THAT(Sequences(events), ElementsAre(1, 3));
  EXPECT_EQ(events[1].notice().kind(), "c");
}

// Rows spooled before checksums and rows of several events: one Event
// each, parsed to tell damage.
TEST_F(SpoolTest, ReadAfterParsesEventsSpooledWithoutChecksum) {
  const std::string path = SpoolPath();
  ASSERT_THAT(Spool::Open({.path = path}), IsOk());
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE);
    SQLite::Statement insert(
        db, "INSERT INTO spool (sequence, payload) VALUES (?, ?)");
    const std::string payloads[] = {Notice("a").SerializeAsString(), "\xff",
                                    Notice("c").SerializeAsString()};
    for (int i = 0; i < 3; ++i) {
      insert.reset();
      insert.bind(1, i + 1);
      insert.bind(2, payloads[i].data(), static_cast<int>(payloads[i].size()));
      insert.exec();
    }
  }
  auto store = *Spool::Open({.path = path});
  EXPECT_EQ(store->stats().events, 3u);
  std::vector<v1::Event> events = ReadAfter(*store, 0, 10);
  EXPECT_THAT(Sequences(events), ElementsAre(1, 3));
  EXPECT_EQ(events[0].notice().kind(), "a");
}

TEST_F(SpoolTest, FollowsACollectorThatIsAhead) {
  auto store = *Spool::Open({.path = SpoolPath()});
  ASSERT_THAT(store->Append({Notice("a"), Notice("b")}), IsOk());
  // The collector already stored 40 events of this agent id: this state
  // was lost, so the spooled events must not be taken for duplicates.
  ASSERT_THAT(store->FollowCollectorSequence(40), IsOk());
  std::vector<v1::Event> events = ReadAfter(*store, 40, 10);
  EXPECT_THAT(Sequences(events), ElementsAre(41, 42));
  EXPECT_EQ(events[1].notice().kind(), "b");
  ASSERT_THAT(store->Append({Notice("c")}), IsOk());
  EXPECT_EQ(store->stats().last_sequence, 43u);
  // Behind or equal: nothing to do.
  ASSERT_THAT(store->FollowCollectorSequence(10), IsOk());
  EXPECT_EQ(store->stats().last_sequence, 43u);
}

TEST_F(SpoolTest, DamagedDatabaseIsMovedAsideAndReplaced) {
  std::string path = SpoolPath();
  std::filesystem::create_directories(
      std::filesystem::path(path).parent_path());
  std::ofstream(path) << std::string(8192, 'x');
  absl::StatusOr<std::unique_ptr<Spool>> store = Spool::Open({.path = path});
  ASSERT_THAT(store, IsOk());
  EXPECT_THAT((*store)->moved_aside(), HasSubstr(".corrupt-"));
  EXPECT_TRUE(std::filesystem::exists((*store)->moved_aside()));
  ASSERT_THAT((*store)->Append({Notice("fresh")}), IsOk());
  EXPECT_THAT(Sequences(ReadAfter(**store, 0, 10)), ElementsAre(1));
}

// A spool at `path` that replaced a damaged one.
std::unique_ptr<Spool> ReplaceDamaged(const std::string& path) {
  std::filesystem::create_directories(
      std::filesystem::path(path).parent_path());
  std::ofstream(path) << std::string(8192, 'x');
  return *Spool::Open({.path = path});
}

TEST_F(SpoolTest, AReplacementFollowsTheCollectorsNumberingWhateverItsOwn) {
  const std::string path = SpoolPath();
  {
    auto store = ReplaceDamaged(path);
    for (int i = 0; i < 10; ++i) {
      ASSERT_THAT(store->Append({Notice("x")}), IsOk());
    }
  }
  // Restarted before any hello: still known for a replacement.
  auto store = *Spool::Open({.path = path});
  // Its own numbering restarted at 1: the collector's 5 are other events,
  // and these ten must follow them, not be taken for duplicates.
  ASSERT_THAT(store->FollowCollectorSequence(5), IsOk());
  EXPECT_THAT(Sequences(ReadAfter(*store, 5, 20)),
              ElementsAre(6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
  EXPECT_EQ(store->stats().last_sequence, 15u);
  // Settled: from now on the numbering is the collector's.
  ASSERT_THAT(store->FollowCollectorSequence(5), IsOk());
  EXPECT_EQ(store->stats().last_sequence, 15u);
}

TEST_F(SpoolTest, AReplacementWaitsForWhereTheLogsResume) {
  const std::string path = SpoolPath();
  EXPECT_FALSE(
      (*Spool::Open({.path = PathIn("fresh.db")}))->log_resume_pending());
  ReplaceDamaged(path);
  auto store = *Spool::Open({.path = path});
  EXPECT_TRUE(store->log_resume_pending());
  EXPECT_FALSE(store->Load()->committed);
  EXPECT_EQ(store->AwaitLogResumePoints(absl::ZeroDuration()), std::nullopt);
  v1::LogResumePoint point;
  point.set_file("logs/server.log");
  store->OfferLogResumePoints({point});
  std::optional<std::vector<v1::LogResumePoint>> offered =
      store->AwaitLogResumePoints(absl::ZeroDuration());
  ASSERT_TRUE(offered.has_value());
  ASSERT_EQ(offered->size(), 1u);
  EXPECT_EQ((*offered)[0].file(), "logs/server.log");

  const FileCheckpoint resumed{.device = 1,
                               .inode = 2,
                               .fingerprint = "",
                               .path = "logs/server.log",
                               .offset = 300};
  ASSERT_THAT(store->ResumeLogs(
                  {.checkpoints = {resumed}, .stored_event_starts = {resumed}}),
              IsOk());
  EXPECT_FALSE(store->log_resume_pending());
  store.reset();
  store = *Spool::Open({.path = path});
  EXPECT_FALSE(store->log_resume_pending());
  SavedLogState saved = *store->Load();
  EXPECT_TRUE(saved.committed);
  EXPECT_THAT(saved.checkpoints, ElementsAre(resumed));
}

v1::LogEvent LogAt(const std::string& file, uint64_t offset) {
  v1::LogEvent log = Log(absl::StrCat(file, "@", offset));
  log.set_file(file);
  log.set_file_offset(offset);
  return log;
}

std::vector<std::string> Messages(const std::vector<v1::Event>& events) {
  std::vector<std::string> out;
  for (const v1::Event& e : events) out.push_back(e.log().message());
  return out;
}

TEST_F(SpoolTest, TheStoredEventAFileResumesAtIsLeftOutOnce) {
  const std::string path = SpoolPath();
  const FileCheckpoint resumed{.device = 1,
                               .inode = 2,
                               .fingerprint = "",
                               .path = "server.log",
                               .offset = 300};
  ReplaceDamaged(path)
      ->ResumeLogs({.checkpoints = {resumed}, .stored_event_starts = {resumed}})
      .IgnoreError();
  auto store = *Spool::Open({.path = path});
  FileCheckpoint read_on = resumed;
  read_on.offset = 300;  // The stored event is pending: not read yet.
  ASSERT_THAT(CommitLogs(*store, {}, {read_on}), IsOk());
  // Read again, the stored event is left out; another file at the same
  // name and offset (a rotation) is not.
  read_on.offset = 500;
  FileCheckpoint other{.device = 1,
                       .inode = 3,
                       .fingerprint = "",
                       .path = "server.1.log",
                       .offset = 400};
  ASSERT_THAT(CommitLogs(*store,
                         {LogAt("server.log", 300), LogAt("server.log", 400),
                          LogAt("server.1.log", 300)},
                         {read_on, other}),
              IsOk());
  EXPECT_THAT(Messages(ReadAfter(*store, 0, 10)),
              ElementsAre("server.log@400", "server.1.log@300"));
  // Passed, it is forgotten: the file truncated and written again at 300
  // is new text.
  read_on.offset = 0;
  ASSERT_THAT(CommitLogs(*store, {}, {read_on}), IsOk());
  store.reset();
  store = *Spool::Open({.path = path});
  read_on.offset = 500;
  ASSERT_THAT(CommitLogs(*store, {LogAt("server.log", 300)}, {read_on}),
              IsOk());
  EXPECT_THAT(
      Messages(ReadAfter(*store, 0, 10)),
      ElementsAre("server.log@400", "server.1.log@300", "server.log@300"));
}

TEST_F(SpoolTest, StateIsReadableByTheAgentOnly) {
  const mode_t old_umask = umask(022);
  const std::string path = SpoolPath();
  auto mode_of = [](const std::string& file) {
    struct stat info;
    return stat(file.c_str(), &info) == 0 ? info.st_mode & 07777 : 0;
  };
  {
    auto store = *Spool::Open({.path = path});
    ASSERT_THAT(store->Append({Notice("x")}), IsOk());
    EXPECT_EQ(mode_of(path), 0600u);
    EXPECT_EQ(mode_of(path + "-wal"), 0600u);
    EXPECT_EQ(mode_of(path + "-shm"), 0600u);
  }
  // A spool an older agent left readable is made private.
  ASSERT_EQ(chmod(path.c_str(), 0644), 0);
  auto store = *Spool::Open({.path = path});
  EXPECT_EQ(mode_of(path), 0600u);
  umask(old_umask);
}

TEST_F(SpoolTest, UnusableDirectoryIsAClearError) {
  absl::StatusOr<std::unique_ptr<Spool>> store =
      Spool::Open({.path = "/proc/eroom-state/agent-state.db"});
  EXPECT_THAT(store, StatusIs(absl::StatusCode::kFailedPrecondition,
                              HasSubstr("/proc/eroom-state")));
}

TEST_F(SpoolTest, WaiterWakesWhenAnEventArrives) {
  auto store = *Spool::Open({.path = SpoolPath()});
  EXPECT_FALSE(store->WaitForEventsAfter(0, absl::ZeroDuration()));
  std::thread writer([&] { store->Append({Notice("x")}).IgnoreError(); });
  EXPECT_TRUE(store->WaitForEventsAfter(0, absl::InfiniteDuration()));
  writer.join();
}

v1::Event Sample(int cpu) {
  v1::Event event;
  event.mutable_sample()->set_cpu_percent(cpu);
  return event;
}

TEST_F(SpoolTest, FullSpoolRefusesLogsAndKeepsCheckpoints) {
  auto store = *Spool::Open({.path = SpoolPath(), .max_spool_bytes = 100});
  FileCheckpoint before{
      .device = 1, .inode = 1, .fingerprint = "f", .path = "a", .offset = 10};
  ASSERT_THAT(CommitLogs(*store, {Log(std::string(60, 'a'))}, {before}),
              IsOk());
  FileCheckpoint after = before;
  after.offset = 200;
  absl::Status full = CommitLogs(*store, {Log(std::string(60, 'b'))}, {after});
  EXPECT_THAT(full, StatusIs(absl::StatusCode::kResourceExhausted,
                             HasSubstr("spool full")));
  EXPECT_EQ(store->stats().events, 1u);
  EXPECT_THAT(store->Load()->checkpoints, ElementsAre(before));
  // Once delivered and deleted, there is room again.
  ASSERT_THAT(store->DeleteThrough(1), IsOk());
  EXPECT_THAT(CommitLogs(*store, {Log(std::string(60, 'b'))}, {after}), IsOk());
}

TEST_F(SpoolTest, FullSpoolEvictsOldestSamplesButNeverLogs) {
  auto store = *Spool::Open({.path = SpoolPath(), .max_spool_bytes = 120});
  ASSERT_THAT(CommitLogs(*store, {Log(std::string(50, 'x'))}, {}),
              IsOk());  // 1
  for (int cpu = 1; cpu <= 10; ++cpu) {
    ASSERT_THAT(store->Append({Sample(cpu)}), IsOk());  // 2..11
  }
  std::vector<v1::Event> events = ReadAfter(*store, 0, 100);
  ASSERT_FALSE(events.empty());
  EXPECT_TRUE(events[0].has_log());
  // The newest samples survive, the oldest were evicted and counted.
  EXPECT_EQ(events.back().sample().cpu_percent(), 10);
  uint64_t kept_samples = events.size() - 1;
  EXPECT_EQ(store->stats().dropped, 10 - kept_samples);
  EXPECT_GT(store->stats().dropped, 0u);
  EXPECT_LE(store->stats().bytes, 120u);
}

TEST_F(SpoolTest, SampleIsDroppedWhenOnlyLogsFillTheSpool) {
  auto store = *Spool::Open({.path = SpoolPath(), .max_spool_bytes = 64});
  ASSERT_THAT(CommitLogs(*store, {Log(std::string(55, 'x'))}, {}), IsOk());
  ASSERT_THAT(store->Append({Sample(1)}), IsOk());
  EXPECT_EQ(store->stats().events, 1u);
  EXPECT_EQ(store->stats().dropped, 1u);
}

TEST_F(SpoolTest, EventsHandedOutAreNotEvictedAndDropsTakeSequences) {
  auto store = *Spool::Open({.path = SpoolPath(), .max_spool_bytes = 40});
  ASSERT_THAT(store->Append({Sample(1), Sample(2)}), IsOk());  // 1, 2
  ASSERT_EQ(ReadAfter(*store, 0, 10).size(), 2u);  // Both may be delivered.
  // No room, and nothing evictable: dropped, yet numbered.
  ASSERT_THAT(store->Append({Sample(3), Sample(4), Sample(5)}), IsOk());
  EXPECT_THAT(Sequences(ReadAfter(*store, 0, 10)), ElementsAre(1, 2));
  EXPECT_EQ(store->stats().dropped, 3u);
  EXPECT_EQ(store->stats().last_sequence, 5u);
  // Notices are kept even so, even over the cap: they report the drops.
  ASSERT_THAT(store->Append({Notice("after")}), IsOk());
  ASSERT_THAT(store->Append({Notice("again")}), IsOk());
  EXPECT_THAT(Sequences(ReadAfter(*store, 2, 10)), ElementsAre(6, 7));
  EXPECT_EQ(store->stats().dropped, 3u);
}

TEST_F(SpoolTest, VersionOneDatabaseIsMigrated) {
  std::string path = SpoolPath();
  std::filesystem::create_directories(
      std::filesystem::path(path).parent_path());
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec(
        "CREATE TABLE spool (sequence INTEGER PRIMARY KEY, payload BLOB NOT "
        "NULL);"
        "CREATE TABLE checkpoints (device INTEGER NOT NULL, inode INTEGER NOT "
        "NULL, fingerprint BLOB NOT NULL, path TEXT NOT NULL, offset INTEGER "
        "NOT NULL, PRIMARY KEY (device, inode));"
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
        "PRAGMA user_version = 1;");
    std::string payload = Notice("old").SerializeAsString();
    SQLite::Statement insert(db, "INSERT INTO spool VALUES (7, ?)");
    insert.bind(1, payload.data(), static_cast<int>(payload.size()));
    insert.exec();
  }
  auto store = *Spool::Open({.path = path});
  std::vector<v1::Event> events = ReadAfter(*store, 0, 10);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].sequence(), 7u);
  EXPECT_EQ(events[0].notice().kind(), "old");
  ASSERT_THAT(store->Append({Notice("new")}), IsOk());
  EXPECT_EQ(store->stats().last_sequence, 8u);
  // It holds events, so an agent has run on it.
  EXPECT_TRUE(store->Load()->committed);
}

}  // namespace
}  // namespace eroom::agent
