#ifndef EROOM_TESTS_SIM_SIM_DIR_H_
#define EROOM_TESTS_SIM_SIM_DIR_H_

#include <string>

#include "absl/status/status.h"
#include "tests/sim/sim_server.h"

namespace eroom::sim {

// The command that starts this sim again with `options`, shell-quoted. Leave
// options.api_key unset for a key that comes from EROOM_PRIVATE_KEY: like
// ERoom's, a restarted sim then takes it from its environment again.
std::string SimCommandLine(const SimOptions& options,
                           const std::string& sim_binary);

// Lays out options.dir (an absolute path) like an ERoom install: logs/ and
// executable scripts/start.sh and scripts/stop.sh that start the sim in the
// background (appending to logs/server.log, its pid into server.pid) and stop
// it with SIGTERM, waiting up to 15 s.
absl::Status PrepareSimDir(const SimOptions& options,
                           const std::string& sim_binary);

// Writes this process's pid to DIR/server.pid, once it is serving (a sim that
// fails to start must not take over the pid file of a running one).
absl::Status WritePidFile(const std::string& dir);

}  // namespace eroom::sim

#endif  // EROOM_TESTS_SIM_SIM_DIR_H_
