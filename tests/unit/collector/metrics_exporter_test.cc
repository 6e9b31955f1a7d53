// What /metrics exports of a collector's state, and the room counters and
// histograms kept from stored room events.
#include "collector/metrics_exporter.h"

#include <string>

#include "collector/room_metrics.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace eroom::collector {
namespace {

namespace v1 = ::eroom::monitor::v1;
using ::testing::HasSubstr;
using ::testing::Not;

v1::Event RoomEvent(uint64_t sequence, const std::string& type,
                    const std::string& processing_ms,
                    const std::string& queue_wait_ms) {
  v1::Event event;
  event.set_sequence(sequence);
  v1::LogEvent& log = *event.mutable_log();
  log.set_event_type(type);
  if (!processing_ms.empty()) {
    (*log.mutable_fields())["processing_ms"] = processing_ms;
  }
  if (!queue_wait_ms.empty()) {
    (*log.mutable_fields())["queue_wait_ms"] = queue_wait_ms;
  }
  return event;
}

StoredBatch BatchOf(const std::string& agent_id,
                    std::vector<v1::Event> events) {
  StoredBatch stored;
  AgentBatch& batch = stored.batches.emplace_back();
  batch.agent_id = agent_id;
  for (v1::Event& event : events) *batch.batch->add_events() = event;
  return stored;
}

TEST(RoomMetricsTest, CountsOutcomesAndObservesTheirDurationsInSeconds) {
  RoomMetrics rooms;
  rooms.OnStored(
      BatchOf("web-1", {RoomEvent(1, "room_completed", "42000", "1500"),
                        RoomEvent(2, "room_started", "99", "99"),
                        RoomEvent(3, "room_failed", "", "700"),
                        RoomEvent(4, "room_completed", "not a number", "-5")}));
  rooms.OnStored(BatchOf("web-2", {RoomEvent(9, "room_completed", "500", "")}));
  const std::map<std::string, RoomMetrics::Host> hosts = rooms.Snapshot();
  ASSERT_EQ(hosts.size(), 2u);
  const RoomMetrics::Host& web1 = hosts.at("web-1");
  EXPECT_EQ(web1.completed, 2u);
  EXPECT_EQ(web1.failed, 1u);
  EXPECT_EQ(web1.processing_seconds.count(), 1u);
  EXPECT_DOUBLE_EQ(web1.processing_seconds.sum(), 42);
  EXPECT_EQ(web1.queue_wait_seconds.count(), 2u);
  EXPECT_DOUBLE_EQ(web1.queue_wait_seconds.sum(), 2.2);
  EXPECT_EQ(hosts.at("web-2").processing_seconds.count(), 1u);
  EXPECT_EQ(hosts.at("web-2").queue_wait_seconds.count(), 0u);
}

v1::HostStatus Host() {
  v1::HostStatus host;
  host.set_agent_id("web-1");
  host.set_hostname("gpu \"one\"");
  host.set_connected(true);
  host.set_last_seen_unix_ms(1'700'000'000'500);
  v1::ResourceSample& sample = *host.mutable_latest_sample();
  sample.set_cpu_percent(37.5);
  sample.set_memory_used_bytes(8'589'934'592);
  sample.set_memory_total_bytes(17'179'869'184);
  v1::DiskUsage& disk = *sample.add_disks();
  disk.set_mount("/data");
  disk.set_used_bytes(100);
  disk.set_total_bytes(400);
  sample.mutable_eroom()->set_up(true);
  sample.mutable_eroom()->set_rss_bytes(2048);
  sample.mutable_eroom()->set_port_listening(true);
  v1::ProbeResult& health = *host.mutable_latest_health();
  health.set_target(v1::HEALTH);
  health.set_ok(true);
  health.set_http_status(200);
  health.set_latency_ms(12.5);
  v1::ProbeResult& queue = *host.mutable_latest_queue();
  queue.set_target(v1::QUEUE_STATUS);
  queue.set_ok(false);
  queue.set_latency_ms(3000);
  queue.mutable_queue()->set_queued(4);
  queue.mutable_queue()->set_active(1);
  queue.mutable_queue()->set_completed(120);
  queue.mutable_queue()->set_max_concurrent(1);
  v1::AlertRecord& alert = *host.add_firing_alerts();
  alert.set_rule("disk_full");
  (*alert.mutable_labels())["alertname"] = "disk_full";
  (*alert.mutable_labels())["host"] = "gpu \"one\"";
  (*alert.mutable_labels())["severity"] = "critical";
  (*alert.mutable_labels())["team.name"] = "line\nbreak";
  return host;
}

TEST(RenderMetricsTest, ExportsEveryHostsLatestValuesWithTheirLabels) {
  MetricsSnapshot snapshot;
  *snapshot.hosts.add_hosts() = Host();
  v1::HostStatus& down = *snapshot.hosts.add_hosts();
  down.set_agent_id("web-2");
  down.set_down(true);
  const std::string text = RenderMetrics(snapshot);
  const std::string web1 = R"({agent_id="web-1",hostname="gpu \"one\""})";
  EXPECT_THAT(text, HasSubstr("eroom_host_up" + web1 + " 1\n"));
  EXPECT_THAT(text,
              HasSubstr(R"(eroom_host_up{agent_id="web-2",hostname=""} 0)"));
  EXPECT_THAT(text, HasSubstr("eroom_host_last_seen_timestamp_seconds" + web1 +
                              " 1700000000.5\n"));
  EXPECT_THAT(text, HasSubstr("eroom_host_cpu_percent" + web1 + " 37.5\n"));
  EXPECT_THAT(
      text, HasSubstr("eroom_host_memory_used_bytes" + web1 + " 8589934592\n"));
  EXPECT_THAT(text, HasSubstr(R"(eroom_host_disk_used_bytes{agent_id="web-1",)"
                              R"(hostname="gpu \"one\"",mount="/data"} 100)"));
  EXPECT_THAT(text, HasSubstr("eroom_process_up" + web1 + " 1\n"));
  EXPECT_THAT(
      text, HasSubstr("eroom_process_resident_memory_bytes" + web1 + " 2048"));
  EXPECT_THAT(text,
              HasSubstr(R"(eroom_probe_latency_seconds{agent_id="web-1",)"
                        R"(hostname="gpu \"one\"",target="health"} 0.0125)"));
  EXPECT_THAT(text,
              HasSubstr(R"(eroom_probe_success{agent_id="web-1",)"
                        R"(hostname="gpu \"one\"",target="queue_status"} 0)"));
  EXPECT_THAT(text, HasSubstr("eroom_queue_queued" + web1 + " 4\n"));
  EXPECT_THAT(text, HasSubstr("eroom_queue_completed" + web1 + " 120\n"));
  EXPECT_THAT(text,
              HasSubstr(R"(eroom_alerts_firing{agent_id="web-1",)"
                        R"(hostname="gpu \"one\"",alertname="disk_full",)"
                        R"(severity="critical",team_name="line\nbreak"} 1)"));
  // A host without a sample exports no sample values.
  EXPECT_THAT(text,
              Not(HasSubstr(R"(eroom_host_cpu_percent{agent_id="web-2")")));
  EXPECT_THAT(text, HasSubstr("eroom_collector_hosts 2\n"));
  EXPECT_THAT(text, HasSubstr("eroom_collector_connected_agents 1\n"));
}

