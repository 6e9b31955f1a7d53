#include <iostream>

#include "CLI/CLI.hpp"
#include "agent/agent.h"
#include "agent/agent_config.h"
#include "common/logging.h"
#include "common/shutdown_signal.h"
#include "spdlog/spdlog.h"

int main(int argc, char** argv) {
  eroom::BlockShutdownSignals();
  CLI::App app{
      "eroom-agent: watches one ERoom host and streams to the collector"};
  std::string config_path;
  bool check_config = false;
  app.add_option("--config", config_path, "Agent config file (YAML)")
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

  absl::StatusOr<eroom::agent::AgentConfig> config =
      eroom::agent::LoadAgentConfig(config_path);
  if (!config.ok()) {
    std::cerr << config.status().message() << "\n";
    return 2;
  }
  if (check_config) {
    std::cout << config_path << ": OK\n";
    return 0;
  }
  absl::Status logging = eroom::SetupLogging("eroom-agent", config->log_level);
  if (!logging.ok()) {
    std::cerr << logging.message() << "\n";
    return 2;
  }
  if (config->probes.api_key.empty()) {
    spdlog::warn(
        "environment variable {} is not set: API probes will be "
        "refused with 401",
        config->api_key_env);
  }
  absl::StatusOr<std::unique_ptr<eroom::agent::Agent>> agent =
      eroom::agent::Agent::Create(*config, eroom::RealClock::Get());
  if (!agent.ok()) {
    spdlog::error("cannot start: {}", agent.status().ToString());
    return 1;
  }
  spdlog::info("eroom-agent {} starting as '{}', collector {}, ERoom at {}",
               EROOM_VERSION, config->agent_id,
               config->uplink.collector_address, config->eroom_dir);
  (*agent)->Start();
  int signal = eroom::WaitForShutdownSignal();
  spdlog::info("signal {} received, stopping", signal);
  (*agent)->Stop();
  return 0;
}
