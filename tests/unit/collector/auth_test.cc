// TLS and tokens end to end: a real collector on 127.0.0.1 serving TLS with
// certificates made by deploy/make-dev-certs.sh, called the way eroom-agent
// and eroomctl call it (common/transport_security.h).
#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "collector/collector.h"
#include "collector/token_hash.h"
#include "common/transport_security.h"
#include "eroom/monitor/v1/monitor.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "spdlog/sinks/ostream_sink.h"
#include "spdlog/spdlog.h"
#include "tests/unit/test_support/fake_clock.h"
#include "tests/unit/test_support/status_matchers.h"
#include "tests/unit/test_support/temp_dir.h"

namespace eroom::collector {
namespace {
namespace v1 = ::eroom::monitor::v1;

using ::eroom::test_support::IsOk;
using ::eroom::test_support::TempDir;
using ::eroom::test_support::TempDirTest;
using ::testing::HasSubstr;

constexpr char kWeb1Token[] = "token-of-web-1";
constexpr char kEnrollmentToken[] = "enrollment-token";
constexpr char kViewerToken[] = "viewer-token";

using Stream = grpc::ClientReaderWriter<v1::AgentMessage, v1::CollectorMessage>;

class AuthTest : public TempDirTest {
 protected:
  // ctest runs each test as a program of its own, in parallel, so every
  // program makes the certificates in a directory of its own. Failing is
  // reported by SetUp: a fatal failure here would mark the tests skipped.
  static void SetUpTestSuite() {
    certs_ = new TempDir("auth_test_certs");
    certs_made_ =
        std::system(absl::StrCat(EROOM_SOURCE_DIR, "/deploy/make-dev-certs.sh ",
                                 certs_->path().string(), " >/dev/null")
                        .c_str()) == 0;
  }
  static void TearDownTestSuite() { delete certs_; }

  static std::string Pem(const std::string& name, PemKind kind) {
    absl::StatusOr<std::string> pem = ReadPemFile(certs_->PathIn(name), kind);
    EXPECT_THAT(pem, IsOk());
    return pem.value_or("");
  }

  void SetUp() override {
    TempDirTest::SetUp();
    ASSERT_TRUE(certs_made_) << "deploy/make-dev-certs.sh failed";
    config_.listen_address = "127.0.0.1:0";
    config_.database_path = PathIn("collector.db");
    config_.security.cert_pem = Pem("collector.crt", PemKind::kCertificates);
    config_.security.key_pem = Pem("collector.key", PemKind::kPrivateKey);
    config_.auth.agents = {{"web-1", TokenSha256Hex(kWeb1Token)},
                           {std::nullopt, TokenSha256Hex(kEnrollmentToken)}};
    config_.auth.users = {
        {"vera", Role::kViewer, TokenSha256Hex(kViewerToken)}};
  }

  void TearDown() override {
    if (collector_ != nullptr) collector_->Stop();
    TempDirTest::TearDown();
  }

  void StartCollector() {
    absl::StatusOr<std::unique_ptr<Collector>> collector =
        Collector::Start(config_, clock_);
    ASSERT_THAT(collector, IsOk());
    collector_ = *std::move(collector);
    address_ = absl::StrCat("127.0.0.1:", collector_->port());
  }

  // A client trusting the development CA, sending `token`.
  static ClientSecurity TrustingClient(const std::string& token) {
    ClientSecurity security;
    security.ca_pem = Pem("ca.crt", PemKind::kCertificates);
    security.token = token;
    return security;
  }

  grpc::Status ListHosts(const ClientSecurity& security) {
    std::unique_ptr<v1::QueryService::Stub> stub =
        v1::QueryService::NewStub(CreateSecureChannel(address_, security));
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    AddCallCredentials(security, &context);
    v1::ListHostsResponse response;
    return stub->ListHosts(&context, v1::ListHostsRequest(), &response);
  }

  // Streams a hello as `agent_id`; OK once it was acknowledged, else the
  // status the collector closed the stream with.
  grpc::Status Hello(const ClientSecurity& security,
                     const std::string& agent_id) {
    std::unique_ptr<v1::AgentService::Stub> stub =
        v1::AgentService::NewStub(CreateSecureChannel(address_, security));
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    AddCallCredentials(security, &context);
    std::unique_ptr<Stream> stream = stub->Connect(&context);
    v1::AgentMessage hello;
    hello.mutable_hello()->set_agent_id(agent_id);
    stream->Write(hello);
    v1::CollectorMessage reply;
    const bool acknowledged = stream->Read(&reply) && reply.has_hello_ack();
    stream->WritesDone();
    grpc::Status status = stream->Finish();
    if (status.ok() && !acknowledged) {
      return grpc::Status(grpc::StatusCode::INTERNAL, "no hello_ack");
    }
    return status;
  }

