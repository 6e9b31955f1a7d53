#ifndef EROOM_CLI_COLLECTOR_CLIENT_H_
#define EROOM_CLI_COLLECTOR_CLIENT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cli/collector_address.h"
#include "eroom/monitor/v1/monitor.grpc.pb.h"
#include "grpcpp/channel.h"

namespace eroom::cli {

// The single place that decides how eroomctl reaches a collector.
std::shared_ptr<grpc::Channel> MakeCollectorChannel(
    const CollectorConnection& connection);

// QueryService calls with a deadline and the connection's token each, whose
// failures name the collector's address and the gRPC status so operators
// know what to fix.
class CollectorClient {
 public:
  CollectorClient(eroom::monitor::v1::QueryService::StubInterface& stub,
                  CollectorConnection connection, absl::Duration timeout);

  const std::string& address() const { return connection_.address; }

  absl::StatusOr<eroom::monitor::v1::ListHostsResponse> ListHosts(
      const eroom::monitor::v1::ListHostsRequest& request);
  absl::StatusOr<eroom::monitor::v1::QueryLogsResponse> QueryLogs(
      const eroom::monitor::v1::QueryLogsRequest& request);
  absl::StatusOr<eroom::monitor::v1::QueryMetricsResponse> QueryMetrics(
      const eroom::monitor::v1::QueryMetricsRequest& request);

 private:
  template <typename Request, typename Response, typename Method>
  absl::StatusOr<Response> Call(const char* name, Method method,
                                const Request& request);

  eroom::monitor::v1::QueryService::StubInterface& stub_;
  CollectorConnection connection_;
  absl::Duration timeout_;
};

}  // namespace eroom::cli

#endif  // EROOM_CLI_COLLECTOR_CLIENT_H_
