#ifndef EROOM_TESTS_UNIT_AGENT_FAKE_RESTART_HOST_H_
#define EROOM_TESTS_UNIT_AGENT_FAKE_RESTART_HOST_H_

#include <signal.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/restart_host.h"
#include "tests/unit/test_support/fake_clock.h"

namespace eroom::agent {

// A scripted ERoom server on a FakeClock: waiting advances the clock, the
// stop and start programs and signals change what runs.
class FakeRestartHost : public RestartHost {
 public:
  explicit FakeRestartHost(FakeClock& clock) : clock_(clock) {}

  // The scripted server.
  bool running = true;
  int pid = 100;
  int next_pid = 200;
  absl::Time busy_until;  // A room is active until then.
  bool exits_on_stop_command = true;
  bool exits_on_sigterm = true;
  absl::Status stop_result = absl::OkStatus();
  absl::Status start_result = absl::OkStatus();
  absl::Duration program_runs_for = absl::Seconds(1);
  absl::Duration healthy_after_start = absl::Seconds(3);
  std::vector<std::string> log_lines;
  // Called on each Wait, after the clock moved.
  std::function<void()> on_wait;

  // What was done, in order: "run scripts/stop.sh", "signal 100 15".
  std::vector<std::string> actions;

  absl::StatusOr<eroom::monitor::v1::QueueStatus> ReadQueue() override {
    if (!running) return absl::UnavailableError("connection refused");
    eroom::monitor::v1::QueueStatus queue;
    queue.set_active(clock_.Now() < busy_until ? 1 : 0);
    return queue;
  }
  absl::Status ProbeHealth() override {
    if (!running || clock_.Now() < started_at_ + healthy_after_start) {
      return absl::UnavailableError("connection refused");
    }
    return absl::OkStatus();
  }
  bool PortListening() override { return ProbeHealth().ok(); }
  std::optional<int> EroomPid() override {
    if (!running) return std::nullopt;
    return pid;
  }
  bool PidAlive(int p) override { return running && p == pid; }
  absl::Status SignalPid(int p, int signal) override {
    actions.push_back(absl::StrCat("signal ", p, " ", signal));
    if (p == pid && (signal == SIGKILL || exits_on_sigterm)) running = false;
    return absl::OkStatus();
  }
  absl::Status RunProgram(
      const std::vector<std::string>& argv, absl::Duration,
      const std::function<void(absl::Duration)>& still_running) override {
    actions.push_back(absl::StrCat("run ", absl::StrJoin(argv, " ")));
    for (absl::Duration ran; ran < program_runs_for;
         ran += absl::Milliseconds(500)) {
      clock_.Advance(absl::Milliseconds(500));
      still_running(ran);
    }
    if (argv.front() == "scripts/stop.sh") {
      if (exits_on_stop_command) running = false;
      return stop_result;
    }
    if (!start_result.ok()) return start_result;
    running = true;
    pid = next_pid;
    started_at_ = clock_.Now();
    return absl::OkStatus();
  }
  std::vector<std::string> RecentLogLines(size_t max_lines) override {
    std::vector<std::string> lines = log_lines;
    if (lines.size() > max_lines) {
      lines.erase(lines.begin(), lines.end() - static_cast<long>(max_lines));
    }
    return lines;
  }
  bool Wait(absl::Duration duration,
            const absl::Notification* canceled) override {
    if (abandoned) return true;
    clock_.Advance(duration);
    if (on_wait) on_wait();
    return abandoned || (canceled != nullptr && canceled->HasBeenNotified());
  }
  void Abandon() override { abandoned = true; }
  bool Abandoned() override { return abandoned; }

  bool abandoned = false;

 private:
  FakeClock& clock_;
  absl::Time started_at_;
};

}  // namespace eroom::agent

#endif  // EROOM_TESTS_UNIT_AGENT_FAKE_RESTART_HOST_H_
