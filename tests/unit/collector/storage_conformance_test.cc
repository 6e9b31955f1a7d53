// What every storage backend promises (collector/storage.h), run against
// each: SQLite (with its search index caught up, and without one) and the
// in-memory fake the other tests use. A new backend adds itself to
// kBackends and must pass unchanged.
#include <algorithm>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "collector/metric_rollups.h"
#include "collector/sqlite/search_index.h"
#include "collector/sqlite/sqlite_storage.h"
#include "collector/storage.h"
#include "common/metric_catalog.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/collector/fake_storage.h"
#include "tests/unit/collector/room_test_data.h"
#include "tests/unit/collector/storage_test_data.h"
#include "tests/unit/collector/storage_test_queries.h"
#include "tests/unit/test_support/proto_matchers.h"
#include "tests/unit/test_support/status_matchers.h"
#include "tests/unit/test_support/temp_dir.h"

namespace eroom::collector {
namespace {

namespace v1 = ::eroom::monitor::v1;
using namespace ::eroom::collector::storage_test;  // NOLINT: test data
using ::eroom::test_support::EqualsProto;
using ::eroom::test_support::IsOk;
using ::eroom::test_support::IsOkAndHolds;
using ::eroom::test_support::StatusIs;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

// Opens one backend's store, again and again, as successive collector
// processes would.
class StoreOpener {
 public:
  virtual ~StoreOpener() = default;
  // What earlier opens stored is there.
  virtual std::unique_ptr<Storage> Open() = 0;
  // Called after each write, before the test reads.
  virtual void Settle() {}
};

class FakeOpener final : public StoreOpener {
 public:
  std::unique_ptr<Storage> Open() override { return disk_.Reopen(); }

 private:
  FakeStorage disk_;
};

class SqliteOpener final : public StoreOpener {
 public:
  SqliteOpener(std::string path, bool search_index)
      : path_(std::move(path)), search_index_(search_index) {
    if (!search_index_) {
      // A directory where the index file belongs: it cannot be opened.
      std::filesystem::create_directories(SearchIndexPath(path_));
    }
  }

  std::unique_ptr<Storage> Open() override {
    absl::StatusOr<std::unique_ptr<Storage>> opened = OpenSqliteStorage(
        {.path = path_, .search_index_delay = absl::ZeroDuration()});
    EXPECT_THAT(opened, IsOk());
    return opened.ok() ? *std::move(opened) : nullptr;
  }

  // Searches are answered from the index and from scanning what it has
  // not reached yet; this makes it the index.
  void Settle() override {
    if (!search_index_) return;
    ASSERT_TRUE(storage_test::SearchIndexCaughtUp(path_));
  }

 private:
  const std::string path_;
  const bool search_index_;
};

struct Backend {
  const char* name;
  std::function<std::unique_ptr<StoreOpener>(const std::string& dir)> opener;
};

void PrintTo(const Backend& backend, std::ostream* os) { *os << backend.name; }

const Backend kBackends[] = {
    {"Fake", [](const std::string&) { return std::make_unique<FakeOpener>(); }},
    {"Sqlite",
     [](const std::string& dir) {
       return std::make_unique<SqliteOpener>(dir + "/data/collector.db", true);
     }},
    {"SqliteWithoutSearchIndex",
     [](const std::string& dir) {
       return std::make_unique<SqliteOpener>(dir + "/data/collector.db", false);
     }},
};

class StorageConformanceTest : public test_support::TempDirTest,
                               public ::testing::WithParamInterface<Backend> {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    opener_ = GetParam().opener(temp_dir().string());
    Reopen();
  }

  void Reopen() {
    storage_.reset();
    storage_ = opener_->Open();
    ASSERT_NE(storage_, nullptr);
  }

  void Register(const std::string& agent_id, absl::Time at = kNow) {
    ASSERT_THAT(storage_->RegisterAgent(Hello(agent_id), at), IsOk());
  }

  void Apply(const StoredBatch& batch) {
    ASSERT_THAT(storage_->Apply(batch), IsOk());
    opener_->Settle();
  }

  v1::QueryLogsResponse Logs(v1::QueryLogsRequest request) {
    if (request.limit() == 0) request.set_limit(1000);
    absl::StatusOr<v1::QueryLogsResponse> response =
        storage_->QueryLogs(request, /*check=*/{});
    EXPECT_THAT(response, IsOk());
    return response.ok() ? *response : v1::QueryLogsResponse{};
  }

  std::vector<uint64_t> Sequences(const v1::QueryLogsResponse& response) {
    std::vector<uint64_t> out;
    for (const auto& event : response.events()) {
      out.push_back(event.sequence());
    }
    return out;
  }

  std::vector<uint64_t> LogsContaining(const std::string& text) {
    return LogsContainingIn(*storage_, text);
  }

  v1::QueryMetricsResponse Metrics(v1::QueryMetricsRequest request) {
    if (request.limit() == 0) request.set_limit(1000);
    absl::StatusOr<v1::QueryMetricsResponse> response =
        storage_->QueryMetrics(request);
    EXPECT_THAT(response, IsOk());
    return response.ok() ? *response : v1::QueryMetricsResponse{};
  }

  v1::QueryMetricsResponse Metrics(const std::string& name) {
    v1::QueryMetricsRequest request;
    request.set_name(name);
    return Metrics(request);
  }

  v1::HostStatus Host(const std::string& agent_id) {
    return HostIn(*storage_, agent_id);
  }

  std::unique_ptr<StoreOpener> opener_;
  std::unique_ptr<Storage> storage_;
};

INSTANTIATE_TEST_SUITE_P(Backends, StorageConformanceTest,
                         ::testing::ValuesIn(kBackends),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           return std::string(info.param.name);
                         });

// --- Hosts -----------------------------------------------------------------

