#include "common/config_reader.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/duration_text.h"

namespace eroom {

absl::StatusOr<std::string> ExpandEnvironment(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    if (text.compare(i, 3, "$${") == 0) {
      out += "${";
      i += 3;
      continue;
    }
    if (text.compare(i, 2, "${") != 0) {
      out += text[i++];
      continue;
    }
    size_t close = text.find('}', i + 2);
    if (close == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("unterminated ${ in '", text, "'"));
    }
    std::string name(text.substr(i + 2, close - i - 2));
    const char* value = name.empty() ? nullptr : std::getenv(name.c_str());
    if (value == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("environment variable ${", name, "} is not set"));
    }
    out += value;
    i = close + 1;
  }
  return out;
}

void ConfigProblems::Add(absl::string_view key, absl::string_view problem) {
  problems_.push_back(absl::StrCat(file_, ": ", key, ": ", problem));
}

absl::Status ConfigProblems::ToStatus() const {
  if (problems_.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrJoin(problems_, "\n"));
}

ConfigMap::ConfigMap(YAML::Node node, std::string prefix,
                     ConfigProblems* problems)
    : node_(std::move(node)), prefix_(std::move(prefix)), problems_(problems) {
  if (node_ && !node_.IsNull() && !node_.IsMap()) {
    problems_->Add(prefix_.empty() ? "(top level)" : prefix_,
                   "expected a mapping of keys to values");
    node_ = YAML::Node();
  }
}

std::string ConfigMap::KeyPath(const std::string& key) const {
  return prefix_.empty() ? key : absl::StrCat(prefix_, ".", key);
}

void ConfigMap::AddProblem(const std::string& key, absl::string_view problem) {
  problems_->Add(KeyPath(key), problem);
}

void ConfigMap::AddOwnProblem(absl::string_view label,
                              absl::string_view problem) {
  problems_->Add(absl::StrCat(prefix_, " (", label, ")"), problem);
}

bool ConfigMap::Has(const std::string& key) const {
  return node_ && node_.IsMap() && node_[key] && !node_[key].IsNull();
}

std::optional<std::string> ConfigMap::Scalar(const std::string& key) {
  consumed_.insert(key);
  if (!Has(key)) return std::nullopt;
  YAML::Node value = node_[key];
  if (!value.IsScalar()) {
    AddProblem(key, "expected a single value");
    return std::nullopt;
  }
  absl::StatusOr<std::string> expanded = ExpandEnvironment(value.Scalar());
  if (!expanded.ok()) {
    AddProblem(key, expanded.status().message());
    return std::nullopt;
  }
  return *expanded;
}

std::string ConfigMap::String(const std::string& key,
                              const std::string& fallback) {
  return Scalar(key).value_or(fallback);
}

std::string ConfigMap::Choice(const std::string& key,
                              const std::string& fallback,
                              const std::vector<std::string>& allowed) {
  std::optional<std::string> value = Scalar(key);
  if (!value) return fallback;
  for (const std::string& a : allowed) {
    if (*value == a) return *value;
  }
  AddProblem(key, absl::StrCat("'", *value, "' is not one of: ",
                               absl::StrJoin(allowed, ", ")));
  return fallback;
}

int64_t ConfigMap::Int(const std::string& key, int64_t fallback, int64_t min,
                       int64_t max) {
  std::optional<std::string> value = Scalar(key);
  if (!value) return fallback;
  int64_t parsed;
  if (!absl::SimpleAtoi(*value, &parsed)) {
    AddProblem(key,
               absl::StrCat("expected a whole number, got '", *value, "'"));
    return fallback;
  }
  if (parsed < min || parsed > max) {
    AddProblem(key,
               absl::StrCat(parsed, " is out of range [", min, ", ", max, "]"));
    return fallback;
  }
  return parsed;
}

bool ConfigMap::Bool(const std::string& key, bool fallback) {
  std::optional<std::string> value = Scalar(key);
  if (!value) return fallback;
  bool parsed;
  if (!absl::SimpleAtob(*value, &parsed)) {
    AddProblem(key, absl::StrCat("expected true or false, got '", *value, "'"));
    return fallback;
  }
  return parsed;
}

