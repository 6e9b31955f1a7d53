#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "cli/arguments.h"
#include "cli/collector_address.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/test_support/status_matchers.h"
#include "tests/unit/test_support/temp_dir.h"

namespace eroom::cli {

using ::eroom::test_support::IsOk;
using ::testing::ElementsAre;
namespace {
namespace v1 = ::eroom::monitor::v1;

const absl::Time kNow = absl::FromUnixSeconds(1750000000);

class ParseArgumentsTest : public ::testing::Test {
 protected:
  ParsedArguments Parse(std::vector<std::string> args) {
    args.insert(args.begin(), "eroomctl");
    std::vector<const char*> argv;
    for (const std::string& arg : args) argv.push_back(arg.c_str());
    out_.str("");
    err_.str("");
    return ParseArguments(static_cast<int>(argv.size()), argv.data(), kNow,
                          absl::UTCTimeZone(), out_, err_);
  }

  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(ParseArgumentsTest, GlobalOptionsBeforeOrAfterTheCommand) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"--collector", "10.0.0.5:7443", "-o", "json", "--timeout", "2s",
            "--config", "/etc/x.yaml", "hosts"},
           {"hosts", "--collector", "10.0.0.5:7443", "--output", "json",
            "--timeout", "2s", "--config", "/etc/x.yaml"}}) {
    ParsedArguments parsed = Parse(args);
    ASSERT_TRUE(parsed.invocation.has_value()) << err_.str();
    const GlobalOptions& global = parsed.invocation->global;
    EXPECT_EQ(global.collector, "10.0.0.5:7443");
    EXPECT_EQ(global.config_path, "/etc/x.yaml");
    EXPECT_EQ(global.output, OutputFormat::kJson);
    EXPECT_EQ(global.timeout, absl::Seconds(2));
    EXPECT_TRUE(std::holds_alternative<HostsArgs>(parsed.invocation->command));
  }
}

TEST_F(ParseArgumentsTest, Defaults) {
  ParsedArguments parsed = Parse({"hosts"});
  ASSERT_TRUE(parsed.invocation.has_value());
  const GlobalOptions& global = parsed.invocation->global;
  EXPECT_FALSE(global.collector.has_value());
  EXPECT_FALSE(global.config_path.has_value());
  EXPECT_EQ(global.output, OutputFormat::kTable);
  EXPECT_EQ(global.timeout, absl::Seconds(5));
  EXPECT_FALSE(global.token.has_value());
  EXPECT_FALSE(global.ca_path.has_value());
  EXPECT_FALSE(global.insecure);
}

TEST_F(ParseArgumentsTest, SecurityOptions) {
  ParsedArguments parsed =
      Parse({"--token", "t0k", "--ca", "/etc/ca.crt", "hosts"});
  ASSERT_TRUE(parsed.invocation.has_value()) << err_.str();
  EXPECT_EQ(parsed.invocation->global.token, "t0k");
  EXPECT_EQ(parsed.invocation->global.ca_path, "/etc/ca.crt");
  parsed = Parse({"hosts", "--insecure"});
  ASSERT_TRUE(parsed.invocation.has_value()) << err_.str();
  EXPECT_TRUE(parsed.invocation->global.insecure);
  // Plaintext and a CA contradict each other.
  EXPECT_EQ(Parse({"--insecure", "--ca", "/etc/ca.crt", "hosts"}).exit_code,
            kExitUsage);
}

TEST_F(ParseArgumentsTest, LogsFiltersBecomeTheRequest) {
  ParsedArguments parsed =
      Parse({"logs", "--host", "web-1", "--level", "warn", "--type",
             "room_failed", "--grep", "타임아웃", "--ruid", "room_1", "--since",
             "1h", "--until", "2025-06-15T15:00:00Z", "--limit", "20"});
  ASSERT_TRUE(parsed.invocation.has_value()) << err_.str();
  const auto& logs = std::get<LogsArgs>(parsed.invocation->command);
  EXPECT_THAT(logs.hosts, ElementsAre("web-1"));
  EXPECT_EQ(logs.request.min_level(), v1::WARN);
  EXPECT_THAT(logs.request.event_types(), ElementsAre("room_failed"));
  EXPECT_EQ(logs.request.contains(), "타임아웃");
  EXPECT_EQ(logs.request.ruid(), "room_1");
  EXPECT_EQ(logs.request.since_unix_ms(), (1750000000 - 3600) * 1000LL);
  EXPECT_EQ(logs.request.until_unix_ms(), 1749999600000);
  EXPECT_EQ(logs.request.limit(), 20);
  EXPECT_TRUE(logs.request.agent_id().empty());
}

