#ifndef EROOM_COMMON_EVENT_TYPES_H_
#define EROOM_COMMON_EVENT_TYPES_H_

#include <string>
#include <vector>

namespace eroom {

// Every LogEvent.event_type eroom-agent's built-in classification gives
// (agent/classifier.cc DefaultClassificationRules(), and room_report from
// agent/room_tracker.cc), sorted: what the collector's alert rules may name
// without declaring it. Types an agent's own classification rules add are
// declared in the collector's `extra_event_types:`.
inline const std::vector<std::string>& BuiltInEventTypes() {
  static const std::vector<std::string> types = {
      "auth_failure",   "config_problem",  "error",           "fatal_shutdown",
      "model_failed",   "model_timeout",   "processing_time", "queue_wait",
      "room_completed", "room_dequeued",   "room_failed",     "room_report",
      "room_requested", "room_result",     "room_started",    "room_summary",
      "server_started", "server_stopping",
  };
  return types;
}

}  // namespace eroom

#endif  // EROOM_COMMON_EVENT_TYPES_H_
