#ifndef EROOM_COLLECTOR_QUERY_SERVICE_H_
#define EROOM_COLLECTOR_QUERY_SERVICE_H_

#include <atomic>
#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "collector/alerting/alert_admin.h"
#include "collector/authorizer.h"
#include "collector/host_liveness.h"
#include "collector/log_follow.h"
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
// The shortest step of an aggregated metric query (QueryMetricsRequest
// step_ms): samples come every few seconds.
inline constexpr int64_t kMinMetricStepMs = 1000;

// The longest search text (QueryLogsRequest.contains), in bytes: longer
// than any line an operator types or pastes, and short enough that no search
// costs much more than a scan (each of its trigrams is one more index
// lookup, and the substring test runs in time proportional to it).
inline constexpr size_t kMaxSearchTextBytes = 1024;

// The longest regex (QueryLogsRequest.regex), in bytes, like a search
// text: RE2 compiles it in time and memory proportional to its length.
inline constexpr size_t kMaxLogRegexBytes = 1024;

// The most context events (QueryLogsRequest.context) on each side of a
// match: more is capped to it. Each match then costs two short reads, and
// a page of matches with their context stays readable.
inline constexpr int kMaxLogContext = 20;

// How long a log query may run whatever deadline its caller set, if any:
// past it, it stops with DEADLINE_EXCEEDED and frees its worker.
inline constexpr absl::Duration kMaxQueryTime = absl::Seconds(30);

// Alert requests: history limits as for logs; a comment (acknowledgement,
// silence) is required and at most kMaxCommentBytes; a silence has 1 to
// kMaxSilenceMatchers matchers of at most kMaxMatcherBytes each and lasts
// at most kMaxSilenceDuration.
inline constexpr int kDefaultAlertHistoryLimit = 100;
inline constexpr int kMaxAlertHistoryLimit = 10000;
inline constexpr size_t kMaxCommentBytes = 1024;
inline constexpr int kMaxSilenceMatchers = 16;
inline constexpr size_t kMaxMatcherBytes = 1024;
inline constexpr absl::Duration kMaxSilenceDuration = absl::Hours(24 * 365);