TEST_F(ParseArgumentsTest, LogsHostsAndTypesRepeatPagingContextBrief) {
  ParsedArguments parsed =
      Parse({"--token", "s3cret", "logs", "--host", "web-1", "--host=web-2",
             "--type", "room_failed", "--type", "error", "--regex", "a(b|c)",
             "--before", "MTo1OjY", "--context", "3", "--brief"});
  ASSERT_TRUE(parsed.invocation.has_value()) << err_.str();
  const auto& logs = std::get<LogsArgs>(parsed.invocation->command);
  EXPECT_THAT(logs.hosts, ElementsAre("web-1", "web-2"));
  EXPECT_THAT(logs.request.event_types(), ElementsAre("room_failed", "error"));
  EXPECT_EQ(logs.request.regex(), "a(b|c)");
  EXPECT_EQ(logs.request.before_cursor(), "MTo1OjY");
  EXPECT_EQ(logs.request.context(), 3);
  EXPECT_TRUE(logs.brief);
  // To repeat for the next page: no cursor, no secret, quoted for a shell.
  EXPECT_EQ(logs.command_line,
            "eroomctl logs --host web-1 --host=web-2 --type room_failed "
            "--type error --regex 'a(b|c)' --context 3 --brief");
  EXPECT_EQ(Parse({"logs", "--context", "-1"}).exit_code, kExitUsage);
}

TEST_F(ParseArgumentsTest, LogsDefaultsToTheNewestHundredOfAnyTime) {
  ParsedArguments parsed = Parse({"logs"});
  ASSERT_TRUE(parsed.invocation.has_value());
  const auto& logs = std::get<LogsArgs>(parsed.invocation->command);
  EXPECT_EQ(logs.request.limit(), 100);
  EXPECT_EQ(logs.request.since_unix_ms(), 0);
  EXPECT_EQ(logs.request.until_unix_ms(), 0);
  EXPECT_EQ(logs.request.min_level(), v1::LOG_LEVEL_UNSPECIFIED);
}

TEST_F(ParseArgumentsTest, LogsFollowKeepsTheFiltersButHasNoEnd) {
  for (const char* flag : {"-f", "--follow"}) {
    ParsedArguments parsed = Parse({"logs", flag, "--level", "error"});
    ASSERT_TRUE(parsed.invocation.has_value()) << err_.str();
    const auto& logs = std::get<LogsArgs>(parsed.invocation->command);
    EXPECT_TRUE(logs.follow);
    EXPECT_EQ(logs.request.min_level(), v1::ERROR);
  }
  EXPECT_FALSE(std::get<LogsArgs>(Parse({"logs"}).invocation->command).follow);
  EXPECT_EQ(Parse({"logs", "-f", "--until", "1h"}).exit_code, kExitUsage);
  EXPECT_THAT(err_.str(), ::testing::HasSubstr("--until"));
  EXPECT_EQ(Parse({"logs", "-f", "--context", "2"}).exit_code, kExitUsage);
  EXPECT_THAT(err_.str(), ::testing::HasSubstr("--context"));
  EXPECT_EQ(Parse({"logs", "-f", "--before", "MTox"}).exit_code, kExitUsage);
  EXPECT_THAT(err_.str(), ::testing::HasSubstr("--before"));
}

TEST_F(ParseArgumentsTest, LogsFollowTakesSeveralHostsAndTypesAndARegex) {
  ParsedArguments parsed =
      Parse({"logs", "-f", "--host", "web-1", "--host", "web-2", "--type",
             "room_failed", "--type", "error", "--regex", "FAILED|5\\d\\d"});
  ASSERT_TRUE(parsed.invocation.has_value()) << err_.str();
  const auto& logs = std::get<LogsArgs>(parsed.invocation->command);
  EXPECT_TRUE(logs.follow);
  EXPECT_THAT(logs.hosts, ::testing::ElementsAre("web-1", "web-2"));
  EXPECT_THAT(logs.request.event_types(),
              ::testing::ElementsAre("room_failed", "error"));
  EXPECT_EQ(logs.request.regex(), "FAILED|5\\d\\d");
}

