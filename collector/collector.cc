#include "collector/collector.h"

#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <future>
#include <utility>

#include "absl/strings/str_cat.h"
#include "collector/metrics_exporter.h"
#include "collector/sqlite/alert_store.h"
#include "collector/sqlite/online_backup.h"
#include "collector/sqlite/search_index.h"
#include "collector/sqlite/sqlite_storage.h"
#include "common/logging.h"
#include "spdlog/spdlog.h"

namespace eroom::collector {
namespace {

// A client retrying with a bad token is logged about once a minute.
constexpr absl::Duration kRefusalQuietPeriod = absl::Minutes(1);

// The longest a scrape waits for a query worker to read what it exports.
constexpr std::chrono::seconds kMetricsRenderTimeout(10);

// How often host liveness is decided and published: how late a host-down
// change may come after the heartbeat timeout.
constexpr absl::Duration kLivenessTickInterval = absl::Seconds(1);

// How often the backup schedule looks at the clock: a clock set forward
// brings a due copy at most this late.
constexpr absl::Duration kBackupCheckInterval = absl::Minutes(1);

std::string DescribeTransport(const ServerSecurity& security) {
  if (security.insecure) return "PLAINTEXT";
  if (security.client_ca_pem.empty()) return "TLS";
  return security.require_client_cert ? "mutual TLS"
                                      : "TLS, client certificates verified";
}

std::string DescribeAuth(const AuthConfig& auth) {
  if (!auth.tokens_required) return "NO token check";
  return absl::StrCat(auth.agents.size(), " agent and ", auth.users.size(),
                      " user tokens");
}

}  // namespace

std::string EnrolledAgentsPath(const CollectorConfig& config) {
  return (std::filesystem::path(config.database_path).parent_path() /
          "enrolled-agents")
      .string();
}

Collector::Collector(const CollectorConfig& config, const Clock& clock,
                     std::unique_ptr<Storage> storage,
                     std::unique_ptr<AgentEnrollments> enrollments,
                     std::unique_ptr<alerting::AlertStore> alert_store,
                     std::unique_ptr<alerting::NotificationDispatcher> notifier)
    : config_(config),
      storage_(std::move(storage)),
      retention_(*storage_, clock,
                 RetentionSweeper::Options{.policy = config.retention}),
      liveness_(clock, config.heartbeat_timeout),
      alert_store_(std::move(alert_store)),
      notifier_(std::move(notifier)),
      alerting_(config.rules, *alert_store_, *notifier_, clock,
                alerting::Alerting::Options{}),
      followers_(
          *storage_,
          [this](std::function<void()> work) {
            return queries_.TrySubmit(std::move(work));
          },
          kMaxLogFollows),
      ingest_(
          *storage_, clock,
          IngestPipeline::Options{
              .queue_capacity = 4096,
              .max_events_per_transaction = config.max_events_per_transaction,
              .max_batches_per_transaction = config.max_batches_per_transaction,
              .retention = &retention_,
              .batches_per_second = config.batches_per_second,
              .commit_interval = config.commit_interval},
          {&stats_, &liveness_, &command_service_, &alerting_, &room_metrics_,
           &followers_}),
      queries_("query", config.query_threads, config.query_queue_capacity),
      backups_("backup", 1, 4),
      refusals_(clock, kRefusalQuietPeriod,
                [](const std::string& line) { spdlog::warn("{}", line); }),
      enrollments_(std::move(enrollments)),
      authorizer_(config.auth, CollectorMethodAccess(), refusals_,
                  *enrollments_),
      metrics_authorizer_(config.auth, MetricsScrapeAccess(), refusals_,
                          *enrollments_),
      agent_streams_(
          [this](const std::string& agent_id, const std::string& command_id) {
            command_service_.OnStreamEnded(agent_id, command_id);
          }),
      agent_service_(ingest_, config.stream_window_batches, authorizer_,
                     agent_streams_),
      // A worker stays free for the quick queries while log queries run.
      query_service_(*storage_, queries_, authorizer_, liveness_, clock,
                     std::max(1, config.query_threads - 1), &alerting_,
                     &followers_),
      command_service_(ingest_, *storage_, queries_, authorizer_, clock,
                       agent_streams_,
                       BackupSource{.database_path = config.database_path,
                                    .copy_dir = "",
                                    .workers = &backups_,
                                    .busy = &backup_running_}) {}

namespace {

// Every agent holds a connection open; the usual soft limit of 1024 files
// would refuse a fleet. The hard limit is the administrator's word.
void RaiseOpenFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 ||
      limit.rlim_cur >= limit.rlim_max) {
    return;
  }
  limit.rlim_cur = limit.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0) {
    spdlog::warn("cannot raise the open file limit: {}", std::strerror(errno));
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<Collector>> Collector::Start(
    const CollectorConfig& config, const Clock& clock) {
  absl::StatusOr<std::unique_ptr<Storage>> storage =
      OpenSqliteStorage(SqliteOptions{.path = config.database_path});
  if (!storage.ok()) return storage.status();
  return Start(config, clock, *std::move(storage));
}

absl::StatusOr<std::unique_ptr<Collector>> Collector::Start(
    const CollectorConfig& config, const Clock& clock,
    std::unique_ptr<Storage> storage) {
  RaiseOpenFileLimit();
  absl::StatusOr<std::unique_ptr<AgentEnrollments>> enrollments =
      AgentEnrollments::Open(EnrolledAgentsPath(config));
  if (!enrollments.ok()) return enrollments.status();
  absl::StatusOr<std::unique_ptr<SqliteAlertStore>> alert_store =
      SqliteAlertStore::Open(
          SqliteAlertStoreOptions{.path = config.database_path,
                                  .retention = config.retention.alerts},
          clock);
  if (!alert_store.ok()) return alert_store.status();
  absl::StatusOr<std::unique_ptr<alerting::NotificationDispatcher>> notifier =
      alerting::NotificationDispatcher::Create(config.notifications,
                                               **alert_store, clock);
  if (!notifier.ok()) return notifier.status();
  std::unique_ptr<Collector> collector(
      new Collector(config, clock, std::move(storage), *std::move(enrollments),
                    *std::move(alert_store), *std::move(notifier)));
  collector->notifier_->Start();
  if (absl::Status alerting = collector->alerting_.Start(); !alerting.ok()) {
    collector->notifier_->Stop();
    return alerting;
  }
  spdlog::info("alerting: {} rules", config.rules.rules.size());
  collector->ingest_.Start();
  // Before any agent connects: whatever ran before this start is over.
  if (absl::Status ended =
          collector->command_service_.EndCommandsLeftByARestart();
      !ended.ok()) {
    spdlog::error("ending the commands left by the last run failed: {}",
                  ended.ToString());
  }
  collector->liveness_.Start(kLivenessTickInterval);

  grpc::ServerBuilder builder;
  builder.AddListeningPort(config.listen_address,
                           MakeServerCredentials(config.security),
                           &collector->port_);
  builder.RegisterService(&collector->agent_service_);
  builder.RegisterService(&collector->query_service_);
  builder.RegisterService(&collector->command_service_);
  builder.SetMaxReceiveMessageSize(config.max_message_bytes);
  // gRPC sets SO_REUSEPORT by default: a second collector started on the
  // same port would bind it too and take part of the agents into its own
  // database. Without it, the second one fails to start.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // Agents send keepalive pings on idle streams; allow them.
  builder.AddChannelArgument(
      GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  // Probing each connection's bandwidth-delay product sends a ping after
  // received data and keeps a timer per connection: at 3,000 agents, each
  // sending a batch a second, gRPC's timer thread took 5-6 % of a core and
  // its other threads about 3 % more. Without it each stream keeps HTTP/2's
  // 64 KiB window: an agent's batches are a few KiB, and a backlog sent over
  // a 100 ms link still moves at 640 KiB a second, compressed.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  collector->server_ = builder.BuildAndStart();
  if (collector->server_ == nullptr || collector->port_ == 0) {
    collector->liveness_.Stop();
    collector->ingest_.Stop();
    collector->alerting_.Stop();
    collector->notifier_->Stop();
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", config.listen_address,
                     " (address in use or not local?)"));
  }
  spdlog::info(
      "eroom-collector {} listening on {} (port {}, {}, {}), database {}",
      EROOM_VERSION, config.listen_address, collector->port_,
      DescribeTransport(config.security), DescribeAuth(config.auth),
      config.database_path);

  Collector* self = collector.get();
  if (config.metrics_http.enabled) {
    absl::StatusOr<std::unique_ptr<MetricsHttpServer>> metrics =
        MetricsHttpServer::Start(
            config.metrics_http, config.security,
            collector->metrics_authorizer_,
            [self](const std::map<int, uint64_t>& refused) {
              return self->RenderMetricsOnWorker(refused);
            });
    if (!metrics.ok()) {
      collector->Stop();
      return metrics.status();
    }
    collector->metrics_http_ = *std::move(metrics);
    spdlog::info("/metrics on {} (port {}, {})", config.metrics_http.listen,
                 collector->metrics_http_->port(),
                 config.security.insecure ? "PLAINTEXT" : "TLS");
  }
  RemoveTemporaryCopies(config.database_path, /*dir=*/"");
  if (!config.backup.dir.empty()) {
    collector->backup_schedule_ = std::make_unique<BackupSchedule>(
        config.backup, clock, [self](const std::string& path) {
          return CopyDatabaseOnline(
              self->config_.database_path, path,
              OnlineCopyOptions{.keep_going = [self] {
                return !self->stop_reporting_.HasBeenNotified();
              }});
        });
    collector->backup_scheduler_ = std::thread([self, &clock] {
      SetThreadName("backup");
      while (true) {
        const absl::Time next = self->backup_schedule_->RunDue();
        if (self->stop_reporting_.WaitForNotificationWithTimeout(
                std::min(next - clock.Now(), kBackupCheckInterval))) {
          return;
        }
      }
    });
  }
  collector->reporter_ = std::thread([self] {
    SetThreadName("stats");
    IngestStats::Counts before = self->stats_.counts();
    RetentionCounts removed_before = self->retention_.removed();
    while (!self->stop_reporting_.WaitForNotificationWithTimeout(
        self->config_.stats_interval)) {
      IngestStats::Counts now = self->stats_.counts();
      if (now.batches != before.batches) {
        spdlog::info("stored in the last {}: {}",
                     absl::FormatDuration(self->config_.stats_interval),
                     IngestStats::Describe(now, before));
      }
      before = now;
      RetentionCounts removed_now = self->retention_.removed();
      if (removed_now.total() != removed_before.total()) {
        spdlog::info("removed by retention in the last {}: {}",
                     absl::FormatDuration(self->config_.stats_interval),
                     removed_now.Since(removed_before).Describe());
      }
      removed_before = removed_now;
    }
  });
  return collector;
}

