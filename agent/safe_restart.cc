#include "agent/safe_restart.h"

#include <signal.h>

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "agent/log_utf8.h"
#include "common/metric_catalog.h"
#include "spdlog/spdlog.h"

namespace eroom::agent {
namespace v1 = ::eroom::monitor::v1;
namespace {

std::string Seconds(absl::Duration d) {
  return absl::StrFormat("%.1fs", absl::ToDoubleSeconds(d));
}

std::string QueueText(const v1::QueueStatus& queue) {
  return absl::StrCat("active ", queue.active(), ", queued ", queue.queued());
}

bool Idle(const v1::QueueStatus& queue) {
  return queue.active() == 0 && queue.queued() == 0;
}

}  // namespace

// One run of the procedure: its reporter and the time of its last report.
class SafeRestart::Procedure {
 public:
  Procedure(const SafeRestart& restart, const StepReporter& report)
      : policy_(restart.policy_),
        host_(restart.host_),
        clock_(restart.clock_),
        report_(report),
        begin_(clock_.Now()),
        last_report_(begin_) {}

  absl::Time begin() const { return begin_; }

  // queue + drain. nullopt: go on to stop the server.
  std::optional<v1::CommandProgress> Drain(const AllowedCommand& command,
                                           const absl::Notification& canceled) {
    if (host_.Abandoned()) {
      return AgentStopping("queue", "the server was not touched");
    }
    absl::StatusOr<v1::QueueStatus> queue = host_.ReadQueue();
    if (!queue.ok()) {
      const std::string why(queue.status().message());
      if (!host_.EroomPid().has_value()) {
        Report("queue", absl::StrCat("queue: unreadable (", why,
                                     "); ERoom is not running: nothing to "
                                     "drain"));
        return std::nullopt;
      }
      if (!command.force) {
        return Fail("queue",
                    absl::StrCat("cannot read /queue/status: ", why,
                                 "; the server was left running"),
                    /*with_log=*/false);
      }
      Report("queue", absl::StrCat("queue: unreadable (", why,
                                   "): forced, restarting without draining"));
      return std::nullopt;
    }
    Report("queue", absl::StrCat("queue: ", QueueText(*queue)));
    const absl::Time deadline = begin_ + command.drain_timeout;
    std::string last_text = QueueText(*queue);
    while (!Idle(*queue)) {
      if (host_.Abandoned()) {
        return AgentStopping("drain", "the server was left running");
      }
      if (canceled.HasBeenNotified()) {
        return Fail("drain",
                    absl::StrCat("canceled by the operator while draining (",
                                 last_text, "); the server was left running"),
                    /*with_log=*/false);
      }
      const absl::Time now = clock_.Now();
      if (now >= deadline) {
        const std::string timed_out = absl::StrCat(
            "drain timed out after ",
            absl::FormatDuration(command.drain_timeout), " (", last_text, ")");
        if (!command.force) {
          return Fail("drain",
                      absl::StrCat(timed_out, "; the server was left running"),
                      /*with_log=*/false);
        }
        Report("drain", absl::StrCat(timed_out, ": forced, stopping anyway"));
        return std::nullopt;
      }
      if (host_.Wait(std::min(kDrainPoll, deadline - now), &canceled)) {
        continue;
      }
      absl::StatusOr<v1::QueueStatus> read = host_.ReadQueue();
      if (read.ok()) {
        queue = *std::move(read);
      } else if (!host_.EroomPid().has_value()) {
        Report("drain", "ERoom stopped while draining: nothing left to drain");
        return std::nullopt;
      }
      const std::string text = read.ok()
                                   ? QueueText(*queue)
                                   : absl::StrCat("queue unreadable (",
                                                  read.status().message(), ")");
      const std::string waiting = absl::StrCat(
          "draining: ", text, " (", Seconds(clock_.Now() - begin_), " of ",
          absl::FormatDuration(command.drain_timeout), ")");
      if (text != last_text) {
        Report("drain", waiting);
      } else {
        Heartbeat("drain", waiting);
      }
      last_text = text;
    }
    Report("drain",
           absl::StrCat("drained in ", Seconds(clock_.Now() - begin_)));
    return std::nullopt;
  }

