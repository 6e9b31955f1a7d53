#include "cli/eroomctl.h"

#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <variant>

#include "absl/strings/ascii.h"
#include "cli/arguments.h"
#include "cli/collector_client.h"
#include "cli/commands.h"
#include "cli/daily_check.h"
#include "cli/terminal.h"
#include "cli/text_format.h"
#include "eroom/monitor/v1/monitor.grpc.pb.h"

namespace eroom::cli {
namespace v1 = ::eroom::monitor::v1;

CliEnvironment CliEnvironment::Real() {
  CliEnvironment environment;
  environment.clock = &RealClock::Get();
  environment.time_zone = absl::LocalTimeZone();
  environment.getenv =
      [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
  environment.connect = [](const CollectorConnection& connection) {
    return std::shared_ptr<grpc::ChannelInterface>(
        MakeCollectorChannel(connection));
  };
  environment.wait_before_refresh = [](absl::Duration interval) {
    absl::SleepFor(interval);
    return true;
  };
  environment.confirm = [](const std::string& question) -> std::optional<bool> {
    if (isatty(STDIN_FILENO) == 0) return std::nullopt;
    std::cerr << question << " [y/N] " << std::flush;
    std::string answer;
    if (!std::getline(std::cin, answer)) return false;
    answer = absl::AsciiStrToLower(absl::StripAsciiWhitespace(answer));
    return answer == "y" || answer == "yes";
  };
  environment.open_terminal = OpenProcessTerminal;
  return environment;
}

int RunEroomctl(int argc, const char* const* argv, std::ostream& out,
                std::ostream& err, const CliEnvironment& environment) {
  ParsedArguments parsed = ParseArguments(argc, argv, environment.clock->Now(),
                                          environment.time_zone, out, err);
  if (!parsed.invocation) return parsed.exit_code;
  const Invocation& invocation = *parsed.invocation;

  absl::StatusOr<CollectorConnection> connection =
      ResolveCollectorConnection(invocation.global, environment.getenv);
  if (!connection.ok()) {
    err << "eroomctl: " << connection.status().message() << '\n';
    return kExitUsage;
  }

  std::shared_ptr<grpc::ChannelInterface> channel =
      environment.connect(*connection);
  std::unique_ptr<v1::QueryService::StubInterface> queries =
      v1::QueryService::NewStub(channel);
  std::unique_ptr<v1::CommandService::StubInterface> commands =
      v1::CommandService::NewStub(channel);
  CollectorClient client(*queries, *commands, *std::move(connection),
                         invocation.global.timeout);
  const CommandContext context{client,
                               invocation.global.output,
                               *environment.clock,
                               environment.time_zone,
                               out,
                               err,
                               environment.wait_before_refresh,
                               environment.confirm,
                               environment.open_terminal};
  const absl::StatusOr<int> exit_code = RunCommand(invocation.command, context);
  if (!exit_code.ok()) {
    out.flush();
    // Collector answers (host names, agent text) can hold any character.
    err << "eroomctl: " << Printable(exit_code.status().message()) << '\n';
    // For cron, a check that could not be made is a failed check, not a
    // warning.
    return std::holds_alternative<CheckArgs>(invocation.command)
               ? kExitCheckFailure
               : kExitFailure;
  }
  return *exit_code;
}

int RunEroomctl(int argc, const char* const* argv, std::ostream& out,
                std::ostream& err) {
  return RunEroomctl(argc, argv, out, err, CliEnvironment::Real());
}

}  // namespace eroom::cli
