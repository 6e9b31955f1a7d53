#ifndef EROOM_AGENT_COMMAND_POLICY_H_
#define EROOM_AGENT_COMMAND_POLICY_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/command_limits.h"
#include "common/ids.h"
#include "eroom/monitor/v1/monitor.pb.h"

namespace eroom::agent {

// The remote commands this agent's own config lets the collector run. A
// command not allowed here is refused whatever the collector says. Ping
// changes nothing and is always allowed.
struct CommandPolicy {
  bool safe_restart = false;
  bool log_housekeeping = false;
};

// A command that passed CheckCommand: well-formed and allowed. Its fields
// are typed values, never text to hand to a shell.
struct AllowedCommand {
  enum class Action { kSafeRestart, kLogHousekeeping, kPing };

  std::string command_id;
  Action action;
  absl::Duration drain_timeout;  // kSafeRestart only.
};

// CheckId of a command id: OK if `id` may be echoed in progress reports and
// logs.
absl::Status CheckCommandId(const std::string& id);

// `command` as received from the collector, checked: InvalidArgument if it
// is malformed (command id empty, over kMaxCommandIdBytes or not of
// kIdBytes; no action; drain timeout out of range), PermissionDenied if
// `policy` does not allow its action. Either way the agent answers REJECTED
// and runs nothing.
absl::StatusOr<AllowedCommand> CheckCommand(
    const eroom::monitor::v1::Command& command, const CommandPolicy& policy);

}  // namespace eroom::agent

#endif  // EROOM_AGENT_COMMAND_POLICY_H_
