// `eroomctl top` as operators run it: the real binary against a real
// collector fed by an agent and eroom-sim, off a terminal and on a
// pseudo-terminal it must give back as it found it.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/integration/process_harness.h"

namespace eroom::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kApiKey[] = "integration-test-key";
constexpr char kHost[] = "top-host";
constexpr absl::Duration kDeadline = absl::Seconds(60);
// How long top may take to leave after q or Ctrl-C: one collector call
// (--timeout 1s) may be under way.
constexpr absl::Duration kExitDeadline = absl::Seconds(5);
constexpr char kEnterAlternateScreen[] = "\x1b[?1049h";
constexpr char kLeaveAlternateScreen[] = "\x1b[?1049l";

// eroomctl on the slave side of a pseudo-terminal of 100x30, as its
// controlling terminal; the test keeps the slave open to read its modes.
// As from a shell, eroomctl runs in a foreground process group of its own
// under a session leader that waits for it and reports when it stops (a
// process group without a parent outside it would ignore Ctrl-Z) and how
// it exited.
class PseudoTerminalChild {
 public:
  explicit PseudoTerminalChild(const std::vector<std::string>& args) {
    master_ = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master_ < 0 || grantpt(master_) != 0 || unlockpt(master_) != 0) return;
    slave_ = open(ptsname(master_), O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave_ < 0) return;
    winsize size = {};
    size.ws_row = 30;
    size.ws_col = 100;
    ioctl(slave_, TIOCSWINSZ, &size);
    tcgetattr(slave_, &initial_modes_);
    std::vector<char*> argv;
    for (const std::string& arg : args) {
      argv.push_back(const_cast<char*>(arg.c_str()));
    }
    argv.push_back(nullptr);
    std::array<int, 2> report = {-1, -1};
    if (pipe2(report.data(), O_CLOEXEC) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      // Only async-signal-safe calls after fork.
      setsid();
      ioctl(slave_, TIOCSCTTY, 0);
      const pid_t eroomctl = fork();
      if (eroomctl == 0) {
        setpgid(0, 0);
        // Into the foreground; from the background that would raise
        // SIGTTOU.
        sigset_t ttou;
        sigemptyset(&ttou);
        sigaddset(&ttou, SIGTTOU);
        sigprocmask(SIG_BLOCK, &ttou, nullptr);
        tcsetpgrp(slave_, getpid());
        sigprocmask(SIG_UNBLOCK, &ttou, nullptr);
        dup2(slave_, STDIN_FILENO);
        dup2(slave_, STDOUT_FILENO);
        dup2(slave_, STDERR_FILENO);
        execv(argv[0], argv.data());
        _exit(127);
      }
      [[maybe_unused]] ssize_t written =
          write(report[1], &eroomctl, sizeof(eroomctl));
      int status = 0;
      while (waitpid(eroomctl, &status, WUNTRACED) == eroomctl) {
        if (WIFSTOPPED(status)) {
          written = write(report[1], "S", 1);
          continue;
        }
        _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
      }
      _exit(126);
    }
    close(report[1]);
    report_ = report[0];
    if (pid_ > 0 && read(report_, &eroomctl_pid_, sizeof(eroomctl_pid_)) !=
                        sizeof(eroomctl_pid_)) {
      eroomctl_pid_ = -1;
    }
  }
  ~PseudoTerminalChild() {
    if (pid_ > 0 && !exit_status_.has_value()) {
      if (eroomctl_pid_ > 0) kill(eroomctl_pid_, SIGKILL);
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    for (int fd : {report_, slave_, master_}) {
      if (fd >= 0) close(fd);
    }
  }

  bool started() const { return pid_ > 0 && eroomctl_pid_ > 0; }
  const termios& initial_modes() const { return initial_modes_; }
  termios modes() const {
    termios now = {};
    tcgetattr(slave_, &now);
    return now;
  }
  // Whether it stops (Ctrl-Z) within `timeout`, reading what it draws
  // meanwhile.
  bool WaitStopped(absl::Duration timeout) {
    return PollUntil(
        timeout,
        [&] {
          Drain(absl::Milliseconds(20));
          pollfd fd = {report_, POLLIN, 0};
          char stopped = 0;
          return poll(&fd, 1, 0) > 0 && read(report_, &stopped, 1) == 1 &&
                 stopped == 'S';
        },
        absl::Milliseconds(1));
  }
  void Continue() { kill(eroomctl_pid_, SIGCONT); }

  // Everything it drew so far.
  const std::string& output() const { return output_; }

  void Type(const std::string& keys) {
    ASSERT_EQ(write(master_, keys.data(), keys.size()),
              static_cast<ssize_t>(keys.size()));
  }

  // Reads what it draws until `done` holds for it or `timeout` passes.
  bool ReadUntil(absl::Duration timeout,
                 const std::function<bool(const std::string&)>& done) {
    return PollUntil(
        timeout,
        [&] {
          Drain(absl::Milliseconds(50));
          return done(output_);
        },
        absl::Milliseconds(1));
  }

  // Its exit status once it exits within `timeout`, reading what it draws
  // meanwhile (a full terminal buffer would block it).
  std::optional<int> Wait(absl::Duration timeout) {
    PollUntil(
        timeout,
        [&] {
          Drain(absl::Milliseconds(20));
          int status = 0;
          if (waitpid(pid_, &status, WNOHANG) != pid_) return false;
          exit_status_ =
              WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
          return true;
        },
        absl::Milliseconds(1));
    Drain(absl::Milliseconds(50));
    return exit_status_;
  }

 private:
  void Drain(absl::Duration timeout) {
    pollfd fd = {master_, POLLIN, 0};
    char buffer[4096];
    int wait_ms = static_cast<int>(absl::ToInt64Milliseconds(timeout));
    while (poll(&fd, 1, wait_ms) > 0 && (fd.revents & POLLIN) != 0) {
      const ssize_t got = read(master_, buffer, sizeof(buffer));
      if (got <= 0) return;
      output_.append(buffer, static_cast<size_t>(got));
      wait_ms = 0;
    }
  }

  int master_ = -1;
  int slave_ = -1;
  int report_ = -1;  // Where the session leader reports a stop.
  pid_t pid_ = -1;   // The session leader.
  pid_t eroomctl_pid_ = -1;
  termios initial_modes_ = {};
  std::string output_;
  std::optional<int> exit_status_;
};

class TopDashboardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("top");
    const int sim_port = FreePort();
    collector_address_ = absl::StrCat("127.0.0.1:", FreePort());
    WriteFile(
        dir_ + "/collector.yaml",
        PlaintextCollectorConfig(collector_address_, dir_ + "/db/eroom.db"));
    WriteFile(dir_ + "/agent.yaml",
              absl::StrCat("agent:\n  id: ", kHost, "\n  state_dir: ", dir_,
                           "/agent-state\n", "eroom:\n  dir: ", dir_,
                           "/eroom\n", "  url: http://127.0.0.1:", sim_port,
                           "\n", "logs:\n  start_at: beginning\n",
                           "resources:\n  interval: 200ms\n",
                           "probes:\n  interval: 200ms\n  timeout: 1s\n",
                           "collector:\n  address: ", collector_address_,
                           "\n  insecure: true\n",
                           "  reconnect_initial: 50ms\n  reconnect_max: "
                           "500ms\n  batch_max_delay: 20ms\n"));
    sim_ = StartSim(dir_, sim_port, kApiKey,
                    {"--speed", "120", "--rooms-per-minute", "60",
                     "--failure-rate", "0.5", "--seed", "7"});
    StartCollector();
    agent_ = StartWithConfig(dir_, "agent", {{"EROOM_PRIVATE_KEY", kApiKey}});
  }

  void TearDown() override {
    StopChildren({agent_.get(), collector_.get(), sim_.get()});
    if (HasFailure()) {
      std::cerr << "--- agent log\n"
                << agent_->Log() << "--- collector log\n"
                << collector_->Log();
    }
  }

  void StartCollector() { collector_ = StartWithConfig(dir_, "collector"); }

  std::vector<std::string> Ctl(std::vector<std::string> args) {
    args.insert(args.begin(), {"--timeout", "1s"});
    return EroomctlArgv(collector_address_, args);
  }

  // Until the host is connected with ERoom up and found healthy: a probe
  // sent before the simulator listened reports the connection refused.
  void WaitForHost() {
    std::string last;
    ASSERT_TRUE(PollUntil(kDeadline, [&] {
      const CommandResult hosts = RunCommand(Ctl({"-o", "json", "hosts"}));
      last = hosts.out + hosts.err;
      const nlohmann::json json =
          nlohmann::json::parse(hosts.out, nullptr, false);
      if (!json.is_object() || !json.contains("hosts")) return false;
      for (const nlohmann::json& host : json["hosts"]) {
        if (host.value("connected", false) && host.contains("latest_sample") &&
            host["latest_sample"]["eroom"].value("up", false) &&
            host.contains("latest_health") &&
            host["latest_health"].value("ok", false)) {
          return true;
        }
      }
      return false;
    })) << last;
  }

  std::string dir_;
  std::string collector_address_;
  std::unique_ptr<ChildProcess> sim_, collector_, agent_;
};

TEST_F(TopDashboardTest, OffATerminalPrintsAPlainFrameNamingTheHost) {
  WaitForHost();
  const CommandResult top = RunCommand(Ctl({"top"}));
  EXPECT_EQ(top.exit_code, 0) << top.err;
  EXPECT_THAT(top.out, HasSubstr("eroomctl top  " + collector_address_));
  EXPECT_THAT(top.out,
              HasSubstr(absl::StrCat("(", kHost, ")  connected  ERoom up")));
  EXPECT_THAT(top.out, HasSubstr("health healthy"));
  EXPECT_THAT(top.out, HasSubstr("cpu "));
  EXPECT_EQ(top.out.find('\x1b'), std::string::npos) << top.out;

  const CommandResult two = RunCommand(
      Ctl({"top", "--iterations", "2", "--interval", "1s", "--host", kHost}));
  EXPECT_EQ(two.exit_code, 0) << two.err;
  size_t titles = 0;
  for (size_t at = two.out.find("eroomctl top"); at != std::string::npos;
       at = two.out.find("eroomctl top", at + 1)) {
    ++titles;
  }
  EXPECT_EQ(titles, 2u) << two.out;
}

