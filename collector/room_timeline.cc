#include "collector/room_timeline.h"

#include <algorithm>
#include <string>
#include <tuple>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "common/utf8.h"

namespace eroom::collector {
namespace {
namespace v1 = ::eroom::monitor::v1;

// The longest failure reason a room keeps: enough for an exception's
// message, not a whole response body.
constexpr size_t kMaxOutcomeBytes = 300;

// A duration field as the classifier wrote it (whole milliseconds), or -1.
int64_t DurationField(const v1::LogEvent& event, const std::string& name) {
  auto it = event.fields().find(name);
  int64_t value = 0;
  if (it == event.fields().end() || !absl::SimpleAtoi(it->second, &value) ||
      value < 0) {
    return -1;
  }
  return value;
}

// Why a room failed: the error ERoom named, else the exception under the
// failure line (its first continuation line), else the line itself.
std::string FailureReason(const v1::LogEvent& event) {
  if (auto it = event.fields().find("error");
      it != event.fields().end() && !it->second.empty()) {
    return std::string(Utf8Prefix(it->second, kMaxOutcomeBytes));
  }
  std::vector<absl::string_view> lines =
      absl::StrSplit(event.message(), absl::MaxSplits('\n', 2));
  absl::string_view reason = lines.size() > 1 && !lines[1].empty()
                                 ? lines[1]
                                 : absl::string_view(lines[0]);
  return std::string(Utf8Prefix(reason, kMaxOutcomeBytes));
}

// The earlier of two times, 0 being "not seen".
int64_t Earliest(int64_t a, int64_t b) {
  if (a == 0) return b;
  if (b == 0) return a;
  return std::min(a, b);
}

}  // namespace

bool IsRoomLifecycleEvent(const v1::LogEvent& event) {
  if (event.ruid().empty()) return false;
  const std::string& type = event.event_type();
  return type == "room_requested" || type == "room_dequeued" ||
         type == "room_started" || type == "room_completed" ||
         type == "room_failed";
}

bool IsServerStart(const v1::LogEvent& event) {
  return event.event_type() == "server_started";
}

v1::RoomRecord NewRoom(const std::string& agent_id, const std::string& ruid) {
  v1::RoomRecord room;
  room.set_agent_id(agent_id);
  room.set_ruid(ruid);
  room.set_queue_wait_ms(-1);
  room.set_processing_ms(-1);
  return room;
}

void AddRoomEvent(const v1::LogEvent& event, v1::RoomRecord& room) {
  const std::string& type = event.event_type();
  const int64_t time = event.time_unix_ms();
  if (const int64_t wait = DurationField(event, "queue_wait_ms"); wait >= 0) {
    room.set_queue_wait_ms(wait);
  }
  if (auto theme = event.fields().find("theme");
      theme != event.fields().end() && !theme->second.empty()) {
    room.set_theme(theme->second);
  }
  if (type == "room_requested") {
    room.set_requested_unix_ms(Earliest(room.requested_unix_ms(), time));
  } else if (type == "room_dequeued") {
    room.set_dequeued_unix_ms(Earliest(room.dequeued_unix_ms(), time));
  } else if (type == "room_started") {
    room.set_started_unix_ms(Earliest(room.started_unix_ms(), time));
  } else if (type == "room_completed" || type == "room_failed") {
    const bool completed = type == "room_completed";
    room.set_status(completed ? v1::ROOM_COMPLETED : v1::ROOM_FAILED);
    room.set_outcome(completed ? "completed" : FailureReason(event));
    room.set_finished_unix_ms(time);
    if (const int64_t processing = DurationField(event, "processing_ms");
        processing >= 0) {
      room.set_processing_ms(processing);
    }
    return;
  }
  if (IsOpen(room)) {
    room.set_status(room.started_unix_ms() != 0 ? v1::ROOM_RUNNING
                                                : v1::ROOM_QUEUED);
  }
}

bool IsOpen(const v1::RoomRecord& room) {
  return room.status() != v1::ROOM_COMPLETED &&
         room.status() != v1::ROOM_FAILED;
}

bool EndByRestart(int64_t restart_ms, v1::RoomRecord& room) {
  if (!IsOpen(room) || LatestEventMs(room) > restart_ms) return false;
  room.set_status(v1::ROOM_FAILED);
  room.set_outcome(kCutShortOutcome);
  room.set_finished_unix_ms(restart_ms);
  return true;
}

int64_t LatestEventMs(const v1::RoomRecord& room) {
  return std::max({room.requested_unix_ms(), room.dequeued_unix_ms(),
                   room.started_unix_ms(), room.finished_unix_ms()});
}

int64_t EarliestEventMs(const v1::RoomRecord& room) {
  int64_t earliest = 0;
  for (int64_t time : {room.requested_unix_ms(), room.dequeued_unix_ms(),
                       room.started_unix_ms(), room.finished_unix_ms()}) {
    earliest = Earliest(earliest, time);
  }
  return earliest;
}

void DecideSlow(absl::Time now, v1::RoomRecord& room) {
  const int64_t now_ms = absl::ToUnixMillis(now);
  int64_t processing = room.processing_ms();
  int64_t wait = room.queue_wait_ms();
  if (room.status() == v1::ROOM_RUNNING) {
    processing = std::max(processing, now_ms - room.started_unix_ms());
  } else if (room.status() == v1::ROOM_QUEUED && room.requested_unix_ms()) {
    wait = std::max(wait, now_ms - room.requested_unix_ms());
  }
  room.set_slow(processing > absl::ToInt64Milliseconds(kSlowProcessing) ||
                wait > absl::ToInt64Milliseconds(kSlowQueueWait));
}

bool RoomMatches(const v1::ListRoomsRequest& request, int64_t until_ms,
                 const v1::RoomRecord& room) {
  if (!request.agent_ids().empty() &&
      std::find(request.agent_ids().begin(), request.agent_ids().end(),
                room.agent_id()) == request.agent_ids().end()) {
    return false;
  }
  // Active at some time in [since, until]: an open room still is.
  if (request.since_unix_ms() != 0 && !IsOpen(room) &&
      LatestEventMs(room) < request.since_unix_ms()) {
    return false;
  }
  if (EarliestEventMs(room) > until_ms) return false;
  if (request.status() != v1::ROOM_STATUS_UNSPECIFIED &&
      room.status() != request.status()) {
    return false;
  }
  return !request.slow_only() || room.slow();
}

bool NewerRoomFirst(const v1::RoomRecord& a, const v1::RoomRecord& b) {
  return std::tuple(LatestEventMs(b), a.agent_id(), a.ruid()) <
         std::tuple(LatestEventMs(a), b.agent_id(), b.ruid());
}

}  // namespace eroom::collector
