#include "common/subprocess.h"

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

extern char** environ;

namespace eroom {
namespace {

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

// Keeps the last `keep` bytes read from `fd` in `tail`; false at its end.
bool ReadTail(int fd, size_t keep, std::string& tail) {
  char buffer[4096];
  while (true) {
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n == 0) return false;
    if (n < 0) return errno == EAGAIN || errno == EINTR;
    tail.append(buffer, static_cast<size_t>(n));
    if (tail.size() > keep) tail.erase(0, tail.size() - keep);
  }
}

std::string WithTail(std::string error, const std::string& tail) {
  const absl::string_view trimmed = absl::StripAsciiWhitespace(tail);
  if (!trimmed.empty()) absl::StrAppend(&error, ": ", trimmed);
  return error;
}

// Ends the program's process group: SIGTERM, then SIGKILL if the program
// is still there after `grace`. Returns its wait status.
int KillGroup(pid_t pid, absl::Duration grace) {
  int wait_status = 0;
  kill(-pid, SIGTERM);
  const absl::Time deadline = absl::Now() + grace;
  while (absl::Now() < deadline) {
    if (waitpid(pid, &wait_status, WNOHANG) == pid) {
      kill(-pid, SIGKILL);  // Whatever of the group ignored SIGTERM.
      return wait_status;
    }
    absl::SleepFor(absl::Milliseconds(kPollMillis));
  }
  kill(-pid, SIGKILL);
  waitpid(pid, &wait_status, 0);
  return wait_status;
}

}  // namespace

absl::Status RunSubprocess(const SubprocessOptions& options) {
  if (options.argv.empty() || options.argv.front().empty()) {
    return absl::InvalidArgumentError("no program to run");
  }
  const std::string& program = options.argv.front();
  std::vector<std::string> argv = options.argv;
  std::vector<char*> c_argv = CStrings(argv);
  std::vector<std::string> env =
      options.environment.value_or(std::vector<std::string>());
  std::vector<char*> c_env = CStrings(env);

  // A socket, not a pipe, for stdin: a program that exits without reading
  // it makes our send fail with EPIPE instead of a SIGPIPE.
  int stdin_pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, stdin_pair) != 0) {
    return Errno("socketpair");
  }
  Fd stdin_ours(stdin_pair[0]), stdin_theirs(stdin_pair[1]);
  int output_pipe[2];
  if (pipe2(output_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return Errno("pipe");
  Fd output_ours(output_pipe[0]), output_theirs(output_pipe[1]);
  fcntl(stdin_ours.get(), F_SETFL, O_NONBLOCK);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (!options.working_dir.empty()) {
    posix_spawn_file_actions_addchdir_np(&actions, options.working_dir.c_str());
  }
  posix_spawn_file_actions_adddup2(&actions, stdin_theirs.get(), STDIN_FILENO);
  if (options.capture_stdout) {
    posix_spawn_file_actions_adddup2(&actions, output_theirs.get(),
                                     STDOUT_FILENO);
  } else {
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null",
                                     O_WRONLY, 0);
  }
  posix_spawn_file_actions_adddup2(&actions, output_theirs.get(),
                                   STDERR_FILENO);
  posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  // Its own process group, killed whole on a timeout; default signal
  // handling (our daemons ignore SIGPIPE) and no blocked signals.
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
  const int spawned =
      posix_spawn(&pid, c_argv[0], &actions, &attributes, c_argv.data(),
                  options.environment.has_value() ? c_env.data() : environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (spawned != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot run ", program, ": ", std::strerror(spawned)));
  }
  stdin_theirs.Close();
  output_theirs.Close();

  const absl::Time started = absl::Now();
  const absl::Time deadline = started + options.timeout;
  absl::Time next_still_running = started + options.still_running_every;
  size_t written = 0;
  std::string tail;
  int wait_status = 0;
  while (true) {
    std::vector<pollfd> fds;
    if (output_ours.get() >= 0) {
      fds.push_back({.fd = output_ours.get(), .events = POLLIN, .revents = 0});
    }
    if (stdin_ours.get() >= 0) {
      fds.push_back({.fd = stdin_ours.get(), .events = POLLOUT, .revents = 0});
    }
    poll(fds.data(), fds.size(), kPollMillis);
    if (stdin_ours.get() >= 0) {
      const ssize_t n =
          send(stdin_ours.get(), options.stdin_bytes.data() + written,
               options.stdin_bytes.size() - written, MSG_NOSIGNAL);
      if (n > 0) written += static_cast<size_t>(n);
      if (written == options.stdin_bytes.size() || (n < 0 && errno != EAGAIN)) {
        stdin_ours.Close();  // End of input (or nobody reads it).
      }
    }
    if (output_ours.get() >= 0 &&
        !ReadTail(output_ours.get(), options.output_tail_bytes, tail)) {
      output_ours.Close();
    }
    // The exit ends the wait, not the end of the output: a daemon the
    // program started may hold the pipe open for good.
    if (waitpid(pid, &wait_status, WNOHANG) == pid) break;
    const absl::Time now = absl::Now();
    const bool stop = options.stop_requested && options.stop_requested();
    if (stop || now >= deadline) {
      KillGroup(pid, options.kill_grace);
      if (output_ours.get() >= 0) {
        ReadTail(output_ours.get(), options.output_tail_bytes, tail);
      }
      if (stop) {
        return absl::CancelledError(WithTail(
            absl::StrCat(program, " stopped: the caller gave up"), tail));
      }
      return absl::DeadlineExceededError(
          WithTail(absl::StrCat(program, " timed out after ",
                                absl::FormatDuration(options.timeout)),
                   tail));
    }
    if (options.still_running && now >= next_still_running) {
      options.still_running(now - started);
      next_still_running = now + options.still_running_every;
    }
  }
  if (output_ours.get() >= 0) {
    ReadTail(output_ours.get(), options.output_tail_bytes, tail);
  }
  if (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0) {
    return absl::OkStatus();
  }
  return absl::UnavailableError(WithTail(
      WIFEXITED(wait_status) ? absl::StrCat(program, " exited with status ",
                                            WEXITSTATUS(wait_status))
                             : absl::StrCat(program, " was killed by signal ",
                                            WTERMSIG(wait_status)),
      tail));
}

}  // namespace eroom
