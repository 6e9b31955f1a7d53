#ifndef EROOM_COLLECTOR_SQLITE_ROOM_ROWS_H_
#define EROOM_COLLECTOR_SQLITE_ROOM_ROWS_H_

#include "SQLiteCpp/Statement.h"
#include "eroom/monitor/v1/monitor.pb.h"

namespace eroom::collector {

// How a RoomRecord is a row of the `rooms` table, for the writer and the
// queries.

// The columns ReadRoom reads, in its order.
inline constexpr char kRoomColumns[] =
    "agent_id, ruid, requested_ms, dequeued_ms, started_ms, finished_ms, "
    "queue_wait_ms, processing_ms, theme, status, outcome";

// The room in the columns of kRoomColumns from `first` on (slow unset).
eroom::monitor::v1::RoomRecord ReadRoom(SQLite::Statement& row, int first = 0);

// Binds the room to ?1..?11 in kRoomColumns' order and its latest event's
// time to ?12.
void BindRoom(SQLite::Statement& statement,
              const eroom::monitor::v1::RoomRecord& room);

}  // namespace eroom::collector

#endif  // EROOM_COLLECTOR_SQLITE_ROOM_ROWS_H_
