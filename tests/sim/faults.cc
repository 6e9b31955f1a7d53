#include "tests/sim/faults.h"

#include <array>
#include <utility>

namespace eroom::sim {
namespace {

constexpr std::array<std::pair<Fault, absl::string_view>, 6> kFaultNames = {{
    {Fault::kHealth500, "health_500"},
    {Fault::kHealthHang, "health_hang"},
    {Fault::kFatal, "fatal"},
    {Fault::kErrorBurst, "error_burst"},
    {Fault::kMemoryGrowth, "memory_growth"},
    {Fault::kSlowApi, "slow_api"},
}};

}  // namespace

std::optional<Fault> ParseFault(absl::string_view name) {
  for (const auto& [fault, fault_name] : kFaultNames) {
    if (fault_name == name) return fault;
  }
  return std::nullopt;
}

absl::string_view FaultName(Fault fault) {
  for (const auto& [candidate, name] : kFaultNames) {
    if (candidate == fault) return name;
  }
  return "unknown";
}

std::vector<std::string> AllFaultNames() {
  std::vector<std::string> names;
  for (const auto& entry : kFaultNames) names.emplace_back(entry.second);
  return names;
}

void FaultSet::Set(Fault fault, bool enabled) {
  absl::MutexLock lock(&mu_);
  if (enabled) {
    enabled_.insert(fault);
  } else {
    enabled_.erase(fault);
  }
}

bool FaultSet::Has(Fault fault) const {
  absl::MutexLock lock(&mu_);
  return enabled_.contains(fault);
}

std::vector<std::string> FaultSet::Names() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> names;
  for (Fault fault : enabled_) names.emplace_back(FaultName(fault));
  return names;
}

void FaultSet::Wait(absl::Duration duration,
                    std::optional<Fault> while_enabled) const {
  absl::MutexLock lock(&mu_);
  auto done = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return shutting_down_ ||
           (while_enabled.has_value() && !enabled_.contains(*while_enabled));
  };
  mu_.AwaitWithTimeout(absl::Condition(&done), duration);
}

void FaultSet::Shutdown() {
  absl::MutexLock lock(&mu_);
  shutting_down_ = true;
}

bool FaultSet::shutting_down() const {
  absl::MutexLock lock(&mu_);
  return shutting_down_;
}

}  // namespace eroom::sim
