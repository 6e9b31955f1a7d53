// eroom-sim: a stand-in for the ERoom server (Java, Undertow) for the demo and
// the integration tests. It writes ERoom's log lines to DIR/logs/server.log,
// serves ERoom's HTTP API, runs rooms through a one-worker queue at --speed
// times real pace, and misbehaves on demand (--fault, POST /_sim/fault).

#include <pthread.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/ascii.h"
#include "common/clock.h"
#include "common/shutdown_signal.h"
#include "tests/sim/faults.h"
#include "tests/sim/log_writer.h"
#include "tests/sim/room_simulator.h"
#include "tests/sim/sim_dir.h"
#include "tests/sim/sim_server.h"

namespace {

// EROOM_PRIVATE_KEY, if set (ERoom refuses everything without a key).
std::optional<std::string> EnvironmentApiKey() {
  const char* env = std::getenv("EROOM_PRIVATE_KEY");
  if (env == nullptr || absl::StripAsciiWhitespace(env).empty()) {
    return std::nullopt;
  }
  return std::string(env);
}

}  // namespace

int main(int argc, char** argv) {
  eroom::BlockShutdownSignals();

  CLI::App app{
      "eroom-sim: a stand-in for the ERoom server (log, HTTP API, queue, "
      "faults)"};
  eroom::sim::SimOptions options;
  std::string api_key;
  uint64_t seed = 0;
  std::string generation = "old";
  std::vector<std::string> faults;
  app.add_option("--dir", options.dir,
                 "ERoom directory: logs/server.log, server.pid, scripts/")
      ->required();
  app.add_option("--port", options.port, "HTTP port (0 picks a free one)")
      ->required()
      ->check(CLI::Range(0, 65535));
  app.add_option("--speed", options.speed,
                 "time factor: 60 runs a 6-minute room in 6 s")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--bind", options.bind, "HTTP listen address")
      ->capture_default_str();
  app.add_option("--api-key", api_key,
                 "API key (default: $EROOM_PRIVATE_KEY; without either every "
                 "request is refused, like ERoom)");
  app.add_option("--rooms-per-minute", options.rooms_per_minute,
                 "rooms the built-in client submits per wall-clock minute")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  CLI::Option* seed_option =
      app.add_option("--seed", seed, "random seed (default: random)");
  app.add_option("--failure-rate", options.failure_rate,
                 "chance that a room fails with a business error")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option("--generation", generation,
                 "room-event messages of the old or the new ERoom build")
      ->check(CLI::IsMember({"old", "new"}))
      ->capture_default_str();
  app.add_option("--fault", faults, "fault switched on at start (repeatable)")
      ->check(CLI::IsMember(eroom::sim::AllFaultNames()));
  CLI11_PARSE(app, argc, argv);

  std::error_code error;
  options.dir =
      std::filesystem::absolute(options.dir, error).lexically_normal().string();
  if (!api_key.empty()) options.api_key = api_key;
  if (*seed_option) options.seed = seed;
  options.generation = *eroom::sim::ParseGeneration(generation);
  for (const std::string& name : faults) {
    options.faults.push_back(*eroom::sim::ParseFault(name));
  }

  const std::string binary =
      std::filesystem::read_symlink("/proc/self/exe", error).string();
  // The scripts get the options as given: a key from the environment stays
  // there.
  if (absl::Status status = eroom::sim::PrepareSimDir(options, binary);
      !status.ok()) {
    std::cerr << "eroom-sim: " << status << "\n";
    return 1;
  }
  if (!options.api_key.has_value()) options.api_key = EnvironmentApiKey();
  absl::StatusOr<std::unique_ptr<eroom::sim::LogFile>> log_file =
      eroom::sim::LogFile::Open(options.dir + "/logs/server.log");
  if (!log_file.ok()) {
    std::cerr << "eroom-sim: " << log_file.status() << "\n";
    return 1;
  }

  eroom::sim::SimServer server(eroom::RealClock::Get(), **log_file,
                               absl::LocalTimeZone(), options);
  if (absl::Status status = server.Start(); !status.ok()) {
    server.Stop();
    return 1;
  }
  if (absl::Status status = eroom::sim::WritePidFile(options.dir);
      !status.ok()) {
    std::cerr << "eroom-sim: " << status << "\n";
  }
  // Exit codes as the JVM's: 128 + signal (143 for SIGTERM).
  std::thread signal_waiter(
      [&server] { server.RequestExit(128 + eroom::WaitForShutdownSignal()); });
  const int exit_code = server.WaitForExitRequest();
  // Wakes the waiter if the exit came from the fatal fault; the signal is
  // blocked everywhere, so its sigwait consumes it.
  pthread_kill(signal_waiter.native_handle(), SIGTERM);
  signal_waiter.join();
  server.Stop();
  return exit_code;
}
