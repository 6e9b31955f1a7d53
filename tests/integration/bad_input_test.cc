// Bad input through the real binaries: broken configs, an unreachable
// collector, unknown CLI flags.
#include <signal.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/process_harness.h"
#include "tests/unit/test_support/test_certificate.h"

namespace eroom::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

struct BadConfig {
  std::string name;
  std::string yaml;
  std::string expected_key;      // The message names the key...
  std::string expected_problem;  // ...and says what is wrong with it.
};

// Test names carry the case; printing it again keeps ctest's list readable.
void PrintTo(const BadConfig& config, std::ostream* out) {
  *out << config.name;
}

class BadAgentConfigTest : public ::testing::TestWithParam<BadConfig> {};

TEST_P(BadAgentConfigTest, ExitsTwoNamingFileKeyAndProblem) {
  std::string path = MakeTempDir("cfg") + "/agent.yaml";
  WriteFile(path, GetParam().yaml);
  for (bool check_only : {true, false}) {
    std::vector<std::string> argv = {BinaryPath("eroom-agent"), "--config",
                                     path};
    if (check_only) argv.push_back("--check-config");
    CommandResult result = RunCommand(argv, absl::Seconds(10));
    EXPECT_EQ(result.exit_code, 2) << result.err;
    EXPECT_THAT(result.err,
                AllOf(HasSubstr(path), HasSubstr(GetParam().expected_key),
                      HasSubstr(GetParam().expected_problem)));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Agent, BadAgentConfigTest,
    ::testing::Values(
        BadConfig{"UnknownKey", "probes:\n  intervall: 5s\n",
                  "probes.intervall", "unknown key"},
        BadConfig{"BadDuration", "resources:\n  interval: soon\n",
                  "resources.interval", "expected a duration"},
        BadConfig{"OutOfRange", "probes:\n  interval: 1ms\n", "probes.interval",
                  "out of range"},
        BadConfig{"BadChoice", "logs:\n  start_at: middle\n", "logs.start_at",
                  "not one of: end, beginning"},
        BadConfig{"UnsetEnvironmentVariable",
                  "collector:\n  address: ${EROOM_TEST_SURELY_UNSET}\n",
                  "collector.address", "EROOM_TEST_SURELY_UNSET"},
        BadConfig{"BadUrl", "eroom:\n  url: ftp://example\n", "eroom.url",
                  "must be http"},
        BadConfig{"NotAMapping", "logs: [1, 2]\n", "logs",
                  "expected a mapping"},
        BadConfig{"InvalidYaml", "agent: {id: [\n", "line", "invalid YAML"}),
    [](const auto& info) { return info.param.name; });

class BadCollectorConfigTest : public ::testing::TestWithParam<BadConfig> {};

TEST_P(BadCollectorConfigTest, ExitsTwoNamingFileKeyAndProblem) {
  std::string path = MakeTempDir("cfg") + "/collector.yaml";
  WriteFile(path, GetParam().yaml);
  CommandResult result = RunCommand(
      {BinaryPath("eroom-collector"), "--config", path, "--check-config"},
      absl::Seconds(10));
  EXPECT_EQ(result.exit_code, 2) << result.err;
  EXPECT_THAT(result.err,
              AllOf(HasSubstr(path), HasSubstr(GetParam().expected_key),
                    HasSubstr(GetParam().expected_problem)));
}

INSTANTIATE_TEST_SUITE_P(
    Collector, BadCollectorConfigTest,
    ::testing::Values(
        BadConfig{"UnknownKey", "listen: 127.0.0.1:1\nlisten_port: 3\n",
                  "listen_port", "unknown key"},
        BadConfig{"BadNumber", "query:\n  threads: many\n", "query.threads",
                  "expected a whole number"},
        BadConfig{"EmptyDatabasePath", "storage:\n  path: ''\n", "storage.path",
                  "must not be empty"},
        BadConfig{"NoTls", "listen: 127.0.0.1:7443\n", "tls.cert", "required"},
        BadConfig{"PlaintextOnEveryInterface",
                  "listen: 0.0.0.0:7443\ntls: {mode: insecure}\n", "tls.mode",
                  "plaintext refused"},
        BadConfig{"BadAlertRule",
                  "rules:\n  - {name: rss, kind: threshold, "
                  "metric: eroom.rss, condition: '> 2GB'}\n",
                  ": rules[0] (rss): metric", "unknown metric 'eroom.rss'"}),
    [](const auto& info) { return info.param.name; });

TEST(ConfigFileTest, MissingFileIsNamed) {
  CommandResult result = RunCommand({BinaryPath("eroom-agent"), "--config",
                                     "/nonexistent/a.yaml", "--check-config"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.err, HasSubstr("/nonexistent/a.yaml"));
}

TEST(ConfigFileTest, ExampleConfigsAreValid) {
  const std::string tls_dir = MakeTempDir("tls");
  ASSERT_EQ(
      RunCommand({absl::StrCat(EROOM_SOURCE_DIR, "/deploy/make-dev-certs.sh"),
                  tls_dir})
          .exit_code,
      0);
  std::map<std::string, std::string> env = {
      {"EROOM_TLS_DIR", tls_dir},
      {"EROOM_AGENT_TOKEN", "agent-token"},
      {"EROOM_AGENT_TOKEN_SHA256", std::string(64, 'a')},
      {"EROOM_ADMIN_TOKEN_SHA256", std::string(64, 'b')},
      {"EROOM_HOME", "/opt/eroom"},
      {"EROOM_AGENT_STATE", "/tmp/eroom-agent"},
      {"EROOM_URL", "http://127.0.0.1:8080"},
      {"EROOM_COLLECTOR", "127.0.0.1:7443"},
      {"EROOM_ENV", "test"},
      {"EROOM_COLLECTOR_LISTEN", "127.0.0.1:7443"},
      {"EROOM_COLLECTOR_DB", "/tmp/eroom.db"}};
  for (const auto& [binary, file] :
       {std::pair{"eroom-agent", "agent.example.yaml"},
        std::pair{"eroom-collector", "collector.example.yaml"}}) {
    CommandResult result = RunCommand(
        {BinaryPath(binary), "--config",
         absl::StrCat(EROOM_SOURCE_DIR, "/deploy/", file), "--check-config"},
        absl::Seconds(10), env);
    EXPECT_EQ(result.exit_code, 0) << file << ": " << result.err;
  }
}

TEST(ConfigFileTest, ExpiredCertificateFailsTheCheckAndIsAWarningAtStart) {
  const std::string dir = MakeTempDir("expired");
  const absl::Time now = absl::Now();
  test_support::TestCertificate expired = test_support::MakeTestCertificate(
      "collector", now - absl::Hours(72), now - absl::Hours(24));
  WriteFile(dir + "/collector.crt", expired.cert_pem);
  WriteFile(dir + "/collector.key", expired.key_pem);
  const std::string config = dir + "/collector.yaml";
  WriteFile(config, absl::StrCat("listen: 127.0.0.1:", FreePort(),
                                 "\nstorage:\n  path: ", dir,
                                 "/eroom.db\ntls:\n  cert: ", dir,
                                 "/collector.crt\n  key: ", dir,
                                 "/collector.key\n"
                                 "auth:\n  mode: none\n"));
  CommandResult check = RunCommand(
      {BinaryPath("eroom-collector"), "--config", config, "--check-config"},
      absl::Seconds(10));
  EXPECT_EQ(check.exit_code, 2) << check.err;
  EXPECT_THAT(check.err,
              AllOf(HasSubstr(config), HasSubstr("tls.cert"),
                    HasSubstr(dir + "/collector.crt"), HasSubstr("is expired"),
                    HasSubstr("valid from "), HasSubstr(" UTC to ")));

  ChildProcess collector({BinaryPath("eroom-collector"), "--config", config},
                         dir + "/collector.out");
  EXPECT_TRUE(PollUntil(absl::Seconds(10), [&] {
    return collector.Log().find("is expired") != std::string::npos;
  })) << collector.Log();
  EXPECT_TRUE(collector.running());
  StopChildren({&collector});
}

// A second collector started by mistake on a port in use must fail, not
// share the port and take part of the agents into its own database.
TEST(ConfigFileTest, ASecondCollectorOnAPortInUseFailsToStart) {
  const std::string dir = MakeTempDir("port-in-use");
  const std::string grpc_address = absl::StrCat("127.0.0.1:", FreePort());
  const std::string metrics_address = absl::StrCat("127.0.0.1:", FreePort());
  auto write_config = [&](const std::string& name, const std::string& grpc,
                          const std::string& metrics) {
    const std::string path = absl::StrCat(dir, "/", name, ".yaml");
    WriteFile(path, absl::StrCat(PlaintextCollectorConfig(
                                     grpc, absl::StrCat(dir, "/", name, ".db")),
                                 "metrics_http:\n  listen: ", metrics, "\n"));
    return path;
  };
  ChildProcess first({BinaryPath("eroom-collector"), "--config",
                      write_config("first", grpc_address, metrics_address)},
                     dir + "/first.out");
  ASSERT_TRUE(PollUntil(absl::Seconds(10), [&] {
    return first.Log().find("/metrics on") != std::string::npos;
  })) << first.Log();

  CommandResult same_grpc_port =
      RunCommand({BinaryPath("eroom-collector"), "--config",
                  write_config("same-grpc", grpc_address,
                               absl::StrCat("127.0.0.1:", FreePort()))},
                 absl::Seconds(10));
  EXPECT_EQ(same_grpc_port.exit_code, 1) << same_grpc_port.err;
  EXPECT_THAT(same_grpc_port.err,
              HasSubstr(absl::StrCat("cannot listen on ", grpc_address)));

  CommandResult same_metrics_port = RunCommand(
      {BinaryPath("eroom-collector"), "--config",
       write_config("same-metrics", absl::StrCat("127.0.0.1:", FreePort()),
                    metrics_address)},
      absl::Seconds(10));
  EXPECT_EQ(same_metrics_port.exit_code, 1) << same_metrics_port.err;
  EXPECT_THAT(same_metrics_port.err,
              HasSubstr(absl::StrCat("metrics_http: cannot listen on ",
                                     metrics_address)));

  EXPECT_TRUE(first.running());
  StopChildren({&first});
}

TEST(UnreachableCollectorTest, AgentKeepsRunningAndConnectsWhenItAppears) {
  std::string dir = MakeTempDir("unreachable");
  std::string address = absl::StrCat("127.0.0.1:", FreePort());
  WriteFile(dir + "/eroom/logs/server.log", "");
  WriteFile(dir + "/agent.yaml",
            absl::StrCat(
                "agent:\n  id: lonely\n  state_dir: ", dir, "/state\n",
                "eroom:\n  dir: ", dir, "/eroom\n", "  url: http://127.0.0.1:",
                FreePort(), "\n", "resources:\n  interval: 200ms\n",
                "probes:\n  interval: 200ms\n",
                "collector:\n  address: ", address, "\n", "  insecure: true\n",
                "  reconnect_initial: 50ms\n  reconnect_max: 300ms\n"));
  ChildProcess agent(
      {BinaryPath("eroom-agent"), "--config", dir + "/agent.yaml"},
      dir + "/agent.out");
  // It reports the problem and carries on retrying.
  ASSERT_TRUE(PollUntil(absl::Seconds(20), [&] {
    return agent.Log().find("unreachable") != std::string::npos;
  })) << agent.Log();
  EXPECT_TRUE(agent.running());

  WriteFile(dir + "/collector.yaml",
            absl::StrCat("listen: ", address, "\nstorage:\n  path: ", dir,
                         "/eroom.db\n", kPlaintextCollectorConfig));
  ChildProcess collector(
      {BinaryPath("eroom-collector"), "--config", dir + "/collector.yaml"},
      dir + "/collector.out");
  // Probes of the missing ERoom fail, and those failures arrive: the agent
  // connected by itself and delivered what it queued meanwhile.
  ASSERT_TRUE(PollUntil(
      absl::Seconds(30),
      [&] {
        CommandResult hosts =
            RunCommand({BinaryPath("eroomctl"), "--collector", address,
                        "--insecure", "-o", "json", "hosts"});
        return hosts.exit_code == 0 &&
               hosts.out.find("\"connected\": true") != std::string::npos &&
               hosts.out.find("connection refused") != std::string::npos;
      }))
      << agent.Log() << collector.Log();

  agent.Signal(SIGTERM);
  std::optional<int> agent_exit = agent.Wait(absl::Seconds(5));
  ASSERT_TRUE(agent_exit.has_value()) << "agent did not stop within 5 s";
  EXPECT_EQ(*agent_exit, 0);
}

TEST(EroomctlTest, UnknownFlagIsAUsageError) {
  CommandResult result =
      RunCommand({BinaryPath("eroomctl"), "hosts", "--no-such-flag"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.err, HasSubstr("no-such-flag"));
}

TEST(EroomctlTest, UnreachableCollectorIsAFailure) {
  std::string address = absl::StrCat("127.0.0.1:", FreePort());
  CommandResult result = RunCommand({BinaryPath("eroomctl"), "--collector",
                                     address, "--timeout", "1s", "hosts"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr(address));
}

}  // namespace
}  // namespace eroom::testing
