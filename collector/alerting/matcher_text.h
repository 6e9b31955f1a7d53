#ifndef EROOM_COLLECTOR_ALERTING_MATCHER_TEXT_H_
#define EROOM_COLLECTOR_ALERTING_MATCHER_TEXT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "collector/alerting/alert.h"

namespace eroom::collector::alerting {

// Label matchers as operators type them and eroomctl shows them:
// "host=eroom-prod-1", "severity!=info", "alertname=~disk.*",
// "group!~^Timeout". A label name is letters, digits, '_', '.' and '-',
// starting with a letter or '_'; the value is everything after the operator
// (possibly empty). A regex value must compile (RE2).

// "=", "!=", "=~", "!~".
absl::string_view MatcherOpText(LabelMatcher::Op op);

// InvalidArgument saying what is wrong with `text` and what a matcher
// looks like.
absl::StatusOr<LabelMatcher> ParseLabelMatcher(absl::string_view text);

// The text ParseLabelMatcher reads back.
std::string FormatLabelMatcher(const LabelMatcher& matcher);

}  // namespace eroom::collector::alerting

#endif  // EROOM_COLLECTOR_ALERTING_MATCHER_TEXT_H_