TEST_F(TopDashboardTest, OnATerminalDrawsGivesItBackOnCtrlZAndQuitsOnQ) {
  WaitForHost();
  PseudoTerminalChild top(Ctl({"top", "--interval", "1s"}));
  ASSERT_TRUE(top.started());
  ASSERT_TRUE(top.ReadUntil(kDeadline, [](const std::string& output) {
    return absl::StrContains(output, kEnterAlternateScreen) &&
           absl::StrContains(output, absl::StrCat("(", kHost, ")  connected"));
  })) << top.output();
  // Keys are read one at a time, unechoed, while it runs.
  EXPECT_EQ(top.modes().c_lflag & (ICANON | ECHO), 0u);

  // Ctrl-Z gives the terminal back while it is stopped; continued, it
  // takes it again and redraws.
  top.Type("\x1a");
  ASSERT_TRUE(top.WaitStopped(kExitDeadline)) << top.output();
  EXPECT_EQ(top.modes().c_lflag, top.initial_modes().c_lflag);
  EXPECT_THAT(top.output().substr(top.output().rfind(kEnterAlternateScreen)),
              HasSubstr(kLeaveAlternateScreen));
  const size_t stopped_at = top.output().size();
  top.Continue();
  ASSERT_TRUE(top.ReadUntil(kDeadline, [&](const std::string& output) {
    return absl::StrContains(output.substr(stopped_at),
                             kEnterAlternateScreen) &&
           absl::StrContains(output.substr(stopped_at),
                             absl::StrCat("(", kHost, ")  connected"));
  })) << top.output();
  EXPECT_EQ(top.modes().c_lflag & (ICANON | ECHO), 0u);

  const auto typed = std::chrono::steady_clock::now();
  top.Type("q");
  EXPECT_EQ(top.Wait(kExitDeadline), 0) << top.output();
  EXPECT_LT(std::chrono::steady_clock::now() - typed,
            absl::ToChronoNanoseconds(kExitDeadline));
  EXPECT_THAT(top.output().substr(top.output().rfind(kEnterAlternateScreen)),
              HasSubstr(kLeaveAlternateScreen));
  EXPECT_EQ(top.modes().c_lflag, top.initial_modes().c_lflag);
  EXPECT_EQ(top.modes().c_cc[VMIN], top.initial_modes().c_cc[VMIN]);
}

// The last frame drawn completely: from a cursor-home to a clear-below.
std::string LastFrame(const std::string& output) {
  const size_t end = output.rfind("\x1b[J");
  if (end == std::string::npos) return "";
  const size_t begin = output.rfind("\x1b[H", end);
  if (begin == std::string::npos) return "";
  return output.substr(begin, end - begin);
}

TEST_F(TopDashboardTest, UnreachableCollectorIsShownStaleUntilItIsBack) {
  WaitForHost();
  PseudoTerminalChild top(Ctl({"top", "--interval", "1s"}));
  ASSERT_TRUE(top.started());
  ASSERT_TRUE(top.ReadUntil(kDeadline, [](const std::string& output) {
    return absl::StrContains(output, absl::StrCat("(", kHost, ")  connected"));
  })) << top.output();

  collector_->Signal(SIGTERM);
  ASSERT_TRUE(collector_->Wait(absl::Seconds(10)).has_value());
  ASSERT_TRUE(top.ReadUntil(kDeadline, [](const std::string& output) {
    return absl::StrContains(output, "STALE: no answer for");
  })) << top.output();
  // Still there, still showing the host.
  ASSERT_FALSE(top.Wait(absl::Milliseconds(100)).has_value());
  EXPECT_THAT(LastFrame(top.output()), HasSubstr(kHost));

  StartCollector();
  ASSERT_TRUE(top.ReadUntil(kDeadline, [](const std::string& output) {
    const std::string frame = LastFrame(output);
    return absl::StrContains(frame, absl::StrCat("(", kHost, ")  connected")) &&
           !absl::StrContains(frame, "STALE");
  })) << LastFrame(top.output());

  top.Type("\x03");  // Ctrl-C, through the terminal's line discipline.
  EXPECT_EQ(top.Wait(kExitDeadline), 0) << top.output();
  EXPECT_THAT(top.output(), HasSubstr(kLeaveAlternateScreen));
  EXPECT_EQ(top.modes().c_lflag, top.initial_modes().c_lflag);
}

}  // namespace
}  // namespace eroom::testing
