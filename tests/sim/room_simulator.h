#ifndef EROOM_TESTS_SIM_ROOM_SIMULATOR_H_
#define EROOM_TESTS_SIM_ROOM_SIMULATOR_H_

#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "tests/sim/log_writer.h"

namespace eroom::sim {

// Which ERoom build's room-event messages to write (see the shared README):
// old = "통합 방 생성 시작: ruid=..." style, new = "방 생성 시작 - ruid: ..."
// style.
enum class Generation { kOld, kNew };

std::optional<Generation> ParseGeneration(absl::string_view name);
absl::string_view GenerationName(Generation generation);

// The body of POST /room/create.
struct RoomRequest {
  std::string uuid;
  std::string theme;
  std::vector<std::string> keywords;
  std::string difficulty;
  std::string room_prefab;
};

// Validates a /room/create body. The error message is what ERoom answers
// with in its 400 body.
absl::StatusOr<RoomRequest> ParseRoomRequest(absl::string_view body);

// A plausible request, as the sim's request generator sends them.
RoomRequest RandomRoomRequest(std::mt19937_64& rng);

// "room_" and 16 lowercase hex digits.
std::string NewRuid(std::mt19937_64& rng);

struct PlanOptions {
  Generation generation = Generation::kOld;
  // Chance that the room fails with a business error; model trouble (a
  // Meshy 429, a model timeout) happens at a rate proportional to it.
  double failure_rate = 0.1;
  // Simulated time between two Meshy status polls of one model. ERoom polls
  // every 3 s; at high speed the sim polls less often so that the log stays
  // readable.
  absl::Duration poll_interval = absl::Seconds(3);
};

// A log event of RoomService and the services it calls, at a simulated
// offset from the moment the worker picked the room up.
struct PlannedEvent {
  absl::Duration at;
  LogEvent event;
};

// Everything one room will do, decided up front so that the worker only
// has to replay it against the clock.
struct RoomPlan {
  std::vector<PlannedEvent> events;  // Ordered by `at`.
  // Simulated processing time, what ERoom reports as "처리 시간"; no event
  // comes later.
  absl::Duration processing_time;
  bool success = false;
  std::string error;  // Set when !success.
  int script_count = 0;
  // The final /room/result body, without the "timestamp" of completion.
  nlohmann::ordered_json result;
};

// Plans the RoomService part of a room: scenario (~45 s), scripts (~15 s),
// 3D models (5-7 min, in parallel, with Meshy's polling noise).
RoomPlan PlanRoom(absl::string_view ruid, const RoomRequest& request,
                  const PlanOptions& options, std::mt19937_64& rng);

}  // namespace eroom::sim

#endif  // EROOM_TESTS_SIM_ROOM_SIMULATOR_H_
