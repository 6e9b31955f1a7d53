#include <stdlib.h>

#include <fstream>
#include <string>

#include "collector/alerting/notification_config.h"
#include "collector/collector_config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/test_support/config_section.h"
#include "tests/unit/test_support/status_matchers.h"
#include "tests/unit/test_support/temp_dir.h"

namespace eroom::collector::alerting {
namespace {

using ::eroom::test_support::ParseConfigSection;
using ::eroom::test_support::StatusIs;
using ::eroom::test_support::TempDirTest;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

constexpr char kSecretUrl[] = "https://hooks.example.com/services/s3cret";

class NotificationConfigTest : public TempDirTest {
 protected:
  void SetUp() override {
    setenv("EROOM_TEST_HOOK_URL", kSecretUrl, 1);
    setenv("EROOM_TEST_SMTP_PASSWORD", "smtp-s3cret", 1);
  }
  void TearDown() override {
    unsetenv("EROOM_TEST_HOOK_URL");
    unsetenv("EROOM_TEST_SMTP_PASSWORD");
  }

  NotificationConfig Parse(const std::string& yaml) {
    problems_ = std::make_unique<ConfigProblems>("collector.yaml");
    return ParseConfigSection(
        yaml, "notifications", *problems_, [&](ConfigMap& section) {
          return ParseNotificationConfig(section, temp_dir().string());
        });
  }
  std::string Problems() const {
    return std::string(problems_->ToStatus().message());
  }