  std::optional<v1::CommandProgress> Stop(const absl::Notification& canceled) {
    const absl::Time stop_begin = clock_.Now();
    std::optional<int> pid = host_.EroomPid();
    const std::string program = absl::StrJoin(policy_.stop_command, " ");
    Report("stop", pid ? absl::StrCat("stopping pid ", *pid, ": ", program)
                       : absl::StrCat("ERoom is not running; running ", program,
                                      " anyway"));
    // A cancel is accepted until the step is "stop" (the runner decides
    // under the lock that records the step), so one accepted before that
    // report is seen here, and none after it is accepted.
    if (canceled.HasBeenNotified()) {
      return Fail("stop",
                  "canceled by the operator before the stop; the server was "
                  "left running",
                  /*with_log=*/false);
    }
    const absl::Status stopped =
        RunProgram("stop", policy_.stop_command, stop_begin);
    if (host_.Abandoned()) {
      return AgentStopping("stop", "the stop command had run");
    }
    if (!stopped.ok()) {
      Report("stop", absl::StrCat("stop command failed: ", stopped.message(),
                                  "; making sure the process is gone"));
    }
    if (!pid) pid = host_.EroomPid();
    if (pid &&
        !WaitForExit(*pid, policy_.stop_grace, "after the stop command")) {
      if (host_.Abandoned()) return StoppingBeforeExit(*pid);
      Report("stop", absl::StrCat("pid ", *pid, " still running ",
                                  absl::FormatDuration(policy_.stop_grace),
                                  " after the stop command: SIGTERM"));
      Signal(*pid, SIGTERM);
      if (!WaitForExit(*pid, policy_.stop_grace, "after SIGTERM")) {
        if (host_.Abandoned()) return StoppingBeforeExit(*pid);
        Report("stop", absl::StrCat("pid ", *pid, " still running ",
                                    absl::FormatDuration(policy_.stop_grace),
                                    " after SIGTERM: SIGKILL"));
        Signal(*pid, SIGKILL);
        if (!WaitForExit(*pid, kKillWait, "after SIGKILL")) {
          if (host_.Abandoned()) return StoppingBeforeExit(*pid);
          return Fail("stop",
                      absl::StrCat("pid ", *pid,
                                   " is still running after "
                                   "SIGKILL"),
                      /*with_log=*/true);
        }
      }
    }
    if (std::optional<int> left = host_.EroomPid()) {
      return Fail("stop",
                  absl::StrCat("an ERoom process is still running (pid ", *left,
                               ") after the stop"),
                  /*with_log=*/true);
    }
    const std::string took = Seconds(clock_.Now() - stop_begin);
    Report("stop",
           pid ? absl::StrCat("stopped pid ", *pid, " in ", took)
               : absl::StrCat("stopped in ", took, " (ERoom was not running)"));
    return std::nullopt;
  }

  // start + health.
  std::optional<v1::CommandProgress> StartAndCheck() {
    const absl::Time start_begin = clock_.Now();
    Report("start", absl::StrCat("starting: ",
                                 absl::StrJoin(policy_.start_command, " ")));
    const absl::Status started =
        RunProgram("start", policy_.start_command, start_begin);
    if (host_.Abandoned()) {
      return AgentStopping("start", "the start command had run");
    }
    if (!started.ok()) {
      return Fail("start",
                  absl::StrCat("start command failed: ", started.message()),
                  /*with_log=*/true);
    }
    Report("start", absl::StrCat("start command done in ",
                                 Seconds(clock_.Now() - start_begin)));

    const absl::Time health_begin = clock_.Now();
    const absl::Time deadline = health_begin + policy_.health_timeout;
    while (true) {
      if (host_.Abandoned()) {
        return AgentStopping("health", "ERoom was started, not yet healthy");
      }
      const absl::Status health = host_.ProbeHealth();
      const bool listening = host_.PortListening();
      if (health.ok() && listening) break;
      const std::string why =
          health.ok() ? "the port is not listening"
                      : absl::StrCat(health.message(),
                                     listening ? "" : "; port not listening");
      const absl::Time now = clock_.Now();
      if (now >= deadline) {
        return Fail("health",
                    absl::StrCat("not healthy within ",
                                 absl::FormatDuration(policy_.health_timeout),
                                 ": ", why),
                    /*with_log=*/true);
      }
      Heartbeat(
          "health",
          absl::StrCat("waiting for health: ", why, " (",
                       Seconds(now - health_begin), " of ",
                       absl::FormatDuration(policy_.health_timeout), ")"));
      host_.Wait(std::min(policy_.health_interval, deadline - now), nullptr);
    }
    Report("health", absl::StrCat("healthy after ",
                                  Seconds(clock_.Now() - health_begin)));
    return std::nullopt;
  }

  v1::CommandProgress Succeed(absl::string_view what) {
    v1::CommandProgress done;
    done.set_state(v1::SUCCEEDED);
    done.set_step("done");
    std::optional<int> pid = host_.EroomPid();
    done.set_message(absl::StrCat(what, " in ", Seconds(clock_.Now() - begin_),
                                  pid ? absl::StrCat(", pid ", *pid) : ""));
    return done;
  }

 private:
  void Report(absl::string_view step, std::string message) {
    v1::CommandProgress progress;
    progress.set_state(v1::RUNNING);
    progress.set_step(std::string(step));
    progress.set_message(std::move(message));
    last_report_ = clock_.Now();
    report_(std::move(progress));
  }

