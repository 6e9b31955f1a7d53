#include "agent/restart_host.h"

#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "agent/eroom_process.h"
#include "agent/http_prober.h"
#include "agent/log_file_scanner.h"
#include "common/subprocess.h"
#include "spdlog/spdlog.h"

namespace eroom::agent {
namespace {
namespace v1 = ::eroom::monitor::v1;

// Enough for the last 40 lines of 1 KiB: the excerpt never needs more of a
// log that may be gigabytes.
constexpr std::streamoff kLogTailBytes = 64 * 1024;

class RealRestartHost final : public RestartHost {
 public:
  RealRestartHost(const AgentConfig& config, const Clock& clock)
      : eroom_dir_(config.eroom_dir),
        log_globs_(config.logs.paths),
        prober_(HttpProber::Create(config.probes, clock)),
        locator_(config.resources,
                 [this](const std::string& source, const absl::Status& status) {
                   if (warned_sources_.insert(source).second) {
                     spdlog::warn("restart: cannot use {}: {} (logged once)",
                                  source, std::string(status.message()));
                   }
                 }) {}

  absl::StatusOr<v1::QueueStatus> ReadQueue() override {
    v1::ProbeResult result = prober_->Probe(v1::QUEUE_STATUS);
    if (!result.ok()) return absl::UnavailableError(result.error());
    return result.queue();
  }

  absl::Status ProbeHealth() override {
    v1::ProbeResult result = prober_->Probe(v1::HEALTH);
    if (!result.ok()) return absl::UnavailableError(result.error());
    return absl::OkStatus();
  }

  bool PortListening() override { return locator_.PortListening(); }

  std::optional<int> EroomPid() override {
    std::optional<EroomProcessLocator::Process> process = locator_.Find();
    if (!process) return std::nullopt;
    return process->pid;
  }

  bool PidAlive(int pid) override { return locator_.LiveStat(pid).has_value(); }

  absl::Status SignalPid(int pid, int signal) override {
    if (kill(pid, signal) == 0 || errno == ESRCH) return absl::OkStatus();
    return absl::PermissionDeniedError(
        absl::StrCat("cannot signal pid ", pid, ": ", std::strerror(errno)));
  }

  absl::Status RunProgram(
      const std::vector<std::string>& argv, absl::Duration timeout,
      const std::function<void(absl::Duration)>& still_running) override {
    return RunSubprocess({.argv = argv,
                          .working_dir = eroom_dir_,
                          .timeout = timeout,
                          .still_running = still_running});
  }

  std::vector<std::string> RecentLogLines(size_t max_lines) override {
    LogFileScan scan = ScanLogFiles(log_globs_, eroom_dir_);
    auto newest =
        std::max_element(scan.files.begin(), scan.files.end(),
                         [](const FoundLogFile& a, const FoundLogFile& b) {
                           return a.modified < b.modified;
                         });
    if (newest == scan.files.end()) return {};
    std::ifstream file(newest->path, std::ios::binary);
    if (!file) return {};
    const std::streamoff size = static_cast<std::streamoff>(newest->size);
    const std::streamoff start =
        std::max<std::streamoff>(0, size - kLogTailBytes);
    file.seekg(start);
    std::string text(static_cast<size_t>(size - start), '\0');
    file.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<size_t>(file.gcount()));
    std::vector<std::string> lines =
        absl::StrSplit(text, '\n', absl::SkipEmpty());
    // The first line read from the middle of the file is only its end.
    if (start > 0 && !lines.empty()) lines.erase(lines.begin());
    if (lines.size() > max_lines) {
      lines.erase(lines.begin(), lines.end() - static_cast<long>(max_lines));
    }
    return lines;
  }

  bool Wait(absl::Duration duration,
            const absl::Notification* canceled) override {
    if (canceled == nullptr) {
      return abandoned_.WaitForNotificationWithTimeout(duration);
    }
    // Two notifications to wait for: the cancel is polled in slices.
    const absl::Time deadline = absl::Now() + duration;
    while (!abandoned_.HasBeenNotified()) {
      const absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) return false;
      if (canceled->WaitForNotificationWithTimeout(
              std::min(left, kAbandonPoll))) {
        return true;
      }
    }
    return true;
  }

  void Abandon() override {
    if (!abandoned_.HasBeenNotified()) abandoned_.Notify();
  }
  bool Abandoned() override { return abandoned_.HasBeenNotified(); }

 private:
  const std::string eroom_dir_;
  const std::vector<std::string> log_globs_;
  std::unique_ptr<HttpProber> prober_;
  absl::flat_hash_set<std::string> warned_sources_;
  EroomProcessLocator locator_;
  absl::Notification abandoned_;
  static constexpr absl::Duration kAbandonPoll = absl::Milliseconds(100);
};

}  // namespace

std::unique_ptr<RestartHost> CreateRealRestartHost(const AgentConfig& config,
                                                   const Clock& clock) {
  return std::make_unique<RealRestartHost>(config, clock);
}

}  // namespace eroom::agent
