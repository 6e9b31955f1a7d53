#ifndef EROOM_CLI_COLLECTOR_ADDRESS_H_
#define EROOM_CLI_COLLECTOR_ADDRESS_H_

#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "cli/arguments.h"
#include "common/transport_security.h"

namespace eroom::cli {

inline constexpr char kDefaultCollectorAddress[] = "127.0.0.1:7443";

// Looks up an environment variable; injected so tests need not touch the
// process environment.
using EnvironmentLookup =
    std::function<std::optional<std::string>(const std::string& name)>;

// Where and how eroomctl reaches the collector.
struct CollectorConnection {
  std::string address;
  ClientSecurity security;
};

// Resolves the connection from `options`, the environment and the config
// file (`options.config_path` (--config), else
// $XDG_CONFIG_HOME/eroomctl/config.yaml, else ~/.config/eroomctl/config.yaml).
// First match wins:
//   address: --collector, $EROOMCTL_COLLECTOR, `collector:`, else
//            kDefaultCollectorAddress
//   token:   --token, $EROOMCTL_TOKEN, `token:`
//   TLS:     --insecure or --ca, else the file's `insecure:`, `ca:`; its
//            `cert:`, `key:`, `server_name:`, `allow_insecure_remote:` (see
//            common/transport_security.h). TLS with the system's roots by
//            default.
//
// A config file that exists is always read strictly, so a typo in it is
// reported even when another source wins; an explicit --config file must
// exist. Errors name the file and key, or the flag or variable.
absl::StatusOr<CollectorConnection> ResolveCollectorConnection(
    const GlobalOptions& options, const EnvironmentLookup& getenv);

// OK if `address` is host:port with a port in 1..65535 ("[::1]:7443" too).
absl::Status ValidateCollectorAddress(const std::string& address);

}  // namespace eroom::cli

#endif  // EROOM_CLI_COLLECTOR_ADDRESS_H_