absl::Duration ConfigMap::Duration(const std::string& key,
                                   absl::Duration fallback, absl::Duration min,
                                   absl::Duration max) {
  std::optional<std::string> value = Scalar(key);
  if (!value) return fallback;
  const std::optional<absl::Duration> parsed_text = ParseDurationText(*value);
  if (!parsed_text) {
    AddProblem(key,
               absl::StrCat("expected a duration like 5s, 250ms or 7d, got '",
                            *value, "'"));
    return fallback;
  }
  const absl::Duration parsed = *parsed_text;
  if (parsed < min || parsed > max) {
    AddProblem(key,
               absl::StrCat(absl::FormatDuration(parsed), " is out of range [",
                            absl::FormatDuration(min), ", ",
                            absl::FormatDuration(max), "]"));
    return fallback;
  }
  return parsed;
}

std::vector<std::string> ConfigMap::StringList(
    const std::string& key, const std::vector<std::string>& fallback) {
  consumed_.insert(key);
  if (!Has(key)) return fallback;
  YAML::Node value = node_[key];
  if (!value.IsSequence()) {
    AddProblem(key, "expected a list");
    return fallback;
  }
  std::vector<std::string> out;
  for (size_t i = 0; i < value.size(); ++i) {
    std::string item_key = absl::StrCat(key, "[", i, "]");
    if (!value[i].IsScalar()) {
      AddProblem(item_key, "expected a single value");
      continue;
    }
    absl::StatusOr<std::string> expanded = ExpandEnvironment(value[i].Scalar());
    if (!expanded.ok()) {
      AddProblem(item_key, expanded.status().message());
      continue;
    }
    out.push_back(*expanded);
  }
  return out;
}

std::map<std::string, std::string> ConfigMap::StringMap(
    const std::string& key) {
  consumed_.insert(key);
  std::map<std::string, std::string> out;
  if (!Has(key)) return out;
  YAML::Node value = node_[key];
  if (!value.IsMap()) {
    AddProblem(key, "expected a mapping of names to values");
    return out;
  }
  for (const auto& entry : value) {
    std::string name = entry.first.as<std::string>();
    if (!entry.second.IsScalar()) {
      AddProblem(absl::StrCat(key, ".", name), "expected a single value");
      continue;
    }
    absl::StatusOr<std::string> expanded =
        ExpandEnvironment(entry.second.Scalar());
    if (!expanded.ok()) {
      AddProblem(absl::StrCat(key, ".", name), expanded.status().message());
      continue;
    }
    out[name] = *expanded;
  }
  return out;
}

ConfigMap ConfigMap::Map(const std::string& key) {
  consumed_.insert(key);
  YAML::Node child = Has(key) ? node_[key] : YAML::Node();
  return ConfigMap(child, KeyPath(key), problems_);
}

std::vector<ConfigMap> ConfigMap::MapList(const std::string& key) {
  consumed_.insert(key);
  std::vector<ConfigMap> out;
  if (!Has(key)) return out;
  YAML::Node value = node_[key];
  if (!value.IsSequence()) {
    AddProblem(key, "expected a list of mappings");
    return out;
  }
  for (size_t i = 0; i < value.size(); ++i) {
    std::string item_key = KeyPath(absl::StrCat(key, "[", i, "]"));
    if (!value[i].IsMap()) {
      problems_->Add(item_key, "expected a mapping of keys to values");
      continue;
    }
    out.emplace_back(value[i], item_key, problems_);
  }
  return out;
}

void ConfigMap::Finish() {
  if (!node_ || !node_.IsMap()) return;
  for (const auto& entry : node_) {
    std::string key = entry.first.as<std::string>();
    if (!consumed_.contains(key)) AddProblem(key, "unknown key");
  }
}

absl::StatusOr<ConfigDocument> LoadConfigDocument(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(absl::StrCat(
        path, ": cannot open config file: ", std::strerror(errno)));
  }
  std::stringstream text;
  text << in.rdbuf();
  ConfigDocument doc;
  doc.problems = std::make_unique<ConfigProblems>(path);
  try {
    doc.root = YAML::Load(text.str());
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": line ", e.mark.line + 1, ", column ",
                     e.mark.column + 1, ": invalid YAML: ", e.msg));
  }
  return doc;
}

}  // namespace eroom
