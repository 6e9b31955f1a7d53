#ifndef EROOM_COLLECTOR_ROOM_TIMELINE_H_
#define EROOM_COLLECTOR_ROOM_TIMELINE_H_

#include <cstdint>

#include "absl/time/time.h"
#include "eroom/monitor/v1/monitor.pb.h"

namespace eroom::collector {

// How a room (RoomRecord) follows from its host's lifecycle events, as the
// agent classified them (agent/room_tracker.h): every storage backend
// builds its rooms with these, in the order the events were stored.

// The KPI's alert levels (the runbook): a room processing (or running)
// longer than this, or waiting in the queue longer than kSlowQueueWait, is
// slow.
inline constexpr absl::Duration kSlowProcessing = absl::Minutes(10);
inline constexpr absl::Duration kSlowQueueWait = absl::Minutes(2);

// What a room that a server restart cut short ends with: ERoom's queue
// lives in memory, so neither a running nor a queued room survives it.
inline constexpr char kCutShortOutcome[] = "server restarted before it ended";

// room_requested, room_dequeued, room_started, room_completed or
// room_failed, naming a room.
bool IsRoomLifecycleEvent(const eroom::monitor::v1::LogEvent& event);
// server_started: ERoom (re)started.
bool IsServerStart(const eroom::monitor::v1::LogEvent& event);

// Adds a lifecycle event of the room to `room` (whose agent_id and ruid
// are set; a new room has every time 0, both durations -1 and no status).
// The earliest event of each kind sets its time; the outcome (the agent
// gives each room exactly one) sets the status, the finish time, the
// outcome and the durations ERoom reported.
void AddRoomEvent(const eroom::monitor::v1::LogEvent& event,
                  eroom::monitor::v1::RoomRecord& room);

// A new room as AddRoomEvent expects it.
eroom::monitor::v1::RoomRecord NewRoom(const std::string& agent_id,
                                       const std::string& ruid);

// Queued or running: no outcome yet.
bool IsOpen(const eroom::monitor::v1::RoomRecord& room);

// A server start at `restart_ms` ends the host's open rooms seen before it
// as failed with kCutShortOutcome; a room it does not end is unchanged.
// Returns whether it ended `room`.
bool EndByRestart(int64_t restart_ms, eroom::monitor::v1::RoomRecord& room);

// The time of the room's latest event: what rooms are ordered by.
int64_t LatestEventMs(const eroom::monitor::v1::RoomRecord& room);
// The time of its earliest event.
int64_t EarliestEventMs(const eroom::monitor::v1::RoomRecord& room);

// Sets room.slow as the KPI says at `now`: processing over kSlowProcessing
// or queue wait over kSlowQueueWait, as ERoom reported them or, for an open
// room, as long as it has been running or waiting by now.
void DecideSlow(absl::Time now, eroom::monitor::v1::RoomRecord& room);

// Whether `room` is one ListRoomsRequest asks for (hosts, time window,
// status, slow), given `until_ms` (the request's, or now). Slowness must
// have been decided.
bool RoomMatches(const eroom::monitor::v1::ListRoomsRequest& request,
                 int64_t until_ms, const eroom::monitor::v1::RoomRecord& room);

// Newest first by latest event, then by agent and ruid: ListRooms's order.
bool NewerRoomFirst(const eroom::monitor::v1::RoomRecord& a,
                    const eroom::monitor::v1::RoomRecord& b);

}  // namespace eroom::collector

#endif  // EROOM_COLLECTOR_ROOM_TIMELINE_H_
