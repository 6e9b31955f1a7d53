#include "cli/terminal.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace eroom::cli {
namespace {

// Alternate screen on, cursor hidden; and the reverse.
constexpr char kEnterFullScreen[] = "\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J";
constexpr char kLeaveFullScreen[] = "\x1b[?25h\x1b[?1049l";

constexpr std::array<int, 5> kHandledSignals = {SIGINT, SIGTERM, SIGHUP,
                                                SIGWINCH, SIGTSTP};

// The write end of the pipe the signal handler reports on: a handler may
// only do async-signal-safe things, and write(2) is one.
int signal_pipe_write_fd = -1;

void OnSignal(int signal) {
  const int saved_errno = errno;
  const unsigned char byte = static_cast<unsigned char>(signal);
  [[maybe_unused]] const ssize_t written =
      write(signal_pipe_write_fd, &byte, 1);
  errno = saved_errno;
}

// The action that writes a handled signal to the pipe.
struct sigaction ReportSignal() {
  struct sigaction action = {};
  action.sa_handler = OnSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  return action;
}

absl::Status ErrnoStatus(absl::string_view what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

class ProcessTerminal final : public Terminal {
 public:
  ProcessTerminal() = default;
  ProcessTerminal(const ProcessTerminal&) = delete;
  ProcessTerminal& operator=(const ProcessTerminal&) = delete;

  ~ProcessTerminal() override {
    Leave();
    for (size_t i = 0; i < kHandledSignals.size(); ++i) {
      if (handlers_installed_[i]) {
        sigaction(kHandledSignals[i], &saved_actions_[i], nullptr);
      }
    }
    signal_pipe_write_fd = -1;
    for (int fd : signal_pipe_) {
      if (fd >= 0) close(fd);
    }
  }

  // Each step is undone by the destructor, whichever fails.
  absl::Status Open() {
    if (pipe2(signal_pipe_.data(), O_CLOEXEC | O_NONBLOCK) != 0) {
      return ErrnoStatus("pipe2");
    }
    signal_pipe_write_fd = signal_pipe_[1];
    const struct sigaction report = ReportSignal();
    for (size_t i = 0; i < kHandledSignals.size(); ++i) {
      if (sigaction(kHandledSignals[i], &report, &saved_actions_[i]) != 0) {
        return ErrnoStatus("sigaction");
      }
      handlers_installed_[i] = true;
    }
    if (isatty(STDIN_FILENO) == 1) {
      input_fd_ = STDIN_FILENO;
      if (tcgetattr(input_fd_, &saved_modes_) != 0) {
        return ErrnoStatus("tcgetattr");
      }
      modes_saved_ = true;
    }
    return Enter();
  }

  TerminalSize Size() override {
    winsize size = {};
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) != 0 || size.ws_col == 0 ||
        size.ws_row == 0) {
      return TerminalSize{};
    }
    return TerminalSize{size.ws_col, size.ws_row};
  }

  void Write(absl::string_view bytes) override {
    while (!bytes.empty()) {
      const ssize_t written = write(STDOUT_FILENO, bytes.data(), bytes.size());
      if (written < 0 && errno == EINTR) continue;
      if (written <= 0) return;  // The terminal is gone; nothing to tell.
      bytes.remove_prefix(static_cast<size_t>(written));
    }
  }

  TerminalEvent Wait(absl::Duration timeout) override {
    std::array<pollfd, 2> fds = {pollfd{signal_pipe_[0], POLLIN, 0},
                                 pollfd{input_fd_, POLLIN, 0}};
    const nfds_t count = input_fd_ >= 0 ? 2 : 1;
    const int64_t millis = std::max<int64_t>(
        absl::ToInt64Milliseconds(absl::Ceil(timeout, absl::Milliseconds(1))),
        0);
    const int ready = poll(fds.data(), count, static_cast<int>(millis));
    if (ready <= 0) return TerminalEvent{};
    if ((fds[0].revents & POLLIN) != 0) {
      unsigned char signal = 0;
      if (read(signal_pipe_[0], &signal, 1) == 1) {
        if (signal == SIGTSTP) {
          Suspend();
          return TerminalEvent{TerminalEvent::Kind::kResize, 0};
        }
        return TerminalEvent{signal == SIGWINCH
                                 ? TerminalEvent::Kind::kResize
                                 : TerminalEvent::Kind::kInterrupt,
                             0};
      }
    }
    if (count == 2 && fds[1].revents != 0) {
      char key = 0;
      if (read(input_fd_, &key, 1) == 1) {
        return TerminalEvent{TerminalEvent::Kind::kKey, key};
      }
      // End of input (or an error): stop reading keys, keep drawing.
      input_fd_ = -1;
    }
    return TerminalEvent{};
  }

 private:
  // Keys one at a time, unechoed (Ctrl-C still raises SIGINT), on the
  // alternate screen.
  absl::Status Enter() {
    if (modes_saved_) {
      termios modes = saved_modes_;
      modes.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO);
      modes.c_cc[VMIN] = 1;
      modes.c_cc[VTIME] = 0;
      if (tcsetattr(STDIN_FILENO, TCSANOW, &modes) != 0) {
        return ErrnoStatus("tcsetattr");
      }
    }
    full_screen_ = true;
    Write(kEnterFullScreen);
    return absl::OkStatus();
  }

  // The terminal as it was found.
  void Leave() {
    if (full_screen_) Write(kLeaveFullScreen);
    full_screen_ = false;
    if (modes_saved_) tcsetattr(STDIN_FILENO, TCSANOW, &saved_modes_);
  }

  // Ctrl-Z: stops the process with the terminal as it was found, and takes
  // it again once the shell continues the process.
  void Suspend() {
    Leave();
    signal(SIGTSTP, SIG_DFL);
    raise(SIGTSTP);  // Returns after SIGCONT.
    const struct sigaction report = ReportSignal();
    sigaction(SIGTSTP, &report, nullptr);
    // Without the modes, keys echo and wait for Enter; drawing goes on.
    Enter().IgnoreError();
  }

  std::array<int, 2> signal_pipe_ = {-1, -1};
  std::array<struct sigaction, kHandledSignals.size()> saved_actions_ = {};
  std::array<bool, kHandledSignals.size()> handlers_installed_ = {};
  // stdin while it is a terminal that has not ended.
  int input_fd_ = -1;
  termios saved_modes_ = {};
  bool modes_saved_ = false;
  bool full_screen_ = false;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Terminal>> OpenProcessTerminal() {
  if (isatty(STDOUT_FILENO) != 1) return nullptr;
  auto terminal = std::make_unique<ProcessTerminal>();
  if (absl::Status opened = terminal->Open(); !opened.ok()) return opened;
  return std::unique_ptr<Terminal>(std::move(terminal));
}

}  // namespace eroom::cli
