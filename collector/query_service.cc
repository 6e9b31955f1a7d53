#include "collector/query_service.h"

#include <string>

#include "collector/grpc_status.h"
#include "spdlog/spdlog.h"

namespace eroom::collector {
namespace v1 = ::eroom::monitor::v1;
namespace {

// Runs `query` on a worker and finishes the call with its result, if the
// caller may call `method`.
template <typename Response, typename Query>
grpc::ServerUnaryReactor* Dispatch(grpc::CallbackServerContext* context,
                                   absl::string_view method,
                                   Authorizer& authorizer, WorkQueue& workers,
                                   Response* response, Query query) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (absl::StatusOr<Caller> caller = authorizer.Authorize(*context, method);
      !caller.ok()) {
    reactor->Finish(ToGrpcStatus(caller.status()));
    return reactor;
  }
  bool queued = workers.TrySubmit([reactor, response, query]() {
    absl::StatusOr<Response> result = query();
    if (!result.ok()) {
      spdlog::error("query failed: {}", result.status().ToString());
      reactor->Finish(ToGrpcStatus(result.status()));
      return;
    }
    *response = std::move(*result);
    reactor->Finish(grpc::Status::OK);
  });
  if (!queued) {
    reactor->Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                 "too many queries in progress; retry"));
  }
  return reactor;
}

}  // namespace

QueryServiceImpl::QueryServiceImpl(Storage& storage, WorkQueue& workers,
                                   Authorizer& authorizer, const Clock& clock,
                                   absl::Duration heartbeat_timeout)
    : storage_(storage),
      workers_(workers),
      authorizer_(authorizer),
      clock_(clock),
      heartbeat_timeout_(heartbeat_timeout) {}

grpc::ServerUnaryReactor* QueryServiceImpl::ListHosts(
    grpc::CallbackServerContext* context, const v1::ListHostsRequest* request,
    v1::ListHostsResponse* response) {
  return Dispatch(context, kListHostsMethod, authorizer_, workers_, response,
                  [this, request]() -> absl::StatusOr<v1::ListHostsResponse> {
                    absl::StatusOr<v1::ListHostsResponse> hosts =
                        storage_.ListHosts(*request);
                    if (!hosts.ok()) return hosts;
                    const int64_t silent_since =
                        absl::ToUnixMillis(clock_.Now() - heartbeat_timeout_);
                    for (v1::HostStatus& host : *hosts->mutable_hosts()) {
                      host.set_down(!host.connected() ||
                                    host.last_seen_unix_ms() < silent_since);
                    }
                    return hosts;
                  });
}

grpc::ServerUnaryReactor* QueryServiceImpl::QueryLogs(
    grpc::CallbackServerContext* context, const v1::QueryLogsRequest* request,
    v1::QueryLogsResponse* response) {
  return Dispatch(context, kQueryLogsMethod, authorizer_, workers_, response,
                  [this, request] { return storage_.QueryLogs(*request); });
}

grpc::ServerUnaryReactor* QueryServiceImpl::QueryMetrics(
    grpc::CallbackServerContext* context,
    const v1::QueryMetricsRequest* request,
    v1::QueryMetricsResponse* response) {
  return Dispatch(context, kQueryMetricsMethod, authorizer_, workers_, response,
                  [this, request] { return storage_.QueryMetrics(*request); });
}

}  // namespace eroom::collector
