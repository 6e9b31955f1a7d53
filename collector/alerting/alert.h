#ifndef EROOM_COLLECTOR_ALERTING_ALERT_H_
#define EROOM_COLLECTOR_ALERTING_ALERT_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "collector/alerting/alert_rule.h"

namespace eroom::collector::alerting {

// One alert: a rule, a host, and the group within them ("" for most rules;
// the message shape, the ruid or the series' labels for the others).
struct AlertKey {
  std::string rule;
  std::string agent_id;
  std::string group;

  friend bool operator==(const AlertKey&, const AlertKey&) = default;
  friend auto operator<=>(const AlertKey&, const AlertKey&) = default;
};

enum class AlertState { kPending, kFiring, kResolved };
// "pending", "firing", "resolved".
std::string_view AlertStateName(AlertState state);

struct Alert {
  int64_t id = 0;  // Assigned by the store when first saved; 0 before.
  AlertKey key;
  AlertState state = AlertState::kPending;
  Severity severity = Severity::kWarning;
  // The rule's labels plus alertname, host (the hostname), agent_id,
  // severity and group when set: what silences and routes match.
  std::map<std::string, std::string> labels;
  std::string summary;  // Rendered with the latest value.
  double value = 0;     // The latest evaluated value.
  int64_t count = 0;    // Matching events since it became pending.
  absl::Time pending_since = absl::InfinitePast();
  absl::Time firing_since = absl::InfinitePast();
  absl::Time resolved_at = absl::InfinitePast();
  absl::Time last_evaluated = absl::InfinitePast();
  // Set by an operator; stops repeats until the alert resolves.
  std::string acknowledged_by;
  std::string ack_comment;
  absl::Time acknowledged_at = absl::InfinitePast();
  // The last successful notification of it (for repeats after a restart).
  absl::Time last_notified_at = absl::InfinitePast();
};

// A change of one alert, as the engine reports it, the store records it
// (its history) and the notifier sends it: pending (recorded, not sent),
// firing, resolved (sent only if it had fired; a pending alert whose
// condition cleared resolves silently), or updated while firing (value,
// count, summary: recorded, sent with the next repeat).
struct AlertEvent {
  enum class Kind { kPending, kFiring, kResolved, kUpdated };
  Kind kind = Kind::kFiring;
  Alert alert;
  absl::Time at;
  // Its host is down (a rule with inhibits_host fires for it), or its
  // rule is quiet_during_restart and its host restarting ERoom: recorded,
  // not notified.
  bool inhibited = false;
};

// label=value, label!=value, label=~regex, label!~regex.
struct LabelMatcher {
  enum class Op { kEqual, kNotEqual, kRegex, kNotRegex };
  std::string label;
  Op op = Op::kEqual;
  std::string value;
};

struct Silence {
  int64_t id = 0;                      // Assigned by the store.
  std::vector<LabelMatcher> matchers;  // All must match.
  std::string comment;
  std::string created_by;
  absl::Time starts_at;
  absl::Time ends_at;
  std::string expired_by;  // Set when expired early.
};

// One attempt to deliver one notification to one receiver.
struct DeliveryRecord {
  int64_t alert_id = 0;
  std::string receiver;
  AlertEvent::Kind kind = AlertEvent::Kind::kFiring;
  int attempt = 1;
  absl::Time at;
  bool ok = false;
  std::string error;  // Never contains a secret.
};

// A rule as `eroomctl rules` shows it.
struct RuleStatus {
  std::string rule;
  std::string kind;
  Severity severity = Severity::kWarning;
  absl::Time last_evaluated = absl::InfinitePast();
  std::string last_error;
  // Its alerts that are pending or firing.
  std::vector<Alert> active;
};

}  // namespace eroom::collector::alerting

#endif  // EROOM_COLLECTOR_ALERTING_ALERT_H_
