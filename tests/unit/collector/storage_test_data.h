#ifndef EROOM_TESTS_UNIT_COLLECTOR_STORAGE_TEST_DATA_H_
#define EROOM_TESTS_UNIT_COLLECTOR_STORAGE_TEST_DATA_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "collector/ingest_rules.h"
#include "collector/stored_batch.h"
#include "eroom/monitor/v1/monitor.pb.h"

// Events and stored batches for storage tests.
namespace eroom::collector::storage_test {

inline constexpr int64_t kT0 = 1750000000000;  // An epoch-ms base for events.
inline const absl::Time kNow = absl::FromUnixMillis(kT0 + 500);

inline eroom::monitor::v1::AgentHello Hello(const std::string& agent_id) {
  eroom::monitor::v1::AgentHello hello;
  hello.set_agent_id(agent_id);
  hello.set_hostname(agent_id + ".example");
  hello.set_version("0.1.0");
  (*hello.mutable_labels())["env"] = "prod";
  (*hello.mutable_labels())["site"] = "서울";
  return hello;
}

inline eroom::monitor::v1::Event LogEvent(uint64_t sequence, int64_t time_ms,
                                          eroom::monitor::v1::LogLevel level,
                                          const std::string& message) {
  eroom::monitor::v1::Event event;
  event.set_sequence(sequence);
  eroom::monitor::v1::LogEvent* log = event.mutable_log();
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

inline eroom::monitor::v1::Event SampleEvent(uint64_t sequence, int64_t time_ms,
                                             double cpu) {
  eroom::monitor::v1::Event event;
  event.set_sequence(sequence);
  eroom::monitor::v1::ResourceSample* sample = event.mutable_sample();
  sample->set_time_unix_ms(time_ms);
  sample->set_cpu_percent(cpu);
  sample->set_memory_used_bytes(1 << 30);
  sample->set_memory_total_bytes(4ull << 30);
  sample->set_load_average_1m(0.5);
  eroom::monitor::v1::DiskUsage* root = sample->add_disks();
  root->set_mount("/");
  root->set_used_bytes(25);
  root->set_total_bytes(100);
  eroom::monitor::v1::DiskUsage* data = sample->add_disks();
  data->set_mount("/data");
  data->set_used_bytes(10);
  data->set_total_bytes(40);
  sample->mutable_eroom()->set_up(true);
  sample->mutable_eroom()->set_pid(4242);
  sample->mutable_eroom()->set_rss_bytes(700 << 20);
  return event;
}

inline eroom::monitor::v1::Event ProbeEvent(
    uint64_t sequence, int64_t time_ms, eroom::monitor::v1::ProbeTarget target,
    int64_t queued) {
  eroom::monitor::v1::Event event;
  event.set_sequence(sequence);
  eroom::monitor::v1::ProbeResult* probe = event.mutable_probe();
  probe->set_time_unix_ms(time_ms);
  probe->set_target(target);
  probe->set_ok(true);
  probe->set_http_status(200);
  probe->set_latency_ms(12.5);
  if (target == eroom::monitor::v1::HEALTH) probe->set_health_status("healthy");
  probe->mutable_queue()->set_queued(queued);
  probe->mutable_queue()->set_active(1);
  probe->mutable_queue()->set_completed(142);
  probe->mutable_queue()->set_max_concurrent(1);
  return event;
}

inline eroom::monitor::v1::Event NoticeEvent(uint64_t sequence,
                                             int64_t time_ms) {
  eroom::monitor::v1::Event event;
  event.set_sequence(sequence);
  eroom::monitor::v1::AgentNotice* notice = event.mutable_notice();
  notice->set_time_unix_ms(time_ms);
  notice->set_kind("events_dropped");
  notice->set_message("spool full");
  notice->set_count(17);
  return event;
}

inline AgentBatch Batch(const std::string& agent_id,
                        std::vector<eroom::monitor::v1::Event> events) {
  AgentBatch batch;
  batch.agent_id = agent_id;
  for (eroom::monitor::v1::Event& event : events) {
    *batch.batch->add_events() = std::move(event);
  }
  return batch;
}

// Log events with sequences [first, last], one second apart, message
// "line N".
inline AgentBatch LogLines(const std::string& agent_id, uint64_t first,
                           uint64_t last) {
  std::vector<eroom::monitor::v1::Event> events;
  for (uint64_t seq = first; seq <= last; ++seq) {
    events.push_back(LogEvent(seq, kT0 + int64_t(seq) * 1000,
                              eroom::monitor::v1::INFO,
                              "line " + std::to_string(seq)));
  }
  return Batch(agent_id, std::move(events));
}

// What ingest stores of `batches` received at kNow, as if nothing of their
// agents had been stored before.
inline StoredBatch Stored(std::vector<AgentBatch> batches) {
  return BuildStoredBatch(std::move(batches), {}, kNow);
}

}  // namespace eroom::collector::storage_test

#endif  // EROOM_TESTS_UNIT_COLLECTOR_STORAGE_TEST_DATA_H_
