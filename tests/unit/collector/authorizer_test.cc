// Who may call what: the method table, token checks, roles, and the
// rate-limited refusal log.
#include "collector/authorizer.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "collector/token_hash.h"
#include "eroom/monitor/v1/monitor.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/test_support/fake_clock.h"
#include "tests/unit/test_support/status_matchers.h"

namespace eroom::collector {
namespace {

using ::eroom::test_support::IsOk;
using ::eroom::test_support::IsOkAndHolds;
using ::eroom::test_support::StatusIs;
using ::testing::Each;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::SizeIs;

constexpr char kPeer[] = "ipv4:10.0.0.5:51234";
// Methods no RPC needs yet, so each access level has one to test against.
constexpr char kOperatorMethod[] = "/test.Service/Silence";
constexpr char kAdminMethod[] = "/test.Service/DeleteHost";

TEST(CollectorMethodAccessTest, EveryRpcOfTheProtocolHasARow) {
  const google::protobuf::FileDescriptor* file =
      eroom::monitor::v1::AgentMessage::descriptor()->file();
  size_t methods = 0;
  for (int s = 0; s < file->service_count(); ++s) {
    const google::protobuf::ServiceDescriptor* service = file->service(s);
    for (int m = 0; m < service->method_count(); ++m) {
      const std::string path = absl::StrCat("/", service->full_name(), "/",
                                            service->method(m)->name());
      EXPECT_TRUE(CollectorMethodAccess().contains(path))
          << path << " has no row in CollectorMethodAccess()";
      ++methods;
    }
  }
  EXPECT_EQ(CollectorMethodAccess().size(), methods);
  EXPECT_EQ(CollectorMethodAccess().at(kAgentConnectMethod), Access::kAgent);
  EXPECT_EQ(CollectorMethodAccess().at(kListHostsMethod), Access::kViewer);
}

class AuthorizerTest : public ::testing::Test {
 protected:
  AuthorizerTest() {
    config_.agents = {{"web-1", TokenSha256Hex("agent-web-1")},
                      {std::nullopt, TokenSha256Hex("enroll")}};
    config_.users = {{"vera", Role::kViewer, TokenSha256Hex("viewer")},
                     {"otto", Role::kOperator, TokenSha256Hex("operator")},
                     {"ada", Role::kAdmin, TokenSha256Hex("admin")}};
  }

  Authorizer Make() {
    MethodAccessTable methods = CollectorMethodAccess();
    methods[kOperatorMethod] = Access::kOperator;
    methods[kAdminMethod] = Access::kAdmin;
    return Authorizer(config_, std::move(methods), refusals_, enrollments_);
  }

  absl::StatusCode Code(Authorizer& authorizer, const std::string& token,
                        absl::string_view method) {
    return authorizer.Check(absl::StrCat("Bearer ", token), method, kPeer)
        .status()
        .code();
  }

