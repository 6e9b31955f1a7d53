#include "collector/alerting/rule_config.h"

#include <glob.h>

#include <cerrno>
#include <cmath>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "collector/alerting/notice_events.h"
#include "common/event_types.h"
#include "common/metric_catalog.h"
#include "common/status_macros.h"
#include "re2/re2.h"

namespace eroom::collector::alerting {
namespace {

namespace v1 = ::eroom::monitor::v1;

// The names of alert_rule.h are std::string_views, which this abseil's
// string functions do not take.
absl::string_view AbslView(std::string_view text) {
  return absl::string_view(text.data(), text.size());
}

// What a rule's values are, which decides the units its conditions may
// carry ("> 2GB", "> 500ms", "> 5%").
enum class Unit { kCount, kBytes, kMilliseconds, kPercent };

constexpr std::string_view kKindNames[] = {"threshold", "ratio", "absence",
                                           "log_match", "room_duration"};

constexpr Severity kSeverities[] = {Severity::kInfo, Severity::kWarning,
                                    Severity::kCritical};

constexpr Aggregation kAggregations[] = {
    Aggregation::kLast, Aggregation::kAvg, Aggregation::kMin,
    Aggregation::kMax,  Aggregation::kSum, Aggregation::kCount,
    Aggregation::kP95,  Aggregation::kP99};

constexpr RoomDurationRule::Measure kMeasures[] = {
    RoomDurationRule::Measure::kProcessing,
    RoomDurationRule::Measure::kQueueWait, RoomDurationRule::Measure::kRunning};

// Labels the collector puts on every alert; a rule cannot set them.
constexpr absl::string_view kReservedLabels[] = {
    "alertname", "host", "agent_id", "severity", "group"};

// What a summary may refer to, besides {{labels.NAME}}.
constexpr absl::string_view kSummaryPlaceholders[] = {
    "host", "value", "threshold", "count", "rule", "severity", "group"};

// Keys that belong to some kinds only: one of them on a rule of another
// kind is named as such rather than as an unknown key.
struct KindKey {
  absl::string_view key;
  std::vector<absl::string_view> kinds;
};
const std::vector<KindKey>& KindKeys() {
  static const std::vector<KindKey> keys = {
      {"metric", {"threshold", "absence"}},
      {"metric_labels", {"threshold"}},
      {"aggregation", {"threshold"}},
      {"samples", {"threshold"}},
      {"window", {"threshold", "ratio", "log_match"}},
      {"numerator", {"ratio"}},
      {"denominator", {"ratio"}},
      {"min_denominator", {"ratio"}},
      {"after", {"absence"}},
      {"event", {"absence"}},
      {"match", {"log_match"}},
      {"group_by", {"log_match"}},
      {"measure", {"room_duration"}},
      {"condition", {"threshold", "ratio", "log_match", "room_duration"}},
      {"recovery", {"threshold", "ratio", "log_match", "room_duration"}},
  };
  return keys;
}

template <typename Container>
bool Contains(const Container& container, absl::string_view value) {
  for (const auto& item : container) {
    if (item == value) return true;
  }
  return false;
}

template <typename Values, typename NameOf>
std::vector<std::string> NamesOf(const Values& values, NameOf name_of) {
  std::vector<std::string> names;
  for (const auto& value : values) names.emplace_back(name_of(value));
  return names;
}

absl::string_view UnitsOf(Unit unit) {
  switch (unit) {
    case Unit::kCount:
      return "a count (a plain number)";
    case Unit::kBytes:
      return "bytes (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB, or none)";
    case Unit::kMilliseconds:
      return "milliseconds (ms, s, m, h, or none)";
    case Unit::kPercent:
      return "a percentage (%, or none)";
  }
  return "";
}

Unit MetricUnit(std::string_view metric) {
  if (metric.ends_with("_bytes")) return Unit::kBytes;
  if (metric.ends_with("_ms")) return Unit::kMilliseconds;
  if (metric.ends_with("_percent")) return Unit::kPercent;
  return Unit::kCount;
}

// "500", "2GB", "1.5GiB", "500ms", "2m", "5%": a value in `unit`'s base.
absl::StatusOr<double> ParseQuantity(absl::string_view text, Unit unit) {
  text = absl::StripAsciiWhitespace(text);
  const size_t split = text.find_first_not_of("0123456789.+-");
  const absl::string_view number = text.substr(0, split);
  const absl::string_view suffix =
      split == absl::string_view::npos
          ? absl::string_view()
          : absl::StripLeadingAsciiWhitespace(text.substr(split));
  double value;
  if (number.empty() || !absl::SimpleAtod(number, &value) ||
      !std::isfinite(value)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "expected a number after the comparison, got '", text, "'"));
  }
  if (suffix.empty()) return value;
  switch (unit) {
    case Unit::kCount:
      break;
    case Unit::kBytes: {
      static const std::pair<absl::string_view, double> kSizes[] = {
          {"B", 1},
          {"KB", 1e3},
          {"MB", 1e6},
          {"GB", 1e9},
          {"TB", 1e12},
          {"KiB", 1024.0},
          {"MiB", 1024.0 * 1024},
          {"GiB", 1024.0 * 1024 * 1024},
          {"TiB", 1024.0 * 1024 * 1024 * 1024}};
      for (const auto& [name, factor] : kSizes) {
        if (suffix == name) return value * factor;
      }
      break;
    }
    case Unit::kMilliseconds: {
      absl::Duration duration;
      if (absl::ParseDuration(absl::StrCat(number, suffix), &duration)) {
        return absl::ToDoubleMilliseconds(duration);
      }
      break;
    }
    case Unit::kPercent:
      if (suffix == "%") return value;
      break;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "'", suffix, "' is not a unit of this rule's values: ", UnitsOf(unit)));
}

