#include "agent/command_policy.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace eroom::agent {
namespace {

namespace v1 = ::eroom::monitor::v1;

absl::StatusOr<absl::Duration> DrainTimeout(const v1::SafeRestart& restart) {
  const int64_t ms = restart.drain_timeout_ms();
  const int64_t min_ms = absl::ToInt64Milliseconds(kMinDrainTimeout);
  const int64_t max_ms = absl::ToInt64Milliseconds(kMaxDrainTimeout);
  if (ms < min_ms || ms > max_ms) {
    return absl::InvalidArgumentError(
        absl::StrCat("safe_restart.drain_timeout_ms: ", ms, " is not within ",
                     min_ms, " to ", max_ms));
  }
  return absl::Milliseconds(ms);
}

absl::Status NotAllowed(absl::string_view action) {
  return absl::PermissionDeniedError(
      absl::StrCat(action, ": not allowed by this agent's config"));
}

}  // namespace

absl::Status CheckCommandId(const std::string& id) {
  return CheckId("command_id", id, kMaxCommandIdBytes);
}

absl::StatusOr<AllowedCommand> CheckCommand(const v1::Command& command,
                                            const CommandPolicy& policy) {
  EROOM_RETURN_IF_ERROR(CheckCommandId(command.command_id()));
  switch (command.action_case()) {
    case v1::Command::kSafeRestart: {
      EROOM_ASSIGN_OR_RETURN(absl::Duration drain,
                             DrainTimeout(command.safe_restart()));
      if (!policy.safe_restart.enabled) return NotAllowed("safe_restart");
      return AllowedCommand{.command_id = command.command_id(),
                            .action = AllowedCommand::Action::kSafeRestart,
                            .drain_timeout = drain,
                            .force = command.safe_restart().force()};
    }
    case v1::Command::kLogHousekeeping:
      if (!policy.log_housekeeping.enabled) {
        return NotAllowed("log_housekeeping");
      }
      return AllowedCommand{.command_id = command.command_id(),
                            .action = AllowedCommand::Action::kLogHousekeeping,
                            .dry_run = command.log_housekeeping().dry_run()};
    case v1::Command::kPing:
      // Changes nothing on the host: every agent answers it.
      return AllowedCommand{.command_id = command.command_id(),
                            .action = AllowedCommand::Action::kPing};
    case v1::Command::kCancel:
      EROOM_RETURN_IF_ERROR(CheckId("cancel.target_command_id",
                                    command.cancel().target_command_id(),
                                    kMaxCommandIdBytes));
      // Only a safe restart drains, so only it can be canceled.
      if (!policy.safe_restart.enabled) return NotAllowed("cancel");
      return AllowedCommand{
          .command_id = command.command_id(),
          .action = AllowedCommand::Action::kCancel,
          .target_command_id = command.cancel().target_command_id()};
    case v1::Command::ACTION_NOT_SET:
      break;
  }
  // Also what an action added by a newer collector looks like here.
  return absl::InvalidArgumentError(
      "action: none this agent knows (safe_restart, log_housekeeping, ping "
      "or cancel)");
}

}  // namespace eroom::agent
