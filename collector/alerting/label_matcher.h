#ifndef EROOM_COLLECTOR_ALERTING_LABEL_MATCHER_H_
#define EROOM_COLLECTOR_ALERTING_LABEL_MATCHER_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "collector/alerting/alert.h"
#include "re2/re2.h"

namespace eroom::collector::alerting {

// Label matchers as operators type them and eroomctl shows them:
// "host=eroom-prod-1", "severity!=info", "alertname=~disk.*",
// "group!~^Timeout". A label name is letters, digits, '_', '.' and '-',
// starting with a letter or '_'; the value is everything after the operator
// (possibly empty). A regex value must compile (RE2) and matches the whole
// value.

// "=", "!=", "=~", "!~".
absl::string_view MatcherOpText(LabelMatcher::Op op);
// InvalidArgument saying what is wrong with `text` and what a matcher
// looks like.
absl::StatusOr<LabelMatcher> ParseLabelMatcher(absl::string_view text);
// The text ParseLabelMatcher reads back.
std::string FormatLabelMatcher(const LabelMatcher& matcher);

// Matchers compiled once, matched many times: what routes and silences
// test alert labels with. A missing label has the value "".
class LabelSelector {
 public:
  // InvalidArgument naming the matcher whose regex does not compile.
  static absl::StatusOr<LabelSelector> Create(
      std::vector<LabelMatcher> matchers);

  // True when every matcher matches (so an empty selector matches all).
  bool Matches(const std::map<std::string, std::string>& labels) const;

 private:
  struct Compiled {
    LabelMatcher matcher;
    std::shared_ptr<const RE2> regex;  // Set for =~ and !~.
  };
  std::vector<Compiled> compiled_;
};

}  // namespace eroom::collector::alerting

#endif  // EROOM_COLLECTOR_ALERTING_LABEL_MATCHER_H_
