#ifndef EROOM_AGENT_EROOM_PROCESS_H_
#define EROOM_AGENT_EROOM_PROCESS_H_

#include <functional>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "agent/proc_parsers.h"
#include "agent/resource_sampler.h"

namespace eroom::agent {

// The whole of a file; procfs files report size 0, so it reads to the end.
absl::StatusOr<std::string> ReadWholeFile(const std::string& path);

// Finds the ERoom process and its port the way SamplerOptions describes
// (pid file first, else the command line scan). Shared by the resource
// sampler and the restart procedures, so both agree on what "ERoom is up"
// means. Not thread-safe: each user owns one.
class EroomProcessLocator {
 public:
  // Told of each read that failed or did not parse (a missing pid file or
  // a vanished process is normal and not reported).
  using ReadProblem =
      std::function<void(const std::string& source, const absl::Status&)>;

  EroomProcessLocator(SamplerOptions options, ReadProblem on_problem);

  struct Process {
    int pid = 0;
    PidStat stat;
  };
  // The pid file's process while it is alive, else the lowest live pid
  // whose command line matches (never this process).
  std::optional<Process> Find();

  // The stat of `pid` if it exists and is neither a zombie nor dead.
  std::optional<PidStat> LiveStat(int pid);

  // Whether a TCP socket listens on the configured port.
  bool PortListening();

  const SamplerOptions& options() const { return options_; }

 private:
  std::optional<int> PidFromPidFile();
  bool CommandLineMatches(int pid);
  std::optional<Process> ScanForEroom();

  const SamplerOptions options_;
  const ReadProblem on_problem_;
  const std::optional<int> self_pid_;
};

}  // namespace eroom::agent

#endif  // EROOM_AGENT_EROOM_PROCESS_H_
