#include "collector/collector_config.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/config_reader.h"
#include "common/status_macros.h"

namespace eroom::collector {
namespace {

// Every problem of the file: its keys' and (from LoadRules) its rules'.
absl::Status AllProblems(const ConfigProblems& problems,
                         const absl::Status& rule_problems) {
  if (rule_problems.ok()) return problems.ToStatus();
  if (problems.empty()) return rule_problems;
  return absl::InvalidArgumentError(absl::StrCat(
      absl::StrJoin(problems.lines(), "\n"), "\n", rule_problems.message()));
}

// Each kind's age limit: at least an hour (rows are removed in batches
// every minute or so), at most ten years.
RetentionPolicy ParseRetention(ConfigMap& map) {
  const RetentionPolicy defaults;
  auto age = [&map](const std::string& key, absl::Duration fallback) {
    return map.Duration(key, fallback, absl::Hours(1),
                        absl::Hours(24 * 365 * 10));
  };
  RetentionPolicy policy{.logs = age("logs", defaults.logs),
                         .samples = age("samples", defaults.samples),
                         .rollups = age("rollups", defaults.rollups),
                         .probes = age("probes", defaults.probes),
                         .notices = age("notices", defaults.notices),
                         .commands = age("commands", defaults.commands),
                         .audit = age("audit", defaults.audit),
                         .alerts = age("alerts", defaults.alerts)};
  // Rollups answer for the points once those are gone, never the reverse.
  if (policy.rollups < policy.samples) {
    map.AddProblem("rollups",
                   absl::StrCat("must be at least samples (",
                                absl::FormatDuration(policy.samples), ")"));
  }
  return policy;
}

BackupScheduleConfig ParseBackup(ConfigMap& map) {
  const BackupScheduleConfig defaults;
  BackupScheduleConfig backup{
      .dir = map.String("dir", ""),
      .every = map.Duration("every", defaults.every, absl::Minutes(1),
                            absl::Hours(24 * 30)),
      .keep = static_cast<int>(map.Int("keep", defaults.keep, 1, 10000))};
  if (!backup.dir.empty() && !std::filesystem::path(backup.dir).is_absolute()) {
    map.AddProblem("dir", "must be an absolute path");
  }
  if (backup.dir.empty() && (map.Has("every") || map.Has("keep"))) {
    map.AddProblem("dir", "is needed for scheduled backups (every, keep)");
  }
  return backup;
}

}  // namespace

absl::StatusOr<CollectorConfig> LoadCollectorConfig(const std::string& path) {
  EROOM_ASSIGN_OR_RETURN(ConfigDocument doc, LoadConfigDocument(path));
  ConfigMap root(doc.root, "", doc.problems.get());
  CollectorConfig config;
  config.listen_address = root.String("listen", config.listen_address);
  config.log_level = root.Choice("log_level", "info",
                                 {"trace", "debug", "info", "warn", "error"});
  config.heartbeat_timeout = root.Duration(
      "heartbeat_timeout", absl::Seconds(30), absl::Seconds(1), absl::Hours(1));
  config.stats_interval = root.Duration("stats_interval", absl::Seconds(60),
                                        absl::Seconds(1), absl::Hours(24));

  ConfigMap storage = root.Map("storage");
  config.database_path = storage.String("path", config.database_path);
  if (config.database_path.empty())
    storage.AddProblem("path", "must not be empty");
  storage.Finish();

  ConfigMap retention = root.Map("retention");
  config.retention = ParseRetention(retention);
  retention.Finish();

  ConfigMap backup = root.Map("backup");
  config.backup = ParseBackup(backup);
  backup.Finish();

  ConfigMap ingest = root.Map("ingest");
  config.max_events_per_transaction = static_cast<size_t>(
      ingest.Int("max_events_per_transaction", 20000, 1, 1000000));
  config.max_batches_per_transaction = static_cast<size_t>(
      ingest.Int("max_batches_per_transaction", 256, 1, 100000));
  config.stream_window_batches =
      static_cast<size_t>(ingest.Int("stream_window_batches", 16, 1, 1024));
  config.max_message_bytes = static_cast<int>(ingest.Int(
      "max_message_bytes", 16 * 1024 * 1024, 64 * 1024, 256 * 1024 * 1024));
  config.batches_per_second = static_cast<size_t>(
      ingest.Int("batches_per_second", kDefaultBatchesPerSecond, 0, 1000000));
  config.commit_interval =
      ingest.Duration("commit_interval", kDefaultCommitInterval,
                      absl::ZeroDuration(), absl::Seconds(1));
  ingest.Finish();

  ConfigMap query = root.Map("query");
  config.query_threads = static_cast<int>(query.Int("threads", 2, 1, 64));
  config.query_queue_capacity =
      static_cast<size_t>(query.Int("queue_capacity", 256, 1, 100000));
  query.Finish();

  ConfigMap notifications = root.Map("notifications");
  config.notifications = alerting::ParseNotificationConfig(
      notifications, std::filesystem::path(path).parent_path().string());
  notifications.Finish();

  ConfigMap tls = root.Map("tls");
  config.security = ParseServerSecurity(tls, config.listen_address);
  tls.Finish();

  if (root.Has("metrics_http")) {
    ConfigMap metrics_http = root.Map("metrics_http");
    config.metrics_http = ParseMetricsHttpConfig(metrics_http, config.security);
    metrics_http.Finish();
  }

  ConfigMap auth = root.Map("auth");
  config.auth = ParseAuthConfig(auth, config.listen_address);
  auth.Finish();

  config.rule_sources = alerting::ReadRuleSources(root, path);
  absl::StatusOr<alerting::RuleSet> rules =
      alerting::LoadRules(config.rule_sources);

  root.Finish();
  EROOM_RETURN_IF_ERROR(AllProblems(*doc.problems, rules.status()));
  config.rules = *std::move(rules);
  return config;
}

absl::StatusOr<alerting::RuleSet> LoadCollectorRules(const std::string& path) {
  EROOM_ASSIGN_OR_RETURN(ConfigDocument doc, LoadConfigDocument(path));
  ConfigMap root(doc.root, "", doc.problems.get());
  absl::StatusOr<alerting::RuleSet> rules =
      alerting::LoadRules(alerting::ReadRuleSources(root, path));
  EROOM_RETURN_IF_ERROR(AllProblems(*doc.problems, rules.status()));
  return rules;
}

}  // namespace eroom::collector
