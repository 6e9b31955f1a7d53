#include "common/transport_security.h"

#include <cstdlib>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/test_support/config_section.h"
#include "tests/unit/test_support/status_matchers.h"
#include "tests/unit/test_support/temp_dir.h"
#include "tests/unit/test_support/test_certificate.h"

namespace eroom {
namespace {

using ::eroom::test_support::IsOk;
using ::eroom::test_support::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Certificates made once by deploy/make-dev-certs.sh, plus a few broken
// files. ctest runs each test as a program of its own, in parallel, so every
// program makes them in a directory of its own. Failing is reported by
// SetUp: a fatal failure in SetUpTestSuite would mark the tests skipped.
class TransportSecurityTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test_support::TempDir("transport_security_certs");
    const std::string make =
        absl::StrCat(EROOM_SOURCE_DIR, "/deploy/make-dev-certs.sh ",
                     dir_->path().string(), " >/dev/null");
    std::ofstream(Path("not-pem.txt")) << "hello\n";
    const std::string encrypt =
        absl::StrCat("openssl pkey -in ", Path("client.key"),
                     " -aes256 -passout pass:x -out ", Path("encrypted.key"));
    files_made_ =
        std::system(make.c_str()) == 0 && std::system(encrypt.c_str()) == 0;
  }
  static void TearDownTestSuite() { delete dir_; }

  void SetUp() override {
    ASSERT_TRUE(files_made_)
        << "deploy/make-dev-certs.sh or openssl pkey failed";
  }

  static std::string Path(const std::string& name) {
    return dir_->PathIn(name);
  }

  ServerSecurity Server(const std::string& yaml,
                        const std::string& listen = "127.0.0.1:7443") {
    return test_support::ParseConfigSection(
        yaml, "tls", problems_,
        [&](ConfigMap& tls) { return ParseServerSecurity(tls, listen); });
  }

  ClientSecurity Client(const std::string& yaml,
                        const std::string& target = "127.0.0.1:7443") {
    return test_support::ParseConfigSection(
        yaml, "collector", problems_, [&](ConfigMap& collector) {
          return ParseClientSecurity(collector, target);
        });
  }

  static test_support::TempDir* dir_;
  static bool files_made_;
  ConfigProblems problems_{"x.yaml"};
};

test_support::TempDir* TransportSecurityTest::dir_ = nullptr;
bool TransportSecurityTest::files_made_ = false;

TEST(LoopbackTest, RecognizesLoopbackHostsOnly) {
  for (const char* address :
       {"127.0.0.1:7443", "127.9.8.7:1", "localhost:7443", "LOCALHOST:1",
        "[::1]:7443", "::1", "dns:///localhost:7443", "ipv4:127.0.0.1:9",
        "[::ffff:127.0.0.1]:7443"}) {
    EXPECT_TRUE(IsLoopbackAddress(address)) << address;
  }
  for (const char* address :
       {"0.0.0.0:7443", "[::]:7443", "10.0.0.1:7443", "128.0.0.1:1",
        "collector.example:7443", "localhost.example:1", "[::2]:7443", ""}) {
    EXPECT_FALSE(IsLoopbackAddress(address)) << address;
  }
}

TEST(LoopbackTest, PlaintextElsewhereOnlyWhenForced) {
  EXPECT_THAT(CheckPlaintextAllowed("127.0.0.1:7443", false), IsOk());
  absl::Status refused = CheckPlaintextAllowed("0.0.0.0:7443", false);
  EXPECT_THAT(refused.message(), HasSubstr("'0.0.0.0:7443'"));
  EXPECT_THAT(refused.message(), HasSubstr("allow_insecure_remote"));
  EXPECT_THAT(CheckPlaintextAllowed("0.0.0.0:7443", true), IsOk());
}

TEST_F(TransportSecurityTest, ServerDefaultsToTlsAndNeedsCertAndKey) {
  ServerSecurity security = Server("");
  EXPECT_FALSE(security.insecure);
  EXPECT_THAT(problems_.lines(),
              ElementsAre(HasSubstr("x.yaml: tls.cert: required"),
                          HasSubstr("x.yaml: tls.key: required")));
}

TEST_F(TransportSecurityTest, ServerReadsCertificatesForMutualTls) {
  ServerSecurity security =
      Server(absl::StrCat("tls:\n  cert: ", Path("collector.crt"),
                          "\n  key: ", Path("collector.key"),
                          "\n  client_ca: ", Path("ca.crt"), "\n"));
  EXPECT_THAT(problems_.lines(), IsEmpty());
  EXPECT_FALSE(security.insecure);
  EXPECT_THAT(security.cert_pem, HasSubstr("BEGIN CERTIFICATE"));
  EXPECT_THAT(security.key_pem, HasSubstr("PRIVATE KEY"));
  EXPECT_THAT(security.client_ca_pem, HasSubstr("BEGIN CERTIFICATE"));
  EXPECT_TRUE(security.require_client_cert);
  EXPECT_NE(MakeServerCredentials(security), nullptr);
}