  AuthConfig config_;
  AgentEnrollments enrollments_;
  FakeClock clock_;
  std::vector<std::string> logged_;
  RefusalLog refusals_{
      clock_, absl::Minutes(1),
      [this](const std::string& line) { logged_.push_back(line); }};
};

TEST_F(AuthorizerTest, MissingOrUnknownTokensAreUnauthenticated) {
  Authorizer authorizer = Make();
  const std::vector<std::optional<absl::string_view>> authorizations = {
      std::nullopt, "Bearer nope", "viewer", "Basic dmlld2Vy", "Bearer "};
  for (std::optional<absl::string_view> authorization : authorizations) {
    EXPECT_THAT(authorizer.Check(authorization, kListHostsMethod, kPeer),
                StatusIs(absl::StatusCode::kUnauthenticated))
        << authorization.value_or("(none)");
  }
  EXPECT_THAT(authorizer.Check("bearer viewer", kListHostsMethod, kPeer),
              IsOk());
}

TEST_F(AuthorizerTest, RolesIncludeTheOnesBelow) {
  Authorizer authorizer = Make();
  constexpr auto kOk = absl::StatusCode::kOk;
  constexpr auto kDenied = absl::StatusCode::kPermissionDenied;
  struct Row {
    const char* token;
    absl::StatusCode viewer, operator_, admin;
  };
  for (const Row& row :
       {Row{"viewer", kOk, kDenied, kDenied},
        Row{"operator", kOk, kOk, kDenied}, Row{"admin", kOk, kOk, kOk},
        Row{"agent-web-1", kDenied, kDenied, kDenied}}) {
    EXPECT_EQ(Code(authorizer, row.token, kQueryLogsMethod), row.viewer)
        << row.token;
    EXPECT_EQ(Code(authorizer, row.token, kOperatorMethod), row.operator_)
        << row.token;
    EXPECT_EQ(Code(authorizer, row.token, kAdminMethod), row.admin)
        << row.token;
  }
  EXPECT_THAT(authorizer.Check("Bearer viewer", kOperatorMethod, kPeer),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("user 'vera' (viewer) may not call this "
                                 "method: it needs role operator")));
}

TEST_F(AuthorizerTest, OnlyAgentTokensStream) {
  Authorizer authorizer = Make();
  EXPECT_EQ(Code(authorizer, "agent-web-1", kAgentConnectMethod),
            absl::StatusCode::kOk);
  EXPECT_EQ(Code(authorizer, "enroll", kAgentConnectMethod),
            absl::StatusCode::kOk);
  EXPECT_EQ(Code(authorizer, "admin", kAgentConnectMethod),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(AuthorizerTest, PerAgentTokensStreamAsTheirOwnIdOnly) {
  Authorizer authorizer = Make();
  absl::StatusOr<Caller> web1 =
      authorizer.Check("Bearer agent-web-1", kAgentConnectMethod, kPeer);
  ASSERT_THAT(web1, IsOk());
  absl::StatusOr<AgentAdmission> admitted =
      authorizer.AdmitAgent(*web1, "web-1", kPeer);
  ASSERT_THAT(admitted, IsOk());
  EXPECT_EQ(admitted->credential, TokenSha256Hex("agent-web-1"));
  EXPECT_EQ(admitted->issued_token, "");
  EXPECT_THAT(authorizer.AdmitAgent(*web1, "web-2", kPeer),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("'web-1' may not stream as agent 'web-2'")));
}

TEST_F(AuthorizerTest, IdWithItsOwnTokenIsNeverReachedWithTheEnrollmentToken) {
  Authorizer authorizer = Make();
  absl::StatusOr<Caller> enroller =
      authorizer.Check("Bearer enroll", kAgentConnectMethod, kPeer);
  ASSERT_THAT(enroller, IsOk());
  EXPECT_THAT(authorizer.AdmitAgent(*enroller, "web-1", kPeer),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("agent 'web-1' has a token of its own")));
  EXPECT_THAT(logged_, ElementsAre(HasSubstr(kPeer)));
}

TEST_F(AuthorizerTest, EnrollmentBindsTheIdToTheIssuedToken) {
  Authorizer authorizer = Make();
  absl::StatusOr<Caller> enroller =
      authorizer.Check("Bearer enroll", kAgentConnectMethod, kPeer);
  ASSERT_THAT(enroller, IsOk());
  absl::StatusOr<AgentAdmission> admitted =
      authorizer.AdmitAgent(*enroller, "db-1", kPeer);
  ASSERT_THAT(admitted, IsOk());
  const std::string token = admitted->issued_token;
  EXPECT_THAT(token, SizeIs(64));
  EXPECT_EQ(admitted->credential, TokenSha256Hex(token));
  // Reserved at once: a second enrollment of the id is refused even before
  // the first one committed.
  EXPECT_THAT(authorizer.AdmitAgent(*enroller, "db-1", kPeer),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("agent 'db-1' is enrolled")));
  // The issued token counts only once committed.
  EXPECT_THAT(authorizer.Check(absl::StrCat("Bearer ", token),
                               kAgentConnectMethod, kPeer),
              StatusIs(absl::StatusCode::kUnauthenticated));
  ASSERT_THAT(authorizer.CommitEnrollment("db-1"), IsOk());