Collector::~Collector() { Stop(); }

absl::StatusOr<std::string> Collector::RenderMetricsOnWorker(
    std::map<int, uint64_t> refused) {
  auto rendered = std::make_shared<std::promise<absl::StatusOr<std::string>>>();
  std::future<absl::StatusOr<std::string>> result = rendered->get_future();
  if (!queries_.TrySubmit(
          [this, rendered, refused = std::move(refused)]() mutable {
            rendered->set_value(RenderMetricsNow(std::move(refused)));
          })) {
    return absl::UnavailableError("the query workers are busy; retry");
  }
  if (result.wait_for(kMetricsRenderTimeout) != std::future_status::ready) {
    return absl::DeadlineExceededError(
        "the query workers did not get to /metrics in time; retry");
  }
  return result.get();
}

absl::StatusOr<std::string> Collector::RenderMetricsNow(
    std::map<int, uint64_t> refused) {
  MetricsSnapshot snapshot;
  absl::StatusOr<monitor::v1::ListHostsResponse> hosts =
      query_service_.Hosts({});
  if (!hosts.ok()) return hosts.status();
  snapshot.hosts = *std::move(hosts);
  snapshot.rooms = room_metrics_.Snapshot();
  CollectorHealth& health = snapshot.health;
  health.stored = stats_.counts();
  health.ingest_queue_depth = ingest_.queue_depth();
  health.ingest_waiting_streams = ingest_.waiting_for_room();
  health.query_queue_depth = queries_.queued();
  health.alert_queue_depth = alerting_.queue_depth();
  health.alert_evaluation_dropped = alerting_.dropped();
  if (absl::StatusOr<SearchIndexProgress> index =
          ReadSearchIndexProgress(config_.database_path);
      index.ok()) {
    health.search_index_lag_events =
        std::max<int64_t>(0, index->newest_event - index->indexed_through);
  }
  for (const auto& [file, path] :
       {std::pair{"database", config_.database_path},
        std::pair{"wal", absl::StrCat(config_.database_path, "-wal")},
        std::pair{"search_index", SearchIndexPath(config_.database_path)}}) {
    std::error_code error;
    const uintmax_t bytes = std::filesystem::file_size(path, error);
    if (!error) health.file_bytes[file] = bytes;
  }
  health.refused_by_status = std::move(refused);
  return RenderMetrics(snapshot);
}

