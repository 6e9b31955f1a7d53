#ifndef EROOM_COLLECTOR_QUERY_SERVICE_H_
#define EROOM_COLLECTOR_QUERY_SERVICE_H_

#include <atomic>
#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "collector/authorizer.h"
#include "collector/host_liveness.h"
#include "collector/storage.h"
#include "collector/work_queue.h"
#include "common/clock.h"
#include "eroom/monitor/v1/monitor.grpc.pb.h"

namespace eroom::collector {

// Query limits: a request's limit of 0 means the default, larger ones are
// capped at the maximum, negative ones are InvalidArgument.
inline constexpr int kDefaultLogLimit = 100;
inline constexpr int kMaxLogLimit = 10000;
inline constexpr int kDefaultMetricPointLimit = 10000;  // Per series.
inline constexpr int kMaxMetricPointLimit = 100000;

// The longest search text (QueryLogsRequest.contains), in bytes: longer
// than any line an operator types or pastes, and short enough that no search
// costs much more than a scan (each of its trigrams is one more index
// lookup, and the substring test runs in time proportional to it).
inline constexpr size_t kMaxSearchTextBytes = 1024;

// How long a log query may run whatever deadline its caller set, if any:
// past it, it stops with DEADLINE_EXCEEDED and frees its worker.
inline constexpr absl::Duration kMaxQueryTime = absl::Seconds(30);

// The limit a request's `requested` limit stands for.
absl::StatusOr<int32_t> EffectiveLimit(int32_t requested, int32_t default_limit,
                                       int32_t max_limit);

// QueryService on gRPC's callback API: each call the authorizer accepts is
// handed to the query workers, which apply the query policy (limits, metric
// names, search text), read from storage and finish the call; the gRPC
// thread returns at once. A full work queue answers RESOURCE_EXHAUSTED.
//
// Log queries may be slow (a search scans what the index does not cover):
// at most `max_concurrent_log_queries` run at once, more are answered
// RESOURCE_EXHAUSTED at once, so that with fewer of them than workers the
// other queries are answered meanwhile. Each stops once its caller cancels
// or its deadline passes (CANCELLED, DEADLINE_EXCEEDED), and after
// kMaxQueryTime on `clock` in any case; a server shutting down cancels them.
class QueryServiceImpl final
    : public eroom::monitor::v1::QueryService::CallbackService {
 public:
  // Hosts are reported down as `liveness` knows them.
  QueryServiceImpl(StorageReader& storage, WorkQueue& workers,
                   Authorizer& authorizer, const HostLiveness& liveness,
                   const Clock& clock, int max_concurrent_log_queries);

  // ListHosts with each host's `down` as the collector knows it.
  grpc::ServerUnaryReactor* ListHosts(
      grpc::CallbackServerContext* context,
      const eroom::monitor::v1::ListHostsRequest* request,
      eroom::monitor::v1::ListHostsResponse* response) override;
  grpc::ServerUnaryReactor* QueryLogs(
      grpc::CallbackServerContext* context,
      const eroom::monitor::v1::QueryLogsRequest* request,
      eroom::monitor::v1::QueryLogsResponse* response) override;
  // An empty name is InvalidArgument; an unknown one is not an error: the
  // response lists the known names (common/metric_catalog.h).
  grpc::ServerUnaryReactor* QueryMetrics(
      grpc::CallbackServerContext* context,
      const eroom::monitor::v1::QueryMetricsRequest* request,
      eroom::monitor::v1::QueryMetricsResponse* response) override;

 private:
  absl::StatusOr<eroom::monitor::v1::ListHostsResponse> Hosts(
      const eroom::monitor::v1::ListHostsRequest& request);
  absl::StatusOr<eroom::monitor::v1::QueryLogsResponse> Logs(
      eroom::monitor::v1::QueryLogsRequest request,
      grpc::CallbackServerContext& context);
  absl::StatusOr<eroom::monitor::v1::QueryMetricsResponse> Metrics(
      eroom::monitor::v1::QueryMetricsRequest request);

  StorageReader& storage_;
  WorkQueue& workers_;
  Authorizer& authorizer_;
  const HostLiveness& liveness_;
  const Clock& clock_;
  const int max_concurrent_log_queries_;
  std::atomic<int> log_queries_running_ = 0;
};

}  // namespace eroom::collector

#endif  // EROOM_COLLECTOR_QUERY_SERVICE_H_
