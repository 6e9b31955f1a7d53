#ifndef EROOM_AGENT_RESOURCE_SAMPLER_H_
#define EROOM_AGENT_RESOURCE_SAMPLER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "eroom/monitor/v1/monitor.pb.h"

namespace eroom::agent {

struct SamplerOptions {
  // Where procfs is mounted; tests point it at a fixture tree.
  std::string proc_root = "/proc";
  // Mount points whose usage is reported.
  std::vector<std::string> mounts = {"/"};
  // ERoom's pid file (server.pid in the ERoom directory); checked first. Its
  // pid counts while it is alive (exists and is not a zombie).
  std::string pid_file;
  // Substring of the ERoom process's command line, used when the pid file
  // is missing or stale. Empty: trust the pid file alone, never scan.
  std::string process_match = "eroom-server.jar";
  // The port ERoom listens on.
  int port = 8080;
};

// Samples host and ERoom process resources from procfs and statvfs. CPU
// percentages are computed between consecutive calls (the first reports 0).
// Not thread-safe: owned by the agent's sampler thread.
class ResourceSampler {
 public:
  static std::unique_ptr<ResourceSampler> Create(SamplerOptions options,
                                                 const Clock& clock);
  virtual ~ResourceSampler() = default;
  virtual eroom::monitor::v1::ResourceSample Sample() = 0;
  // Reads that failed or did not parse since creation (each leaves its field
  // 0 and is logged once per source). Fakes need not count.
  virtual uint64_t failed_reads() const { return 0; }
};

}  // namespace eroom::agent

#endif  // EROOM_AGENT_RESOURCE_SAMPLER_H_
