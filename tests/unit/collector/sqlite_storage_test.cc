#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "SQLiteCpp/Database.h"
#include "SQLiteCpp/Statement.h"
#include "SQLiteCpp/Transaction.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "collector/schema.h"
#include "collector/search_index.h"
#include "collector/storage.h"
#include "common/metric_catalog.h"
#include "eroom/monitor/v1/monitor.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/unit/test_support/temp_dir.h"

namespace eroom::collector {

using ::eroom::test_support::TempDirTest;
namespace {

namespace v1 = ::eroom::monitor::v1;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

MATCHER_P(EqualsProto, expected,
          "equals " + testing::PrintToString(expected.DebugString())) {
  return google::protobuf::util::MessageDifferencer::Equals(arg, expected);
}

constexpr int64_t kT0 = 1750000000000;  // A fixed epoch-ms base for events.
const absl::Time kNow = absl::FromUnixMillis(kT0 + 500);

v1::AgentHello Hello(const std::string& agent_id) {
  v1::AgentHello hello;
  hello.set_agent_id(agent_id);
  hello.set_hostname(agent_id + ".example");
  hello.set_version("0.1.0");
  (*hello.mutable_labels())["env"] = "prod";
  (*hello.mutable_labels())["site"] = "서울";
  return hello;
}

v1::Event LogEvent(uint64_t sequence, int64_t time_ms, v1::LogLevel level,
                   const std::string& message) {
  v1::Event event;
  event.set_sequence(sequence);
  v1::LogEvent* log = event.mutable_log();
  log->set_time_unix_ms(time_ms);
  log->set_file("/opt/eroom/logs/server.log");
  log->set_level(level);
  log->set_logger("c.f.e.s.queue.RoomRequestQueueManager");
  log->set_thread("pool-2-thread-1");
  log->set_message(message);
  log->set_has_header(true);
  log->set_file_offset(sequence * 100);
  return event;
}

v1::Event SampleEvent(uint64_t sequence, int64_t time_ms, double cpu) {
  v1::Event event;
  event.set_sequence(sequence);
  v1::ResourceSample* sample = event.mutable_sample();
  sample->set_time_unix_ms(time_ms);
  sample->set_cpu_percent(cpu);
  sample->set_memory_used_bytes(1 << 30);
  sample->set_memory_total_bytes(4ull << 30);
  sample->set_load_average_1m(0.5);
  v1::DiskUsage* root = sample->add_disks();
  root->set_mount("/");
  root->set_used_bytes(25);
  root->set_total_bytes(100);
  v1::DiskUsage* data = sample->add_disks();
  data->set_mount("/data");
  data->set_used_bytes(10);
  data->set_total_bytes(40);
  sample->mutable_eroom()->set_up(true);
  sample->mutable_eroom()->set_pid(4242);
  sample->mutable_eroom()->set_rss_bytes(700 << 20);
  return event;
}

v1::Event ProbeEvent(uint64_t sequence, int64_t time_ms, v1::ProbeTarget target,
                     int64_t queued) {
  v1::Event event;
  event.set_sequence(sequence);
  v1::ProbeResult* probe = event.mutable_probe();
  probe->set_time_unix_ms(time_ms);
  probe->set_target(target);
  probe->set_ok(true);
  probe->set_http_status(200);
  probe->set_latency_ms(12.5);
  if (target == v1::HEALTH) probe->set_health_status("healthy");
  probe->mutable_queue()->set_queued(queued);
  probe->mutable_queue()->set_active(1);
  probe->mutable_queue()->set_completed(142);
  probe->mutable_queue()->set_max_concurrent(1);
  return event;
}

v1::Event NoticeEvent(uint64_t sequence, int64_t time_ms) {
  v1::Event event;
  event.set_sequence(sequence);
  v1::AgentNotice* notice = event.mutable_notice();
  notice->set_time_unix_ms(time_ms);
  notice->set_kind("events_dropped");
  notice->set_message("spool full");
  notice->set_count(17);
  return event;
}

AgentBatch Batch(const std::string& agent_id, std::vector<v1::Event> events) {
  AgentBatch batch;
  batch.agent_id = agent_id;
  for (v1::Event& event : events) {
    *batch.batch.add_events() = std::move(event);
  }
  return batch;
}

// Log events with sequences [first, last], one second apart, message "line N".
AgentBatch LogLines(const std::string& agent_id, uint64_t first,
                    uint64_t last) {
  std::vector<v1::Event> events;
  for (uint64_t seq = first; seq <= last; ++seq) {
    events.push_back(LogEvent(seq, kT0 + int64_t(seq) * 1000, v1::INFO,
                              "line " + std::to_string(seq)));
  }
  return Batch(agent_id, std::move(events));
}

std::vector<uint64_t> Sequences(const v1::QueryLogsResponse& response) {
  std::vector<uint64_t> out;
  for (const auto& event : response.events()) out.push_back(event.sequence());
  return out;
}

class SqliteStorageTest : public TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    path_ = PathIn("data/collector.db");
    Reopen();
  }

