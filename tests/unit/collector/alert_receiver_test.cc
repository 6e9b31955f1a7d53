#include <curl/curl.h>

#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/time/clock.h"
#include "collector/alerting/notification_render.h"
#include "collector/alerting/receiver.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/unit/collector/alert_notification_test_support.h"
#include "tests/unit/test_support/status_matchers.h"
#include "tests/unit/test_support/temp_dir.h"

namespace eroom::collector::alerting {
namespace {

using ::eroom::collector::alerting::test_support::FiringNotification;
using ::eroom::collector::alerting::test_support::RecordingHttpServer;
using ::eroom::collector::alerting::test_support::SmtpSink;
using ::eroom::collector::alerting::test_support::SmtpSinkOptions;
using ::eroom::test_support::IsOk;
using ::eroom::test_support::StatusIs;
using ::eroom::test_support::TempDirTest;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::SizeIs;

constexpr char kSecretPath[] = "/services/T000/B000/s3cretToken";

class ReceiverTest : public TempDirTest {
 protected:
  static void SetUpTestSuite() { curl_global_init(CURL_GLOBAL_DEFAULT); }

  static ReceiverConfig Http(ReceiverConfig::Type type,
                             const std::string& url) {
    ReceiverConfig config;
    config.name = "ops";
    config.type = type;
    config.url = url;
    config.timeout = absl::Seconds(5);
    return config;
  }
};

TEST_F(ReceiverTest, WebhookPostsAlertmanagerLikeJson) {
  RecordingHttpServer server;
  std::unique_ptr<Receiver> receiver = MakeReceiver(
      Http(ReceiverConfig::Type::kWebhook, server.url(kSecretPath)));
  ASSERT_THAT(receiver->Send(FiringNotification(7)), IsOk());

  ASSERT_THAT(server.bodies(), SizeIs(1));
  EXPECT_EQ(server.paths()[0], kSecretPath);
  EXPECT_EQ(server.content_types()[0], "application/json");
  const nlohmann::json payload = nlohmann::json::parse(server.bodies()[0]);
  EXPECT_EQ(payload["receiver"], "ops");
  EXPECT_EQ(payload["status"], "firing");
  EXPECT_EQ(payload["groupLabels"]["alertname"], "room_error");
  EXPECT_EQ(payload["commonLabels"]["host"], "web-01");
  ASSERT_EQ(payload["alerts"].size(), 1u);
  const nlohmann::json& alert = payload["alerts"][0];
  EXPECT_EQ(alert["status"], "firing");
  EXPECT_EQ(alert["labels"]["severity"], "critical");
  EXPECT_EQ(alert["annotations"]["summary"], "3 rooms failed on web-01");
  EXPECT_EQ(alert["count"], 3);
  EXPECT_EQ(alert["id"], 7);
  EXPECT_EQ(alert["startsAt"], "2025-06-15T15:06:40.000Z");
}

TEST_F(ReceiverTest, SlackPostsTextAndBlocks) {
  RecordingHttpServer server;
  std::unique_ptr<Receiver> receiver =
      MakeReceiver(Http(ReceiverConfig::Type::kSlack, server.url(kSecretPath)));
  Notification notification = FiringNotification();
  notification.alerts[0].summary = "a <b> & c";
  ASSERT_THAT(receiver->Send(notification), IsOk());

  ASSERT_THAT(server.bodies(), SizeIs(1));
  const nlohmann::json payload = nlohmann::json::parse(server.bodies()[0]);
  EXPECT_EQ(payload["text"], "[FIRING:1] room_error web-01");
  ASSERT_GE(payload["blocks"].size(), 2u);
  const std::string section = payload["blocks"][1]["text"]["text"];
  EXPECT_THAT(section, HasSubstr("a &lt;b&gt; &amp; c"));
  EXPECT_THAT(section, HasSubstr("room_error on web-01"));
}

TEST_F(ReceiverTest, HttpErrorsNameTheStatusButNotTheSecretUrl) {
  RecordingHttpServer server({500});
  std::unique_ptr<Receiver> receiver = MakeReceiver(
      Http(ReceiverConfig::Type::kWebhook, server.url(kSecretPath)));
  const absl::Status sent = receiver->Send(FiringNotification());
  EXPECT_THAT(sent,
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("HTTP 500")));
  EXPECT_THAT(std::string(sent.message()), HasSubstr("127.0.0.1"));
  EXPECT_THAT(std::string(sent.message()), Not(HasSubstr("s3cretToken")));
}

TEST_F(ReceiverTest, ConnectionErrorsDoNotShowTheSecretUrl) {
  // A port nobody listens on: bound and closed again.
  std::string url;
  {
    RecordingHttpServer gone;
    url = gone.url(kSecretPath);
  }
  std::unique_ptr<Receiver> receiver =
      MakeReceiver(Http(ReceiverConfig::Type::kWebhook, url));
  const absl::Status sent = receiver->Send(FiringNotification());
  EXPECT_FALSE(sent.ok());
  EXPECT_THAT(std::string(sent.message()), Not(HasSubstr("s3cretToken")));
  EXPECT_THAT(std::string(sent.message()), Not(HasSubstr("services")));
}

TEST_F(ReceiverTest, EmailArrivesWithSubjectBodyAndCredentials) {
  SmtpSink sink;
  ReceiverConfig config;
  config.name = "mail";
  config.type = ReceiverConfig::Type::kEmail;
  config.smarthost = sink.smarthost();
  config.tls = ReceiverConfig::SmtpTls::kNone;
  config.username = "eroom";
  config.password = "smtp-s3cret";
  config.from = "eroom@example.com";
  config.to = {"ops@example.com", "oncall@example.com"};
  std::unique_ptr<Receiver> receiver = MakeReceiver(config);
  ASSERT_THAT(receiver->Send(FiringNotification()), IsOk());

  std::optional<test_support::SmtpMessage> message =
      sink.WaitForMessage(absl::Seconds(5));
  ASSERT_TRUE(message.has_value());
  EXPECT_EQ(message->from, "<eroom@example.com>");
  EXPECT_THAT(message->to, testing::ElementsAre("<ops@example.com>",
                                                "<oncall@example.com>"));
  EXPECT_THAT(message->data,
              HasSubstr("Subject: [FIRING:1] room_error web-01\r\n"));
  EXPECT_THAT(message->data, HasSubstr("From: eroom@example.com\r\n"));
  EXPECT_THAT(message->data, HasSubstr("\r\n\r\n[FIRING:1] room_error web-01"
                                       "\r\n\r\nFiring:\r\n- critical "
                                       "room_error on web-01: 3 rooms failed "
                                       "on web-01\r\n"));
  std::string credentials;
  ASSERT_TRUE(absl::Base64Unescape(message->auth, &credentials));
  EXPECT_EQ(credentials, std::string("\0eroom\0smtp-s3cret", 18));
}

// Each TLS mode against a sink that demands it: the credentials and the
// message travel encrypted, verified against the sink's certificate.
class EmailTlsTest
    : public ReceiverTest,
      public testing::WithParamInterface<
          std::pair<SmtpSinkOptions::Tls, ReceiverConfig::SmtpTls>> {
 protected:
  ReceiverConfig MailTo(const SmtpSink& sink) {
    const std::string ca_file = PathIn("sink-ca.pem");
    std::ofstream(ca_file) << sink.cert_pem();
    ReceiverConfig config;
    config.name = "mail";
    config.type = ReceiverConfig::Type::kEmail;
    config.smarthost = sink.smarthost();
    config.tls = GetParam().second;
    config.ca_file = ca_file;
    config.username = "eroom";
    config.password = "smtp-s3cret";
    config.from = "eroom@example.com";
    config.to = {"ops@example.com"};
    return config;
  }
};

TEST_P(EmailTlsTest, MessageAndCredentialsTravelEncrypted) {
  SmtpSink sink({.tls = GetParam().first});
  ASSERT_THAT(MakeReceiver(MailTo(sink))->Send(FiringNotification()), IsOk());
  std::optional<test_support::SmtpMessage> message =
      sink.WaitForMessage(absl::Seconds(5));
  ASSERT_TRUE(message.has_value());
  EXPECT_TRUE(message->over_tls);
  EXPECT_FALSE(message->auth.empty());
  EXPECT_THAT(message->data,
              HasSubstr("Subject: [FIRING:1] room_error web-01\r\n"));
}

TEST_P(EmailTlsTest, UntrustedCertificateIsRefused) {
  SmtpSink sink({.tls = GetParam().first});
  ReceiverConfig config = MailTo(sink);
  SmtpSink other({.tls = GetParam().first});
  std::ofstream(config.ca_file) << other.cert_pem();  // Not the sink's.
  EXPECT_THAT(
      MakeReceiver(config)->Send(FiringNotification()),
      StatusIs(absl::StatusCode::kUnavailable, HasSubstr("SMTP to localhost")));
  EXPECT_FALSE(sink.WaitForMessage(absl::ZeroDuration()).has_value());
}

INSTANTIATE_TEST_SUITE_P(
    Modes, EmailTlsTest,
    testing::Values(std::pair(SmtpSinkOptions::Tls::kStartTls,
                              ReceiverConfig::SmtpTls::kStartTls),
                    std::pair(SmtpSinkOptions::Tls::kSmtps,
                              ReceiverConfig::SmtpTls::kSmtps)),
    [](const auto& info) {
      return info.param.second == ReceiverConfig::SmtpTls::kSmtps
                 ? std::string("Smtps")
                 : std::string("StartTls");
    });

TEST_F(ReceiverTest, ResolvedEmailSubject) {
  Notification notification = FiringNotification();
  notification.alerts[0].state = AlertState::kResolved;
  EXPECT_EQ(NotificationTitle(notification), "[RESOLVED] room_error web-01");
  EXPECT_THAT(RenderEmailBody(notification), HasSubstr("Resolved:\n"));
}

TEST_F(ReceiverTest, SmtpErrorsDoNotShowThePassword) {
  SmtpSink sink({.reject_recipients = true});
  ReceiverConfig config;
  config.name = "mail";
  config.type = ReceiverConfig::Type::kEmail;
  config.smarthost = sink.smarthost();
  config.tls = ReceiverConfig::SmtpTls::kNone;
  config.username = "eroom";
  config.password = "smtp-s3cret";
  config.from = "eroom@example.com";
  config.to = {"nobody@example.com"};
  const absl::Status sent = MakeReceiver(config)->Send(FiringNotification());
  EXPECT_THAT(sent, StatusIs(absl::StatusCode::kUnavailable,
                             HasSubstr("SMTP to 127.0.0.1")));
  EXPECT_THAT(std::string(sent.message()), Not(HasSubstr("smtp-s3cret")));
}

TEST_F(ReceiverTest, ProgramGetsTheJsonOnStdin) {
  const std::string out = PathIn("received.json");
  ReceiverConfig config;
  config.name = "pager";
  config.type = ReceiverConfig::Type::kProgram;
  config.argv = {"/usr/bin/tee", out};
  ASSERT_THAT(MakeReceiver(config)->Send(FiringNotification(9)), IsOk());

  std::ifstream in(out);
  std::stringstream text;
  text << in.rdbuf();
  const nlohmann::json payload = nlohmann::json::parse(text.str());
  EXPECT_EQ(payload["receiver"], "pager");
  EXPECT_EQ(payload["alerts"][0]["id"], 9);
}

TEST_F(ReceiverTest, ProgramFailureNamesTheExitStatusAndStderr) {
  ReceiverConfig config;
  config.name = "pager";
  config.type = ReceiverConfig::Type::kProgram;
  config.argv = {"/usr/bin/ls", PathIn("missing")};
  EXPECT_THAT(MakeReceiver(config)->Send(FiringNotification()),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("/usr/bin/ls exited with status 2: ")));
}

