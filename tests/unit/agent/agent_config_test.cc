#include "agent/agent_config.h"

#include <cstdlib>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/test_support/status_matchers.h"
#include "tests/unit/test_support/temp_dir.h"

namespace eroom::agent {
namespace {

using test_support::IsOk;
using test_support::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class AgentConfigTest : public test_support::TempDirTest {
 protected:
  std::string Write(const std::string& name, const std::string& yaml) {
    std::string path = PathIn(name);
    std::ofstream(path) << yaml;
    return path;
  }
};

TEST_F(AgentConfigTest, DefaultsFollowTheEroomLayout) {
  unsetenv("EROOM_PRIVATE_KEY");
  absl::StatusOr<AgentConfig> config = LoadAgentConfig(Write("empty.yaml", ""));
  ASSERT_THAT(config, IsOk());
  EXPECT_FALSE(config->agent_id.empty());
  EXPECT_EQ(config->agent_id, config->hostname);
  EXPECT_THAT(config->logs.paths, ElementsAre("/opt/eroom/logs/server.log",
                                              "/opt/eroom/logs/server.*.log",
                                              "/opt/eroom/logs/eroom*.log"));
  EXPECT_FALSE(config->logs.start_at_beginning);
  EXPECT_EQ(config->logs.eroom_dir, "/opt/eroom");
  EXPECT_FALSE(config->logs.follow_symlinks_outside);
  EXPECT_EQ(config->logs.close_idle_after, absl::Minutes(1));
  EXPECT_EQ(config->resources.pid_file, "/opt/eroom/server.pid");
  EXPECT_EQ(config->resources.port, 8080);
  EXPECT_EQ(config->probes.base_url, "http://127.0.0.1:8080");
  EXPECT_EQ(config->sample_interval, absl::Seconds(5));
  EXPECT_EQ(config->probe_interval, absl::Seconds(5));
  EXPECT_TRUE(config->probes.api_key.empty());
  EXPECT_FALSE(config->commands.safe_restart.enabled);
  EXPECT_FALSE(config->commands.log_housekeeping.enabled);
  EXPECT_FALSE(config->commands.auto_restart.enabled);
}

TEST_F(AgentConfigTest, ExpandsEnvironmentAndReadsTheKeyFromItsVariable) {
  setenv("EROOM_TEST_HOME", "/srv/eroom", 1);
  setenv("EROOM_TEST_KEY", "s3cret", 1);
  absl::StatusOr<AgentConfig> config = LoadAgentConfig(Write(
      "env.yaml",
      "agent:\n  id: web-1\n  labels: {site: seoul}\n"
      "eroom:\n  dir: ${EROOM_TEST_HOME}\n  url: http://127.0.0.1:18080/\n"
      "  api_key_env: EROOM_TEST_KEY\n"
      "logs:\n  paths: [logs/server.log, /var/log/other.log]\n"
      "  start_at: beginning\n  follow_symlinks_outside: true\n"
      "  encodings: [{glob: logs/legacy-*.log, encoding: cp949}]\n"
      "collector:\n  address: collector:7443\n"));
  ASSERT_THAT(config, IsOk());
  EXPECT_EQ(config->agent_id, "web-1");
  EXPECT_EQ(config->labels.at("site"), "seoul");
  EXPECT_THAT(config->logs.paths,
              ElementsAre("/srv/eroom/logs/server.log", "/var/log/other.log"));
  EXPECT_TRUE(config->logs.start_at_beginning);
  EXPECT_EQ(config->logs.eroom_dir, "/srv/eroom");
  EXPECT_TRUE(config->logs.follow_symlinks_outside);
  ASSERT_EQ(config->logs.encodings.size(), 1u);
  EXPECT_EQ(config->logs.encodings[0].glob, "/srv/eroom/logs/legacy-*.log");
  EXPECT_EQ(config->logs.encodings[0].encoding, "cp949");
  EXPECT_EQ(config->probes.base_url, "http://127.0.0.1:18080");
  EXPECT_EQ(config->resources.port, 18080);
  EXPECT_EQ(config->probes.api_key, "s3cret");
  EXPECT_EQ(config->uplink.collector_address, "collector:7443");
}

TEST_F(AgentConfigTest, EveryProblemIsReportedAtOnce) {
  std::string path =
      Write("bad.yaml",
            "eroom:\n  url: not a url\n"
            "probes:\n  interval: fast\n  retries: 3\n"
            "logs:\n  time_zone: Mars/Olympus\n"
            "  encodings: [{glob: legacy.log, encoding: klingon}]\n");
  absl::StatusOr<AgentConfig> config = LoadAgentConfig(path);
  ASSERT_THAT(config, StatusIs(absl::StatusCode::kInvalidArgument));
  std::string message(config.status().message());
  EXPECT_THAT(message, HasSubstr(path + ": eroom.url:"));
  EXPECT_THAT(message,
              HasSubstr(path + ": probes.interval: expected a duration"));
  EXPECT_THAT(message, HasSubstr(path + ": probes.retries: unknown key"));
  EXPECT_THAT(message, HasSubstr(path + ": logs.time_zone: unknown time zone"));
  EXPECT_THAT(message, HasSubstr(path + ": logs.encodings[0].encoding: "
                                        "unknown encoding 'klingon'"));
}

TEST_F(AgentConfigTest, CompressionIsChosenPerLink) {
  absl::StatusOr<AgentConfig> by_default =
      LoadAgentConfig(Write("default.yaml", ""));
  ASSERT_THAT(by_default, IsOk());
  EXPECT_EQ(by_default->uplink.compression, LinkCompression::kAuto);
  absl::StatusOr<AgentConfig> gzip =
      LoadAgentConfig(Write("gzip.yaml", "collector:\n  compression: gzip\n"));
  ASSERT_THAT(gzip, IsOk());
  EXPECT_EQ(gzip->uplink.compression, LinkCompression::kGzip);
  const std::string path =
      Write("zstd.yaml", "collector:\n  compression: zstd\n");
  EXPECT_THAT(LoadAgentConfig(path),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr(path + ": collector.compression:")));