  void Reopen() {
    storage_.reset();
    absl::StatusOr<std::unique_ptr<Storage>> opened = OpenSqliteStorage(
        {.path = path_, .search_index_delay = absl::ZeroDuration()});
    ASSERT_TRUE(opened.ok()) << opened.status();
    storage_ = *std::move(opened);
  }

  absl::flat_hash_map<std::string, uint64_t> Store(
      std::vector<AgentBatch> batches) {
    auto stored = storage_->StoreBatches(batches, kNow);
    EXPECT_TRUE(stored.ok()) << stored.status();
    return stored.ok() ? *stored : absl::flat_hash_map<std::string, uint64_t>{};
  }

  v1::QueryLogsResponse Logs(const v1::QueryLogsRequest& request) {
    auto response = storage_->QueryLogs(request);
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? *response : v1::QueryLogsResponse{};
  }

  // Waits for the background indexer to have indexed every stored event.
  void WaitForSearchIndex() {
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (SearchIndexBacklog() != 0) {
      if (absl::Now() > deadline) {
        ADD_FAILURE() << "the search index did not catch up";
        return;
      }
      absl::SleepFor(absl::Milliseconds(5));
    }
  }

  int64_t SearchIndexBacklog() {
    absl::StatusOr<SearchIndexProgress> progress =
        ReadSearchIndexProgress(path_);
    EXPECT_TRUE(progress.ok()) << progress.status();
    return progress.ok() ? progress->newest_event - progress->indexed_through
                         : 0;
  }

  std::vector<uint64_t> LogsContaining(const std::string& text) {
    v1::QueryLogsRequest request;
    request.set_contains(text);
    return Sequences(Logs(request));
  }

  v1::QueryMetricsResponse Metrics(const v1::QueryMetricsRequest& request) {
    auto response = storage_->QueryMetrics(request);
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? *response : v1::QueryMetricsResponse{};
  }

  v1::QueryMetricsResponse Metrics(const std::string& name) {
    v1::QueryMetricsRequest request;
    request.set_name(name);
    return Metrics(request);
  }

  v1::HostStatus Host(const std::string& agent_id) {
    v1::ListHostsRequest request;
    request.set_agent_id(agent_id);
    auto response = storage_->ListHosts(request);
    EXPECT_TRUE(response.ok()) << response.status();
    if (!response.ok() || response->hosts_size() != 1) {
      ADD_FAILURE() << "no single host " << agent_id;
      return {};
    }
    return response->hosts(0);
  }

  std::string path_;
  std::unique_ptr<Storage> storage_;
};

TEST_F(SqliteStorageTest, CreatesParentDirectoryAndLatestSchema) {
  ASSERT_TRUE(std::filesystem::exists(path_));
  SQLite::Database db(path_);
  EXPECT_EQ(StoredSchemaVersion(db, kDatabaseKind).value(), kSchemaVersion);
  EXPECT_EQ(db.execAndGet("PRAGMA journal_mode").getString(), "wal");
}

TEST_F(SqliteStorageTest, ReopeningIsIdempotentAndKeepsData) {
  ASSERT_TRUE(storage_->RegisterAgent(Hello("a"), kNow).ok());
  Store({LogLines("a", 1, 3)});
  Reopen();
  Reopen();
  EXPECT_THAT(LogsContaining("line"), ElementsAre(3, 2, 1));
  SQLite::Database db(path_);
  EXPECT_EQ(StoredSchemaVersion(db, kDatabaseKind).value(), kSchemaVersion);
}

TEST_F(SqliteStorageTest, RegisterAgentReturnsLastStoredSequence) {
  EXPECT_EQ(storage_->RegisterAgent(Hello("a"), kNow).value(), 0u);
  Store({LogLines("a", 1, 7)});
  EXPECT_EQ(storage_->RegisterAgent(Hello("a"), kNow).value(), 7u);
  EXPECT_FALSE(storage_->RegisterAgent(v1::AgentHello(), kNow).ok());
}

TEST_F(SqliteStorageTest, RegisterAgentRecordsHelloAndConnection) {
  const absl::Time first = kNow;
  const absl::Time later = kNow + absl::Minutes(5);
  ASSERT_TRUE(storage_->RegisterAgent(Hello("a"), first).ok());
  v1::AgentHello changed = Hello("a");
  changed.set_version("0.2.0");
  ASSERT_TRUE(storage_->RegisterAgent(changed, later).ok());

  v1::HostStatus host = Host("a");
  EXPECT_EQ(host.hostname(), "a.example");
  EXPECT_EQ(host.version(), "0.2.0");
  EXPECT_THAT(host.labels(),
              UnorderedElementsAre(Pair("env", "prod"), Pair("site", "서울")));
  EXPECT_TRUE(host.connected());
  EXPECT_EQ(host.first_seen_unix_ms(), absl::ToUnixMillis(first));
  EXPECT_EQ(host.last_seen_unix_ms(), absl::ToUnixMillis(later));
  EXPECT_FALSE(host.has_latest_sample());
  EXPECT_FALSE(host.has_latest_health());
  EXPECT_FALSE(host.has_latest_queue());
}

