#include "collector/query_service.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "collector/worker_call.h"
#include "common/metric_catalog.h"
#include "common/status_macros.h"

namespace eroom::collector {
namespace v1 = ::eroom::monitor::v1;

absl::StatusOr<int32_t> EffectiveLimit(int32_t requested, int32_t default_limit,
                                       int32_t max_limit) {
  if (requested < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("limit must not be negative, got ", requested));
  }
  if (requested == 0) return default_limit;
  return std::min(requested, max_limit);
}

QueryServiceImpl::QueryServiceImpl(StorageReader& storage, WorkQueue& workers,
                                   Authorizer& authorizer,
                                   const HostLiveness& liveness)
    : storage_(storage),
      workers_(workers),
      authorizer_(authorizer),
      liveness_(liveness) {}

grpc::ServerUnaryReactor* QueryServiceImpl::ListHosts(
    grpc::CallbackServerContext* context, const v1::ListHostsRequest* request,
    v1::ListHostsResponse* response) {
  return FinishOnWorkers(context, kListHostsMethod, authorizer_, workers_,
                         response, [this, request] { return Hosts(*request); });
}

grpc::ServerUnaryReactor* QueryServiceImpl::QueryLogs(
    grpc::CallbackServerContext* context, const v1::QueryLogsRequest* request,
    v1::QueryLogsResponse* response) {
  return FinishOnWorkers(context, kQueryLogsMethod, authorizer_, workers_,
                         response, [this, request] { return Logs(*request); });
}

grpc::ServerUnaryReactor* QueryServiceImpl::QueryMetrics(
    grpc::CallbackServerContext* context,
    const v1::QueryMetricsRequest* request,
    v1::QueryMetricsResponse* response) {
  return FinishOnWorkers(context, kQueryMetricsMethod, authorizer_, workers_,
                         response,
                         [this, request] { return Metrics(*request); });
}

absl::StatusOr<v1::ListHostsResponse> QueryServiceImpl::Hosts(
    const v1::ListHostsRequest& request) {
  EROOM_ASSIGN_OR_RETURN(v1::ListHostsResponse hosts,
                         storage_.ListHosts(request));
  for (v1::HostStatus& host : *hosts.mutable_hosts()) {
    host.set_down(liveness_.IsDown(host.agent_id()));
  }
  return hosts;
}

absl::StatusOr<v1::QueryLogsResponse> QueryServiceImpl::Logs(
    v1::QueryLogsRequest request) {
  EROOM_ASSIGN_OR_RETURN(
      int32_t limit,
      EffectiveLimit(request.limit(), kDefaultLogLimit, kMaxLogLimit));
  request.set_limit(limit);
  return storage_.QueryLogs(request);
}

absl::StatusOr<v1::QueryMetricsResponse> QueryServiceImpl::Metrics(
    v1::QueryMetricsRequest request) {
  if (request.name().empty()) {
    return absl::InvalidArgumentError("metric name is required");
  }
  EROOM_ASSIGN_OR_RETURN(
      int32_t limit, EffectiveLimit(request.limit(), kDefaultMetricPointLimit,
                                    kMaxMetricPointLimit));
  request.set_limit(limit);
  const std::vector<std::string>& known = KnownMetricNames();
  if (!std::binary_search(known.begin(), known.end(), request.name())) {
    v1::QueryMetricsResponse response;
    for (const std::string& name : known) response.add_known_names(name);
    return response;
  }
  return storage_.QueryMetrics(request);
}

}  // namespace eroom::collector
