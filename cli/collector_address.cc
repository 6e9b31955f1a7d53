#include "cli/collector_address.h"

#include <filesystem>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/config_reader.h"
#include "common/status_macros.h"

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

// A value given on the command line or in the environment, with where it
// came from for error messages.
struct Override {
  std::string source;
  std::string value;
};

std::optional<Override> FlagOrEnvironment(
    const std::optional<std::string>& flag, const std::string& flag_name,
    const std::string& variable, const EnvironmentLookup& getenv) {
  if (flag) return Override{flag_name, *flag};
  if (auto env = getenv(variable); env && !env->empty()) {
    return Override{absl::StrCat("$", variable), *env};
  }
  return std::nullopt;
}

// The connection the config file (if any) describes, for `address` unless
// the file names its own and `address` is nullopt.
absl::StatusOr<CollectorConnection> ReadConfigFile(
    const std::optional<std::string>& path,
    const std::optional<std::string>& address) {
  ConfigDocument doc;
  if (path) {
    EROOM_ASSIGN_OR_RETURN(doc, LoadConfigDocument(*path));
  } else {
    doc.problems = std::make_unique<ConfigProblems>("(no config file)");
  }
  ConfigMap root(doc.root, "", doc.problems.get());
  CollectorConnection connection;
  connection.address = kDefaultCollectorAddress;
  if (root.Has("collector")) {
    connection.address = root.String("collector", "");
    if (absl::Status valid = ValidateCollectorAddress(connection.address);
        !valid.ok()) {
      root.AddProblem("collector", valid.message());
    }
  }
  if (address) connection.address = *address;
  connection.security = ParseClientSecurity(root, connection.address);
  root.Finish();
  EROOM_RETURN_IF_ERROR(doc.problems->ToStatus());
  return connection;
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

absl::StatusOr<CollectorConnection> ResolveCollectorConnection(
    const GlobalOptions& options, const EnvironmentLookup& getenv) {
  std::optional<Override> address = FlagOrEnvironment(
      options.collector, "--collector", "EROOMCTL_COLLECTOR", getenv);
  if (address) {
    if (absl::Status valid = ValidateCollectorAddress(address->value);
        !valid.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(address->source, ": ", valid.message()));
    }
  }
  EROOM_ASSIGN_OR_RETURN(
      CollectorConnection connection,
      ReadConfigFile(ConfigPath(options.config_path, getenv),
                     address ? std::optional(address->value) : std::nullopt));
  ClientSecurity& security = connection.security;

  if (options.insecure) {
    if (absl::Status allowed = CheckPlaintextAllowed(connection.address, false);
        !allowed.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--insecure: ", allowed.message(),
                       " (in the config file, with insecure: true)"));
    }
    ClientSecurity plaintext;
    plaintext.insecure = true;
    plaintext.token = std::move(security.token);
    security = std::move(plaintext);
  }
  if (options.ca_path) {
    absl::StatusOr<std::string> ca =
        ReadPemFile(*options.ca_path, PemKind::kCertificates);
    if (!ca.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--ca: ", ca.status().message()));
    }
    security.insecure = false;
    security.ca_pem = *std::move(ca);
  }
  if (std::optional<Override> token = FlagOrEnvironment(
          options.token, "--token", "EROOMCTL_TOKEN", getenv)) {
    if (absl::Status valid = ValidateToken(token->value); !valid.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(token->source, ": ", valid.message()));
    }
    security.token = token->value;
  }
  return connection;
}

}  // namespace eroom::cli
