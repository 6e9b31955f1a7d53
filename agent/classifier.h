#ifndef EROOM_AGENT_CLASSIFIER_H_
#define EROOM_AGENT_CLASSIFIER_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "eroom/monitor/v1/monitor.pb.h"
#include "re2/re2.h"
#include "re2/set.h"

namespace eroom::agent {

// What an extracted field holds. A value that does not parse as its type is
// dropped (and counted), never stored wrong; one that does is stored in a
// canonical form.
enum class FieldType {
  kString,      // As matched.
  kInt,         // A 64-bit integer, stored in decimal ("007" -> "7").
  kFloat,       // A finite decimal number, stored as matched.
  kBool,        // true/false, yes/no, t/f, y/n, 1/0 (any case) -> "true" or
                // "false".
  kDurationMs,  // A bare number is milliseconds; with a unit ("250ms",
                // "1.5s", "2m", "1h30m") it is converted. Stored as whole
                // milliseconds in decimal.
};

// "string", "int", "float", "bool", "duration_ms"; nullopt for anything else.
std::optional<FieldType> ParseFieldType(std::string_view name);

// One way to recognise an event type, as data.
struct ClassificationRule {
  // Goes to LogEvent.event_type, e.g. "room_started".
  std::string event_type;
  // If set, only events of this level match.
  std::optional<eroom::monitor::v1::LogLevel> level;
  // RE2, searched (unanchored) in the first line of the message. Named
  // groups become fields: (?P<ruid>room_[0-9a-f]+) sets fields["ruid"]. A
  // group that did not participate sets nothing. Empty: every event (of the
  // level) matches.
  std::string pattern;
  // Fields set on every match, e.g. {"kind", "business"}.
  std::map<std::string, std::string> fixed_fields;
  // The types of named groups; a group not listed is a string.
  std::map<std::string, FieldType> field_types = {};
  // If set, only events of this logger match: a class name
  // ("RoomServiceImpl") or a dotted tail of the full name
  // ("queue.RoomRequestQueueManager"), compared with the end of the logger
  // as printed, at a dot. Logback abbreviates packages, never the class.
  std::string logger = {};
};

// Whether `logger` can be a ClassificationRule::logger: dot-separated
// non-empty names without whitespace.
bool IsLoggerName(std::string_view logger);

// The rules for both ERoom generations (see /work/shared/eroom/README.md),
// each pinned to the level of the real line and, where ERoom's sample shows
// it, its logger, and anchored to the message's start (or end), so a line
// that only quotes an event's text (a DEBUG dump, a user's room theme) is
// not that event:
//   server_started, server_stopping, fatal_shutdown, config_problem,
//   auth_failure, room_requested, room_dequeued, queue_wait (the newer
//   generation's DEBUG line with the wait), room_started,
//   room_summary (the newer room service's `방 생성 완료` statistics, not
//   an outcome), room_completed, room_failed (kind business, system or
//   background), processing_time and room_result (the queue manager's
//   report: `처리 시간`, `결과 성공 여부`), model_timeout, model_failed,
// and last "error" for any other ERROR event. RoomTracker makes one outcome
// of each room out of them.
std::vector<ClassificationRule> DefaultClassificationRules();

// Assigns event types and fields to LogEvents. The first rule (in order)
// that matches wins. Thread safe.
class Classifier {
 public:
  // OK, or what is wrong with `rule` (the pattern does not compile, the
  // event type is empty, a typed field is not a named group of the pattern,
  // the logger is no logger name), without naming the rule.
  static absl::Status CheckRule(const ClassificationRule& rule);

  // InvalidArgument naming the rule (index, event type, pattern) if a rule
  // fails CheckRule.
  static absl::StatusOr<Classifier> Create(
      std::vector<ClassificationRule> rules);

  // Sets event.event_type and event.fields from the first matching rule;
  // leaves them untouched if none matches.
  void Classify(eroom::monitor::v1::LogEvent& event) const;

  // Extracted values dropped so far because they did not parse as their
  // field's type.
  uint64_t dropped_fields() const {
    return dropped_fields_->load(std::memory_order_relaxed);
  }

 private:
  struct CompiledRule {
    ClassificationRule rule;
    std::unique_ptr<RE2> regex;
    // Named groups: (field name, group index, type).
    struct Group {
      std::string name;
      int index;
      FieldType type;
    };
    std::vector<Group> groups;
  };
  // The candidates among the rules for events of one level.
  struct Prefilter {
    // Their non-empty patterns at once, anchored at the start of the text
    // (an unanchored pattern is prefixed with `\C*?`): one pass of the
    // set's DFA finds them, and stops as soon as no pattern can match.
    RE2::Set patterns;
    // The rule of each pattern in the set (by the set's index).
    std::vector<int> pattern_rules;
    // The rules with an empty pattern: candidates for every event.
    std::vector<int> match_all;
    // The first bytes of every match of each pattern, when RE2 tells them
    // for every pattern: a line that starts with none of them (most lines)
    // is not given to the set.
    std::optional<std::vector<std::string>> required_starts;
  };

  Classifier(std::vector<CompiledRule> rules,
             absl::flat_hash_map<int, Prefilter> level_prefilters,
             Prefilter other_level_prefilter);

  const Prefilter& PrefilterFor(eroom::monitor::v1::LogLevel level) const;

  // Whether `rule` matches; if so, fills `event`.
  bool Apply(const CompiledRule& rule, std::string_view first_line,
             eroom::monitor::v1::LogEvent& event) const;

  std::vector<CompiledRule> rules_;
  // By each level some rule is pinned to: the rules of that level and those
  // of any level. Most lines are INFO and match nothing, so the patterns of
  // other levels (an ERROR rule's leading `.*?` would read the whole line)
  // stay out of their way.
  absl::flat_hash_map<int, Prefilter> level_prefilters_;
  // For the other levels: the rules of any level.
  Prefilter other_level_prefilter_;
  // Behind a pointer so the classifier stays movable.
  std::unique_ptr<std::atomic<uint64_t>> dropped_fields_ =
      std::make_unique<std::atomic<uint64_t>>(0);
};

}  // namespace eroom::agent

#endif  // EROOM_AGENT_CLASSIFIER_H_