TEST_F(ParseArgumentsTest, LevelNamesAreCaseInsensitive) {
  for (const auto& [text, level] : std::vector<std::pair<std::string, int>>{
           {"ERROR", v1::ERROR}, {"Warning", v1::WARN}, {"trace", v1::TRACE}}) {
    ParsedArguments parsed = Parse({"logs", "--level", text});
    ASSERT_TRUE(parsed.invocation.has_value()) << text;
    EXPECT_EQ(
        std::get<LogsArgs>(parsed.invocation->command).request.min_level(),
        level);
  }
}

TEST_F(ParseArgumentsTest, MetricsLooksBackOneHourByDefault) {
  ParsedArguments parsed =
      Parse({"metrics", "host.cpu_percent", "--host", "a1", "--limit", "10"});
  ASSERT_TRUE(parsed.invocation.has_value()) << err_.str();
  const auto& metrics = std::get<MetricsArgs>(parsed.invocation->command);
  EXPECT_EQ(metrics.request.name(), "host.cpu_percent");
  EXPECT_EQ(metrics.host, "a1");
  EXPECT_EQ(metrics.request.since_unix_ms(), (1750000000 - 3600) * 1000LL);
  EXPECT_EQ(metrics.request.until_unix_ms(), 0);
  EXPECT_EQ(metrics.request.limit(), 10);
}

TEST_F(ParseArgumentsTest, MetricsStepAndCsv) {
  ParsedArguments parsed =
      Parse({"metrics", "host.cpu_percent", "--step", "5m", "-o", "csv"});
  ASSERT_TRUE(parsed.invocation.has_value()) << err_.str();
  EXPECT_EQ(std::get<MetricsArgs>(parsed.invocation->command).request.step_ms(),
            300000);
  EXPECT_EQ(parsed.invocation->global.output, OutputFormat::kCsv);

  for (const std::vector<std::string>& refused :
       {std::vector<std::string>{"metrics", "host.cpu_percent", "--step",
                                 "500ms"},
        std::vector<std::string>{"metrics", "host.cpu_percent", "--step",
                                 "often"},
        std::vector<std::string>{"logs", "-o", "csv"}}) {
    ParsedArguments bad = Parse(refused);
    EXPECT_FALSE(bad.invocation.has_value()) << refused[2];
    EXPECT_NE(bad.exit_code, kExitOk);
    EXPECT_FALSE(err_.str().empty());
  }
}

TEST_F(ParseArgumentsTest, StatusAndQueueTakeAnOptionalHost) {
  ParsedArguments status = Parse({"status", "web-1", "--watch"});
  ASSERT_TRUE(status.invocation.has_value());
  EXPECT_EQ(std::get<StatusArgs>(status.invocation->command).host, "web-1");
  EXPECT_TRUE(std::get<StatusArgs>(status.invocation->command).watch);

  ParsedArguments queue = Parse({"queue"});
  ASSERT_TRUE(queue.invocation.has_value());
  EXPECT_EQ(std::get<QueueArgs>(queue.invocation->command).host, "");
}

TEST_F(ParseArgumentsTest, HelpPrintsUsageAndExitsZero) {
  ParsedArguments parsed = Parse({"logs", "--help"});
  EXPECT_FALSE(parsed.invocation.has_value());
  EXPECT_EQ(parsed.exit_code, kExitOk);
  EXPECT_NE(out_.str().find("--since"), std::string::npos);
}