// "> 500", ">= 2GB", "< 400ms".
absl::StatusOr<Condition> ParseCondition(absl::string_view text, Unit unit) {
  text = absl::StripAsciiWhitespace(text);
  for (const absl::string_view op_name : {">=", "<=", ">", "<"}) {
    if (!absl::ConsumePrefix(&text, op_name)) continue;
    Condition condition;
    condition.op = *ParseOp(std::string_view(op_name.data(), op_name.size()));
    EROOM_ASSIGN_OR_RETURN(condition.threshold, ParseQuantity(text, unit));
    return condition;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("expected a comparison like \"> 500\" (>, >=, <, <= and ",
                   UnitsOf(unit), "), got '", text, "'"));
}

bool Upward(const Condition& condition) {
  return condition.op == Condition::Op::kGreater ||
         condition.op == Condition::Op::kGreaterOrEqual;
}

// Whether some value satisfies both: an alert would resolve while its
// condition still holds.
bool Overlap(const Condition& a, const Condition& b) {
  if (Upward(a) == Upward(b)) return true;
  const Condition& up = Upward(a) ? a : b;
  const Condition& down = Upward(a) ? b : a;
  return up.threshold < down.threshold ||
         (up.threshold == down.threshold &&
          up.op == Condition::Op::kGreaterOrEqual &&
          down.op == Condition::Op::kLessOrEqual);
}

std::string ConditionText(const Condition& condition) {
  return absl::StrCat(AbslView(OpName(condition.op)), " ", condition.threshold);
}

// The condition at `key`, nullopt when absent or bad (then a problem).
std::optional<Condition> ReadCondition(ConfigMap& map, const std::string& key,
                                       Unit unit) {
  const std::string text = map.String(key, "");
  if (text.empty()) return std::nullopt;
  absl::StatusOr<Condition> condition = ParseCondition(text, unit);
  if (!condition.ok()) {
    map.AddProblem(key, condition.status().message());
    return std::nullopt;
  }
  return *condition;
}

void CheckRecovery(ConfigMap& map, const std::string& key,
                   const std::optional<Condition>& condition,
                   const std::optional<Condition>& recovery) {
  if (!condition || !recovery || !Overlap(*condition, *recovery)) return;
  map.AddProblem(
      key,
      absl::StrCat("'", ConditionText(*recovery),
                   "' holds where the condition '", ConditionText(*condition),
                   "' holds too; it must lie on the other side, "
                   "e.g. condition \"> 500\", recovery \"< 400\""));
}