  std::unique_ptr<ConfigProblems> problems_;
};

TEST_F(NotificationConfigTest, ReadsEveryKindOfReceiverAndRoute) {
  { std::ofstream(PathIn("slack.url")) << "https://hooks.slack.com/x/y\n"; }
  const NotificationConfig config = Parse(R"(
notifications:
  group_wait: 5s
  group_interval: 2m
  repeat_interval: 1h
  timeout: 3s
  retry: {attempts: 5, backoff: 2s, max_backoff: 1m}
  receivers:
    - {name: hook, type: webhook, url_env: EROOM_TEST_HOOK_URL}
    - {name: slack, type: slack, url_file: slack.url, send_resolved: false}
    - name: mail
      type: email
      smarthost: mail.example.com:587
      username: eroom
      password_env: EROOM_TEST_SMTP_PASSWORD
      from: eroom@example.com
      to: [ops@example.com]
    - {name: pager, type: program, argv: [/usr/bin/tee, /tmp/x], timeout: 1s}
  routes:
    - {severity: [critical], receivers: [pager], continue: true}
    - {matchers: ["alertname=~room_.*"], receivers: [slack], group_wait: 0s}
  default_receivers: [mail, hook]
)");
  ASSERT_TRUE(problems_->empty()) << Problems();
  ASSERT_THAT(config.receivers, SizeIs(4));
  EXPECT_EQ(config.receivers[0].url, kSecretUrl);
  EXPECT_EQ(config.receivers[0].timeout, absl::Seconds(3));
  EXPECT_EQ(config.receivers[0].retry.attempts, 5);
  EXPECT_EQ(config.receivers[1].type, ReceiverConfig::Type::kSlack);
  EXPECT_EQ(config.receivers[1].url, "https://hooks.slack.com/x/y");
  EXPECT_FALSE(config.receivers[1].send_resolved);
  EXPECT_EQ(config.receivers[2].password, "smtp-s3cret");
  EXPECT_EQ(config.receivers[2].tls, ReceiverConfig::SmtpTls::kStartTls);
  EXPECT_THAT(config.receivers[2].to, ElementsAre("ops@example.com"));
  EXPECT_THAT(config.receivers[3].argv, ElementsAre("/usr/bin/tee", "/tmp/x"));
  EXPECT_EQ(config.receivers[3].timeout, absl::Seconds(1));
  ASSERT_THAT(config.routes, SizeIs(2));
  EXPECT_THAT(config.routes[0].severities, ElementsAre(Severity::kCritical));
  EXPECT_TRUE(config.routes[0].continue_matching);
  EXPECT_EQ(config.routes[0].timing.group_wait, absl::Seconds(5));
  EXPECT_EQ(config.routes[1].timing.group_wait, absl::ZeroDuration());
  EXPECT_EQ(config.routes[1].timing.group_interval, absl::Minutes(2));
  EXPECT_THAT(config.routes[1].matchers, SizeIs(1));
  EXPECT_THAT(config.default_receivers, ElementsAre("mail", "hook"));
  EXPECT_EQ(config.timing.repeat_interval, absl::Hours(1));
}

TEST_F(NotificationConfigTest, AbsentMeansNoReceivers) {
  EXPECT_TRUE(Parse("listen: x\n").empty());
  EXPECT_TRUE(problems_->empty()) << Problems();
}

TEST_F(NotificationConfigTest, AnInlineSecretIsAProblemThatDoesNotQuoteIt) {
  Parse(R"(
notifications:
  receivers:
    - {name: hook, type: webhook, url: "https://hooks.example.com/inline-s3cret"}
  default_receivers: [hook]
)");
  EXPECT_THAT(Problems(),
              HasSubstr("collector.yaml: notifications.receivers[0] (hook): "
                        "url: a secret is not written in the config"));
  EXPECT_THAT(Problems(), Not(HasSubstr("inline-s3cret")));
}

TEST_F(NotificationConfigTest, SecretProblemsNameTheKeyNeverTheValue) {
  Parse(R"(
notifications:
  receivers:
    - {name: a, type: webhook, url_env: EROOM_TEST_UNSET_VARIABLE}
    - {name: b, type: slack, url_file: missing.url}
    - {name: c, type: webhook}
    - {name: d, type: webhook, url_env: EROOM_TEST_SMTP_PASSWORD}
    - name: e
      type: email
      smarthost: mail.example.com:25
      tls: none
      username: eroom
      password_env: EROOM_TEST_SMTP_PASSWORD
      from: eroom@example.com
      to: [ops@example.com]
  default_receivers: [a]
)");
  const std::string problems = Problems();
  EXPECT_THAT(problems,
              HasSubstr("notifications.receivers[0] (a): url_env: environment "
                        "variable EROOM_TEST_UNSET_VARIABLE is not set"));
  EXPECT_THAT(problems, HasSubstr("notifications.receivers[1] (b): url_file: "
                                  "cannot read "));
  EXPECT_THAT(problems, HasSubstr("notifications.receivers[2] (c): url: "
                                  "missing: url_env"));
  EXPECT_THAT(problems, HasSubstr("notifications.receivers[3] (d): url: the "
                                  "URL given does not start with https://"));
  EXPECT_THAT(problems, HasSubstr("notifications.receivers[4] (e): tls: none "
                                  "would send the password in the clear"));
  EXPECT_THAT(problems, Not(HasSubstr("smtp-s3cret")));
}

TEST_F(NotificationConfigTest, BadReceiversNameTheKey) {
  Parse(R"(
notifications:
  receivers:
    - {type: webhook, url_env: EROOM_TEST_HOOK_URL}
    - {name: mail, type: email, smarthost: nowhere, to: [not-an-address]}
    - {name: run, type: program, argv: [page-oncall]}
    - {name: run2, type: program, argv: [/nonexistent/page]}
    - {name: odd, type: carrier-pigeon}
    - {name: hook, type: webhook, url_env: EROOM_TEST_HOOK_URL, smarthost: x:25}
    - {name: hook, type: webhook, url_env: EROOM_TEST_HOOK_URL}
  default_receivers: [hook, nobody]
)");
  const std::string problems = Problems();
  EXPECT_THAT(problems,
              HasSubstr("notifications.receivers[0] (no name): name: missing"));
  EXPECT_THAT(problems, HasSubstr("notifications.receivers[1] (mail): "
                                  "smarthost: 'nowhere' is not host:port"));
  EXPECT_THAT(problems, HasSubstr("notifications.receivers[1] (mail): from: "
                                  "missing"));
  EXPECT_THAT(problems, HasSubstr("notifications.receivers[1] (mail): to: "
                                  "'not-an-address' is not an address"));
  EXPECT_THAT(problems, HasSubstr("notifications.receivers[2] (run): argv: "
                                  "'page-oncall' is not an absolute path"));
  EXPECT_THAT(problems, HasSubstr("notifications.receivers[3] (run2): argv: "
                                  "'/nonexistent/page' is not an executable"));
  EXPECT_THAT(problems, HasSubstr("notifications.receivers[4].type: "
                                  "'carrier-pigeon' is not one of"));
  EXPECT_THAT(problems,
              HasSubstr("notifications.receivers[5].smarthost: unknown key"));
  EXPECT_THAT(problems, HasSubstr("notifications.receivers[6] (hook): name: "
                                  "another receiver has it"));
  EXPECT_THAT(problems, HasSubstr("notifications.default_receivers: unknown "
                                  "receiver 'nobody'"));
}

TEST_F(NotificationConfigTest, BadRoutesNameTheKey) {
  Parse(R"(
notifications:
  receivers:
    - {name: hook, type: webhook, url_env: EROOM_TEST_HOOK_URL}
  routes:
    - {severity: [urgent], matchers: ["host=~("], receivers: [hook, pager]}
    - {matchers: [host]}
  group_interval: soon
)");
  const std::string problems = Problems();
  EXPECT_THAT(problems,
              HasSubstr("notifications.routes[0] (to hook, pager): severity: "
                        "'urgent' is not one of: info, warning, critical"));
  EXPECT_THAT(problems, HasSubstr("notifications.routes[0] (to hook, pager): "
                                  "matchers: matcher 'host=~(': bad regular "
                                  "expression"));
  EXPECT_THAT(problems, HasSubstr("notifications.routes[0] (to hook, pager): "
                                  "receivers: unknown receiver 'pager'"));
  EXPECT_THAT(problems, HasSubstr("notifications.routes[1] (no receivers): "
                                  "receivers: missing"));
  EXPECT_THAT(problems, HasSubstr("notifications.routes[1] (no receivers): "
                                  "matchers: matcher 'host'"));
  EXPECT_THAT(problems, HasSubstr("notifications.group_interval: expected a "
                                  "duration"));
}

TEST_F(NotificationConfigTest, ReceiversNeedARoute) {
  Parse(R"(
notifications:
  receivers:
    - {name: hook, type: webhook, url_env: EROOM_TEST_HOOK_URL}
)");
  EXPECT_THAT(Problems(),
              HasSubstr("notifications.default_receivers: missing"));
}

TEST_F(NotificationConfigTest, TheCollectorConfigReadsTheSection) {
  const std::string path = PathIn("collector.yaml");
  {
    std::ofstream(PathIn("hook.url")) << kSecretUrl << "\n";
    std::ofstream(path) << R"(
auth: {mode: none}
tls: {mode: insecure}
notifications:
  receivers:
    - {name: hook, type: webhook, url_file: hook.url}
  default_receivers: [hook]
)";
  }
  absl::StatusOr<CollectorConfig> config = LoadCollectorConfig(path);
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_THAT(config->notifications.receivers, SizeIs(1));
  EXPECT_EQ(config->notifications.receivers[0].url, kSecretUrl);

  {
    std::ofstream(path) << R"(
auth: {mode: none}
tls: {mode: insecure}
notifications:
  receivers:
    - {name: hook, type: webhook, url_env: EROOM_TEST_UNSET_VARIABLE}
  default_receivers: [hook]
)";
  }
  EXPECT_THAT(LoadCollectorConfig(path),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr(path + ": notifications.receivers[0] (hook): "
                                        "url_env: environment variable")));
}

TEST(RetryPolicyTest, BackoffDoublesUpToItsMaximum) {
  const RetryPolicy policy{.attempts = 6,
                           .backoff = absl::Seconds(1),
                           .max_backoff = absl::Seconds(5)};
  EXPECT_EQ(policy.BackoffAfter(1), absl::Seconds(1));
  EXPECT_EQ(policy.BackoffAfter(2), absl::Seconds(2));
  EXPECT_EQ(policy.BackoffAfter(3), absl::Seconds(4));
  EXPECT_EQ(policy.BackoffAfter(4), absl::Seconds(5));
  EXPECT_EQ(policy.BackoffAfter(20), absl::Seconds(5));
}

}  // namespace
}  // namespace eroom::collector::alerting
