#include "agent/proc_parsers.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace eroom::agent {
namespace {

constexpr uint64_t kBytesPerKiB = 1024;
// st column value of a listening socket in /proc/net/tcp{,6}.
constexpr absl::string_view kTcpListenState = "0A";

std::vector<absl::string_view> SplitFields(absl::string_view line) {
  return absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
}

// The rest of the first line that starts with `key` followed by whitespace
// or ':' (so "cpu" does not match "cpu0", nor "VmRSS" "VmRSSx").
bool FindKeyedLine(absl::string_view text, absl::string_view key,
                   absl::string_view* rest) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::ConsumePrefix(&line, key)) continue;
    if (line.empty() || (line[0] != ' ' && line[0] != '\t' && line[0] != ':')) {
      continue;
    }
    absl::ConsumePrefix(&line, ":");
    *rest = line;
    return true;
  }
  return false;
}

// A "<number> kB" value of /proc/meminfo or /proc/PID/status, in bytes.
absl::StatusOr<uint64_t> ParseKibValue(absl::string_view text,
                                       absl::string_view key) {
  absl::string_view rest;
  if (!FindKeyedLine(text, key, &rest)) {
    return absl::NotFoundError(absl::StrCat("no ", key, " line"));
  }
  std::vector<absl::string_view> fields = SplitFields(rest);
  uint64_t kib = 0;
  if (fields.size() != 2 || fields[1] != "kB" ||
      !absl::SimpleAtoi(fields[0], &kib)) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed ", key, " line: '", rest, "'"));
  }
  return kib * kBytesPerKiB;
}

}  // namespace

absl::StatusOr<CpuTimes> ParseHostCpuTimes(absl::string_view proc_stat) {
  absl::string_view rest;
  if (!FindKeyedLine(proc_stat, "cpu", &rest)) {
    return absl::NotFoundError("no aggregate cpu line");
  }
  // user nice system idle iowait irq softirq steal [guest guest_nice]; old
  // kernels print only the first four.
  constexpr size_t kIdle = 3, kIowait = 4, kSummedFields = 8;
  std::vector<absl::string_view> fields = SplitFields(rest);
  if (fields.size() <= kIdle) {
    return absl::InvalidArgumentError(
        absl::StrCat("cpu line has ", fields.size(), " fields, want >= 4"));
  }
  CpuTimes times;
  uint64_t idle = 0;
  for (size_t i = 0; i < fields.size() && i < kSummedFields; ++i) {
    uint64_t value = 0;
    if (!absl::SimpleAtoi(fields[i], &value)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cpu field ", i + 1, " is not a number: '", fields[i], "'"));
    }
    times.total += value;
    if (i == kIdle || i == kIowait) idle += value;
  }
  times.busy = times.total - idle;
  return times;
}

absl::StatusOr<int64_t> ParseBootTimeSeconds(absl::string_view proc_stat) {
  absl::string_view rest;
  if (!FindKeyedLine(proc_stat, "btime", &rest)) {
    return absl::NotFoundError("no btime line");
  }
  int64_t seconds = 0;
  if (!absl::SimpleAtoi(rest, &seconds) || seconds <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed btime: '", rest, "'"));
  }
  return seconds;
}

absl::StatusOr<MemInfo> ParseMemInfo(absl::string_view meminfo) {
  absl::StatusOr<uint64_t> total = ParseKibValue(meminfo, "MemTotal");
  if (!total.ok()) return total.status();
  absl::StatusOr<uint64_t> available = ParseKibValue(meminfo, "MemAvailable");
  if (!available.ok()) return available.status();
  if (*available > *total) {
    return absl::InvalidArgumentError("MemAvailable exceeds MemTotal");
  }
  return MemInfo{.total_bytes = *total, .available_bytes = *available};
}

absl::StatusOr<double> ParseLoadAverage1m(absl::string_view loadavg) {
  std::vector<absl::string_view> fields = SplitFields(loadavg);
  double load = 0;
  if (fields.empty() || !absl::SimpleAtod(fields[0], &load) ||
      !std::isfinite(load) || load < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed loadavg: '", loadavg, "'"));
  }
  return load;
}

absl::StatusOr<PidStat> ParsePidStat(absl::string_view pid_stat) {
  size_t comm_end = pid_stat.rfind(')');
  if (comm_end == absl::string_view::npos) {
    return absl::InvalidArgumentError("pid stat has no ')' closing comm");
  }
  // Index 0 is field 3 (state) of proc(5); utime is field 14, stime 15,
  // starttime 22.
  constexpr size_t kState = 0, kUtime = 11, kStime = 12, kStartTime = 19;
  std::vector<absl::string_view> fields = absl::StrSplit(
      pid_stat.substr(comm_end + 1), absl::ByAnyChar(" \n"), absl::SkipEmpty());
  if (fields.size() <= kStartTime) {
    return absl::InvalidArgumentError(absl::StrCat(
        "pid stat has ", fields.size(), " fields after comm, want > 19"));
  }
  uint64_t utime = 0, stime = 0;
  PidStat stat;
  if (fields[kState].size() != 1 || !absl::SimpleAtoi(fields[kUtime], &utime) ||
      !absl::SimpleAtoi(fields[kStime], &stime) ||
      !absl::SimpleAtoi(fields[kStartTime], &stat.start_ticks)) {
    return absl::InvalidArgumentError("malformed pid stat fields");
  }
  stat.state = fields[kState][0];
  stat.cpu_ticks = utime + stime;
  return stat;
}

absl::StatusOr<uint64_t> ParseStatusRssBytes(absl::string_view status) {
  return ParseKibValue(status, "VmRSS");
}

bool CmdlineContains(absl::string_view cmdline, absl::string_view needle) {
  std::string joined(cmdline);
  std::replace(joined.begin(), joined.end(), '\0', ' ');
  return absl::StrContains(joined, needle);
}

bool IsPortListening(absl::string_view net_tcp, int port) {
  for (absl::string_view line : absl::StrSplit(net_tcp, '\n')) {
    // sl local_address rem_address st ...; local_address is HEXIP:HEXPORT.
    std::vector<absl::string_view> fields = SplitFields(line);
    if (fields.size() < 4 || fields[3] != kTcpListenState) continue;
    size_t colon = fields[1].rfind(':');
    int local_port = 0;
    if (colon == absl::string_view::npos ||
        !absl::SimpleHexAtoi(fields[1].substr(colon + 1), &local_port)) {
      continue;
    }
    if (local_port == port) return true;
  }
  return false;
}

}  // namespace eroom::agent
