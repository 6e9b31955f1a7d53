#ifndef EROOM_COLLECTOR_ALERTING_ALERT_ADMIN_H_
#define EROOM_COLLECTOR_ALERTING_ALERT_ADMIN_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "collector/alerting/alert.h"

namespace eroom::collector::alerting {

// What the query service asks of alerting (eroomctl alerts, silence,
// rules). Called on query worker threads; thread-safe.
class AlertAdmin {
 public:
  virtual ~AlertAdmin() = default;
  // Pending and firing alerts; of one host when agent_id is set.
  virtual absl::StatusOr<std::vector<Alert>> ActiveAlerts(
      const std::string& agent_id) = 0;
  // Changes at or after `since`, newest first, at most `limit`; of one
  // host when agent_id is set.
  virtual absl::StatusOr<std::vector<AlertEvent>> History(
      absl::Time since, int limit, const std::string& agent_id) = 0;
  virtual absl::Status Acknowledge(int64_t alert_id, const std::string& by,
                                   const std::string& comment) = 0;
  virtual absl::StatusOr<Silence> AddSilence(Silence silence) = 0;
  virtual absl::StatusOr<std::vector<Silence>> Silences(bool include_ended) = 0;
  virtual absl::Status ExpireSilence(int64_t silence_id,
                                     const std::string& by) = 0;
  virtual std::vector<RuleStatus> Rules() = 0;
};

}  // namespace eroom::collector::alerting

#endif  // EROOM_COLLECTOR_ALERTING_ALERT_ADMIN_H_
