#include "collector/alerting/rule_engine.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/node_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "collector/alerting/event_window.h"
#include "collector/alerting/message_shape.h"
#include "collector/alerting/metric_window.h"
#include "collector/alerting/notice_events.h"
#include "re2/re2.h"

namespace eroom::collector::alerting {
namespace {

namespace v1 = ::eroom::monitor::v1;

// A series silent this long (or its rule's window, if longer) has no value.
constexpr absl::Duration kSeriesStaleAfter = absl::Minutes(5);
constexpr size_t kMaxRunningRoomsPerHost = 64;
constexpr size_t kMaxShapesPerHostAndRule = 256;
// Rooms whose finished measures were evaluated, per host and rule, so a
// room's queue wait seen on several of its events alerts once.
constexpr size_t kRememberedRooms = 64;
// How often Tick forgets windows that emptied.
constexpr absl::Duration kSweepInterval = absl::Minutes(1);

// For rules without a summary of their own.
constexpr std::string_view kDefaultSummary = "{{rule}} on {{host}}: {{value}}";

// Log matches count at least one event unless the rule says otherwise.
constexpr Condition kDefaultLogMatchCondition{Condition::Op::kGreaterOrEqual,
                                              1};

bool IsOutcome(std::string_view type) {
  return type == "room_completed" || type == "room_failed";
}

// ERoom starting or stopping ends every room it was running.
bool EndsEveryRoom(std::string_view type) {
  return type == "server_started" || type == "server_stopping";
}

std::optional<double> NumericField(const v1::LogEvent& event,
                                   const std::string& name) {
  const auto it = event.fields().find(name);
  double value = 0;
  if (it == event.fields().end() || !absl::SimpleAtod(it->second, &value)) {
    return std::nullopt;
  }
  return value;
}

// Readable: integers as such, others with at most two decimals (three
// significant digits below 0.01).
std::string FormatValue(double value) {
  if (!std::isfinite(value) || std::abs(value) >= 1e15) {
    return absl::StrFormat("%.3g", value);
  }
  if (value == std::round(value)) return absl::StrFormat("%.0f", value);
  if (std::abs(value) < 0.01) return absl::StrFormat("%.3g", value);
  std::string text = absl::StrFormat("%.2f", value);
  while (text.back() == '0') text.pop_back();
  if (text.back() == '.') text.pop_back();
  return text;
}

std::string LabelsKey(const std::map<std::string, std::string>& labels) {
  return absl::StrJoin(labels, ",", absl::PairFormatter("="));
}

bool LabelsInclude(const std::map<std::string, std::string>& labels,
                   const std::map<std::string, std::string>& wanted) {
  return std::all_of(wanted.begin(), wanted.end(), [&](const auto& label) {
    const auto it = labels.find(label.first);
    return it != labels.end() && it->second == label.second;
  });
}

// An EventMatch with its regex compiled once.
struct CompiledMatch {
  EventMatch match;
  std::unique_ptr<RE2> regex;  // Null: any message.

  bool Matches(const v1::LogEvent& event) const {
    if (!match.event_types.empty() &&
        std::find(match.event_types.begin(), match.event_types.end(),
                  event.event_type()) == match.event_types.end()) {
      return false;
    }
    if (!match.levels.empty() &&
        std::find(match.levels.begin(), match.levels.end(), event.level()) ==
            match.levels.end()) {
      return false;
    }
    for (const auto& [name, value] : match.fields) {
      const auto it = event.fields().find(name);
      if (it == event.fields().end() || it->second != value) return false;
    }
    return regex == nullptr || RE2::PartialMatch(event.message(), *regex);
  }
};

}  // namespace

class RuleEngine::Impl {
 public:
  explicit Impl(RuleSet rules) { Install(std::move(rules)); }

  void SetRules(RuleSet rules, absl::Time now, std::vector<AlertEvent>* events);
  void Restore(const std::vector<Alert>& active);
  void OnHostRegistered(const v1::AgentHello& hello, absl::Time at,
                        std::vector<AlertEvent>* events);
  void OnStored(const StoredBatch& batch, std::vector<AlertEvent>* events);
  void Tick(absl::Time now, std::vector<AlertEvent>* events);
  void SetAlertId(const AlertKey& key, int64_t id);
  std::vector<RuleStatus> Status() const;
  Dropped dropped() const { return dropped_; }

 private:
  struct Rule {
    AlertRule rule;
    // log_match's match, ratio's numerator, absence's event.
    std::optional<CompiledMatch> match;
    std::optional<CompiledMatch> denominator;  // ratio
    std::string last_error;
    absl::Time last_evaluated = absl::InfinitePast();
  };

  // Where a log event may concern a rule.
  struct MatchRef {
    size_t rule;
    bool denominator;
  };

  // The rules that look at one metric, and what they need kept of it.
  struct MetricUse {
    std::vector<size_t> thresholds;
    std::vector<size_t> absences;
    absl::Duration keep_for = absl::ZeroDuration();
    size_t keep_samples = 1;  // The last point tells absence.
  };

  // What one rule keeps of one host.
  struct RuleHostState {
    explicit RuleHostState(absl::Duration window)
        : numerator(window), denominator(window) {}

    absl::flat_hash_map<std::string, EventWindow> shapes;  // log_match
    EventWindow numerator;                                 // ratio
    EventWindow denominator;                               // ratio
    absl::Time last_match = absl::InfinitePast();          // absence
    // A restored absence alert: absent since then, not since the restart.
    absl::Time absent_since = absl::InfinitePast();
    std::deque<std::string> evaluated_rooms;  // room_duration facts
  };

  struct Series {
    std::map<std::string, std::string> labels;
    MetricWindow points;
  };

  struct Room {
    std::string ruid;
    absl::Time started;
  };