// Reads one rule at a time, knowing the event types rules may name.
class RuleReader {
 public:
  explicit RuleReader(const std::vector<std::string>& extra_event_types) {
    event_types_.insert(BuiltInEventTypes().begin(), BuiltInEventTypes().end());
    event_types_.insert(NoticeEventTypes().begin(), NoticeEventTypes().end());
    event_types_.insert(extra_event_types.begin(), extra_event_types.end());
  }

  // Reads `node`, rule `index` of `file`; every problem is appended to
  // `problems`, each naming the rule and key.
  AlertRule Read(const YAML::Node& node, const std::string& file, size_t index,
                 std::vector<std::string>* problems) const;

 private:
  // How the kind read its keys: the unit of its conditions (none: it takes
  // no condition) and the condition it has when none is written.
  struct KindReading {
    std::optional<Unit> unit;
    std::optional<Condition> default_condition;
  };

  RuleKind ReadKind(std::string_view kind_name, ConfigMap& map,
                    KindReading* reading) const;
  ThresholdRule ReadThreshold(ConfigMap& map, KindReading* reading) const;
  RatioRule ReadRatio(ConfigMap& map, KindReading* reading) const;
  AbsenceRule ReadAbsence(ConfigMap& map) const;
  LogMatchRule ReadLogMatch(ConfigMap& map, KindReading* reading) const;
  RoomDurationRule ReadRoomDuration(ConfigMap& map, KindReading* reading) const;
  EventMatch ReadEventMatch(ConfigMap& map, const std::string& key) const;
  std::string ReadMetric(ConfigMap& map) const;
  std::vector<HostOverride> ReadOverrides(ConfigMap& map, const AlertRule& rule,
                                          std::optional<Unit> unit) const;

  std::set<std::string> event_types_;
};

std::string RuleLabel(const YAML::Node& node, const std::string& file,
                      size_t index) {
  std::string label = absl::StrCat(file, ": rules[", index, "]");
  const YAML::Node& name = node["name"];
  if (name && name.IsScalar() && !name.Scalar().empty()) {
    absl::StrAppend(&label, " (", name.Scalar(), ")");
  }
  return label;
}

bool ValidName(std::string_view name) {
  for (char c : name) {
    if (!absl::ascii_isalnum(c) && c != '_' && c != '-' && c != '.') {
      return false;
    }
  }
  return !name.empty() && name.size() <= 128;
}

bool IsIdentifier(std::string_view name) {
  if (name.empty() || absl::ascii_isdigit(name[0])) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(c) && c != '_') return false;
  }
  return true;
}

void CheckLabels(ConfigMap& map,
                 const std::map<std::string, std::string>& labels) {
  for (const auto& [name, value] : labels) {
    const std::string key = absl::StrCat("labels.", name);
    if (!IsIdentifier(name)) {
      map.AddProblem(key, "a label name is letters, digits and _");
    } else if (Contains(kReservedLabels, name)) {
      map.AddProblem(key,
                     absl::StrCat("set by the collector on every alert (",
                                  absl::StrJoin(kReservedLabels, ", "), ")"));
    }
  }
}

void CheckSummary(ConfigMap& map, std::string_view summary) {
  size_t at = 0;
  while ((at = summary.find("{{", at)) != std::string_view::npos) {
    const size_t close = summary.find("}}", at);
    if (close == std::string_view::npos) {
      map.AddProblem("summary", "'{{' without '}}'");
      return;
    }
    const absl::string_view name = absl::StripAsciiWhitespace(
        absl::string_view(summary.data() + at + 2, close - at - 2));
    absl::string_view label = name;
    const bool is_label =
        absl::ConsumePrefix(&label, "labels.") && !label.empty();
    if (!is_label && !Contains(kSummaryPlaceholders, name)) {
      map.AddProblem("summary",
                     absl::StrCat("unknown placeholder {{", name, "}}; known: ",
                                  absl::StrJoin(kSummaryPlaceholders, ", "),
                                  ", labels.NAME"));
    }
    at = close + 2;
  }
}

