#ifndef EROOM_COLLECTOR_ALERTING_ALERT_RULE_H_
#define EROOM_COLLECTOR_ALERTING_ALERT_RULE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/time/time.h"
#include "eroom/monitor/v1/monitor.pb.h"

// The operators' alert rules as the collector evaluates them: a few typed
// kinds, each read from the `rules:` of the collector's config
// (collector/alerting/rule_config.h) and evaluated by the rule engine
// (collector/alerting/rule_engine.h).
namespace eroom::collector::alerting {

enum class Severity { kInfo = 1, kWarning = 2, kCritical = 3 };
// "info", "warning", "critical".
std::string_view SeverityName(Severity severity);
std::optional<Severity> ParseSeverity(std::string_view name);

// An observed value compared with a threshold: `value > 500`.
struct Condition {
  enum class Op { kGreater, kGreaterOrEqual, kLess, kLessOrEqual };
  Op op = Op::kGreater;
  double threshold = 0;

  bool Holds(double value) const;
};
// ">", ">=", "<", "<=".
std::string_view OpName(Condition::Op op);
std::optional<Condition::Op> ParseOp(std::string_view name);

enum class Aggregation { kLast, kAvg, kMin, kMax, kSum, kCount, kP95, kP99 };
// "last", "avg", "min", "max", "sum", "count", "p95", "p99".
std::string_view AggregationName(Aggregation aggregation);
std::optional<Aggregation> ParseAggregation(std::string_view name);

// Which stored log events a rule looks at. Every set part must match.
struct EventMatch {
  std::vector<std::string> event_types;              // Empty: any type.
  std::vector<eroom::monitor::v1::LogLevel> levels;  // Empty: any level.
  std::string message_regex;  // RE2, unanchored; empty: any message.
  // Fields that must have exactly these values, e.g. {outcome: failure}.
  std::map<std::string, std::string> fields;
};

// A metric of each host, aggregated over a window: "probe.health.latency_ms
// p95 over 5m > 500". One alert per host and label set of the metric (disk
// metrics carry {mount}).
struct ThresholdRule {
  std::string metric;  // One of eroom::KnownMetricNames().
  // Labels a series must have; empty: every series of the metric.
  std::map<std::string, std::string> label_match;
  Aggregation aggregation = Aggregation::kLast;
  // The points of the last `window`, or, when `samples` > 0, the last
  // `samples` points ("3 failed probes in a row" is max over 3 samples < 1).
  absl::Duration window = absl::ZeroDuration();
  int samples = 0;
};

// Matching events over denominator events of each host within a window:
// failed rooms / finished rooms over 1h. Not evaluated (no alert, no
// resolution) while the denominator counts fewer than `min_denominator`.
struct RatioRule {
  EventMatch numerator;
  EventMatch denominator;
  absl::Duration window = absl::Hours(1);
  int64_t min_denominator = 1;
};

// Nothing of a host for `after`: no data at all (host down, the heartbeat
// timeout), no point of `metric`, or no event matching `event`.
struct AbsenceRule {
  std::string metric;               // Set: absence of this metric.
  std::optional<EventMatch> event;  // Set: absence of such events.
  absl::Duration after = absl::Seconds(30);
};

// Events matching `match`, counted per host over `window`; the rule's
// condition is applied to the count (default: count >= 1). With
// `group_by_message_shape`, one alert per host and message shape: the first
// line with numbers, hex ids and room ids masked, so 500 identical errors
// are one alert with a count.
struct LogMatchRule {
  EventMatch match;
  absl::Duration window = absl::Minutes(5);
  bool group_by_message_shape = false;
};

// How long a room took or is taking, one alert per room (its ruid).
struct RoomDurationRule {
  enum class Measure {
    kProcessing,  // The outcome event's processing_ms.
    kQueueWait,   // queue_wait_ms of the room's events.
    kRunning,     // Started and without an outcome yet: fires while running.
  };
  Measure measure = Measure::kProcessing;
};
// "processing", "queue_wait", "running".
std::string_view MeasureName(RoomDurationRule::Measure measure);

using RuleKind = std::variant<ThresholdRule, RatioRule, AbsenceRule,
                              LogMatchRule, RoomDurationRule>;
// "threshold", "ratio", "absence", "log_match", "room_duration".
std::string_view KindName(const RuleKind& kind);

// What changes for the hosts an override names.
struct HostOverride {
  std::string host;  // An agent id or a hostname.
  bool disabled = false;
  std::optional<Condition> condition;
  std::optional<Condition> recovery;
  std::optional<absl::Duration> for_duration;
};

// The longest a restart keeps quiet_during_restart rules quiet, should its
// end never be reported.
inline constexpr absl::Duration kMaxRestartQuiet = absl::Minutes(30);

struct AlertRule {
  std::string name;         // Unique across all rule files.
  std::string source_file;  // Where it was read, for messages.
  Severity severity = Severity::kWarning;
  std::map<std::string, std::string> labels;
  // Rendered for each alert: {{host}}, {{value}}, {{threshold}}, {{count}},
  // {{rule}}, {{severity}}, {{group}}, {{labels.NAME}}.
  std::string summary;
  RuleKind kind;
  // When it holds, the alert is pending, and firing once it held for
  // `for_duration`. Values are milliseconds for durations (room times, probe
  // latency), percent for ratios (5 = 5 %), counts for log matches.
  // Absence rules have none (the absence is the condition).
  std::optional<Condition> condition;
  // Hysteresis: a firing alert resolves only when this holds; unset: when
  // `condition` stops holding.
  std::optional<Condition> recovery;
  absl::Duration for_duration = absl::ZeroDuration();
  // A firing alert whose condition cleared stays firing this long.
  absl::Duration keep_firing_for = absl::ZeroDuration();
  // While this rule fires for a host, that host's other alerts do not
  // notify (host down).
  bool inhibits_host = false;
  // While the host's agent restarts ERoom (from its restart_started or
  // auto_restart_attempt notice to the restart's end, kMaxRestartQuiet at
  // most), this rule's alerts of that host do not notify: a host's own
  // restart is not an incident. Those still firing when it ends notify then.
  bool quiet_during_restart = false;
  std::vector<HostOverride> overrides;
};

// The rules in force, validated: names unique, every regex compiles, every
// metric and event type known.
struct RuleSet {
  std::vector<AlertRule> rules;
};

}  // namespace eroom::collector::alerting

#endif  // EROOM_COLLECTOR_ALERTING_ALERT_RULE_H_