  static TempDir* certs_;
  static bool certs_made_;
  FakeClock clock_;
  CollectorConfig config_;
  std::unique_ptr<Collector> collector_;
  std::string address_;
};

TempDir* AuthTest::certs_ = nullptr;
bool AuthTest::certs_made_ = false;

TEST_F(AuthTest, NoTokenOrAWrongOneIsUnauthenticated) {
  StartCollector();
  grpc::Status none = ListHosts(TrustingClient(""));
  EXPECT_EQ(none.error_code(), grpc::StatusCode::UNAUTHENTICATED)
      << none.error_message();
  grpc::Status wrong = ListHosts(TrustingClient("guessed"));
  EXPECT_EQ(wrong.error_code(), grpc::StatusCode::UNAUTHENTICATED)
      << wrong.error_message();
  EXPECT_EQ(Hello(TrustingClient(""), "web-1").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(AuthTest, ViewerMayQueryButNotStream) {
  StartCollector();
  grpc::Status query = ListHosts(TrustingClient(kViewerToken));
  EXPECT_TRUE(query.ok()) << query.error_message();
  EXPECT_EQ(Hello(TrustingClient(kViewerToken), "web-1").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(AuthTest, AgentTokensStreamButDoNotQuery) {
  StartCollector();
  EXPECT_EQ(ListHosts(TrustingClient(kWeb1Token)).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  grpc::Status own = Hello(TrustingClient(kWeb1Token), "web-1");
  EXPECT_TRUE(own.ok()) << own.error_message();
  grpc::Status enrolled = Hello(TrustingClient(kEnrollmentToken), "new-host");
  EXPECT_TRUE(enrolled.ok()) << enrolled.error_message();
}

TEST_F(AuthTest, PerAgentTokenUsedForAnotherAgentIdIsPermissionDenied) {
  StartCollector();
  grpc::Status other = Hello(TrustingClient(kWeb1Token), "web-2");
  EXPECT_EQ(other.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(other.error_message(),
              HasSubstr("the token of agent 'web-1' may not stream as agent "
                        "'web-2'"));
}

TEST_F(AuthTest, PlaintextClientToTheTlsServerFails) {
  StartCollector();
  ClientSecurity plaintext;
  plaintext.insecure = true;
  plaintext.token = kViewerToken;
  grpc::Status status = ListHosts(plaintext);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << status.error_message();
}

TEST_F(AuthTest, ClientNotTrustingTheCaFails) {
  StartCollector();
  ClientSecurity system_roots;
  system_roots.token = kViewerToken;
  EXPECT_EQ(ListHosts(system_roots).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(AuthTest, MutualTlsRefusesClientsWithoutACertificate) {
  config_.security.client_ca_pem = Pem("ca.crt", PemKind::kCertificates);
  StartCollector();
  EXPECT_EQ(ListHosts(TrustingClient(kViewerToken)).error_code(),
            grpc::StatusCode::UNAVAILABLE);

  ClientSecurity with_certificate = TrustingClient(kViewerToken);
  with_certificate.cert_pem = Pem("client.crt", PemKind::kCertificates);
  with_certificate.key_pem = Pem("client.key", PemKind::kPrivateKey);
  grpc::Status status = ListHosts(with_certificate);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST_F(AuthTest, ServerNameOverrideChecksThatNameInstead) {
  StartCollector();
  ClientSecurity security = TrustingClient(kViewerToken);
  security.server_name = "localhost";
  EXPECT_TRUE(ListHosts(security).ok());
  security.server_name = "somebody-else.example";
  EXPECT_EQ(ListHosts(security).error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(AuthTest, RepeatedRefusalsAreLoggedOnceWithThePeerAddress) {
  std::ostringstream log;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log);
  spdlog::default_logger()->sinks().push_back(sink);
  StartCollector();
  for (int i = 0; i < 3; ++i) ListHosts(TrustingClient("guessed"));
  collector_->Stop();
  spdlog::default_logger()->sinks().pop_back();

  const std::string text = log.str();
  const std::string refusal = "refused a call from ipv4:127.0.0.1:";
  const size_t first = text.find(refusal);
  ASSERT_NE(first, std::string::npos) << text;
  EXPECT_EQ(text.find(refusal, first + 1), std::string::npos) << text;
  EXPECT_THAT(text, HasSubstr("QueryService/ListHosts: UNAUTHENTICATED: "
                              "unknown token"));
}

}  // namespace
}  // namespace eroom::collector
