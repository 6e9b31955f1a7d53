// The collector's `auth:` section and the token digests it holds.
#include "collector/auth_config.h"

#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "collector/token_hash.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/test_support/config_section.h"

namespace eroom::collector {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const std::string kDigestA(64, 'a');
const std::string kDigestB(64, 'b');
const std::string kDigestC(64, 'c');

TEST(TokenHashTest, IsLowercaseHexSha256) {
  // FIPS 180-2 test vectors.
  EXPECT_EQ(TokenSha256Hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(TokenSha256Hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(TokenHashTest, RecognizesDigests) {
  EXPECT_TRUE(IsSha256Hex(kDigestA));
  EXPECT_TRUE(IsSha256Hex(std::string(64, 'F')));
  EXPECT_FALSE(IsSha256Hex(std::string(63, 'a')));
  EXPECT_FALSE(IsSha256Hex(std::string(64, 'g')));
  EXPECT_FALSE(IsSha256Hex("a-token-pasted-by-mistake"));
}

TEST(TokenHashTest, DeployScriptAgrees) {
  const std::string command = absl::StrCat(
      "printf 'r4nd0m-T0ken\\n' | ", EROOM_SOURCE_DIR, "/deploy/hash-token.sh");
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  char line[128] = {};
  ASSERT_NE(fgets(line, sizeof(line), pipe), nullptr);
  EXPECT_EQ(pclose(pipe), 0);
  EXPECT_EQ(std::string(line), TokenSha256Hex("r4nd0m-T0ken") + "\n");
}

class AuthConfigTest : public ::testing::Test {
 protected:
  AuthConfig Parse(const std::string& yaml,
                   const std::string& listen = "127.0.0.1:7443") {
    return test_support::ParseConfigSection(
        yaml, "auth", problems_,
        [&](ConfigMap& auth) { return ParseAuthConfig(auth, listen); });
  }
  ConfigProblems problems_{"c.yaml"};
};

TEST_F(AuthConfigTest, ReadsAgentsAndUsers) {
  AuthConfig config = Parse(absl::StrCat(
      "auth:\n  agents:\n    - {id: web-1, token_sha256: ", kDigestA,
      "}\n    - {enrollment: true, token_sha256: ", std::string(64, 'B'),
      "}\n  users:\n    - {name: alice, role: operator, token_sha256: ",
      kDigestC, "}\n"));
  EXPECT_THAT(problems_.lines(), IsEmpty());
  EXPECT_TRUE(config.tokens_required);
  ASSERT_EQ(config.agents.size(), 2u);
  EXPECT_EQ(config.agents[0].agent_id, "web-1");
  EXPECT_EQ(config.agents[0].token_sha256, kDigestA);
  EXPECT_EQ(config.agents[1].agent_id, std::nullopt);
  EXPECT_EQ(config.agents[1].token_sha256, kDigestB);  // Lowercased.
  ASSERT_EQ(config.users.size(), 1u);
  EXPECT_EQ(config.users[0].name, "alice");
  EXPECT_EQ(config.users[0].role, Role::kOperator);
  EXPECT_EQ(config.users[0].token_sha256, kDigestC);
}

TEST_F(AuthConfigTest, NoTokensAtAllIsAProblem) {
  Parse("");
  EXPECT_THAT(problems_.lines(),
              ElementsAre(HasSubstr("c.yaml: auth.mode: tokens (the default) "
                                    "needs at least one entry")));
}

TEST_F(AuthConfigTest, ModeNoneOnlyOnLoopback) {
  EXPECT_FALSE(Parse("auth: {mode: none}\n").tokens_required);
  EXPECT_THAT(problems_.lines(), IsEmpty());
  Parse("auth: {mode: none}\n", "0.0.0.0:7443");
  EXPECT_THAT(problems_.lines(),
              ElementsAre(HasSubstr("c.yaml: auth.mode: none (anyone may "
                                    "connect) is refused on '0.0.0.0:7443'")));
}

TEST_F(AuthConfigTest, ModeNoneWithTokensIsAProblem) {
  Parse(
      absl::StrCat("auth:\n  mode: none\n  users:\n    - {name: a, role: "
                   "admin, token_sha256: ",
                   kDigestA, "}\n"));
  EXPECT_THAT(problems_.lines(),
              ElementsAre("c.yaml: auth.users: not used with mode: none"));
}

TEST_F(AuthConfigTest, EveryEntryProblemNamesItsKey) {
  Parse(
      absl::StrCat("auth:\n  agents:\n"
                   "    - {token_sha256: ",
                   kDigestA,
                   "}\n"
                   "    - {id: web-2, enrollment: true, token_sha256: ",
                   kDigestB,
                   "}\n"
                   "    - {id: web-3, token_sha256: my-plain-token}\n"
                   "    - {id: web-4}\n"
                   "  users:\n"
                   "    - {name: bob, role: root, token_sha256: ",
                   kDigestA,
                   "}\n"
                   "    - {token_sha256: ",
                   kDigestC, ", colour: red}\n"));
  EXPECT_THAT(
      problems_.lines(),
      ElementsAre(
          HasSubstr("c.yaml: auth.agents[0].id: required"),
          "c.yaml: auth.agents[1].id: not used with enrollment: true",
          HasSubstr("c.yaml: auth.agents[2].token_sha256: expected 64 hex "
                    "digits"),
          HasSubstr("c.yaml: auth.agents[3].token_sha256: required"),
          "c.yaml: auth.users[0].role: 'root' is not one of: viewer, "
          "operator, admin",
          "c.yaml: auth.users[0].token_sha256: the same token as "
          "auth.agents[0].token_sha256",
          "c.yaml: auth.users[1].name: required",
          "c.yaml: auth.users[1].role: required",
          "c.yaml: auth.users[1].colour: unknown key"));
}

}  // namespace
}  // namespace eroom::collector
