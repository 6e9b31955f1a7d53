#ifndef EROOM_COMMON_COMMAND_NAMES_H_
#define EROOM_COMMON_COMMAND_NAMES_H_

#include <string_view>

#include "eroom/monitor/v1/monitor.pb.h"

namespace eroom {

// The name of `command`'s action as the protocol spells it ("safe_restart",
// "log_housekeeping", "ping", "cancel"); empty if it has none (or one this
// build does not know).
inline std::string_view CommandActionName(
    const eroom::monitor::v1::Command& command) {
  namespace v1 = ::eroom::monitor::v1;
  switch (command.action_case()) {
    case v1::Command::kSafeRestart:
      return "safe_restart";
    case v1::Command::kLogHousekeeping:
      return "log_housekeeping";
    case v1::Command::kPing:
      return "ping";
    case v1::Command::kCancel:
      return "cancel";
    case v1::Command::ACTION_NOT_SET:
      break;
  }
  return "";
}

}  // namespace eroom

#endif  // EROOM_COMMON_COMMAND_NAMES_H_