TEST_F(ReceiverTest, ProgramIsKilledAfterItsTimeout) {
  ReceiverConfig config;
  config.name = "pager";
  config.type = ReceiverConfig::Type::kProgram;
  config.argv = {"/usr/bin/sleep", "30"};
  config.timeout = absl::Milliseconds(200);
  const absl::Time start = absl::Now();
  EXPECT_THAT(
      MakeReceiver(config)->Send(FiringNotification()),
      StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("timed out")));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST(RedactTest, UrlsKeepOnlySchemeHostAndPort) {
  EXPECT_EQ(RedactUrl("https://hooks.slack.com/services/T/B/X"),
            "https://hooks.slack.com/<redacted>");
  EXPECT_EQ(RedactUrl("https://user:pw@example.com:8443/hook?token=x"),
            "https://example.com:8443/<redacted>");
  EXPECT_EQ(RedactUrl("not a url"), "<redacted>");
}

TEST(RedactTest, SecretsOfTheReceiverAreReplaced) {
  ReceiverConfig config;
  config.url = "https://example.com/hook/abc123";
  config.password = "hunter2";
  EXPECT_EQ(RedactSecrets("failed https://example.com/hook/abc123 and "
                          "/hook/abc123 with hunter2",
                          config),
            "failed <redacted> and <redacted> with <redacted>");
}

}  // namespace
}  // namespace eroom::collector::alerting