  struct Host {
    std::string agent_id;
    std::string hostname;  // From the hello; empty before it.
    absl::Time last_seen = absl::InfinitePast();
    // When the engine first heard of it: absence counts from no earlier.
    absl::Time known_since = absl::InfinitePast();
    // Metric name -> labels key -> series, for metrics rules refer to.
    absl::flat_hash_map<std::string, absl::flat_hash_map<std::string, Series>>
        metrics;
    std::vector<std::unique_ptr<RuleHostState>> rules;  // By rule index.
    std::vector<Room> rooms;                            // Oldest first.
    int firing_inhibitors = 0;
    // While its agent restarts ERoom: until then quiet_during_restart rules
    // do not notify. InfinitePast: not restarting.
    absl::Time restart_quiet_until = absl::InfinitePast();
  };

  struct Tracked {
    Alert alert;
    // Since when its recovery held, while firing.
    absl::Time recovered_since = absl::InfiniteFuture();
  };

  // What one OnStored call changed for one alert key.
  struct Touch {
    size_t rule = 0;
    int64_t added = 0;           // Matching events.
    std::optional<double> fact;  // A finished room's measure.
  };
  using Touches = std::map<AlertKey, Touch>;

  // A rule's view of one alert key now. Unknown: not evaluated (no state
  // change but what time alone makes).
  struct Observation {
    bool known = true;
    std::optional<double> value;  // None: no data, the condition fails.
    int64_t window_count = 0;
    int64_t added = 0;
    // A finished room's measure: true of the room now, gone right after.
    bool instant = false;
  };

  // A rule's settings for one host, its overrides applied.
  struct Settings {
    bool disabled = false;
    std::optional<Condition> condition;
    std::optional<Condition> recovery;
    absl::Duration for_duration;
  };

  void Install(RuleSet rules);
  void Index(size_t index);
  void Advance(absl::Time now);
  Host& HostOf(const std::string& agent_id);
  RuleHostState& StateOf(Host& host, size_t rule);
  std::optional<size_t> RuleIndex(const std::string& name) const;

  void TakeMetrics(const DerivedMetrics& metrics, absl::Time now,
                   Touches& touches);
  void TakeLogEvent(Host& host, const v1::LogEvent& event, absl::Time now,
                    Touches& touches);
  void TakeNotice(Host& host, const v1::AgentNotice& notice, absl::Time now,
                  Touches& touches, std::vector<AlertEvent>* events);
  // The restart of `host` is over: its quiet alerts still firing notify.
  void EndRestartQuiet(Host& host, absl::Time now,
                       std::vector<AlertEvent>* events);
  void OnMatch(const MatchRef& ref, Host& host, const v1::LogEvent& event,
               absl::Time now, Touches& touches);
  void TrackRoom(Host& host, const v1::LogEvent& event, absl::Time now,
                 Touches& touches);
  void EndRoom(Host& host, const std::string& ruid, Touches& touches);
  void TouchAbsences(Host& host, Touches& touches);
  void TouchIfActive(size_t rule, const Host& host, const std::string& group,
                     Touches& touches);
  void EvaluateTouches(const Touches& touches, absl::Time now,
                       std::vector<AlertEvent>* events);
  // Puts back what the engine's windows need to carry `alert` on.
  void Reseed(const Alert& alert);

  Observation Observe(size_t rule, Host& host, const std::string& group,
                      absl::Time now, const Touch* touch);
  Observation ObserveThreshold(const ThresholdRule& threshold, Host& host,
                               const std::string& group, absl::Time now);
  Observation ObserveAbsence(size_t rule, const AbsenceRule& absence,
                             Host& host, absl::Time now);
  Settings SettingsFor(const Rule& rule, const Host& host) const;
  void Evaluate(size_t rule, Host& host, const std::string& group,
                const Observation& observation, absl::Time now,
                bool report_updates, std::vector<AlertEvent>* events);
  void Fire(Tracked& tracked, const Rule& rule, Host& host, absl::Time now,
            std::vector<AlertEvent>* events);
  void Resolve(std::map<AlertKey, Tracked>::iterator it, const Rule* rule,
               Host& host, absl::Time now, std::vector<AlertEvent>* events);
  void Emit(AlertEvent::Kind kind, Tracked& tracked, const Rule* rule,
            const Host& host, absl::Time now, std::vector<AlertEvent>* events);
  void Describe(Alert& alert, const Rule* rule, const Host& host) const;
  void CountInhibitors();
  void Sweep(absl::Time now);

  std::vector<Rule> rules_;
  absl::flat_hash_map<std::string, size_t> rule_index_;
  absl::flat_hash_map<std::string, std::vector<MatchRef>> rules_by_event_type_;
  std::vector<MatchRef> rules_of_any_event_type_;
  absl::flat_hash_map<std::string, MetricUse> rules_by_metric_;
  std::vector<size_t> absence_rules_;
  std::vector<size_t> room_rules_;
  std::vector<size_t> running_room_rules_;

