#include "cli/collector_address.h"

#include <filesystem>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/config_reader.h"

namespace eroom::cli {
namespace {

// The config file to read, or nullopt when there is none to read.
std::optional<std::string> ConfigPath(
    const std::optional<std::string>& config_flag,
    const EnvironmentLookup& getenv) {
  if (config_flag) return config_flag;
  std::filesystem::path path;
  if (auto xdg = getenv("XDG_CONFIG_HOME"); xdg && !xdg->empty()) {
    path = std::filesystem::path(*xdg) / "eroomctl" / "config.yaml";
  } else if (auto home = getenv("HOME"); home && !home->empty()) {
    path =
        std::filesystem::path(*home) / ".config" / "eroomctl" / "config.yaml";
  } else {
    return std::nullopt;
  }
  std::error_code ignored;
  if (!std::filesystem::exists(path, ignored)) return std::nullopt;
  return path.string();
}

// The `collector` key of the config file at `path`, if it sets one.
absl::StatusOr<std::optional<std::string>> ReadConfiguredAddress(
    const std::string& path) {
  absl::StatusOr<ConfigDocument> doc = LoadConfigDocument(path);
  if (!doc.ok()) return doc.status();
  ConfigMap root(doc->root, "", doc->problems.get());
  std::optional<std::string> address;
  if (root.Has("collector")) {
    address = root.String("collector", "");
    if (absl::Status valid = ValidateCollectorAddress(*address); !valid.ok()) {
      root.AddProblem("collector", valid.message());
    }
  }
  root.Finish();
  if (absl::Status status = doc->problems->ToStatus(); !status.ok()) {
    return status;
  }
  return address;
}

}  // namespace

absl::Status ValidateCollectorAddress(const std::string& address) {
  const size_t colon = address.rfind(':');
  int port = 0;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port) || port < 1 ||
      port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "collector address '", address, "' is not host:port (e.g. ",
        kDefaultCollectorAddress, ")"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ResolveCollectorAddress(
    const std::optional<std::string>& flag,
    const std::optional<std::string>& config_flag,
    const EnvironmentLookup& getenv) {
  std::optional<std::string> configured;
  if (std::optional<std::string> path = ConfigPath(config_flag, getenv)) {
    absl::StatusOr<std::optional<std::string>> read =
        ReadConfiguredAddress(*path);
    if (!read.ok()) return read.status();
    configured = *read;
  }

  std::string source;
  std::string address;
  if (flag) {
    source = "--collector";
    address = *flag;
  } else if (auto env = getenv("EROOMCTL_COLLECTOR"); env && !env->empty()) {
    source = "$EROOMCTL_COLLECTOR";
    address = *env;
  } else {
    // The config file's value was validated while reading it.
    return configured.value_or(kDefaultCollectorAddress);
  }
  if (absl::Status valid = ValidateCollectorAddress(address); !valid.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": ", valid.message()));
  }
  return address;
}

}  // namespace eroom::cli
