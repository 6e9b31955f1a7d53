#ifndef EROOM_CLI_COLLECTOR_CLIENT_H_
#define EROOM_CLI_COLLECTOR_CLIENT_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cli/collector_address.h"
#include "eroom/monitor/v1/monitor.grpc.pb.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"

namespace eroom::cli {

// The single place that decides how eroomctl reaches a collector.
std::shared_ptr<grpc::Channel> MakeCollectorChannel(
    const CollectorConnection& connection);

// QueryService and CommandService calls with a deadline and the
// connection's token each, whose failures name the collector's address and
// the gRPC status so operators know what to fix.
class CollectorClient {
 public:
  CollectorClient(eroom::monitor::v1::QueryService::StubInterface& queries,
                  eroom::monitor::v1::CommandService::StubInterface& commands,
                  CollectorConnection connection, absl::Duration timeout);

  const std::string& address() const { return connection_.address; }

  absl::StatusOr<eroom::monitor::v1::ListHostsResponse> ListHosts(
      const eroom::monitor::v1::ListHostsRequest& request);
  absl::StatusOr<eroom::monitor::v1::QueryLogsResponse> QueryLogs(
      const eroom::monitor::v1::QueryLogsRequest& request);
  absl::StatusOr<eroom::monitor::v1::QueryMetricsResponse> QueryMetrics(
      const eroom::monitor::v1::QueryMetricsRequest& request);
  absl::StatusOr<eroom::monitor::v1::ListRoomsResponse> ListRooms(
      const eroom::monitor::v1::ListRoomsRequest& request);
  absl::StatusOr<eroom::monitor::v1::GetRoomResponse> GetRoom(
      const eroom::monitor::v1::GetRoomRequest& request);
  absl::StatusOr<eroom::monitor::v1::DailyReportResponse> DailyReport(
      const eroom::monitor::v1::DailyReportRequest& request);
  absl::StatusOr<eroom::monitor::v1::ListAlertsResponse> ListAlerts(
      const eroom::monitor::v1::ListAlertsRequest& request);
  absl::StatusOr<eroom::monitor::v1::AcknowledgeAlertResponse> AcknowledgeAlert(
      const eroom::monitor::v1::AcknowledgeAlertRequest& request);
  absl::StatusOr<eroom::monitor::v1::SilenceRecord> AddSilence(
      const eroom::monitor::v1::AddSilenceRequest& request);
  absl::StatusOr<eroom::monitor::v1::ListSilencesResponse> ListSilences(
      const eroom::monitor::v1::ListSilencesRequest& request);
  absl::StatusOr<eroom::monitor::v1::ExpireSilenceResponse> ExpireSilence(
      const eroom::monitor::v1::ExpireSilenceRequest& request);
  absl::StatusOr<eroom::monitor::v1::ListRulesResponse> ListRules(
      const eroom::monitor::v1::ListRulesRequest& request);
  absl::StatusOr<eroom::monitor::v1::CommandRecord> StartCommand(
      const eroom::monitor::v1::StartCommandRequest& request);
  absl::StatusOr<eroom::monitor::v1::ListCommandsResponse> ListCommands(
      const eroom::monitor::v1::ListCommandsRequest& request);
  absl::StatusOr<eroom::monitor::v1::CommandRecord> CancelCommand(
      const eroom::monitor::v1::CancelCommandRequest& request);
  absl::StatusOr<eroom::monitor::v1::ListAuditResponse> ListAudit(
      const eroom::monitor::v1::ListAuditRequest& request);
  // Calls `on_step` with each step of the command as the collector streams
  // it, until the stream ends (after the final step) or the deadline: the
  // call timeout plus `procedure_time`, how long the command may take on
  // the agent.
  // Follows the logs on `context`, a fresh one (which another thread may
  // TryCancel), calling `on_response` with each response until the stream
  // ends. No deadline: a follow lasts until cancelled.
  absl::Status FollowLogs(
      grpc::ClientContext& context,
      const eroom::monitor::v1::FollowLogsRequest& request,
      const std::function<void(const eroom::monitor::v1::FollowLogsResponse&)>&
          on_response);
  absl::Status WatchCommand(
      const std::string& command_id,
      const std::function<void(const eroom::monitor::v1::CommandProgress&)>&
          on_step,
      absl::Duration procedure_time = absl::ZeroDuration());
  // Calls `on_chunk` with each chunk of an online copy of the collector's
  // database as it streams in; an error from it cancels the call and is
  // returned. The deadline is the call timeout plus `copy_time`.
  absl::Status Backup(
      const std::function<absl::Status(const eroom::monitor::v1::BackupChunk&)>&
          on_chunk,
      absl::Duration copy_time);

 private:
  // What UNAVAILABLE means from a method: the collector out of reach, or
  // (command methods) possibly the collector's own answer that the
  // command's host has no live agent stream.
  enum class Unavailable { kCollectorUnreachable, kCollectorOrHost };

  template <typename Request, typename Response, typename Stub, typename Method>
  absl::StatusOr<Response> Call(
      const char* name, Stub& stub, Method method, const Request& request,
      Unavailable unavailable = Unavailable::kCollectorUnreachable);
  void PrepareContext(grpc::ClientContext& context,
                      absl::Duration timeout) const;
  absl::Status Failure(const char* name, const grpc::Status& status,
                       Unavailable unavailable) const;

  eroom::monitor::v1::QueryService::StubInterface& queries_;
  eroom::monitor::v1::CommandService::StubInterface& commands_;
  CollectorConnection connection_;
  absl::Duration timeout_;
};

}  // namespace eroom::cli

#endif  // EROOM_CLI_COLLECTOR_CLIENT_H_