TEST_P(StorageConformanceTest, RegisterAgentReturnsLastStoredSequence) {
  EXPECT_THAT(storage_->RegisterAgent(Hello("a"), kNow), IsOkAndHolds(0u));
  Apply(Stored({LogLines("a", 1, 7)}));
  EXPECT_THAT(storage_->RegisterAgent(Hello("a"), kNow), IsOkAndHolds(7u));
  EXPECT_THAT(storage_->RegisterAgent(v1::AgentHello(), kNow),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_P(StorageConformanceTest, RegisterAgentRecordsHelloAndConnection) {
  const absl::Time later = kNow + absl::Minutes(5);
  Register("a");
  v1::AgentHello changed = Hello("a");
  changed.set_version("0.2.0");
  ASSERT_THAT(storage_->RegisterAgent(changed, later), IsOk());

  v1::HostStatus host = Host("a");
  EXPECT_EQ(host.hostname(), "a.example");
  EXPECT_EQ(host.version(), "0.2.0");
  EXPECT_THAT(host.labels(),
              UnorderedElementsAre(Pair("env", "prod"), Pair("site", "서울")));
  EXPECT_TRUE(host.connected());
  EXPECT_FALSE(host.down());
  EXPECT_EQ(host.first_seen_unix_ms(), absl::ToUnixMillis(kNow));
  EXPECT_EQ(host.last_seen_unix_ms(), absl::ToUnixMillis(later));
  EXPECT_EQ(host.last_sequence(), 0u);
  EXPECT_FALSE(host.has_latest_sample());
  EXPECT_FALSE(host.has_latest_health());
  EXPECT_FALSE(host.has_latest_queue());
}

TEST_P(StorageConformanceTest, MarkDisconnected) {
  Register("a");
  const absl::Time gone = kNow + absl::Seconds(30);
  ASSERT_THAT(storage_->MarkDisconnected("a", gone), IsOk());
  v1::HostStatus host = Host("a");
  EXPECT_FALSE(host.connected());
  EXPECT_EQ(host.last_seen_unix_ms(), absl::ToUnixMillis(gone));
  EXPECT_THAT(storage_->MarkDisconnected("never-registered", gone), IsOk());
  EXPECT_THAT(
      storage_->ListHosts({}),
      IsOkAndHolds(::testing::Property(&v1::ListHostsResponse::hosts_size, 1)));
}

TEST_P(StorageConformanceTest, LastStoredSequence) {
  EXPECT_THAT(storage_->LastStoredSequence("a"), IsOkAndHolds(0u));
  Apply(Stored({LogLines("a", 1, 4)}));
  EXPECT_THAT(storage_->LastStoredSequence("a"), IsOkAndHolds(4u));
}

TEST_P(StorageConformanceTest, ApplyingCreatesTheHostOfAnUnregisteredAgent) {
  Apply(Stored({LogLines("stranger", 1, 2)}));
  v1::HostStatus host = Host("stranger");
  EXPECT_EQ(host.last_sequence(), 2u);
  EXPECT_FALSE(host.connected());
  EXPECT_EQ(host.first_seen_unix_ms(), absl::ToUnixMillis(kNow));
  EXPECT_EQ(host.last_seen_unix_ms(), absl::ToUnixMillis(kNow));
}

TEST_P(StorageConformanceTest, HostsAreListedByAgentIdOrOne) {
  Register("b");
  Apply(Stored({LogLines("c", 1, 1), LogLines("a", 1, 3), Batch("d", {})}));
  absl::StatusOr<v1::ListHostsResponse> hosts = storage_->ListHosts({});
  ASSERT_THAT(hosts, IsOk());
  std::vector<std::string> ids;
  for (const v1::HostStatus& host : hosts->hosts()) {
    ids.push_back(host.agent_id());
  }
  EXPECT_THAT(ids, ElementsAre("a", "b", "c", "d"));
  EXPECT_EQ(Host("a").last_sequence(), 3u);
  EXPECT_EQ(Host("d").last_sequence(), 0u);
}

TEST_P(StorageConformanceTest, HostProgressIsStored) {
  const absl::Time later = kNow + absl::Seconds(9);
  Register("a");
  StoredBatch batch = Stored({Batch("a", {SampleEvent(1, kT0, 10)})});
  batch.hosts[0].last_seen = later;
  Apply(batch);
  v1::HostStatus host = Host("a");
  EXPECT_EQ(host.last_sequence(), 1u);
  EXPECT_EQ(host.last_seen_unix_ms(), absl::ToUnixMillis(later));
  EXPECT_TRUE(host.connected());
}

TEST_P(StorageConformanceTest, LatestObservationsAreKeptUntilReplaced) {
  v1::Event health = ProbeEvent(2, kT0 + 1, v1::HEALTH, 5);
  v1::Event queue = ProbeEvent(3, kT0 + 2, v1::QUEUE_STATUS, 4);
  Apply(Stored({Batch("a", {SampleEvent(1, kT0, 10), health, queue})}));
  StoredBatch next = BuildStoredBatch(
      {Batch("a",
             {SampleEvent(4, kT0 + 3, 20), LogEvent(5, kT0, v1::INFO, "x")})},
      {{"a", 3}}, kNow);
  Apply(next);
  v1::HostStatus host = Host("a");
  EXPECT_EQ(host.latest_sample().cpu_percent(), 20);
  EXPECT_THAT(host.latest_health(), EqualsProto(health.probe()));
  EXPECT_THAT(host.latest_queue(), EqualsProto(queue.probe()));
}

TEST_P(StorageConformanceTest, ApplyWithoutAgentIdIsRejected) {
  EXPECT_THAT(storage_->Apply(Stored({LogLines("", 1, 1)})),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_P(StorageConformanceTest, AFailedApplyStoresNothing) {
  Apply(Stored({LogLines("a", 1, 1)}));
  StoredBatch batch = BuildStoredBatch(
      {Batch("a", {SampleEvent(2, kT0, 1), LogEvent(3, kT0, v1::INFO, "x")})},
      {{"a", 1}}, kNow);
  // Progress of a command never recorded cannot be stored.
  batch.command_progress.push_back(StoredCommandProgress{"a", {}});
  batch.command_progress.back().progress.set_command_id("unknown");
  EXPECT_THAT(storage_->Apply(batch), Not(IsOk()));
  EXPECT_EQ(Host("a").last_sequence(), 1u);
  EXPECT_FALSE(Host("a").has_latest_sample());
  EXPECT_THAT(Metrics("host.cpu_percent").series(), IsEmpty());
  EXPECT_THAT(LogsContaining(""), ElementsAre(1));

  // And nothing of it lingers to break the next one.
  batch.command_progress.clear();
  Apply(batch);
  EXPECT_EQ(Host("a").last_sequence(), 3u);
  EXPECT_EQ(Metrics("host.cpu_percent").series_size(), 1);
}

// --- Restart ---------------------------------------------------------------

TEST_P(StorageConformanceTest, ReopeningKeepsEverythingButConnections) {
  Register("a");
  Apply(Stored({LogLines("a", 1, 3), Batch("b", {SampleEvent(1, kT0, 5)})}));
  v1::CommandRecord command;
  command.set_command_id("c1");
  command.set_agent_id("a");
  ASSERT_THAT(storage_->RecordCommand(command), IsOk());
  ASSERT_TRUE(Host("a").connected());

  Reopen();
  Reopen();
  EXPECT_FALSE(Host("a").connected());
  EXPECT_EQ(Host("a").last_sequence(), 3u);
  EXPECT_THAT(storage_->LastStoredSequence("a"), IsOkAndHolds(3u));
  EXPECT_THAT(LogsContaining("line"), ElementsAre(3, 2, 1));
  EXPECT_EQ(Metrics("host.cpu_percent").series_size(), 1);
  EXPECT_THAT(storage_->GetCommand("c1"), IsOk());
  EXPECT_THAT(storage_->RegisterAgent(Hello("a"), kNow), IsOkAndHolds(3u));
  // Stored after the restart, found with what was stored before.
  Apply(BuildStoredBatch({LogLines("a", 4, 5)}, {{"a", 3}}, kNow));
  EXPECT_THAT(LogsContaining("line"), ElementsAre(5, 4, 3, 2, 1));
}

// --- Logs ------------------------------------------------------------------

TEST_P(StorageConformanceTest, LogEventRoundTrip) {
  v1::Event event = LogEvent(1, kT0, v1::ERROR,
                             "방 생성 실패: ruid=room_3f9a1c2b7d4e8f60\n"
                             "\tat c.f.e.service.RoomServiceImpl.create");
  v1::LogEvent& log = *event.mutable_log();
  log.set_event_type("room_failed");
  log.set_ruid("room_3f9a1c2b7d4e8f60");
  (*log.mutable_fields())["ruid"] = "room_3f9a1c2b7d4e8f60";
  (*log.mutable_fields())["reason"] = "Meshy 타임아웃";
  log.set_truncated(true);
  log.set_file_offset(1ull << 40);
  Apply(Stored({Batch("a", {event})}));

  v1::QueryLogsResponse response = Logs({});
  ASSERT_EQ(response.events_size(), 1);
  const v1::StoredLogEvent& stored = response.events(0);
  EXPECT_EQ(stored.agent_id(), "a");
  EXPECT_EQ(stored.sequence(), 1u);
  EXPECT_EQ(stored.received_unix_ms(), absl::ToUnixMillis(kNow));
  EXPECT_THAT(stored.event(), EqualsProto(log));
}

TEST_P(StorageConformanceTest, HeaderlessLogEventRoundTrip) {
  v1::Event event;
  event.set_sequence(1);
  event.mutable_log()->set_message("Exception in thread \"main\"");
  event.mutable_log()->set_file("/opt/eroom/logs/server.log");
  Apply(Stored({Batch("a", {event})}));
  v1::QueryLogsResponse response = Logs({});
  ASSERT_EQ(response.events_size(), 1);
  EXPECT_THAT(response.events(0).event(), EqualsProto(event.log()));
}

TEST_P(StorageConformanceTest, LogResumePointsAreEachFilesLastStoredEvent) {
  EXPECT_THAT(storage_->LogResumePoints("a"), IsOkAndHolds(IsEmpty()));
  // server.log rotated to a dated name, read on there, and a new
  // server.log begun: its offsets start again, its last event is the one
  // stored last, not the one furthest into a file.
  auto in_file = [](v1::Event event, const std::string& file, uint64_t offset) {
    event.mutable_log()->set_file(file);
    event.mutable_log()->set_file_offset(offset);
    return event;
  };
  const std::string current = "/opt/eroom/logs/server.log";
  const std::string dated = "/opt/eroom/logs/server.2026-12-02.log";
  std::string long_line(300, 'x');
  long_line.replace(254, 3, "한");  // A character across byte 256.
  v1::Event headerless;
  headerless.set_sequence(5);
  *headerless.mutable_log() = LogEvent(5, 0, v1::INFO, "").log();
  headerless.mutable_log()->set_has_header(false);
  headerless.mutable_log()->set_message("Exception in thread \"main\"");
  headerless.mutable_log()->set_time_unix_ms(kT0 + 5000);
  Apply(Stored({Batch(
      "a",
      {in_file(LogEvent(1, kT0 + 1000, v1::INFO, "first"), current, 0),
       in_file(LogEvent(2, kT0 + 2000, v1::INFO, "old end\n\tat frame"),
               current, 9000),
       in_file(LogEvent(3, kT0 + 3000, v1::INFO, long_line + "\n\tat frame"),
               dated, 9100),
       in_file(LogEvent(4, kT0 + 4000, v1::INFO, "new start"), current, 0),
       in_file(headerless, current, 40)})}));
  Apply(Stored({Batch("b", {in_file(LogEvent(1, kT0, v1::INFO, "other host"),
                                    current, 700)})}));

  absl::StatusOr<std::vector<v1::LogResumePoint>> points =
      storage_->LogResumePoints("a");
  ASSERT_THAT(points, IsOk());
  ASSERT_EQ(points->size(), 2u);
  const v1::LogResumePoint& in_dated = (*points)[0];
  EXPECT_EQ(in_dated.file(), dated);
  EXPECT_EQ(in_dated.file_offset(), 9100u);
  EXPECT_EQ(in_dated.time_unix_ms(), kT0 + 3000);
  EXPECT_TRUE(in_dated.has_header());
  EXPECT_EQ(in_dated.first_line(), std::string(254, 'x'));  // Not mid-"한".
  const v1::LogResumePoint& in_current = (*points)[1];
  EXPECT_EQ(in_current.file(), current);
  EXPECT_EQ(in_current.file_offset(), 40u);
  EXPECT_EQ(in_current.time_unix_ms(), kT0 + 5000);
  EXPECT_FALSE(in_current.has_header());
  EXPECT_EQ(in_current.first_line(), "Exception in thread \"main\"");
  EXPECT_THAT(storage_->LogResumePoints("unknown"), IsOkAndHolds(IsEmpty()));
}

// Five events of two agents, for the filters.
class QueryLogsTest : public StorageConformanceTest {
 protected:
  void SetUp() override {
    StorageConformanceTest::SetUp();
    v1::Event started =
        LogEvent(1, kT0 + 1000, v1::INFO, "통합 방 생성 시작: ruid=room_aaaa");
    started.mutable_log()->set_event_type("room_started");
    started.mutable_log()->set_ruid("room_aaaa");
    v1::Event failed =
        LogEvent(2, kT0 + 2000, v1::ERROR,
                 "비즈니스 로직 오류: Scenario generation FAILED (50%_done)");
    failed.mutable_log()->set_event_type("error");
    failed.mutable_log()->set_ruid("room_aaaa");
    v1::Event warn = LogEvent(3, kT0 + 3000, v1::WARN,
                              "잘못된 API 키가 제공되었습니다: /health");
    v1::Event debug =
        LogEvent(4, kT0 + 4000, v1::DEBUG, "큐에서 요청 대기 중... \"quoted\"");
    v1::Event other = LogEvent(1, kT0 + 2500, v1::ERROR, "Meshy error on b");
    other.mutable_log()->set_event_type("error");
    other.mutable_log()->set_ruid("room_bbbb");
    Apply(Stored(
        {Batch("a", {started, failed, warn, debug}), Batch("b", {other})}));
  }

  std::vector<int64_t> TimesOf(const v1::QueryLogsResponse& response) {
    std::vector<int64_t> out;
    for (const auto& e : response.events()) {
      out.push_back(e.event().time_unix_ms() - kT0);
    }
    return out;
  }
};

INSTANTIATE_TEST_SUITE_P(Backends, QueryLogsTest,
                         ::testing::ValuesIn(kBackends),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           return std::string(info.param.name);
                         });

TEST_P(QueryLogsTest, NoFilterReturnsEverythingNewestFirst) {
  EXPECT_THAT(TimesOf(Logs({})), ElementsAre(4000, 3000, 2500, 2000, 1000));
}

TEST_P(QueryLogsTest, AgentFilter) {
  v1::QueryLogsRequest request;
  request.set_agent_id("b");
  v1::QueryLogsResponse response = Logs(request);
  ASSERT_EQ(response.events_size(), 1);
  EXPECT_EQ(response.events(0).agent_id(), "b");
}

TEST_P(QueryLogsTest, MinLevelFilter) {
  v1::QueryLogsRequest request;
  request.set_min_level(v1::WARN);
  EXPECT_THAT(TimesOf(Logs(request)), ElementsAre(3000, 2500, 2000));
  request.set_min_level(v1::ERROR);
  EXPECT_THAT(TimesOf(Logs(request)), ElementsAre(2500, 2000));
}

TEST_P(QueryLogsTest, EventTypeFilter) {
  v1::QueryLogsRequest request;
  request.set_event_type("error");
  EXPECT_THAT(TimesOf(Logs(request)), ElementsAre(2500, 2000));
  request.set_agent_id("a");
  EXPECT_THAT(TimesOf(Logs(request)), ElementsAre(2000));
}

TEST_P(QueryLogsTest, RuidFilter) {
  v1::QueryLogsRequest request;
  request.set_ruid("room_aaaa");
  EXPECT_THAT(TimesOf(Logs(request)), ElementsAre(2000, 1000));
}

TEST_P(QueryLogsTest, RuidFilterFindsTheRoomsEventsOfLaterBatchesAndHosts) {
  // Before and after the room's first events, in later transactions, and
  // on another host.
  v1::Event earlier = LogEvent(5, kT0 + 500, v1::INFO, "작업 상태 확인");
  earlier.mutable_log()->set_ruid("room_aaaa");
  v1::Event later = LogEvent(6, kT0 + 5000, v1::INFO, "작업 상태: SUCCEEDED");
  later.mutable_log()->set_ruid("room_aaaa");
  Apply(Stored({Batch("a", {earlier})}));
  v1::Event on_b = LogEvent(2, kT0 + 100, v1::INFO, "GET /room/result");
  on_b.mutable_log()->set_ruid("room_aaaa");
  Apply(Stored({Batch("a", {later}), Batch("b", {on_b})}));
  v1::QueryLogsRequest request;
  request.set_ruid("room_aaaa");
  EXPECT_THAT(TimesOf(Logs(request)), ElementsAre(5000, 2000, 1000, 500, 100));
  request.set_agent_id("b");
  EXPECT_THAT(TimesOf(Logs(request)), ElementsAre(100));
  request.clear_agent_id();
  request.set_ruid("room_bbbb");
  EXPECT_THAT(TimesOf(Logs(request)), ElementsAre(2500));
}

TEST_P(QueryLogsTest, RuidFilterFindsRoomsInterleavedInOneBatch) {
  auto in_room = [](int sequence, int64_t time_ms, const std::string& ruid) {
    v1::Event event = LogEvent(sequence, time_ms, v1::INFO, "작업 상태 확인");
    event.mutable_log()->set_ruid(ruid);
    return event;
  };
  Apply(Stored({Batch(
      "a",
      {in_room(5, kT0 + 5000, "room_x"), in_room(6, kT0 + 6000, "room_y"),
       in_room(7, kT0 + 7000, "room_x"), in_room(8, kT0 + 8000, "room_y")})}));
  v1::QueryLogsRequest request;
  request.set_ruid("room_x");
  EXPECT_THAT(TimesOf(Logs(request)), ElementsAre(7000, 5000));
  request.set_ruid("room_y");
  EXPECT_THAT(TimesOf(Logs(request)), ElementsAre(8000, 6000));
}

TEST_P(QueryLogsTest, TimeBoundsAreInclusive) {
  v1::QueryLogsRequest request;
  request.set_since_unix_ms(kT0 + 2000);
  request.set_until_unix_ms(kT0 + 3000);
  EXPECT_THAT(TimesOf(Logs(request)), ElementsAre(3000, 2500, 2000));
  request.set_until_unix_ms(0);
  EXPECT_THAT(TimesOf(Logs(request)), ElementsAre(4000, 3000, 2500, 2000));
}

TEST_P(QueryLogsTest, LimitKeepsTheNewest) {
  v1::QueryLogsRequest request;
  request.set_limit(2);
  EXPECT_THAT(TimesOf(Logs(request)), ElementsAre(4000, 3000));
  request.set_limit(0);
  EXPECT_THAT(storage_->QueryLogs(request, /*check=*/{}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  request.set_limit(-1);
  EXPECT_THAT(storage_->QueryLogs(request, /*check=*/{}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_P(QueryLogsTest, SameTimeIsNewestStoredFirst) {
  Apply(BuildStoredBatch({Batch("a", {LogEvent(5, kT0 + 4000, v1::INFO, "x"),
                                      LogEvent(6, kT0 + 4000, v1::INFO, "y")})},
                         {{"a", 4}}, kNow));
  v1::QueryLogsRequest request;
  request.set_limit(3);
  EXPECT_THAT(Sequences(Logs(request)), ElementsAre(6, 5, 4));
}

TEST_P(QueryLogsTest, ContainsKoreanSubstring) {
  EXPECT_THAT(LogsContaining("비즈니스"), ElementsAre(2));
  EXPECT_THAT(LogsContaining("즈니스 로"), ElementsAre(2));
  EXPECT_THAT(LogsContaining("방 생성"), ElementsAre(1));
  EXPECT_THAT(LogsContaining("비즈니스x"), IsEmpty());
}

TEST_P(QueryLogsTest, ContainsShortStrings) {
  EXPECT_THAT(LogsContaining("비즈"), ElementsAre(2));
  EXPECT_THAT(LogsContaining("큐"), ElementsAre(4));
  EXPECT_THAT(LogsContaining("b"), ElementsAre(1));  // "Meshy error on b"
}

TEST_P(QueryLogsTest, ContainsIgnoresCase) {
  EXPECT_THAT(LogsContaining("failed"), ElementsAre(2));
  EXPECT_THAT(LogsContaining("MESHY ERROR"), ElementsAre(1));
  EXPECT_THAT(LogsContaining("API"), ElementsAre(3));
  EXPECT_THAT(LogsContaining("Ap"), ElementsAre(3));
}

TEST_P(QueryLogsTest, ContainsTreatsSyntaxCharactersLiterally) {
  EXPECT_THAT(LogsContaining("\"quoted\""), ElementsAre(4));
  EXPECT_THAT(LogsContaining("50%_done"), ElementsAre(2));
  EXPECT_THAT(LogsContaining("%"), ElementsAre(2));
  EXPECT_THAT(LogsContaining("_"), ElementsAre(2, 1));  // 1: "room_aaaa"
  EXPECT_THAT(LogsContaining("%_"), ElementsAre(2));
  EXPECT_THAT(LogsContaining("a OR b"), IsEmpty());
  EXPECT_THAT(LogsContaining("\\"), IsEmpty());
  EXPECT_THAT(LogsContaining("*"), IsEmpty());
}

TEST_P(QueryLogsTest, ContainsCombinesWithOtherFilters) {
  v1::QueryLogsRequest request;
  request.set_contains("error");
  EXPECT_EQ(Logs(request).events_size(), 1);
  request.set_agent_id("a");
  EXPECT_EQ(Logs(request).events_size(), 0);
}

TEST_P(QueryLogsTest, SeveralHostsAndTypes) {
  v1::QueryLogsRequest request;
  request.add_agent_ids("b");
  EXPECT_THAT(TimesOf(Logs(request)), ElementsAre(2500));
  request.set_agent_id("a");
  EXPECT_THAT(TimesOf(Logs(request)),
              ElementsAre(4000, 3000, 2500, 2000, 1000));
  request.add_agent_ids("nobody");
  request.add_event_types("room_started");
  request.add_event_types("error");
  EXPECT_THAT(TimesOf(Logs(request)), ElementsAre(2500, 2000, 1000));
  request.clear_event_types();
  request.set_event_type("room_started");
  request.add_event_types("no_such_type");
  EXPECT_THAT(TimesOf(Logs(request)), ElementsAre(1000));
}

TEST_P(QueryLogsTest, AnEmptyHostOrTypeInTheListsIsRefusedNamingIt) {
  v1::QueryLogsRequest request;
  request.set_limit(10);
  request.add_agent_ids("a");
  request.add_agent_ids("");
  EXPECT_THAT(
      storage_->QueryLogs(request, /*check=*/{}),
      StatusIs(absl::StatusCode::kInvalidArgument, "agent_ids[1] is empty"));
  request.clear_agent_ids();
  request.add_event_types("");
  EXPECT_THAT(
      storage_->QueryLogs(request, /*check=*/{}),
      StatusIs(absl::StatusCode::kInvalidArgument, "event_types[0] is empty"));
}

TEST_P(QueryLogsTest, RegexMatchesPartiallyAfterTheOtherFilters) {
  v1::QueryLogsRequest request;
  request.set_regex(R"(FAILED \(\d+%)");
  EXPECT_THAT(TimesOf(Logs(request)), ElementsAre(2000));
  request.set_regex("^잘못된 API");
  EXPECT_THAT(TimesOf(Logs(request)), ElementsAre(3000));
  request.set_regex("error");  // Case matters unless the regex says (?i).
  EXPECT_THAT(TimesOf(Logs(request)), ElementsAre(2500));
  request.set_regex("(?i)ERROR|api");
  EXPECT_THAT(TimesOf(Logs(request)), ElementsAre(3000, 2500));
  request.set_agent_id("a");
  EXPECT_THAT(TimesOf(Logs(request)), ElementsAre(3000));
  request.set_contains("health");
  EXPECT_THAT(TimesOf(Logs(request)), ElementsAre(3000));
  request.set_contains("큐");
  EXPECT_THAT(TimesOf(Logs(request)), IsEmpty());
}

TEST_P(QueryLogsTest, ABadRegexIsRefusedWithRe2sReason) {
  v1::QueryLogsRequest request;
  request.set_limit(10);
  request.set_regex("a(b");
  absl::StatusOr<v1::QueryLogsResponse> response =
      storage_->QueryLogs(request, /*check=*/{});
  EXPECT_THAT(response, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(response.status().message()),
              ::testing::StartsWith("regex: "));
  EXPECT_THAT(std::string(response.status().message()),
              ::testing::HasSubstr("missing )"));
}

TEST_P(QueryLogsTest, AMalformedCursorIsRefusedNamingIt) {
  v1::QueryLogsRequest request;
  request.set_limit(10);
  for (const char* cursor : {"x", "!!", "MTox"}) {
    request.set_before_cursor(cursor);
    absl::StatusOr<v1::QueryLogsResponse> response =
        storage_->QueryLogs(request, /*check=*/{});
    EXPECT_THAT(response, StatusIs(absl::StatusCode::kInvalidArgument));
    EXPECT_THAT(std::string(response.status().message()),
                ::testing::StartsWith("before_cursor: "));
  }
}

TEST_P(QueryLogsTest, TheLastPageHasNoCursor) {
  v1::QueryLogsRequest request;
  request.set_limit(5);
  EXPECT_EQ(Logs(request).next_cursor(), "");  // Exactly 5 match.
  request.set_limit(4);
  v1::QueryLogsResponse first = Logs(request);
  ASSERT_NE(first.next_cursor(), "");
  request.set_before_cursor(first.next_cursor());
  v1::QueryLogsResponse last = Logs(request);
  EXPECT_THAT(TimesOf(last), ElementsAre(1000));
  EXPECT_EQ(last.next_cursor(), "");
}

// Events of two hosts in several files, for paging and context.
class LogPagingTest : public StorageConformanceTest {
 protected:
  static v1::Event FileEvent(uint64_t sequence, int64_t time_ms,
                             const std::string& file,
                             const std::string& message,
                             v1::LogLevel level = v1::INFO) {
    v1::Event event = LogEvent(sequence, time_ms, level, message);
    event.mutable_log()->set_file(file);
    return event;
  }

  // Every page of `request` (limit as set) until one has no cursor.
  std::vector<v1::QueryLogsResponse> AllPages(v1::QueryLogsRequest request) {
    std::vector<v1::QueryLogsResponse> pages;
    for (int page = 0; page < 1000; ++page) {
      pages.push_back(Logs(request));
      if (pages.back().next_cursor().empty()) break;
      request.set_before_cursor(pages.back().next_cursor());
    }
    return pages;
  }

  // "agent/sequence" of each event, "-" marking context.
  static std::vector<std::string> Keys(const v1::QueryLogsResponse& response) {
    std::vector<std::string> keys;
    for (const v1::StoredLogEvent& event : response.events()) {
      keys.push_back(absl::StrCat(event.context() ? "-" : "", event.agent_id(),
                                  "/", event.sequence()));
    }
    return keys;
  }
};

INSTANTIATE_TEST_SUITE_P(Backends, LogPagingTest,
                         ::testing::ValuesIn(kBackends),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           return std::string(info.param.name);
                         });

TEST_P(LogPagingTest, PagesOverEqualTimesHaveNoGapAndNoRepeat) {
  // Five events at each of six times, two hosts, stored out of time order
  // in three batches.
  std::vector<v1::Event> a_events, b_events;
  uint64_t a_sequence = 0, b_sequence = 0;
  for (int64_t time : {3, 1, 5, 2, 6, 4}) {
    for (int i = 0; i < 5; ++i) {
      const std::string message = absl::StrCat("t", time, " #", i);
      if (i % 2 == 0) {
        a_events.push_back(
            LogEvent(++a_sequence, kT0 + time, v1::INFO, message));
      } else {
        b_events.push_back(
            LogEvent(++b_sequence, kT0 + time, v1::INFO, message));
      }
    }
  }
  Apply(Stored({Batch("a", {a_events.begin(), a_events.begin() + 9}),
                Batch("b", b_events)}));
  Apply(Stored({Batch("a", {a_events.begin() + 9, a_events.end()})}));
  const std::vector<std::string> all = Keys(Logs({}));
  ASSERT_EQ(all.size(), 30u);
  for (int limit : {1, 4, 5, 7, 30}) {
    v1::QueryLogsRequest request;
    request.set_limit(limit);
    std::vector<std::string> paged;
    std::vector<v1::QueryLogsResponse> pages = AllPages(request);
    for (const v1::QueryLogsResponse& page : pages) {
      EXPECT_EQ(page.events_size(),
                &page == &pages.back() && 30 % limit != 0 ? 30 % limit : limit)
          << "limit " << limit;
      std::vector<std::string> keys = Keys(page);
      paged.insert(paged.end(), keys.begin(), keys.end());
    }
    EXPECT_EQ(paged, all) << "limit " << limit;
  }
}

TEST_P(LogPagingTest, RegexPagesAreFullAndTheCursorExact) {
  std::vector<v1::Event> events;
  for (uint64_t i = 1; i <= 40; ++i) {
    // Every fourth event matches; pairs share a time.
    events.push_back(LogEvent(
        i, kT0 + int64_t(i / 2), v1::INFO,
        i % 4 == 0 ? absl::StrCat("hit ", i) : absl::StrCat("miss ", i)));
  }
  Apply(Stored({Batch("a", events)}));
  v1::QueryLogsRequest request;
  request.set_regex(R"(^hit \d+$)");
  const std::vector<std::string> all = Keys(Logs(request));
  ASSERT_EQ(all.size(), 10u);
  for (int limit : {3, 5, 10}) {
    request.set_limit(limit);
    std::vector<std::string> paged;
    std::vector<v1::QueryLogsResponse> pages = AllPages(request);
    EXPECT_EQ(pages.size(), size_t((10 + limit - 1) / limit));
    for (const v1::QueryLogsResponse& page : pages) {
      if (&page != &pages.back()) {
        EXPECT_EQ(page.events_size(), limit);
      }
      std::vector<std::string> keys = Keys(page);
      paged.insert(paged.end(), keys.begin(), keys.end());
    }
    EXPECT_EQ(paged, all) << "limit " << limit;
  }
}

TEST_P(LogPagingTest, ContextStaysInTheMatchsHostAndFile) {
  const std::string first = "/opt/eroom/logs/server.2026-12-03.log";
  const std::string current = "/opt/eroom/logs/server.log";
  std::vector<v1::Event> a_events, b_events;
  // Host a: sequences 1-10 in `first`, 11-20 in `current`; host b writes
  // `current` at the same times, matching nothing.
  for (uint64_t i = 1; i <= 20; ++i) {
    const bool hit = i == 3 || i == 9 || i == 11 || i == 15 || i == 17;
    a_events.push_back(FileEvent(
        i, kT0 + int64_t(i) * 10, i <= 10 ? first : current,
        absl::StrCat(hit ? "hit " : "line ", i), hit ? v1::ERROR : v1::INFO));
    b_events.push_back(FileEvent(i, kT0 + int64_t(i) * 10 + 1, current,
                                 absl::StrCat("b ", i)));
  }
  Apply(Stored({Batch("a", a_events), Batch("b", b_events)}));
  v1::QueryLogsRequest request;
  request.set_min_level(v1::ERROR);
  request.set_context(2);
  // 17 and 15 share 16: one run; 11 is the first of `current`, 9 near the
  // end of `first`: their runs stop at the file's edge; 3 is the last
  // match; context ignores the level filter.
  EXPECT_THAT(Keys(Logs(request)),
              ElementsAre("-a/19", "-a/18", "a/17", "-a/16", "a/15", "-a/14",
                          "-a/13", "-a/12", "a/11", "-a/10", "a/9", "-a/8",
                          "-a/7", "-a/5", "-a/4", "a/3", "-a/2", "-a/1"));
  // The limit counts matches; the cursor follows the last one.
  request.set_limit(2);
  v1::QueryLogsResponse first_page = Logs(request);
  EXPECT_THAT(Keys(first_page), ElementsAre("-a/19", "-a/18", "a/17", "-a/16",
                                            "a/15", "-a/14", "-a/13"));
  request.set_before_cursor(first_page.next_cursor());
  EXPECT_THAT(Keys(Logs(request)), ElementsAre("-a/13", "-a/12", "a/11",
                                               "-a/10", "a/9", "-a/8", "-a/7"));
}

TEST_P(LogPagingTest, ContextAcrossHostsAndAMatchShownAsContextFirst) {
  std::vector<v1::Event> a_events, b_events;
  for (uint64_t i = 1; i <= 6; ++i) {
    a_events.push_back(
        FileEvent(i, kT0 + int64_t(i) * 10, "server.log",
                  absl::StrCat(i == 2 || i == 5 ? "hit" : "line", " a", i)));
    b_events.push_back(
        FileEvent(i, kT0 + int64_t(i) * 10 + 5, "server.log",
                  absl::StrCat(i == 3 ? "hit" : "line", " b", i)));
  }
  Apply(Stored({Batch("a", a_events), Batch("b", b_events)}));
  v1::QueryLogsRequest request;
  request.set_regex("^hit");
  request.set_context(3);
  // a/5 first (newest), whose context reaches a/2, a match: shown once, as a
  // match, in a/5's run; b/3 between them in time has its own run.
  EXPECT_THAT(Keys(Logs(request)),
              ElementsAre("-a/6", "a/5", "-a/4", "-a/3", "a/2", "-a/1", "-b/6",
                          "-b/5", "-b/4", "b/3", "-b/2", "-b/1"));
}

// --- Following the log
// --------------------------------------------------------

// (agent, sequence) of each event, in the page's order.
std::vector<std::pair<std::string, uint64_t>> Keys(const LogEventPage& page) {
  std::vector<std::pair<std::string, uint64_t>> keys;
  for (const v1::StoredLogEvent& event : page.events) {
    keys.emplace_back(event.agent_id(), event.sequence());
  }
  return keys;
}

class StoredLogEventsTest : public QueryLogsTest {
 protected:
  LogEventPage Page(const LogEventRange& range,
                    const v1::QueryLogsRequest& filter = {}) {
    absl::StatusOr<LogFilter> compiled = LogFilter::Compile(filter);
    EXPECT_THAT(compiled, IsOk());
    if (!compiled.ok()) return {};
    absl::StatusOr<LogEventPage> page =
        storage_->StoredLogEvents(*compiled, range, /*check=*/{});
    EXPECT_THAT(page, IsOk());
    return page.ok() ? *std::move(page) : LogEventPage{};
  }

  LogResume Resume(const std::vector<v1::LogPosition>& hosts,
                   int64_t received_unix_ms) {
    absl::StatusOr<LogResume> resume =
        storage_->FollowResume(hosts, received_unix_ms, /*check=*/{});
    EXPECT_THAT(resume, IsOk());
    return resume.ok() ? *resume : LogResume{};
  }

  static v1::LogPosition At(const std::string& agent_id, uint64_t sequence) {
    v1::LogPosition position;
    position.set_agent_id(agent_id);
    position.set_sequence(sequence);
    return position;
  }
};

INSTANTIATE_TEST_SUITE_P(Backends, StoredLogEventsTest,
                         ::testing::ValuesIn(kBackends),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           return std::string(info.param.name);
                         });

TEST_P(StoredLogEventsTest, PagesForwardInTheOrderStored) {
  const LogEventPage first = Page({.after = 0, .limit = 2});
  EXPECT_THAT(Keys(first), ElementsAre(Pair("a", 1), Pair("a", 2)));
  const LogEventPage second = Page({.after = first.through, .limit = 2});
  EXPECT_THAT(Keys(second), ElementsAre(Pair("a", 3), Pair("a", 4)));
  const LogEventPage third = Page({.after = second.through, .limit = 2});
  EXPECT_THAT(Keys(third), ElementsAre(Pair("b", 1)));
  const LogEventPage empty = Page({.after = third.through, .limit = 2});
  EXPECT_THAT(Keys(empty), IsEmpty());
  EXPECT_EQ(empty.through, third.through);
}

TEST_P(StoredLogEventsTest, LaterEventsComeAfterThePageEvenAfterReopening) {
  const LogEventPage all = Page({.after = 0, .limit = 100});
  ASSERT_EQ(all.events.size(), 5u);
  Reopen();
  Apply(Stored({Batch("b", {LogEvent(2, kT0, v1::INFO, "older time")}),
                Batch("a", {LogEvent(5, kT0 + 9000, v1::INFO, "newer")})}));
  EXPECT_THAT(Keys(Page({.after = all.through, .limit = 100})),
              ElementsAre(Pair("b", 2), Pair("a", 5)));
}

TEST_P(StoredLogEventsTest, FiltersAsQueryLogsDoes) {
  v1::QueryLogsRequest filter;
  filter.set_min_level(v1::ERROR);
  EXPECT_THAT(Keys(Page({.after = 0, .limit = 100}, filter)),
              ElementsAre(Pair("a", 2), Pair("b", 1)));
  filter.set_contains("meshy");
  EXPECT_THAT(Keys(Page({.after = 0, .limit = 100}, filter)),
              ElementsAre(Pair("b", 1)));
}

TEST_P(StoredLogEventsTest, HostsTypesAndRegexFilterPagesAndLaterEvents) {
  v1::QueryLogsRequest filter;
  filter.add_agent_ids("a");
  filter.add_agent_ids("b");
  filter.set_regex("(?i)error|FAILED|API");
  // The regex leaves a/1 and a/4 out, yet pages hold `limit` matches.
  const LogEventPage first = Page({.after = 0, .limit = 2}, filter);
  EXPECT_THAT(Keys(first), ElementsAre(Pair("a", 2), Pair("a", 3)));
  const LogEventPage second =
      Page({.after = first.through, .limit = 2}, filter);
  EXPECT_THAT(Keys(second), ElementsAre(Pair("b", 1)));
  Apply(Stored({Batch("c", {LogEvent(1, kT0, v1::ERROR, "error on c")}),
                Batch("a", {LogEvent(5, kT0, v1::INFO, "ERROR again")}),
                Batch("b", {LogEvent(2, kT0, v1::INFO, "all fine")})}));
  EXPECT_THAT(Keys(Page({.after = second.through, .limit = 2}, filter)),
              ElementsAre(Pair("a", 5)));
  EXPECT_THAT(Keys(Page({.after = 0, .limit = 2, .newest = true}, filter)),
              ElementsAre(Pair("b", 1), Pair("a", 5)));
  v1::QueryLogsRequest types;
  types.add_event_types("room_started");
  types.add_event_types("error");
  types.set_regex("FAILED|room");
  EXPECT_THAT(Keys(Page({.after = 0, .limit = 100}, types)),
              ElementsAre(Pair("a", 1), Pair("a", 2)));
}

TEST_P(StoredLogEventsTest, AFilteredPageReachesTheNewestPosition) {
  const int64_t newest = Page({.after = 0, .limit = 100}).through;
  v1::QueryLogsRequest filter;
  filter.set_agent_id("a");
  const LogEventPage page = Page({.after = 0, .limit = 100}, filter);
  EXPECT_EQ(page.events.size(), 4u);
  EXPECT_EQ(page.through, newest);
}

TEST_P(StoredLogEventsTest, NewestKeepsTheLastStoredOldestFirst) {
  const int64_t newest = Page({.after = 0, .limit = 100}).through;
  const LogEventPage page = Page({.after = 0, .limit = 2, .newest = true});
  EXPECT_THAT(Keys(page), ElementsAre(Pair("a", 4), Pair("b", 1)));
  EXPECT_EQ(page.through, newest);
}

TEST_P(StoredLogEventsTest, ThroughBoundsTheRange) {
  const LogEventPage first = Page({.after = 0, .limit = 2});
  EXPECT_THAT(Keys(Page({.after = 0, .through = first.through, .limit = 100})),
              ElementsAre(Pair("a", 1), Pair("a", 2)));
  EXPECT_THAT(
      Keys(Page(
          {.after = 0, .through = first.through, .limit = 1, .newest = true})),
      ElementsAre(Pair("a", 2)));
}

TEST_P(StoredLogEventsTest, LimitMustBePositive) {
  absl::StatusOr<LogFilter> everything = LogFilter::Compile({});
  ASSERT_THAT(everything, IsOk());
  EXPECT_THAT(
      storage_->StoredLogEvents(*everything, {.limit = 0}, /*check=*/{}),
      StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_P(StoredLogEventsTest, ResumeStartsBeforeEveryEventNeeded) {
  const int64_t newest = Page({.after = 0, .limit = 100}).through;
  const int64_t later = absl::ToUnixMillis(kNow) + 1;
  // Host a after its sequence 2; b is listed as fully read.
  LogResume resume = Resume({At("a", 2), At("b", 1)}, later);
  EXPECT_EQ(resume.newest, newest);
  EXPECT_THAT(Keys(Page({.after = resume.after, .limit = 100})),
              testing::IsSupersetOf({Pair("a", 3), Pair("a", 4)}));
  EXPECT_THAT(Keys(Page({.after = resume.after, .limit = 100})),
              Not(testing::Contains(Pair("a", 1))));
  // Nothing is needed: every host read through its last.
  resume = Resume({At("a", 4), At("b", 1)}, later);
  EXPECT_EQ(resume.after, newest);
  // Host b is not listed: its events received at or after the time.
  resume = Resume({At("a", 4)}, absl::ToUnixMillis(kNow));
  EXPECT_THAT(Keys(Page({.after = resume.after, .limit = 100})),
              testing::Contains(Pair("b", 1)));
}

// --- Metrics ---------------------------------------------------------------

TEST_P(StorageConformanceTest, SampleMetricsAreQueryable) {
  v1::Event sample = SampleEvent(1, kT0, 37.5);
  Apply(Stored({Batch("a", {sample})}));

  EXPECT_THAT(Host("a").latest_sample(), EqualsProto(sample.sample()));
  v1::QueryMetricsResponse cpu = Metrics("host.cpu_percent");
  ASSERT_EQ(cpu.series_size(), 1);
  EXPECT_EQ(cpu.series(0).agent_id(), "a");
  EXPECT_EQ(cpu.series(0).name(), "host.cpu_percent");
  EXPECT_THAT(cpu.series(0).labels(), IsEmpty());
  ASSERT_EQ(cpu.series(0).points_size(), 1);
  EXPECT_EQ(cpu.series(0).points(0).time_unix_ms(), kT0);
  EXPECT_EQ(cpu.series(0).points(0).value(), 37.5);
  EXPECT_THAT(cpu.known_names(), IsEmpty());

  // Every metric the catalogue derives from the sample is queryable.
  for (const MetricValue& metric : MetricsFromSample(sample.sample())) {
    EXPECT_GE(Metrics(metric.name).series_size(), 1) << metric.name;
  }
}

TEST_P(StorageConformanceTest, OneSeriesPerLabelSet) {
  Apply(Stored(
      {Batch("a", {SampleEvent(1, kT0, 1), SampleEvent(2, kT0 + 10, 2)})}));
  v1::QueryMetricsResponse used = Metrics("disk.used_percent");
  ASSERT_EQ(used.series_size(), 2);
  EXPECT_THAT(used.series(0).labels(), ElementsAre(Pair("mount", "/")));
  EXPECT_THAT(used.series(1).labels(), ElementsAre(Pair("mount", "/data")));
  ASSERT_EQ(used.series(0).points_size(), 2);
  EXPECT_EQ(used.series(0).points(0).value(), 25.0);
  EXPECT_EQ(used.series(1).points(1).value(), 25.0);  // 10 of 40
}

TEST_P(StorageConformanceTest, ProbeAndNoticeMetricsAreQueryable) {
  v1::Event health = ProbeEvent(1, kT0, v1::HEALTH, 5);
  v1::Event failed;
  failed.set_sequence(2);
  failed.mutable_probe()->set_time_unix_ms(kT0 + 2);
  failed.mutable_probe()->set_target(v1::HEALTH);
  failed.mutable_probe()->set_error("401 인증 실패");
  failed.mutable_probe()->set_http_status(401);
  Apply(Stored({Batch("a", {health, failed, NoticeEvent(3, kT0 + 3)})}));

  EXPECT_THAT(Host("a").latest_health(), EqualsProto(failed.probe()));
  v1::QueryMetricsResponse ok = Metrics("probe.health.ok");
  ASSERT_EQ(ok.series_size(), 1);
  ASSERT_EQ(ok.series(0).points_size(), 2);
  EXPECT_EQ(ok.series(0).points(0).value(), 1.0);
  EXPECT_EQ(ok.series(0).points(1).value(), 0.0);
  v1::QueryMetricsResponse dropped = Metrics("agent.events_dropped");
  ASSERT_EQ(dropped.series_size(), 1);
  ASSERT_EQ(dropped.series(0).points_size(), 1);
  EXPECT_EQ(dropped.series(0).points(0).value(), 17.0);
  EXPECT_EQ(dropped.series(0).points(0).time_unix_ms(), kT0 + 3);
}

TEST_P(StorageConformanceTest, MetricFilters) {
  Apply(Stored({Batch("a", {SampleEvent(1, kT0, 1), SampleEvent(2, kT0 + 10, 2),
                            SampleEvent(3, kT0 + 20, 3)}),
                Batch("b", {SampleEvent(1, kT0 + 5, 50)})}));
  v1::QueryMetricsRequest request;
  request.set_name("host.cpu_percent");
  v1::QueryMetricsResponse all = Metrics(request);
  ASSERT_EQ(all.series_size(), 2);
  EXPECT_EQ(all.series(0).agent_id(), "a");
  EXPECT_EQ(all.series(1).agent_id(), "b");

  request.set_agent_id("a");
  request.set_since_unix_ms(kT0 + 10);
  request.set_until_unix_ms(kT0 + 20);
  v1::QueryMetricsResponse window = Metrics(request);
  ASSERT_EQ(window.series_size(), 1);
  ASSERT_EQ(window.series(0).points_size(), 2);
  EXPECT_EQ(window.series(0).points(0).value(), 2);
  EXPECT_EQ(window.series(0).points(1).value(), 3);

  // Series without points in the window are left out.
  request.set_agent_id("");
  EXPECT_EQ(Metrics(request).series_size(), 1);
}

TEST_P(StorageConformanceTest, MetricLimitKeepsNewestPointsOldestFirst) {
  Apply(Stored({Batch("a", {SampleEvent(1, kT0, 1), SampleEvent(2, kT0 + 10, 2),
                            SampleEvent(3, kT0 + 20, 3)})}));
  v1::QueryMetricsRequest request;
  request.set_name("host.cpu_percent");
  request.set_limit(2);
  v1::QueryMetricsResponse response = Metrics(request);
  ASSERT_EQ(response.series_size(), 1);
  ASSERT_EQ(response.series(0).points_size(), 2);
  EXPECT_EQ(response.series(0).points(0).value(), 2);
  EXPECT_EQ(response.series(0).points(1).value(), 3);
  request.set_limit(0);
  EXPECT_THAT(storage_->QueryMetrics(request),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_P(StorageConformanceTest, AStepAveragesEachIntervalAndKeepsTheNewest) {
  // kT0 is a multiple of the step: steps start at kT0, kT0 + 10, kT0 + 20.
  Apply(Stored(
      {Batch("a", {SampleEvent(1, kT0, 1), SampleEvent(2, kT0 + 4, 3),
                   SampleEvent(3, kT0 + 9, 8), SampleEvent(4, kT0 + 12, 10),
                   SampleEvent(5, kT0 + 25, 7)})}));
  v1::QueryMetricsRequest request;
  request.set_name("host.cpu_percent");
  request.set_step_ms(10);
  v1::QueryMetricsResponse response = Metrics(request);
  ASSERT_EQ(response.series_size(), 1);
  const auto& points = response.series(0).points();
  ASSERT_EQ(points.size(), 3);
  EXPECT_EQ(points[0].time_unix_ms(), kT0);
  EXPECT_EQ(points[0].value(), 4);
  EXPECT_EQ(points[0].count(), 3);
  EXPECT_EQ(points[0].min(), 1);
  EXPECT_EQ(points[0].max(), 8);
  EXPECT_EQ(points[1].time_unix_ms(), kT0 + 10);
  EXPECT_EQ(points[1].value(), 10);
  EXPECT_EQ(points[1].count(), 1);
  EXPECT_EQ(points[2].time_unix_ms(), kT0 + 20);

  // The limit counts steps, newest kept, oldest first.
  request.set_limit(2);
  response = Metrics(request);
  ASSERT_EQ(response.series(0).points_size(), 2);
  EXPECT_EQ(response.series(0).points(0).time_unix_ms(), kT0 + 10);
  EXPECT_EQ(response.series(0).points(1).value(), 7);
}

TEST_P(StorageConformanceTest, PointsAtTheSameTimeAreAllKept) {
  // A host clock stepping back can repeat a timestamp; no point is lost.
  Apply(Stored({Batch("a", {SampleEvent(1, kT0, 1), SampleEvent(2, kT0, 2)})}));
  v1::QueryMetricsResponse response = Metrics("host.cpu_percent");
  ASSERT_EQ(response.series_size(), 1);
  EXPECT_EQ(response.series(0).points_size(), 2);
}

TEST_P(StorageConformanceTest, NameWithoutPointsHasNoSeries) {
  Apply(Stored({Batch("a", {SampleEvent(1, kT0, 1)})}));
  v1::QueryMetricsResponse response = Metrics("queue.queued");
  EXPECT_THAT(response.series(), IsEmpty());
  EXPECT_THAT(response.known_names(), IsEmpty());
}

RetentionPolicy KeepEverything(absl::Duration kept) {
  return RetentionPolicy{.logs = kept,
                         .samples = kept,
                         .rollups = kept,
                         .probes = kept,
                         .notices = kept,
                         .commands = kept,
                         .audit = kept,
                         .alerts = kept};
}

// Three hours of cpu samples every 10 s from kT0 (not on a minute), values
// exact in binary so that sums do not depend on their order.
StoredBatch ThreeHoursOfSamples() {
  std::vector<v1::Event> events;
  for (int i = 0; i < 3 * 360; ++i) {
    events.push_back(SampleEvent(i + 1, kT0 + i * 10'000, (i % 37) * 0.25));
  }
  return Stored({Batch("a", std::move(events))});
}

// The answer computed here from the samples ThreeHoursOfSamples stores:
// per step, (time, average, count, min, max).
std::vector<std::tuple<int64_t, double, int64_t, double, double>> ExpectedSteps(
    int64_t since, int64_t until, int64_t step) {
  std::map<int64_t, std::vector<double>> by_step;
  for (int i = 0; i < 3 * 360; ++i) {
    const int64_t time = kT0 + i * 10'000;
    if (time >= since && time <= until) {
      by_step[time / step * step].push_back((i % 37) * 0.25);
    }
  }
  std::vector<std::tuple<int64_t, double, int64_t, double, double>> out;
  for (const auto& [time, values] : by_step) {
    double sum = 0;
    for (double value : values) sum += value;
    out.emplace_back(time, sum / values.size(), values.size(),
                     *std::min_element(values.begin(), values.end()),
                     *std::max_element(values.begin(), values.end()));
  }
  return out;
}

std::vector<std::tuple<int64_t, double, int64_t, double, double>> Steps(
    const v1::QueryMetricsResponse& response) {
  std::vector<std::tuple<int64_t, double, int64_t, double, double>> out;
  if (response.series_size() != 1) return out;
  for (const v1::MetricPoint& point : response.series(0).points()) {
    out.emplace_back(point.time_unix_ms(), point.value(), point.count(),
                     point.min(), point.max());
  }
  return out;
}

TEST_P(StorageConformanceTest,
       StepsInMinutesAnswerTheSameBeforeAndAfterThePointsExpire) {
  Apply(ThreeHoursOfSamples());
  const int64_t hour = absl::ToInt64Milliseconds(absl::Hours(1));
  struct Query {
    int64_t since, until, step;
  };
  // Whole range; bounds inside a minute; a step of one minute.
  const Query queries[] = {{0, 0, hour},
                           {kT0 + 25'000, kT0 + 2 * hour + 7'000, hour},
                           {kT0 + 65'000, kT0 + 9 * 60'000 + 1, 60'000}};
  auto run = [&](const Query& query) {
    v1::QueryMetricsRequest request;
    request.set_name("host.cpu_percent");
    request.set_since_unix_ms(query.since);
    request.set_until_unix_ms(query.until);
    request.set_step_ms(query.step);
    return Steps(Metrics(request));
  };
  auto expected = [&](const Query& query) {
    return ExpectedSteps(
        query.since == 0 ? std::numeric_limits<int64_t>::min() : query.since,
        query.until == 0 ? std::numeric_limits<int64_t>::max() : query.until,
        query.step);
  };
  for (const Query& query : queries) {
    EXPECT_EQ(run(query), expected(query)) << query.since << " " << query.step;
  }

  // Every point expires; the rollups stay.
  RetentionPolicy policy = KeepEverything(absl::Hours(24 * 365));
  policy.samples = absl::Hours(1);
  const absl::Time later = absl::FromUnixMillis(kT0) + absl::Hours(5);
  while (true) {
    absl::StatusOr<RetentionCounts> removed =
        storage_->DeleteExpired(policy, later, 500);
    ASSERT_THAT(removed, IsOk());
    EXPECT_EQ(removed->rollups, 0);
    if (removed->total() == 0) break;
  }
  opener_->Settle();
  EXPECT_EQ(run(queries[0]), expected(queries[0]));
  // Bounds inside a minute read that minute's points, gone now: only the
  // whole minutes answer.
  const Query whole_minutes{RollupMinute(kT0) + 60'000,
                            RollupMinute(kT0 + 2 * hour) - 1, hour};
  EXPECT_EQ(run(whole_minutes), expected(whole_minutes));
}

TEST_P(StorageConformanceTest, ExpiredPointsComeBackAsMinutes) {
  Apply(ThreeHoursOfSamples());
  RetentionPolicy policy = KeepEverything(absl::Hours(24 * 365));
  policy.samples = absl::Hours(1);
  // Points older than kT0 + 2h go: the first two hours are minutes now.
  const int64_t hour = absl::ToInt64Milliseconds(absl::Hours(1));
  const absl::Time now = absl::FromUnixMillis(kT0 + 3 * hour);
  while (storage_->DeleteExpired(policy, now, 1000)->total() > 0) {
  }
  opener_->Settle();
  v1::QueryMetricsRequest request;
  request.set_name("host.cpu_percent");
  request.set_limit(100'000);
  v1::QueryMetricsResponse response = Metrics(request);
  ASSERT_EQ(response.series_size(), 1);
  const auto& points = response.series(0).points();
  const int64_t first_point_minute = RollupMinute(kT0 + 2 * hour);
  int64_t minutes = 0;
  int64_t previous = std::numeric_limits<int64_t>::min();
  for (const v1::MetricPoint& point : points) {
    EXPECT_GE(point.time_unix_ms(), previous);
    previous = point.time_unix_ms();
    if (point.time_unix_ms() < first_point_minute) {
      ++minutes;
      EXPECT_EQ(point.time_unix_ms() % 60'000, 0);
      EXPECT_GT(point.count(), 0);
    } else {
      EXPECT_EQ(point.count(), 0) << "a point as stored";
    }
  }
  // Every minute from kT0's to the first kept point's.
  EXPECT_EQ(minutes, (first_point_minute - RollupMinute(kT0)) / 60'000);
}

// --- Commands --------------------------------------------------------------

v1::CommandRecord Command(const std::string& command_id,
                          const std::string& agent_id, int64_t requested_ms) {
  v1::CommandRecord record;
  record.set_command_id(command_id);
  record.set_agent_id(agent_id);
  record.mutable_command()->set_command_id(command_id);
  record.mutable_command()->mutable_ping();
  record.set_requested_by("오퍼레이터");
  record.set_requested_unix_ms(requested_ms);
  return record;
}

StoredCommandProgress Progress(const std::string& agent_id,
                               const std::string& command_id,
                               v1::CommandState state, int64_t time_ms,
                               const std::string& step = "") {
  StoredCommandProgress stored;
  stored.agent_id = agent_id;
  stored.progress.set_command_id(command_id);
  stored.progress.set_state(state);
  stored.progress.set_message("step at " + std::to_string(time_ms));
  stored.progress.set_time_unix_ms(time_ms);
  stored.progress.set_step(step);
  return stored;
}

std::vector<std::string> CommandIds(const v1::ListCommandsResponse& response) {
  std::vector<std::string> ids;
  for (const v1::CommandRecord& record : response.commands()) {
    ids.push_back(record.command_id());
  }
  return ids;
}

TEST_P(StorageConformanceTest, RecordedCommandReadsBackAsRecorded) {
  Register("a");
  const v1::CommandRecord command = Command("c1", "a", kT0);
  ASSERT_THAT(storage_->RecordCommand(command), IsOk());
  EXPECT_THAT(storage_->GetCommand("c1"), IsOkAndHolds(EqualsProto(command)));
  EXPECT_THAT(storage_->RecordedCommand("c1"),
              IsOkAndHolds(EqualsProto(command)));
}

TEST_P(StorageConformanceTest, UnknownCommandIsNotFound) {
  EXPECT_THAT(storage_->GetCommand("nope"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(storage_->RecordedCommand("nope"),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_P(StorageConformanceTest, CommandIdIsRecordedOnce) {
  ASSERT_THAT(storage_->RecordCommand(Command("c1", "a", kT0)), IsOk());
  EXPECT_THAT(storage_->RecordCommand(Command("c1", "b", kT0)),
              StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_EQ(storage_->RecordedCommand("c1")->agent_id(), "a");
  EXPECT_THAT(storage_->RecordCommand(Command("", "a", kT0)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(storage_->RecordCommand(Command("c2", "", kT0)),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_P(StorageConformanceTest, ProgressIsKeptInOrderAndSetsTheState) {
  Register("a");
  ASSERT_THAT(storage_->RecordCommand(Command("c1", "a", kT0)), IsOk());
  ASSERT_THAT(storage_->RecordCommand(Command("c2", "a", kT0)), IsOk());
  StoredBatch first;
  first.received = kNow;
  first.command_progress = {Progress("a", "c1", v1::ACCEPTED, kT0 + 1),
                            Progress("a", "c2", v1::REJECTED, kT0 + 1)};
  Apply(first);
  StoredBatch second;
  second.received = kNow;
  second.command_progress = {Progress("a", "c1", v1::RUNNING, kT0 + 2, "drain"),
                             Progress("a", "c1", v1::SUCCEEDED, kT0 + 3)};
  Apply(second);

  absl::StatusOr<v1::CommandRecord> c1 = storage_->GetCommand("c1");
  ASSERT_THAT(c1, IsOk());
  EXPECT_EQ(c1->state(), v1::SUCCEEDED);
  ASSERT_EQ(c1->progress_size(), 3);
  EXPECT_THAT(c1->progress(0), EqualsProto(first.command_progress[0].progress));
  EXPECT_THAT(c1->progress(1),
              EqualsProto(second.command_progress[0].progress));
  EXPECT_THAT(c1->progress(2),
              EqualsProto(second.command_progress[1].progress));
  absl::StatusOr<v1::CommandRecord> c2 = storage_->GetCommand("c2");
  ASSERT_THAT(c2, IsOk());
  EXPECT_EQ(c2->state(), v1::REJECTED);
  EXPECT_EQ(c2->progress_size(), 1);
}

TEST_P(StorageConformanceTest, CommandsAreListedNewestFirst) {
  ASSERT_THAT(storage_->RecordCommand(Command("old", "a", kT0)), IsOk());
  ASSERT_THAT(storage_->RecordCommand(Command("new", "b", kT0 + 20)), IsOk());
  ASSERT_THAT(storage_->RecordCommand(Command("mid", "a", kT0 + 10)), IsOk());
  ASSERT_THAT(storage_->RecordCommand(Command("mid2", "a", kT0 + 10)), IsOk());
  StoredBatch batch;
  batch.received = kNow;
  batch.command_progress = {Progress("a", "old", v1::SUCCEEDED, kT0 + 1)};
  Apply(batch);

  v1::ListCommandsRequest request;
  request.set_limit(10);
  absl::StatusOr<v1::ListCommandsResponse> all =
      storage_->ListCommands(request);
  ASSERT_THAT(all, IsOk());
  EXPECT_THAT(CommandIds(*all), ElementsAre("new", "mid2", "mid", "old"));
  EXPECT_EQ(all->commands(3).state(), v1::SUCCEEDED);
  EXPECT_EQ(all->commands(3).progress_size(), 1);

  request.set_agent_id("a");
  request.set_limit(2);
  absl::StatusOr<v1::ListCommandsResponse> recent =
      storage_->ListCommands(request);
  ASSERT_THAT(recent, IsOk());
  EXPECT_THAT(CommandIds(*recent), ElementsAre("mid2", "mid"));
  request.set_limit(0);
  EXPECT_THAT(storage_->ListCommands(request),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_P(StorageConformanceTest, UnfinishedCommandsAreThoseWithoutAFinalState) {
  ASSERT_THAT(storage_->RecordCommand(Command("sent", "a", kT0 + 2)), IsOk());
  ASSERT_THAT(storage_->RecordCommand(Command("running", "a", kT0 + 1)),
              IsOk());
  ASSERT_THAT(storage_->RecordCommand(Command("done", "b", kT0)), IsOk());
  StoredBatch batch;
  batch.received = kNow;
  batch.command_progress = {Progress("a", "running", v1::RUNNING, kT0 + 3),
                            Progress("b", "done", v1::FAILED, kT0 + 3)};
  Apply(batch);

  absl::StatusOr<std::vector<v1::CommandRecord>> unfinished =
      storage_->UnfinishedCommands();
  ASSERT_THAT(unfinished, IsOk());
  ASSERT_EQ(unfinished->size(), 2u);
  EXPECT_EQ((*unfinished)[0].command_id(), "running");
  EXPECT_EQ((*unfinished)[0].agent_id(), "a");
  EXPECT_EQ((*unfinished)[0].state(), v1::RUNNING);
  EXPECT_EQ((*unfinished)[1].command_id(), "sent");
}

v1::AuditRecord Audit(int64_t time_ms, const std::string& agent_id,
                      const std::string& result) {
  v1::AuditRecord record;
  record.set_time_unix_ms(time_ms);
  record.set_actor("오퍼레이터");
  record.set_agent_id(agent_id);
  record.set_action("safe_restart");
  record.set_parameters("drain_timeout=10m force=false");
  record.set_result(result);
  record.set_command_id("c1");
  return record;
}

std::vector<std::string> AuditResults(const v1::ListAuditResponse& response) {
  std::vector<std::string> results;
  for (const v1::AuditRecord& record : response.records()) {
    results.push_back(record.result());
  }
  return results;
}

TEST_P(StorageConformanceTest, AuditIsListedNewestFirstAndFiltered) {
  StoredBatch first;
  first.received = kNow;
  first.audit = {Audit(kT0, "a", "requested"), Audit(kT0 + 5, "b", "b's")};
  Apply(first);
  StoredBatch second;
  second.received = kNow;
  second.audit = {Audit(kT0 + 5, "a", "ACCEPTED"),
                  Audit(kT0 + 9, "a", "SUCCEEDED")};
  Apply(second);

  v1::ListAuditRequest request;
  request.set_limit(10);
  absl::StatusOr<v1::ListAuditResponse> all = storage_->ListAudit(request);
  ASSERT_THAT(all, IsOk());
  EXPECT_THAT(AuditResults(*all),
              ElementsAre("SUCCEEDED", "ACCEPTED", "b's", "requested"));
  EXPECT_THAT(all->records(3), EqualsProto(first.audit[0]));

  request.set_agent_id("a");
  request.set_since_unix_ms(kT0 + 5);
  EXPECT_THAT(AuditResults(*storage_->ListAudit(request)),
              ElementsAre("SUCCEEDED", "ACCEPTED"));
  request.set_limit(1);
  EXPECT_THAT(AuditResults(*storage_->ListAudit(request)),
              ElementsAre("SUCCEEDED"));
  request.set_limit(0);
  EXPECT_THAT(storage_->ListAudit(request),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_P(StorageConformanceTest, AuditSurvivesReopening) {
  StoredBatch batch;
  batch.received = kNow;
  batch.audit = {Audit(kT0, "a", "requested")};
  Apply(batch);
  Reopen();
  v1::ListAuditRequest request;
  request.set_limit(10);
  EXPECT_THAT(AuditResults(*storage_->ListAudit(request)),
              ElementsAre("requested"));
}

// --- Retention -------------------------------------------------------------

class RetentionConformanceTest : public StorageConformanceTest {
 protected:
  // Two of each kind: one two hours before kT0, one at kT0.
  void StoreOldAndNew() {
    const int64_t old_ms = kT0 - absl::ToInt64Milliseconds(absl::Hours(2));
    ASSERT_THAT(storage_->RecordCommand(Command("c-old", "a", old_ms)), IsOk());
    ASSERT_THAT(storage_->RecordCommand(Command("c-new", "a", kT0)), IsOk());
    StoredBatch batch = Stored(
        {Batch("a", {LogEvent(1, old_ms, v1::ERROR, "old 접속 timeout"),
                     LogEvent(2, kT0, v1::ERROR, "new 접속 timeout"),
                     SampleEvent(3, old_ms, 10), SampleEvent(4, kT0, 20)})});
    batch.command_progress = {Progress("a", "c-old", v1::SUCCEEDED, old_ms),
                              Progress("a", "c-new", v1::SUCCEEDED, kT0)};
    batch.audit = {Audit(old_ms, "a", "old"), Audit(kT0, "a", "new")};
    Apply(batch);
    old_sample_points_ = static_cast<int64_t>(
        MetricsFromSample(batch.batches[0].batch->events(2).sample()).size());
  }

  absl::StatusOr<RetentionCounts> DeleteExpired(const RetentionPolicy& policy,
                                                int64_t max_rows = 1000,
                                                absl::Time now = kNow) {
    absl::StatusOr<RetentionCounts> removed =
        storage_->DeleteExpired(policy, now, max_rows);
    opener_->Settle();
    return removed;
  }

  int64_t old_sample_points_ = 0;
};

INSTANTIATE_TEST_SUITE_P(Backends, RetentionConformanceTest,
                         ::testing::ValuesIn(kBackends),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           return std::string(info.param.name);
                         });

TEST_P(RetentionConformanceTest, NothingYoungerThanItsKindsAgeGoes) {
  StoreOldAndNew();
  absl::StatusOr<RetentionCounts> removed =
      DeleteExpired(KeepEverything(absl::Hours(3)));
  ASSERT_THAT(removed, IsOk());
  EXPECT_EQ(removed->total(), 0);
  EXPECT_THAT(LogsContaining("timeout"), ElementsAre(2, 1));
}

TEST_P(RetentionConformanceTest, EachKindGoesPastItsOwnAge) {
  StoreOldAndNew();
  RetentionPolicy policy = KeepEverything(absl::Hours(3));
  policy.logs = absl::Hours(1);
  absl::StatusOr<RetentionCounts> removed = DeleteExpired(policy);
  ASSERT_THAT(removed, IsOk());
  EXPECT_EQ(removed->logs, 1);
  EXPECT_EQ(removed->total(), 1);
  // The search no longer finds the removed event, and still finds the kept.
  EXPECT_THAT(LogsContaining("timeout"), ElementsAre(2));
  EXPECT_THAT(LogsContaining("접속"), ElementsAre(2));
  EXPECT_EQ(Metrics("host.cpu_percent").series(0).points_size(), 2);
  // The daily report's error lines go with their events.
  absl::StatusOr<std::vector<HostDayActivity>> day = storage_->DayActivity(
      {}, absl::FromUnixMillis(kT0 - absl::ToInt64Milliseconds(absl::Hours(3))),
      kNow);
  ASSERT_THAT(day, IsOk());
  ASSERT_EQ(day->size(), 1u);
  EXPECT_EQ((*day)[0].error_lines, 1);
  ASSERT_EQ((*day)[0].error_shapes.size(), 1u);
  EXPECT_EQ((*day)[0].error_shapes[0].example, "new 접속 timeout");

  removed = DeleteExpired(KeepEverything(absl::Hours(1)));
  ASSERT_THAT(removed, IsOk());
  EXPECT_EQ(removed->logs, 0);
  EXPECT_EQ(removed->samples, old_sample_points_);
  EXPECT_EQ(removed->commands, 1);
  EXPECT_EQ(removed->audit, 1);
  v1::QueryMetricsResponse cpu = Metrics("host.cpu_percent");
  ASSERT_EQ(cpu.series_size(), 1);
  ASSERT_EQ(cpu.series(0).points_size(), 1);
  EXPECT_EQ(cpu.series(0).points(0).time_unix_ms(), kT0);
  EXPECT_THAT(storage_->GetCommand("c-old"),
              StatusIs(absl::StatusCode::kNotFound));
  absl::StatusOr<v1::CommandRecord> kept = storage_->GetCommand("c-new");
  ASSERT_THAT(kept, IsOk());
  EXPECT_EQ(kept->progress_size(), 1);
  v1::ListAuditRequest audit;
  audit.set_limit(10);
  EXPECT_THAT(AuditResults(*storage_->ListAudit(audit)), ElementsAre("new"));
  EXPECT_EQ(DeleteExpired(KeepEverything(absl::Hours(1)))->total(), 0);
}

TEST_P(RetentionConformanceTest, AtMostMaxRowsGoOldestFirst) {
  Apply(Stored({LogLines("a", 1, 5)}));
  const RetentionPolicy policy = KeepEverything(absl::Hours(1));
  const absl::Time later = kNow + absl::Hours(2);
  absl::StatusOr<RetentionCounts> removed = DeleteExpired(policy, 2, later);
  ASSERT_THAT(removed, IsOk());
  EXPECT_EQ(removed->logs, 2);
  EXPECT_THAT(Sequences(Logs({})), ElementsAre(5, 4, 3));
  EXPECT_EQ(DeleteExpired(policy, 2, later)->logs, 2);
  // The newest stays until a newer one comes.
  EXPECT_EQ(DeleteExpired(policy, 2, later)->total(), 0);
  EXPECT_THAT(Sequences(Logs({})), ElementsAre(5));
  Apply(Stored({LogLines("a", 6, 6)}));
  EXPECT_EQ(DeleteExpired(policy, 2, later)->logs, 1);
  EXPECT_THAT(Sequences(Logs({})), ElementsAre(6));
}

TEST_P(RetentionConformanceTest, ARoomKeepsTheEventsRetentionLeaves) {
  const int64_t old_ms = kT0 - absl::ToInt64Milliseconds(absl::Hours(2));
  auto in_room = [](v1::Event event, const std::string& ruid) {
    event.mutable_log()->set_ruid(ruid);
    return event;
  };
  Apply(Stored(
      {Batch("a", {in_room(LogEvent(1, old_ms, v1::INFO, "old of x"), "room_x"),
                   in_room(LogEvent(2, old_ms, v1::INFO, "old of y"), "room_y"),
                   in_room(LogEvent(3, kT0, v1::INFO, "new of x"), "room_x"),
                   LogEvent(4, kT0, v1::INFO, "newest")})}));
  RetentionPolicy policy = KeepEverything(absl::Hours(3));
  policy.logs = absl::Hours(1);
  absl::StatusOr<RetentionCounts> removed = DeleteExpired(policy);
  ASSERT_THAT(removed, IsOk());
  EXPECT_EQ(removed->logs, 2);
  v1::QueryLogsRequest request;
  request.set_ruid("room_x");
  EXPECT_THAT(Sequences(Logs(request)), ElementsAre(3));
  request.set_ruid("room_y");
  EXPECT_THAT(Sequences(Logs(request)), IsEmpty());
}

TEST_P(RetentionConformanceTest, RollupsGoPastTheirOwnAge) {
  StoreOldAndNew();
  RetentionPolicy policy = KeepEverything(absl::Hours(3));
  policy.samples = absl::Hours(1);
  absl::StatusOr<RetentionCounts> removed = DeleteExpired(policy);
  ASSERT_THAT(removed, IsOk());
  EXPECT_EQ(removed->samples, old_sample_points_);
  EXPECT_EQ(removed->rollups, 0);
  // The old point answers as its minute.
  EXPECT_EQ(Metrics("host.cpu_percent").series(0).points_size(), 2);

  policy.rollups = absl::Hours(1);
  removed = DeleteExpired(policy);
  ASSERT_THAT(removed, IsOk());
  // One minute of each series the old sample made.
  EXPECT_EQ(removed->rollups, old_sample_points_);
  EXPECT_EQ(removed->total(), old_sample_points_);
  v1::QueryMetricsResponse cpu = Metrics("host.cpu_percent");
  ASSERT_EQ(cpu.series(0).points_size(), 1);
  EXPECT_EQ(cpu.series(0).points(0).time_unix_ms(), kT0);
}

TEST_P(RetentionConformanceTest, MaxRowsMustBePositive) {
  EXPECT_THAT(storage_->DeleteExpired(RetentionPolicy{}, kNow, 0),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

// --- Rooms -----------------------------------------------------------------

constexpr int64_t kSecond = 1000;
constexpr int64_t kMinute = 60 * kSecond;

v1::RoomRecord ExpectedRoom(const std::string& agent_id,
                            const std::string& ruid) {
  v1::RoomRecord room;
  room.set_agent_id(agent_id);
  room.set_ruid(ruid);
  room.set_queue_wait_ms(-1);
  room.set_processing_ms(-1);
  return room;
}

class RoomConformanceTest : public StorageConformanceTest {
 protected:
  // Host a: r1 completed, r2 failed, r3 queued, r4 running; host b: r5
  // running since long ago (slow). Lines of other types name r1 too.
  void StoreRooms() {
    Apply(Stored(
        {Batch("a",
               {RoomEvent(1, kT0, "room_requested", "room_1"),
                RoomEvent(2, kT0 + 5 * kSecond, "room_dequeued", "room_1",
                          {{"queue_wait_ms", "5000"}}),
                RoomEvent(3, kT0 + 5 * kSecond, "room_started", "room_1",
                          {{"theme", "victoria"}}),
                RoomEvent(4, kT0 + 6 * kMinute, "processing_time", "room_1",
                          {{"processing_ms", "1"}}),
                RoomEvent(5, kT0 + 6 * kMinute, "room_completed", "room_1",
                          {{"outcome", "success"},
                           {"processing_ms", "355000"},
                           {"queue_wait_ms", "5000"}}),
                RoomEvent(6, kT0 + 7 * kMinute, "room_requested", "room_2"),
                RoomEvent(7, kT0 + 7 * kMinute, "room_started", "room_2"),
                RoomEvent(8, kT0 + 9 * kMinute, "room_failed", "room_2",
                          {{"outcome", "failure"},
                           {"error", "Meshy 응답 없음"},
                           {"processing_ms", "120000"}},
                          v1::ERROR),
                RoomEvent(9, kT0 + 10 * kMinute, "room_requested", "room_3"),
                RoomEvent(10, kT0 + 11 * kMinute, "room_started", "room_4")}),
         Batch("b",
               {RoomEvent(1, kT0 - 60 * kMinute, "room_started", "room_5")})}));
  }

  v1::ListRoomsResponse Rooms(v1::ListRoomsRequest request,
                              absl::Time now = kRoomsNow) {
    if (request.limit() == 0) request.set_limit(100);
    absl::StatusOr<v1::ListRoomsResponse> response =
        storage_->ListRooms(request, now);
    EXPECT_THAT(response, IsOk());
    return response.ok() ? *response : v1::ListRoomsResponse{};
  }

  static std::vector<std::string> Ruids(const v1::ListRoomsResponse& rooms) {
    std::vector<std::string> ruids;
    for (const v1::RoomRecord& room : rooms.rooms()) {
      ruids.push_back(room.ruid());
    }
    return ruids;
  }

  static inline const absl::Time kRoomsNow =
      absl::FromUnixMillis(kT0 + 12 * kMinute);
};

INSTANTIATE_TEST_SUITE_P(Backends, RoomConformanceTest,
                         ::testing::ValuesIn(kBackends),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           return std::string(info.param.name);
                         });

TEST_P(RoomConformanceTest, RoomsFollowTheirLifecycleEvents) {
  StoreRooms();
  Reopen();
  v1::ListRoomsResponse rooms = Rooms({});
  ASSERT_THAT(Ruids(rooms),
              ElementsAre("room_4", "room_3", "room_2", "room_1", "room_5"));

  v1::RoomRecord completed = ExpectedRoom("a", "room_1");
  completed.set_requested_unix_ms(kT0);
  completed.set_dequeued_unix_ms(kT0 + 5 * kSecond);
  completed.set_started_unix_ms(kT0 + 5 * kSecond);
  completed.set_finished_unix_ms(kT0 + 6 * kMinute);
  completed.set_queue_wait_ms(5000);
  completed.set_processing_ms(355000);
  completed.set_theme("victoria");
  completed.set_status(v1::ROOM_COMPLETED);
  completed.set_outcome("completed");
  EXPECT_THAT(rooms.rooms(3), EqualsProto(completed));

  v1::RoomRecord failed = ExpectedRoom("a", "room_2");
  failed.set_requested_unix_ms(kT0 + 7 * kMinute);
  failed.set_started_unix_ms(kT0 + 7 * kMinute);
  failed.set_finished_unix_ms(kT0 + 9 * kMinute);
  failed.set_processing_ms(120000);
  failed.set_status(v1::ROOM_FAILED);
  failed.set_outcome("Meshy 응답 없음");
  EXPECT_THAT(rooms.rooms(2), EqualsProto(failed));

  v1::RoomRecord queued = ExpectedRoom("a", "room_3");
  queued.set_requested_unix_ms(kT0 + 10 * kMinute);
  queued.set_status(v1::ROOM_QUEUED);
  EXPECT_THAT(rooms.rooms(1), EqualsProto(queued));

  // Running 1 minute: not slow; the other host's for 72 minutes: slow.
  EXPECT_EQ(rooms.rooms(0).status(), v1::ROOM_RUNNING);
  EXPECT_FALSE(rooms.rooms(0).slow());
  EXPECT_EQ(rooms.rooms(4).status(), v1::ROOM_RUNNING);
  EXPECT_TRUE(rooms.rooms(4).slow());
}

TEST_P(RoomConformanceTest, SlowFollowsTheKpi) {
  Apply(Stored({Batch(
      "a",
      {RoomEvent(1, kT0, "room_completed", "room_wait",
                 {{"queue_wait_ms", "120001"}, {"processing_ms", "1000"}}),
       RoomEvent(2, kT0, "room_completed", "room_ok",
                 {{"queue_wait_ms", "120000"}, {"processing_ms", "600000"}}),
       RoomEvent(3, kT0, "room_failed", "room_long",
                 {{"processing_ms", "600001"}}),
       RoomEvent(4, kT0, "room_requested", "room_waiting")})}));
  v1::ListRoomsRequest slow;
  slow.set_slow_only(true);
  // The queued room has waited 2 min exactly, then a moment more.
  EXPECT_THAT(Ruids(Rooms(slow, absl::FromUnixMillis(kT0 + 2 * kMinute))),
              ElementsAre("room_long", "room_wait"));
  EXPECT_THAT(Ruids(Rooms(slow, absl::FromUnixMillis(kT0 + 2 * kMinute + 1))),
              ElementsAre("room_long", "room_wait", "room_waiting"));
}

TEST_P(RoomConformanceTest, ListRoomsFilters) {
  StoreRooms();
  v1::ListRoomsRequest request;
  request.set_status(v1::ROOM_RUNNING);
  EXPECT_THAT(Ruids(Rooms(request)), ElementsAre("room_4", "room_5"));
  request.add_agent_ids("b");
  EXPECT_THAT(Ruids(Rooms(request)), ElementsAre("room_5"));

  v1::ListRoomsRequest window;
  // Ended before `since`: room_1; open rooms are active still.
  window.set_since_unix_ms(kT0 + 8 * kMinute);
  EXPECT_THAT(Ruids(Rooms(window)),
              ElementsAre("room_4", "room_3", "room_2", "room_5"));
  // Nothing of room_3 and room_4 before `until`.
  window.set_until_unix_ms(kT0 + 9 * kMinute);
  EXPECT_THAT(Ruids(Rooms(window)), ElementsAre("room_2", "room_5"));

  v1::ListRoomsRequest limited;
  limited.set_limit(2);
  EXPECT_THAT(Ruids(Rooms(limited)), ElementsAre("room_4", "room_3"));
  limited.set_limit(0);
  EXPECT_THAT(storage_->ListRooms(limited, kNow),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_P(RoomConformanceTest, ServerStartEndsTheHostsOpenRooms) {
  StoreRooms();
  Apply(Stored({Batch("a", {ServerStarted(11, kT0 + 11 * kMinute + 1)})}));
  v1::ListRoomsRequest failed;
  failed.set_status(v1::ROOM_FAILED);
  v1::ListRoomsResponse rooms = Rooms(failed);
  // Both end at the restart: then by ruid.
  ASSERT_THAT(Ruids(rooms), ElementsAre("room_3", "room_4", "room_2"));
  EXPECT_EQ(rooms.rooms(0).outcome(), kCutShortOutcome);
  EXPECT_EQ(rooms.rooms(0).finished_unix_ms(), kT0 + 11 * kMinute + 1);
  EXPECT_EQ(rooms.rooms(0).processing_ms(), -1);
  EXPECT_EQ(rooms.rooms(2).outcome(), "Meshy 응답 없음");
  // The other host's room runs on.
  v1::ListRoomsRequest running;
  running.set_status(v1::ROOM_RUNNING);
  EXPECT_THAT(Ruids(Rooms(running)), ElementsAre("room_5"));
}

TEST_P(RoomConformanceTest, GetRoomHasItsEventsOldestFirst) {
  StoreRooms();
  v1::GetRoomRequest request;
  request.set_ruid("room_1");
  absl::StatusOr<v1::GetRoomResponse> room =
      storage_->GetRoom(request, 100, kRoomsNow);
  ASSERT_THAT(room, IsOk());
  EXPECT_EQ(room->room().status(), v1::ROOM_COMPLETED);
  EXPECT_EQ(room->room().agent_id(), "a");
  std::vector<uint64_t> sequences;
  for (const auto& event : room->events()) {
    sequences.push_back(event.sequence());
  }
  EXPECT_THAT(sequences, ElementsAre(1, 2, 3, 4, 5));
  // The newest of them when there are more.
  room = storage_->GetRoom(request, 2, kRoomsNow);
  ASSERT_THAT(room, IsOk());
  ASSERT_EQ(room->events_size(), 2);
  EXPECT_EQ(room->events(0).sequence(), 4u);

  request.set_agent_id("b");
  EXPECT_THAT(storage_->GetRoom(request, 100, kRoomsNow),
              StatusIs(absl::StatusCode::kNotFound));
  request.set_ruid("room_5");
  room = storage_->GetRoom(request, 100, kRoomsNow);
  ASSERT_THAT(room, IsOk());
  EXPECT_TRUE(room->room().slow());
  request.set_ruid("room_unknown");
  request.clear_agent_id();
  EXPECT_THAT(storage_->GetRoom(request, 100, kRoomsNow),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_P(RoomConformanceTest, GetRoomOfARuidWithoutLifecycleEvents) {
  v1::Event line = LogEvent(1, kT0, v1::INFO, "작업 상태: RUNNING");
  line.mutable_log()->set_ruid("room_9");
  Apply(Stored({Batch("a", {line})}));
  v1::GetRoomRequest request;
  request.set_ruid("room_9");
  absl::StatusOr<v1::GetRoomResponse> room =
      storage_->GetRoom(request, 100, kRoomsNow);
  ASSERT_THAT(room, IsOk());
  v1::RoomRecord expected;
  expected.set_agent_id("a");
  expected.set_ruid("room_9");
  EXPECT_THAT(room->room(), EqualsProto(expected));
  EXPECT_EQ(room->events_size(), 1);
}

TEST_P(RoomConformanceTest, DayActivityCountsTheDayOnly) {
  const int64_t start = kT0 + 60 * kMinute;
  const int64_t end = start + 24 * 60 * kMinute;
  Register("a", absl::FromUnixMillis(start - 1));
  Register("idle", absl::FromUnixMillis(start - 10 * kMinute));
  Register("seen", absl::FromUnixMillis(start + 1));
  v1::Event error_before = LogEvent(1, start - 1, v1::ERROR, "timeout 1\nat x");
  v1::Event error_first = LogEvent(2, start, v1::ERROR, "timeout 2\nat y");
  v1::Event error_again = LogEvent(3, end - 1, v1::ERROR, "timeout 2");
  v1::Event error_after = LogEvent(4, end, v1::ERROR, "timeout 3");
  v1::Event warn = LogEvent(5, start + 1, v1::WARN, "slow");
  Apply(Stored(
      {Batch("a", {error_before, error_first, error_again, error_after, warn,
                   RoomEvent(6, start - 1, "room_requested", "room_early"),
                   RoomEvent(7, start + 1, "room_completed", "room_early",
                             {{"processing_ms", "1000"}}),
                   RoomEvent(8, end - 1, "room_requested", "room_late"),
                   RoomEvent(9, end, "room_completed", "room_late"),
                   ServerStarted(10, start), ServerStarted(11, end)}),
       Batch("b", {LogEvent(1, start + 5, v1::WARN, "b warn")})}));

  absl::StatusOr<std::vector<HostDayActivity>> day = storage_->DayActivity(
      {}, absl::FromUnixMillis(start), absl::FromUnixMillis(end));
  ASSERT_THAT(day, IsOk());
  ASSERT_EQ(day->size(), 3u);  // a, b and seen; not idle.
  const HostDayActivity& a = (*day)[0];
  EXPECT_EQ(a.agent_id, "a");
  EXPECT_EQ(a.hostname, "a.example");
  EXPECT_EQ(a.room_requests, 1);
  ASSERT_EQ(a.ended_rooms.size(), 1u);
  EXPECT_EQ(a.ended_rooms[0].ruid(), "room_early");
  EXPECT_EQ(a.ended_rooms[0].processing_ms(), 1000);
  EXPECT_EQ(a.error_lines, 2);
  EXPECT_EQ(a.warn_lines, 1);
  EXPECT_THAT(a.error_shapes,
              ElementsAre(HostDayActivity::ErrorShape{
                  .shape = "timeout <n>", .count = 2, .example = "timeout 2"}));
  EXPECT_EQ(a.server_starts, 1);
  EXPECT_EQ((*day)[1].agent_id, "b");
  EXPECT_EQ((*day)[1].warn_lines, 1);
  EXPECT_EQ((*day)[2].agent_id, "seen");
  EXPECT_EQ((*day)[2].error_lines, 0);

  day = storage_->DayActivity({"b"}, absl::FromUnixMillis(start),
                              absl::FromUnixMillis(end));
  ASSERT_THAT(day, IsOk());
  ASSERT_EQ(day->size(), 1u);
  EXPECT_EQ((*day)[0].agent_id, "b");
}

TEST_P(RetentionConformanceTest, RoomsGoWithTheirLogs) {
  const int64_t old_ms = kT0 - absl::ToInt64Milliseconds(absl::Hours(2));
  Apply(
      Stored({Batch("a", {RoomEvent(1, old_ms, "room_requested", "room_old"),
                          RoomEvent(2, kT0, "room_requested", "room_new")})}));
  ASSERT_THAT(DeleteExpired(KeepEverything(absl::Hours(1))), IsOk());
  v1::ListRoomsRequest request;
  request.set_limit(10);
  absl::StatusOr<v1::ListRoomsResponse> rooms =
      storage_->ListRooms(request, kNow);
  ASSERT_THAT(rooms, IsOk());
  ASSERT_EQ(rooms->rooms_size(), 1);
  EXPECT_EQ(rooms->rooms(0).ruid(), "room_new");
}

}  // namespace
}  // namespace eroom::collector
