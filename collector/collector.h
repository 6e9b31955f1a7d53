#ifndef EROOM_COLLECTOR_COLLECTOR_H_
#define EROOM_COLLECTOR_COLLECTOR_H_

#include <atomic>
#include <memory>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "collector/agent_service.h"
#include "collector/agent_stream_registry.h"
#include "collector/alerting/alert_store.h"
#include "collector/alerting/alerting.h"
#include "collector/alerting/notification_dispatcher.h"
#include "collector/authorizer.h"
#include "collector/backup_schedule.h"
#include "collector/backup_stream.h"
#include "collector/collector_config.h"
#include "collector/command_service.h"
#include "collector/host_liveness.h"
#include "collector/ingest.h"
#include "collector/ingest_stats.h"
#include "collector/log_follow.h"
#include "collector/metrics_http.h"
#include "collector/query_service.h"
#include "collector/refusal_log.h"
#include "collector/retention.h"
#include "collector/room_metrics.h"
#include "collector/storage.h"
#include "collector/work_queue.h"
#include "common/clock.h"
#include "grpcpp/grpcpp.h"

namespace eroom::collector {

// eroom-collector assembled: storage, the ingest thread, host liveness,
// alerting (the rule thread and the notifier), query workers, the gRPC
// server (TLS and tokens as configured), a stats reporter thread and, if
// configured, a backup schedule thread.
// The file of the agents enrolled with an enrollment token
// (collector/auth_enrollments.h): "enrolled-agents" beside the database,
// so it is backed up and restored with it.
std::string EnrolledAgentsPath(const CollectorConfig& config);

class Collector {
 public:
  // Runs on the SQLite store at config.database_path.
  static absl::StatusOr<std::unique_ptr<Collector>> Start(
      const CollectorConfig& config, const Clock& clock);
  // Runs on `storage`, opened by the caller; config.database_path is only
  // named in messages, and its directory holds the agents enrolled with an
  // enrollment token (EnrolledAgentsPath).
  static absl::StatusOr<std::unique_ptr<Collector>> Start(
      const CollectorConfig& config, const Clock& clock,
      std::unique_ptr<Storage> storage);
  ~Collector();

  // The port actually bound (useful when the config asked for port 0).
  int port() const { return port_; }
  // The port /metrics is served on; 0 without `metrics_http:`.
  int metrics_port() const {
    return metrics_http_ == nullptr ? 0 : metrics_http_->port();
  }

  // Reads the alert rules again (SIGHUP); a file with a problem keeps the
  // rules in force, and the problems are logged.
  void ReloadRules();

  // Stops accepting, closes every stream, stores what was received, and
  // returns within a few seconds.
  void Stop();

 private:
  // What /metrics answers, read on a query worker so that a scrape waits
  // for no one else's work and no one waits for it; RenderMetricsNow() runs
  // there.
  absl::StatusOr<std::string> RenderMetricsOnWorker(
      std::map<int, uint64_t> refused);
  absl::StatusOr<std::string> RenderMetricsNow(std::map<int, uint64_t> refused);

  Collector(const CollectorConfig& config, const Clock& clock,
            std::unique_ptr<Storage> storage,
            std::unique_ptr<AgentEnrollments> enrollments,
            std::unique_ptr<alerting::AlertStore> alert_store,
            std::unique_ptr<alerting::NotificationDispatcher> notifier);

  const CollectorConfig config_;
  std::unique_ptr<Storage> storage_;
  IngestStats stats_;
  RoomMetrics room_metrics_;
  RetentionSweeper retention_;
  HostLiveness liveness_;
  std::unique_ptr<alerting::AlertStore> alert_store_;
  std::unique_ptr<alerting::NotificationDispatcher> notifier_;
  alerting::Alerting alerting_;
  LogFollowers followers_;
  IngestPipeline ingest_;
  WorkQueue queries_;
  // Backup copies and reads them back, one call at a time.
  WorkQueue backups_;
  std::atomic<bool> backup_running_ = false;
  RefusalLog refusals_;
  std::unique_ptr<AgentEnrollments> enrollments_;
  Authorizer authorizer_;
  Authorizer metrics_authorizer_;
  AgentStreamRegistry agent_streams_;
  AgentServiceImpl agent_service_;
  QueryServiceImpl query_service_;
  CommandServiceImpl command_service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::unique_ptr<MetricsHttpServer> metrics_http_;
  absl::Notification stop_reporting_;
  std::thread reporter_;
  std::unique_ptr<BackupSchedule> backup_schedule_;  // If config.backup.dir.
  std::thread backup_scheduler_;
  bool stopped_ = false;
};

}  // namespace eroom::collector

#endif  // EROOM_COLLECTOR_COLLECTOR_H_
