#ifndef EROOM_AGENT_SAFE_RESTART_H_
#define EROOM_AGENT_SAFE_RESTART_H_

#include <cstddef>
#include <functional>
#include <string>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "agent/command_actions.h"
#include "agent/command_policy.h"
#include "agent/restart_host.h"
#include "common/clock.h"
#include "eroom/monitor/v1/monitor.pb.h"

namespace eroom::agent {

// Receives the agent's notices about restarts (the agent spools them as
// events, like its other AgentNotices).
using NoticeSink = std::function<void(eroom::monitor::v1::AgentNotice)>;

// The runbook's restart, done safely (the steps, each reported as it goes):
//   queue   read /queue/status;
//   drain   wait until nothing runs or is queued, within the command's
//           drain timeout; on timeout refuse (the server is left running)
//           unless forced; the operator may cancel meanwhile (and until
//           the stop step is reported);
//   stop    the stop command, then make sure the process is gone: after
//           stop_grace SIGTERM, after stop_grace again SIGKILL;
//   start   the start command;
//   health  /health ok and the port listening, within health_timeout.
// A failure ends the restart FAILED naming its step, with the ERoom log
// lines around it when the server was touched. So does the agent's stop
// (RestartHost::Abandon), at the next check after a wait or a program. While
// waiting, progress is reported at least every kProgressEvery.
class SafeRestart {
 public:
  SafeRestart(SafeRestartPolicy policy, RestartHost& host, NoticeSink notices,
              const Clock& clock);

  // Runs `command` (a kSafeRestart) to its end and returns its final step;
  // the notices restart_started, then restart_succeeded or restart_failed.
  eroom::monitor::v1::CommandProgress Run(const AllowedCommand& command,
                                          const StepReporter& report,
                                          const absl::Notification& canceled);

  // Only the start and health steps, for a server that is down (the
  // auto-restart policy). Sends no notice.
  eroom::monitor::v1::CommandProgress StartAndCheck(const StepReporter& report);

  static constexpr absl::Duration kProgressEvery = absl::Seconds(2);
  static constexpr absl::Duration kDrainPoll = absl::Seconds(1);
  static constexpr absl::Duration kExitPoll = absl::Milliseconds(100);
  // How long a SIGKILLed process may take to disappear.
  static constexpr absl::Duration kKillWait = absl::Seconds(5);
  static constexpr size_t kExcerptLines = 40;
  static constexpr size_t kExcerptLineBytes = 1024;

 private:
  class Procedure;

  const SafeRestartPolicy policy_;
  RestartHost& host_;
  const NoticeSink notices_;
  const Clock& clock_;
};

}  // namespace eroom::agent

#endif  // EROOM_AGENT_SAFE_RESTART_H_
