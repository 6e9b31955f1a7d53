#ifndef EROOM_AGENT_RESTART_HOST_H_
#define EROOM_AGENT_RESTART_HOST_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "agent/agent_config.h"
#include "common/clock.h"
#include "eroom/monitor/v1/monitor.pb.h"

namespace eroom::agent {

// What the restart procedures do to the host, behind one seam: the agent
// uses RealRestartHost, tests a fake that plays a scripted server on a
// FakeClock. Used by one thread at a time.
class RestartHost {
 public:
  virtual ~RestartHost() = default;

  // ERoom's /queue/status. An error says why it could not be read.
  virtual absl::StatusOr<eroom::monitor::v1::QueueStatus> ReadQueue() = 0;
  // ERoom's /health: OK when healthy, else why not.
  virtual absl::Status ProbeHealth() = 0;
  // Whether something listens on ERoom's port.
  virtual bool PortListening() = 0;

  // The running ERoom process, if any.
  virtual std::optional<int> EroomPid() = 0;
  // Whether `pid` still exists (a zombie does not count).
  virtual bool PidAlive(int pid) = 0;
  virtual absl::Status SignalPid(int pid, int signal) = 0;

  // Runs a configured program (argv) with ERoom's directory as working
  // directory; `still_running` is called every few seconds while it runs.
  // The error names the exit status or signal and ends with its output.
  virtual absl::Status RunProgram(
      const std::vector<std::string>& argv, absl::Duration timeout,
      const std::function<void(absl::Duration running_for)>& still_running) = 0;

  // The last lines (at most `max_lines`, oldest first) of the ERoom log
  // being written now; empty if there is none.
  virtual std::vector<std::string> RecentLogLines(size_t max_lines) = 0;

  // Waits `duration`, or less if `canceled` (may be null) is notified or
  // the host is abandoned. Returns whether either happened.
  virtual bool Wait(absl::Duration duration,
                    const absl::Notification* canceled) = 0;

  // Called once, from any thread, when the agent stops: every Wait returns
  // at once from then on, so a procedure ends at its next check of
  // Abandoned() instead of holding the agent's stop. A program already
  // running is not killed: ERoom's start script may be launching ERoom.
  virtual void Abandon() = 0;
  virtual bool Abandoned() = 0;
};

// The host this agent runs on, as `config` describes it: the queue and
// health through an HttpProber of its own (with the API key), the process
// and port the way the resource sampler finds them, programs through
// RunSubprocess in config.eroom_dir, the log among config.logs' files.
std::unique_ptr<RestartHost> CreateRealRestartHost(const AgentConfig& config,
                                                   const Clock& clock);

}  // namespace eroom::agent

#endif  // EROOM_AGENT_RESTART_HOST_H_
