#include "agent/classification_config.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/test_support/status_matchers.h"

namespace eroom::agent {

using ::eroom::test_support::IsOk;
namespace {

namespace v1 = ::eroom::monitor::v1;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

using Fields = std::map<std::string, std::string>;

Fields FieldsOf(const v1::LogEvent& event) {
  return Fields(event.fields().begin(), event.fields().end());
}

// What LoadAgentConfig does around the call.
struct Parsed {
  std::vector<ClassificationRule> rules;
  std::vector<std::string> problems;
};

Parsed Parse(const std::string& yaml) {
  ConfigDocument doc;
  doc.problems = std::make_unique<ConfigProblems>("agent.yaml");
  doc.root = YAML::Load(yaml);
  ConfigMap root(doc.root, "", doc.problems.get());
  ConfigMap logs = root.Map("logs");
  Parsed parsed;
  parsed.rules = ParseClassificationConfig(logs);
  logs.Finish();
  root.Finish();
  parsed.problems = doc.problems->lines();
  return parsed;
}

std::vector<std::string> TypesOf(const std::vector<ClassificationRule>& rules) {
  std::vector<std::string> types;
  for (const ClassificationRule& rule : rules) types.push_back(rule.event_type);
  return types;
}

TEST(ClassificationConfigTest, WithoutTheSectionTheDefaultsApply) {
  for (const char* yaml : {"", "logs: {}", "logs: {classification: {}}",
                           "logs: {classification: {rules: []}}"}) {
    SCOPED_TRACE(yaml);
    const Parsed parsed = Parse(yaml);
    EXPECT_THAT(parsed.problems, IsEmpty());
    EXPECT_EQ(TypesOf(parsed.rules), TypesOf(DefaultClassificationRules()));
  }
}

TEST(ClassificationConfigTest, CustomRulesComeFirstAndClassify) {
  const Parsed parsed = Parse(R"(
logs:
  classification:
    rules:
      - type: queue_report
        level: INFO
        pattern: 'queue (?P<size>\d+) after (?P<wait>\S+) ok=(?P<ok>\w+)'
        fields: {size: int, wait: duration_ms, ok: bool}
        fixed_fields: {source: custom}
      - type: any_warning
        level: WARN
        pattern: ''
)");
  ASSERT_THAT(parsed.problems, IsEmpty());
  ASSERT_THAT(parsed.rules, SizeIs(2 + DefaultClassificationRules().size()));
  EXPECT_EQ(parsed.rules[0].event_type, "queue_report");
  EXPECT_EQ(parsed.rules[0].level, v1::INFO);
  EXPECT_EQ(parsed.rules[1].event_type, "any_warning");
  EXPECT_EQ(parsed.rules[2].event_type, "server_started");

  absl::StatusOr<Classifier> classifier = Classifier::Create(parsed.rules);
  ASSERT_THAT(classifier, IsOk());
  v1::LogEvent event;
  event.set_level(v1::INFO);
  event.set_message("queue 007 after 1.5s ok=yes");
  classifier->Classify(event);
  EXPECT_EQ(event.event_type(), "queue_report");
  EXPECT_EQ(FieldsOf(event), (Fields{{"size", "7"},
                                     {"wait", "1500"},
                                     {"ok", "true"},
                                     {"source", "custom"}}));

  v1::LogEvent warning;
  warning.set_level(v1::WARN);
  warning.set_message("잘못된 API 키가 제공되었습니다: /health");
  classifier->Classify(warning);
  EXPECT_EQ(warning.event_type(), "any_warning");
}

TEST(ClassificationConfigTest, DefaultsCanBeLeftOut) {
  const Parsed parsed = Parse(R"(
logs:
  classification:
    use_defaults: false
    rules:
      - {type: only, pattern: x}
)");
  EXPECT_THAT(parsed.problems, IsEmpty());
  EXPECT_THAT(TypesOf(parsed.rules), ElementsAre("only"));
}

TEST(ClassificationConfigTest, BadRulesAreErrorsNamingTheRule) {
  const Parsed parsed = Parse(R"(
logs:
  classification:
    rules:
      - {type: fine, pattern: 'ok'}
      - {type: room_started, pattern: '(?P<ruid>room_\w+'}
      - type: typed
        pattern: '(?P<ms>\d+)ms'
        fields: {ms: integer}
      - type: ungrouped
        pattern: 'took \d+ms'
        fields: {ms: duration_ms}
)");
  EXPECT_THAT(
      parsed.problems,
      ElementsAre(
          "agent.yaml: logs.classification.rules[1] (room_started): invalid "
          "regex: missing ): (?P<ruid>room_\\w+",
          "agent.yaml: logs.classification.rules[2] (typed): field 'ms': "
          "unknown type 'integer' (string, int, float, bool or duration_ms)",
          "agent.yaml: logs.classification.rules[3] (ungrouped): field 'ms' "
          "is not a named group (?P<ms>...) of the pattern"));
  EXPECT_EQ(TypesOf(parsed.rules)[0], "fine");
  EXPECT_EQ(TypesOf(parsed.rules)[1], "server_started");
}

TEST(ClassificationConfigTest, MalformedRulesAreReportedByKey) {
  const Parsed parsed = Parse(R"(
logs:
  classification:
    use_defaults: maybe
    colour: blue
    rules:
      - {pattern: x}
      - {type: t}
      - {type: t, pattern: x, level: NOTICE, extra: 1}
      - just a string
)");
  EXPECT_THAT(
      parsed.problems,
      ElementsAre(
          "agent.yaml: logs.classification.use_defaults: expected true or "
          "false, got 'maybe'",
          "agent.yaml: logs.classification.rules[3]: expected a mapping of "
          "keys to values",
          "agent.yaml: logs.classification.colour: unknown key",
          "agent.yaml: logs.classification.rules[0].type: missing: the event "
          "type the rule assigns",
          "agent.yaml: logs.classification.rules[1].pattern: missing: an RE2 "
          "pattern ('' matches every event)",
          "agent.yaml: logs.classification.rules[2].level: 'NOTICE' is not one "
          "of: TRACE, DEBUG, INFO, WARN, ERROR",
          "agent.yaml: logs.classification.rules[2].extra: unknown key"));
  // A rule with a level it cannot have is left out, not widened to every
  // level.
  EXPECT_EQ(TypesOf(parsed.rules), TypesOf(DefaultClassificationRules()));
}

TEST(ClassificationConfigTest, RulesCanNameTheLogger) {
  const Parsed parsed = Parse(R"(
logs:
  classification:
    use_defaults: false
    rules:
      - type: room_note
        level: INFO
        logger: RoomServiceImpl
        pattern: '^note'
      - {type: queue_note, logger: service.queue.RoomRequestQueueManager,
         pattern: '^note'}
)");
  ASSERT_THAT(parsed.problems, IsEmpty());
  ASSERT_THAT(parsed.rules, SizeIs(2));
  EXPECT_EQ(parsed.rules[0].logger, "RoomServiceImpl");

  absl::StatusOr<Classifier> classifier = Classifier::Create(parsed.rules);
  ASSERT_THAT(classifier, IsOk());
  auto type_of = [&](v1::LogLevel level, const std::string& logger) {
    v1::LogEvent event;
    event.set_level(level);
    event.set_logger(logger);
    event.set_message("note this");
    classifier->Classify(event);
    return event.event_type();
  };
  // The class name matches however logback abbreviated the packages.
  EXPECT_EQ(type_of(v1::INFO, "c.f.eroom.service.room.RoomServiceImpl"),
            "room_note");
  EXPECT_EQ(type_of(v1::INFO, "RoomServiceImpl"), "room_note");
  EXPECT_EQ(type_of(v1::DEBUG, "c.f.eroom.service.room.RoomServiceImpl"), "");
  EXPECT_EQ(type_of(v1::INFO, "c.f.e.s.room.MyRoomServiceImpl"), "");
  EXPECT_EQ(type_of(v1::WARN,
                    "com.febrie.eroom.service.queue."
                    "RoomRequestQueueManager"),
            "queue_note");
  EXPECT_EQ(type_of(v1::WARN, "c.f.e.s.queue.RoomRequestQueueManager"), "");
}

TEST(ClassificationConfigTest, BadLoggersAreErrorsNamingTheKey) {
  const Parsed parsed = Parse(R"(
logs:
  classification:
    use_defaults: false
    rules:
      - {type: a, logger: '', pattern: x}
      - {type: b, logger: 'Room Service', pattern: x}
      - {type: c, logger: .RoomServiceImpl, pattern: x}
)");
  EXPECT_THAT(
      parsed.problems,
      ElementsAre(
          "agent.yaml: logs.classification.rules[0].logger: empty: leave the "
          "key out to match every logger",
          "agent.yaml: logs.classification.rules[1].logger: 'Room Service' "
          "is not a logger name (a class name such as RoomServiceImpl, "
          "optionally after its packages)",
          "agent.yaml: logs.classification.rules[2].logger: "
          "'.RoomServiceImpl' is not a logger name (a class name such as "
          "RoomServiceImpl, optionally after its packages)"));
  EXPECT_THAT(parsed.rules, IsEmpty());
}

TEST(ClassificationConfigTest, SectionsOfTheWrongShape) {
  EXPECT_THAT(Parse("logs: {classification: [a, b]}").problems,
              ElementsAre("agent.yaml: logs.classification: expected a "
                          "mapping of keys to values"));
  EXPECT_THAT(Parse("logs: {classification: {rules: {type: x}}}").problems,
              ElementsAre("agent.yaml: logs.classification.rules: expected a "
                          "list of mappings"));
}

}  // namespace
}  // namespace eroom::agent
