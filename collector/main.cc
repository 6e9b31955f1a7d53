#include <iostream>
#include <thread>

#include "CLI/CLI.hpp"
#include "absl/synchronization/notification.h"
#include "collector/collector.h"
#include "collector/collector_config.h"
#include "common/logging.h"
#include "common/shutdown_signal.h"
#include "spdlog/spdlog.h"

int main(int argc, char** argv) {
  eroom::BlockShutdownSignals();
  CLI::App app{"eroom-collector: stores and serves what eroom-agents send"};
  std::string config_path;
  bool check_config = false;
  app.add_option("--config", config_path, "Collector config file (YAML)")
      ->required();
  app.add_flag("--check-config", check_config,
               "Validate the config, print the problems, exit 0 or 2");
  app.set_version_flag("--version", EROOM_VERSION);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }

  absl::StatusOr<eroom::collector::CollectorConfig> config =
      eroom::collector::LoadCollectorConfig(config_path);
  if (!config.ok()) {
    std::cerr << config.status().message() << "\n";
    return 2;
  }
  if (check_config) {
    std::cout << config_path << ": OK\n";
    return 0;
  }
  absl::Status logging =
      eroom::SetupLogging("eroom-collector", config->log_level);
  if (!logging.ok()) {
    std::cerr << logging.message() << "\n";
    return 2;
  }
  absl::StatusOr<std::unique_ptr<eroom::collector::Collector>> collector =
      eroom::collector::Collector::Start(*config, eroom::RealClock::Get());
  if (!collector.ok()) {
    spdlog::error("cannot start: {}", collector.status().ToString());
    return 1;
  }
  int signal = eroom::WaitForShutdownSignal();
  spdlog::info("signal {} received, stopping", signal);
  (*collector)->Stop();
  return 0;
}
