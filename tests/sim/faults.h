#ifndef EROOM_TESTS_SIM_FAULTS_H_
#define EROOM_TESTS_SIM_FAULTS_H_

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace eroom::sim {

// Misbehaviours the sim can be told to show, by --fault or POST /_sim/fault.
enum class Fault {
  kHealth500,     // GET /health answers 500.
  kHealthHang,    // GET /health does not answer for 60 s.
  kFatal,         // Claude 529 fatal shutdown; the process exits 1.
  kErrorBurst,    // 50 ERROR lines at once, then off again.
  kMemoryGrowth,  // RSS grows ~8 MB per second up to 512 MB.
  kSlowApi,       // Every response is delayed 800 ms.
};

std::optional<Fault> ParseFault(absl::string_view name);
absl::string_view FaultName(Fault fault);
// Every fault name, for help texts and error messages.
std::vector<std::string> AllFaultNames();

// The faults currently in effect. Also the place where request handlers wait
// out a hang or a delay: waits end early when the fault is cleared or the
// server shuts down, so neither blocks a stop.
class FaultSet {
 public:
  void Set(Fault fault, bool enabled);
  bool Has(Fault fault) const;
  std::vector<std::string> Names() const;

  // Sleeps up to `duration`; returns early once Shutdown() is called or, when
  // `while_enabled` is given, once that fault is cleared.
  void Wait(absl::Duration duration,
            std::optional<Fault> while_enabled = std::nullopt) const;
  void Shutdown();
  bool shutting_down() const;

 private:
  mutable absl::Mutex mu_;
  std::set<Fault> enabled_ ABSL_GUARDED_BY(mu_);
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace eroom::sim

#endif  // EROOM_TESTS_SIM_FAULTS_H_
