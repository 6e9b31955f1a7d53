#ifndef EROOM_AGENT_ROOM_TRACKER_H_
#define EROOM_AGENT_ROOM_TRACKER_H_

#include <string>

#include "eroom/monitor/v1/monitor.pb.h"

namespace eroom::agent {

// Attaches to each classified event of one log the room (ruid) it belongs
// to. ERoom builds one room at a time on its single worker thread, and many
// of the lines it logs meanwhile do not name the room, so:
//   - An event with a `ruid` field belongs to that room; failing that, one
//     whose first line mentions a ruid (room_ and 8+ hex digits) does.
//   - room_started makes its room the running room, on its thread.
//   - While that room runs, other events on its thread belong to it.
//   - Its room_completed / room_failed end the run, but the queue manager's
//     report that follows (processing_time lines, background_failure) still
//     belongs to it, so the running room is forgotten only when the next room
//     starts or after the report's closing `결과 성공 여부` (success) line.
// Feed events in file order. Not thread-safe.
class RoomTracker {
 public:
  void Assign(eroom::monitor::v1::LogEvent& event);

 private:
  std::string running_ruid_;  // Empty: no room.
  std::string worker_thread_;
  bool run_ended_ = false;
};

}  // namespace eroom::agent

#endif  // EROOM_AGENT_ROOM_TRACKER_H_
