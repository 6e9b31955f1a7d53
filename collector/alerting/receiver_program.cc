#include "collector/alerting/receiver_program.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "collector/alerting/notification_render.h"

namespace eroom::collector::alerting {
namespace {

constexpr size_t kKeptStderrBytes = 300;
constexpr int kPollMillis = 20;

// Closes the descriptor when it goes away.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Close(); }
  int get() const { return fd_; }
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

absl::Status Errno(absl::string_view what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

class ProgramReceiver : public Receiver {
 public:
  explicit ProgramReceiver(const ReceiverConfig& config) : config_(config) {}

  absl::Status Send(const Notification& notification) override {
    if (canceled()) return absl::CancelledError("stopping");
    const std::string input = RenderWebhookJson(notification, config_.name);
    std::vector<std::string> argv = config_.argv;
    std::vector<std::string> env =
        ProgramEnvironment(notification, config_.name);
    std::vector<char*> c_argv = CStrings(argv);
    std::vector<char*> c_env = CStrings(env);

    // A socket, not a pipe, for stdin: a program that exits without
    // reading it makes our send fail with EPIPE instead of a SIGPIPE.
    int stdin_pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, stdin_pair) != 0) {
      return Errno("socketpair");
    }
    Fd stdin_ours(stdin_pair[0]), stdin_theirs(stdin_pair[1]);
    int stderr_pipe[2];
    if (pipe2(stderr_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return Errno("pipe");
    Fd stderr_ours(stderr_pipe[0]), stderr_theirs(stderr_pipe[1]);
    fcntl(stdin_ours.get(), F_SETFL, O_NONBLOCK);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, stdin_theirs.get(),
                                     STDIN_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null",
                                     O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, stderr_theirs.get(),
                                     STDERR_FILENO);
    posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    // Its own process group, killed whole on a timeout; default signal
    // handling (the collector ignores SIGPIPE) and no blocked signals.
    sigset_t defaults, empty;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    sigemptyset(&empty);
    posix_spawnattr_setsigdefault(&attributes, &defaults);
    posix_spawnattr_setsigmask(&attributes, &empty);
    posix_spawnattr_setpgroup(&attributes, 0);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP |
                                              POSIX_SPAWN_SETSIGDEF |
                                              POSIX_SPAWN_SETSIGMASK);
    pid_t pid = 0;
    const int spawned = posix_spawn(&pid, c_argv[0], &actions, &attributes,
                                    c_argv.data(), c_env.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    if (spawned != 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot run ", config_.argv.front(), ": ", std::strerror(spawned)));
    }
    stdin_theirs.Close();
    stderr_theirs.Close();
    return Wait(pid, input, stdin_ours, stderr_ours);
  }

 private:
  // Feeds `input`, collects stderr and waits for the exit, the timeout or
  // a cancel, whichever comes first.
  absl::Status Wait(pid_t pid, const std::string& input, Fd& stdin_ours,
                    Fd& stderr_ours) {
    const absl::Time deadline = absl::Now() + config_.timeout;
    size_t written = 0;
    std::string stderr_tail;
    int wait_status = 0;
    while (true) {
      std::vector<pollfd> fds;
      if (stderr_ours.get() >= 0) {
        fds.push_back(
            {.fd = stderr_ours.get(), .events = POLLIN, .revents = 0});
      }
      if (stdin_ours.get() >= 0) {
        fds.push_back(
            {.fd = stdin_ours.get(), .events = POLLOUT, .revents = 0});
      }
      poll(fds.data(), fds.size(), kPollMillis);
      if (stdin_ours.get() >= 0) {
        const ssize_t n = send(stdin_ours.get(), input.data() + written,
                               input.size() - written, MSG_NOSIGNAL);
        if (n > 0) written += static_cast<size_t>(n);
        if (written == input.size() || (n < 0 && errno != EAGAIN)) {
          stdin_ours.Close();  // End of input (or nobody reads it).
        }
      }
      if (stderr_ours.get() >= 0 && !ReadTail(stderr_ours.get(), stderr_tail)) {
        stderr_ours.Close();
      }
      const pid_t done = waitpid(pid, &wait_status, WNOHANG);
      if (done == pid) break;
      if (canceled() || absl::Now() >= deadline) {
        kill(-pid, SIGKILL);
        waitpid(pid, &wait_status, 0);
        if (canceled()) return absl::CancelledError("stopping");
        return absl::DeadlineExceededError(
            absl::StrCat(config_.argv.front(), " timed out after ",
                         absl::FormatDuration(config_.timeout)));
      }
    }
    if (stderr_ours.get() >= 0) ReadTail(stderr_ours.get(), stderr_tail);
    if (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0) {
      return absl::OkStatus();
    }
    std::string error =
        WIFEXITED(wait_status)
            ? absl::StrCat(config_.argv.front(), " exited with status ",
                           WEXITSTATUS(wait_status))
            : absl::StrCat(config_.argv.front(), " was killed by signal ",
                           WTERMSIG(wait_status));
    const absl::string_view tail = absl::StripAsciiWhitespace(stderr_tail);
    if (!tail.empty()) absl::StrAppend(&error, ": ", tail);
    return absl::UnavailableError(error);
  }

  // Keeps the last bytes the program wrote to stderr; false at its end.
  static bool ReadTail(int fd, std::string& tail) {
    char buffer[4096];
    while (true) {
      const ssize_t n = read(fd, buffer, sizeof(buffer));
      if (n == 0) return false;
      if (n < 0) return errno == EAGAIN || errno == EINTR;
      tail.append(buffer, static_cast<size_t>(n));
      if (tail.size() > kKeptStderrBytes) {
        tail.erase(0, tail.size() - kKeptStderrBytes);
      }
    }
  }

  const ReceiverConfig config_;
};

}  // namespace

std::unique_ptr<Receiver> MakeProgramReceiver(const ReceiverConfig& config) {
  return std::make_unique<ProgramReceiver>(config);
}

}  // namespace eroom::collector::alerting
