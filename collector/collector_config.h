#ifndef EROOM_COLLECTOR_COLLECTOR_CONFIG_H_
#define EROOM_COLLECTOR_COLLECTOR_CONFIG_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "collector/alerting/alert_rule.h"
#include "collector/alerting/notification_config.h"
#include "collector/alerting/rule_config.h"
#include "collector/auth_config.h"
#include "collector/backup_schedule.h"
#include "collector/metrics_http.h"
#include "collector/retention_policy.h"
#include "common/transport_security.h"

namespace eroom::collector {

// What one collector on 2 cores stores with room to spare: each batch costs
// far more than its events (README.md, "Capacity"), and at 3,000 agents this
// asks each for a batch every 2 s. At a batch a second the single writer was
// busy all the time there, and its acks queued behind it.
inline constexpr size_t kDefaultBatchesPerSecond = 1500;
inline constexpr absl::Duration kDefaultCommitInterval = absl::Milliseconds(20);

// Everything eroom-collector needs, read from one YAML file (see
// deploy/collector.example.yaml for every key and its default).
struct CollectorConfig {
  std::string listen_address = "127.0.0.1:7443";
  std::string database_path = "/var/lib/eroom-collector/eroom.db";
  std::string log_level = "info";
  // Upper bound of events written in one SQLite transaction.
  size_t max_events_per_transaction = 20000;
  // ... and of agents' batches (IngestPipeline::Options).
  size_t max_batches_per_transaction = 256;
  // Batches one agent may have in flight before its stream stops reading:
  // per-agent flow control, so no agent can grow the ingest queue unbounded.
  size_t stream_window_batches = 16;
  // Query worker threads and how many queries may wait for one.
  int query_threads = 2;
  size_t query_queue_capacity = 256;
  // Largest message an agent or CLI may send.
  int max_message_bytes = 16 * 1024 * 1024;
  // Batches per second the connected agents share (IngestPipeline::Options);
  // 0: agents send as soon as they have events.
  size_t batches_per_second = kDefaultBatchesPerSecond;
  // While batches keep coming, the ingest thread commits at most this often
  // (IngestPipeline::Options).
  absl::Duration commit_interval = kDefaultCommitInterval;
  absl::Duration stats_interval = absl::Seconds(60);
  // A connected host that sent nothing for this long is reported down.
  absl::Duration heartbeat_timeout = absl::Seconds(30);
  // `retention:`: how long each kind of stored data is kept.
  RetentionPolicy retention;
  // `backup:`: scheduled copies of the database (none without a dir).
  BackupScheduleConfig backup;
  // `notifications:`: where alerts are sent, and when.
  alerting::NotificationConfig notifications;
  // `tls:`: TLS unless plaintext is asked for (and then loopback only).
  ServerSecurity security;
  // `auth:`: the token digests of agents and users.
  AuthConfig auth;
  // `metrics_http:`: /metrics for Prometheus; off unless configured.
  MetricsHttpConfig metrics_http;
  // `rules:`, `rules_files:` and `extra_event_types:`: where the alert rules
  // come from, and the rules as read at start.
  alerting::RuleSources rule_sources;
  alerting::RuleSet rules;
};

// Loads and validates the file strictly: unknown keys and bad values are
// InvalidArgument errors listing "FILE: KEY: PROBLEM" for every problem.
absl::StatusOr<CollectorConfig> LoadCollectorConfig(const std::string& path);

// What a SIGHUP reloads: the rule keys of the config file at `path` read
// again (`rules:`, `rules_files:`, `extra_event_types:`) and the rules files
// they name; the file's other keys are not looked at. InvalidArgument
// listing every problem, as LoadCollectorConfig() does for them.
absl::StatusOr<alerting::RuleSet> LoadCollectorRules(const std::string& path);

}  // namespace eroom::collector

#endif  // EROOM_COLLECTOR_COLLECTOR_CONFIG_H_
