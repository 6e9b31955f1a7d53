#ifndef EROOM_COLLECTOR_ALERTING_NOTIFICATION_PLANNER_H_
#define EROOM_COLLECTOR_ALERTING_NOTIFICATION_PLANNER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "collector/alerting/alert.h"
#include "collector/alerting/label_matcher.h"
#include "collector/alerting/notification.h"
#include "collector/alerting/notification_config.h"

namespace eroom::collector::alerting {

// Decides which messages are sent when: routes alert changes into groups
// (per route, by its group_by labels) and applies the timing. Pure: every
// call takes the time, nothing waits, so tests drive it with explicit
// times. Not thread-safe.
//
// - A new group's first message waits group_wait (more alerts may join).
// - A group that changed (an alert fired, or one that was sent resolved) is
//   sent again group_interval after its last message.
// - A group still firing, unchanged, is repeated every repeat_interval,
//   unless each of its firing alerts is acknowledged.
// - Pending changes, inhibited changes and silenced alerts are not sent; a
//   resolution is sent only for an alert whose firing was. An alert resumed
//   after a restart (last_notified_at since it fired) is not sent again
//   before its repeat is due.
class NotificationPlanner {
 public:
  // InvalidArgument if a route's matcher does not compile.
  static absl::StatusOr<std::unique_ptr<NotificationPlanner>> Create(
      const NotificationConfig& config);

  void Add(const AlertEvent& event, absl::Time now);
  // Replaces the silences. A silence whose matchers do not compile is
  // ignored and reported as InvalidArgument; the others still apply.
  absl::Status SetSilences(const std::vector<Silence>& silences,
                           absl::Time now);
  // No more repeats for this alert until it fires again.
  void Acknowledge(int64_t alert_id);

  // The messages due at `now`, each marked sent.
  std::vector<Notification> Due(absl::Time now);
  // When Due() next has something to return, or when a silence ends;
  // InfiniteFuture when nothing waits.
  absl::Time NextDeadline() const;

  size_t group_count() const { return groups_.size(); }

 private:
  struct Route {
    std::vector<Severity> severities;
    LabelSelector selector;
    std::vector<std::string> receivers;
    bool continue_matching = false;
    GroupTiming timing;
  };
  struct ActiveSilence {
    absl::Time starts_at;
    absl::Time ends_at;
    LabelSelector selector;
  };
  struct Entry {
    Alert alert;
    bool firing = true;
    bool inhibited = false;
    bool acknowledged = false;
    bool silenced = false;  // As of the last Add, SetSilences or Due.
    bool notified = false;  // Its firing was sent.
  };
  struct Group {
    size_t route = 0;
    std::map<std::string, std::string> labels;
    absl::Time created;
    absl::Time last_sent = absl::InfinitePast();
    std::map<AlertKey, Entry> entries;
  };

  NotificationPlanner() = default;
  std::vector<size_t> RoutesFor(const Alert& alert) const;
  bool Silenced(const std::map<std::string, std::string>& labels,
                absl::Time now) const;
  void RefreshSilenced(absl::Time now);
  absl::Time GroupDeadline(const Group& group) const;
  void AddToGroup(Group& group, const AlertEvent& event, absl::Time now);

  std::vector<Route> routes_;  // The default route last, if any.
  bool has_default_route_ = false;
  std::vector<ActiveSilence> silences_;
  std::map<std::string, Group> groups_;
  absl::Time now_ = absl::InfinitePast();  // The latest time seen.
};

}  // namespace eroom::collector::alerting

#endif  // EROOM_COLLECTOR_ALERTING_NOTIFICATION_PLANNER_H_
