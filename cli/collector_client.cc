#include "cli/collector_client.h"

#include "absl/strings/str_cat.h"
#include "grpc/grpc.h"
#include "grpcpp/client_context.h"
#include "grpcpp/support/channel_arguments.h"
#include "grpcpp/support/sync_stream.h"

namespace eroom::cli {
namespace v1 = ::eroom::monitor::v1;

namespace {

// What to check when a call failed with `code`, or "".
absl::string_view Hint(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      return " (check --collector, EROOMCTL_COLLECTOR or the config file; "
             "for TLS, --ca or ca:, or --insecure for a plaintext loopback "
             "collector)";
    case absl::StatusCode::kUnauthenticated:
      return " (check --token, EROOMCTL_TOKEN or the config file's token:)";
    case absl::StatusCode::kPermissionDenied:
      return " (this token's role does not allow it)";
    default:
      return "";
  }
}

}  // namespace

std::shared_ptr<grpc::Channel> MakeCollectorChannel(
    const CollectorConnection& connection) {
  // gRPC waits up to 2 minutes between reconnection attempts by default,
  // failing calls meanwhile: a watching view (`top`, `status --watch`)
  // would show a collector that is back as unreachable for that long. One
  // attempt per default refresh interval at most.
  constexpr int kMaxReconnectBackoffMs = 5000;
  grpc::ChannelArguments arguments;
  arguments.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, kMaxReconnectBackoffMs);
  return CreateSecureChannel(connection.address, connection.security,
                             arguments);
}

CollectorClient::CollectorClient(v1::QueryService::StubInterface& queries,
                                 v1::CommandService::StubInterface& commands,
                                 CollectorConnection connection,
                                 absl::Duration timeout)
    : queries_(queries),
      commands_(commands),
      connection_(std::move(connection)),
      timeout_(timeout) {}

void CollectorClient::PrepareContext(grpc::ClientContext& context,
                                     absl::Duration timeout) const {
  // gRPC deadlines are wall-clock instants, so this uses the real clock.
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  AddCallCredentials(connection_.security, &context);
}

absl::Status CollectorClient::Failure(const char* name,
                                      const grpc::Status& status,
                                      Unavailable unavailable) const {
  // gRPC and absl share status code numbering.
  const auto code = static_cast<absl::StatusCode>(status.error_code());
  const bool unreachable = code == absl::StatusCode::kDeadlineExceeded ||
                           (code == absl::StatusCode::kUnavailable &&
                            unavailable == Unavailable::kCollectorUnreachable);
  return absl::Status(
      code,
      absl::StrCat(
          unreachable ? "cannot reach the collector at " : "the collector at ",
          connection_.address, ": ", name, " failed: ",
          absl::StatusCodeToString(code), ": ", status.error_message(),
          unreachable || code != absl::StatusCode::kUnavailable ? Hint(code)
                                                                : ""));
}

template <typename Request, typename Response, typename Stub, typename Method>
absl::StatusOr<Response> CollectorClient::Call(const char* name, Stub& stub,
                                               Method method,
                                               const Request& request,
                                               Unavailable unavailable) {
  grpc::ClientContext context;
  PrepareContext(context, timeout_);
  Response response;
  const grpc::Status status = (stub.*method)(&context, request, &response);
  if (status.ok()) return response;
  return Failure(name, status, unavailable);
}

absl::StatusOr<v1::ListHostsResponse> CollectorClient::ListHosts(
    const v1::ListHostsRequest& request) {
  return Call<v1::ListHostsRequest, v1::ListHostsResponse>(
      "ListHosts", queries_, &v1::QueryService::StubInterface::ListHosts,
      request);
}

absl::StatusOr<v1::QueryLogsResponse> CollectorClient::QueryLogs(
    const v1::QueryLogsRequest& request) {
  return Call<v1::QueryLogsRequest, v1::QueryLogsResponse>(
      "QueryLogs", queries_, &v1::QueryService::StubInterface::QueryLogs,
      request);
}

absl::StatusOr<v1::QueryMetricsResponse> CollectorClient::QueryMetrics(
    const v1::QueryMetricsRequest& request) {
  return Call<v1::QueryMetricsRequest, v1::QueryMetricsResponse>(
      "QueryMetrics", queries_, &v1::QueryService::StubInterface::QueryMetrics,
      request);
}

absl::StatusOr<v1::ListAlertsResponse> CollectorClient::ListAlerts(
    const v1::ListAlertsRequest& request) {
  return Call<v1::ListAlertsRequest, v1::ListAlertsResponse>(
      "ListAlerts", queries_, &v1::QueryService::StubInterface::ListAlerts,
      request);
}

absl::StatusOr<v1::AcknowledgeAlertResponse> CollectorClient::AcknowledgeAlert(
    const v1::AcknowledgeAlertRequest& request) {
  return Call<v1::AcknowledgeAlertRequest, v1::AcknowledgeAlertResponse>(
      "AcknowledgeAlert", queries_,
      &v1::QueryService::StubInterface::AcknowledgeAlert, request);
}

absl::StatusOr<v1::SilenceRecord> CollectorClient::AddSilence(
    const v1::AddSilenceRequest& request) {
  return Call<v1::AddSilenceRequest, v1::SilenceRecord>(
      "AddSilence", queries_, &v1::QueryService::StubInterface::AddSilence,
      request);
}

