#include "cli/eroomctl.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <thread>
#include <utility>
#include <variant>

#include "absl/strings/ascii.h"
#include "absl/synchronization/mutex.h"
#include "cli/arguments.h"
#include "cli/collector_client.h"
#include "cli/commands.h"
#include "cli/daily_check.h"
#include "cli/terminal.h"
#include "cli/text_format.h"
#include "eroom/monitor/v1/monitor.grpc.pb.h"

namespace eroom::cli {
namespace v1 = ::eroom::monitor::v1;
namespace {

// Turns SIGINT into a call of the action given last, on a thread of its
// own: what a signal handler may do is too little to end a gRPC call.
class InterruptWatcher {
 public:
  static InterruptWatcher& Get() {
    static InterruptWatcher* const watcher = new InterruptWatcher();
    return *watcher;
  }

  void OnInterrupt(std::function<void()> action) {
    absl::MutexLock lock(&mu_);
    action_ = std::move(action);
  }

 private:
  InterruptWatcher() {
    if (pipe2(fds_, O_CLOEXEC) != 0) return;
    write_fd_ = fds_[1];
    struct sigaction action {};
    action.sa_handler = [](int) {
      const char byte = 1;
      [[maybe_unused]] const ssize_t written = write(write_fd_, &byte, 1);
    };
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, nullptr);
    std::thread([this] { Run(); }).detach();
  }

  void Run() {
    char byte;
    while (read(fds_[0], &byte, 1) == 1 || errno == EINTR) {
      std::function<void()> action;
      {
        absl::MutexLock lock(&mu_);
        action = action_;
      }
      if (action) action();
    }
  }

  static inline int write_fd_ = -1;
  int fds_[2] = {-1, -1};
  absl::Mutex mu_;
  std::function<void()> action_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

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
  environment.on_interrupt = [](std::function<void()> action) {
    InterruptWatcher::Get().OnInterrupt(std::move(action));
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
                               environment.on_interrupt,
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
