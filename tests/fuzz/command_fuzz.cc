// What a hostile or broken collector can make the agent do with one
// command: CheckCommand under every policy. Beyond never crashing: a refusal
// is InvalidArgument (malformed) or PermissionDenied (not allowed), and a
// command that passes is one the policy allows, with the id it came with
// and a drain timeout within the limits.
#include <cstddef>
#include <cstdint>

#include "agent/command_policy.h"
#include "common/command_limits.h"
#include "eroom/monitor/v1/monitor.pb.h"
#include "tests/fuzz/fuzz_target.h"

namespace {

namespace v1 = ::eroom::monitor::v1;
using eroom::agent::AllowedCommand;
using eroom::agent::CommandPolicy;
using eroom::fuzz::Require;

void CheckUnder(const v1::Command& command, const CommandPolicy& policy) {
  absl::StatusOr<AllowedCommand> checked =
      eroom::agent::CheckCommand(command, policy);
  if (!checked.ok()) {
    const absl::StatusCode code = checked.status().code();
    Require(code == absl::StatusCode::kInvalidArgument ||
                code == absl::StatusCode::kPermissionDenied,
            "refusals are InvalidArgument or PermissionDenied");
    Require(!checked.status().message().empty(), "refusals say why");
    return;
  }
  Require(checked->command_id == command.command_id(), "the id is kept");
  switch (checked->action) {
    case AllowedCommand::Action::kSafeRestart:
      Require(policy.safe_restart.enabled && command.has_safe_restart(),
              "a safe restart is allowed and asked for");
      Require(checked->drain_timeout >= eroom::kMinDrainTimeout &&
                  checked->drain_timeout <= eroom::kMaxDrainTimeout,
              "the drain timeout is within the limits");
      return;
    case AllowedCommand::Action::kLogHousekeeping:
      Require(policy.log_housekeeping.enabled && command.has_log_housekeeping(),
              "log housekeeping is allowed and asked for");
      return;
    case AllowedCommand::Action::kPing:
      Require(command.has_ping(), "a ping is asked for");
      return;
    case AllowedCommand::Action::kCancel:
      Require(policy.safe_restart.enabled && command.has_cancel(),
              "a cancel is allowed and asked for");
      return;
  }
  Require(false, "the action is a known one");
}

}  // namespace

EROOM_FUZZ_SERIALIZED_INPUT(v1::Command)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  v1::Command command;
  if (!command.ParseFromArray(data, static_cast<int>(size))) return 0;
  for (bool safe_restart : {false, true}) {
    for (bool log_housekeeping : {false, true}) {
      CommandPolicy policy;
      policy.safe_restart.enabled = safe_restart;
      policy.log_housekeeping.enabled = log_housekeeping;
      CheckUnder(command, policy);
    }
  }
  return 0;
}
