#include "cli/collector_client.h"

#include "absl/strings/str_cat.h"
#include "grpcpp/client_context.h"

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
  return CreateSecureChannel(connection.address, connection.security);
}

CollectorClient::CollectorClient(v1::QueryService::StubInterface& stub,
                                 CollectorConnection connection,
                                 absl::Duration timeout)
    : stub_(stub), connection_(std::move(connection)), timeout_(timeout) {}

template <typename Request, typename Response, typename Method>
absl::StatusOr<Response> CollectorClient::Call(const char* name, Method method,
                                               const Request& request) {
  grpc::ClientContext context;
  // gRPC deadlines are wall-clock instants, so this uses the real clock.
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout_));
  AddCallCredentials(connection_.security, &context);
  Response response;
  const grpc::Status status = (stub_.*method)(&context, request, &response);
  if (status.ok()) return response;
  // gRPC and absl share status code numbering.
  const auto code = static_cast<absl::StatusCode>(status.error_code());
  const bool unreachable = code == absl::StatusCode::kUnavailable ||
                           code == absl::StatusCode::kDeadlineExceeded;
  return absl::Status(
      code, absl::StrCat(unreachable ? "cannot reach the collector at "
                                     : "the collector at ",
                         connection_.address, ": ", name,
                         " failed: ", absl::StatusCodeToString(code), ": ",
                         status.error_message(), Hint(code)));
}

absl::StatusOr<v1::ListHostsResponse> CollectorClient::ListHosts(
    const v1::ListHostsRequest& request) {
  return Call<v1::ListHostsRequest, v1::ListHostsResponse>(
      "ListHosts", &v1::QueryService::StubInterface::ListHosts, request);
}

absl::StatusOr<v1::QueryLogsResponse> CollectorClient::QueryLogs(
    const v1::QueryLogsRequest& request) {
  return Call<v1::QueryLogsRequest, v1::QueryLogsResponse>(
      "QueryLogs", &v1::QueryService::StubInterface::QueryLogs, request);
}

absl::StatusOr<v1::QueryMetricsResponse> CollectorClient::QueryMetrics(
    const v1::QueryMetricsRequest& request) {
  return Call<v1::QueryMetricsRequest, v1::QueryMetricsResponse>(
      "QueryMetrics", &v1::QueryService::StubInterface::QueryMetrics, request);
}

}  // namespace eroom::cli
