#ifndef EROOM_AGENT_LOG_HOUSEKEEPER_H_
#define EROOM_AGENT_LOG_HOUSEKEEPER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/command_policy.h"
#include "agent/log_source_options.h"
#include "agent/log_tailer.h"
#include "common/clock.h"
#include "eroom/monitor/v1/monitor.pb.h"

namespace eroom::agent {

// The runbook's log rotation script, done safely: gzips (zlib) the ERoom
// log files (those the agent's log globs match, found as the tailer finds
// them: never under an `archive` directory, never compressed, never through
// a symbolic link out of eroom.dir unless the tailer may follow it) last
// modified longer ago than the policy's compress_after into its
// archive_dir, as <name>.gz (<name>.1.gz, ... if taken), keeping their
// modification time, and deletes the archives there (*.gz) older than
// delete_archives_after. Never touches the active log (a file modified
// within compress_after, or one the tailer still has open) nor a file the
// tailer has not read to its end; those are reported as skipped, with why.
//
// An archive is written under a temporary name, synced, then given its name
// (never replacing a file), and only then is the log removed. Archives
// older than the retention are deleted before anything is compressed.
// Nothing else is ever removed.
//
// Runs are serialized (the daily schedule and a remote command may meet);
// every method is thread-safe.
class LogHousekeeper {
 public:
  // The tailer's view of its files (LogTailer::Files()) at the time of a
  // run; a file absent from it counts as fully read. An error (e.g. log
  // reading has not started, so what was read is unknown) fails the run.
  using TailedFiles =
      std::function<absl::StatusOr<std::vector<LogFileStatus>>()>;

  // `logs`: the tailer's options (paths, eroom_dir,
  // follow_symlinks_outside). Scans the logs once (for
  // oldest_uncompressed_log_unix_ms).
  static std::unique_ptr<LogHousekeeper> Create(HousekeepingPolicy policy,
                                                const LogSourceOptions& logs,
                                                TailedFiles tailed_files,
                                                const Clock& clock);
  virtual ~LogHousekeeper() = default;

  // Does the work (or, with `dry_run`, only says what it would do: the dry
  // run compresses into nothing to report the sizes a real run would get,
  // and names the same targets). Deletions come first in `actions`. An
  // action whose `reason` is set failed, with that error, and freed
  // nothing; the run goes on. bytes_freed sums before minus after over the
  // actions that succeeded. An error here means the run could not start
  // (e.g. the archive directory cannot be created, or leads out of
  // eroom.dir through a symbolic link).
  virtual absl::StatusOr<eroom::monitor::v1::HousekeepingReport> Run(
      bool dry_run) = 0;

  // For the agent's shutdown: a run in progress stops compressing within
  // one read (the log and the archives are left as they were; each file
  // not done is reported failed) and later runs fail at once.
  virtual void Stop() = 0;

  // For AgentState: the start of the last run that was not dry (0: none),
  // and the modification time of the oldest ERoom log file not yet
  // compressed (0: none), as of the last run or scan.
  virtual int64_t last_run_unix_ms() const = 0;
  virtual int64_t oldest_uncompressed_log_unix_ms() const = 0;
};

// The modification time of the oldest log file `logs` matches (0: none),
// found as LogHousekeeper finds them: for AgentState when housekeeping is
// disabled.
int64_t OldestLogUnixMs(const LogSourceOptions& logs);

}  // namespace eroom::agent

#endif  // EROOM_AGENT_LOG_HOUSEKEEPER_H_
