#include "collector/alerting/label_matcher.h"

#include <cctype>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace eroom::collector::alerting {
namespace {

absl::string_view OpText(LabelMatcher::Op op) {
  switch (op) {
    case LabelMatcher::Op::kEqual:
      return "=";
    case LabelMatcher::Op::kNotEqual:
      return "!=";
    case LabelMatcher::Op::kRegex:
      return "=~";
    case LabelMatcher::Op::kNotRegex:
      return "!~";
  }
  return "=";
}

bool IsLabelName(absl::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' ||
          c == '-')) {
      return false;
    }
  }
  return true;
}

}  // namespace

absl::StatusOr<LabelMatcher> ParseLabelMatcher(absl::string_view text) {
  const size_t op_at = text.find_first_of("=!");
  LabelMatcher matcher;
  bool has_op = false;
  if (op_at != absl::string_view::npos) {
    matcher.label = std::string(text.substr(0, op_at));
    const absl::string_view rest = text.substr(op_at);
    for (LabelMatcher::Op op :
         {LabelMatcher::Op::kRegex, LabelMatcher::Op::kNotRegex,
          LabelMatcher::Op::kNotEqual, LabelMatcher::Op::kEqual}) {
      if (absl::StartsWith(rest, OpText(op))) {
        matcher.op = op;
        matcher.value = std::string(rest.substr(OpText(op).size()));
        has_op = true;
        break;
      }
    }
  }
  if (!has_op || !IsLabelName(matcher.label)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", text,
        "' is not a matcher: label=value, label!=value, label=~regex or "
        "label!~regex"));
  }
  EROOM_RETURN_IF_ERROR(LabelSelector::Create({matcher}).status());
  return matcher;
}

std::string FormatLabelMatcher(const LabelMatcher& matcher) {
  return absl::StrCat(matcher.label, OpText(matcher.op), matcher.value);
}

absl::StatusOr<LabelSelector> LabelSelector::Create(
    std::vector<LabelMatcher> matchers) {
  LabelSelector selector;
  for (LabelMatcher& matcher : matchers) {
    Compiled compiled{.matcher = std::move(matcher), .regex = nullptr};
    if (compiled.matcher.op == LabelMatcher::Op::kRegex ||
        compiled.matcher.op == LabelMatcher::Op::kNotRegex) {
      RE2::Options options;
      options.set_log_errors(false);
      auto regex = std::make_shared<const RE2>(compiled.matcher.value, options);
      if (!regex->ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("'", FormatLabelMatcher(compiled.matcher),
                         "': bad regex: ", regex->error()));
      }
      compiled.regex = std::move(regex);
    }
    selector.compiled_.push_back(std::move(compiled));
  }
  return selector;
}

bool LabelSelector::Matches(
    const std::map<std::string, std::string>& labels) const {
  for (const Compiled& c : compiled_) {
    static const std::string kMissing;
    auto it = labels.find(c.matcher.label);
    const std::string& value = it == labels.end() ? kMissing : it->second;
    bool matched = false;
    switch (c.matcher.op) {
      case LabelMatcher::Op::kEqual:
        matched = value == c.matcher.value;
        break;
      case LabelMatcher::Op::kNotEqual:
        matched = value != c.matcher.value;
        break;
      case LabelMatcher::Op::kRegex:
        matched = RE2::FullMatch(value, *c.regex);
        break;
      case LabelMatcher::Op::kNotRegex:
        matched = !RE2::FullMatch(value, *c.regex);
        break;
    }
    if (!matched) return false;
  }
  return true;
}

}  // namespace eroom::collector::alerting
