#ifndef EROOM_AGENT_AGENT_CONFIG_H_
#define EROOM_AGENT_AGENT_CONFIG_H_

#include <cstddef>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/command_policy.h"
#include "agent/http_prober.h"
#include "agent/log_source_options.h"
#include "agent/resource_sampler.h"
#include "agent/uplink.h"

namespace eroom::agent {

// Everything eroom-agent needs, read from one YAML file (see
// deploy/agent.example.yaml for every key and its default).
struct AgentConfig {
  std::string agent_id;  // Defaults to the hostname.
  std::string hostname;
  std::map<std::string, std::string> labels;
  std::string log_level = "info";
  // Holds the spool and log checkpoints (agent-state.db).
  std::string state_dir = "/var/lib/eroom-agent";
  // Cap of the spool of undelivered events.
  uint64_t spool_max_bytes = 256ull << 20;

  std::string eroom_dir;
  LogSourceOptions logs;
  absl::Duration log_poll_interval = absl::Milliseconds(250);

  SamplerOptions resources;
  absl::Duration sample_interval = absl::Seconds(5);

  ProbeOptions probes;
  std::string api_key_env = "EROOM_PRIVATE_KEY";
  absl::Duration probe_interval = absl::Seconds(5);

  UplinkOptions uplink;
  // The remote commands the collector may run here (ping always).
  CommandPolicy commands;
};

// Loads and validates the file strictly: unknown keys and bad values are
// InvalidArgument errors listing "FILE: KEY: PROBLEM" for every problem.
// The API key itself is read from the environment variable it names.
absl::StatusOr<AgentConfig> LoadAgentConfig(const std::string& path);

}  // namespace eroom::agent

#endif  // EROOM_AGENT_AGENT_CONFIG_H_
