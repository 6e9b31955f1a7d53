#ifndef EROOM_CLI_COLLECTOR_ADDRESS_H_
#define EROOM_CLI_COLLECTOR_ADDRESS_H_

#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"

namespace eroom::cli {

inline constexpr char kDefaultCollectorAddress[] = "127.0.0.1:7443";

// Looks up an environment variable; injected so tests need not touch the
// process environment.
using EnvironmentLookup =
    std::function<std::optional<std::string>(const std::string& name)>;

// Where eroomctl finds the collector, first match wins: `flag` (--collector),
// $EROOMCTL_COLLECTOR, `collector:` in the config file (`config_flag`
// (--config), else $XDG_CONFIG_HOME/eroomctl/config.yaml, else
// ~/.config/eroomctl/config.yaml), else kDefaultCollectorAddress.
//
// A config file that exists is always read strictly, so a typo in it is
// reported even when another source wins; an explicit --config file must
// exist. Errors name the file and key. The result is a valid host:port.
absl::StatusOr<std::string> ResolveCollectorAddress(
    const std::optional<std::string>& flag,
    const std::optional<std::string>& config_flag,
    const EnvironmentLookup& getenv);

// OK if `address` is host:port with a port in 1..65535 ("[::1]:7443" too).
absl::Status ValidateCollectorAddress(const std::string& address);

}  // namespace eroom::cli

#endif  // EROOM_CLI_COLLECTOR_ADDRESS_H_