void Collector::ReloadRules() {
  absl::StatusOr<alerting::RuleSet> rules =
      LoadCollectorRules(config_.rule_sources.config_file);
  if (!rules.ok()) {
    spdlog::error("SIGHUP: the alert rules in force stay, because:\n{}",
                  std::string(rules.status().message()));
    return;
  }
  spdlog::info("SIGHUP: {} alert rules read", rules->rules.size());
  alerting_.Reload(*std::move(rules));
}

void Collector::Stop() {
  if (stopped_) return;
  stopped_ = true;
  query_service_.StopQueries();
  // Before the query workers, which its scrapes wait for.
  if (metrics_http_ != nullptr) metrics_http_->Stop();
  // Follows never end on their own: they end now (clients resume) rather
  // than hold the shutdown below until its deadline.
  followers_.Stop();
  if (server_ != nullptr) {
    // Streams get two seconds to finish, then are cancelled; whatever they
    // delivered is already queued for ingest and is stored below.
    server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
  }
  ingest_.Stop();
  // After ingest: what it stored last is evaluated, and what that changed
  // is handed to the notifier before it stops.
  alerting_.Stop();
  notifier_->Stop();
  liveness_.Stop();
  queries_.Stop();
  stop_reporting_.Notify();
  if (reporter_.joinable()) reporter_.join();
  if (backup_scheduler_.joinable()) backup_scheduler_.join();
  backups_.Stop();
  spdlog::info("stopped");
}

}  // namespace eroom::collector
