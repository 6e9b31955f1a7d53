// /metrics over HTTP(S): the `metrics_http:` section, the address
// allowlist, who may scrape, and the server answering real requests.
#include "collector/metrics_http.h"

#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "collector/collector_config.h"
#include "collector/token_hash.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "tests/unit/test_support/fake_clock.h"
#include "tests/unit/test_support/status_matchers.h"
#include "tests/unit/test_support/temp_dir.h"
#include "tests/unit/test_support/test_certificate.h"

namespace eroom::collector {
namespace {

using ::eroom::test_support::IsOk;
using ::eroom::test_support::StatusIs;
using ::eroom::test_support::TempDirTest;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

TEST(AddressAllowlistTest, MatchesAddressesAndNetworksOfBothFamilies) {
  absl::StatusOr<AddressAllowlist> allowlist = AddressAllowlist::Parse(
      {"10.0.0.0/8", "192.168.1.7", "fd00::/8", "::1", "172.16.0.0/12"});
  ASSERT_THAT(allowlist, IsOk());
  EXPECT_TRUE(allowlist->Allows("10.200.3.4"));
  EXPECT_TRUE(allowlist->Allows("192.168.1.7"));
  EXPECT_FALSE(allowlist->Allows("192.168.1.8"));
  EXPECT_TRUE(allowlist->Allows("172.31.255.255"));
  EXPECT_FALSE(allowlist->Allows("172.32.0.0"));
  EXPECT_TRUE(allowlist->Allows("fd12:3456::1"));
  EXPECT_TRUE(allowlist->Allows("::1"));
  EXPECT_FALSE(allowlist->Allows("fe80::1"));
  // An IPv4 peer seen through an IPv6 socket is its IPv4 address.
  EXPECT_TRUE(allowlist->Allows("::ffff:10.1.2.3"));
  EXPECT_FALSE(allowlist->Allows("11.0.0.1"));
  EXPECT_FALSE(allowlist->Allows(""));
  EXPECT_FALSE(allowlist->Allows("10.0.0.0/8"));
  EXPECT_FALSE(allowlist->Allows("not-an-address"));
}

TEST(AddressAllowlistTest, EmptyAllowsNoOne) {
  absl::StatusOr<AddressAllowlist> allowlist = AddressAllowlist::Parse({});
  ASSERT_THAT(allowlist, IsOk());
  EXPECT_FALSE(allowlist->Allows("127.0.0.1"));
}

TEST(AddressAllowlistTest, BadEntriesAreNamed) {
  for (const std::string bad : {"10.0.0.0/33", "::/129", "10.0.0.0/x",
                                "host.example", "10.0.0/8", ""}) {
    absl::StatusOr<AddressAllowlist> allowlist =
        AddressAllowlist::Parse({"127.0.0.1", bad});
    EXPECT_THAT(allowlist, StatusIs(absl::StatusCode::kInvalidArgument)) << bad;
    EXPECT_THAT(allowlist.status().message(),
                HasSubstr(absl::StrCat("'", bad, "' is not an IP address")));
  }
}

AuthConfig Tokens() {
  AuthConfig config;
  config.agents = {{"web-1", TokenSha256Hex("agent-token")}};
  config.users = {{"vera", Role::kViewer, TokenSha256Hex("viewer-token")},
                  {"ada", Role::kAdmin, TokenSha256Hex("admin-token")}};
  return config;
}

class MetricsAccessTest : public ::testing::Test {
 protected:
  int Status(std::optional<absl::string_view> authorization,
             absl::string_view peer = "10.9.9.9") {
    return DecideMetricsAccess(*allowlist_, authorizer_, authorization, peer)
        .http_status;
  }