// Rooms listed (ListRoomsRequest.limit) as for logs; a room's log events
// (GetRoom) at most kMaxLogLimit; a ruid at most kMaxRuidBytes.
inline constexpr int kDefaultRoomLimit = 100;
inline constexpr int kMaxRoomLimit = 10000;
inline constexpr size_t kMaxRuidBytes = 256;
// The alert changes the daily report reads, newest first from the day's
// start: more than a day of any fleet's changes.
inline constexpr int kReportAlertChangeLimit = 100000;

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
//
// FollowLogs streams are `followers`' (collector/log_follow.h): the
// request is checked like a log query's, then the stream is written as its
// follower reads, never blocking a gRPC thread; a client that cancels ends
// it. Without `followers` FollowLogs is UNIMPLEMENTED.
//
// The alert calls are answered by `alerts` on the query workers; without it
// (alerting off) they fail with FAILED_PRECONDITION saying so, and hosts
// are listed without alerts. Acknowledgements, silences and their expiry
// are recorded as the caller's token name.
class QueryServiceImpl final
    : public eroom::monitor::v1::QueryService::CallbackService {
 public:
  // Hosts are reported down as `liveness` knows them. `alerts` and
  // `followers` may be null.
  QueryServiceImpl(StorageReader& storage, WorkQueue& workers,
                   Authorizer& authorizer, const HostLiveness& liveness,
                   const Clock& clock, int max_concurrent_log_queries,
                   alerting::AlertAdmin* alerts,
                   LogFollowers* followers = nullptr);

  // Log queries running or yet to run stop at their next check with
  // UNAVAILABLE: the collector is stopping, and its streams' grace period
  // is for the agents, not for searches.
  void StopQueries() { stopping_ = true; }

  // ListHosts' answer, on the calling thread (a query worker): also what
  // /metrics exports of each host.
  absl::StatusOr<eroom::monitor::v1::ListHostsResponse> Hosts(
      const eroom::monitor::v1::ListHostsRequest& request);

  // ListHosts with each host's `down` as the collector knows it, and its
  // firing alerts.
  grpc::ServerUnaryReactor* ListHosts(
      grpc::CallbackServerContext* context,
      const eroom::monitor::v1::ListHostsRequest* request,
      eroom::monitor::v1::ListHostsResponse* response) override;
  grpc::ServerUnaryReactor* QueryLogs(
      grpc::CallbackServerContext* context,
      const eroom::monitor::v1::QueryLogsRequest* request,
      eroom::monitor::v1::QueryLogsResponse* response) override;
  grpc::ServerWriteReactor<eroom::monitor::v1::FollowLogsResponse>* FollowLogs(
      grpc::CallbackServerContext* context,
      const eroom::monitor::v1::FollowLogsRequest* request) override;
  // An empty name is InvalidArgument; an unknown one is not an error: the
  // response lists the known names (common/metric_catalog.h).
  grpc::ServerUnaryReactor* QueryMetrics(
      grpc::CallbackServerContext* context,
      const eroom::monitor::v1::QueryMetricsRequest* request,
      eroom::monitor::v1::QueryMetricsResponse* response) override;

  // Rooms newest first; running and queued ones slow as of now.
  grpc::ServerUnaryReactor* ListRooms(
      grpc::CallbackServerContext* context,
      const eroom::monitor::v1::ListRoomsRequest* request,
      eroom::monitor::v1::ListRoomsResponse* response) override;
  grpc::ServerUnaryReactor* GetRoom(
      grpc::CallbackServerContext* context,
      const eroom::monitor::v1::GetRoomRequest* request,
      eroom::monitor::v1::GetRoomResponse* response) override;
  // collector/daily_report.h; alerts fired are 0 without alerting.
  grpc::ServerUnaryReactor* DailyReport(
      grpc::CallbackServerContext* context,
      const eroom::monitor::v1::DailyReportRequest* request,
      eroom::monitor::v1::DailyReportResponse* response) override;

  grpc::ServerUnaryReactor* ListAlerts(
      grpc::CallbackServerContext* context,
      const eroom::monitor::v1::ListAlertsRequest* request,
      eroom::monitor::v1::ListAlertsResponse* response) override;
  grpc::ServerUnaryReactor* AcknowledgeAlert(
      grpc::CallbackServerContext* context,
      const eroom::monitor::v1::AcknowledgeAlertRequest* request,
      eroom::monitor::v1::AcknowledgeAlertResponse* response) override;
  grpc::ServerUnaryReactor* AddSilence(
      grpc::CallbackServerContext* context,
      const eroom::monitor::v1::AddSilenceRequest* request,
      eroom::monitor::v1::SilenceRecord* response) override;
  grpc::ServerUnaryReactor* ListSilences(
      grpc::CallbackServerContext* context,
      const eroom::monitor::v1::ListSilencesRequest* request,
      eroom::monitor::v1::ListSilencesResponse* response) override;
  grpc::ServerUnaryReactor* ExpireSilence(
      grpc::CallbackServerContext* context,
      const eroom::monitor::v1::ExpireSilenceRequest* request,
      eroom::monitor::v1::ExpireSilenceResponse* response) override;
  grpc::ServerUnaryReactor* ListRules(
      grpc::CallbackServerContext* context,
      const eroom::monitor::v1::ListRulesRequest* request,
      eroom::monitor::v1::ListRulesResponse* response) override;

 private:
  absl::StatusOr<eroom::monitor::v1::QueryLogsResponse> Logs(
      eroom::monitor::v1::QueryLogsRequest request,
      grpc::CallbackServerContext& context);
  absl::StatusOr<eroom::monitor::v1::QueryMetricsResponse> Metrics(
      eroom::monitor::v1::QueryMetricsRequest request);
  absl::StatusOr<eroom::monitor::v1::ListRoomsResponse> Rooms(
      eroom::monitor::v1::ListRoomsRequest request);
  absl::StatusOr<eroom::monitor::v1::GetRoomResponse> Room(
      const eroom::monitor::v1::GetRoomRequest& request);
  absl::StatusOr<eroom::monitor::v1::DailyReportResponse> Report(
      const eroom::monitor::v1::DailyReportRequest& request);
  // The alerting admin, or FailedPrecondition without one.
  absl::StatusOr<alerting::AlertAdmin*> Alerting() const;
  absl::StatusOr<eroom::monitor::v1::ListAlertsResponse> Alerts(
      const eroom::monitor::v1::ListAlertsRequest& request);
  absl::StatusOr<eroom::monitor::v1::AcknowledgeAlertResponse> Acknowledge(
      const eroom::monitor::v1::AcknowledgeAlertRequest& request,
      const Caller& caller);
  absl::StatusOr<eroom::monitor::v1::SilenceRecord> Silence(
      const eroom::monitor::v1::AddSilenceRequest& request,
      const Caller& caller);
  absl::StatusOr<eroom::monitor::v1::ListSilencesResponse> Silences(
      const eroom::monitor::v1::ListSilencesRequest& request);
  absl::StatusOr<eroom::monitor::v1::ExpireSilenceResponse> Expire(
      const eroom::monitor::v1::ExpireSilenceRequest& request,
      const Caller& caller);
  absl::StatusOr<eroom::monitor::v1::ListRulesResponse> Rules();

  StorageReader& storage_;
  WorkQueue& workers_;
  Authorizer& authorizer_;
  const HostLiveness& liveness_;
  const Clock& clock_;
  const int max_concurrent_log_queries_;
  alerting::AlertAdmin* const alerts_;  // Null: alerting is off.
  LogFollowers* const followers_;       // Null: no follows.
  std::atomic<int> log_queries_running_ = 0;
  std::atomic<bool> stopping_ = false;
};

}  // namespace eroom::collector

#endif  // EROOM_COLLECTOR_QUERY_SERVICE_H_
