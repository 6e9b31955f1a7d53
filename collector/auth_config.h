#ifndef EROOM_COLLECTOR_AUTH_CONFIG_H_
#define EROOM_COLLECTOR_AUTH_CONFIG_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "common/config_reader.h"

namespace eroom::collector {

// What a user's token lets them do; each role includes the ones before.
enum class Role { kViewer, kOperator, kAdmin };
absl::string_view RoleName(Role role);

struct AgentToken {
  // The only agent id the token is good for; nullopt for an enrollment
  // token, good for any agent id.
  std::optional<std::string> agent_id;
  std::string token_sha256;  // Lowercase hex.
};

struct UserToken {
  std::string name;
  Role role = Role::kViewer;
  std::string token_sha256;  // Lowercase hex.
};

// The collector's `auth:` section:
//   mode: tokens | none      (default tokens; none: anyone, loopback only)
//   agents:
//     - {id: web-1, token_sha256: <hex>}         only agent web-1
//     - {enrollment: true, token_sha256: <hex>}  any agent id
//   users:
//     - {name: alice, role: viewer|operator|admin, token_sha256: <hex>}
struct AuthConfig {
  bool tokens_required = true;
  std::vector<AgentToken> agents;
  std::vector<UserToken> users;
};

// Reads the `auth:` section strictly for a collector listening on
// `listen_address`; problems are recorded in `auth` naming file and key.
AuthConfig ParseAuthConfig(ConfigMap& auth, const std::string& listen_address);

}  // namespace eroom::collector

#endif  // EROOM_COLLECTOR_AUTH_CONFIG_H_