TEST_F(SqliteStorageTest, MarkDisconnected) {
  ASSERT_TRUE(storage_->RegisterAgent(Hello("a"), kNow).ok());
  const absl::Time gone = kNow + absl::Seconds(30);
  ASSERT_TRUE(storage_->MarkDisconnected("a", gone).ok());
  v1::HostStatus host = Host("a");
  EXPECT_FALSE(host.connected());
  EXPECT_EQ(host.last_seen_unix_ms(), absl::ToUnixMillis(gone));
  EXPECT_TRUE(storage_->MarkDisconnected("never-registered", gone).ok());
}

TEST_F(SqliteStorageTest, EveryHostIsDisconnectedAfterReopen) {
  ASSERT_TRUE(storage_->RegisterAgent(Hello("a"), kNow).ok());
  ASSERT_TRUE(Host("a").connected());
  Reopen();
  EXPECT_FALSE(Host("a").connected());
}

TEST_F(SqliteStorageTest, LastSequenceSurvivesReopen) {
  ASSERT_TRUE(storage_->RegisterAgent(Hello("a"), kNow).ok());
  Store({LogLines("a", 1, 4)});
  Reopen();
  EXPECT_EQ(Host("a").last_sequence(), 4u);
  EXPECT_EQ(storage_->RegisterAgent(Hello("a"), kNow).value(), 4u);
  // Redelivery after the restart is still recognised.
  EXPECT_THAT(Store({LogLines("a", 3, 5)}), ElementsAre(Pair("a", 5u)));
  EXPECT_THAT(LogsContaining("line"), ElementsAre(5, 4, 3, 2, 1));
}

TEST_F(SqliteStorageTest, LogEventRoundTrip) {
  ASSERT_TRUE(storage_->RegisterAgent(Hello("a"), kNow).ok());
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
  Store({Batch("a", {event})});

  v1::QueryLogsResponse response = Logs({});
  ASSERT_EQ(response.events_size(), 1);
  const v1::StoredLogEvent& stored = response.events(0);
  EXPECT_EQ(stored.agent_id(), "a");
  EXPECT_EQ(stored.sequence(), 1u);
  EXPECT_EQ(stored.received_unix_ms(), absl::ToUnixMillis(kNow));
  EXPECT_THAT(stored.event(), EqualsProto(log));
}

TEST_F(SqliteStorageTest, HeaderlessLogEventRoundTrip) {
  v1::Event event;
  event.set_sequence(1);
  event.mutable_log()->set_message("Exception in thread \"main\"");
  event.mutable_log()->set_file("/opt/eroom/logs/server.log");
  Store({Batch("a", {event})});
  v1::QueryLogsResponse response = Logs({});
  ASSERT_EQ(response.events_size(), 1);
  EXPECT_THAT(response.events(0).event(), EqualsProto(event.log()));
}

