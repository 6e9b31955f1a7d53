#include "collector/auth_config.h"

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "collector/token_hash.h"
#include "common/transport_security.h"

namespace eroom::collector {
namespace {

// Reads `token_sha256` of one entry; a digest seen before (in `seen`, with
// the key of the entry that used it) is a problem: it would be ambiguous.
std::string ReadDigest(ConfigMap& entry,
                       absl::flat_hash_map<std::string, std::string>& seen) {
  std::string digest = absl::AsciiStrToLower(entry.String("token_sha256", ""));
  if (!entry.Has("token_sha256")) {
    entry.AddProblem("token_sha256",
                     "required: the SHA-256 of the token (deploy/hash-token.sh "
                     "prints it)");
    return "";
  }
  if (!IsSha256Hex(digest)) {
    entry.AddProblem("token_sha256",
                     "expected 64 hex digits (the SHA-256 of the token, as "
                     "deploy/hash-token.sh prints it), not the token itself");
    return "";
  }
  auto [it, inserted] = seen.emplace(digest, entry.KeyPath("token_sha256"));
  if (!inserted) {
    entry.AddProblem("token_sha256",
                     absl::StrCat("the same token as ", it->second));
  }
  return digest;
}

}  // namespace

absl::string_view RoleName(Role role) {
  switch (role) {
    case Role::kViewer:
      return "viewer";
    case Role::kOperator:
      return "operator";
    case Role::kAdmin:
      return "admin";
  }
  return "unknown";
}

AuthConfig ParseAuthConfig(ConfigMap& auth, const std::string& listen_address) {
  AuthConfig config;
  config.tokens_required =
      auth.Choice("mode", "tokens", {"tokens", "none"}) == "tokens";
  std::vector<ConfigMap> agents = auth.MapList("agents");
  std::vector<ConfigMap> users = auth.MapList("users");
  if (!config.tokens_required) {
    for (const char* key : {"agents", "users"}) {
      if (auth.Has(key)) auth.AddProblem(key, "not used with mode: none");
    }
    if (!IsLoopbackAddress(listen_address)) {
      auth.AddProblem(
          "mode",
          absl::StrCat("none (anyone may connect) is refused on '",
                       listen_address, "', which is not a loopback address"));
    }
    return config;
  }

  absl::flat_hash_map<std::string, std::string> seen;
  for (ConfigMap& entry : agents) {
    AgentToken token;
    const std::string id = entry.String("id", "");
    if (entry.Bool("enrollment", false)) {
      if (entry.Has("id")) {
        entry.AddProblem("id", "not used with enrollment: true");
      }
    } else if (id.empty()) {
      entry.AddProblem("id",
                       "required: the agent id this token is for (or "
                       "enrollment: true for a token good for any agent id)");
    } else {
      token.agent_id = id;
    }
    token.token_sha256 = ReadDigest(entry, seen);
    entry.Finish();
    config.agents.push_back(std::move(token));
  }
  for (ConfigMap& entry : users) {
    UserToken token;
    token.name = entry.String("name", "");
    if (token.name.empty()) entry.AddProblem("name", "required");
    const std::string role =
        entry.Choice("role", "", {"viewer", "operator", "admin"});
    if (!entry.Has("role")) entry.AddProblem("role", "required");
    token.role = role == "admin"      ? Role::kAdmin
                 : role == "operator" ? Role::kOperator
                                      : Role::kViewer;
    token.token_sha256 = ReadDigest(entry, seen);
    entry.Finish();
    config.users.push_back(std::move(token));
  }
  if (agents.empty() && users.empty()) {
    auth.AddProblem("mode",
                    "tokens (the default) needs at least one entry in "
                    "auth.agents or auth.users, or nobody can connect; "
                    "auth.mode: none opens a loopback collector to anyone");
  }
  return config;
}

}  // namespace eroom::collector
