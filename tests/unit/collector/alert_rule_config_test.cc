#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <variant>

#include "absl/strings/str_cat.h"
#include "collector/alerting/alert_rule.h"
#include "collector/alerting/rule_config.h"
#include "collector/collector_config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/test_support/status_matchers.h"
#include "tests/unit/test_support/temp_dir.h"

namespace eroom::collector::alerting {
namespace {

namespace v1 = ::eroom::monitor::v1;
using ::eroom::test_support::IsOk;
using ::eroom::test_support::StatusIs;
using ::eroom::test_support::TempDirTest;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Optional;
using ::testing::Pair;

TEST(AlertRuleNamesTest, RoundTrip) {
  for (Severity severity :
       {Severity::kInfo, Severity::kWarning, Severity::kCritical}) {
    EXPECT_THAT(ParseSeverity(SeverityName(severity)), Optional(severity));
  }
  EXPECT_EQ(SeverityName(Severity::kCritical), "critical");
  EXPECT_EQ(ParseSeverity("fatal"), std::nullopt);

  for (Condition::Op op :
       {Condition::Op::kGreater, Condition::Op::kGreaterOrEqual,
        Condition::Op::kLess, Condition::Op::kLessOrEqual}) {
    EXPECT_THAT(ParseOp(OpName(op)), Optional(op));
  }
  EXPECT_EQ(OpName(Condition::Op::kGreaterOrEqual), ">=");
  EXPECT_EQ(ParseOp("=="), std::nullopt);

  for (Aggregation aggregation :
       {Aggregation::kLast, Aggregation::kAvg, Aggregation::kMin,
        Aggregation::kMax, Aggregation::kSum, Aggregation::kCount,
        Aggregation::kP95, Aggregation::kP99}) {
    EXPECT_THAT(ParseAggregation(AggregationName(aggregation)),
                Optional(aggregation));
  }
  EXPECT_EQ(AggregationName(Aggregation::kP95), "p95");
  EXPECT_EQ(ParseAggregation("median"), std::nullopt);

  EXPECT_EQ(MeasureName(RoomDurationRule::Measure::kQueueWait), "queue_wait");
  EXPECT_EQ(KindName(ThresholdRule{}), "threshold");
  EXPECT_EQ(KindName(RatioRule{}), "ratio");
  EXPECT_EQ(KindName(AbsenceRule{}), "absence");
  EXPECT_EQ(KindName(LogMatchRule{}), "log_match");
  EXPECT_EQ(KindName(RoomDurationRule{}), "room_duration");
}

TEST(ConditionTest, HoldsAtAndAroundTheThreshold) {
  const auto holds = [](Condition::Op op, double value) {
    return Condition{.op = op, .threshold = 500}.Holds(value);
  };
  EXPECT_TRUE(holds(Condition::Op::kGreater, 501));
  EXPECT_FALSE(holds(Condition::Op::kGreater, 500));
  EXPECT_TRUE(holds(Condition::Op::kGreaterOrEqual, 500));
  EXPECT_FALSE(holds(Condition::Op::kGreaterOrEqual, 499));
  EXPECT_TRUE(holds(Condition::Op::kLess, 499));
  EXPECT_FALSE(holds(Condition::Op::kLess, 500));
  EXPECT_TRUE(holds(Condition::Op::kLessOrEqual, 500));
  EXPECT_FALSE(holds(Condition::Op::kLessOrEqual, 501));
}

RuleSources Sources(const std::string& config_file,
                    std::vector<std::string> files_globs) {
  RuleSources sources;
  sources.config_file = config_file;
  sources.files_globs = std::move(files_globs);
  return sources;
}

MATCHER_P2(IsCondition, op, threshold, "") {
  return arg.has_value() && arg->op == op && arg->threshold == threshold;
}

class RuleConfigTest : public TempDirTest {
 protected:
  std::string Write(const std::string& name, const std::string& yaml) {
    const std::string path = PathIn(name);
    std::filesystem::create_directories(
        std::filesystem::path(path).parent_path());
    std::ofstream(path) << yaml;
    return path;
  }