TEST_F(ParseArgumentsTest, UsageErrorsExitTwoWithAMessage) {
  const std::vector<std::vector<std::string>> bad = {
      {},                                   // no command
      {"frobnicate"},                       // unknown command
      {"hosts", "--bogus"},                 // unknown flag
      {"-o", "yaml", "hosts"},              // bad output format
      {"--timeout", "soon", "hosts"},       // bad timeout
      {"--timeout", "0s", "hosts"},         // non-positive timeout
      {"logs", "--since", "yesterday"},     // bad time
      {"logs", "--until", "2025-99-99"},    // bad time
      {"logs", "--level", "fatal"},         // bad level
      {"logs", "--limit", "-3"},            // negative limit
      {"logs", "--limit", "many"},          // not a number
      {"metrics"},                          // missing metric name
      {"hosts", "extra"},                   // stray positional
      {"status", "--watch", "-o", "json"},  // watch needs a table
  };
  for (const auto& args : bad) {
    ParsedArguments parsed = Parse(args);
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    EXPECT_FALSE(parsed.invocation.has_value()) << joined;
    EXPECT_EQ(parsed.exit_code, kExitUsage) << joined;
    EXPECT_FALSE(err_.str().empty()) << joined;
  }
}

TEST_F(ParseArgumentsTest, BadSinceNamesTheFlag) {
  Parse({"logs", "--since", "yesterday"});
  EXPECT_NE(err_.str().find("--since: 'yesterday'"), std::string::npos)
      << err_.str();
}

TEST_F(ParseArgumentsTest, RestartDefaultsAndLabels) {
  ParsedArguments parsed = Parse({"restart", "web-1"});
  ASSERT_TRUE(parsed.invocation.has_value()) << err_.str();
  const auto& one = std::get<RestartArgs>(parsed.invocation->command);
  EXPECT_EQ(one.host, "web-1");
  EXPECT_EQ(one.drain_timeout, absl::Minutes(10));
  EXPECT_FALSE(one.force);
  EXPECT_FALSE(one.yes);

  parsed = Parse({"restart", "--label", "env=prod", "--label", "site=a=b",
                  "--drain-timeout", "90s", "--force", "--yes"});
  ASSERT_TRUE(parsed.invocation.has_value()) << err_.str();
  const auto& rolling = std::get<RestartArgs>(parsed.invocation->command);
  EXPECT_TRUE(rolling.host.empty());
  EXPECT_FALSE(rolling.all);
  using Label = std::pair<std::string, std::string>;
  EXPECT_EQ(rolling.labels,
            (std::vector<Label>{{"env", "prod"}, {"site", "a=b"}}));
  EXPECT_EQ(rolling.drain_timeout, absl::Seconds(90));
  EXPECT_TRUE(rolling.force);
  EXPECT_TRUE(rolling.yes);
}

TEST_F(ParseArgumentsTest, BackupNeedsADestAndTakesForce) {
  ParsedArguments parsed = Parse({"backup", "/backups/eroom.db", "--force"});
  ASSERT_TRUE(parsed.invocation.has_value()) << err_.str();
  const auto& backup = std::get<BackupArgs>(parsed.invocation->command);
  EXPECT_EQ(backup.dest, "/backups/eroom.db");
  EXPECT_TRUE(backup.force);

  parsed = Parse({"backup", "eroom.db"});
  ASSERT_TRUE(parsed.invocation.has_value()) << err_.str();
  EXPECT_FALSE(std::get<BackupArgs>(parsed.invocation->command).force);

  EXPECT_FALSE(Parse({"backup"}).invocation.has_value());
}

TEST_F(ParseArgumentsTest, HousekeepAuditCheckAndCancel) {
  ParsedArguments parsed = Parse({"housekeep", "web-1", "--dry-run"});
  ASSERT_TRUE(parsed.invocation.has_value()) << err_.str();
  EXPECT_TRUE(std::get<HousekeepArgs>(parsed.invocation->command).dry_run);

  parsed = Parse({"audit", "--since", "2d", "--host", "web-1"});
  ASSERT_TRUE(parsed.invocation.has_value()) << err_.str();
  const auto& audit = std::get<AuditArgs>(parsed.invocation->command);
  EXPECT_EQ(audit.since_unix_ms, absl::ToUnixMillis(kNow - absl::Hours(48)));
  EXPECT_EQ(audit.host, "web-1");

  parsed = Parse({"check", "--all"});
  ASSERT_TRUE(parsed.invocation.has_value()) << err_.str();
  EXPECT_TRUE(std::get<CheckArgs>(parsed.invocation->command).host.empty());

  parsed = Parse({"cancel", "c0ffee09"});
  ASSERT_TRUE(parsed.invocation.has_value()) << err_.str();
  EXPECT_EQ(std::get<CancelArgs>(parsed.invocation->command).command_id,
            "c0ffee09");
}

