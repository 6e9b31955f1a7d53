#include "tests/bench/timed_lines.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "absl/strings/match.h"
#include "absl/time/clock.h"

namespace eroom::bench {

TimedLines::TimedLines(const std::vector<std::string>& argv) {
  int fds[2];
  if (pipe(fds) != 0) std::abort();
  std::vector<char*> args;
  for (const std::string& arg : argv)
    args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_ = fork();
  if (pid_ == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(fds[1]);
  reader_ = std::thread([this, fd = fds[0]] {
    FILE* in = fdopen(fd, "r");
    char* line = nullptr;
    size_t capacity = 0;
    while (getline(&line, &capacity, in) > 0) {
      const absl::Time arrived = absl::Now();
      absl::MutexLock lock(&mu_);
      lines_.push_back({line, arrived});
    }
    free(line);
    fclose(in);
  });
}

TimedLines::~TimedLines() {
  kill(pid_, SIGTERM);
  waitpid(pid_, nullptr, 0);
  reader_.join();
}

std::optional<std::pair<std::string, absl::Time>> TimedLines::WaitFor(
    const std::string& text, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  std::optional<std::pair<std::string, absl::Time>> seen;
  auto found = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    for (const auto& line : lines_) {
      if (absl::StrContains(line.first, text)) {
        seen = line;
        return true;
      }
    }
    return false;
  };
  mu_.AwaitWithTimeout(absl::Condition(&found), timeout);
  return seen;
}

}  // namespace eroom::bench
