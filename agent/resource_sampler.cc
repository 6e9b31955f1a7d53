#include "agent/resource_sampler.h"

#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "agent/eroom_process.h"
#include "agent/proc_parsers.h"
#include "spdlog/spdlog.h"

namespace eroom::agent {
namespace {

namespace fs = std::filesystem;
using ::eroom::monitor::v1::ProcessState;
using ::eroom::monitor::v1::ResourceSample;

// Percentage of `part` in `whole`, or 0 when there is nothing to compare.
double Percent(double part, double whole) {
  return whole > 0 ? 100.0 * part / whole : 0.0;
}

class ProcResourceSampler final : public ResourceSampler {
 public:
  ProcResourceSampler(SamplerOptions options, const Clock& clock)
      : options_(std::move(options)),
        proc_root_(options_.proc_root),
        clock_(clock),
        ticks_per_second_(sysconf(_SC_CLK_TCK)),
        locator_(options_,
                 [this](const std::string& source, const absl::Status& status) {
                   Degrade(source, status);
                 }) {}

  ResourceSample Sample() override {
    const absl::Time now = clock_.Now();
    ResourceSample sample;
    sample.set_time_unix_ms(ToUnixMillis(now));

    std::optional<int64_t> boot_seconds;
    if (std::optional<std::string> stat = ReadProc("stat")) {
      if (std::optional<CpuTimes> cpu =
              Parsed("/proc/stat cpu", ParseHostCpuTimes(*stat))) {
        sample.set_cpu_percent(HostCpuPercent(*cpu));
      }
      boot_seconds = Parsed("/proc/stat btime", ParseBootTimeSeconds(*stat));
    }
    if (std::optional<std::string> meminfo = ReadProc("meminfo")) {
      if (std::optional<MemInfo> mem =
              Parsed("/proc/meminfo", ParseMemInfo(*meminfo))) {
        sample.set_memory_total_bytes(mem->total_bytes);
        sample.set_memory_used_bytes(mem->total_bytes - mem->available_bytes);
      }
    }
    if (std::optional<std::string> loadavg = ReadProc("loadavg")) {
      if (std::optional<double> load =
              Parsed("/proc/loadavg", ParseLoadAverage1m(*loadavg))) {
        sample.set_load_average_1m(*load);
      }
    }
    SampleDisks(&sample);
    SampleEroom(now, boot_seconds, sample.mutable_eroom());
    return sample;
  }

  uint64_t failed_reads() const override { return failed_reads_; }

 private:
  // What the previous sample saw of the ERoom process, for its CPU delta.
  struct ProcessCpuBaseline {
    int pid = 0;
    uint64_t cpu_ticks = 0;
    absl::Time time;
  };

  // Counts a failed read and warns about it, once per source so that a
  // persistent problem does not flood the log every interval.
  void Degrade(const std::string& source, const absl::Status& status) {
    ++failed_reads_;
    if (warned_sources_.insert(source).second) {
      spdlog::warn("resource sampler: cannot use {}: {} (logged once)", source,
                   std::string(status.message()));
    }
  }

  std::optional<std::string> ReadProc(const std::string& relative) {
    absl::StatusOr<std::string> contents =
        ReadWholeFile((proc_root_ / relative).string());
    if (!contents.ok()) {
      Degrade(absl::StrCat("/proc/", relative), contents.status());
      return std::nullopt;
    }
    return *std::move(contents);
  }

  template <typename T>
  std::optional<T> Parsed(const std::string& source, absl::StatusOr<T> parsed) {
    if (!parsed.ok()) {
      Degrade(source, parsed.status());
      return std::nullopt;
    }
    return *std::move(parsed);
  }

  double HostCpuPercent(const CpuTimes& cpu) {
    std::optional<CpuTimes> previous = std::exchange(last_host_cpu_, cpu);
    // No baseline yet, or the counters went backwards (they are reset when
    // the host reboots under a checkpointed agent, or wrap): start over.
    if (!previous || cpu.total <= previous->total ||
        cpu.busy < previous->busy) {
      return 0;
    }
    return Percent(cpu.busy - previous->busy, cpu.total - previous->total);
  }

  void SampleDisks(ResourceSample* sample) {
    for (const std::string& mount : options_.mounts) {
      struct statvfs stats;
      if (statvfs(mount.c_str(), &stats) != 0) {
        Degrade(absl::StrCat("mount ", mount),
                absl::NotFoundError(absl::StrCat(
                    "statvfs failed: ", std::strerror(errno), "; skipped")));
        continue;
      }
      auto* disk = sample->add_disks();
      disk->set_mount(mount);
      disk->set_total_bytes(static_cast<uint64_t>(stats.f_blocks) *
                            stats.f_frsize);
      disk->set_used_bytes(
          static_cast<uint64_t>(stats.f_blocks - stats.f_bfree) *
          stats.f_frsize);
    }
  }

  void SampleEroom(absl::Time now, std::optional<int64_t> boot_seconds,
                   ProcessState* eroom) {
    eroom->set_port_listening(locator_.PortListening());
    std::optional<EroomProcessLocator::Process> process = locator_.Find();
    if (!process) {
      last_process_cpu_.reset();
      return;
    }
    const int pid = process->pid;
    const PidStat& stat = process->stat;
    eroom->set_up(true);
    eroom->set_pid(pid);
    eroom->set_cpu_percent(ProcessCpuPercent(pid, stat.cpu_ticks, now));
    if (boot_seconds && ticks_per_second_ > 0) {
      eroom->set_started_unix_ms(*boot_seconds * 1000 +
                                 static_cast<int64_t>(stat.start_ticks) * 1000 /
                                     ticks_per_second_);
    }
    if (std::optional<std::string> status =
            ReadProc(absl::StrCat(pid, "/status"))) {
      if (std::optional<uint64_t> rss =
              Parsed("/proc/PID/status VmRSS", ParseStatusRssBytes(*status))) {
        eroom->set_rss_bytes(*rss);
      }
    }
  }

  double ProcessCpuPercent(int pid, uint64_t cpu_ticks, absl::Time now) {
    std::optional<ProcessCpuBaseline> previous = std::exchange(
        last_process_cpu_,
        ProcessCpuBaseline{.pid = pid, .cpu_ticks = cpu_ticks, .time = now});
    if (!previous || previous->pid != pid || cpu_ticks < previous->cpu_ticks ||
        ticks_per_second_ <= 0) {
      return 0;
    }
    double cpu_seconds = static_cast<double>(cpu_ticks - previous->cpu_ticks) /
                         ticks_per_second_;
    return Percent(cpu_seconds, absl::ToDoubleSeconds(now - previous->time));
  }

  const SamplerOptions options_;
  const fs::path proc_root_;
  const Clock& clock_;
  const long ticks_per_second_;

  std::optional<CpuTimes> last_host_cpu_;
  std::optional<ProcessCpuBaseline> last_process_cpu_;
  absl::flat_hash_set<std::string> warned_sources_;
  uint64_t failed_reads_ = 0;
  EroomProcessLocator locator_;
};

}  // namespace

std::unique_ptr<ResourceSampler> ResourceSampler::Create(SamplerOptions options,
                                                         const Clock& clock) {
  return std::make_unique<ProcResourceSampler>(std::move(options), clock);
}

}  // namespace eroom::agent
