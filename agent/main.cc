#include <malloc.h>

#include <memory>

#include "agent/agent.h"
#include "agent/agent_config.h"
#include "common/daemon_main.h"
#include "spdlog/spdlog.h"

int main(int argc, char** argv) {
  // glibc gives each allocating thread an arena of its own, up to 8 per
  // core, and each arena keeps what its thread freed. The agent's dozen
  // threads (its own and gRPC's) mostly wait: two arenas serve them, and a
  // read burst's leftovers are not spread over a dozen heaps.
  mallopt(M_ARENA_MAX, 2);
  // What a thread frees at the top of its arena goes back to the kernel
  // only past 1 MiB. Below the default (128 KB, raised with the largest
  // block freed) the uplink returned and faulted in the same pages at
  // every batch, and each return interrupts the cores running the agent's
  // other threads: a third of its CPU while idle.
  mallopt(M_TRIM_THRESHOLD, 1 << 20);
  // Setting the trim threshold fixes glibc's mmap threshold at 128 KB,
  // which it would otherwise raise: each batch the uplink builds and sends
  // (up to 4 MiB, and gRPC's copy of it) was then mapped, faulted in page
  // by page and unmapped again: 70,000-90,000 page faults and a third of
  // the agent's CPU on a million lines, 2,000 with blocks up to 16 MiB
  // taken from the arenas (whose free memory the sampler trims).
  mallopt(M_MMAP_THRESHOLD, 16 << 20);
  using eroom::agent::Agent;
  using eroom::agent::AgentConfig;
  return eroom::RunDaemon<AgentConfig>(
      argc, argv, "eroom-agent",
      "eroom-agent: watches one ERoom host and streams to the collector",
      eroom::agent::LoadAgentConfig,
      [](const AgentConfig& config) {
        return config.uplink.security.certificate_warnings;
      },
      [](const AgentConfig& config) -> absl::StatusOr<eroom::RunningDaemon> {
        if (config.probes.api_key.empty()) {
          spdlog::warn(
              "environment variable {} is not set: API probes will "
              "be refused with 401",
              config.api_key_env);
        }
        absl::StatusOr<std::unique_ptr<Agent>> agent =
            Agent::Create(config, eroom::RealClock::Get());
        if (!agent.ok()) return agent.status();
        spdlog::info(
            "eroom-agent {} starting as '{}', collector {}, ERoom at {}",
            EROOM_VERSION, config.agent_id, config.uplink.collector_address,
            config.eroom_dir);
        (*agent)->Start();
        std::shared_ptr<Agent> running = std::move(*agent);
        return eroom::RunningDaemon{.stop = [running] { running->Stop(); }};
      });
}
