#ifndef EROOM_COMMON_CONFIG_READER_H_
#define EROOM_COMMON_CONFIG_READER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "yaml-cpp/yaml.h"

namespace eroom {

// Replaces every ${NAME} with the environment variable NAME. An unset
// variable is an error, so a typo cannot silently become an empty string.
// "$${" stands for a literal "${".
absl::StatusOr<std::string> ExpandEnvironment(absl::string_view text);

// Every problem found in one config file, each naming the key it is about.
class ConfigProblems {
 public:
  explicit ConfigProblems(std::string file) : file_(std::move(file)) {}
  void Add(absl::string_view key, absl::string_view problem);
  bool empty() const { return problems_.empty(); }
  const std::vector<std::string>& lines() const { return problems_; }
  // OK, or InvalidArgument listing "FILE: KEY: PROBLEM" lines.
  absl::Status ToStatus() const;

 private:
  std::string file_;
  std::vector<std::string> problems_;
};

// Strict reader over one YAML mapping. Each accessor marks its key as known
// and validates the value; Finish() reports every key nobody asked for. Bad
// values are recorded in ConfigProblems and the default is returned, so one
// pass reports all problems at once.
class ConfigMap {
 public:
  ConfigMap(YAML::Node node, std::string prefix, ConfigProblems* problems);
  ConfigMap(const ConfigMap&) = delete;
  ConfigMap& operator=(const ConfigMap&) = delete;
  ConfigMap(ConfigMap&&) = default;

  bool Has(const std::string& key) const;
  std::string String(const std::string& key, const std::string& fallback);
  // One of `allowed`.
  std::string Choice(const std::string& key, const std::string& fallback,
                     const std::vector<std::string>& allowed);
  int64_t Int(const std::string& key, int64_t fallback, int64_t min,
              int64_t max);
  bool Bool(const std::string& key, bool fallback);
  // "250ms", "5s", "2m", ...; must lie in [min, max].
  absl::Duration Duration(const std::string& key, absl::Duration fallback,
                          absl::Duration min, absl::Duration max);
  std::vector<std::string> StringList(const std::string& key,
                                      const std::vector<std::string>& fallback);
  std::map<std::string, std::string> StringMap(const std::string& key);
  // A nested mapping (an empty one when absent).
  ConfigMap Map(const std::string& key);
  // A list of mappings, each named "key[i]" in problems (empty when absent).
  // Call Finish() on each.
  std::vector<ConfigMap> MapList(const std::string& key);

  // Marks `key` as read by a reader of its own (one that reports its
  // problems itself), so Finish() does not call it unknown.
  void MarkRead(const std::string& key) { consumed_.insert(key); }

  // Reports keys present in the file that no accessor consumed.
  void Finish();

  void AddProblem(const std::string& key, absl::string_view problem);
  // A problem with this mapping as a whole (e.g. an item of a MapList),
  // named by its path and `label` in parentheses: "rules[2] (room_started)".
  void AddOwnProblem(absl::string_view label, absl::string_view problem);
  std::string KeyPath(const std::string& key) const;

 private:
  // The scalar at `key` after ${ENV} expansion, or nullopt if absent/bad.
  std::optional<std::string> Scalar(const std::string& key);

  YAML::Node node_;
  std::string prefix_;
  ConfigProblems* problems_;
  std::set<std::string> consumed_;
};

// Parsed YAML document of a config file, with its problem list.
struct ConfigDocument {
  std::unique_ptr<ConfigProblems> problems;
  YAML::Node root;
};

// Reads and parses `path`. A missing file or invalid YAML is an error naming
// the file (and line).
absl::StatusOr<ConfigDocument> LoadConfigDocument(const std::string& path);

}  // namespace eroom

#endif  // EROOM_COMMON_CONFIG_READER_H_
