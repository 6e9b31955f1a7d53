#ifndef EROOM_TESTS_UNIT_COLLECTOR_ROOM_TEST_DATA_H_
#define EROOM_TESTS_UNIT_COLLECTOR_ROOM_TEST_DATA_H_

#include <cstdint>
#include <map>
#include <string>

#include "eroom/monitor/v1/monitor.pb.h"
#include "tests/unit/collector/storage_test_data.h"

// Room lifecycle events as the agent classifies them
// (agent/room_tracker.h), for storage and report tests.
namespace eroom::collector::storage_test {

inline eroom::monitor::v1::Event RoomEvent(
    uint64_t sequence, int64_t time_ms, const std::string& type,
    const std::string& ruid, std::map<std::string, std::string> fields = {},
    eroom::monitor::v1::LogLevel level = eroom::monitor::v1::INFO) {
  eroom::monitor::v1::Event event =
      LogEvent(sequence, time_ms, level, type + " " + ruid);
  eroom::monitor::v1::LogEvent* log = event.mutable_log();
  log->set_event_type(type);
  log->set_ruid(ruid);
  for (auto& [name, value] : fields) (*log->mutable_fields())[name] = value;
  return event;
}

inline eroom::monitor::v1::Event ServerStarted(uint64_t sequence,
                                               int64_t time_ms) {
  eroom::monitor::v1::Event event =
      LogEvent(sequence, time_ms, eroom::monitor::v1::INFO,
               "서버가 성공적으로 시작되었습니다");
  event.mutable_log()->set_event_type("server_started");
  return event;
}

}  // namespace eroom::collector::storage_test

#endif  // EROOM_TESTS_UNIT_COLLECTOR_ROOM_TEST_DATA_H_
