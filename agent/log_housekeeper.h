#ifndef EROOM_AGENT_LOG_HOUSEKEEPER_H_
#define EROOM_AGENT_LOG_HOUSEKEEPER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/command_policy.h"
#include "agent/log_tailer.h"
#include "common/clock.h"
#include "eroom/monitor/v1/monitor.pb.h"

namespace eroom::agent {

// The runbook's log rotation script, done safely: gzips (zlib) the ERoom
// log files (those the agent's log globs match) last modified longer ago
// than the policy's compress_after into its archive_dir, keeping their
// modification time, and deletes archives there older than
// delete_archives_after. Never touches the active log (a file modified
// within compress_after, or one the tailer still has open) nor a file the
// tailer has not read to its end; those are reported as skipped, with why.
//
// Runs are serialized (the daily schedule and a remote command may meet);
// every method is thread-safe.
class LogHousekeeper {
 public:
  // `log_globs`: LogSourceOptions::paths. `tailed_files` returns the
  // tailer's view of its files (LogTailer::Files()) at the time of a run;
  // a file absent from it counts as fully read.
  using TailedFiles = std::function<std::vector<LogFileStatus>()>;

  static std::unique_ptr<LogHousekeeper> Create(
      HousekeepingPolicy policy, std::vector<std::string> log_globs,
      TailedFiles tailed_files, const Clock& clock);
  virtual ~LogHousekeeper() = default;

  // Does the work (or, with `dry_run`, only says what it would do). An
  // error on one file is reported in that file's action and the run goes
  // on; an error here means the run could not start (e.g. the archive
  // directory cannot be created).
  virtual absl::StatusOr<eroom::monitor::v1::HousekeepingReport> Run(
      bool dry_run) = 0;

  // For AgentState: the last run that was not dry (0: none), and the
  // modification time of the oldest ERoom log file not yet compressed (0:
  // none), as of the last run or scan.
  virtual int64_t last_run_unix_ms() const = 0;
  virtual int64_t oldest_uncompressed_log_unix_ms() const = 0;
};

}  // namespace eroom::agent

#endif  // EROOM_AGENT_LOG_HOUSEKEEPER_H_