class ResolveCollectorAddressTest : public test_support::TempDirTest {
 protected:
  std::string WriteFile(const std::filesystem::path& relative,
                        const std::string& text) {
    const std::filesystem::path path = temp_dir() / relative;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path) << text;
    return path.string();
  }

  absl::StatusOr<CollectorConnection> Connect(const GlobalOptions& options) {
    return ResolveCollectorConnection(
        options, [this](const std::string& name) -> std::optional<std::string> {
          auto it = env_.find(name);
          if (it == env_.end()) return std::nullopt;
          return it->second;
        });
  }

  absl::StatusOr<std::string> Resolve(
      const std::optional<std::string>& flag,
      const std::optional<std::string>& config_flag = std::nullopt) {
    GlobalOptions options;
    options.collector = flag;
    options.config_path = config_flag;
    absl::StatusOr<CollectorConnection> connection = Connect(options);
    if (!connection.ok()) return connection.status();
    return connection->address;
  }

  std::map<std::string, std::string> env_;
};

TEST_F(ResolveCollectorAddressTest, DefaultsToLoopback) {
  EXPECT_EQ(*Resolve(std::nullopt), "127.0.0.1:7443");
}

TEST_F(ResolveCollectorAddressTest, FlagBeatsEnvironmentBeatsConfigFile) {
  env_["XDG_CONFIG_HOME"] = temp_dir().string();
  WriteFile("eroomctl/config.yaml", "collector: config-host:7443\n");
  EXPECT_EQ(*Resolve(std::nullopt), "config-host:7443");
  env_["EROOMCTL_COLLECTOR"] = "env-host:7443";
  EXPECT_EQ(*Resolve(std::nullopt), "env-host:7443");
  EXPECT_EQ(*Resolve("flag-host:7443"), "flag-host:7443");
}

TEST_F(ResolveCollectorAddressTest, ConfigFlagBeatsXdgAndHome) {
  env_["XDG_CONFIG_HOME"] = (temp_dir() / "xdg").string();
  WriteFile("xdg/eroomctl/config.yaml", "collector: xdg-host:1\n");
  const std::string explicit_path =
      WriteFile("explicit.yaml", "collector: explicit-host:2\n");
  EXPECT_EQ(*Resolve(std::nullopt, explicit_path), "explicit-host:2");
  EXPECT_EQ(*Resolve(std::nullopt), "xdg-host:1");
}

TEST_F(ResolveCollectorAddressTest, FallsBackToHomeConfig) {
  env_["HOME"] = temp_dir().string();
  WriteFile(".config/eroomctl/config.yaml", "collector: home-host:3\n");
  EXPECT_EQ(*Resolve(std::nullopt), "home-host:3");
}

TEST_F(ResolveCollectorAddressTest, ConfigWithoutCollectorKeyUsesDefault) {
  const std::string path = WriteFile("empty.yaml", "# nothing yet\n");
  EXPECT_EQ(*Resolve(std::nullopt, path), "127.0.0.1:7443");
}

TEST_F(ResolveCollectorAddressTest, UnknownConfigKeyNamesFileAndKey) {
  const std::string path =
      WriteFile("typo.yaml", "collector: a:1\ncolector: b:2\n");
  absl::StatusOr<std::string> address = Resolve(std::nullopt, path);
  ASSERT_FALSE(address.ok());
  EXPECT_NE(address.status().message().find(path), absl::string_view::npos);
  EXPECT_NE(address.status().message().find("colector: unknown key"),
            absl::string_view::npos)
      << address.status();
  // Strict even when the flag would win: a broken file is worth knowing.
  EXPECT_FALSE(Resolve("flag-host:1", path).ok());
}

TEST_F(ResolveCollectorAddressTest, MissingExplicitConfigIsAnError) {
  absl::StatusOr<std::string> address =
      Resolve(std::nullopt, (temp_dir() / "nope.yaml").string());
  ASSERT_FALSE(address.ok());
  EXPECT_NE(address.status().message().find("nope.yaml"),
            absl::string_view::npos);
}

TEST_F(ResolveCollectorAddressTest, TlsWithSystemRootsAndNoTokenByDefault) {
  absl::StatusOr<CollectorConnection> connection = Connect(GlobalOptions());
  ASSERT_THAT(connection, IsOk());
  EXPECT_FALSE(connection->security.insecure);
  EXPECT_EQ(connection->security.ca_pem, "");
  EXPECT_EQ(connection->security.token, "");
}