AlertRule RuleReader::Read(const YAML::Node& node, const std::string& file,
                           size_t index,
                           std::vector<std::string>* problems) const {
  AlertRule rule;
  rule.source_file = file;
  ConfigProblems rule_problems(RuleLabel(node, file, index));
  ConfigMap map(node, "", &rule_problems);

  rule.name = map.String("name", "");
  if (!map.Has("name")) {
    map.AddProblem("name", "required");
  } else if (!ValidName(rule.name)) {
    map.AddProblem("name",
                   "up to 128 letters, digits and the characters _ - .");
  }
  const std::vector<std::string> kinds = NamesOf(
      kKindNames, [](std::string_view name) { return std::string(name); });
  const std::string kind_name = map.Choice("kind", "", kinds);
  if (!map.Has("kind")) {
    map.AddProblem("kind",
                   absl::StrCat("required: ", absl::StrJoin(kinds, ", ")));
  }
  rule.severity = *ParseSeverity(
      map.Choice("severity", std::string(SeverityName(rule.severity)),
                 NamesOf(kSeverities, SeverityName)));
  rule.labels = map.StringMap("labels");
  CheckLabels(map, rule.labels);
  rule.summary = map.String("summary", "");
  CheckSummary(map, rule.summary);
  rule.for_duration = map.Duration("for", absl::ZeroDuration(),
                                   absl::ZeroDuration(), absl::Hours(24));
  rule.keep_firing_for = map.Duration("keep_firing_for", absl::ZeroDuration(),
                                      absl::ZeroDuration(), absl::Hours(24));
  rule.inhibits_host = map.Bool("inhibits_host", false);
  rule.quiet_during_restart =
      map.Choice("during_restart", "notify", {"notify", "quiet"}) == "quiet";

  KindReading reading;
  rule.kind = ReadKind(kind_name, map, &reading);
  if (reading.unit) {
    rule.condition = ReadCondition(map, "condition", *reading.unit);
    rule.recovery = ReadCondition(map, "recovery", *reading.unit);
    if (!map.Has("condition")) {
      rule.condition = reading.default_condition;
      if (!rule.condition) {
        map.AddProblem("condition",
                       absl::StrCat("required: when the rule fires, e.g. "
                                    "\"> 500\" (values are ",
                                    UnitsOf(*reading.unit), ")"));
      }
    }
    CheckRecovery(map, "recovery", rule.condition, rule.recovery);
  }
  rule.overrides = ReadOverrides(map, rule, reading.unit);

  for (const KindKey& kind_key : KindKeys()) {
    const std::string key(kind_key.key);
    if (Contains(kind_key.kinds, kind_name) || !map.Has(key)) continue;
    map.MarkRead(key);
    // Without a kind, its keys are neither right nor wrong.
    if (kind_name.empty()) continue;
    map.AddProblem(
        key, absl::StrCat("a key of ", absl::StrJoin(kind_key.kinds, ", "),
                          " rules, not of ", kind_name, " rules"));
  }
  map.Finish();
  problems->insert(problems->end(), rule_problems.lines().begin(),
                   rule_problems.lines().end());
  return rule;
}

RuleKind RuleReader::ReadKind(std::string_view kind_name, ConfigMap& map,
                              KindReading* reading) const {
  if (kind_name == "threshold") return ReadThreshold(map, reading);
  if (kind_name == "ratio") return ReadRatio(map, reading);
  if (kind_name == "absence") return ReadAbsence(map);
  if (kind_name == "log_match") return ReadLogMatch(map, reading);
  if (kind_name == "room_duration") return ReadRoomDuration(map, reading);
  // No kind or a bad one, already reported: the rule is not used.
  return ThresholdRule{};
}

std::string RuleReader::ReadMetric(ConfigMap& map) const {
  const std::string metric = map.String("metric", "");
  const std::vector<std::string>& known = KnownMetricNames();
  if (map.Has("metric") && !Contains(known, metric)) {
    map.AddProblem("metric",
                   absl::StrCat("unknown metric '", metric,
                                "'; known: ", absl::StrJoin(known, ", ")));
  }
  return metric;
}

