#include "collector/alerting/notification_planner.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"

namespace eroom::collector::alerting {
namespace {

bool Acknowledged(const Alert& alert) {
  return !alert.acknowledged_by.empty() ||
         alert.acknowledged_at != absl::InfinitePast();
}

// Its firing was sent before a restart: last_notified_at is of this firing.
bool NotifiedBefore(const Alert& alert) {
  return alert.last_notified_at != absl::InfinitePast() &&
         alert.last_notified_at >= alert.firing_since;
}

// A change the group has not sent yet: an alert that fired, or one whose
// firing was sent and that resolved.
template <typename Entry>
bool Unsent(const Entry& e) {
  if (e.silenced) return false;
  return e.firing ? !e.inhibited && !e.notified : e.notified;
}

template <typename Entry>
bool Repeatable(const Entry& e) {
  return e.firing && e.notified && !e.inhibited && !e.silenced &&
         !e.acknowledged;
}

}  // namespace

int Notification::FiringCount() const {
  return static_cast<int>(std::count_if(
      alerts.begin(), alerts.end(),
      [](const Alert& a) { return a.state == AlertState::kFiring; }));
}

std::map<std::string, std::string> Notification::CommonLabels() const {
  if (alerts.empty()) return {};
  std::map<std::string, std::string> common = alerts.front().labels;
  for (const Alert& alert : alerts) {
    std::erase_if(common, [&](const auto& label) {
      auto it = alert.labels.find(label.first);
      return it == alert.labels.end() || it->second != label.second;
    });
  }
  return common;
}

absl::StatusOr<std::unique_ptr<NotificationPlanner>>
NotificationPlanner::Create(const NotificationConfig& config) {
  std::unique_ptr<NotificationPlanner> planner(new NotificationPlanner());
  for (const RouteConfig& route : config.routes) {
    EROOM_ASSIGN_OR_RETURN(LabelSelector selector,
                           LabelSelector::Create(route.matchers));
    planner->routes_.push_back(
        Route{.severities = route.severities,
              .selector = std::move(selector),
              .receivers = route.receivers,
              .continue_matching = route.continue_matching,
              .timing = route.timing});
  }
  if (!config.default_receivers.empty()) {
    planner->routes_.push_back(Route{.severities = {},
                                     .selector = LabelSelector(),
                                     .receivers = config.default_receivers,
                                     .continue_matching = false,
                                     .timing = config.timing});
    planner->has_default_route_ = true;
  }
  return planner;
}

std::vector<size_t> NotificationPlanner::RoutesFor(const Alert& alert) const {
  std::vector<size_t> matched;
  const size_t explicit_routes = routes_.size() - (has_default_route_ ? 1 : 0);
  for (size_t i = 0; i < explicit_routes; ++i) {
    const Route& route = routes_[i];
    if (!route.severities.empty() &&
        std::find(route.severities.begin(), route.severities.end(),
                  alert.severity) == route.severities.end()) {
      continue;
    }
    if (!route.selector.Matches(alert.labels)) continue;
    matched.push_back(i);
    if (!route.continue_matching) break;
  }
  if (matched.empty() && has_default_route_) {
    matched.push_back(routes_.size() - 1);
  }
  return matched;
}

bool NotificationPlanner::Silenced(
    const std::map<std::string, std::string>& labels, absl::Time now) const {
  return std::any_of(
      silences_.begin(), silences_.end(), [&](const ActiveSilence& silence) {
        return silence.starts_at <= now && now < silence.ends_at &&
               silence.selector.Matches(labels);
      });
}

void NotificationPlanner::RefreshSilenced(absl::Time now) {
  for (auto& [key, group] : groups_) {
    for (auto& [alert_key, entry] : group.entries) {
      entry.silenced = Silenced(entry.alert.labels, now);
    }
  }
}

void NotificationPlanner::Add(const AlertEvent& event, absl::Time now) {
  now_ = std::max(now_, now);
  if (event.kind == AlertEvent::Kind::kPending) return;
  for (size_t route_index : RoutesFor(event.alert)) {
    const Route& route = routes_[route_index];
    std::map<std::string, std::string> group_labels;
    std::vector<std::string> parts;
    for (const std::string& name : route.timing.group_by) {
      auto it = event.alert.labels.find(name);
      const std::string value =
          it == event.alert.labels.end() ? "" : it->second;
      group_labels[name] = value;
      parts.push_back(absl::StrCat(name, "=\"", value, "\""));
    }
    const std::string key =
        absl::StrCat(route_index, ":{", absl::StrJoin(parts, ","), "}");
    auto [it, created] = groups_.try_emplace(key);
    Group& group = it->second;
    if (created) {
      group.route = route_index;
      group.labels = std::move(group_labels);
      group.created = now;
    }
    AddToGroup(group, event, now);
    if (group.entries.empty()) groups_.erase(it);
  }
}

void NotificationPlanner::AddToGroup(Group& group, const AlertEvent& event,
                                     absl::Time now) {
  const Alert& alert = event.alert;
  auto it = group.entries.find(alert.key);
  if (event.kind == AlertEvent::Kind::kResolved) {
    if (it == group.entries.end()) return;
    Entry& entry = it->second;
    if (!entry.notified || event.inhibited) {
      group.entries.erase(it);
      return;
    }
    entry.alert = alert;
    entry.firing = false;
    return;
  }
  if (it == group.entries.end()) {
    if (event.kind == AlertEvent::Kind::kUpdated &&
        alert.state != AlertState::kFiring) {
      return;
    }
    Entry entry;
    if (NotifiedBefore(alert)) {
      entry.notified = true;
      group.last_sent = std::max(group.last_sent, alert.last_notified_at);
    }
    it = group.entries.emplace(alert.key, std::move(entry)).first;
  }
  Entry& entry = it->second;
  if (!entry.firing || event.kind == AlertEvent::Kind::kFiring) {
    // Fired (again): an acknowledgement of an earlier firing is void.
    entry.acknowledged = false;
  }
  entry.alert = alert;
  entry.firing = true;
  entry.inhibited = event.inhibited;
  entry.acknowledged = entry.acknowledged || Acknowledged(alert);
  entry.silenced = Silenced(alert.labels, now);
}

absl::Status NotificationPlanner::SetSilences(
    const std::vector<Silence>& silences, absl::Time now) {
  now_ = std::max(now_, now);
  silences_.clear();
  absl::Status result;
  for (const Silence& silence : silences) {
    absl::StatusOr<LabelSelector> selector =
        LabelSelector::Create(silence.matchers);
    if (!selector.ok()) {
      result.Update(absl::InvalidArgumentError(absl::StrCat(
          "silence ", silence.id, ": ", selector.status().message())));
      continue;
    }
    silences_.push_back(ActiveSilence{.starts_at = silence.starts_at,
                                      .ends_at = silence.ends_at,
                                      .selector = *std::move(selector)});
  }
  RefreshSilenced(now);
  return result;
}

void NotificationPlanner::Acknowledge(int64_t alert_id) {
  for (auto& [key, group] : groups_) {
    for (auto& [alert_key, entry] : group.entries) {
      if (entry.alert.id == alert_id && entry.firing) {
        entry.acknowledged = true;
      }
    }
  }
}

absl::Time NotificationPlanner::GroupDeadline(const Group& group) const {
  const GroupTiming& timing = routes_[group.route].timing;
  bool unsent = false;
  bool repeatable = false;
  for (const auto& [key, entry] : group.entries) {
    unsent = unsent || Unsent(entry);
    repeatable = repeatable || Repeatable(entry);
  }
  if (unsent) {
    return group.last_sent == absl::InfinitePast()
               ? group.created + timing.group_wait
               : group.last_sent + timing.group_interval;
  }
  if (repeatable) return group.last_sent + timing.repeat_interval;
  return absl::InfiniteFuture();
}

std::vector<Notification> NotificationPlanner::Due(absl::Time now) {
  now_ = std::max(now_, now);
  RefreshSilenced(now);
  std::vector<Notification> due;
  for (auto it = groups_.begin(); it != groups_.end();) {
    Group& group = it->second;
    if (GroupDeadline(group) <= now) {
      Notification message{.group_key = it->first,
                           .group_labels = group.labels,
                           .receivers = routes_[group.route].receivers,
                           .alerts = {},
                           .at = now};
      std::vector<Alert> resolved;
      for (auto& [key, entry] : group.entries) {
        if (entry.silenced) continue;
        if (entry.firing && !entry.inhibited) {
          message.alerts.push_back(entry.alert);
          entry.notified = true;
        } else if (!entry.firing && entry.notified) {
          resolved.push_back(entry.alert);
          entry.notified = false;
        }
      }
      message.alerts.insert(message.alerts.end(), resolved.begin(),
                            resolved.end());
      group.last_sent = now;
      due.push_back(std::move(message));
    }
    // Resolutions sent, or never to be sent (silenced), are done with.
    std::erase_if(group.entries, [](const auto& item) {
      const Entry& entry = item.second;
      return !entry.firing && (!entry.notified || entry.silenced);
    });
    it = group.entries.empty() ? groups_.erase(it) : std::next(it);
  }
  return due;
}

absl::Time NotificationPlanner::NextDeadline() const {
  absl::Time next = absl::InfiniteFuture();
  bool any_silenced = false;
  for (const auto& [key, group] : groups_) {
    next = std::min(next, GroupDeadline(group));
    for (const auto& [alert_key, entry] : group.entries) {
      any_silenced = any_silenced || entry.silenced;
    }
  }
  if (any_silenced) {
    for (const ActiveSilence& silence : silences_) {
      if (silence.ends_at > now_) next = std::min(next, silence.ends_at);
    }
  }
  return next;
}

}  // namespace eroom::collector::alerting