  absl::StatusOr<Caller> enrolled = authorizer.Check(
      absl::StrCat("Bearer ", token), kAgentConnectMethod, kPeer);
  ASSERT_THAT(enrolled, IsOk());
  EXPECT_THAT(
      authorizer.AdmitAgent(*enrolled, "db-1", kPeer),
      IsOkAndHolds(Field(&AgentAdmission::credential, TokenSha256Hex(token))));
  EXPECT_THAT(authorizer.AdmitAgent(*enrolled, "db-2", kPeer),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(authorizer.AdmitAgent(*enroller, "db-1", kPeer),
              StatusIs(absl::StatusCode::kPermissionDenied));
  // The issued token is an agent's: no queries.
  EXPECT_THAT(
      authorizer.Check(absl::StrCat("Bearer ", token), kListHostsMethod, kPeer),
      StatusIs(absl::StatusCode::kPermissionDenied));
}

TEST_F(AuthorizerTest, AbandonedEnrollmentFreesTheId) {
  Authorizer authorizer = Make();
  absl::StatusOr<Caller> enroller =
      authorizer.Check("Bearer enroll", kAgentConnectMethod, kPeer);
  ASSERT_THAT(enroller, IsOk());
  ASSERT_THAT(authorizer.AdmitAgent(*enroller, "db-1", kPeer), IsOk());
  authorizer.AbandonEnrollment("db-1");
  EXPECT_THAT(authorizer.CommitEnrollment("db-1"),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(authorizer.AdmitAgent(*enroller, "db-1", kPeer), IsOk());
}

TEST_F(AuthorizerTest, UnlistedMethodsAreRefusedEvenToAdmins) {
  Authorizer authorizer = Make();
  EXPECT_EQ(Code(authorizer, "admin", "/test.Service/Unlisted"),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(AuthorizerTest, ModeNoneLetsAnyoneCallListedMethods) {
  config_.tokens_required = false;
  Authorizer authorizer = Make();
  absl::StatusOr<Caller> caller =
      authorizer.Check(std::nullopt, kAgentConnectMethod, kPeer);
  ASSERT_THAT(caller, IsOk());
  EXPECT_THAT(authorizer.AdmitAgent(*caller, "any", kPeer),
              IsOkAndHolds(Field(&AgentAdmission::issued_token, "")));
  EXPECT_THAT(authorizer.Check(std::nullopt, kAdminMethod, kPeer), IsOk());
  EXPECT_THAT(authorizer.Check(std::nullopt, "/x.Y/Z", kPeer),
              StatusIs(absl::StatusCode::kPermissionDenied));
}

TEST_F(AuthorizerTest, RefusalsAreLoggedWithThePeerAddress) {
  Authorizer authorizer = Make();
  ASSERT_THAT(authorizer.Check(std::nullopt, kListHostsMethod, kPeer),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(logged_, ElementsAre("refused a call from ipv4:10.0.0.5:51234: "
                                   "/eroom.monitor.v1.QueryService/ListHosts: "
                                   "UNAUTHENTICATED: no token: send metadata "
                                   "'authorization: Bearer <token>'"));
  ASSERT_THAT(authorizer.Check("Bearer viewer", kListHostsMethod, kPeer),
              IsOk());
  EXPECT_THAT(logged_, SizeIs(1));  // Accepted calls are not logged.
}

TEST(RefusalLogTest, RepeatsFromOneAddressAreCountedNotLogged) {
  FakeClock clock;
  std::vector<std::string> logged;
  RefusalLog log(clock, absl::Minutes(1),
                 [&](const std::string& line) { logged.push_back(line); });
  log.Refused("ipv4:10.0.0.5:1000", "X: unknown token");
  // Other ports of the same address, within the quiet period: counted.
  for (int port = 1001; port < 1100; ++port) {
    log.Refused(absl::StrCat("ipv4:10.0.0.5:", port), "X: unknown token");
  }
  // Another reason, or another address, is logged at once.
  log.Refused("ipv4:10.0.0.5:2000", "Y: unknown token");
  log.Refused("ipv4:10.0.0.6:2000", "X: unknown token");
  EXPECT_THAT(logged,
              ElementsAre("refused a call from ipv4:10.0.0.5:1000: X: unknown "
                          "token",
                          "refused a call from ipv4:10.0.0.5:2000: Y: unknown "
                          "token",
                          "refused a call from ipv4:10.0.0.6:2000: X: unknown "
                          "token"));

  clock.Advance(absl::Seconds(61));
  log.Refused("ipv4:10.0.0.5:3000", "X: unknown token");
  ASSERT_THAT(logged, SizeIs(4));
  EXPECT_EQ(logged[3],
            "refused a call from ipv4:10.0.0.5:3000: X: unknown token "
            "(repeated 99 times from this address in the last 1m1s)");
}

TEST(RefusalLogTest, TooManyAddressesAreCountedAndReported) {
  FakeClock clock;
  std::vector<std::string> logged;
  RefusalLog log(clock, absl::Minutes(1),
                 [&](const std::string& line) { logged.push_back(line); });
  for (int i = 0; i < 1024 + 5; ++i) {
    log.Refused(absl::StrCat("ipv6:[fd00::", i, "]:443"), "X: unknown token");
  }
  EXPECT_THAT(logged, SizeIs(1024));
  clock.Advance(absl::Minutes(2));
  log.Refused("ipv4:10.9.9.9:1", "X: unknown token");
  ASSERT_THAT(logged, SizeIs(1025));
  EXPECT_THAT(logged.back(),
              HasSubstr("; 5 refusals from too many other addresses went "
                        "unlogged"));
}

TEST(RefusalLogTest, PeersWithoutPortAreKeptWhole) {
  FakeClock clock;
  std::vector<std::string> logged;
  RefusalLog log(clock, absl::Minutes(1),
                 [&](const std::string& line) { logged.push_back(line); });
  log.Refused("unix:/run/eroom.sock", "X");
  log.Refused("unix:/run/other.sock", "X");
  EXPECT_THAT(logged, SizeIs(2));
  EXPECT_THAT(logged, Each(HasSubstr("unix:/run/")));
}

}  // namespace
}  // namespace eroom::collector