ThresholdRule RuleReader::ReadThreshold(ConfigMap& map,
                                        KindReading* reading) const {
  ThresholdRule rule;
  if (!map.Has("metric")) {
    map.AddProblem("metric", "required: the metric to watch");
  }
  rule.metric = ReadMetric(map);
  rule.label_match = map.StringMap("metric_labels");
  rule.aggregation = *ParseAggregation(map.Choice(
      "aggregation", "last", NamesOf(kAggregations, AggregationName)));
  rule.window = map.Duration("window", absl::ZeroDuration(), absl::Seconds(1),
                             absl::Hours(24 * 7));
  rule.samples = static_cast<int>(map.Int("samples", 0, 1, 10000));
  if (map.Has("window") && map.Has("samples")) {
    map.AddProblem("samples", "set either window or samples, not both");
  }
  if (rule.aggregation != Aggregation::kLast && !map.Has("window") &&
      !map.Has("samples")) {
    map.AddProblem("window",
                   absl::StrCat("required for aggregation ",
                                AbslView(AggregationName(rule.aggregation)),
                                " (or samples: the last N points)"));
  }
  reading->unit = rule.aggregation == Aggregation::kCount
                      ? Unit::kCount
                      : MetricUnit(rule.metric);
  return rule;
}

RatioRule RuleReader::ReadRatio(ConfigMap& map, KindReading* reading) const {
  RatioRule rule;
  rule.numerator = ReadEventMatch(map, "numerator");
  rule.denominator = ReadEventMatch(map, "denominator");
  for (const std::string key : {"numerator", "denominator"}) {
    if (!map.Has(key)) {
      map.AddProblem(key,
                     "required: the events to count, e.g. "
                     "{event_types: [room_failed]}");
    }
  }
  rule.window = map.Duration("window", absl::Hours(1), absl::Minutes(1),
                             absl::Hours(24 * 7));
  rule.min_denominator = map.Int("min_denominator", 1, 1, 1000000000);
  reading->unit = Unit::kPercent;
  return rule;
}

AbsenceRule RuleReader::ReadAbsence(ConfigMap& map) const {
  AbsenceRule rule;
  rule.after = map.Duration("after", absl::Seconds(30), absl::Seconds(1),
                            absl::Hours(24 * 7));
  rule.metric = ReadMetric(map);
  const EventMatch event = ReadEventMatch(map, "event");
  if (map.Has("event")) rule.event = event;
  if (map.Has("metric") && map.Has("event")) {
    map.AddProblem("event", "set either metric or event, not both");
  }
  return rule;
}

LogMatchRule RuleReader::ReadLogMatch(ConfigMap& map,
                                      KindReading* reading) const {
  LogMatchRule rule;
  rule.match = ReadEventMatch(map, "match");
  if (!map.Has("match")) {
    map.AddProblem("match",
                   "required: the events to count, e.g. "
                   "{levels: [ERROR]}");
  } else if (rule.match.event_types.empty() && rule.match.levels.empty() &&
             rule.match.message_regex.empty() && rule.match.fields.empty()) {
    map.AddProblem("match",
                   "matches every event: name event_types, levels, message "
                   "or fields");
  }
  rule.window = map.Duration("window", absl::Minutes(5), absl::Seconds(1),
                             absl::Hours(24 * 7));
  rule.group_by_message_shape =
      map.Choice("group_by", "", {"message_shape"}) == "message_shape";
  reading->unit = Unit::kCount;
  reading->default_condition =
      Condition{.op = Condition::Op::kGreaterOrEqual, .threshold = 1};
  return rule;
}

RoomDurationRule RuleReader::ReadRoomDuration(ConfigMap& map,
                                              KindReading* reading) const {
  RoomDurationRule rule;
  const std::vector<std::string> measures = NamesOf(kMeasures, MeasureName);
  const std::string measure = map.Choice("measure", "", measures);
  if (!map.Has("measure")) {
    map.AddProblem("measure",
                   absl::StrCat("required: ", absl::StrJoin(measures, ", ")));
  }
  for (RoomDurationRule::Measure each : kMeasures) {
    if (MeasureName(each) == measure) rule.measure = each;
  }
  reading->unit = Unit::kMilliseconds;
  return rule;
}

