#ifndef EROOM_COLLECTOR_ALERTING_NOTIFICATION_H_
#define EROOM_COLLECTOR_ALERTING_NOTIFICATION_H_

#include <map>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "collector/alerting/alert.h"

namespace eroom::collector::alerting {

// One message: the alerts of one group of one route, as its receivers are
// sent it. Each receiver renders it its own way (notification_render.h).
struct Notification {
  // The route and the group's label values; stable across messages.
  std::string group_key;
  // The values of the route's group_by labels.
  std::map<std::string, std::string> group_labels;
  std::vector<std::string> receivers;
  // Firing alerts first, then those resolved since the last message; each
  // alert's state says which.
  std::vector<Alert> alerts;
  absl::Time at;

  int FiringCount() const;
  // The labels every alert has with the same value.
  std::map<std::string, std::string> CommonLabels() const;
};

}  // namespace eroom::collector::alerting

#endif  // EROOM_COLLECTOR_ALERTING_NOTIFICATION_H_
