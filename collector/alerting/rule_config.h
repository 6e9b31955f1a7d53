#ifndef EROOM_COLLECTOR_ALERTING_RULE_CONFIG_H_
#define EROOM_COLLECTOR_ALERTING_RULE_CONFIG_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "collector/alerting/alert_rule.h"
#include "common/config_reader.h"

namespace eroom::collector::alerting {

// Where the rules come from: the `rules:` list of the collector's config
// and every YAML file matched by its `rules_files:` globs (relative to the
// config's directory), each file holding a top-level `rules:` list.
struct RuleSources {
  std::string config_file;
  std::vector<std::string> files_globs;
};

// Reads the rules of `rules_list` (the config's own `rules:`) into `out`,
// recording each problem as "FILE: rules[i] (NAME): KEY: PROBLEM".
void ReadRules(ConfigMap& config, std::vector<AlertRule>* out);

// Reads every rule of `sources` (the config file's `rules:` again, then the
// files), and checks them as a set: InvalidArgument listing every problem of
// every file (a bad rule, an unknown metric or event type, a bad regex, a
// missing threshold, a duplicate name).
absl::StatusOr<RuleSet> LoadRules(const RuleSources& sources);

}  // namespace eroom::collector::alerting

#endif  // EROOM_COLLECTOR_ALERTING_RULE_CONFIG_H_
