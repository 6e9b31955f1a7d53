// TLS and tokens end to end: a real collector on 127.0.0.1 serving TLS with
// certificates made by deploy/make-dev-certs.sh, called the way eroom-agent
// and eroomctl call it (common/transport_security.h).
#include <cstdlib>
#include <filesystem>
#include <fstream>
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

MATCHER(IsGrpcOk, "is an OK gRPC status") {
  *result_listener << "whose status is " << arg.error_code() << ": "
                   << arg.error_message();
  return arg.ok();
}

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

  // Opens a stream as `agent_id` and waits for its HelloAck.
  struct OpenStream {
    std::unique_ptr<grpc::ClientContext> context;
    std::unique_ptr<v1::AgentService::Stub> stub;
    std::unique_ptr<Stream> stream;
    v1::HelloAck ack;
  };
  OpenStream Connect(const ClientSecurity& security,
                     const std::string& agent_id) {
    OpenStream open;
    open.stub =
        v1::AgentService::NewStub(CreateSecureChannel(address_, security));
    open.context = std::make_unique<grpc::ClientContext>();
    open.context->set_deadline(
        absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    AddCallCredentials(security, open.context.get());
    open.stream = open.stub->Connect(open.context.get());
    v1::AgentMessage hello;
    hello.mutable_hello()->set_agent_id(agent_id);
    open.stream->Write(hello);
    v1::CollectorMessage reply;
    EXPECT_TRUE(open.stream->Read(&reply));
    open.ack = reply.hello_ack();
    return open;
  }

  // Enrolls `agent_id` with the enrollment token; the token issued to it.
  std::string Enroll(const std::string& agent_id) {
    OpenStream open = Connect(TrustingClient(kEnrollmentToken), agent_id);
    open.stream->WritesDone();
    EXPECT_TRUE(open.stream->Finish().ok());
    return open.ack.agent_token();
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

TEST_F(AuthTest, EnrollmentTokenCannotStreamAsAnIdWithItsOwnToken) {
  StartCollector();
  grpc::Status status = Hello(TrustingClient(kEnrollmentToken), "web-1");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(), HasSubstr("has a token of its own"));
}

TEST_F(AuthTest, EnrolledIdIsBoundToTheTokenIssuedToIt) {
  StartCollector();
  const std::string issued = Enroll("db-1");
  ASSERT_EQ(issued.size(), 64u);

  // The enrollment token no longer streams as db-1; the issued token does,
  // and only as db-1.
  grpc::Status impersonated = Hello(TrustingClient(kEnrollmentToken), "db-1");
  EXPECT_EQ(impersonated.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(impersonated.error_message(), HasSubstr("'db-1' is enrolled"));
  EXPECT_THAT(Hello(TrustingClient(issued), "db-1"), IsGrpcOk());
  EXPECT_EQ(Hello(TrustingClient(issued), "db-2").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  // Only the digest is kept, readable by the collector's user alone.
  const std::string enrolled = EnrolledAgentsPath(config_);
  std::ifstream file(enrolled);
  std::stringstream content;
  content << file.rdbuf();
  EXPECT_EQ(content.str(), absl::StrCat("db-1 ", TokenSha256Hex(issued), "\n"));
  EXPECT_EQ(
      std::filesystem::status(enrolled).permissions(),
      std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);

  // A restarted collector still knows the binding.
  collector_->Stop();
  collector_.reset();
  StartCollector();
  EXPECT_THAT(Hello(TrustingClient(issued), "db-1"), IsGrpcOk());
  EXPECT_EQ(Hello(TrustingClient(kEnrollmentToken), "db-1").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(AuthTest, EnrollmentTokenCannotReplaceALiveEnrolledStream) {
  StartCollector();
  const std::string issued = Enroll("db-1");
  OpenStream live = Connect(TrustingClient(issued), "db-1");
  EXPECT_EQ(live.ack.agent_token(), "");  // Issued once only.

  EXPECT_EQ(Hello(TrustingClient(kEnrollmentToken), "db-1").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // The live stream was not replaced: it still stores and acknowledges.
  v1::AgentMessage batch;
  v1::Event* event = batch.mutable_batch()->add_events();
  event->set_sequence(1);
  event->mutable_notice()->set_kind("test");
  ASSERT_TRUE(live.stream->Write(batch));
  v1::CollectorMessage reply;
  ASSERT_TRUE(live.stream->Read(&reply));
  EXPECT_EQ(reply.ack().stored_through_sequence(), 1u);
  live.stream->WritesDone();
  EXPECT_THAT(live.stream->Finish(), IsGrpcOk());
}

}  // namespace
}  // namespace eroom::collector