EventMatch RuleReader::ReadEventMatch(ConfigMap& parent,
                                      const std::string& key) const {
  ConfigMap map = parent.Map(key);
  EventMatch match;
  match.event_types = map.StringList("event_types", {});
  for (size_t i = 0; i < match.event_types.size(); ++i) {
    const std::string& type = match.event_types[i];
    if (event_types_.contains(type)) continue;
    map.AddProblem(
        absl::StrCat("event_types[", i, "]"),
        absl::StrCat("unknown event type '", type,
                     "'; known: ", absl::StrJoin(event_types_, ", "),
                     " (a type an agent's classification rules add goes in "
                     "the collector's extra_event_types)"));
  }
  const std::vector<std::string> levels = map.StringList("levels", {});
  for (size_t i = 0; i < levels.size(); ++i) {
    v1::LogLevel level;
    if (v1::LogLevel_Parse(absl::AsciiStrToUpper(levels[i]), &level) &&
        level != v1::LOG_LEVEL_UNSPECIFIED) {
      match.levels.push_back(level);
    } else {
      map.AddProblem(absl::StrCat("levels[", i, "]"),
                     absl::StrCat("'", levels[i],
                                  "' is not one of TRACE, DEBUG, INFO, WARN, "
                                  "ERROR"));
    }
  }
  match.message_regex = map.String("message", "");
  if (!match.message_regex.empty()) {
    RE2::Options options;
    options.set_log_errors(false);
    const RE2 regex(match.message_regex, options);
    if (!regex.ok()) {
      map.AddProblem("message", absl::StrCat("invalid regex: ", regex.error()));
    }
  }
  match.fields = map.StringMap("fields");
  map.Finish();
  return match;
}

std::vector<HostOverride> RuleReader::ReadOverrides(
    ConfigMap& map, const AlertRule& rule, std::optional<Unit> unit) const {
  std::vector<HostOverride> overrides;
  std::set<std::string> hosts;
  for (ConfigMap& item : map.MapList("overrides")) {
    HostOverride host_override;
    host_override.host = item.String("host", "");
    if (host_override.host.empty()) {
      item.AddProblem("host", "required: an agent id or a hostname");
    } else if (!hosts.insert(host_override.host).second) {
      item.AddProblem("host", "overridden twice");
    }
    host_override.disabled = item.Bool("disabled", false);
    if (unit) {
      host_override.condition = ReadCondition(item, "condition", *unit);
      host_override.recovery = ReadCondition(item, "recovery", *unit);
      CheckRecovery(
          item, "recovery",
          host_override.condition ? host_override.condition : rule.condition,
          host_override.recovery ? host_override.recovery : rule.recovery);
    }
    const absl::Duration for_duration = item.Duration(
        "for", absl::ZeroDuration(), absl::ZeroDuration(), absl::Hours(24));
    if (item.Has("for")) host_override.for_duration = for_duration;
    if (!item.Has("disabled") && !item.Has("condition") &&
        !item.Has("recovery") && !item.Has("for")) {
      item.AddProblem("host",
                      "the override changes nothing: set disabled, "
                      "condition, recovery or for");
    }
    item.Finish();
    overrides.push_back(std::move(host_override));
  }
  return overrides;
}

// The files the globs match, in order, each once.
std::vector<std::string> RuleFiles(const RuleSources& sources,
                                   std::vector<std::string>* problems) {
  const std::filesystem::path base =
      std::filesystem::path(sources.config_file).parent_path();
  std::vector<std::string> files;
  std::set<std::string> seen;
  for (size_t i = 0; i < sources.files_globs.size(); ++i) {
    const std::string& pattern = sources.files_globs[i];
    const std::string where =
        absl::StrCat(sources.config_file, ": rules_files[", i, "]: ");
    if (pattern.empty()) {
      problems->push_back(absl::StrCat(where, "an empty glob"));
      continue;
    }
    // glob(3) would take a lone '[' literally; here it is surely a typo.
    const size_t open = pattern.rfind('[');
    if (open != std::string::npos &&
        pattern.find(']', open) == std::string::npos) {
      problems->push_back(absl::StrCat(
          where, "'", pattern, "' is not a valid glob: '[' without ']'"));
      continue;
    }
    const std::string full = (base / pattern).string();
    glob_t matches{};
    // A directory that does not exist matches nothing; one that cannot be
    // read is a problem.
    const int result = glob(
        full.c_str(), 0,
        [](const char*, int error) { return error == ENOENT ? 0 : 1; },
        &matches);
    if (result != 0 && result != GLOB_NOMATCH) {
      problems->push_back(absl::StrCat(where, "cannot expand '", full, "': ",
                                       result == GLOB_ABORTED
                                           ? "a directory cannot be read"
                                           : "out of memory"));
    }
    for (size_t m = 0; result == 0 && m < matches.gl_pathc; ++m) {
      const std::string file = matches.gl_pathv[m];
      if (!std::filesystem::is_regular_file(file)) {
        problems->push_back(
            absl::StrCat(where, "'", file, "' is not a regular file"));
      } else if (seen.insert(file).second) {
        files.push_back(file);
      }
    }
    globfree(&matches);
  }
  return files;
}

