#include "cli/eroomctl.h"

#include <cstdlib>

#include "cli/arguments.h"
#include "cli/collector_client.h"
#include "cli/commands.h"

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
    return v1::QueryService::NewStub(MakeCollectorChannel(connection));
  };
  environment.wait_before_refresh = [](absl::Duration interval) {
    absl::SleepFor(interval);
    return true;
  };
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

  std::unique_ptr<v1::QueryService::StubInterface> stub =
      environment.connect(*connection);
  CollectorClient client(*stub, *std::move(connection),
                         invocation.global.timeout);
  const CommandContext context{client,
                               invocation.global.output,
                               *environment.clock,
                               environment.time_zone,
                               out,
                               environment.wait_before_refresh};
  if (absl::Status status = RunCommand(invocation.command, context);
      !status.ok()) {
    out.flush();
    err << "eroomctl: " << status.message() << '\n';
    return kExitFailure;
  }
  return kExitOk;
}

int RunEroomctl(int argc, const char* const* argv, std::ostream& out,
                std::ostream& err) {
  return RunEroomctl(argc, argv, out, err, CliEnvironment::Real());
}

}  // namespace eroom::cli
