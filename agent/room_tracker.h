#ifndef EROOM_AGENT_ROOM_TRACKER_H_
#define EROOM_AGENT_ROOM_TRACKER_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "eroom/monitor/v1/monitor.pb.h"

namespace eroom::agent {

// Gives each classified event of one log the room (ruid) it belongs to, and
// makes each room's outcome exactly one event.
//
// Which room. ERoom builds a room on a worker of its queue
// (`pool-2-thread-1`) from room_started to the room's outcome, and fans its
// 3D models out to a second pool (`pool-1-thread-N`); most of their lines do
// not name the room. So:
//   - An event with a `ruid` field belongs to that room; failing that, one
//     whose first line mentions a ruid (room_ and 8+ hex digits) does.
//   - room_started starts a run of its room on its thread (ending the run
//     that thread had, if any).
//   - Until the run's outcome, the other events of its worker thread belong
//     to it, and so do those of the threads of any other `pool-N-thread-M`
//     pool (the model pool), but only while that run is the only one without
//     an outcome: ERoom runs one room at a time (maxConcurrent 1); with two
//     at once such a line could be either room's and gets none. Other
//     threads (HTTP `XNIO-*`, `main`) serve other clients and get none.
//   - After the outcome, the queue manager's report on the worker
//     (processing_time, room_result, a repeated outcome line) still belongs
//     to the room, up to the report's last line (room_result) or the next
//     room_started on that thread.
//   - server_started and server_stopping end every run: a room cut short by
//     a restart has no outcome.
//
// One outcome. The first room_completed or room_failed of a run (or of a
// ruid, for a room whose start was not read) is the room's outcome and gets
//   outcome         success or failure;
//   processing_ms   as ERoom reported it: on the line (duration_ms) or in a
//                   processing_time before it; otherwise the time from
//                   room_started to the outcome line;
//   queue_wait_ms   from the room's dequeue line, when there was one;
//   and the fields of the room's room_summary lines the line lacks.
// Later room_completed / room_failed lines of the same room (newer builds
// log a failure in the room service and again in the queue manager) become
// room_report. A room_result (`결과 성공 여부`) is the outcome, as
// room_completed or room_failed, when nothing said it before; otherwise it
// stays a room_result.
//
// Feed events in file order. Copyable (checkpointed with the file's
// offset); not thread-safe.
class RoomTracker {
 public:
  void Assign(eroom::monitor::v1::LogEvent& event);

 private:
  struct Run {
    std::string ruid;
    std::string worker_thread;
    // The pool of its worker thread (`pool-2-thread-1` -> "2"), empty if
    // that thread is in none: the model pool is any other.
    std::string worker_pool;
    int64_t started_unix_ms = 0;
    bool has_outcome = false;
    // Fields the outcome takes from the room's earlier lines.
    std::map<std::string, std::string> carried;
  };

  // The run `event` belongs to, setting its ruid if it had none; nullptr if
  // none.
  Run* RunOf(eroom::monitor::v1::LogEvent& event);
  // Makes `event` the room's outcome or, if the room has one, a report.
  void SettleOutcome(eroom::monitor::v1::LogEvent& event, Run* run);
  void EndRunOn(const std::string& thread);

  std::vector<Run> runs_;  // At most one per worker thread.
  // The last room whose outcome was given, for rooms without a run.
  std::string last_outcome_ruid_;
  // The latest dequeue's wait, for the room_started that follows it.
  std::string dequeued_ruid_;
  std::string dequeued_wait_ms_;
};

}  // namespace eroom::agent

#endif  // EROOM_AGENT_ROOM_TRACKER_H_
