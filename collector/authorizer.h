#ifndef EROOM_COLLECTOR_AUTHORIZER_H_
#define EROOM_COLLECTOR_AUTHORIZER_H_

#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "collector/auth_config.h"
#include "collector/auth_enrollments.h"
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
inline constexpr char kListAlertsMethod[] =
    "/eroom.monitor.v1.QueryService/ListAlerts";
inline constexpr char kAcknowledgeAlertMethod[] =
    "/eroom.monitor.v1.QueryService/AcknowledgeAlert";
inline constexpr char kAddSilenceMethod[] =
    "/eroom.monitor.v1.QueryService/AddSilence";
inline constexpr char kListSilencesMethod[] =
    "/eroom.monitor.v1.QueryService/ListSilences";
inline constexpr char kExpireSilenceMethod[] =
    "/eroom.monitor.v1.QueryService/ExpireSilence";
inline constexpr char kListRulesMethod[] =
    "/eroom.monitor.v1.QueryService/ListRules";
inline constexpr char kFollowLogsMethod[] =
    "/eroom.monitor.v1.QueryService/FollowLogs";
inline constexpr char kListRoomsMethod[] =
    "/eroom.monitor.v1.QueryService/ListRooms";
inline constexpr char kGetRoomMethod[] =
    "/eroom.monitor.v1.QueryService/GetRoom";
inline constexpr char kDailyReportMethod[] =
    "/eroom.monitor.v1.QueryService/DailyReport";
inline constexpr char kStartCommandMethod[] =
    "/eroom.monitor.v1.CommandService/StartCommand";
inline constexpr char kWatchCommandMethod[] =
    "/eroom.monitor.v1.CommandService/WatchCommand";
inline constexpr char kListCommandsMethod[] =
    "/eroom.monitor.v1.CommandService/ListCommands";
inline constexpr char kCancelCommandMethod[] =
    "/eroom.monitor.v1.CommandService/CancelCommand";
inline constexpr char kListAuditMethod[] =
    "/eroom.monitor.v1.CommandService/ListAudit";
inline constexpr char kBackupMethod[] =
    "/eroom.monitor.v1.CommandService/Backup";

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
  // The digest of the caller's token; empty without token check.
  std::string credential;
  // An enrollment token: it may enroll agent ids nobody holds.
  bool enrollment = false;
};

// What an agent stream's hello was admitted as.
struct AgentAdmission {
  // The stream's credential, the one a newer stream of the same agent id
  // must present to replace it (AgentStreamRegistry).
  std::string credential;
  // Set when the hello enrolled its agent id: the token issued to it, sent
  // in the HelloAck once Authorizer::CommitEnrollment succeeded.
  std::string issued_token;
};

// Checks the bearer token of each call against the configured token
// digests and those issued at enrollment (`enrollments`), and the method's
// required access. Refusals are logged through `refusals` with the peer
// address. Thread-safe.
class Authorizer {
 public:
  Authorizer(const AuthConfig& config, MethodAccessTable methods,
             RefusalLog& refusals, AgentEnrollments& enrollments);

  // The caller of `method` on `context`, or UNAUTHENTICATED (no or unknown
  // token) or PERMISSION_DENIED (the token's role is too weak).
  absl::StatusOr<Caller> Authorize(const grpc::ServerContextBase& context,
                                   absl::string_view method);

  // Who the token of `context` names (Caller::name) whatever it may call,
  // for the record of a refused call: "unauthenticated" without a known
  // token. Logs nothing.
  std::string CallerName(const grpc::ServerContextBase& context) const;

  // Authorize() on its parts: the "authorization" metadata value, if any,
  // and the peer for the log.
  absl::StatusOr<Caller> Check(std::optional<absl::string_view> authorization,
                               absl::string_view method,
                               absl::string_view peer);

  // Whether `caller` may stream as `agent_id`, or PERMISSION_DENIED: a
  // per-agent token (configured, or issued at enrollment) streams as its
  // own id only; an enrollment token only as an id that has no token of its
  // own and is not enrolled, which it then enrolls (the id is reserved for
  // the token issued in the admission).
  absl::StatusOr<AgentAdmission> AdmitAgent(const Caller& caller,
                                            const std::string& agent_id,
                                            absl::string_view peer);
  // Makes the enrollment of `agent_id` durable (AgentEnrollments::Commit);
  // on the ingest thread.
  absl::Status CommitEnrollment(const std::string& agent_id);
  // Frees the id of an enrollment whose stream ended before it committed.
  void AbandonEnrollment(const std::string& agent_id);

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
  // Agent ids with a configured token of their own.
  absl::flat_hash_set<std::string> own_token_ids_;
  AgentEnrollments& enrollments_;
  const MethodAccessTable methods_;
  RefusalLog& refusals_;
};

}  // namespace eroom::collector

#endif  // EROOM_COLLECTOR_AUTHORIZER_H_
