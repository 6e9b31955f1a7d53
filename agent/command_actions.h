#ifndef EROOM_AGENT_COMMAND_ACTIONS_H_
#define EROOM_AGENT_COMMAND_ACTIONS_H_

#include <functional>

#include "absl/synchronization/notification.h"
#include "agent/command_policy.h"
#include "eroom/monitor/v1/monitor.pb.h"

namespace eroom::agent {

// Takes one intermediate step of the running command (state RUNNING, with
// `step` and `message` set; the runner fills the id and the time).
using StepReporter =
    std::function<void(eroom::monitor::v1::CommandProgress step)>;

// The work behind the commands CommandRunner accepts: the agent wires the
// real procedures, tests use fakes. Called on the runner's thread, one
// command at a time.
class CommandActions {
 public:
  virtual ~CommandActions() = default;

  // Runs an allowed safe restart to its end and returns the final step:
  // SUCCEEDED, or FAILED naming the failing step (`step`), why
  // (`message`) and the ERoom log lines around the failure
  // (`log_excerpt`). `canceled` is notified when the operator cancels: the
  // restart stops if it is still draining, and goes on once it stopped the
  // server.
  virtual eroom::monitor::v1::CommandProgress SafeRestart(
      const AllowedCommand& command, const StepReporter& report,
      const absl::Notification& canceled) = 0;

  // Runs an allowed log housekeeping (or its dry run) and returns the final
  // step, SUCCEEDED with its HousekeepingReport or FAILED with why.
  virtual eroom::monitor::v1::CommandProgress LogHousekeeping(
      const AllowedCommand& command, const StepReporter& report) = 0;
};

}  // namespace eroom::agent

#endif  // EROOM_AGENT_COMMAND_ACTIONS_H_
