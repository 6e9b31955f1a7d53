#include "collector/collector_config.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/test_support/status_matchers.h"
#include "tests/unit/test_support/temp_dir.h"

namespace eroom::collector {
namespace {

using ::eroom::test_support::IsOk;
using ::eroom::test_support::StatusIs;
using ::eroom::test_support::TempDirTest;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class CollectorConfigTest : public TempDirTest {
 protected:
  std::string Write(const std::string& name, const std::string& yaml) {
    std::string path = PathIn(name);
    std::filesystem::create_directories(
        std::filesystem::path(path).parent_path());
    std::ofstream(path) << yaml;
    return path;
  }
};

constexpr char kPlaintextLoopback[] =
    "tls: {mode: insecure}\nauth: {mode: none}\n";

TEST_F(CollectorConfigTest, EmptyFileIsRefusedForWantOfTlsAndTokens) {
  std::string path = Write("empty.yaml", "");
  absl::StatusOr<CollectorConfig> config = LoadCollectorConfig(path);
  ASSERT_THAT(config, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(config.status().message(),
              HasSubstr(path + ": tls.cert: required"));
  EXPECT_THAT(config.status().message(),
              HasSubstr(path + ": auth.mode: tokens (the default) needs"));
}

TEST_F(CollectorConfigTest, PlaintextLoopbackWithoutTokensGivesDefaults) {
  absl::StatusOr<CollectorConfig> config =
      LoadCollectorConfig(Write("plain.yaml", kPlaintextLoopback));
  ASSERT_THAT(config, IsOk());
  EXPECT_EQ(config->listen_address, "127.0.0.1:7443");
  EXPECT_EQ(config->stream_window_batches, 16u);
  EXPECT_EQ(config->batches_per_second, 1500u);
  EXPECT_TRUE(config->security.insecure);
  EXPECT_FALSE(config->auth.tokens_required);
}

TEST_F(CollectorConfigTest, ReadsEveryKey) {
  const std::string certs = PathIn("certs");
  ASSERT_EQ(std::system((std::string(EROOM_SOURCE_DIR) +
                         "/deploy/make-dev-certs.sh " + certs + " >/dev/null")
                            .c_str()),
            0);
  const std::string digest(64, 'a');
  absl::StatusOr<CollectorConfig> config = LoadCollectorConfig(
      Write("full.yaml",
            "listen: 0.0.0.0:9000\nlog_level: debug\nstats_interval: 5s\n"
            "storage:\n  path: /data/e.db\n"
            "ingest:\n  max_events_per_transaction: 100\n"
            "  max_batches_per_transaction: 7\n"
            "  stream_window_batches: 3\n  max_message_bytes: 1048576\n"
            "  commit_interval: 50ms\n"
            "query:\n  threads: 4\n  queue_capacity: 9\n"
            "tls:\n  cert: " +
                certs + "/collector.crt\n  key: " + certs +
                "/collector.key\n  client_ca: " + certs +
                "/ca.crt\n  require_client_cert: false\n"
                "auth:\n  agents:\n    - {enrollment: true, token_sha256: " +
                digest + "}\n"));
  ASSERT_THAT(config, IsOk());
  EXPECT_EQ(config->listen_address, "0.0.0.0:9000");
  EXPECT_EQ(config->database_path, "/data/e.db");
  EXPECT_EQ(config->max_events_per_transaction, 100u);
  EXPECT_EQ(config->max_batches_per_transaction, 7u);
  EXPECT_EQ(config->stream_window_batches, 3u);
  EXPECT_EQ(config->commit_interval, absl::Milliseconds(50));
  EXPECT_EQ(config->query_threads, 4);
  EXPECT_EQ(config->stats_interval, absl::Seconds(5));
  EXPECT_FALSE(config->security.insecure);
  EXPECT_FALSE(config->security.client_ca_pem.empty());
  EXPECT_FALSE(config->security.require_client_cert);
  ASSERT_EQ(config->auth.agents.size(), 1u);
  EXPECT_EQ(config->auth.agents[0].token_sha256, digest);
}

TEST_F(CollectorConfigTest, ProblemsNameFileAndKey) {
  std::string path = Write("bad.yaml",
                           "ingest:\n  stream_window_batches: 0\n"
                           "query:\n  thread: 2\n" +
                               std::string(kPlaintextLoopback));
  absl::StatusOr<CollectorConfig> config = LoadCollectorConfig(path);
  ASSERT_THAT(config, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(
      config.status().message(),
      HasSubstr(path + ": ingest.stream_window_batches: 0 is out of range"));
  EXPECT_THAT(config.status().message(),
              HasSubstr(path + ": query.thread: unknown key"));
}

TEST_F(CollectorConfigTest, RetentionDefaultsPerKind) {
  absl::StatusOr<CollectorConfig> config =
      LoadCollectorConfig(Write("plain.yaml", kPlaintextLoopback));
  ASSERT_THAT(config, IsOk());
  const absl::Duration day = absl::Hours(24);
  EXPECT_EQ(config->retention.logs, 30 * day);
  EXPECT_EQ(config->retention.samples, 7 * day);
  EXPECT_EQ(config->retention.rollups, 90 * day);
  EXPECT_EQ(config->retention.probes, 7 * day);
  EXPECT_EQ(config->retention.notices, 30 * day);
  EXPECT_EQ(config->retention.commands, 365 * day);
  EXPECT_EQ(config->retention.audit, 365 * day);
  EXPECT_EQ(config->retention.alerts, 365 * day);
}

TEST_F(CollectorConfigTest, RetentionOverridesKeepTheOtherDefaults) {
  absl::StatusOr<CollectorConfig> config =
      LoadCollectorConfig(Write("retention.yaml",
                                "retention:\n  logs: 14d\n  samples: 36h\n"
                                "  alerts: 90d\n" +
                                    std::string(kPlaintextLoopback)));
  ASSERT_THAT(config, IsOk());
  EXPECT_EQ(config->retention.logs, absl::Hours(24 * 14));
  EXPECT_EQ(config->retention.samples, absl::Hours(36));
  EXPECT_EQ(config->retention.alerts, absl::Hours(24 * 90));
  EXPECT_EQ(config->retention.probes, absl::Hours(24 * 7));
  EXPECT_EQ(config->retention.audit, absl::Hours(24 * 365));
}

TEST_F(CollectorConfigTest, BadRetentionNamesFileKeyAndProblem) {
  std::string path = Write("bad.yaml",
                           "retention:\n  logs: forever\n  samples: 10m\n"
                           "  audit: 4000d\n  metrics: 7d\n" +
                               std::string(kPlaintextLoopback));
  absl::StatusOr<CollectorConfig> config = LoadCollectorConfig(path);
  ASSERT_THAT(config, StatusIs(absl::StatusCode::kInvalidArgument));
  const std::string message(config.status().message());
  EXPECT_THAT(message,
              HasSubstr(path + ": retention.logs: expected a duration"
                               " like 5s, 250ms or 7d, got 'forever'"));
  EXPECT_THAT(message,
              HasSubstr(path + ": retention.samples: 10m is out of range"));
  EXPECT_THAT(message,
              HasSubstr(path + ": retention.audit: 96000h is out of range"));
  EXPECT_THAT(message, HasSubstr(path + ": retention.metrics: unknown key"));
}

TEST_F(CollectorConfigTest, RollupsMayNotGoBeforeTheirPoints) {
  std::string path =
      Write("rollups.yaml", "retention:\n  samples: 14d\n  rollups: 7d\n" +
                                std::string(kPlaintextLoopback));
  absl::StatusOr<CollectorConfig> config = LoadCollectorConfig(path);
  ASSERT_THAT(config, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(
      config.status().message(),
      HasSubstr(path + ": retention.rollups: must be at least samples"));
}

TEST_F(CollectorConfigTest, BackupScheduleIsOffUnlessADirIsGiven) {
  absl::StatusOr<CollectorConfig> config =
      LoadCollectorConfig(Write("plain.yaml", kPlaintextLoopback));
  ASSERT_THAT(config, IsOk());
  EXPECT_TRUE(config->backup.dir.empty());

  config = LoadCollectorConfig(Write("backup.yaml",
                                     "backup:\n  dir: /var/backups/eroom\n"
                                     "  every: 6h\n  keep: 3\n" +
                                         std::string(kPlaintextLoopback)));
  ASSERT_THAT(config, IsOk());
  EXPECT_EQ(config->backup.dir, "/var/backups/eroom");
  EXPECT_EQ(config->backup.every, absl::Hours(6));
  EXPECT_EQ(config->backup.keep, 3);
}

TEST_F(CollectorConfigTest, BadBackupNamesFileKeyAndProblem) {
  std::string path = Write("bad-backup.yaml",
                           "backup:\n  dir: backups\n  every: 10s\n"
                           "  keep: 0\n  when: daily\n" +
                               std::string(kPlaintextLoopback));
  absl::StatusOr<CollectorConfig> config = LoadCollectorConfig(path);
  ASSERT_THAT(config, StatusIs(absl::StatusCode::kInvalidArgument));
  const std::string message(config.status().message());
  EXPECT_THAT(message,
              HasSubstr(path + ": backup.dir: must be an absolute path"));
  EXPECT_THAT(message, HasSubstr(path + ": backup.every: 10s is out of range"));
  EXPECT_THAT(message, HasSubstr(path + ": backup.keep:"));
  EXPECT_THAT(message, HasSubstr(path + ": backup.when: unknown key"));

  path = Write("dirless.yaml",
               "backup:\n  keep: 3\n" + std::string(kPlaintextLoopback));
  EXPECT_THAT(LoadCollectorConfig(path).status().message(),
              HasSubstr(path + ": backup.dir: is needed"));
}

TEST_F(CollectorConfigTest, ReadsRulesAndRulesFiles) {
  Write("rules/team.yaml",
        "rules:\n  - {name: misses, kind: log_match, "
        "match: {event_types: [cache_miss]}}\n");
  const std::string path =
      Write("rules.yaml", std::string(kPlaintextLoopback) +
                              "rules_files: [rules/*.yaml]\n"
                              "extra_event_types: [cache_miss]\n"
                              "rules:\n  - {name: host_down, kind: absence, "
                              "inhibits_host: true}\n");
  absl::StatusOr<CollectorConfig> config = LoadCollectorConfig(path);
  ASSERT_THAT(config, IsOk());
  EXPECT_EQ(config->rule_sources.config_file, path);
  EXPECT_THAT(config->rule_sources.files_globs, ElementsAre("rules/*.yaml"));
  EXPECT_THAT(config->rule_sources.extra_event_types,
              ElementsAre("cache_miss"));
  ASSERT_EQ(config->rules.rules.size(), 2u);
  EXPECT_EQ(config->rules.rules[0].name, "host_down");
  EXPECT_EQ(config->rules.rules[1].name, "misses");
}

TEST_F(CollectorConfigTest, BadRulesAreReportedWithTheOtherProblems) {
  Write("rules/bad.yaml",
        "rules:\n  - {name: slow, kind: room_duration, measure: running}\n");
  const std::string path =
      Write("bad-rules.yaml", std::string(kPlaintextLoopback) +
                                  "query: {thread: 2}\n"
                                  "rules_files: [rules/*.yaml]\n"
                                  "rules:\n  - {name: cpu, kind: threshold, "
                                  "metric: cpu, condition: '> 90'}\n");
  absl::StatusOr<CollectorConfig> config = LoadCollectorConfig(path);
  ASSERT_THAT(config, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(
      config.status().message(),
      AllOf(HasSubstr(path + ": query.thread: unknown key"),
            HasSubstr(path + ": rules[0] (cpu): metric: unknown metric 'cpu'"),
            HasSubstr(PathIn("rules/bad.yaml") +
                      ": rules[0] (slow): condition: required")));
}

TEST_F(CollectorConfigTest, ReloadReadsOnlyTheRuleKeysAgain) {
  // Keys LoadCollectorConfig would refuse do not stop a reload.
  const std::string path =
      Write("reload.yaml",
            "tls: {mode: nonsense}\nrules_files: [rules/*.yaml]\n"
            "rules:\n  - {name: host_down, kind: absence}\n");
  absl::StatusOr<alerting::RuleSet> rules = LoadCollectorRules(path);
  ASSERT_THAT(rules, IsOk());
  ASSERT_EQ(rules->rules.size(), 1u);

  Write("rules/new.yaml", "rules:\n  - {name: added, kind: absence}\n");
  rules = LoadCollectorRules(path);
  ASSERT_THAT(rules, IsOk());
  ASSERT_EQ(rules->rules.size(), 2u);
  EXPECT_EQ(rules->rules[1].name, "added");

  Write("rules/new.yaml", "rules:\n  - {name: host_down, kind: absence}\n");
  EXPECT_THAT(LoadCollectorRules(path),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("(host_down): name: already the name of")));
  EXPECT_THAT(LoadCollectorRules(PathIn("missing.yaml")),
              StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace eroom::collector
