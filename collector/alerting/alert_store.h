#ifndef EROOM_COLLECTOR_ALERTING_ALERT_STORE_H_
#define EROOM_COLLECTOR_ALERTING_ALERT_STORE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "collector/alerting/alert.h"

namespace eroom::collector::alerting {

// Where alert state, history, acknowledgements, silences and the
// notification log live, so that a collector restart neither re-notifies
// nor forgets a firing alert. Thread-safe: the rule thread, the delivery
// threads and query workers all use it.
class AlertStore {
 public:
  virtual ~AlertStore() = default;

  // Alerts pending or firing, each with its acknowledgement and
  // last_notified_at, for the engine and the notifier to resume.
  virtual absl::StatusOr<std::vector<Alert>> LoadActive() = 0;
  // Records one change: the alert's state (never its acknowledgement) and
  // one history entry for pending, firing and resolved. Returns the alert's
  // id, assigned on its first save (event.alert.id == 0).
  virtual absl::StatusOr<int64_t> Save(const AlertEvent& event) = 0;
  // Save of each event in order; their ids in the same order. The SQLite
  // store writes them in one transaction (one disk sync, all or none): the
  // rule thread saves what one evaluation changed at once.
  virtual absl::StatusOr<std::vector<int64_t>> SaveAll(
      const std::vector<AlertEvent>& events) {
    std::vector<int64_t> ids;
    for (const AlertEvent& event : events) {
      absl::StatusOr<int64_t> id = Save(event);
      if (!id.ok()) return id.status();
      ids.push_back(*id);
    }
    return ids;
  }
  // NotFound for an unknown id; FailedPrecondition once it resolved.
  virtual absl::Status Acknowledge(int64_t alert_id, const std::string& by,
                                   const std::string& comment,
                                   absl::Time at) = 0;
  // Changes at or after `since`, newest first, at most `limit`; of one
  // host when `agent_id` is set.
  virtual absl::StatusOr<std::vector<AlertEvent>> History(
      absl::Time since, int limit, const std::string& agent_id) = 0;

  // Returns the silence's id.
  virtual absl::StatusOr<int64_t> AddSilence(const Silence& silence) = 0;
  // Ends it at `at`. NotFound for an unknown id; FailedPrecondition once it
  // ended.
  virtual absl::Status ExpireSilence(int64_t silence_id, const std::string& by,
                                     absl::Time at) = 0;
  // Silences not yet ended at `at`; every silence when `at` is
  // InfinitePast().
  virtual absl::StatusOr<std::vector<Silence>> Silences(absl::Time at) = 0;

  virtual absl::Status RecordDelivery(const DeliveryRecord& record) = 0;
  // Newest first.
  virtual absl::StatusOr<std::vector<DeliveryRecord>> Deliveries(
      int64_t alert_id) = 0;
};

}  // namespace eroom::collector::alerting

#endif  // EROOM_COLLECTOR_ALERTING_ALERT_STORE_H_