TEST_F(SqliteStorageTest, SampleRoundTripAndMetrics) {
  v1::Event sample = SampleEvent(1, kT0, 37.5);
  Store({Batch("a", {sample})});

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

TEST_F(SqliteStorageTest, DiskMetricsHaveOneSeriesPerMount) {
  Store({Batch("a", {SampleEvent(1, kT0, 1), SampleEvent(2, kT0 + 10, 2)})});
  v1::QueryMetricsResponse used = Metrics("disk.used_percent");
  ASSERT_EQ(used.series_size(), 2);
  EXPECT_THAT(used.series(0).labels(), ElementsAre(Pair("mount", "/")));
  EXPECT_THAT(used.series(1).labels(), ElementsAre(Pair("mount", "/data")));
  ASSERT_EQ(used.series(0).points_size(), 2);
  EXPECT_EQ(used.series(0).points(0).value(), 25.0);
  EXPECT_EQ(used.series(1).points(1).value(), 25.0);  // 10 of 40
}

TEST_F(SqliteStorageTest, ProbeRoundTripAndMetrics) {
  v1::Event health = ProbeEvent(1, kT0, v1::HEALTH, 5);
  v1::Event queue = ProbeEvent(2, kT0 + 1, v1::QUEUE_STATUS, 4);
  v1::Event failed;
  failed.set_sequence(3);
  failed.mutable_probe()->set_time_unix_ms(kT0 + 2);
  failed.mutable_probe()->set_target(v1::HEALTH);
  failed.mutable_probe()->set_error("401 인증 실패");
  failed.mutable_probe()->set_http_status(401);
  Store({Batch("a", {health, queue, failed})});

  v1::HostStatus host = Host("a");
  EXPECT_THAT(host.latest_health(), EqualsProto(failed.probe()));
  EXPECT_THAT(host.latest_queue(), EqualsProto(queue.probe()));

  v1::QueryMetricsResponse ok = Metrics("probe.health.ok");
  ASSERT_EQ(ok.series_size(), 1);
  ASSERT_EQ(ok.series(0).points_size(), 2);
  EXPECT_EQ(ok.series(0).points(0).value(), 1.0);
  EXPECT_EQ(ok.series(0).points(1).value(), 0.0);
  v1::QueryMetricsResponse queued = Metrics("queue.queued");
  ASSERT_EQ(queued.series_size(), 1);
  ASSERT_EQ(queued.series(0).points_size(), 1);
  EXPECT_EQ(queued.series(0).points(0).value(), 4.0);

  // The raw probe rows keep what the metrics leave out.
  SQLite::Database db(path_);
  SQLite::Statement rows(db,
                         "SELECT sequence, error, health_status, queued "
                         "FROM probes ORDER BY sequence");
  ASSERT_TRUE(rows.executeStep());
  EXPECT_EQ(rows.getColumn(2).getString(), "healthy");
  EXPECT_EQ(rows.getColumn(3).getInt(), 5);
  ASSERT_TRUE(rows.executeStep());
  ASSERT_TRUE(rows.executeStep());
  EXPECT_EQ(rows.getColumn(1).getString(), "401 인증 실패");
  EXPECT_TRUE(rows.getColumn(3).isNull());
}

TEST_F(SqliteStorageTest, NoticeIsStored) {
  Store({Batch("a", {NoticeEvent(1, kT0)})});
  EXPECT_EQ(Host("a").last_sequence(), 1u);
  SQLite::Database db(path_);
  SQLite::Statement row(db,
                        "SELECT agent_id, sequence, time_ms, kind, message, "
                        "count FROM agent_notices");
  ASSERT_TRUE(row.executeStep());
  EXPECT_EQ(row.getColumn(0).getString(), "a");
  EXPECT_EQ(row.getColumn(1).getInt64(), 1);
  EXPECT_EQ(row.getColumn(2).getInt64(), kT0);
  EXPECT_EQ(row.getColumn(3).getString(), "events_dropped");
  EXPECT_EQ(row.getColumn(4).getString(), "spool full");
  EXPECT_EQ(row.getColumn(5).getInt64(), 17);
}

TEST_F(SqliteStorageTest, RedeliveredBatchIsStoredOnce) {
  ASSERT_TRUE(storage_->RegisterAgent(Hello("a"), kNow).ok());
  EXPECT_THAT(Store({LogLines("a", 1, 3)}), ElementsAre(Pair("a", 3u)));
  EXPECT_THAT(Store({LogLines("a", 1, 3)}), ElementsAre(Pair("a", 3u)));
  EXPECT_THAT(Store({LogLines("a", 2, 5)}), ElementsAre(Pair("a", 5u)));
  EXPECT_THAT(LogsContaining("line"), ElementsAre(5, 4, 3, 2, 1));
}

TEST_F(SqliteStorageTest, EachStoredMessageIsIndexedOnceInTheBackground) {
  Store({LogLines("a", 1, 3)});
  Store({LogLines("a", 2, 5)});
  WaitForSearchIndex();
  SQLite::Database index(SearchIndexPath(path_), SQLite::OPEN_READONLY);
  index.exec(
      "CREATE VIRTUAL TABLE temp.vocabulary "
      "USING fts5vocab(main, log_messages, row)");
  EXPECT_EQ(index.execAndGet("SELECT doc FROM vocabulary WHERE term = 'lin'")
                .getInt(),
            5);
}

TEST_F(SqliteStorageTest, IndexCatchesUpWithEventsStoredBeforeARestart) {
  Store({LogLines("a", 1, 3)});
  storage_.reset();
  std::filesystem::remove(SearchIndexPath(path_));
  Reopen();
  WaitForSearchIndex();
  EXPECT_THAT(LogsContaining("line"), ElementsAre(3, 2, 1));
}

TEST_F(SqliteStorageTest, RedeliveryWithinOneCallIsStoredOnce) {
  EXPECT_THAT(Store({LogLines("a", 1, 3), LogLines("a", 2, 4)}),
              ElementsAre(Pair("a", 4u)));
  EXPECT_THAT(LogsContaining("line"), ElementsAre(4, 3, 2, 1));
}

TEST_F(SqliteStorageTest, OutOfOrderEventInBatchIsSkipped) {
  Store({Batch("a", {LogEvent(1, kT0, v1::INFO, "line 1"),
                     LogEvent(3, kT0 + 3, v1::INFO, "line 3"),
                     LogEvent(2, kT0 + 2, v1::INFO, "line 2")})});
  EXPECT_THAT(LogsContaining("line"), ElementsAre(3, 1));
  EXPECT_EQ(Host("a").last_sequence(), 3u);
}

TEST_F(SqliteStorageTest, GapIsToleratedAndStored) {
  EXPECT_THAT(Store({Batch("a", {LogEvent(1, kT0, v1::INFO, "line 1"),
                                 LogEvent(5, kT0 + 5, v1::INFO, "line 5")})}),
              ElementsAre(Pair("a", 5u)));
  EXPECT_THAT(LogsContaining("line"), ElementsAre(5, 1));
}

TEST_F(SqliteStorageTest, EventOfUnknownKindStillAdvancesSequence) {
  v1::Event unknown;
  unknown.set_sequence(1);
  EXPECT_THAT(Store({Batch("a", {unknown})}), ElementsAre(Pair("a", 1u)));
}

TEST_F(SqliteStorageTest, UnregisteredAgentGetsAHost) {
  Store({LogLines("stranger", 1, 2)});
  v1::HostStatus host = Host("stranger");
  EXPECT_EQ(host.last_sequence(), 2u);
  EXPECT_FALSE(host.connected());
  EXPECT_EQ(host.first_seen_unix_ms(), absl::ToUnixMillis(kNow));
}

TEST_F(SqliteStorageTest, SeveralAgentsInOneCall) {
  ASSERT_TRUE(storage_->RegisterAgent(Hello("a"), kNow).ok());
  ASSERT_TRUE(storage_->RegisterAgent(Hello("b"), kNow).ok());
  Store({LogLines("b", 1, 2)});
  EXPECT_THAT(
      Store({LogLines("a", 1, 3), LogLines("b", 1, 1), Batch("c", {})}),
      UnorderedElementsAre(Pair("a", 3u), Pair("b", 2u), Pair("c", 0u)));
  auto hosts = storage_->ListHosts({});
  ASSERT_TRUE(hosts.ok());
  ASSERT_EQ(hosts->hosts_size(), 3);
  EXPECT_EQ(hosts->hosts(0).agent_id(), "a");
  EXPECT_EQ(hosts->hosts(2).agent_id(), "c");
}

TEST_F(SqliteStorageTest, BatchWithoutAgentIdIsRejected) {
  auto stored = storage_->StoreBatches({LogLines("", 1, 1)}, kNow);
  EXPECT_EQ(stored.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(SqliteStorageTest, FailedStoreRollsBackAndLaterStoresWork) {
  Store({LogLines("a", 1, 1)});
  {
    // A row the storage does not know about makes sequence 4 collide.
    SQLite::Database db(path_, SQLite::OPEN_READWRITE);
    db.exec(
        "INSERT INTO log_events (agent_id, sequence, time_ms, received_ms, "
        "file, file_offset, level, logger, thread, message, event_type, "
        "fields, ruid, truncated, has_header) VALUES ('a', 4, 0, 0, '', 0, "
        "0, '', '', 'planted', '', '{}', '', 0, 1)");
  }
  // Sequence 2 creates new metric series before 4 fails.
  auto failed = storage_->StoreBatches(
      {Batch("a", {SampleEvent(2, kT0, 1), LogEvent(3, kT0, v1::INFO, "x"),
                   LogEvent(4, kT0, v1::INFO, "y")})},
      kNow);
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(failed.status().message()),
              HasSubstr("store event batches"));
  EXPECT_EQ(Host("a").last_sequence(), 1u);
  EXPECT_FALSE(Host("a").has_latest_sample());
  EXPECT_THAT(Metrics("host.cpu_percent").series(), IsEmpty());

  // The series must be created again, not taken from a stale cache.
  EXPECT_THAT(Store({Batch("a", {SampleEvent(5, kT0 + 5, 7)})}),
              ElementsAre(Pair("a", 5u)));
  EXPECT_EQ(Metrics("host.cpu_percent").series_size(), 1);
  EXPECT_EQ(storage_->RegisterAgent(Hello("a"), kNow).value(), 5u);
}

TEST_F(SqliteStorageTest, LatestSampleIsTheNewest) {
  Store({Batch("a", {SampleEvent(1, kT0, 10), SampleEvent(2, kT0 + 1, 20)})});
  Store({LogLines("a", 3, 3)});  // A batch without samples keeps it.
  EXPECT_EQ(Host("a").latest_sample().cpu_percent(), 20);
}

class QueryLogsTest : public SqliteStorageTest {
 protected:
  void SetUp() override {
    SqliteStorageTest::SetUp();
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
    Store({Batch("a", {started, failed, warn, debug}), Batch("b", {other})});
  }

  std::vector<uint64_t> TimesOf(const v1::QueryLogsResponse& response) {
    std::vector<uint64_t> out;
    for (const auto& e : response.events()) {
      out.push_back(e.event().time_unix_ms() - kT0);
    }
    return out;
  }
};

TEST_F(QueryLogsTest, NoFilterReturnsEverythingNewestFirst) {
  EXPECT_THAT(TimesOf(Logs({})), ElementsAre(4000, 3000, 2500, 2000, 1000));
}

TEST_F(QueryLogsTest, AgentFilter) {
  v1::QueryLogsRequest request;
  request.set_agent_id("b");
  v1::QueryLogsResponse response = Logs(request);
  ASSERT_EQ(response.events_size(), 1);
  EXPECT_EQ(response.events(0).agent_id(), "b");
}

TEST_F(QueryLogsTest, MinLevelFilter) {
  v1::QueryLogsRequest request;
  request.set_min_level(v1::WARN);
  EXPECT_THAT(TimesOf(Logs(request)), ElementsAre(3000, 2500, 2000));
  request.set_min_level(v1::ERROR);
  EXPECT_THAT(TimesOf(Logs(request)), ElementsAre(2500, 2000));
}

TEST_F(QueryLogsTest, EventTypeFilter) {
  v1::QueryLogsRequest request;
  request.set_event_type("error");
  EXPECT_THAT(TimesOf(Logs(request)), ElementsAre(2500, 2000));
  request.set_agent_id("a");
  EXPECT_THAT(TimesOf(Logs(request)), ElementsAre(2000));
}

TEST_F(QueryLogsTest, RuidFilter) {
  v1::QueryLogsRequest request;
  request.set_ruid("room_aaaa");
  EXPECT_THAT(TimesOf(Logs(request)), ElementsAre(2000, 1000));
}

TEST_F(QueryLogsTest, TimeBoundsAreInclusive) {
  v1::QueryLogsRequest request;
  request.set_since_unix_ms(kT0 + 2000);
  request.set_until_unix_ms(kT0 + 3000);
  EXPECT_THAT(TimesOf(Logs(request)), ElementsAre(3000, 2500, 2000));
  request.set_until_unix_ms(0);
  EXPECT_THAT(TimesOf(Logs(request)), ElementsAre(4000, 3000, 2500, 2000));
}

// Searches give the same answers with the search index (caught up) and
// without it (the index file cannot be opened: every event is scanned).
enum class SearchMode { kIndexed, kWithoutIndex };

void PrintTo(SearchMode mode, std::ostream* os) {
  *os << (mode == SearchMode::kIndexed ? "indexed" : "without index");
}

class SearchTest : public QueryLogsTest,
                   public ::testing::WithParamInterface<SearchMode> {
 protected:
  void SetUp() override {
    if (GetParam() == SearchMode::kWithoutIndex) {
      std::filesystem::create_directories(
          SearchIndexPath(PathIn("data/collector.db")));
    }
    QueryLogsTest::SetUp();
    if (GetParam() == SearchMode::kIndexed) WaitForSearchIndex();
  }
};

INSTANTIATE_TEST_SUITE_P(Modes, SearchTest,
                         ::testing::Values(SearchMode::kIndexed,
                                           SearchMode::kWithoutIndex),
                         [](const ::testing::TestParamInfo<SearchMode>& info) {
                           return info.param == SearchMode::kIndexed
                                      ? "Indexed"
                                      : "WithoutIndex";
                         });

TEST_P(SearchTest, ContainsKoreanSubstring) {
  EXPECT_THAT(LogsContaining("비즈니스"), ElementsAre(2));
  EXPECT_THAT(LogsContaining("즈니스 로"), ElementsAre(2));
  EXPECT_THAT(LogsContaining("방 생성"), ElementsAre(1));
  EXPECT_THAT(LogsContaining("비즈니스x"), IsEmpty());
}

TEST_P(SearchTest, ContainsShortStrings) {
  EXPECT_THAT(LogsContaining("비즈"), ElementsAre(2));
  EXPECT_THAT(LogsContaining("큐"), ElementsAre(4));
  EXPECT_THAT(LogsContaining("b"), ElementsAre(1));  // "Meshy error on b"
}

TEST_P(SearchTest, ContainsIgnoresCase) {
  EXPECT_THAT(LogsContaining("failed"), ElementsAre(2));
  EXPECT_THAT(LogsContaining("MESHY ERROR"), ElementsAre(1));
  EXPECT_THAT(LogsContaining("API"), ElementsAre(3));
  EXPECT_THAT(LogsContaining("Ap"), ElementsAre(3));
}

TEST_P(SearchTest, ContainsTreatsSyntaxCharactersLiterally) {
  EXPECT_THAT(LogsContaining("\"quoted\""), ElementsAre(4));
  EXPECT_THAT(LogsContaining("50%_done"), ElementsAre(2));
  EXPECT_THAT(LogsContaining("%"), ElementsAre(2));
  EXPECT_THAT(LogsContaining("_"), ElementsAre(2, 1));  // 1: "room_aaaa"
  EXPECT_THAT(LogsContaining("%_"), ElementsAre(2));
  EXPECT_THAT(LogsContaining("a OR b"), IsEmpty());
  EXPECT_THAT(LogsContaining("\\"), IsEmpty());
  EXPECT_THAT(LogsContaining("*"), IsEmpty());
}

TEST_P(SearchTest, ContainsCombinesWithOtherFilters) {
  v1::QueryLogsRequest request;
  request.set_contains("error");
  EXPECT_EQ(Logs(request).events_size(), 1);
  request.set_agent_id("a");
  EXPECT_EQ(Logs(request).events_size(), 0);
}

TEST_F(SqliteStorageTest, LogLimitDefaultsCapsAndRejectsNegative) {
  Store({LogLines("a", 1, kDefaultLogLimit + 20)});
  EXPECT_EQ(Logs({}).events_size(), kDefaultLogLimit);

  v1::QueryLogsRequest request;
  request.set_limit(3);
  EXPECT_THAT(Sequences(Logs(request)),
              ElementsAre(kDefaultLogLimit + 20, kDefaultLogLimit + 19,
                          kDefaultLogLimit + 18));
  request.set_limit(kMaxLogLimit + 1);
  EXPECT_EQ(Logs(request).events_size(), kDefaultLogLimit + 20);
  request.set_limit(-1);
  EXPECT_EQ(storage_->QueryLogs(request).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(SqliteStorageTest, UnknownMetricNameListsKnownNames) {
  v1::QueryMetricsResponse response = Metrics("host.cpu");
  EXPECT_THAT(response.series(), IsEmpty());
  EXPECT_THAT(response.known_names(),
              ::testing::ElementsAreArray(KnownMetricNames()));
}

TEST_F(SqliteStorageTest, MetricNameIsRequired) {
  EXPECT_EQ(storage_->QueryMetrics({}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(SqliteStorageTest, MetricFilters) {
  Store({Batch("a", {SampleEvent(1, kT0, 1), SampleEvent(2, kT0 + 10, 2),
                     SampleEvent(3, kT0 + 20, 3)}),
         Batch("b", {SampleEvent(1, kT0 + 5, 50)})});
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

TEST_F(SqliteStorageTest, MetricLimitKeepsNewestPointsOldestFirst) {
  Store({Batch("a", {SampleEvent(1, kT0, 1), SampleEvent(2, kT0 + 10, 2),
                     SampleEvent(3, kT0 + 20, 3)})});
  v1::QueryMetricsRequest request;
  request.set_name("host.cpu_percent");
  request.set_limit(2);
  v1::QueryMetricsResponse response = Metrics(request);
  ASSERT_EQ(response.series_size(), 1);
  ASSERT_EQ(response.series(0).points_size(), 2);
  EXPECT_EQ(response.series(0).points(0).value(), 2);
  EXPECT_EQ(response.series(0).points(1).value(), 3);
  request.set_limit(-5);
  EXPECT_EQ(storage_->QueryMetrics(request).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(SqliteStorageTest, PointsAtTheSameTimeAreAllKept) {
  // A host clock stepping back can repeat a timestamp; no point is lost.
  Store({Batch("a", {SampleEvent(1, kT0, 1), SampleEvent(2, kT0, 2)})});
  v1::QueryMetricsResponse response = Metrics("host.cpu_percent");
  ASSERT_EQ(response.series_size(), 1);
  EXPECT_EQ(response.series(0).points_size(), 2);
}

TEST_F(SqliteStorageTest, ReadDoesNotWaitForAnOpenWriteTransaction) {
  Store({LogLines("a", 1, 2)});
  // Another connection holds the write lock with uncommitted changes, as
  // the ingest thread does while it stores a large batch.
  SQLite::Database writer(path_, SQLite::OPEN_READWRITE);
  SQLite::Transaction txn(writer, SQLite::TransactionBehavior::IMMEDIATE);
  writer.exec("UPDATE hosts SET last_sequence = 99");

  absl::Notification done;
  absl::StatusOr<v1::QueryLogsResponse> logs;
  absl::StatusOr<v1::ListHostsResponse> hosts;
  std::thread reader([&] {
    logs = storage_->QueryLogs({});
    hosts = storage_->ListHosts({});
    done.Notify();
  });
  // Well below the busy timeout a blocked reader would wait out.
  EXPECT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(3)));
  reader.join();
  ASSERT_TRUE(logs.ok()) << logs.status();
  EXPECT_EQ(logs->events_size(), 2);
  ASSERT_TRUE(hosts.ok()) << hosts.status();
  EXPECT_EQ(hosts->hosts(0).last_sequence(), 2u);  // The committed state.
}

TEST_F(SqliteStorageTest, WriteDoesNotWaitForAnOpenReadTransaction) {
  Store({LogLines("a", 1, 2)});
  SQLite::Database reader(path_, SQLite::OPEN_READONLY);
  SQLite::Transaction snapshot(reader);
  EXPECT_EQ(reader.execAndGet("SELECT count(*) FROM log_events").getInt(), 2);

  absl::Notification done;
  absl::StatusOr<absl::flat_hash_map<std::string, uint64_t>> stored;
  std::thread writer([&] {
    stored = storage_->StoreBatches({LogLines("a", 3, 4)}, kNow);
    done.Notify();
  });
  EXPECT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(3)));
  writer.join();
  ASSERT_TRUE(stored.ok()) << stored.status();
  // The open snapshot still sees the old state; new readers see the new one.
  EXPECT_EQ(reader.execAndGet("SELECT count(*) FROM log_events").getInt(), 2);
  EXPECT_THAT(LogsContaining("line"), ElementsAre(4, 3, 2, 1));
}

TEST_F(SqliteStorageTest, ConcurrentQueriesWhileIngesting) {
  constexpr int kQueryThreads = 4;
  constexpr int kBatches = 20;
  std::vector<std::thread> readers;
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  for (int i = 0; i < kQueryThreads; ++i) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        if (!storage_->QueryLogs({}).ok()) ++failures;
        if (!storage_->ListHosts({}).ok()) ++failures;
      }
    });
  }
  for (int i = 0; i < kBatches; ++i) {
    Store({LogLines("a", i * 10 + 1, i * 10 + 10)});
  }
  stop = true;
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(Host("a").last_sequence(), uint64_t{kBatches * 10});
}

class OpenSqliteStorageTest : public TempDirTest {};

TEST_F(OpenSqliteStorageTest, MigratesVersionOneDatabase) {
  const std::string path = PathIn("old.db");
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    ASSERT_TRUE(MigrateSchema(db, CollectorSchema(), 1).ok());
    db.exec(
        "INSERT INTO hosts (agent_id, hostname, connected, first_seen_ms, "
        "last_seen_ms, last_sequence) VALUES ('old', 'old.example', 1, 1, 2, "
        "1)");
    db.exec(
        "INSERT INTO log_events (agent_id, sequence, time_ms, received_ms, "
        "file, file_offset, level, logger, thread, message, event_type, "
        "fields, ruid, truncated, has_header) VALUES ('old', 1, 5, 6, 'f', "
        "0, 3, 'l', 't', '비즈니스 로직 시작', '', '{}', '', 0, 1)");
  }
  auto storage = OpenSqliteStorage({.path = path});
  ASSERT_TRUE(storage.ok()) << storage.status();
  v1::QueryLogsRequest request;
  request.set_contains("비즈니스");
  auto logs = (*storage)->QueryLogs(request);
  ASSERT_TRUE(logs.ok()) << logs.status();
  ASSERT_EQ(logs->events_size(), 1);
  EXPECT_EQ(logs->events(0).agent_id(), "old");
  auto hosts = (*storage)->ListHosts({});
  ASSERT_TRUE(hosts.ok());
  ASSERT_EQ(hosts->hosts_size(), 1);
  EXPECT_FALSE(hosts->hosts(0).connected());
  EXPECT_EQ((*storage)->RegisterAgent(Hello("old"), kNow).value(), 1u);
}

TEST_F(OpenSqliteStorageTest, OpensVersionZeroDatabase) {
  const std::string path = PathIn("empty.db");
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec("CREATE TABLE unrelated (x)");  // A real file, user_version 0.
  }
  auto storage = OpenSqliteStorage({.path = path});
  ASSERT_TRUE(storage.ok()) << storage.status();
  EXPECT_TRUE((*storage)->RegisterAgent(Hello("a"), kNow).ok());
}