  // Reports `message` unless something was reported less than
  // kProgressEvery ago: waiting shows, without a flood.
  void Heartbeat(absl::string_view step, std::string message) {
    if (clock_.Now() - last_report_ >= kProgressEvery) {
      Report(step, std::move(message));
    }
  }

  v1::CommandProgress Fail(absl::string_view step, std::string message,
                           bool with_log) {
    v1::CommandProgress failed;
    failed.set_state(v1::FAILED);
    failed.set_step(std::string(step));
    failed.set_message(std::move(message));
    if (with_log) {
      for (std::string& line : host_.RecentLogLines(kExcerptLines)) {
        RepairUtf8(line);
        TruncateUtf8(line, kExcerptLineBytes);
        failed.add_log_excerpt(std::move(line));
      }
    }
    return failed;
  }

  // The end of a procedure the agent's stop interrupted; `state` says what
  // the server was left as.
  v1::CommandProgress AgentStopping(absl::string_view step,
                                    absl::string_view state) {
    return Fail(step,
                absl::StrCat("the agent stopped during step ", step, " (",
                             state, "); check the server"),
                /*with_log=*/false);
  }
  v1::CommandProgress StoppingBeforeExit(int pid) {
    return AgentStopping("stop", absl::StrCat("pid ", pid, " had not exited"));
  }

  absl::Status RunProgram(absl::string_view step,
                          const std::vector<std::string>& argv,
                          absl::Time step_begin) {
    return host_.RunProgram(argv, policy_.program_timeout, [&](absl::Duration) {
      Heartbeat(step, absl::StrCat(step, " command running for ",
                                   Seconds(clock_.Now() - step_begin)));
    });
  }

  void Signal(int pid, int signal) {
    const absl::Status sent = host_.SignalPid(pid, signal);
    if (!sent.ok()) Report("stop", std::string(sent.message()));
  }

  // Waits up to `limit` for `pid` to exit; whether it did (false too when
  // the agent stops meanwhile).
  bool WaitForExit(int pid, absl::Duration limit, absl::string_view since) {
    const absl::Time wait_begin = clock_.Now();
    const absl::Time deadline = wait_begin + limit;
    while (host_.PidAlive(pid)) {
      const absl::Time now = clock_.Now();
      if (now >= deadline || host_.Abandoned()) return false;
      Heartbeat("stop", absl::StrCat("waiting for pid ", pid, " to exit ",
                                     since, " (", Seconds(now - wait_begin),
                                     " of ", absl::FormatDuration(limit), ")"));
      host_.Wait(std::min(kExitPoll, deadline - now), nullptr);
    }
    return true;
  }

  const SafeRestartPolicy& policy_;
  RestartHost& host_;
  const Clock& clock_;
  const StepReporter& report_;
  const absl::Time begin_;
  absl::Time last_report_;
};

SafeRestart::SafeRestart(SafeRestartPolicy policy, RestartHost& host,
                         NoticeSink notices, const Clock& clock)
    : policy_(std::move(policy)),
      host_(host),
      notices_(std::move(notices)),
      clock_(clock) {}

v1::CommandProgress SafeRestart::Run(const AllowedCommand& command,
                                     const StepReporter& report,
                                     const absl::Notification& canceled) {
  auto notify = [&](const char* kind, std::string message) {
    v1::AgentNotice notice;
    notice.set_time_unix_ms(absl::ToUnixMillis(clock_.Now()));
    notice.set_kind(kind);
    notice.set_message(std::move(message));
    notices_(std::move(notice));
  };
  notify(notice_kind::kRestartStarted,
         absl::StrCat("safe restart ", command.command_id,
                      " started (drain timeout ",
                      absl::FormatDuration(command.drain_timeout),
                      command.force ? ", forced" : "", ")"));
  Procedure procedure(*this, report);
  std::optional<v1::CommandProgress> failed =
      procedure.Drain(command, canceled);
  if (!failed) failed = procedure.Stop(canceled);
  if (!failed) failed = procedure.StartAndCheck();
  if (failed) {
    spdlog::warn("safe restart {} failed at {}: {}", command.command_id,
                 failed->step(), failed->message());
    notify(notice_kind::kRestartFailed,
           absl::StrCat("safe restart ", command.command_id, " failed at ",
                        failed->step(), ": ", failed->message()));
    return *std::move(failed);
  }
  v1::CommandProgress done = procedure.Succeed("restarted");
  spdlog::info("safe restart {}: {}", command.command_id, done.message());
  notify(
      notice_kind::kRestartSucceeded,
      absl::StrCat("safe restart ", command.command_id, ": ", done.message()));
  return done;
}

v1::CommandProgress SafeRestart::StartAndCheck(const StepReporter& report) {
  Procedure procedure(*this, report);
  if (std::optional<v1::CommandProgress> failed = procedure.StartAndCheck()) {
    return *std::move(failed);
  }
  return procedure.Succeed("started");
}

}  // namespace eroom::agent
