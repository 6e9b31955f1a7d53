#include "agent/classification_config.h"

#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"

namespace eroom::agent {
namespace {

namespace v1 = ::eroom::monitor::v1;

std::optional<v1::LogLevel> LevelNamed(const std::string& name) {
  v1::LogLevel level;
  if (name.empty() || !v1::LogLevel_Parse(name, &level)) return std::nullopt;
  return level;
}

// Reads one rule; nullopt (with its problems recorded) if it is unusable.
// Problems with the rule as a whole (its pattern, its field types) name the
// rule's type after its key.
std::optional<ClassificationRule> ParseRule(ConfigMap& rule_map) {
  ClassificationRule rule;
  bool usable = true;
  rule.event_type = rule_map.String("type", "");
  if (rule.event_type.empty()) {
    rule_map.AddProblem("type", "missing: the event type the rule assigns");
    usable = false;
  }
  rule.level = LevelNamed(rule_map.Choice(
      "level", "", {"TRACE", "DEBUG", "INFO", "WARN", "ERROR"}));
  // Choice() reported it; without its level the rule would match every one.
  if (rule_map.Has("level") && !rule.level) usable = false;
  if (rule_map.Has("logger")) {
    rule.logger = rule_map.String("logger", "");
    if (rule.logger.empty()) {
      rule_map.AddProblem("logger",
                          "empty: leave the key out to match every logger");
      usable = false;
    } else if (!IsLoggerName(rule.logger)) {
      rule_map.AddProblem(
          "logger", absl::StrCat("'", rule.logger,
                                 "' is not a logger name (a class name such "
                                 "as RoomServiceImpl, optionally after its "
                                 "packages)"));
      usable = false;
    }
  }
  if (!rule_map.Has("pattern")) {
    rule_map.AddProblem("pattern",
                        "missing: an RE2 pattern ('' matches every event)");
    usable = false;
  }
  rule.pattern = rule_map.String("pattern", "");
  rule.fixed_fields = rule_map.StringMap("fixed_fields");
  const std::string label =
      rule.event_type.empty() ? "no type" : rule.event_type;
  for (const auto& [name, type_name] : rule_map.StringMap("fields")) {
    const std::optional<FieldType> type = ParseFieldType(type_name);
    if (!type) {
      rule_map.AddOwnProblem(
          label, absl::StrCat("field '", name, "': unknown type '", type_name,
                              "' (string, int, float, bool or duration_ms)"));
      usable = false;
      continue;
    }
    rule.field_types[name] = *type;
  }
  rule_map.Finish();
  if (!usable) return std::nullopt;
  if (const absl::Status problem = Classifier::CheckRule(rule); !problem.ok()) {
    rule_map.AddOwnProblem(label, problem.message());
    return std::nullopt;
  }
  return rule;
}

}  // namespace

std::vector<ClassificationRule> ParseClassificationConfig(ConfigMap& logs) {
  ConfigMap section = logs.Map("classification");
  const bool use_defaults = section.Bool("use_defaults", true);
  std::vector<ConfigMap> rule_maps = section.MapList("rules");
  section.Finish();
  std::vector<ClassificationRule> rules;
  for (ConfigMap& rule_map : rule_maps) {
    if (std::optional<ClassificationRule> rule = ParseRule(rule_map)) {
      rules.push_back(*std::move(rule));
    }
  }
  if (use_defaults) {
    for (ClassificationRule& rule : DefaultClassificationRules()) {
      rules.push_back(std::move(rule));
    }
  }
  return rules;
}

}  // namespace eroom::agent