  EXPECT_FALSE(GzipsTo(LinkCompression::kAuto, "127.0.0.1:7443"));
  EXPECT_FALSE(GzipsTo(LinkCompression::kAuto, "localhost:7443"));
  EXPECT_FALSE(GzipsTo(LinkCompression::kAuto, "[::1]:7443"));
  EXPECT_TRUE(GzipsTo(LinkCompression::kAuto, "collector.example:7443"));
  EXPECT_TRUE(GzipsTo(LinkCompression::kAuto, "10.0.0.5:7443"));
  EXPECT_TRUE(GzipsTo(LinkCompression::kGzip, "127.0.0.1:7443"));
  EXPECT_FALSE(GzipsTo(LinkCompression::kNone, "collector.example:7443"));
}

TEST_F(AgentConfigTest, EroomUrlMustBeHttpWithAUsablePort) {
  for (auto [url, problem] :
       {std::pair{"ftp://127.0.0.1", "must be http:// or https://"},
        std::pair{"http://127.0.0.1:70000", "has a port outside 1-65535"},
        std::pair{"127.0.0.1:8080", "is not a valid URL"}}) {
    std::string path =
        Write("url.yaml", absl::StrCat("eroom:\n  url: ", url, "\n"));
    EXPECT_THAT(LoadAgentConfig(path),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr(absl::StrCat(path, ": eroom.url: '", url,
                                                "' ", problem))));
  }
  absl::StatusOr<AgentConfig> https = LoadAgentConfig(
      Write("https.yaml", "eroom:\n  url: https://eroom.example/\n"));
  ASSERT_THAT(https, IsOk());
  EXPECT_EQ(https->resources.port, 443);
}

TEST_F(AgentConfigTest, CommandsAreAllowedOneByOne) {
  absl::StatusOr<AgentConfig> config = LoadAgentConfig(
      Write("commands.yaml",
            "eroom:\n  dir: /srv/eroom\n"
            "commands:\n  log_housekeeping:\n    enabled: true\n"
            "    compress_after: 3d\n    daily_at: \"03:30\"\n"));
  ASSERT_THAT(config, IsOk());
  const HousekeepingPolicy& housekeeping = config->commands.log_housekeeping;
  EXPECT_TRUE(housekeeping.enabled);
  EXPECT_EQ(housekeeping.compress_after, absl::Hours(72));
  EXPECT_EQ(housekeeping.delete_archives_after, absl::Hours(24 * 30));
  EXPECT_EQ(housekeeping.archive_dir, "/srv/eroom/logs/archive");
  EXPECT_EQ(housekeeping.daily_at, absl::Hours(3) + absl::Minutes(30));
  EXPECT_FALSE(config->commands.safe_restart.enabled);
}

TEST_F(AgentConfigTest, SafeRestartProgramsAreArgvListsUnderTheEroomDir) {
  absl::StatusOr<AgentConfig> config = LoadAgentConfig(Write(
      "restart.yaml",
      "eroom:\n  dir: /srv/eroom\n"
      "commands:\n  safe_restart:\n    enabled: true\n"
      "    stop_command: [scripts/stop.sh]\n"
      "    start_command: [/usr/bin/sudo, -n, -u, eroom, scripts/start.sh]\n"
      "    health_timeout: 90s\n"));
  ASSERT_THAT(config, IsOk());
  const SafeRestartPolicy& restart = config->commands.safe_restart;
  EXPECT_TRUE(restart.enabled);
  EXPECT_THAT(restart.stop_command,
              testing::ElementsAre("/srv/eroom/scripts/stop.sh"));
  EXPECT_THAT(restart.start_command,
              testing::ElementsAre("/usr/bin/sudo", "-n", "-u", "eroom",
                                   "scripts/start.sh"));
  EXPECT_EQ(restart.health_timeout, absl::Seconds(90));
}

TEST_F(AgentConfigTest, EnabledSafeRestartNeedsItsPrograms) {
  std::string path = Write("no-programs.yaml",
                           "commands:\n  safe_restart:\n    enabled: true\n"
                           "    stop_command: [stop.sh]\n"
                           "  auto_restart:\n    enabled: true\n"
                           "  log_housekeeping:\n    daily_at: \"25:00\"\n");
  absl::StatusOr<AgentConfig> config = LoadAgentConfig(path);
  for (const std::string expected :
       {": commands.safe_restart.stop_command: [0]: \"stop.sh\" must be a path",
        ": commands.safe_restart.start_command: is required when enabled",
        ": commands.log_housekeeping.daily_at: must be HH:MM"}) {
    EXPECT_THAT(config, StatusIs(absl::StatusCode::kInvalidArgument,
                                 HasSubstr(path + expected)));
  }
}

TEST_F(AgentConfigTest, CommandsAreCheckedStrictly) {
  std::string path = Write("bad-commands.yaml",
                           "commands:\n  safe_restart:\n"
                           "    enabled: sometimes\n"
                           "  reboot: true\n");
  absl::StatusOr<AgentConfig> config = LoadAgentConfig(path);
  EXPECT_THAT(config,
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr(path + ": commands.safe_restart.enabled: ")));
  EXPECT_THAT(config,
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr(path + ": commands.reboot: unknown key")));
}

}  // namespace
}  // namespace eroom::agent