absl::StatusOr<v1::ListSilencesResponse> CollectorClient::ListSilences(
    const v1::ListSilencesRequest& request) {
  return Call<v1::ListSilencesRequest, v1::ListSilencesResponse>(
      "ListSilences", queries_, &v1::QueryService::StubInterface::ListSilences,
      request);
}

absl::StatusOr<v1::ExpireSilenceResponse> CollectorClient::ExpireSilence(
    const v1::ExpireSilenceRequest& request) {
  return Call<v1::ExpireSilenceRequest, v1::ExpireSilenceResponse>(
      "ExpireSilence", queries_,
      &v1::QueryService::StubInterface::ExpireSilence, request);
}

absl::StatusOr<v1::ListRulesResponse> CollectorClient::ListRules(
    const v1::ListRulesRequest& request) {
  return Call<v1::ListRulesRequest, v1::ListRulesResponse>(
      "ListRules", queries_, &v1::QueryService::StubInterface::ListRules,
      request);
}

absl::StatusOr<v1::CommandRecord> CollectorClient::StartCommand(
    const v1::StartCommandRequest& request) {
  return Call<v1::StartCommandRequest, v1::CommandRecord>(
      "StartCommand", commands_,
      &v1::CommandService::StubInterface::StartCommand, request,
      Unavailable::kCollectorOrHost);
}

absl::StatusOr<v1::ListCommandsResponse> CollectorClient::ListCommands(
    const v1::ListCommandsRequest& request) {
  return Call<v1::ListCommandsRequest, v1::ListCommandsResponse>(
      "ListCommands", commands_,
      &v1::CommandService::StubInterface::ListCommands, request);
}

absl::StatusOr<v1::CommandRecord> CollectorClient::CancelCommand(
    const v1::CancelCommandRequest& request) {
  return Call<v1::CancelCommandRequest, v1::CommandRecord>(
      "CancelCommand", commands_,
      &v1::CommandService::StubInterface::CancelCommand, request,
      Unavailable::kCollectorOrHost);
}

absl::StatusOr<v1::ListRoomsResponse> CollectorClient::ListRooms(
    const v1::ListRoomsRequest& request) {
  return Call<v1::ListRoomsRequest, v1::ListRoomsResponse>(
      "ListRooms", queries_, &v1::QueryService::StubInterface::ListRooms,
      request);
}

absl::StatusOr<v1::GetRoomResponse> CollectorClient::GetRoom(
    const v1::GetRoomRequest& request) {
  return Call<v1::GetRoomRequest, v1::GetRoomResponse>(
      "GetRoom", queries_, &v1::QueryService::StubInterface::GetRoom, request);
}

absl::StatusOr<v1::DailyReportResponse> CollectorClient::DailyReport(
    const v1::DailyReportRequest& request) {
  return Call<v1::DailyReportRequest, v1::DailyReportResponse>(
      "DailyReport", queries_, &v1::QueryService::StubInterface::DailyReport,
      request);
}

absl::StatusOr<v1::ListAuditResponse> CollectorClient::ListAudit(
    const v1::ListAuditRequest& request) {
  return Call<v1::ListAuditRequest, v1::ListAuditResponse>(
      "ListAudit", commands_, &v1::CommandService::StubInterface::ListAudit,
      request);
}

absl::Status CollectorClient::FollowLogs(
    grpc::ClientContext& context, const v1::FollowLogsRequest& request,
    const std::function<void(const v1::FollowLogsResponse&)>& on_response) {
  AddCallCredentials(connection_.security, &context);
  std::unique_ptr<grpc::ClientReaderInterface<v1::FollowLogsResponse>> reader =
      queries_.FollowLogs(&context, request);
  v1::FollowLogsResponse response;
  while (reader->Read(&response)) on_response(response);
  const grpc::Status status = reader->Finish();
  if (status.ok()) return absl::OkStatus();
  return Failure("FollowLogs", status, Unavailable::kCollectorUnreachable);
}

absl::Status CollectorClient::WatchCommand(
    const std::string& command_id,
    const std::function<void(const v1::CommandProgress&)>& on_step,
    absl::Duration procedure_time) {
  grpc::ClientContext context;
  PrepareContext(context, timeout_ + procedure_time);
  v1::WatchCommandRequest request;
  request.set_command_id(command_id);
  std::unique_ptr<grpc::ClientReaderInterface<v1::CommandProgress>> reader =
      commands_.WatchCommand(&context, request);
  v1::CommandProgress step;
  while (reader->Read(&step)) on_step(step);
  const grpc::Status status = reader->Finish();
  if (status.ok()) return absl::OkStatus();
  return Failure("WatchCommand", status, Unavailable::kCollectorUnreachable);
}

absl::Status CollectorClient::Backup(
    const std::function<absl::Status(const v1::BackupChunk&)>& on_chunk,
    absl::Duration copy_time) {
  grpc::ClientContext context;
  PrepareContext(context, timeout_ + copy_time);
  std::unique_ptr<grpc::ClientReaderInterface<v1::BackupChunk>> reader =
      commands_.Backup(&context, v1::BackupRequest());
  v1::BackupChunk chunk;
  absl::Status received;
  while (received.ok() && reader->Read(&chunk)) received = on_chunk(chunk);
  if (!received.ok()) {
    context.TryCancel();
    reader->Finish();
    return received;
  }
  const grpc::Status status = reader->Finish();
  if (status.ok()) return absl::OkStatus();
  return Failure("Backup", status, Unavailable::kCollectorUnreachable);
}

}  // namespace eroom::cli