TEST_F(TransportSecurityTest, ServerFileProblemsNameFileAndKey) {
  Server(absl::StrCat("tls:\n  cert: ", Path("missing.crt"),
                      "\n  key: ", Path("not-pem.txt"),
                      "\n  client_ca: ", Path("collector.key"),
                      "\n  require_client_cert: maybe\n"));
  EXPECT_THAT(
      problems_.lines(),
      ElementsAre(
          HasSubstr("x.yaml: tls.require_client_cert: expected true or false"),
          HasSubstr(absl::StrCat("x.yaml: tls.cert: cannot read ",
                                 Path("missing.crt"),
                                 ": No such file or directory")),
          HasSubstr(absl::StrCat("x.yaml: tls.key: ", Path("not-pem.txt"),
                                 " holds no PEM private key")),
          HasSubstr(
              absl::StrCat("x.yaml: tls.client_ca: ", Path("collector.key"),
                           " holds no PEM certificate"))));
}

TEST_F(TransportSecurityTest, ServerKeyMustMatchCertificate) {
  Server(absl::StrCat("tls:\n  cert: ", Path("collector.crt"),
                      "\n  key: ", Path("client.key"), "\n"));
  EXPECT_THAT(problems_.lines(),
              ElementsAre("x.yaml: tls.key: is not the private key of the "
                          "certificate in tls.cert"));
}

TEST_F(TransportSecurityTest, PassphraseProtectedKeyIsAProblemNotAPrompt) {
  Server(absl::StrCat("tls:\n  cert: ", Path("client.crt"),
                      "\n  key: ", Path("encrypted.key"), "\n"));
  EXPECT_THAT(problems_.lines(),
              ElementsAre(HasSubstr("tls.key: " + Path("encrypted.key") +
                                    " holds no PEM private key (or it is "
                                    "passphrase-protected)")));
}

TEST_F(TransportSecurityTest, ServerPlaintextOnlyOnLoopbackUnlessForced) {
  ServerSecurity security = Server("tls:\n  mode: insecure\n");
  EXPECT_TRUE(security.insecure);
  EXPECT_THAT(problems_.lines(), IsEmpty());

  Server("tls:\n  mode: insecure\n", "0.0.0.0:7443");
  EXPECT_THAT(problems_.lines(),
              ElementsAre(HasSubstr("x.yaml: tls.mode: plaintext refused on "
                                    "'0.0.0.0:7443'")));

  ConfigProblems forced_problems("y.yaml");
  ConfigMap tls(YAML::Load("mode: insecure\nallow_insecure_remote: true\n"),
                "tls", &forced_problems);
  EXPECT_TRUE(ParseServerSecurity(tls, "0.0.0.0:7443").insecure);
  tls.Finish();
  EXPECT_THAT(forced_problems.lines(), IsEmpty());
}

TEST_F(TransportSecurityTest, ServerKeysOfTheOtherModeAreProblems) {
  Server("tls:\n  mode: insecure\n  cert: /a.crt\n  tls_port: 3\n");
  EXPECT_THAT(problems_.lines(),
              ElementsAre("x.yaml: tls.cert: not used with mode: insecure",
                          "x.yaml: tls.tls_port: unknown key"));
}

TEST_F(TransportSecurityTest, ClientDefaultsToTlsWithSystemRoots) {
  ClientSecurity security = Client("");
  EXPECT_THAT(problems_.lines(), IsEmpty());
  EXPECT_FALSE(security.insecure);
  EXPECT_EQ(security.ca_pem, "");
  EXPECT_EQ(security.token, "");
}

TEST_F(TransportSecurityTest, ClientReadsEveryKey) {
  ClientSecurity security = Client(absl::StrCat(
      "collector:\n  ca: ", Path("ca.crt"), "\n  cert: ", Path("client.crt"),
      "\n  key: ", Path("client.key"),
      "\n  server_name: collector.test\n  token: s3cret-T0ken\n"));
  EXPECT_THAT(problems_.lines(), IsEmpty());
  EXPECT_THAT(security.ca_pem, HasSubstr("BEGIN CERTIFICATE"));
  EXPECT_THAT(security.cert_pem, HasSubstr("BEGIN CERTIFICATE"));
  EXPECT_THAT(security.key_pem, HasSubstr("PRIVATE KEY"));
  EXPECT_EQ(security.server_name, "collector.test");
  EXPECT_EQ(security.token, "s3cret-T0ken");
}

TEST_F(TransportSecurityTest, ClientProblemsNameFileAndKey) {
  Client(absl::StrCat("collector:\n  ca: ", Path("nope.crt"), "\n  cert: ",
                      Path("client.crt"), "\n  token: two words\n"));
  EXPECT_THAT(
      problems_.lines(),
      ElementsAre(
          HasSubstr("x.yaml: collector.token: a token must be printable ASCII "
                    "without spaces"),
          HasSubstr(absl::StrCat("x.yaml: collector.ca: cannot read ",
                                 Path("nope.crt"))),
          HasSubstr("x.yaml: collector.key: cert and key go together")));
}

