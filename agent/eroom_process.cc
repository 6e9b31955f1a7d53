#include "agent/eroom_process.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace eroom::agent {
namespace {

namespace fs = std::filesystem;

// The pid that proc_root/self names, so that a scan never matches the
// agent itself (its own command line may mention process_match). A fixture
// tree has no self link.
std::optional<int> ReadSelfPid(const fs::path& proc_root) {
  std::error_code error;
  fs::path target = fs::read_symlink(proc_root / "self", error);
  int pid = 0;
  if (error || !absl::SimpleAtoi(target.filename().string(), &pid)) {
    return std::nullopt;
  }
  return pid;
}

}  // namespace

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return absl::NotFoundError(
        absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  }
  std::ostringstream contents;
  contents << file.rdbuf();
  if (file.bad())
    return absl::DataLossError(absl::StrCat("cannot read ", path));
  return std::move(contents).str();
}

EroomProcessLocator::EroomProcessLocator(SamplerOptions options,
                                         ReadProblem on_problem)
    : options_(std::move(options)),
      on_problem_(std::move(on_problem)),
      self_pid_(ReadSelfPid(options_.proc_root)) {}

std::optional<EroomProcessLocator::Process> EroomProcessLocator::Find() {
  if (std::optional<int> pid = PidFromPidFile()) {
    if (std::optional<PidStat> stat = LiveStat(*pid)) {
      return Process{.pid = *pid, .stat = *stat};
    }
  }
  if (options_.process_match.empty()) return std::nullopt;
  return ScanForEroom();
}

std::optional<int> EroomProcessLocator::PidFromPidFile() {
  if (options_.pid_file.empty()) return std::nullopt;
  // A missing pid file is normal while ERoom is stopped.
  absl::StatusOr<std::string> contents = ReadWholeFile(options_.pid_file);
  if (!contents.ok()) return std::nullopt;
  int pid = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(*contents), &pid) ||
      pid <= 0) {
    on_problem_(absl::StrCat("pid file ", options_.pid_file),
                absl::InvalidArgumentError("does not hold a pid"));
    return std::nullopt;
  }
  return pid;
}

std::optional<PidStat> EroomProcessLocator::LiveStat(int pid) {
  // A missing stat file just means the process is gone.
  absl::StatusOr<std::string> contents = ReadWholeFile(
      (fs::path(options_.proc_root) / absl::StrCat(pid, "/stat")).string());
  if (!contents.ok()) return std::nullopt;
  absl::StatusOr<PidStat> stat = ParsePidStat(*contents);
  if (!stat.ok()) {
    on_problem_("/proc/PID/stat", stat.status());
    return std::nullopt;
  }
  if (stat->state == 'Z' || stat->state == 'X') return std::nullopt;
  return *stat;
}

bool EroomProcessLocator::PortListening() {
  for (const char* table : {"net/tcp", "net/tcp6"}) {
    // tcp6 is absent when IPv6 is disabled: not a degradation.
    absl::StatusOr<std::string> contents =
        ReadWholeFile((fs::path(options_.proc_root) / table).string());
    if (contents.ok() && IsPortListening(*contents, options_.port)) {
      return true;
    }
  }
  return false;
}

bool EroomProcessLocator::CommandLineMatches(int pid) {
  absl::StatusOr<std::string> cmdline = ReadWholeFile(
      (fs::path(options_.proc_root) / absl::StrCat(pid, "/cmdline")).string());
  return cmdline.ok() && CmdlineContains(*cmdline, options_.process_match);
}

std::optional<EroomProcessLocator::Process>
EroomProcessLocator::ScanForEroom() {
  std::optional<Process> found;
  std::error_code error;
  // increment(error) rather than a range-for, whose ++ throws.
  for (fs::directory_iterator it(options_.proc_root, error), end;
       !error && it != end; it.increment(error)) {
    int pid = 0;
    if (!absl::SimpleAtoi(it->path().filename().string(), &pid) || pid <= 0 ||
        pid == self_pid_ || (found && found->pid < pid) ||
        !CommandLineMatches(pid)) {
      continue;
    }
    if (std::optional<PidStat> stat = LiveStat(pid)) {
      found = Process{.pid = pid, .stat = *stat};
    }
  }
  if (error) on_problem_("/proc scan", absl::UnavailableError(error.message()));
  return found;
}

}  // namespace eroom::agent