  absl::node_hash_map<std::string, Host> hosts_;
  std::map<AlertKey, Tracked> alerts_;
  // The latest time any call brought; InfinitePast before the first.
  absl::Time now_ = absl::InfinitePast();
  absl::Time next_sweep_ = absl::InfinitePast();
  Dropped dropped_;
};

void RuleEngine::Impl::Install(RuleSet rules) {
  rules_.clear();
  rule_index_.clear();
  rules_by_event_type_.clear();
  rules_of_any_event_type_.clear();
  rules_by_metric_.clear();
  absence_rules_.clear();
  room_rules_.clear();
  running_room_rules_.clear();
  for (AlertRule& rule : rules.rules) {
    rules_.push_back(Rule{.rule = std::move(rule)});
    Index(rules_.size() - 1);
  }
}

void RuleEngine::Impl::Index(size_t index) {
  Rule& rule = rules_[index];
  rule_index_[rule.rule.name] = index;
  auto compile = [&](const EventMatch& match, bool denominator) {
    CompiledMatch compiled{.match = match};
    if (!match.message_regex.empty()) {
      compiled.regex = std::make_unique<RE2>(match.message_regex, RE2::Quiet);
      if (!compiled.regex->ok()) {
        rule.last_error =
            absl::StrCat("message_regex: ", compiled.regex->error());
        return;
      }
    }
    const MatchRef ref{index, denominator};
    if (match.event_types.empty()) {
      rules_of_any_event_type_.push_back(ref);
    } else {
      for (const std::string& type : std::set<std::string>(
               match.event_types.begin(), match.event_types.end())) {
        rules_by_event_type_[type].push_back(ref);
      }
    }
    (denominator ? rule.denominator : rule.match) = std::move(compiled);
  };
  const bool needs_condition =
      !std::holds_alternative<AbsenceRule>(rule.rule.kind) &&
      !std::holds_alternative<LogMatchRule>(rule.rule.kind);
  if (needs_condition && !rule.rule.condition) {
    rule.last_error = "condition: missing";
    return;
  }
  if (const auto* threshold = std::get_if<ThresholdRule>(&rule.rule.kind)) {
    MetricUse& use = rules_by_metric_[threshold->metric];
    use.thresholds.push_back(index);
    use.keep_for = std::max(use.keep_for, threshold->window);
    use.keep_samples =
        std::max(use.keep_samples, static_cast<size_t>(threshold->samples));
  } else if (const auto* ratio = std::get_if<RatioRule>(&rule.rule.kind)) {
    compile(ratio->numerator, false);
    compile(ratio->denominator, true);
  } else if (const auto* absence = std::get_if<AbsenceRule>(&rule.rule.kind)) {
    absence_rules_.push_back(index);
    if (!absence->metric.empty()) {
      rules_by_metric_[absence->metric].absences.push_back(index);
    }
    if (absence->event) compile(*absence->event, false);
  } else if (const auto* log = std::get_if<LogMatchRule>(&rule.rule.kind)) {
    compile(log->match, false);
  } else if (const auto* room =
                 std::get_if<RoomDurationRule>(&rule.rule.kind)) {
    room_rules_.push_back(index);
    if (room->measure == RoomDurationRule::Measure::kRunning) {
      running_room_rules_.push_back(index);
    }
  }
}

void RuleEngine::Impl::Advance(absl::Time now) {
  if (now_ == absl::InfinitePast()) {
    // Hosts restored before the first call count their absence from now.
    for (auto& [agent_id, host] : hosts_) {
      if (host.known_since == absl::InfinitePast()) host.known_since = now;
    }
    next_sweep_ = now + kSweepInterval;
  }
  now_ = std::max(now_, now);
}

RuleEngine::Impl::Host& RuleEngine::Impl::HostOf(const std::string& agent_id) {
  auto [it, inserted] = hosts_.try_emplace(agent_id);
  Host& host = it->second;
  if (inserted) {
    host.agent_id = agent_id;
    host.known_since = now_;
  }
  return host;
}

RuleEngine::Impl::RuleHostState& RuleEngine::Impl::StateOf(Host& host,
                                                           size_t rule) {
  if (host.rules.size() < rules_.size()) host.rules.resize(rules_.size());
  std::unique_ptr<RuleHostState>& state = host.rules[rule];
  if (state == nullptr) {
    const auto* ratio = std::get_if<RatioRule>(&rules_[rule].rule.kind);
    state = std::make_unique<RuleHostState>(
        ratio != nullptr ? ratio->window : absl::ZeroDuration());
  }
  return *state;
}

std::optional<size_t> RuleEngine::Impl::RuleIndex(
    const std::string& name) const {
  const auto it = rule_index_.find(name);
  if (it == rule_index_.end()) return std::nullopt;
  return it->second;
}

void RuleEngine::Impl::SetRules(RuleSet rules, absl::Time now,
                                std::vector<AlertEvent>* events) {
  Advance(now);
  absl::flat_hash_set<std::string> kept;
  for (const AlertRule& rule : rules.rules) kept.insert(rule.name);
  // The state a kept rule has of each host carries on when it still means
  // the same: same kind and window.
  auto same_state = [](const AlertRule& old_rule, const AlertRule& new_rule) {
    if (old_rule.kind.index() != new_rule.kind.index()) return false;
    if (const auto* old_ratio = std::get_if<RatioRule>(&old_rule.kind)) {
      return old_ratio->window == std::get<RatioRule>(new_rule.kind).window;
    }
    if (const auto* old_log = std::get_if<LogMatchRule>(&old_rule.kind)) {
      const auto& new_log = std::get<LogMatchRule>(new_rule.kind);
      return old_log->window == new_log.window &&
             old_log->group_by_message_shape == new_log.group_by_message_shape;
    }
    return true;
  };
  for (auto it = alerts_.begin(); it != alerts_.end();) {
    const auto next = std::next(it);
    if (!kept.contains(it->first.rule)) {
      const std::optional<size_t> index = RuleIndex(it->first.rule);
      Resolve(it, index ? &rules_[*index] : nullptr, HostOf(it->first.agent_id),
              now, events);
    }
    it = next;
  }

  std::vector<Rule> old_rules = std::move(rules_);
  Install(std::move(rules));
  std::vector<std::optional<size_t>> old_index_of(rules_.size());
  for (size_t i = 0; i < rules_.size(); ++i) {
    for (size_t j = 0; j < old_rules.size(); ++j) {
      if (old_rules[j].rule.name == rules_[i].rule.name) {
        rules_[i].last_evaluated = old_rules[j].last_evaluated;
        if (same_state(old_rules[j].rule, rules_[i].rule)) old_index_of[i] = j;
      }
    }
  }
  for (auto& [agent_id, host] : hosts_) {
    std::vector<std::unique_ptr<RuleHostState>> states(rules_.size());
    for (size_t i = 0; i < rules_.size(); ++i) {
      if (old_index_of[i] && *old_index_of[i] < host.rules.size()) {
        states[i] = std::move(host.rules[*old_index_of[i]]);
      }
    }
    host.rules = std::move(states);
    absl::erase_if(host.metrics, [&](const auto& metric) {
      return !rules_by_metric_.contains(metric.first);
    });
    if (running_room_rules_.empty()) host.rooms.clear();
  }
  for (const auto& [key, tracked] : alerts_) Reseed(tracked.alert);
  CountInhibitors();
}

void RuleEngine::Impl::Restore(const std::vector<Alert>& active) {
  for (const Alert& alert : active) {
    Host& host = HostOf(alert.key.agent_id);
    const auto name = alert.labels.find("host");
    if (host.hostname.empty() && name != alert.labels.end() &&
        name->second != alert.key.agent_id) {
      host.hostname = name->second;
    }
    alerts_[alert.key] = Tracked{.alert = alert};
    Reseed(alert);
  }
  CountInhibitors();
}

void RuleEngine::Impl::Reseed(const Alert& alert) {
  const std::optional<size_t> index = RuleIndex(alert.key.rule);
  if (!index) return;
  const AlertRule& rule = rules_[*index].rule;
  Host& host = HostOf(alert.key.agent_id);
  if (const auto* log = std::get_if<LogMatchRule>(&rule.kind)) {
    RuleHostState& state = StateOf(host, *index);
    if (!state.shapes.contains(alert.key.group) &&
        alert.last_evaluated != absl::InfinitePast()) {
      state.shapes.emplace(alert.key.group, EventWindow(log->window))
          .first->second.Add(alert.last_evaluated,
                             static_cast<int64_t>(alert.value));
    }
  } else if (const auto* absence = std::get_if<AbsenceRule>(&rule.kind)) {
    RuleHostState& state = StateOf(host, *index);
    if (state.absent_since == absl::InfinitePast()) {
      state.absent_since = alert.pending_since - absence->after;
    }
  } else if (const auto* room = std::get_if<RoomDurationRule>(&rule.kind)) {
    const bool tracked = std::any_of(
        host.rooms.begin(), host.rooms.end(),
        [&](const Room& known) { return known.ruid == alert.key.group; });
    if (room->measure == RoomDurationRule::Measure::kRunning && !tracked &&
        alert.last_evaluated != absl::InfinitePast() &&
        host.rooms.size() < kMaxRunningRoomsPerHost) {
      host.rooms.push_back(
          {alert.key.group,
           alert.last_evaluated - absl::Milliseconds(alert.value)});
    }
  }
}

void RuleEngine::Impl::OnHostRegistered(const v1::AgentHello& hello,
                                        absl::Time at,
                                        std::vector<AlertEvent>* events) {
  Advance(at);
  Host& host = HostOf(hello.agent_id());
  host.hostname = hello.hostname();
  host.last_seen = std::max(host.last_seen, at);
  Touches touches;
  TouchAbsences(host, touches);
  EvaluateTouches(touches, at, events);
}

void RuleEngine::Impl::OnStored(const StoredBatch& batch,
                                std::vector<AlertEvent>* events) {
  const absl::Time now = batch.received;
  Advance(now);
  Touches touches;
  for (const HostProgress& progress : batch.hosts) {
    Host& host = HostOf(progress.agent_id);
    host.last_seen = std::max({host.last_seen, progress.last_seen, now});
    TouchAbsences(host, touches);
  }
  for (const DerivedMetrics& metrics : batch.metrics) {
    TakeMetrics(metrics, now, touches);
  }
  for (const AgentBatch& agent_batch : batch.batches) {
    Host& host = HostOf(agent_batch.agent_id);
    for (const v1::Event& event : agent_batch.batch->events()) {
      if (event.has_log()) {
        TakeLogEvent(host, event.log(), now, touches);
      } else if (event.has_notice()) {
        TakeNotice(host, event.notice(), now, touches, events);
      }
    }
  }
  EvaluateTouches(touches, now, events);
}

void RuleEngine::Impl::TakeMetrics(const DerivedMetrics& metrics,
                                   absl::Time now, Touches& touches) {
  Host& host = HostOf(metrics.agent_id);
  for (const MetricValue& value : metrics.values) {
    const auto use = rules_by_metric_.find(value.name);
    if (use == rules_by_metric_.end()) continue;
    const std::string group = LabelsKey(value.labels);
    auto [series, inserted] = host.metrics[value.name].try_emplace(group);
    if (inserted) series->second.labels = value.labels;
    series->second.points.Add(now, value.value);
    series->second.points.Trim(now, use->second.keep_for,
                               use->second.keep_samples);
    for (size_t rule : use->second.thresholds) {
      if (LabelsInclude(
              value.labels,
              std::get<ThresholdRule>(rules_[rule].rule.kind).label_match)) {
        touches[AlertKey{rules_[rule].rule.name, host.agent_id, group}].rule =
            rule;
      }
    }
    for (size_t rule : use->second.absences) {
      TouchIfActive(rule, host, "", touches);
    }
  }
}

void RuleEngine::Impl::TakeLogEvent(Host& host, const v1::LogEvent& event,
                                    absl::Time now, Touches& touches) {
  auto consider = [&](const std::vector<MatchRef>& refs) {
    for (const MatchRef& ref : refs) {
      const Rule& rule = rules_[ref.rule];
      const CompiledMatch& match =
          ref.denominator ? *rule.denominator : *rule.match;
      if (match.Matches(event)) OnMatch(ref, host, event, now, touches);
    }
  };
  if (const auto it = rules_by_event_type_.find(event.event_type());
      it != rules_by_event_type_.end()) {
    consider(it->second);
  }
  consider(rules_of_any_event_type_);
  if (!room_rules_.empty()) TrackRoom(host, event, now, touches);
}

void RuleEngine::Impl::TakeNotice(Host& host, const v1::AgentNotice& notice,
                                  absl::Time now, Touches& touches,
                                  std::vector<AlertEvent>* events) {
  switch (RestartMarkOf(notice.kind())) {
    case RestartMark::kStarted:
      host.restart_quiet_until = now + kMaxRestartQuiet;
      break;
    case RestartMark::kEnded:
      EndRestartQuiet(host, now, events);
      break;
    case RestartMark::kNone:
      break;
  }
  if (const std::optional<v1::LogEvent> event = NoticeAsLogEvent(notice)) {
    TakeLogEvent(host, *event, now, touches);
  }
}

void RuleEngine::Impl::EndRestartQuiet(Host& host, absl::Time now,
                                       std::vector<AlertEvent>* events) {
  if (host.restart_quiet_until == absl::InfinitePast()) return;
  host.restart_quiet_until = absl::InfinitePast();
  for (auto& [key, tracked] : alerts_) {
    if (key.agent_id != host.agent_id ||
        tracked.alert.state != AlertState::kFiring) {
      continue;
    }
    const std::optional<size_t> rule = RuleIndex(key.rule);
    if (rule && rules_[*rule].rule.quiet_during_restart) {
      Emit(AlertEvent::Kind::kUpdated, tracked, &rules_[*rule], host, now,
           events);
    }
  }
}

void RuleEngine::Impl::OnMatch(const MatchRef& ref, Host& host,
                               const v1::LogEvent& event, absl::Time now,
                               Touches& touches) {
  const Rule& rule = rules_[ref.rule];
  RuleHostState& state = StateOf(host, ref.rule);
  if (std::holds_alternative<RatioRule>(rule.rule.kind)) {
    (ref.denominator ? state.denominator : state.numerator).Add(now);
    touches[AlertKey{rule.rule.name, host.agent_id, ""}].rule = ref.rule;
  } else if (std::holds_alternative<AbsenceRule>(rule.rule.kind)) {
    state.last_match = now;
    TouchIfActive(ref.rule, host, "", touches);
  } else if (const auto* log = std::get_if<LogMatchRule>(&rule.rule.kind)) {
    std::string group =
        log->group_by_message_shape ? MessageShape(event.message()) : "";
    auto window = state.shapes.find(group);
    if (window == state.shapes.end()) {
      if (state.shapes.size() >= kMaxShapesPerHostAndRule) {
        ++dropped_.shape_events;
        return;
      }
      window = state.shapes.emplace(group, EventWindow(log->window)).first;
    }
    window->second.Add(now);
    Touch& touch =
        touches[AlertKey{rule.rule.name, host.agent_id, std::move(group)}];
    touch.rule = ref.rule;
    ++touch.added;
  }
}

void RuleEngine::Impl::TrackRoom(Host& host, const v1::LogEvent& event,
                                 absl::Time now, Touches& touches) {
  const std::string& type = event.event_type();
  if (EndsEveryRoom(type)) {
    while (!host.rooms.empty()) EndRoom(host, host.rooms.front().ruid, touches);
    return;
  }
  const std::string& ruid = event.ruid();
  if (ruid.empty()) return;
  for (size_t rule : room_rules_) {
    const auto measure =
        std::get<RoomDurationRule>(rules_[rule].rule.kind).measure;
    std::optional<double> fact;
    if (measure == RoomDurationRule::Measure::kProcessing && IsOutcome(type)) {
      fact = NumericField(event, "processing_ms");
    } else if (measure == RoomDurationRule::Measure::kQueueWait) {
      fact = NumericField(event, "queue_wait_ms");
    }
    if (!fact) continue;
    std::deque<std::string>& evaluated = StateOf(host, rule).evaluated_rooms;
    if (std::find(evaluated.begin(), evaluated.end(), ruid) !=
        evaluated.end()) {
      continue;
    }
    evaluated.push_back(ruid);
    if (evaluated.size() > kRememberedRooms) evaluated.pop_front();
    Touch& touch =
        touches[AlertKey{rules_[rule].rule.name, host.agent_id, ruid}];
    touch.rule = rule;
    touch.fact = fact;
  }
  if (running_room_rules_.empty()) return;
  const auto room =
      std::find_if(host.rooms.begin(), host.rooms.end(),
                   [&](const Room& known) { return known.ruid == ruid; });
  if (type == "room_started" && room == host.rooms.end()) {
    if (host.rooms.size() >= kMaxRunningRoomsPerHost) {
      ++dropped_.rooms;
      EndRoom(host, host.rooms.front().ruid, touches);
    }
    host.rooms.push_back({ruid, now});
  } else if (IsOutcome(type) && room != host.rooms.end()) {
    EndRoom(host, ruid, touches);
  }
}

void RuleEngine::Impl::EndRoom(Host& host, const std::string& ruid,
                               Touches& touches) {
  for (size_t rule : running_room_rules_) {
    TouchIfActive(rule, host, ruid, touches);
  }
  std::erase_if(host.rooms,
                [&](const Room& room) { return room.ruid == ruid; });
}

void RuleEngine::Impl::TouchAbsences(Host& host, Touches& touches) {
  for (size_t rule : absence_rules_) TouchIfActive(rule, host, "", touches);
}

void RuleEngine::Impl::TouchIfActive(size_t rule, const Host& host,
                                     const std::string& group,
                                     Touches& touches) {
  AlertKey key{rules_[rule].rule.name, host.agent_id, group};
  if (alerts_.contains(key)) touches[std::move(key)].rule = rule;
}

void RuleEngine::Impl::EvaluateTouches(const Touches& touches, absl::Time now,
                                       std::vector<AlertEvent>* events) {
  // A host coming back first, so that its other alerts notify again.
  for (const bool inhibitors : {true, false}) {
    for (const auto& [key, touch] : touches) {
      if (rules_[touch.rule].rule.inhibits_host != inhibitors) continue;
      Host& host = HostOf(key.agent_id);
      Evaluate(touch.rule, host, key.group,
               Observe(touch.rule, host, key.group, now, &touch), now,
               /*report_updates=*/true, events);
    }
  }
}

RuleEngine::Impl::Observation RuleEngine::Impl::Observe(
    size_t rule, Host& host, const std::string& group, absl::Time now,
    const Touch* touch) {
  const RuleKind& kind = rules_[rule].rule.kind;
  if (const auto* threshold = std::get_if<ThresholdRule>(&kind)) {
    return ObserveThreshold(*threshold, host, group, now);
  }
  if (const auto* absence = std::get_if<AbsenceRule>(&kind)) {
    return ObserveAbsence(rule, *absence, host, now);
  }
  RuleHostState& state = StateOf(host, rule);
  if (const auto* ratio = std::get_if<RatioRule>(&kind)) {
    const int64_t denominator = state.denominator.Count(now);
    if (denominator < std::max<int64_t>(1, ratio->min_denominator)) {
      return Observation{.known = false};
    }
    return Observation{
        .value = 100.0 * static_cast<double>(state.numerator.Count(now)) /
                 static_cast<double>(denominator)};
  }
  if (std::holds_alternative<LogMatchRule>(kind)) {
    const auto window = state.shapes.find(group);
    const int64_t count =
        window == state.shapes.end() ? 0 : window->second.Count(now);
    return Observation{.value = static_cast<double>(count),
                       .window_count = count,
                       .added = touch != nullptr ? touch->added : 0};
  }
  const auto& room = std::get<RoomDurationRule>(kind);
  if (room.measure != RoomDurationRule::Measure::kRunning) {
    return Observation{.value = touch != nullptr ? touch->fact : std::nullopt,
                       .instant = true};
  }
  for (const Room& running : host.rooms) {
    if (running.ruid == group) {
      return Observation{.value =
                             absl::ToDoubleMilliseconds(now - running.started)};
    }
  }
  return Observation{};
}

RuleEngine::Impl::Observation RuleEngine::Impl::ObserveThreshold(
    const ThresholdRule& threshold, Host& host, const std::string& group,
    absl::Time now) {
  const Series* series = nullptr;
  if (const auto metric = host.metrics.find(threshold.metric);
      metric != host.metrics.end()) {
    if (const auto it = metric->second.find(group);
        it != metric->second.end()) {
      series = &it->second;
    }
  }
  const absl::Time last_point =
      series != nullptr ? series->points.last_at() : absl::InfinitePast();
  if (now - std::max(last_point, host.known_since) >=
      std::max(threshold.window, kSeriesStaleAfter)) {
    return Observation{};  // Stale: no value.
  }
  std::optional<double> value =
      series == nullptr
          ? std::nullopt
          : series->points.Aggregate(threshold.aggregation, now,
                                     threshold.window, threshold.samples);
  if (!value) return Observation{.known = false};
  return Observation{.value = value};
}

RuleEngine::Impl::Observation RuleEngine::Impl::ObserveAbsence(
    size_t rule, const AbsenceRule& absence, Host& host, absl::Time now) {
  const RuleHostState& state = StateOf(host, rule);
  absl::Time last = host.last_seen;
  if (absence.event) {
    last = state.last_match;
  } else if (!absence.metric.empty()) {
    last = absl::InfinitePast();
    if (const auto metric = host.metrics.find(absence.metric);
        metric != host.metrics.end()) {
      for (const auto& [key, series] : metric->second) {
        last = std::max(last, series.points.last_at());
      }
    }
  }
  const absl::Time since = std::max(
      last, state.absent_since != absl::InfinitePast() ? state.absent_since
                                                       : host.known_since);
  if (now - since < absence.after) return Observation{};
  return Observation{.value = std::floor(absl::ToDoubleSeconds(now - since))};
}

RuleEngine::Impl::Settings RuleEngine::Impl::SettingsFor(
    const Rule& rule, const Host& host) const {
  Settings settings{.disabled = !rule.last_error.empty(),
                    .condition = rule.rule.condition,
                    .recovery = rule.rule.recovery,
                    .for_duration = rule.rule.for_duration};
  if (!settings.condition &&
      std::holds_alternative<LogMatchRule>(rule.rule.kind)) {
    settings.condition = kDefaultLogMatchCondition;
  }
  for (const HostOverride& host_override : rule.rule.overrides) {
    if (host_override.host != host.agent_id &&
        (host.hostname.empty() || host_override.host != host.hostname)) {
      continue;
    }
    settings.disabled = settings.disabled || host_override.disabled;
    if (host_override.condition) settings.condition = host_override.condition;
    if (host_override.recovery) settings.recovery = host_override.recovery;
    if (host_override.for_duration) {
      settings.for_duration = *host_override.for_duration;
    }
  }
  if (const auto* room = std::get_if<RoomDurationRule>(&rule.rule.kind);
      room != nullptr && room->measure != RoomDurationRule::Measure::kRunning) {
    settings.for_duration = absl::ZeroDuration();  // A fact: no waiting.
  }
  return settings;
}

void RuleEngine::Impl::Evaluate(size_t rule_index, Host& host,
                                const std::string& group,
                                const Observation& observation, absl::Time now,
                                bool report_updates,
                                std::vector<AlertEvent>* events) {
  Rule& rule = rules_[rule_index];
  rule.last_evaluated = now;
  const Settings settings = SettingsFor(rule, host);
  const bool absence = std::holds_alternative<AbsenceRule>(rule.rule.kind);
  const auto* room = std::get_if<RoomDurationRule>(&rule.rule.kind);
  // Values that only time changes are not worth an update.
  const bool grows_with_time =
      absence ||
      (room != nullptr && room->measure == RoomDurationRule::Measure::kRunning);
  auto holds = [&](const std::optional<Condition>& condition) {
    return !settings.disabled && observation.value.has_value() &&
           (absence || (condition && condition->Holds(*observation.value)));
  };
  const bool condition_holds = holds(settings.condition);
  auto it = alerts_.find(AlertKey{rule.rule.name, host.agent_id, group});
  if (it == alerts_.end()) {
    if (!observation.known || !condition_holds) return;
    it = alerts_
             .emplace(AlertKey{rule.rule.name, host.agent_id, group}, Tracked{})
             .first;
    Alert& alert = it->second.alert;
    alert.key = it->first;
    alert.value = *observation.value;
    alert.count = observation.window_count;
    alert.pending_since = now;
    alert.last_evaluated = now;
    if (settings.for_duration <= absl::ZeroDuration()) {
      if (observation.instant) it->second.recovered_since = now;
      Fire(it->second, rule, host, now, events);
    } else {
      Emit(AlertEvent::Kind::kPending, it->second, &rule, host, now, events);
    }
    return;
  }
  Tracked& tracked = it->second;
  Alert& alert = tracked.alert;
  const double old_value = alert.value;
  const int64_t old_count = alert.count;
  if (observation.known) {
    alert.last_evaluated = now;
    if (observation.value) alert.value = *observation.value;
    alert.count += observation.added;
  }
  if (alert.state == AlertState::kPending) {
    // Pending needs the condition seen holding: unknown waits.
    if (!observation.known) return;
    if (!condition_holds) {
      Resolve(it, &rule, host, now, events);
    } else if (now - alert.pending_since >= settings.for_duration) {
      Fire(tracked, rule, host, now, events);
    }
    return;
  }
  if (observation.known) {
    // Absence has no recovery but the data coming back.
    const bool recovered =
        settings.recovery && !absence
            ? settings.disabled || !observation.value ||
                  settings.recovery->Holds(*observation.value)
            : !condition_holds;
    if (!recovered) {
      tracked.recovered_since =
          observation.instant ? now : absl::InfiniteFuture();
    } else if (tracked.recovered_since == absl::InfiniteFuture()) {
      tracked.recovered_since = now;
    }
  }
  if (now - tracked.recovered_since >= rule.rule.keep_firing_for) {
    Resolve(it, &rule, host, now, events);
    return;
  }
  if (report_updates && !grows_with_time &&
      (alert.value != old_value || alert.count != old_count)) {
    Emit(AlertEvent::Kind::kUpdated, tracked, &rule, host, now, events);
  }
}

void RuleEngine::Impl::Fire(Tracked& tracked, const Rule& rule, Host& host,
                            absl::Time now, std::vector<AlertEvent>* events) {
  tracked.alert.state = AlertState::kFiring;
  tracked.alert.firing_since = now;
  if (rule.rule.inhibits_host) ++host.firing_inhibitors;
  Emit(AlertEvent::Kind::kFiring, tracked, &rule, host, now, events);
}

void RuleEngine::Impl::Resolve(std::map<AlertKey, Tracked>::iterator it,
                               const Rule* rule, Host& host, absl::Time now,
                               std::vector<AlertEvent>* events) {
  Tracked& tracked = it->second;
  const bool was_firing = tracked.alert.state == AlertState::kFiring;
  tracked.alert.state = AlertState::kResolved;
  tracked.alert.resolved_at = now;
  // Its own resolution is still sent while the host is down.
  if (was_firing && rule != nullptr && rule->rule.inhibits_host) {
    --host.firing_inhibitors;
  }
  Emit(AlertEvent::Kind::kResolved, tracked, rule, host, now, events);
  alerts_.erase(it);
}

void RuleEngine::Impl::Emit(AlertEvent::Kind kind, Tracked& tracked,
                            const Rule* rule, const Host& host, absl::Time now,
                            std::vector<AlertEvent>* events) {
  Describe(tracked.alert, rule, host);
  const bool inhibitor = rule != nullptr && rule->rule.inhibits_host;
  // A resolution is not quieted: one whose firing was sent is sent too.
  const bool quiet = rule != nullptr && rule->rule.quiet_during_restart &&
                     kind != AlertEvent::Kind::kResolved &&
                     now < host.restart_quiet_until;
  events->push_back(AlertEvent{
      .kind = kind,
      .alert = tracked.alert,
      .at = now,
      .inhibited = quiet || (!inhibitor && host.firing_inhibitors > 0)});
}

void RuleEngine::Impl::Describe(Alert& alert, const Rule* rule,
                                const Host& host) const {
  if (rule == nullptr) return;  // Its rule is gone: as it was last told.
  const AlertRule& definition = rule->rule;
  alert.severity = definition.severity;
  alert.labels = definition.labels;
  if (const auto* threshold = std::get_if<ThresholdRule>(&definition.kind)) {
    if (const auto metric = host.metrics.find(threshold->metric);
        metric != host.metrics.end()) {
      if (const auto series = metric->second.find(alert.key.group);
          series != metric->second.end()) {
        for (const auto& label : series->second.labels) {
          alert.labels.insert(label);
        }
      }
    }
  }
  alert.labels["alertname"] = definition.name;
  alert.labels["host"] = host.hostname.empty() ? host.agent_id : host.hostname;
  alert.labels["agent_id"] = host.agent_id;
  alert.labels["severity"] = std::string(SeverityName(definition.severity));
  if (!alert.key.group.empty()) alert.labels["group"] = alert.key.group;

  const std::optional<Condition> condition = SettingsFor(*rule, host).condition;
  std::string summary;
  std::string_view rest =
      definition.summary.empty() ? kDefaultSummary : definition.summary;
  while (true) {
    const size_t open = rest.find("{{");
    const size_t close =
        open == std::string_view::npos ? open : rest.find("}}", open + 2);
    if (close == std::string_view::npos) break;
    summary.append(rest.substr(0, open));
    const std::string_view placeholder = rest.substr(open, close + 2 - open);
    std::string_view name = placeholder.substr(2, placeholder.size() - 4);
    while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
    while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
    rest.remove_prefix(close + 2);
    if (name == "host") {
      summary.append(alert.labels["host"]);
    } else if (name == "value") {
      summary.append(FormatValue(alert.value));
    } else if (name == "threshold") {
      if (condition) summary.append(FormatValue(condition->threshold));
    } else if (name == "count") {
      absl::StrAppend(&summary, alert.count);
    } else if (name == "rule") {
      summary.append(definition.name);
    } else if (name == "severity") {
      summary.append(SeverityName(definition.severity));
    } else if (name == "group") {
      summary.append(alert.key.group);
    } else if (name.starts_with("labels.")) {
      const auto label = alert.labels.find(std::string(name.substr(7)));
      if (label != alert.labels.end()) summary.append(label->second);
    } else {
      summary.append(placeholder);
    }
  }
  summary.append(rest);
  alert.summary = std::move(summary);
}

void RuleEngine::Impl::CountInhibitors() {
  for (auto& [agent_id, host] : hosts_) host.firing_inhibitors = 0;
  for (const auto& [key, tracked] : alerts_) {
    const std::optional<size_t> rule = RuleIndex(key.rule);
    if (rule && rules_[*rule].rule.inhibits_host &&
        tracked.alert.state == AlertState::kFiring) {
      ++HostOf(key.agent_id).firing_inhibitors;
    }
  }
}

void RuleEngine::Impl::Tick(absl::Time now, std::vector<AlertEvent>* events) {
  Advance(now);
  // Restarts whose end never came.
  for (auto& [agent_id, host] : hosts_) {
    if (now >= host.restart_quiet_until) EndRestartQuiet(host, now, events);
  }
  auto evaluate_active = [&](bool inhibitors) {
    for (auto it = alerts_.begin(); it != alerts_.end();) {
      const auto next = std::next(it);
      Host& host = HostOf(it->first.agent_id);
      const std::optional<size_t> rule = RuleIndex(it->first.rule);
      if (!rule) {
        if (!inhibitors) Resolve(it, nullptr, host, now, events);  // Gone.
      } else if (rules_[*rule].rule.inhibits_host == inhibitors) {
        Evaluate(*rule, host, it->first.group,
                 Observe(*rule, host, it->first.group, now, nullptr), now,
                 /*report_updates=*/false, events);
      }
      it = next;
    }
  };
  // New alerts that time alone makes: absences and rooms running long.
  auto evaluate_new = [&](size_t rule, Host& host, const std::string& group) {
    const Observation observation = Observe(rule, host, group, now, nullptr);
    if (observation.value &&
        !alerts_.contains(
            AlertKey{rules_[rule].rule.name, host.agent_id, group})) {
      Evaluate(rule, host, group, observation, now,
               /*report_updates=*/false, events);
    }
  };
  auto evaluate_new_absences = [&](bool inhibitors) {
    for (auto& [agent_id, host] : hosts_) {
      for (size_t rule : absence_rules_) {
        if (rules_[rule].rule.inhibits_host == inhibitors) {
          evaluate_new(rule, host, "");
        }
      }
    }
  };
  // Hosts going down or coming back first, so that their other alerts'
  // changes of this tick are inhibited as they should.
  evaluate_active(/*inhibitors=*/true);
  evaluate_new_absences(/*inhibitors=*/true);
  evaluate_active(/*inhibitors=*/false);
  evaluate_new_absences(/*inhibitors=*/false);
  for (auto& [agent_id, host] : hosts_) {
    for (size_t rule : running_room_rules_) {
      for (size_t i = 0; i < host.rooms.size(); ++i) {
        evaluate_new(rule, host, host.rooms[i].ruid);
      }
    }
  }
  // Every rule's conditions of time were looked at.
  for (Rule& rule : rules_) rule.last_evaluated = now;
  if (now >= next_sweep_) {
    Sweep(now);
    next_sweep_ = now + kSweepInterval;
  }
}

void RuleEngine::Impl::Sweep(absl::Time now) {
  for (auto& [id, host] : hosts_) {
    // clang 14 cannot capture a structured binding in a lambda.
    const std::string& agent_id = id;
    for (size_t rule = 0; rule < host.rules.size(); ++rule) {
      if (host.rules[rule] == nullptr) continue;
      absl::erase_if(host.rules[rule]->shapes, [&](auto& shape) {
        return shape.second.Count(now) == 0 &&
               !alerts_.contains(
                   AlertKey{rules_[rule].rule.name, agent_id, shape.first});
      });
      host.rules[rule]->numerator.Count(now);
      host.rules[rule]->denominator.Count(now);
    }
    for (auto& [name, series_by_labels] : host.metrics) {
      const MetricUse& use = rules_by_metric_.at(name);
      for (auto& [labels, series] : series_by_labels) {
        series.points.Trim(now, use.keep_for, use.keep_samples);
      }
    }
  }
}

void RuleEngine::Impl::SetAlertId(const AlertKey& key, int64_t id) {
  if (const auto it = alerts_.find(key); it != alerts_.end()) {
    it->second.alert.id = id;
  }
}

std::vector<RuleStatus> RuleEngine::Impl::Status() const {
  std::vector<RuleStatus> statuses;
  for (const Rule& rule : rules_) {
    RuleStatus status{.rule = rule.rule.name,
                      .kind = std::string(KindName(rule.rule.kind)),
                      .severity = rule.rule.severity,
                      .last_evaluated = rule.last_evaluated,
                      .last_error = rule.last_error};
    for (auto it = alerts_.lower_bound(AlertKey{rule.rule.name, "", ""});
         it != alerts_.end() && it->first.rule == rule.rule.name; ++it) {
      Alert alert = it->second.alert;
      const auto host = hosts_.find(alert.key.agent_id);
      if (host != hosts_.end()) Describe(alert, &rule, host->second);
      status.active.push_back(std::move(alert));
    }
    statuses.push_back(std::move(status));
  }
  return statuses;
}

RuleEngine::RuleEngine(RuleSet rules)
    : impl_(std::make_unique<Impl>(std::move(rules))) {}

RuleEngine::~RuleEngine() = default;

void RuleEngine::SetRules(RuleSet rules, absl::Time now,
                          std::vector<AlertEvent>* events) {
  impl_->SetRules(std::move(rules), now, events);
}

void RuleEngine::Restore(const std::vector<Alert>& active) {
  impl_->Restore(active);
}

void RuleEngine::OnHostRegistered(const v1::AgentHello& hello, absl::Time at,
                                  std::vector<AlertEvent>* events) {
  impl_->OnHostRegistered(hello, at, events);
}

void RuleEngine::OnHostDisconnected(const std::string& /*agent_id*/,
                                    absl::Time /*at*/,
                                    std::vector<AlertEvent>* /*events*/) {}

void RuleEngine::OnStored(const StoredBatch& batch,
                          std::vector<AlertEvent>* events) {
  impl_->OnStored(batch, events);
}

void RuleEngine::Tick(absl::Time now, std::vector<AlertEvent>* events) {
  impl_->Tick(now, events);
}

void RuleEngine::SetAlertId(const AlertKey& key, int64_t id) {
  impl_->SetAlertId(key, id);
}

std::vector<RuleStatus> RuleEngine::Status() const { return impl_->Status(); }

RuleEngine::Dropped RuleEngine::dropped() const { return impl_->dropped(); }

}  // namespace eroom::collector::alerting
