#ifndef EROOM_AGENT_COMMAND_POLICY_H_
#define EROOM_AGENT_COMMAND_POLICY_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/command_limits.h"
#include "common/ids.h"
#include "eroom/monitor/v1/monitor.pb.h"

namespace eroom::agent {

// `commands.safe_restart` in the agent's config. The programs are argv
// lists from the config (relative paths resolved against eroom.dir), run
// without a shell with eroom.dir as working directory; nothing received
// over the network becomes part of them.
struct SafeRestartPolicy {
  bool enabled = false;
  std::vector<std::string> stop_command = {};   // e.g. {"scripts/stop.sh"}
  std::vector<std::string> start_command = {};  // e.g. {"scripts/start.sh"}
  // Each program must exit within this, or it is killed (a failed step).
  absl::Duration program_timeout = absl::Minutes(2);
  // After the stop program: how long the process may take to exit on its
  // own, then SIGTERM, and as long again before SIGKILL.
  absl::Duration stop_grace = absl::Seconds(30);
  // After the start program: healthy (/health ok and the port listening)
  // within this, or the restart failed.
  absl::Duration health_timeout = absl::Seconds(60);
  absl::Duration health_interval = absl::Seconds(1);
};

// `commands.auto_restart`: start ERoom again when its process is down.
struct AutoRestartPolicy {
  bool enabled = false;
  // Down this long (consecutive samples) before the first attempt.
  absl::Duration down_for = absl::Seconds(30);
  // Between attempts: doubles from initial up to max.
  absl::Duration backoff_initial = absl::Seconds(30);
  absl::Duration backoff_max = absl::Minutes(10);
  // Attempts in any rolling hour; reaching it reports
  // "auto_restart_limit_reached" and stops trying until the hour allows.
  int max_attempts_per_hour = 3;
};

// `commands.log_housekeeping`.
struct HousekeepingPolicy {
  bool enabled = false;
  absl::Duration compress_after = absl::Hours(24 * 7);
  absl::Duration delete_archives_after = absl::Hours(24 * 30);
  // Relative to eroom.dir.
  std::string archive_dir = "logs/archive";
  // Time of day (local) of the daily run; nullopt: only on request.
  std::optional<absl::Duration> daily_at = std::nullopt;
};

// The remote commands this agent's own config lets the collector run. A
// command not allowed here is refused whatever the collector says. Ping
// changes nothing and is always allowed; cancel is allowed with safe
// restart, the only command that drains.
struct CommandPolicy {
  SafeRestartPolicy safe_restart = {};
  HousekeepingPolicy log_housekeeping = {};
  AutoRestartPolicy auto_restart =
      {};  // Not a remote command: runs on its own.
};

// A command that passed CheckCommand: well-formed and allowed. Its fields
// are typed values, never text to hand to a shell.
struct AllowedCommand {
  enum class Action { kSafeRestart, kLogHousekeeping, kPing, kCancel };

  std::string command_id = {};
  Action action = Action::kPing;
  absl::Duration drain_timeout = absl::ZeroDuration();  // kSafeRestart only.
  bool force = false;                                   // kSafeRestart only.
  bool dry_run = false;                // kLogHousekeeping only.
  std::string target_command_id = {};  // kCancel only; checked like an id.
};

// CheckId of a command id: OK if `id` may be echoed in progress reports and
// logs.
absl::Status CheckCommandId(const std::string& id);

// `command` as received from the collector, checked: InvalidArgument if it
// is malformed (command id empty, over kMaxCommandIdBytes or not of
// kIdBytes; no action; drain timeout out of range), PermissionDenied if
// `policy` does not allow its action. Either way the agent answers REJECTED
// and runs nothing.
absl::StatusOr<AllowedCommand> CheckCommand(
    const eroom::monitor::v1::Command& command, const CommandPolicy& policy);

}  // namespace eroom::agent

#endif  // EROOM_AGENT_COMMAND_POLICY_H_
