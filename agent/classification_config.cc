#include "agent/classification_config.h"

#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"

namespace eroom::agent {
namespace {

namespace v1 = ::eroom::monitor::v1;

// node[key] if `node` is a mapping, else an undefined node. (Indexing a
// missing key yields a node that throws on most further uses.)
YAML::Node Child(const YAML::Node& node, const char* key) {
  if (!node.IsDefined() || !node.IsMap())
    return YAML::Node(YAML::NodeType::Undefined);
  const YAML::Node child = node[key];
  return child.IsDefined() ? child : YAML::Node(YAML::NodeType::Undefined);
}

std::optional<v1::LogLevel> LevelNamed(const std::string& name) {
  v1::LogLevel level;
  if (name.empty() || !v1::LogLevel_Parse(name, &level)) return std::nullopt;
  return level;
}

// Reads the rule at `key` of `section`; nullopt (with its problems
// recorded) if it is unusable. Problems with the rule as a whole (its
// pattern, its field types) go under the key and the rule's type.
std::optional<ClassificationRule> ParseRule(ConfigMap& rule_map,
                                            ConfigMap& section,
                                            const std::string& key) {
  ClassificationRule rule;
  bool usable = true;
  rule.event_type = rule_map.String("type", "");
  if (rule.event_type.empty()) {
    rule_map.AddProblem("type", "missing: the event type the rule assigns");
    usable = false;
  }
  rule.level = LevelNamed(rule_map.Choice(
      "level", "", {"TRACE", "DEBUG", "INFO", "WARN", "ERROR"}));
  if (!rule_map.Has("pattern")) {
    rule_map.AddProblem("pattern",
                        "missing: an RE2 pattern ('' matches every event)");
    usable = false;
  }
  rule.pattern = rule_map.String("pattern", "");
  rule.fixed_fields = rule_map.StringMap("fixed_fields");
  const std::string label = absl::StrCat(
      key, " (", rule.event_type.empty() ? "no type" : rule.event_type, ")");
  for (const auto& [name, type_name] : rule_map.StringMap("fields")) {
    const std::optional<FieldType> type = ParseFieldType(type_name);
    if (!type) {
      section.AddProblem(
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
    section.AddProblem(label, problem.message());
    return std::nullopt;
  }
  return rule;
}

}  // namespace

std::vector<ClassificationRule> ParseClassificationConfig(
    ConfigMap& logs, const ConfigDocument& doc) {
  // Marks the key as known, and reports it if it is not a mapping.
  logs.Map("classification");
  const YAML::Node section_node =
      Child(Child(doc.root, "logs"), "classification");
  if (!section_node.IsDefined() || !section_node.IsMap()) {
    return DefaultClassificationRules();
  }

  // ConfigMap reads mappings of values, not lists of mappings: the rules are
  // read below, the rest of the section here.
  YAML::Node settings_node = YAML::Clone(section_node);
  settings_node.remove("rules");
  ConfigMap section(settings_node, logs.KeyPath("classification"),
                    doc.problems.get());
  const bool use_defaults = section.Bool("use_defaults", true);
  section.Finish();

  std::vector<ClassificationRule> rules;
  const YAML::Node rules_node = Child(section_node, "rules");
  if (rules_node.IsDefined() && !rules_node.IsNull()) {
    if (!rules_node.IsSequence()) {
      section.AddProblem("rules", "expected a list of rules");
    } else {
      for (size_t i = 0; i < rules_node.size(); ++i) {
        const std::string key = absl::StrCat("rules[", i, "]");
        // Reports an item that is not a mapping.
        ConfigMap rule_map(rules_node[i], section.KeyPath(key),
                           doc.problems.get());
        if (!rules_node[i].IsMap()) continue;
        if (std::optional<ClassificationRule> rule =
                ParseRule(rule_map, section, key)) {
          rules.push_back(*std::move(rule));
        }
      }
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
