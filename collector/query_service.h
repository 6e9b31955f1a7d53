#ifndef EROOM_COLLECTOR_QUERY_SERVICE_H_
#define EROOM_COLLECTOR_QUERY_SERVICE_H_

#include "collector/authorizer.h"
#include "collector/storage.h"
#include "collector/work_queue.h"
#include "common/clock.h"
#include "eroom/monitor/v1/monitor.grpc.pb.h"

namespace eroom::collector {

// QueryService on gRPC's callback API: each call the authorizer accepts is
// handed to the query workers, which read from storage and finish the call;
// the gRPC thread returns at once. A full work queue answers
// RESOURCE_EXHAUSTED.
class QueryServiceImpl final
    : public eroom::monitor::v1::QueryService::CallbackService {
 public:
  // A connected host silent for longer than `heartbeat_timeout` is
  // reported down.
  QueryServiceImpl(Storage& storage, WorkQueue& workers, Authorizer& authorizer,
                   const Clock& clock, absl::Duration heartbeat_timeout);

  grpc::ServerUnaryReactor* ListHosts(
      grpc::CallbackServerContext* context,
      const eroom::monitor::v1::ListHostsRequest* request,
      eroom::monitor::v1::ListHostsResponse* response) override;
  grpc::ServerUnaryReactor* QueryLogs(
      grpc::CallbackServerContext* context,
      const eroom::monitor::v1::QueryLogsRequest* request,
      eroom::monitor::v1::QueryLogsResponse* response) override;
  grpc::ServerUnaryReactor* QueryMetrics(
      grpc::CallbackServerContext* context,
      const eroom::monitor::v1::QueryMetricsRequest* request,
      eroom::monitor::v1::QueryMetricsResponse* response) override;

 private:
  Storage& storage_;
  WorkQueue& workers_;
  Authorizer& authorizer_;
  const Clock& clock_;
  const absl::Duration heartbeat_timeout_;
};

}  // namespace eroom::collector

#endif  // EROOM_COLLECTOR_QUERY_SERVICE_H_
