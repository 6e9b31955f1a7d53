#include "collector/alerting/alert.h"

namespace eroom::collector::alerting {

std::string_view AlertStateName(AlertState state) {
  switch (state) {
    case AlertState::kPending:
      return "pending";
    case AlertState::kFiring:
      return "firing";
    case AlertState::kResolved:
      return "resolved";
  }
  return "pending";
}

}  // namespace eroom::collector::alerting