  // The rules of a config whose `rules:` is `rules_yaml`.
  absl::StatusOr<RuleSet> Load(const std::string& rules_yaml,
                               std::vector<std::string> extra_types = {}) {
    config_ = Write("collector.yaml", "rules:\n" + rules_yaml);
    RuleSources sources;
    sources.config_file = config_;
    sources.extra_event_types = std::move(extra_types);
    return LoadRules(sources);
  }

  // The only rule of `rules_yaml`, which must load.
  AlertRule LoadOne(const std::string& rules_yaml) {
    absl::StatusOr<RuleSet> set = Load(rules_yaml);
    EXPECT_THAT(set, IsOk());
    if (!set.ok() || set->rules.size() != 1) {
      ADD_FAILURE() << "expected one rule";
      return AlertRule{};
    }
    return set->rules[0];
  }

  std::string config_;
};

TEST_F(RuleConfigTest, ThresholdRuleWithEveryCommonKey) {
  AlertRule rule = LoadOne(R"yaml(
  - name: api_latency_critical
    kind: threshold
    metric: probe.health.latency_ms
    aggregation: p95
    window: 5m
    condition: "> 500"
    recovery: "< 400ms"
    for: 1m
    keep_firing_for: 2m
    severity: critical
    labels: {team: eroom}
    summary: "p95 {{value}} ms on {{host}} ({{labels.team}})"
    inhibits_host: false
    overrides:
      - {host: gpu-1, condition: "> 800", for: 5m}
      - {host: lab-3, disabled: true}
)yaml");
  EXPECT_EQ(rule.name, "api_latency_critical");
  EXPECT_EQ(rule.source_file, config_);
  EXPECT_EQ(rule.severity, Severity::kCritical);
  EXPECT_THAT(rule.labels, ElementsAre(Pair("team", "eroom")));
  EXPECT_EQ(rule.summary, "p95 {{value}} ms on {{host}} ({{labels.team}})");
  EXPECT_THAT(rule.condition, IsCondition(Condition::Op::kGreater, 500));
  EXPECT_THAT(rule.recovery, IsCondition(Condition::Op::kLess, 400));
  EXPECT_EQ(rule.for_duration, absl::Minutes(1));
  EXPECT_EQ(rule.keep_firing_for, absl::Minutes(2));
  EXPECT_FALSE(rule.inhibits_host);
  ASSERT_TRUE(std::holds_alternative<ThresholdRule>(rule.kind));
  const auto& threshold = std::get<ThresholdRule>(rule.kind);
  EXPECT_EQ(threshold.metric, "probe.health.latency_ms");
  EXPECT_EQ(threshold.aggregation, Aggregation::kP95);
  EXPECT_EQ(threshold.window, absl::Minutes(5));
  EXPECT_EQ(threshold.samples, 0);
  ASSERT_EQ(rule.overrides.size(), 2u);
  EXPECT_EQ(rule.overrides[0].host, "gpu-1");
  EXPECT_FALSE(rule.overrides[0].disabled);
  EXPECT_THAT(rule.overrides[0].condition,
              IsCondition(Condition::Op::kGreater, 800));
  EXPECT_EQ(rule.overrides[0].recovery, std::nullopt);
  EXPECT_THAT(rule.overrides[0].for_duration, Optional(absl::Minutes(5)));
  EXPECT_EQ(rule.overrides[1].host, "lab-3");
  EXPECT_TRUE(rule.overrides[1].disabled);
  EXPECT_EQ(rule.overrides[1].for_duration, std::nullopt);
}

TEST_F(RuleConfigTest, ThresholdDefaultsAndSamplesAndSeriesLabels) {
  AlertRule rule = LoadOne(R"yaml(
  - name: probe_failing
    kind: threshold
    metric: disk.used_percent
    metric_labels: {mount: /}
    aggregation: max
    samples: 3
    condition: ">= 90%"
)yaml");
  EXPECT_EQ(rule.severity, Severity::kWarning);
  EXPECT_EQ(rule.for_duration, absl::ZeroDuration());
  EXPECT_EQ(rule.recovery, std::nullopt);
  const auto& threshold = std::get<ThresholdRule>(rule.kind);
  EXPECT_THAT(threshold.label_match, ElementsAre(Pair("mount", "/")));
  EXPECT_EQ(threshold.samples, 3);
  EXPECT_THAT(rule.condition, IsCondition(Condition::Op::kGreaterOrEqual, 90));

  rule = LoadOne(
      "  - {name: up, kind: threshold, metric: eroom.up, condition: '< 1'}\n");
  EXPECT_EQ(std::get<ThresholdRule>(rule.kind).aggregation, Aggregation::kLast);
  EXPECT_EQ(std::get<ThresholdRule>(rule.kind).window, absl::ZeroDuration());
}

TEST_F(RuleConfigTest, ConditionsTakeTheUnitsOfTheirValues) {
  const std::map<std::string, double> bytes = {{"> 2GB", 2e9},
                                               {"> 1.5GiB", 1.5 * (1 << 30)},
                                               {"> 512 MiB", 512.0 * (1 << 20)},
                                               {"> 100", 100}};
  for (const auto& [text, value] : bytes) {
    AlertRule rule = LoadOne(absl::StrCat(
        "  - {name: rss, kind: threshold, metric: eroom.rss_bytes, "
        "condition: '",
        text, "'}\n"));
    EXPECT_THAT(rule.condition, IsCondition(Condition::Op::kGreater, value))
        << text;
  }
  const std::map<std::string, double> milliseconds = {
      {"> 2m", 120000}, {"> 30s", 30000}, {"> 250ms", 250}, {"> 1.5h", 5.4e6}};
  for (const auto& [text, value] : milliseconds) {
    AlertRule rule = LoadOne(absl::StrCat(
        "  - {name: wait, kind: room_duration, measure: queue_wait, "
        "condition: '",
        text, "'}\n"));
    EXPECT_THAT(rule.condition, IsCondition(Condition::Op::kGreater, value))
        << text;
  }
}

TEST_F(RuleConfigTest, RatioRule) {
  AlertRule rule = LoadOne(R"yaml(
  - name: error_rate
    kind: ratio
    numerator:
      event_types: [room_failed]
      levels: [ERROR, warn]
      message: 'timeout|429'
      fields: {kind: system}
    denominator: {event_types: [room_completed, room_failed]}
    window: 30m
    min_denominator: 20
    condition: "> 5%"
    recovery: "< 4"
)yaml");
  const auto& ratio = std::get<RatioRule>(rule.kind);
  EXPECT_THAT(ratio.numerator.event_types, ElementsAre("room_failed"));
  EXPECT_THAT(ratio.numerator.levels, ElementsAre(v1::ERROR, v1::WARN));
  EXPECT_EQ(ratio.numerator.message_regex, "timeout|429");
  EXPECT_THAT(ratio.numerator.fields, ElementsAre(Pair("kind", "system")));
  EXPECT_THAT(ratio.denominator.event_types,
              ElementsAre("room_completed", "room_failed"));
  EXPECT_TRUE(ratio.denominator.levels.empty());
  EXPECT_EQ(ratio.window, absl::Minutes(30));
  EXPECT_EQ(ratio.min_denominator, 20);
  EXPECT_THAT(rule.condition, IsCondition(Condition::Op::kGreater, 5));
  EXPECT_THAT(rule.recovery, IsCondition(Condition::Op::kLess, 4));
}

TEST_F(RuleConfigTest, AbsenceRules) {
  absl::StatusOr<RuleSet> set = Load(R"yaml(
  - {name: host_down, kind: absence, inhibits_host: true, severity: critical}
  - {name: no_samples, kind: absence, metric: host.cpu_percent, after: 2m}
  - name: no_rooms
    kind: absence
    after: 1h
    event: {event_types: [room_completed]}
)yaml");
  ASSERT_THAT(set, IsOk());
  ASSERT_EQ(set->rules.size(), 3u);
  const AlertRule& host_down = set->rules[0];
  EXPECT_TRUE(host_down.inhibits_host);
  EXPECT_EQ(host_down.condition, std::nullopt);
  const auto& down = std::get<AbsenceRule>(host_down.kind);
  EXPECT_EQ(down.after, absl::Seconds(30));
  EXPECT_EQ(down.metric, "");
  EXPECT_EQ(down.event, std::nullopt);
  const auto& samples = std::get<AbsenceRule>(set->rules[1].kind);
  EXPECT_EQ(samples.metric, "host.cpu_percent");
  EXPECT_EQ(samples.after, absl::Minutes(2));
  const auto& rooms = std::get<AbsenceRule>(set->rules[2].kind);
  ASSERT_TRUE(rooms.event.has_value());
  EXPECT_THAT(rooms.event->event_types, ElementsAre("room_completed"));
  EXPECT_EQ(rooms.after, absl::Hours(1));
}

TEST_F(RuleConfigTest, LogMatchRules) {
  absl::StatusOr<RuleSet> set = Load(R"yaml(
  - name: new_errors
    kind: log_match
    match: {levels: [ERROR]}
    group_by: message_shape
  - name: error_burst
    kind: log_match
    match: {levels: [ERROR], message: '^Claude'}
    window: 1m
    condition: "> 10"
)yaml");
  ASSERT_THAT(set, IsOk());
  const auto& grouped = std::get<LogMatchRule>(set->rules[0].kind);
  EXPECT_TRUE(grouped.group_by_message_shape);
  EXPECT_EQ(grouped.window, absl::Minutes(5));
  EXPECT_THAT(set->rules[0].condition,
              IsCondition(Condition::Op::kGreaterOrEqual, 1));
  const auto& burst = std::get<LogMatchRule>(set->rules[1].kind);
  EXPECT_FALSE(burst.group_by_message_shape);
  EXPECT_EQ(burst.window, absl::Minutes(1));
  EXPECT_EQ(burst.match.message_regex, "^Claude");
  EXPECT_THAT(set->rules[1].condition,
              IsCondition(Condition::Op::kGreater, 10));
}

TEST_F(RuleConfigTest, RoomDurationRules) {
  absl::StatusOr<RuleSet> set = Load(R"yaml(
  - {name: slow, kind: room_duration, measure: processing, condition: "> 10m"}
  - {name: wait, kind: room_duration, measure: queue_wait, condition: "> 2m"}
  - {name: stuck, kind: room_duration, measure: running, condition: "> 10m"}
)yaml");
  ASSERT_THAT(set, IsOk());
  EXPECT_EQ(std::get<RoomDurationRule>(set->rules[0].kind).measure,
            RoomDurationRule::Measure::kProcessing);
  EXPECT_EQ(std::get<RoomDurationRule>(set->rules[1].kind).measure,
            RoomDurationRule::Measure::kQueueWait);
  EXPECT_EQ(std::get<RoomDurationRule>(set->rules[2].kind).measure,
            RoomDurationRule::Measure::kRunning);
  EXPECT_THAT(set->rules[2].condition,
              IsCondition(Condition::Op::kGreater, 600000));
}

struct BadRule {
  std::string rule;     // One rule named "bad", as YAML flow mapping.
  std::string problem;  // Expected after "FILE: rules[0] (bad): ".
};

class BadRuleTest : public RuleConfigTest,
                    public ::testing::WithParamInterface<BadRule> {};

TEST_P(BadRuleTest, IsRefusedNamingFileRuleAndKey) {
  absl::StatusOr<RuleSet> set = Load("  - " + GetParam().rule + "\n");
  EXPECT_THAT(
      set,
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr(config_ + ": rules[0] (bad): " + GetParam().problem)));
}

INSTANTIATE_TEST_SUITE_P(
    EveryKindOfProblem, BadRuleTest,
    ::testing::Values(
        BadRule{"{name: bad, kind: threshold, metric: eroom.heap_bytes, "
                "condition: '> 1'}",
                "metric: unknown metric 'eroom.heap_bytes'; known: "},
        BadRule{"{name: bad, kind: log_match, match: {event_types: "
                "[room_exploded]}}",
                "match.event_types[0]: unknown event type 'room_exploded'"},
        BadRule{"{name: bad, kind: log_match, match: {message: 'a(b'}}",
                "match.message: invalid regex: missing )"},
        BadRule{"{name: bad, kind: log_match, match: {levels: [FATAL]}}",
                "match.levels[0]: 'FATAL' is not one of"},
        BadRule{"{name: bad, kind: threshold, metric: eroom.up}",
                "condition: required"},
        BadRule{"{name: bad, kind: room_duration, measure: running}",
                "condition: required"},
        BadRule{"{name: bad, kind: ratio, condition: '> 5%', "
                "denominator: {event_types: [room_completed]}}",
                "numerator: required"},
        BadRule{"{name: bad, kind: room_duration, condition: '> 1m'}",
                "measure: required"},
        BadRule{"{name: bad, kind: absence, severity: page}",
                "severity: 'page' is not one of: info, warning, critical"},
        BadRule{"{name: bad, kind: threshold, metric: eroom.up, "
                "condition: '< 1', match: {levels: [ERROR]}}",
                "match: a key of log_match rules, not of threshold rules"},
        BadRule{"{name: bad, kind: absence, condition: '> 1'}",
                "condition: a key of threshold, ratio, log_match, "
                "room_duration rules, not of absence rules"},
        BadRule{"{name: bad, kind: absence, colour: red}",
                "colour: unknown key"},
        BadRule{"{name: bad, kind: threshold, metric: eroom.up, "
                "condition: '= 1'}",
                "condition: expected a comparison like"},
        BadRule{"{name: bad, kind: threshold, metric: eroom.rss_bytes, "
                "condition: '> 2m'}",
                "condition: 'm' is not a unit of this rule's values: bytes"},
        BadRule{"{name: bad, kind: threshold, metric: host.cpu_percent, "
                "condition: '> 90', recovery: '< 95'}",
                "recovery: '< 95' holds where the condition '> 90' holds"},
        BadRule{"{name: bad, kind: threshold, metric: host.cpu_percent, "
                "condition: '> 90', recovery: '> 80'}",
                "recovery: '> 80' holds where the condition '> 90' holds"},
        BadRule{"{name: bad, kind: threshold, metric: host.cpu_percent, "
                "condition: '> 90', recovery: '< 80', "
                "overrides: [{host: a, condition: '> 70'}]}",
                "overrides[0].recovery: '< 80' holds where the condition "
                "'> 70' holds"},
        BadRule{"{name: bad, kind: threshold, metric: probe.health.latency_ms, "
                "aggregation: p95, condition: '> 500'}",
                "window: required for aggregation p95"},
        BadRule{"{name: bad, kind: threshold, metric: eroom.up, window: 1m, "
                "samples: 3, aggregation: max, condition: '< 1'}",
                "samples: set either window or samples, not both"},
        BadRule{"{name: bad, kind: absence, metric: eroom.up, "
                "event: {levels: [ERROR]}}",
                "event: set either metric or event, not both"},
        BadRule{"{name: bad, kind: log_match, match: {}}",
                "match: matches every event"},
        BadRule{"{name: bad, kind: log_match, match: {levels: [ERROR]}, "
                "group_by: host}",
                "group_by: 'host' is not one of: message_shape"},
        BadRule{"{name: bad, kind: absence, labels: {severity: high}}",
                "labels.severity: set by the collector"},
        BadRule{"{name: bad, kind: absence, summary: 'down: {{hostname}}'}",
                "summary: unknown placeholder {{hostname}}"},
        BadRule{"{name: bad, kind: absence, for: 5 minutes}",
                "for: expected a duration"},
        BadRule{"{name: bad, kind: absence, overrides: [{host: a}]}",
                "overrides[0].host: the override changes nothing"},
        BadRule{"{name: bad, kind: sql}", "kind: 'sql' is not one of"},
        BadRule{"{name: bad}", "kind: required"}));

TEST_F(RuleConfigTest, EveryProblemIsReportedAtOnce) {
  absl::StatusOr<RuleSet> set = Load(R"yaml(
  - {name: first, kind: threshold, metric: nope, condition: "> 1"}
  - {kind: absence}
  - {name: 'has space', kind: absence}
  - 42
  - {name: last, kind: log_match, match: {message: '('}}
)yaml");
  ASSERT_THAT(set, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(set.status().message(),
              AllOf(HasSubstr(config_ + ": rules[0] (first): metric: "),
                    HasSubstr(config_ + ": rules[1]: name: required"),
                    HasSubstr(config_ + ": rules[2] (has space): name: "),
                    HasSubstr(config_ + ": rules[3]: expected a rule"),
                    HasSubstr(config_ + ": rules[4] (last): match.message: ")));
}

TEST_F(RuleConfigTest, ExtraEventTypesMayBeNamed) {
  const std::string rule =
      "  - {name: misses, kind: log_match, match: {event_types: "
      "[cache_miss]}}\n";
  EXPECT_THAT(Load(rule), StatusIs(absl::StatusCode::kInvalidArgument,
                                   HasSubstr("extra_event_types")));
  EXPECT_THAT(Load(rule, {"cache_miss"}), IsOk());
}

TEST_F(RuleConfigTest, AgentNoticeKindsAreKnownEventTypes) {
  absl::StatusOr<RuleSet> set = Load(R"yaml(
  - name: restarts
    kind: log_match
    match:
      event_types: [restart_started, restart_succeeded, restart_failed,
                    auto_restart_attempt, auto_restart_succeeded,
                    auto_restart_failed, auto_restart_limit_reached,
                    housekeeping_done, housekeeping_failed]
)yaml");
  EXPECT_THAT(set, IsOk());
}

TEST_F(RuleConfigTest, DuringRestartIsQuietOrNotify) {
  EXPECT_TRUE(
      LoadOne("  - {name: down, kind: absence, during_restart: quiet}\n")
          .quiet_during_restart);
  EXPECT_FALSE(
      LoadOne("  - {name: down, kind: absence, during_restart: notify}\n")
          .quiet_during_restart);
  EXPECT_FALSE(
      LoadOne("  - {name: down, kind: absence}\n").quiet_during_restart);
  EXPECT_THAT(Load("  - {name: bad, kind: absence, during_restart: mute}\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("during_restart: 'mute' is not one of")));
}

TEST_F(RuleConfigTest, RulesFilesAreGlobsBesideTheConfig) {
  const std::string config =
      Write("etc/collector.yaml",
            "rules:\n  - {name: in_config, kind: absence}\nlisten: ignored\n");
  Write("etc/rules.d/b.yaml", "rules:\n  - {name: b, kind: absence}\n");
  Write("etc/rules.d/a.yaml",
        "rules:\n  - {name: a1, kind: absence}\n"
        "  - {name: a2, kind: absence}\n");
  Write("etc/rules.d/notes.txt", "not yaml: [");
  Write("etc/rules.d/empty.yaml", "");
  absl::StatusOr<RuleSet> set = LoadRules(Sources(
      config,
      // Matched twice, read once; nothing in a missing directory is fine.
      {"rules.d/*.yaml", "rules.d/a.yaml", "none.d/*.yaml",
       PathIn("etc/rules.d/b.y?ml")}));
  ASSERT_THAT(set, IsOk());
  std::vector<std::string> names;
  std::vector<std::string> files;
  for (const AlertRule& rule : set->rules) {
    names.push_back(rule.name);
    files.push_back(std::filesystem::path(rule.source_file).filename());
  }
  EXPECT_THAT(names, ElementsAre("in_config", "a1", "a2", "b"));
  EXPECT_THAT(files,
              ElementsAre("collector.yaml", "a.yaml", "a.yaml", "b.yaml"));
}

TEST_F(RuleConfigTest, RulesFileProblemsNameTheFile) {
  const std::string config = Write("collector.yaml", "");
  const std::string extra =
      Write("rules/extra.yaml",
            "rules:\n  - {name: x, kind: absence, after: 0s}\nroutes: []\n");
  const std::string list = Write("rules/list.yaml", "rules: {name: y}\n");
  const std::string broken = Write("rules/broken.yaml", "rules: [\n");
  absl::StatusOr<RuleSet> set =
      LoadRules(Sources(config, {"rules/*.yaml", "bad[glob", ""}));
  ASSERT_THAT(set, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(
      set.status().message(),
      AllOf(HasSubstr(extra + ": rules[0] (x): after: 0 is out of range"),
            HasSubstr(extra + ": routes: unknown key"),
            HasSubstr(list + ": rules: expected a list of rules"),
            HasSubstr(broken + ": line "),
            HasSubstr(config + ": rules_files[1]: 'bad[glob' is not a valid "
                               "glob"),
            HasSubstr(config + ": rules_files[2]: an empty glob")));
}

TEST_F(RuleConfigTest, DuplicateNamesAcrossFilesAreRefused) {
  const std::string config =
      Write("collector.yaml", "rules:\n  - {name: host_down, kind: absence}\n");
  const std::string team = Write("rules/team.yaml",
                                 "rules:\n  - {name: other, kind: absence}\n"
                                 "  - {name: host_down, kind: absence}\n");
  absl::StatusOr<RuleSet> set = LoadRules(Sources(config, {"rules/*.yaml"}));
  EXPECT_THAT(set, StatusIs(absl::StatusCode::kInvalidArgument,
                            HasSubstr(team +
                                      ": rules[1] (host_down): name: already "
                                      "the name of rules[0] of " +
                                      config)));
}

// The shipped set: the example config (which the quickstart runs) loads it,
// and it covers the KPI table and the availability cases.
TEST(DefaultRulesTest, LoadAndCoverEveryKpiRowAndAvailabilityCase) {
  absl::StatusOr<RuleSet> set = LoadCollectorRules(
      std::string(EROOM_SOURCE_DIR) + "/deploy/collector.example.yaml");
  ASSERT_THAT(set, IsOk());
  std::map<std::string, const AlertRule*> by_name;
  for (const AlertRule& rule : set->rules) by_name[rule.name] = &rule;
  const auto rule = [&](const std::string& name, std::string_view kind,
                        Severity severity) -> const AlertRule& {
    static const AlertRule kMissing;
    auto it = by_name.find(name);
    if (it == by_name.end()) {
      ADD_FAILURE() << "no rule " << name;
      return kMissing;
    }
    EXPECT_EQ(KindName(it->second->kind), kind) << name;
    EXPECT_EQ(it->second->severity, severity) << name;
    return *it->second;
  };
  constexpr Severity kWarning = Severity::kWarning;
  constexpr Severity kCritical = Severity::kCritical;
  constexpr Condition::Op kGreater = Condition::Op::kGreater;

  // API response time.
  for (const std::string aggregation : {"p95", "max"}) {
    const AlertRule& critical = rule("api_latency_" + aggregation + "_critical",
                                     "threshold", kCritical);
    EXPECT_THAT(critical.condition, IsCondition(kGreater, 500));
    const AlertRule& warning =
        rule("api_latency_" + aggregation + "_warning", "threshold", kWarning);
    EXPECT_THAT(warning.condition, IsCondition(kGreater, 100));
  }
  // Queue wait and backlog.
  EXPECT_THAT(rule("queue_wait_critical", "room_duration", kCritical).condition,
              IsCondition(kGreater, 120000));
  EXPECT_THAT(rule("queue_wait_warning", "room_duration", kWarning).condition,
              IsCondition(kGreater, 30000));
  const AlertRule& backlog = rule("queue_backlog", "threshold", kWarning);
  EXPECT_THAT(backlog.condition, IsCondition(kGreater, 10));
  EXPECT_EQ(backlog.for_duration, absl::Minutes(1));
  // Processing, and rooms stuck running.
  EXPECT_THAT(rule("room_processing_slow", "room_duration", kWarning).condition,
              IsCondition(kGreater, 600000));
  const AlertRule& stuck = rule("room_stuck", "room_duration", kCritical);
  EXPECT_EQ(std::get<RoomDurationRule>(stuck.kind).measure,
            RoomDurationRule::Measure::kRunning);
  // Error rate and ERROR lines per minute.
  const AlertRule& error_rate =
      rule("room_error_rate_critical", "ratio", kCritical);
  EXPECT_THAT(error_rate.condition, IsCondition(kGreater, 5));
  EXPECT_GT(std::get<RatioRule>(error_rate.kind).min_denominator, 1);
  EXPECT_EQ(std::get<RatioRule>(error_rate.kind).window, absl::Hours(1));
  EXPECT_THAT(rule("room_error_rate_warning", "ratio", kWarning).condition,
              IsCondition(kGreater, 2));
  EXPECT_EQ(std::get<LogMatchRule>(
                rule("error_lines_per_minute", "log_match", kWarning).kind)
                .window,
            absl::Minutes(1));
  // Memory, disk, CPU.
  EXPECT_THAT(rule("eroom_memory_critical", "threshold", kCritical).condition,
              IsCondition(kGreater, 2e9));
  EXPECT_THAT(rule("eroom_memory_warning", "threshold", kWarning).condition,
              IsCondition(kGreater, 1e9));
  EXPECT_THAT(rule("disk_full", "threshold", kCritical).condition,
              IsCondition(kGreater, 90));
  EXPECT_EQ(rule("host_cpu_high", "threshold", kWarning).for_duration,
            absl::Minutes(5));
  // Availability, quiet while the host restarts ERoom itself.
  EXPECT_TRUE(rule("eroom_down", "threshold", kCritical).quiet_during_restart);
  EXPECT_TRUE(rule("eroom_port_not_listening", "threshold", kCritical)
                  .quiet_during_restart);
  const AlertRule& health =
      rule("health_probe_failing", "threshold", kCritical);
  EXPECT_EQ(std::get<ThresholdRule>(health.kind).samples, 3);
  EXPECT_TRUE(health.quiet_during_restart);
  EXPECT_TRUE(rule("host_down", "absence", kCritical).inhibits_host);
  EXPECT_TRUE(rule("host_down", "absence", kCritical).quiet_during_restart);
  EXPECT_FALSE(rule("disk_full", "threshold", kCritical).quiet_during_restart);
  // Remote operations.
  EXPECT_THAT(
      std::get<LogMatchRule>(rule("restart_failed", "log_match", kWarning).kind)
          .match.event_types,
      ElementsAre("restart_failed", "auto_restart_failed"));
  EXPECT_THAT(
      std::get<LogMatchRule>(
          rule("auto_restart_limit_reached", "log_match", kCritical).kind)
          .match.event_types,
      ElementsAre("auto_restart_limit_reached"));
  EXPECT_THAT(std::get<LogMatchRule>(
                  rule("housekeeping_failed", "log_match", kWarning).kind)
                  .match.event_types,
              ElementsAre("housekeeping_failed"));
  const AlertRule& fatal = rule("fatal_shutdown", "log_match", kCritical);
  EXPECT_EQ(fatal.for_duration, absl::ZeroDuration());
  EXPECT_THAT(std::get<LogMatchRule>(fatal.kind).match.event_types,
              ElementsAre("fatal_shutdown"));
  // New ERROR lines, grouped by message shape.
  EXPECT_TRUE(std::get<LogMatchRule>(
                  rule("new_error_lines", "log_match", kWarning).kind)
                  .group_by_message_shape);
}

}  // namespace
}  // namespace eroom::collector::alerting
