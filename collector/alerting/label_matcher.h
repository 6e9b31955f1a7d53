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

// "label=value", "label!=value", "label=~regex", "label!~regex". The
// regex must compile (RE2) and matches the whole value.
absl::StatusOr<LabelMatcher> ParseLabelMatcher(absl::string_view text);
// The inverse of ParseLabelMatcher.
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
