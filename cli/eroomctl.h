#ifndef EROOM_CLI_EROOMCTL_H_
#define EROOM_CLI_EROOMCTL_H_

#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>

#include "absl/time/time.h"
#include "cli/collector_address.h"
#include "cli/terminal.h"
#include "common/clock.h"
#include "grpcpp/channel.h"

namespace eroom::cli {

// What eroomctl takes from the world besides its arguments. Tests replace
// any piece; Real() is the process's own.
struct CliEnvironment {
  const Clock* clock = nullptr;
  absl::TimeZone time_zone;
  EnvironmentLookup getenv;
  // Opens a channel to the collector.
  std::function<std::shared_ptr<grpc::ChannelInterface>(
      const CollectorConnection& connection)>
      connect;
  // Waits between `status --watch` refreshes; false stops watching.
  std::function<bool(absl::Duration)> wait_before_refresh;
  // Asks a yes/no question on the terminal (`restart`); nullopt when stdin
  // is not a terminal.
  std::function<std::optional<bool>(const std::string& question)> confirm;
  // Runs `action` when the operator presses Ctrl-C (`logs -f`).
  std::function<void(std::function<void()> action)> on_interrupt;
  // The terminal `top` draws on (OpenProcessTerminal); nullptr when stdout
  // is not a terminal.
  std::function<absl::StatusOr<std::unique_ptr<Terminal>>()> open_terminal;

  static CliEnvironment Real();
};

// The whole eroomctl program: results on `out`, problems on `err`. Returns
// the exit code: 0 ok, 1 the command failed (collector unreachable, host
// not found, a remote command that did not succeed, ...), 2 usage or
// configuration error; `check` returns its verdict (0 pass, 1 a warning,
// 2 a failure).
int RunEroomctl(int argc, const char* const* argv, std::ostream& out,
                std::ostream& err, const CliEnvironment& environment);
int RunEroomctl(int argc, const char* const* argv, std::ostream& out,
                std::ostream& err);

}  // namespace eroom::cli

#endif  // EROOM_CLI_EROOMCTL_H_
