#ifndef EROOM_COLLECTOR_ALERTING_RULE_CONFIG_H_
#define EROOM_COLLECTOR_ALERTING_RULE_CONFIG_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "collector/alerting/alert_rule.h"
#include "common/config_reader.h"

// The alert rules as operators write them (deploy/collector.example.yaml
// documents the syntax, deploy/rules/eroom-default.yaml is the shipped set):
//
//   - name: api_latency_critical        # unique across all files
//     kind: threshold                   # threshold | ratio | absence |
//                                       #   log_match | room_duration
//     metric: probe.health.latency_ms
//     aggregation: p95
//     window: 5m
//     condition: "> 500ms"              # > >= < <=, with a unit that fits
//     recovery: "< 400ms"
//     for: 1m
//     severity: critical
//
// Every problem is reported at once, each as
// "FILE: rules[i] (NAME): KEY: PROBLEM".
namespace eroom::collector::alerting {

// Where the rules come from: the rule keys of the collector's config.
struct RuleSources {
  std::string config_file;  // Its own `rules:` list.
  // `rules_files:` globs, relative to the config's directory, each file
  // holding a top-level `rules:` list.
  std::vector<std::string> files_globs;
  // `extra_event_types:` the types an agent's own classification rules add,
  // which rules may name beside eroom::BuiltInEventTypes().
  std::vector<std::string> extra_event_types;
};

// Reads `rules_files:` and `extra_event_types:` from `config`, the top level
// of the collector's config file `config_file`, and marks `rules:` as read
// (LoadRules() reads it).
RuleSources ReadRuleSources(ConfigMap& config, const std::string& config_file);

// Reads every rule of `sources` (the config file's `rules:`, then each file
// the globs match, in order) and checks them as a set: InvalidArgument
// listing every problem of every file (a bad rule, an unknown metric or
// event type, a bad regex, a missing condition, a duplicate name, a glob
// that is not valid). A glob matching no file is fine.
absl::StatusOr<RuleSet> LoadRules(const RuleSources& sources);

}  // namespace eroom::collector::alerting

#endif  // EROOM_COLLECTOR_ALERTING_RULE_CONFIG_H_