// A rule and the prefix of its problems, for the checks across files.
struct ReadRule {
  AlertRule rule;
  std::string where;     // "FILE: rules[i] (NAME)".
  std::string position;  // "rules[i] of FILE".
};

// Reads the `rules:` list of `file`; `only_rules`: the file holds nothing
// else (a rules file, not the collector's config).
void ReadRulesOf(const std::string& file, bool only_rules,
                 const RuleReader& reader, std::vector<ReadRule>* rules,
                 std::vector<std::string>* problems) {
  absl::StatusOr<ConfigDocument> doc = LoadConfigDocument(file);
  if (!doc.ok()) {
    problems->emplace_back(doc.status().message());
    return;
  }
  if (only_rules) {
    ConfigMap top(doc->root, "", doc->problems.get());
    top.MarkRead("rules");
    top.Finish();
  }
  const YAML::Node& root = doc->root;
  const YAML::Node list = root.IsMap() ? root["rules"] : YAML::Node();
  std::vector<std::string> rule_problems;
  if (list && !list.IsNull() && !list.IsSequence()) {
    doc->problems->Add("rules", "expected a list of rules");
  } else if (list) {
    for (size_t i = 0; i < list.size(); ++i) {
      if (!list[i].IsMap()) {
        rule_problems.push_back(absl::StrCat(
            file, ": rules[", i, "]: expected a rule (a mapping of keys)"));
        continue;
      }
      rules->push_back(
          ReadRule{.rule = reader.Read(list[i], file, i, &rule_problems),
                   .where = RuleLabel(list[i], file, i),
                   .position = absl::StrCat("rules[", i, "] of ", file)});
    }
  }
  problems->insert(problems->end(), doc->problems->lines().begin(),
                   doc->problems->lines().end());
  problems->insert(problems->end(), rule_problems.begin(), rule_problems.end());
}

void CheckUniqueNames(const std::vector<ReadRule>& rules,
                      std::vector<std::string>* problems) {
  std::map<std::string, const ReadRule*> by_name;
  for (const ReadRule& read : rules) {
    if (read.rule.name.empty()) continue;
    auto [first, inserted] = by_name.emplace(read.rule.name, &read);
    if (inserted) continue;
    problems->push_back(absl::StrCat(read.where, ": name: already the name of ",
                                     first->second->position));
  }
}

}  // namespace

RuleSources ReadRuleSources(ConfigMap& config, const std::string& config_file) {
  RuleSources sources;
  sources.config_file = config_file;
  sources.files_globs = config.StringList("rules_files", {});
  sources.extra_event_types = config.StringList("extra_event_types", {});
  for (size_t i = 0; i < sources.extra_event_types.size(); ++i) {
    if (!IsIdentifier(sources.extra_event_types[i])) {
      config.AddProblem(absl::StrCat("extra_event_types[", i, "]"),
                        "an event type is letters, digits and _");
    }
  }
  config.MarkRead("rules");
  return sources;
}

absl::StatusOr<RuleSet> LoadRules(const RuleSources& sources) {
  const RuleReader reader(sources.extra_event_types);
  std::vector<ReadRule> rules;
  std::vector<std::string> problems;
  ReadRulesOf(sources.config_file, /*only_rules=*/false, reader, &rules,
              &problems);
  for (const std::string& file : RuleFiles(sources, &problems)) {
    ReadRulesOf(file, /*only_rules=*/true, reader, &rules, &problems);
  }
  CheckUniqueNames(rules, &problems);
  if (!problems.empty()) {
    return absl::InvalidArgumentError(absl::StrJoin(problems, "\n"));
  }
  RuleSet set;
  for (ReadRule& read : rules) set.rules.push_back(std::move(read.rule));
  return set;
}

}  // namespace eroom::collector::alerting