TEST_F(ResolveCollectorAddressTest, TokenFlagBeatsEnvironmentBeatsConfigFile) {
  GlobalOptions options;
  options.config_path = WriteFile("token.yaml", "token: from-file\n");
  EXPECT_EQ(Connect(options)->security.token, "from-file");
  env_["EROOMCTL_TOKEN"] = "from-env";
  EXPECT_EQ(Connect(options)->security.token, "from-env");
  options.token = "from-flag";
  EXPECT_EQ(Connect(options)->security.token, "from-flag");
  options.token = "two words";
  absl::StatusOr<CollectorConnection> bad = Connect(options);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "--token: a token must be printable ASCII without spaces");
}

TEST_F(ResolveCollectorAddressTest, InsecureOnlyToLoopback) {
  GlobalOptions options;
  options.insecure = true;
  options.token = "t";
  absl::StatusOr<CollectorConnection> loopback = Connect(options);
  ASSERT_THAT(loopback, IsOk());
  EXPECT_TRUE(loopback->security.insecure);
  EXPECT_EQ(loopback->security.token, "t");

  options.collector = "collector.example:7443";
  absl::StatusOr<CollectorConnection> remote = Connect(options);
  ASSERT_FALSE(remote.ok());
  EXPECT_NE(remote.status().message().find(
                "--insecure: plaintext refused on 'collector.example:7443'"),
            absl::string_view::npos)
      << remote.status();

  // The file's insecure: true is checked against the address finally used.
  const std::string path = WriteFile("plain.yaml", "insecure: true\n");
  env_["EROOMCTL_COLLECTOR"] = "collector.example:7443";
  absl::StatusOr<std::string> from_file = Resolve(std::nullopt, path);
  ASSERT_FALSE(from_file.ok());
  EXPECT_NE(from_file.status().message().find(path + ": insecure: plaintext "
                                                     "refused"),
            absl::string_view::npos)
      << from_file.status();
}

TEST_F(ResolveCollectorAddressTest, CaFlagMustBeAReadableCertificate) {
  GlobalOptions options;
  options.ca_path = WriteFile("ca.crt", "not a certificate\n");
  absl::StatusOr<CollectorConnection> bad = Connect(options);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "--ca: " + *options.ca_path + " holds no PEM certificate");
}

TEST_F(ResolveCollectorAddressTest, ConfigFileTlsKeysNameFileAndKey) {
  const std::string path =
      WriteFile("tls.yaml", "ca: /nonexistent/ca.crt\ncert: /x.crt\n");
  absl::StatusOr<std::string> address = Resolve(std::nullopt, path);
  ASSERT_FALSE(address.ok());
  EXPECT_NE(address.status().message().find(
                path + ": ca: cannot read /nonexistent/ca.crt"),
            absl::string_view::npos)
      << address.status();
  EXPECT_NE(address.status().message().find(path + ": key: cert and key go"),
            absl::string_view::npos)
      << address.status();
}

TEST_F(ResolveCollectorAddressTest, RejectsAddressesWithoutPort) {
  EXPECT_FALSE(Resolve("collector.example").ok());
  EXPECT_FALSE(Resolve("host:99999").ok());
  EXPECT_FALSE(Resolve(":7443").ok());
  EXPECT_THAT(Resolve("[::1]:7443"), IsOk());
  env_["EROOMCTL_COLLECTOR"] = "nonsense";
  absl::StatusOr<std::string> from_env = Resolve(std::nullopt);
  ASSERT_FALSE(from_env.ok());
  EXPECT_NE(from_env.status().message().find("EROOMCTL_COLLECTOR"),
            absl::string_view::npos);
  const std::string path = WriteFile("bad.yaml", "collector: nowhere\n");
  env_.clear();
  absl::StatusOr<std::string> from_file = Resolve(std::nullopt, path);
  ASSERT_FALSE(from_file.ok());
  EXPECT_NE(from_file.status().message().find("collector: collector address"),
            absl::string_view::npos)
      << from_file.status();
}

}  // namespace
}  // namespace eroom::cli