TEST_F(TransportSecurityTest, ClientPlaintextOnlyToLoopbackUnlessForced) {
  EXPECT_TRUE(Client("collector:\n  insecure: true\n").insecure);
  EXPECT_THAT(problems_.lines(), IsEmpty());

  Client("collector:\n  insecure: true\n  ca: /x.crt\n",
         "collector.example:7443");
  EXPECT_THAT(problems_.lines(),
              ElementsAre("x.yaml: collector.ca: not used with insecure: true",
                          HasSubstr("x.yaml: collector.insecure: plaintext "
                                    "refused on 'collector.example:7443'")));

  ConfigProblems forced_problems("y.yaml");
  ConfigMap section(YAML::Load("insecure: true\nallow_insecure_remote: true\n"),
                    "collector", &forced_problems);
  EXPECT_TRUE(ParseClientSecurity(section, "collector.example:7443").insecure);
  EXPECT_THAT(forced_problems.lines(), IsEmpty());
}

TEST_F(TransportSecurityTest, ReadPemFileChecksTheContent) {
  EXPECT_THAT(ReadPemFile(Path("ca.crt"), PemKind::kCertificates), IsOk());
  EXPECT_THAT(ReadPemFile(Path("ca.key"), PemKind::kPrivateKey), IsOk());
  EXPECT_THAT(ReadPemFile(Path("ca.key"), PemKind::kCertificates),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ReadPemFile(Path("ca.crt"), PemKind::kPrivateKey),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ReadPemFile(Path("none"), PemKind::kCertificates),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST(CertificateDatesTest, NamesFileSubjectAndDatesOfEachBadCertificate) {
  const absl::Time now = absl::FromCivil(
      absl::CivilSecond(2026, 3, 1, 12, 0, 0), absl::UTCTimeZone());
  const auto at = [](int year, int month, int day) {
    return absl::FromCivil(absl::CivilDay(year, month, day),
                           absl::UTCTimeZone());
  };
  const std::string valid =
      test_support::MakeTestCertificate("valid", at(2026, 1, 1), at(2027, 1, 1))
          .cert_pem;
  const std::string expired = test_support::MakeTestCertificate(
                                  "expired", at(2025, 1, 1), at(2026, 2, 1))
                                  .cert_pem;
  const std::string early =
      test_support::MakeTestCertificate("early", at(2026, 4, 1), at(2027, 1, 1))
          .cert_pem;
  EXPECT_THAT(CertificateDateProblems("ok.crt", valid, now), IsEmpty());
  EXPECT_THAT(
      CertificateDateProblems("bundle.crt", valid + expired + early, now),
      ElementsAre(
          AllOf(HasSubstr("CN=expired"), HasSubstr("bundle.crt"),
                HasSubstr("is expired: valid from 2025-01-01 00:00:00 UTC to "
                          "2026-02-01 00:00:00 UTC")),
          AllOf(HasSubstr("CN=early"),
                HasSubstr("is not valid yet: valid from 2026-04-01 00:00:00 "
                          "UTC to 2027-01-01 00:00:00 UTC"))));
}

TEST_F(TransportSecurityTest, CertificatesOutOfTheirDatesAreNamedByKey) {
  const absl::Time now = absl::Now();
  test_support::TestCertificate expired = test_support::MakeTestCertificate(
      "collector", now - absl::Hours(48), now - absl::Hours(24));
  const std::string cert = Path("expired.crt");
  const std::string key = Path("expired.key");
  std::ofstream(cert) << expired.cert_pem;
  std::ofstream(key) << expired.key_pem;
  std::ofstream(Path("early.crt"))
      << test_support::MakeTestCertificate("ca", now + absl::Hours(24),
                                           now + absl::Hours(48))
             .cert_pem;

  ServerSecurity server =
      Server(absl::StrCat("tls:\n  cert: ", cert, "\n  key: ", key,
                          "\n  client_ca: ", Path("early.crt"), "\n"));
  EXPECT_THAT(problems_.lines(), IsEmpty());  // A warning when starting.
  EXPECT_THAT(
      server.certificate_warnings,
      ElementsAre(
          AllOf(HasSubstr("tls.cert: certificate /CN=collector"),
                HasSubstr(cert), HasSubstr("is expired")),
          AllOf(HasSubstr("tls.client_ca: "), HasSubstr("is not valid yet"))));
  ClientSecurity client =
      Client(absl::StrCat("collector:\n  ca: ", Path("early.crt"),
                          "\n  cert: ", cert, "\n  key: ", key, "\n"));
  EXPECT_THAT(
      client.certificate_warnings,
      ElementsAre(HasSubstr("collector.ca: "), HasSubstr("collector.cert: ")));
  EXPECT_THAT(Client(absl::StrCat("collector:\n  ca: ", Path("ca.crt"), "\n"))
                  .certificate_warnings,
              IsEmpty());
}

}  // namespace
}  // namespace eroom
