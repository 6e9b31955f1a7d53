#ifndef EROOM_CLI_COMMANDS_H_
#define EROOM_CLI_COMMANDS_H_

#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cli/arguments.h"
#include "cli/collector_client.h"
#include "cli/terminal.h"
#include "common/clock.h"

namespace eroom::cli {

inline constexpr absl::Duration kWatchInterval = absl::Seconds(5);

// What a command needs once its arguments are understood.
struct CommandContext {
  CollectorClient& client;
  OutputFormat output;
  const Clock& clock;
  absl::TimeZone zone;
  std::ostream& out;
  // Notes beside the output, such as how to get a next page, and warnings
  // that do not end the command.
  std::ostream& err;
  // Waits between `status --watch` refreshes; false stops watching.
  std::function<bool(absl::Duration)> wait_before_refresh;
  // Asks the operator a yes/no question; nullopt when nobody can answer
  // (stdin is not a terminal).
  std::function<std::optional<bool>(const std::string& question)> confirm;
  // Runs `action` (on another thread) when the operator presses Ctrl-C,
  // instead of ending the process; the last action given is the one run.
  std::function<void(std::function<void()> action)> on_interrupt;
  // The terminal `top` draws on; nullptr when stdout is not a terminal.
  std::function<absl::StatusOr<std::unique_ptr<Terminal>>()> open_terminal;
};

// Runs one command against the collector and prints its result. Returns
// the exit code (kExitOk, or `check`'s verdict); errors (collector
// unreachable, host not found, unknown metric, a remote command that did
// not succeed) are returned for the caller to report.
absl::StatusOr<int> RunCommand(const CommandArgs& command,
                               const CommandContext& context);

}  // namespace eroom::cli

#endif  // EROOM_CLI_COMMANDS_H_
