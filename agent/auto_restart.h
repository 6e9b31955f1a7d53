#ifndef EROOM_AGENT_AUTO_RESTART_H_
#define EROOM_AGENT_AUTO_RESTART_H_

#include <deque>
#include <optional>

#include "absl/time/time.h"
#include "agent/command_policy.h"
#include "agent/restart_host.h"
#include "agent/safe_restart.h"
#include "common/clock.h"

namespace eroom::agent {

// The auto-restart policy: once the ERoom process has been down for
// down_for, starts it (SafeRestart::StartAndCheck: the start command and
// the health check). After a failed attempt the next waits backoff_initial,
// doubling up to backoff_max; at most max_attempts_per_hour attempts in any
// rolling hour. Reports each attempt and its outcome, and reaching the
// limit (once, until an attempt is allowed again), as notices.
//
// Check runs on the commands thread (CommandRunner::SetIdleTask), so an
// attempt never overlaps a remote command.
class AutoRestart {
 public:
  AutoRestart(AutoRestartPolicy policy, SafeRestart& restart, RestartHost& host,
              NoticeSink notices, const Clock& clock);

  // Looks at the process once, and attempts a start if it is due.
  void Check();

 private:
  // ERoom is up: the next outage starts from scratch (but the hourly
  // limit counts on).
  void Recovered();
  void Notify(const char* kind, std::string message, int64_t count);

  const AutoRestartPolicy policy_;
  SafeRestart& restart_;
  RestartHost& host_;
  const NoticeSink notices_;
  const Clock& clock_;

  std::optional<absl::Time> down_since_;
  std::optional<absl::Time> next_attempt_;
  absl::Duration backoff_;
  int attempts_since_down_ = 0;
  std::deque<absl::Time> attempts_;  // Within the last hour.
  bool limit_reported_ = false;
};

}  // namespace eroom::agent

#endif  // EROOM_AGENT_AUTO_RESTART_H_
