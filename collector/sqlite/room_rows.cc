#include "collector/sqlite/room_rows.h"

#include "SQLiteCpp/Column.h"
#include "collector/room_timeline.h"

namespace eroom::collector {
namespace v1 = ::eroom::monitor::v1;

v1::RoomRecord ReadRoom(SQLite::Statement& row, int first) {
  int column = first;
  v1::RoomRecord room;
  room.set_agent_id(row.getColumn(column++).getString());
  room.set_ruid(row.getColumn(column++).getString());
  room.set_requested_unix_ms(row.getColumn(column++).getInt64());
  room.set_dequeued_unix_ms(row.getColumn(column++).getInt64());
  room.set_started_unix_ms(row.getColumn(column++).getInt64());
  room.set_finished_unix_ms(row.getColumn(column++).getInt64());
  room.set_queue_wait_ms(row.getColumn(column++).getInt64());
  room.set_processing_ms(row.getColumn(column++).getInt64());
  room.set_theme(row.getColumn(column++).getString());
  room.set_status(
      static_cast<v1::RoomStatus>(row.getColumn(column++).getInt()));
  room.set_outcome(row.getColumn(column++).getString());
  return room;
}

void BindRoom(SQLite::Statement& statement, const v1::RoomRecord& room) {
  statement.bind(1, room.agent_id());
  statement.bind(2, room.ruid());
  statement.bind(3, room.requested_unix_ms());
  statement.bind(4, room.dequeued_unix_ms());
  statement.bind(5, room.started_unix_ms());
  statement.bind(6, room.finished_unix_ms());
  statement.bind(7, room.queue_wait_ms());
  statement.bind(8, room.processing_ms());
  statement.bind(9, room.theme());
  statement.bind(10, static_cast<int32_t>(room.status()));
  statement.bind(11, room.outcome());
  statement.bind(12, LatestEventMs(room));
}

}  // namespace eroom::collector