  AuthConfig config_ = Tokens();
  AgentEnrollments enrollments_;
  FakeClock clock_;
  std::vector<std::string> logged_;
  RefusalLog refusals_{
      clock_, absl::Minutes(1),
      [this](const std::string& line) { logged_.push_back(line); }};
  Authorizer authorizer_{config_, MetricsScrapeAccess(), refusals_,
                         enrollments_};
  absl::StatusOr<AddressAllowlist> allowlist_ =
      AddressAllowlist::Parse({"192.168.0.0/16"});
};

TEST_F(MetricsAccessTest, ViewerOrHigherTokenMayScrape) {
  EXPECT_EQ(Status("Bearer viewer-token"), 200);
  EXPECT_EQ(Status("bearer admin-token"), 200);
  EXPECT_THAT(logged_, IsEmpty());
}

TEST_F(MetricsAccessTest, MissingOrUnknownTokenIs401AndAgentTokenIs403) {
  EXPECT_EQ(Status(std::nullopt), 401);
  EXPECT_EQ(Status("Bearer nope"), 401);
  EXPECT_EQ(Status("Basic dmlld2Vy"), 401);
  const MetricsAccessVerdict agent = DecideMetricsAccess(
      *allowlist_, authorizer_, "Bearer agent-token", "10.9.9.9");
  EXPECT_EQ(agent.http_status, 403);
  EXPECT_THAT(agent.reason, HasSubstr("agent tokens may only stream"));
  // Refusals are logged with the peer, rate-limited.
  ASSERT_FALSE(logged_.empty());
  EXPECT_THAT(logged_.front(),
              AllOf(HasSubstr("10.9.9.9"), HasSubstr(kMetricsPath)));
}

TEST_F(MetricsAccessTest, AllowlistedAddressNeedsNoToken) {
  EXPECT_EQ(Status(std::nullopt, "192.168.4.2"), 200);
  EXPECT_EQ(Status("Bearer nope", "192.168.4.2"), 200);
  EXPECT_EQ(Status(std::nullopt, "192.169.4.2"), 401);
}

class MetricsHttpConfigTest : public TempDirTest {
 protected:
  absl::StatusOr<CollectorConfig> Load(const std::string& yaml) {
    path_ = PathIn("collector.yaml");
    std::ofstream(path_) << yaml;
    return LoadCollectorConfig(path_);
  }
  std::string path_;
};

constexpr char kPlaintext[] = "tls: {mode: insecure}\nauth: {mode: none}\n";

TEST_F(MetricsHttpConfigTest, OffUnlessConfigured) {
  absl::StatusOr<CollectorConfig> config = Load(kPlaintext);
  ASSERT_THAT(config, IsOk());
  EXPECT_FALSE(config->metrics_http.enabled);
}

TEST_F(MetricsHttpConfigTest, ReadsListenAndAllow) {
  absl::StatusOr<CollectorConfig> config =
      Load(absl::StrCat(kPlaintext,
                        "metrics_http:\n  listen: 127.0.0.1:9464\n"
                        "  allow: [127.0.0.1, 10.0.0.0/8]\n"));
  ASSERT_THAT(config, IsOk());
  EXPECT_TRUE(config->metrics_http.enabled);
  EXPECT_EQ(config->metrics_http.listen, "127.0.0.1:9464");
  EXPECT_THAT(config->metrics_http.allow,
              ElementsAre("127.0.0.1", "10.0.0.0/8"));
}

TEST_F(MetricsHttpConfigTest, BadValuesNameFileKeyAndProblem) {
  struct Case {
    std::string yaml;
    std::string problem;
  };
  for (const Case& bad : std::vector<Case>{
           {"metrics_http: {}\n", "metrics_http.listen: required"},
           {"metrics_http: {listen: 9464}\n",
            "metrics_http.listen: '9464' is not host:port"},
           {"metrics_http: {listen: '127.0.0.1:70000'}\n",
            "metrics_http.listen: '127.0.0.1:70000' is not host:port"},
           {"metrics_http: {listen: '0.0.0.0:9464'}\n",
            "metrics_http.listen: plaintext (tls.mode: insecure) refused"},
           {"metrics_http: {listen: '127.0.0.1:9464', allow: [10.0.0.0/40]}\n",
            "metrics_http.allow: '10.0.0.0/40' is not an IP address or CIDR"},
           {"metrics_http: {listen: '127.0.0.1:9464', port: 3}\n",
            "metrics_http.port: unknown key"},
       }) {
    absl::StatusOr<CollectorConfig> config =
        Load(absl::StrCat(kPlaintext, bad.yaml));
    ASSERT_THAT(config, StatusIs(absl::StatusCode::kInvalidArgument))
        << bad.yaml;
    EXPECT_THAT(config.status().message(),
                HasSubstr(absl::StrCat(path_, ": ", bad.problem)));
  }
}

class MetricsHttpServerTest : public ::testing::Test {
 protected:
  std::unique_ptr<MetricsHttpServer> Start(const ServerSecurity& security) {
    absl::StatusOr<std::unique_ptr<MetricsHttpServer>> server =
        MetricsHttpServer::Start(
            MetricsHttpConfig{
                .enabled = true, .listen = "127.0.0.1:0", .allow = {}},
            security, authorizer_,
            [this](const std::map<int, uint64_t>& refused)
                -> absl::StatusOr<std::string> {
              refused_seen_ = refused;
              if (fail_render_) return absl::UnavailableError("busy");
              return std::string("eroom_host_up 1\n");
            });
    EXPECT_THAT(server, IsOk());
    return server.ok() ? *std::move(server) : nullptr;
  }

