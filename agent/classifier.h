#ifndef EROOM_AGENT_CLASSIFIER_H_
#define EROOM_AGENT_CLASSIFIER_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "eroom/monitor/v1/monitor.pb.h"
#include "re2/re2.h"
#include "re2/set.h"

namespace eroom::agent {

// One way to recognise an event type, as data.
struct ClassificationRule {
  // Goes to LogEvent.event_type, e.g. "room_started".
  std::string event_type;
  // If set, only events of this level match.
  std::optional<eroom::monitor::v1::LogLevel> level;
  // RE2, searched (unanchored) in the first line of the message. Named
  // groups become fields: (?P<ruid>room_[0-9a-f]+) sets fields["ruid"]. A
  // group that did not participate sets nothing.
  std::string pattern;
  // Fields set on every match, e.g. {"kind", "business"}.
  std::map<std::string, std::string> fixed_fields;
};

// The rules for both ERoom generations (see /work/shared/eroom/README.md):
// server_started, server_stopping, fatal_shutdown, config_problem,
// auth_failure, room_requested, room_dequeued, room_started, room_completed,
// processing_time, room_failed, background_failure, model_timeout,
// model_failed, and last "error" for any other ERROR event.
std::vector<ClassificationRule> DefaultClassificationRules();

// Assigns event types and fields to LogEvents. The first rule (in order)
// that matches wins. Thread safe.
class Classifier {
 public:
  // InvalidArgument naming the rule if a pattern does not compile or an
  // event type is empty.
  static absl::StatusOr<Classifier> Create(
      std::vector<ClassificationRule> rules);

  // Sets event.event_type and event.fields from the first matching rule;
  // leaves them untouched if none matches.
  void Classify(eroom::monitor::v1::LogEvent& event) const;

 private:
  struct CompiledRule {
    ClassificationRule rule;
    std::unique_ptr<RE2> regex;
    // Named groups: (field name, group index).
    std::vector<std::pair<std::string, int>> groups;
  };

  Classifier(std::vector<CompiledRule> rules, RE2::Set prefilter);

  // Whether `rule` matches; if so, fills `event`.
  bool Apply(const CompiledRule& rule, std::string_view first_line,
             eroom::monitor::v1::LogEvent& event) const;

  std::vector<CompiledRule> rules_;
  // Every pattern at once: finds the candidate rules in one pass.
  RE2::Set prefilter_;
};

}  // namespace eroom::agent

#endif  // EROOM_AGENT_CLASSIFIER_H_
