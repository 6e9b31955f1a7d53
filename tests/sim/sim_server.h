#ifndef EROOM_TESTS_SIM_SIM_SERVER_H_
#define EROOM_TESTS_SIM_SIM_SERVER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "tests/sim/faults.h"
#include "tests/sim/http_api.h"
#include "tests/sim/log_writer.h"
#include "tests/sim/room_queue.h"
#include "tests/sim/room_simulator.h"

namespace eroom::sim {

// The eroom-sim command line.
struct SimOptions {
  std::string dir;  // The ERoom directory: logs/, server.pid, scripts/.
  std::string bind = "127.0.0.1";
  int port = 8080;  // 0 picks a free port.
  double speed = 1;
  // nullopt: started without EROOM_PRIVATE_KEY, so every request is refused.
  std::optional<std::string> api_key;
  double rooms_per_minute = 0;   // Wall-clock rate of generated requests.
  std::optional<uint64_t> seed;  // Random when unset.
  double failure_rate = 0.1;
  Generation generation = Generation::kOld;
  std::vector<Fault> faults;  // Switched on right after start.
};

// The whole ERoom stand-in: startup and shutdown log sequences, the queue,
// the HTTP API, the request generator and the faults.
class SimServer {
 public:
  SimServer(const Clock& clock, LogSink& sink, absl::TimeZone zone,
            SimOptions options);
  SimServer(const SimServer&) = delete;
  SimServer& operator=(const SimServer&) = delete;
  ~SimServer();

  // Logs ERoom's startup, starts the worker and the HTTP server, then
  // applies the --fault faults.
  absl::Status Start();
  // The bound HTTP port (after Start).
  int port() const { return port_; }

  // Asks the process to exit with `exit_code`; the first request wins.
  void RequestExit(int exit_code);
  // Blocks until RequestExit (a signal, or the fatal fault); returns the
  // exit code.
  int WaitForExitRequest();
  // Logs ERoom's shutdown sequence and stops every thread. Idempotent.
  void Stop();

  // Switches a fault: fatal and error_burst act at once, the others stay in
  // effect until switched off.
  void SwitchFault(Fault fault, bool enabled);

 private:
  void LogStartup();
  void LogFatal();
  void LogErrorBurst();
  void RunRequestGenerator();
  void RunMemoryGrowth();

  const SimOptions options_;
  const uint64_t seed_;
  EventLog log_;
  FaultSet faults_;
  RoomQueue queue_;
  HttpApi http_;
  int port_ = 0;

  absl::Mutex exit_mu_;
  std::optional<int> exit_code_ ABSL_GUARDED_BY(exit_mu_);

  bool started_ = false;
  bool stopped_ = false;
  absl::Notification stop_threads_;
  std::thread generator_;
  std::thread memory_grower_;
};

}  // namespace eroom::sim

#endif  // EROOM_TESTS_SIM_SIM_SERVER_H_
