#ifndef EROOM_COLLECTOR_ALERTING_NOTIFIER_H_
#define EROOM_COLLECTOR_ALERTING_NOTIFIER_H_

#include <cstdint>
#include <vector>

#include "collector/alerting/alert.h"

namespace eroom::collector::alerting {

// Where the rule thread hands alert changes to be sent. Implementations
// never block the caller: a change they cannot take is counted and logged.
class Notifier {
 public:
  virtual ~Notifier() = default;
  virtual void Notify(const AlertEvent& event) = 0;
  // The silences in force (after a restart, an add or an expiry).
  virtual void SetSilences(std::vector<Silence> silences) = 0;
  // An operator acknowledged the alert: no repeats until it resolves.
  virtual void Acknowledged(int64_t alert_id) = 0;
};

}  // namespace eroom::collector::alerting

#endif  // EROOM_COLLECTOR_ALERTING_NOTIFIER_H_
