#ifndef EROOM_COLLECTOR_AUTHORIZER_H_
#define EROOM_COLLECTOR_AUTHORIZER_H_

#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "collector/auth_config.h"
#include "collector/refusal_log.h"
#include "grpcpp/server_context.h"

namespace eroom::collector {

// Who may call a method: agents (agent tokens), or users whose role is at
// least the one named.
enum class Access { kAgent, kViewer, kOperator, kAdmin };

// gRPC method names ("/package.Service/Method") and the access each needs.
// A method missing from the table is refused to everyone.
using MethodAccessTable = absl::flat_hash_map<std::string, Access>;

inline constexpr char kAgentConnectMethod[] =
    "/eroom.monitor.v1.AgentService/Connect";
inline constexpr char kListHostsMethod[] =
    "/eroom.monitor.v1.QueryService/ListHosts";
inline constexpr char kQueryLogsMethod[] =
    "/eroom.monitor.v1.QueryService/QueryLogs";
inline constexpr char kQueryMetricsMethod[] =
    "/eroom.monitor.v1.QueryService/QueryMetrics";
inline constexpr char kStartCommandMethod[] =
    "/eroom.monitor.v1.CommandService/StartCommand";
inline constexpr char kWatchCommandMethod[] =
    "/eroom.monitor.v1.CommandService/WatchCommand";
inline constexpr char kListCommandsMethod[] =
    "/eroom.monitor.v1.CommandService/ListCommands";

// Every RPC the collector serves; a new RPC adds its row here and calls
// Authorizer::Authorize first thing in its handler.
const MethodAccessTable& CollectorMethodAccess();

// The authenticated caller of one call.
struct Caller {
  std::string description;  // For logs: "user alice (operator)", ...
  // For a per-agent token: the only agent id the caller may stream as.
  std::optional<std::string> agent_id;
  // Who asked, in records: the user token's name, else "anyone" (no token
  // check) or "agent".
  std::string name;
};

// Checks the bearer token of each call against the configured token
// digests and the method's required access. Refusals are logged through
// `refusals` with the peer address. Thread-safe.
class Authorizer {
 public:
  Authorizer(const AuthConfig& config, MethodAccessTable methods,
             RefusalLog& refusals);

  // The caller of `method` on `context`, or UNAUTHENTICATED (no or unknown
  // token) or PERMISSION_DENIED (the token's role is too weak).
  absl::StatusOr<Caller> Authorize(const grpc::ServerContextBase& context,
                                   absl::string_view method);

  // Authorize() on its parts: the "authorization" metadata value, if any,
  // and the peer for the log.
  absl::StatusOr<Caller> Check(std::optional<absl::string_view> authorization,
                               absl::string_view method,
                               absl::string_view peer);

  // PERMISSION_DENIED unless `caller` may stream as `agent_id`.
  absl::Status CheckAgentId(const Caller& caller, absl::string_view agent_id,
                            absl::string_view peer);

 private:
  struct Principal {
    std::optional<Role> user_role;  // nullopt: an agent token.
    Caller caller;
  };

  absl::StatusOr<Caller> Decide(std::optional<absl::string_view> authorization,
                                absl::string_view method) const;
  absl::Status Refuse(absl::Status status, absl::string_view method,
                      absl::string_view peer);

  const bool tokens_required_;
  absl::flat_hash_map<std::string, Principal> by_digest_;
  const MethodAccessTable methods_;
  RefusalLog& refusals_;
};

}  // namespace eroom::collector

#endif  // EROOM_COLLECTOR_AUTHORIZER_H_
