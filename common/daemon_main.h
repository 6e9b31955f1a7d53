#ifndef EROOM_COMMON_DAEMON_MAIN_H_
#define EROOM_COMMON_DAEMON_MAIN_H_

#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/logging.h"
#include "common/shutdown_signal.h"
#include "spdlog/spdlog.h"

namespace eroom {

// A started daemon: how to stop it, and how to reload what it can reload
// (unset: SIGHUP is logged and ignored).
struct RunningDaemon {
  std::function<void()> stop;
  std::function<void()> reload = nullptr;
};

// The life of every eroom daemon: `PROGRAM --config FILE [--check-config]`,
// a strictly validated config (problems on stderr, exit 2), logging at the
// config's `log_level`, then `run` until SIGTERM or SIGINT. `run` starts the
// daemon and returns how to stop and reload it, or an error (exit 1); SIGHUP
// reloads.
// `warnings` are "KEY: PROBLEM" lines about a config that loaded (e.g. a
// certificate out of its dates): --check-config reports them as problems,
// a starting daemon logs them and runs.
template <typename Config>
int RunDaemon(
    int argc, char** argv, const std::string& program,
    const std::string& description,
    const std::function<absl::StatusOr<Config>(const std::string&)>& load,
    const std::function<std::vector<std::string>(const Config&)>& warnings,
    const std::function<absl::StatusOr<RunningDaemon>(const Config&)>& run) {
  // Debian's Abseil is built with deadlock detection on, which records a
  // stack and updates a lock graph at every Mutex acquisition: 5 % of the
  // collector's CPU under 1,000 agents. Unit tests, which run the same
  // code in-process, keep it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  BlockShutdownSignals();
  CLI::App app{description};
  std::string config_path;
  bool check_config = false;
  app.add_option("--config", config_path, "Config file (YAML)")->required();
  app.add_flag("--check-config", check_config,
               "Validate the config, print the problems, exit 0 or 2");
  app.set_version_flag("--version", EROOM_VERSION);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  absl::StatusOr<Config> config = load(config_path);
  if (!config.ok()) {
    std::cerr << config.status().message() << "\n";
    return 2;
  }
  const std::vector<std::string> config_warnings = warnings(*config);
  if (check_config) {
    for (const std::string& warning : config_warnings) {
      std::cerr << config_path << ": " << warning << "\n";
    }
    if (!config_warnings.empty()) return 2;
    std::cout << config_path << ": OK\n";
    return 0;
  }
  absl::Status logging = SetupLogging(program, config->log_level);
  if (!logging.ok()) {
    std::cerr << logging.message() << "\n";
    return 2;
  }
  for (const std::string& warning : config_warnings) {
    spdlog::warn("{}: {}", config_path, warning);
  }
  absl::StatusOr<RunningDaemon> daemon = run(*config);
  if (!daemon.ok()) {
    spdlog::error("cannot start: {}", daemon.status().ToString());
    return 1;
  }
  int signal = WaitForShutdownSignal([&daemon, &program] {
    if (daemon->reload) {
      daemon->reload();
    } else {
      spdlog::info("SIGHUP ignored: {} reads its config at start only",
                   program);
    }
  });
  spdlog::info("signal {} received, stopping", signal);
  daemon->stop();
  return 0;
}

}  // namespace eroom

#endif  // EROOM_COMMON_DAEMON_MAIN_H_