TEST(RenderMetricsTest, ExportsRoomHistogramsUnderTheHostsName) {
  MetricsSnapshot snapshot;
  *snapshot.hosts.add_hosts() = Host();
  RoomMetrics rooms;
  rooms.OnStored(BatchOf("web-1", {RoomEvent(1, "room_completed", "700", "0"),
                                   RoomEvent(2, "room_failed", "2000", "")}));
  snapshot.rooms = rooms.Snapshot();
  const std::string text = RenderMetrics(snapshot);
  const std::string labels = R"(agent_id="web-1",hostname="gpu \"one\"")";
  EXPECT_THAT(text,
              HasSubstr("eroom_rooms_completed_total{" + labels + "} 1\n"));
  EXPECT_THAT(text, HasSubstr("eroom_rooms_failed_total{" + labels + "} 1\n"));
  EXPECT_THAT(text, HasSubstr("eroom_room_processing_seconds_bucket{" + labels +
                              ",le=\"0.5\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("eroom_room_processing_seconds_bucket{" + labels +
                              ",le=\"1\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("eroom_room_processing_seconds_bucket{" + labels +
                              ",le=\"+Inf\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("eroom_room_processing_seconds_sum{" + labels +
                              "} 2.7\n"));
  EXPECT_THAT(text, HasSubstr("eroom_room_queue_wait_seconds_count{" + labels +
                              "} 1\n"));
}

TEST(RenderMetricsTest, ExportsTheCollectorsHealth) {
  MetricsSnapshot snapshot;
  snapshot.health.stored = {.batches = 3, .logs = 10, .samples = 2};
  snapshot.health.ingest_queue_depth = 7;
  snapshot.health.ingest_waiting_streams = 3;
  snapshot.health.query_queue_depth = 1;
  snapshot.health.search_index_lag_events = 12;
  snapshot.health.file_bytes = {{"database", 4096}, {"wal", 512}};
  snapshot.health.refused_by_status = {{401, 2}, {403, 1}};
  const std::string text = RenderMetrics(snapshot);
  EXPECT_THAT(text, HasSubstr("eroom_collector_stored_batches_total 3\n"));
  EXPECT_THAT(
      text,
      HasSubstr("eroom_collector_stored_events_total{kind=\"log\"} 10\n"));
  EXPECT_THAT(text, HasSubstr("eroom_collector_ingest_queue_depth 7\n"));
  EXPECT_THAT(text, HasSubstr("eroom_collector_ingest_waiting_streams 3\n"));
  EXPECT_THAT(text, HasSubstr("eroom_collector_query_queue_depth 1\n"));
  EXPECT_THAT(text, HasSubstr("eroom_collector_search_index_lag_events 12\n"));
  EXPECT_THAT(text,
              HasSubstr("eroom_collector_database_size_bytes{file=\"wal\"} "
                        "512\n"));
  EXPECT_THAT(text, HasSubstr("eroom_collector_metrics_refused_total{code="
                              "\"401\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("eroom_collector_connected_agents 0\n"));
}

}  // namespace
}  // namespace eroom::collector
