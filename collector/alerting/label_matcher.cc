#include "collector/alerting/label_matcher.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace eroom::collector::alerting {
namespace {

constexpr char kMatcherForms[] =
    "label=value, label!=value, label=~regex or label!~regex";

bool IsLabelStart(char c) { return absl::ascii_isalpha(c) || c == '_'; }

bool IsLabelChar(char c) {
  return absl::ascii_isalnum(c) || c == '_' || c == '.' || c == '-';
}

absl::Status BadMatcher(absl::string_view text, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(
      "matcher '", text, "': ", why, " (expected ", kMatcherForms, ")"));
}

}  // namespace

absl::string_view MatcherOpText(LabelMatcher::Op op) {
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

absl::StatusOr<LabelMatcher> ParseLabelMatcher(absl::string_view text) {
  size_t name_end = 0;
  while (name_end < text.size() && IsLabelChar(text[name_end])) ++name_end;
  if (name_end == 0 || !IsLabelStart(text[0])) {
    return BadMatcher(text,
                      "it must start with a label name (a letter or '_')");
  }
  LabelMatcher matcher;
  matcher.label = std::string(text.substr(0, name_end));
  absl::string_view rest = text.substr(name_end);
  // The two-character operators first: "=~" also starts with "=".
  bool found = false;
  for (LabelMatcher::Op op :
       {LabelMatcher::Op::kNotEqual, LabelMatcher::Op::kRegex,
        LabelMatcher::Op::kNotRegex, LabelMatcher::Op::kEqual}) {
    if (absl::StartsWith(rest, MatcherOpText(op))) {
      matcher.op = op;
      rest.remove_prefix(MatcherOpText(op).size());
      found = true;
      break;
    }
  }
  if (!found) {
    return BadMatcher(text, absl::StrCat("no operator after the label name '",
                                         matcher.label, "'"));
  }
  matcher.value = std::string(rest);
  if (matcher.op == LabelMatcher::Op::kRegex ||
      matcher.op == LabelMatcher::Op::kNotRegex) {
    RE2 regex(matcher.value, RE2::Quiet);
    if (!regex.ok()) {
      return BadMatcher(
          text, absl::StrCat("bad regular expression: ", regex.error()));
    }
  }
  return matcher;
}

std::string FormatLabelMatcher(const LabelMatcher& matcher) {
  return absl::StrCat(matcher.label, MatcherOpText(matcher.op), matcher.value);
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
