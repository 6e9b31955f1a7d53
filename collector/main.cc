#include <memory>

#include "collector/collector.h"
#include "collector/collector_config.h"
#include "common/daemon_main.h"

int main(int argc, char** argv) {
  using eroom::collector::Collector;
  using eroom::collector::CollectorConfig;
  return eroom::RunDaemon<CollectorConfig>(
      argc, argv, "eroom-collector",
      "eroom-collector: stores and serves what eroom-agents send",
      eroom::collector::LoadCollectorConfig,
      [](const CollectorConfig& config) {
        return config.security.certificate_warnings;
      },
      [](const CollectorConfig& config)
          -> absl::StatusOr<eroom::RunningDaemon> {
        absl::StatusOr<std::unique_ptr<Collector>> collector =
            Collector::Start(config, eroom::RealClock::Get());
        if (!collector.ok()) return collector.status();
        std::shared_ptr<Collector> running = std::move(*collector);
        return eroom::RunningDaemon{
            .stop = [running] { running->Stop(); },
            .reload = [running] { running->ReloadRules(); }};
      });
}