  AuthConfig config_ = Tokens();
  AgentEnrollments enrollments_;
  FakeClock clock_;
  RefusalLog refusals_{clock_, absl::Minutes(1), [](const std::string&) {}};
  Authorizer authorizer_{config_, MetricsScrapeAccess(), refusals_,
                         enrollments_};
  std::map<int, uint64_t> refused_seen_;
  bool fail_render_ = false;
};

TEST_F(MetricsHttpServerTest, PlaintextServesViewersAndCountsRefusals) {
  ServerSecurity plaintext;
  plaintext.insecure = true;
  std::unique_ptr<MetricsHttpServer> server = Start(plaintext);
  ASSERT_NE(server, nullptr);
  httplib::Client client("127.0.0.1", server->port());
  httplib::Result anonymous = client.Get(kMetricsPath);
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 401);
  EXPECT_EQ(anonymous->get_header_value("WWW-Authenticate"), "Bearer");
  EXPECT_EQ(
      client.Get(kMetricsPath, {{"Authorization", "Bearer wrong"}})->status,
      401);
  httplib::Result scraped =
      client.Get(kMetricsPath, {{"Authorization", "Bearer viewer-token"}});
  ASSERT_TRUE(scraped);
  EXPECT_EQ(scraped->status, 200);
  EXPECT_EQ(scraped->body, "eroom_host_up 1\n");
  EXPECT_THAT(scraped->get_header_value("Content-Type"),
              HasSubstr("text/plain; version=0.0.4"));
  EXPECT_EQ(refused_seen_, (std::map<int, uint64_t>{{401, 2}}));
  EXPECT_EQ(
      client.Get("/other", {{"Authorization", "Bearer viewer-token"}})->status,
      404);
  fail_render_ = true;
  EXPECT_EQ(
      client.Get(kMetricsPath, {{"Authorization", "Bearer viewer-token"}})
          ->status,
      503);
  server->Stop();
  EXPECT_FALSE(client.Get(kMetricsPath));
}

TEST_F(MetricsHttpServerTest, ServesTlsWithTheCollectorsCertificate) {
  const absl::Time now = absl::Now();
  test_support::TestCertificate certificate = test_support::MakeTestCertificate(
      "collector", now - absl::Hours(1), now + absl::Hours(1));
  ServerSecurity tls;
  tls.cert_pem = certificate.cert_pem;
  tls.key_pem = certificate.key_pem;
  std::unique_ptr<MetricsHttpServer> server = Start(tls);
  ASSERT_NE(server, nullptr);

  httplib::SSLClient client("127.0.0.1", server->port());
  client.enable_server_certificate_verification(false);
  httplib::Result scraped =
      client.Get(kMetricsPath, {{"Authorization", "Bearer viewer-token"}});
  ASSERT_TRUE(scraped) << httplib::to_string(scraped.error());
  EXPECT_EQ(scraped->status, 200);

  httplib::Client plaintext("127.0.0.1", server->port());
  EXPECT_FALSE(
      plaintext.Get(kMetricsPath, {{"Authorization", "Bearer viewer-token"}}) &&
      plaintext.Get(kMetricsPath)->status == 200);
}

TEST_F(MetricsHttpServerTest, UnusableKeyIsAnError) {
  const absl::Time now = absl::Now();
  ServerSecurity tls;
  tls.cert_pem =
      test_support::MakeTestCertificate("a", now, now + absl::Hours(1))
          .cert_pem;
  tls.key_pem =
      test_support::MakeTestCertificate("b", now, now + absl::Hours(1)).key_pem;
  absl::StatusOr<std::unique_ptr<MetricsHttpServer>> server =
      MetricsHttpServer::Start(
          MetricsHttpConfig{
              .enabled = true, .listen = "127.0.0.1:0", .allow = {}},
          tls, authorizer_, [](const std::map<int, uint64_t>&) {
            return absl::StatusOr<std::string>("");
          });
  EXPECT_THAT(server, StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace eroom::collector