TEST_F(OpenSqliteStorageTest, RefusesNewerSchema) {
  const std::string path = PathIn("future.db");
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec("PRAGMA user_version = 99");
  }
  auto storage = OpenSqliteStorage({.path = path});
  EXPECT_EQ(storage.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(storage.status().message()),
              HasSubstr("version 99 is newer"));
}

TEST_F(OpenSqliteStorageTest, CorruptFileIsAClearError) {
  const std::string path = PathIn("corrupt.db");
  std::ofstream(path) << std::string(8192, 'x');
  auto storage = OpenSqliteStorage({.path = path});
  EXPECT_EQ(storage.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(storage.status().message()),
              HasSubstr("not a valid eroom-collector database"));
  EXPECT_THAT(std::string(storage.status().message()), HasSubstr(path));
}

TEST_F(OpenSqliteStorageTest, UnusablePathIsAnError) {
  EXPECT_EQ(OpenSqliteStorage({.path = ""}).status().code(),
            absl::StatusCode::kInvalidArgument);
  const std::string file = PathIn("a-file");
  std::ofstream(file) << "x";
  EXPECT_FALSE(OpenSqliteStorage({.path = file + "/sub/db"}).ok());
  EXPECT_EQ(OpenSqliteStorage({.path = ":memory:"}).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace eroom::collector
