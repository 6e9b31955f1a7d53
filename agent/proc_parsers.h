#ifndef EROOM_AGENT_PROC_PARSERS_H_
#define EROOM_AGENT_PROC_PARSERS_H_

// Pure parsers for the procfs files the resource sampler reads. Each takes
// the file's contents, so every shape (including malformed ones) is tested
// against fixture text.

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace eroom::agent {

// Cumulative jiffies of the aggregate `cpu` line of /proc/stat.
struct CpuTimes {
  uint64_t busy = 0;   // Everything except idle and iowait.
  uint64_t total = 0;  // user..steal; guest time is already inside user/nice.
};

// The aggregate `cpu` line of /proc/stat.
absl::StatusOr<CpuTimes> ParseHostCpuTimes(absl::string_view proc_stat);

// `btime` of /proc/stat: boot time, Unix seconds.
absl::StatusOr<int64_t> ParseBootTimeSeconds(absl::string_view proc_stat);

struct MemInfo {
  uint64_t total_bytes = 0;
  uint64_t available_bytes = 0;
};

// MemTotal and MemAvailable of /proc/meminfo.
absl::StatusOr<MemInfo> ParseMemInfo(absl::string_view meminfo);

// The first field of /proc/loadavg.
absl::StatusOr<double> ParseLoadAverage1m(absl::string_view loadavg);

// The fields of /proc/PID/stat the sampler uses.
struct PidStat {
  char state = '?';          // R, S, D, Z, ...
  uint64_t cpu_ticks = 0;    // utime + stime, in clock ticks.
  uint64_t start_ticks = 0;  // starttime: clock ticks after boot.
};

// /proc/PID/stat. The comm field may hold spaces and parentheses, so fields
// are counted from the last ')'.
absl::StatusOr<PidStat> ParsePidStat(absl::string_view pid_stat);

// VmRSS of /proc/PID/status, in bytes. A kernel thread has no VmRSS: error.
absl::StatusOr<uint64_t> ParseStatusRssBytes(absl::string_view status);

// Whether the NUL-separated /proc/PID/cmdline contains `needle`, with the
// arguments joined by spaces (so "-jar eroom-server.jar" matches too).
bool CmdlineContains(absl::string_view cmdline, absl::string_view needle);

// Whether /proc/net/tcp or /proc/net/tcp6 contents list `port` as a local
// port in LISTEN state (st 0A). Lines that do not parse are skipped.
bool IsPortListening(absl::string_view net_tcp, int port);

}  // namespace eroom::agent

#endif  // EROOM_AGENT_PROC_PARSERS_H_
