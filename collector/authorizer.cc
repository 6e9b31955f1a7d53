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
      {kListAlertsMethod, Access::kViewer},
      {kAcknowledgeAlertMethod, Access::kOperator},
      {kAddSilenceMethod, Access::kOperator},
      {kListSilencesMethod, Access::kViewer},
      {kExpireSilenceMethod, Access::kOperator},
      {kListRulesMethod, Access::kViewer},
      {kFollowLogsMethod, Access::kViewer},
      {kListRoomsMethod, Access::kViewer},
      {kGetRoomMethod, Access::kViewer},
      {kDailyReportMethod, Access::kViewer},
      {kStartCommandMethod, Access::kOperator},
      {kWatchCommandMethod, Access::kViewer},
      {kListCommandsMethod, Access::kViewer},
      {kCancelCommandMethod, Access::kOperator},
      {kListAuditMethod, Access::kViewer},
      {kBackupMethod, Access::kAdmin},
  };
  return *table;
}

Authorizer::Authorizer(const AuthConfig& config, MethodAccessTable methods,
                       RefusalLog& refusals, AgentEnrollments& enrollments)
    : tokens_required_(config.tokens_required),
      enrollments_(enrollments),
      methods_(std::move(methods)),
      refusals_(refusals) {
  for (const AgentToken& token : config.agents) {
    std::string description =
        token.agent_id ? absl::StrCat("agent '", *token.agent_id, "'")
                       : "an agent with an enrollment token";
    if (token.agent_id) own_token_ids_.insert(*token.agent_id);
    by_digest_[token.token_sha256] =
        Principal{std::nullopt,
                  Caller{std::move(description), token.agent_id, "agent",
                         token.token_sha256, /*enrollment=*/!token.agent_id}};
  }
  for (const UserToken& token : config.users) {
    by_digest_[token.token_sha256] = Principal{
        token.role, Caller{absl::StrCat("user '", token.name, "' (",
                                        RoleName(token.role), ")"),
                           std::nullopt, token.name, token.token_sha256,
                           /*enrollment=*/false}};
  }
}

namespace {

std::optional<absl::string_view> AuthorizationOf(
    const grpc::ServerContextBase& context) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(kAuthorizationMetadataKey);
  if (it == metadata.end()) return std::nullopt;
  return absl::string_view(it->second.data(), it->second.size());
}

}  // namespace

absl::StatusOr<Caller> Authorizer::Authorize(
    const grpc::ServerContextBase& context, absl::string_view method) {
  return Check(AuthorizationOf(context), method, context.peer());
}

std::string Authorizer::CallerName(
    const grpc::ServerContextBase& context) const {
  // Any method a known token may call tells who it is.
  for (const char* method : {kListCommandsMethod, kAgentConnectMethod}) {
    absl::StatusOr<Caller> caller = Decide(AuthorizationOf(context), method);
    if (caller.ok()) return caller->name;
  }
  return "unauthenticated";
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
    return Caller{"anyone (auth.mode: none)", {}, "anyone", "", false};
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
  const std::string digest = TokenSha256Hex(token);
  std::optional<Principal> enrolled;
  auto found = by_digest_.find(digest);
  if (found == by_digest_.end()) {
    std::optional<std::string> agent_id = enrollments_.AgentOf(digest);
    if (!agent_id) return absl::UnauthenticatedError("unknown token");
    enrolled = Principal{
        std::nullopt, Caller{absl::StrCat("agent '", *agent_id, "' (enrolled)"),
                             *agent_id, "agent", digest}};
  }
  const Principal& principal = enrolled ? *enrolled : found->second;
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

absl::StatusOr<AgentAdmission> Authorizer::AdmitAgent(
    const Caller& caller, const std::string& agent_id, absl::string_view peer) {
  auto refuse = [&](absl::string_view why) {
    return Refuse(absl::PermissionDeniedError(why), kAgentConnectMethod, peer);
  };
  if (caller.agent_id) {
    if (*caller.agent_id == agent_id) {
      return AgentAdmission{caller.credential, ""};
    }
    return refuse(absl::StrCat("the token of agent '", *caller.agent_id,
                               "' may not stream as agent '",
                               Loggable(agent_id), "'"));
  }
  if (!caller.enrollment) return AgentAdmission{caller.credential, ""};
  if (own_token_ids_.contains(agent_id)) {
    return refuse(absl::StrCat("agent '", agent_id,
                               "' has a token of its own: the enrollment "
                               "token may not stream as it"));
  }
  absl::StatusOr<std::string> issued = enrollments_.Reserve(agent_id);
  if (absl::IsAlreadyExists(issued.status())) {
    return refuse(absl::StrCat(
        "agent '", agent_id,
        "' is enrolled: only the token issued to it at enrollment may "
        "stream as it, not the enrollment token (an agent keeps it in "
        "agent-token in its state_dir)"));
  }
  if (!issued.ok()) return issued.status();
  return AgentAdmission{TokenSha256Hex(*issued), *std::move(issued)};
}

absl::Status Authorizer::CommitEnrollment(const std::string& agent_id) {
  return enrollments_.Commit(agent_id);
}

void Authorizer::AbandonEnrollment(const std::string& agent_id) {
  enrollments_.Release(agent_id);
}

absl::Status Authorizer::Refuse(absl::Status status, absl::string_view method,
                                absl::string_view peer) {
  refusals_.Refused(
      peer, absl::StrCat(method, ": ", absl::StatusCodeToString(status.code()),
                         ": ", status.message()));
  return status;
}

}  // namespace eroom::collector
