#ifndef EROOM_CLI_ARGUMENTS_H_
#define EROOM_CLI_ARGUMENTS_H_

#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/time/time.h"
#include "eroom/monitor/v1/monitor.pb.h"

namespace eroom::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // The command ran and failed.
inline constexpr int kExitUsage = 2;    // Bad arguments or configuration.

enum class OutputFormat { kTable, kJson, kCsv };

struct GlobalOptions {
  std::optional<std::string> collector;    // --collector
  std::optional<std::string> config_path;  // --config
  std::optional<std::string> token;        // --token
  std::optional<std::string> ca_path;      // --ca
  bool insecure = false;                   // --insecure
  OutputFormat output = OutputFormat::kTable;
  absl::Duration timeout = absl::Seconds(5);
};

// `host` arguments hold an agent id or a hostname, resolved against the
// collector's host list; empty means every host.
struct HostsArgs {};
struct StatusArgs {
  std::string host;
  bool watch = false;
};
struct LogsArgs {
  std::vector<std::string> hosts;  // Empty: every host.
  // The hosts' agent ids are left out; --type's go in event_types.
  eroom::monitor::v1::QueryLogsRequest request;
  bool brief = false;  // Each event's first line only.
  // The command line as typed (shell-quoted, without --before and the
  // token): where a full page says how to get the next one.
  std::string command_line;
  // Print the newest events, then new ones as they are stored.
  bool follow = false;
};
struct MetricsArgs {
  std::string host;
  eroom::monitor::v1::QueryMetricsRequest request;  // agent_id left empty.
};
struct QueueArgs {
  std::string host;
};
struct PingArgs {
  std::string host;  // Required.
};
struct CommandsArgs {
  std::string host;
  int limit = 0;  // 0: the collector's default.
};
struct AlertsArgs {
  std::string host;
  // The changes since `since_unix_ms` (at most `limit`, 0: the collector's
  // default) instead of the alerts pending and firing now.
  bool history = false;
  int64_t since_unix_ms = 0;
  int limit = 0;
};
struct AcknowledgeArgs {
  int64_t alert_id = 0;
  std::string comment;
};
struct SilenceAddArgs {
  std::vector<std::string> matchers;  // As typed: "host=eroom-prod-1".
  absl::Duration duration;
  std::string comment;
};
struct SilenceListArgs {
  bool include_ended = false;
};
struct SilenceExpireArgs {
  int64_t silence_id = 0;
};
struct RulesArgs {};
// Exactly one of `host`, `all` and `labels` selects the hosts; several are
// restarted one at a time.
struct RestartArgs {
  std::string host;
  bool all = false;
  // Hosts whose labels hold every one of these key=value pairs.
  std::vector<std::pair<std::string, std::string>> labels;
  absl::Duration drain_timeout = absl::Minutes(10);
  bool force = false;
  bool yes = false;  // Confirmed on the command line: no question asked.
};
struct CancelArgs {
  std::string command_id;
};
struct HousekeepArgs {
  std::string host;  // Required.
  bool dry_run = false;
};
struct AuditArgs {
  std::string host;  // Empty: every host.
  int64_t since_unix_ms = 0;
  int limit = 0;  // 0: the collector's default.
};
struct CheckArgs {
  std::string host;  // Empty: every host.
};
struct TopArgs {
  std::vector<std::string> hosts;  // Empty: every host.
  absl::Duration interval = absl::Seconds(5);
  // Frames to draw; 0: until q on a terminal, one frame off a terminal.
  int iterations = 0;
};

struct BackupArgs {
  std::string dest;    // The file written.
  bool force = false;  // Replace an existing dest.
};

// `hosts` (agent ids or hostnames) are resolved into the request's
// agent_ids; empty: every host.
struct RoomsArgs {
  std::vector<std::string> hosts;
  eroom::monitor::v1::ListRoomsRequest request;  // agent_ids left empty.
};
struct RoomArgs {
  std::string ruid;
  std::string host;  // Empty: whichever host has it.
};
struct DailyReportArgs {
  std::vector<std::string> hosts;                  // Empty: every host.
  eroom::monitor::v1::DailyReportRequest request;  // agent_ids left empty.
};
using CommandArgs =
    std::variant<HostsArgs, StatusArgs, LogsArgs, MetricsArgs, QueueArgs,
                 PingArgs, CommandsArgs, AlertsArgs, AcknowledgeArgs,
                 SilenceAddArgs, SilenceListArgs, SilenceExpireArgs, RulesArgs,
                 RestartArgs, CancelArgs, HousekeepArgs, AuditArgs, CheckArgs,
                 TopArgs, BackupArgs, RoomsArgs, RoomArgs, DailyReportArgs>;

struct Invocation {
  GlobalOptions global;
  CommandArgs command;
};

// Either a complete invocation, or the exit code to return at once because
// help was printed (0) or a usage error was reported on `err` (kExitUsage).
struct ParsedArguments {
  std::optional<Invocation> invocation;
  int exit_code = kExitOk;
};

// Parses eroomctl's command line. Relative times (--since 1h) are taken
// back from `now`; local times are read in `zone`.
ParsedArguments ParseArguments(int argc, const char* const* argv,
                               absl::Time now, absl::TimeZone zone,
                               std::ostream& out, std::ostream& err);

}  // namespace eroom::cli

#endif  // EROOM_CLI_ARGUMENTS_H_
