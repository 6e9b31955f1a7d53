#include "collector/command_audit.h"

#include "absl/strings/str_cat.h"
#include "common/command_names.h"

namespace eroom::collector {
namespace v1 = ::eroom::monitor::v1;
namespace {

const char* Bool(bool value) { return value ? "true" : "false"; }

}  // namespace

std::string CommandParameters(const v1::Command& command) {
  switch (command.action_case()) {
    case v1::Command::kSafeRestart:
      return absl::StrCat("drain_timeout=",
                          absl::FormatDuration(absl::Milliseconds(
                              command.safe_restart().drain_timeout_ms())),
                          " force=", Bool(command.safe_restart().force()));
    case v1::Command::kLogHousekeeping:
      return absl::StrCat("dry_run=",
                          Bool(command.log_housekeeping().dry_run()));
    case v1::Command::kCancel:
      return absl::StrCat("target=", command.cancel().target_command_id());
    case v1::Command::kPing:
    case v1::Command::ACTION_NOT_SET:
      break;
  }
  return "";
}

v1::AuditRecord RequestAudit(absl::Time at, const std::string& actor,
                             const std::string& agent_id,
                             const std::string& command_id,
                             const v1::Command& command,
                             const std::string& result) {
  v1::AuditRecord record;
  record.set_time_unix_ms(absl::ToUnixMillis(at));
  record.set_actor(actor);
  record.set_agent_id(agent_id);
  record.set_action(std::string(CommandActionName(command)));
  record.set_parameters(CommandParameters(command));
  record.set_result(result);
  record.set_command_id(command_id);
  return record;
}

v1::AuditRecord StepAudit(const v1::CommandRecord& command,
                          const v1::CommandProgress& step,
                          const std::string& actor, absl::Time received) {
  std::string result = v1::CommandState_Name(step.state());
  if (!step.step().empty()) absl::StrAppend(&result, " ", step.step());
  if (!step.message().empty()) absl::StrAppend(&result, ": ", step.message());
  const absl::Time at = step.time_unix_ms() != 0
                            ? absl::FromUnixMillis(step.time_unix_ms())
                            : received;
  return RequestAudit(at, actor, command.agent_id(), command.command_id(),
                      command.command(), result);
}

}  // namespace eroom::collector
