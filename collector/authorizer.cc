#include "collector/authorizer.h"

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "collector/token_hash.h"
#include "common/transport_security.h"

namespace eroom::collector {
namespace {

constexpr char kBearerPrefix[] = "bearer ";

// Text from the network, safe and short enough for one log line.
std::string Loggable(absl::string_view text) {
  constexpr size_t kMax = 64;
  std::string out = absl::CHexEscape(text.substr(0, kMax));
  if (text.size() > kMax) out += "...";
  return out;
}

Role MinimumRole(Access access) {
  switch (access) {
    case Access::kOperator:
      return Role::kOperator;
    case Access::kAdmin:
      return Role::kAdmin;
    case Access::kAgent:
    case Access::kViewer:
      break;
  }
  return Role::kViewer;
}

}  // namespace

const MethodAccessTable& CollectorMethodAccess() {
  static const MethodAccessTable* table = new MethodAccessTable{
      {kAgentConnectMethod, Access::kAgent},
      {kListHostsMethod, Access::kViewer},
      {kQueryLogsMethod, Access::kViewer},
      {kQueryMetricsMethod, Access::kViewer},
      {kStartCommandMethod, Access::kOperator},
      {kWatchCommandMethod, Access::kViewer},
      {kListCommandsMethod, Access::kViewer},
  };
  return *table;
}

Authorizer::Authorizer(const AuthConfig& config, MethodAccessTable methods,
                       RefusalLog& refusals)
    : tokens_required_(config.tokens_required),
      methods_(std::move(methods)),
      refusals_(refusals) {
  for (const AgentToken& token : config.agents) {
    std::string description =
        token.agent_id ? absl::StrCat("agent '", *token.agent_id, "'")
                       : "an agent with an enrollment token";
    by_digest_[token.token_sha256] = Principal{
        std::nullopt, Caller{std::move(description), token.agent_id, "agent"}};
  }
  for (const UserToken& token : config.users) {
    by_digest_[token.token_sha256] =
        Principal{token.role, Caller{absl::StrCat("user '", token.name, "' (",
                                                  RoleName(token.role), ")"),
                                     std::nullopt, token.name}};
  }
}

absl::StatusOr<Caller> Authorizer::Authorize(
    const grpc::ServerContextBase& context, absl::string_view method) {
  std::optional<absl::string_view> authorization;
  const auto& metadata = context.client_metadata();
  if (auto it = metadata.find(kAuthorizationMetadataKey);
      it != metadata.end()) {
    authorization = absl::string_view(it->second.data(), it->second.size());
  }
  return Check(authorization, method, context.peer());
}

absl::StatusOr<Caller> Authorizer::Check(
    std::optional<absl::string_view> authorization, absl::string_view method,
    absl::string_view peer) {
  absl::StatusOr<Caller> caller = Decide(authorization, method);
  if (!caller.ok()) return Refuse(caller.status(), method, peer);
  return caller;
}

absl::StatusOr<Caller> Authorizer::Decide(
    std::optional<absl::string_view> authorization,
    absl::string_view method) const {
  auto rule = methods_.find(method);
  if (rule == methods_.end()) {
    return absl::PermissionDeniedError("this method is open to no one");
  }
  if (!tokens_required_) {
    return Caller{"anyone (auth.mode: none)", {}, "anyone"};
  }
  if (!authorization) {
    return absl::UnauthenticatedError(
        "no token: send metadata 'authorization: Bearer <token>'");
  }
  absl::string_view token = *authorization;
  if (!absl::StartsWithIgnoreCase(token, kBearerPrefix)) {
    return absl::UnauthenticatedError(
        "the authorization metadata is not 'Bearer <token>'");
  }
  token.remove_prefix(sizeof(kBearerPrefix) - 1);
  auto found = by_digest_.find(TokenSha256Hex(token));
  if (found == by_digest_.end()) {
    return absl::UnauthenticatedError("unknown token");
  }
  const Principal& principal = found->second;
  if (rule->second == Access::kAgent) {
    if (principal.user_role) {
      return absl::PermissionDeniedError(
          absl::StrCat(principal.caller.description,
                       " is not an agent: only agent tokens "
                       "may stream events"));
    }
    return principal.caller;
  }
  if (!principal.user_role) {
    return absl::PermissionDeniedError(absl::StrCat(
        principal.caller.description, ": agent tokens may only stream events"));
  }
  const Role needed = MinimumRole(rule->second);
  if (*principal.user_role < needed) {
    return absl::PermissionDeniedError(
        absl::StrCat(principal.caller.description,
                     " may not call this method: it needs role ",
                     RoleName(needed), " or above"));
  }
  return principal.caller;
}

absl::Status Authorizer::CheckAgentId(const Caller& caller,
                                      absl::string_view agent_id,
                                      absl::string_view peer) {
  if (!caller.agent_id || *caller.agent_id == agent_id) {
    return absl::OkStatus();
  }
  return Refuse(absl::PermissionDeniedError(absl::StrCat(
                    "the token of agent '", *caller.agent_id,
                    "' may not stream as agent '", Loggable(agent_id), "'")),
                kAgentConnectMethod, peer);
}

absl::Status Authorizer::Refuse(absl::Status status, absl::string_view method,
                                absl::string_view peer) {
  refusals_.Refused(
      peer, absl::StrCat(method, ": ", absl::StatusCodeToString(status.code()),
                         ": ", status.message()));
  return status;
}

}  // namespace eroom::collector
