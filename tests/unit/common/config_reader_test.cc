#include "common/config_reader.h"

#include <cstdlib>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/test_support/status_matchers.h"
#include "tests/unit/test_support/temp_dir.h"

namespace eroom {
namespace {

using ::eroom::test_support::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

TEST(ExpandEnvironmentTest, ReplacesVariablesAndKeepsEscapes) {
  setenv("EROOM_TEST_DIR", "/opt/eroom", 1);
  EXPECT_EQ(*ExpandEnvironment("${EROOM_TEST_DIR}/logs"), "/opt/eroom/logs");
  EXPECT_EQ(*ExpandEnvironment("a$${b}"), "a${b}");
  EXPECT_EQ(*ExpandEnvironment("no variables"), "no variables");
}

TEST(ExpandEnvironmentTest, UnsetAndMalformedAreErrors) {
  unsetenv("EROOM_TEST_UNSET");
  EXPECT_THAT(ExpandEnvironment("${EROOM_TEST_UNSET}").status().message(),
              HasSubstr("EROOM_TEST_UNSET"));
  EXPECT_THAT(ExpandEnvironment("${OPEN"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ExpandEnvironment("${}"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

class ConfigMapTest : public ::testing::Test {
 protected:
  ConfigMap Parse(const std::string& yaml) {
    return ConfigMap(YAML::Load(yaml), "", &problems_);
  }
  ConfigProblems problems_{"test.yaml"};
};

TEST_F(ConfigMapTest, ReadsTypedValuesWithDefaults) {
  ConfigMap root = Parse(
      "name: x\ncount: 7\nflag: true\nwait: 250ms\nlist: [a, b]\n"
      "labels: {env: prod}\n");
  EXPECT_EQ(root.String("name", ""), "x");
  EXPECT_EQ(root.Int("count", 0, 0, 10), 7);
  EXPECT_TRUE(root.Bool("flag", false));
  EXPECT_EQ(root.Duration("wait", absl::Seconds(1), absl::ZeroDuration(),
                          absl::Hours(1)),
            absl::Milliseconds(250));
  EXPECT_THAT(root.StringList("list", {}), ElementsAre("a", "b"));
  EXPECT_EQ(root.StringMap("labels").at("env"), "prod");
  EXPECT_EQ(root.String("absent", "fallback"), "fallback");
  root.Finish();
  EXPECT_THAT(problems_.lines(), IsEmpty());
}

TEST_F(ConfigMapTest, ReportsEveryProblemWithFileAndKey) {
  ConfigMap root = Parse(
      "count: lots\nwait: 5 parsecs\nlevel: loud\nnested: {typo: 1}\n"
      "stray: 1\n");
  root.Int("count", 1, 0, 10);
  root.Duration("wait", absl::Seconds(1), absl::ZeroDuration(), absl::Hours(1));
  root.Choice("level", "info", {"info", "warn"});
  ConfigMap nested = root.Map("nested");
  nested.Finish();
  root.Finish();
  EXPECT_THAT(
      problems_.lines(),
      ElementsAre(
          HasSubstr("test.yaml: count: expected a whole number"),
          HasSubstr("test.yaml: wait: expected a duration"),
          HasSubstr("test.yaml: level: 'loud' is not one of: info, warn"),
          HasSubstr("test.yaml: nested.typo: unknown key"),
          HasSubstr("test.yaml: stray: unknown key")));
  EXPECT_THAT(problems_.ToStatus(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(ConfigMapTest, RangesAreEnforced) {
  ConfigMap root = Parse("count: 11\nwait: 1ms\n");
  EXPECT_EQ(root.Int("count", 3, 0, 10), 3);
  EXPECT_EQ(root.Duration("wait", absl::Seconds(1), absl::Milliseconds(10),
                          absl::Hours(1)),
            absl::Seconds(1));
  EXPECT_THAT(problems_.lines(),
              ElementsAre(HasSubstr("count: 11 is out of range"),
                          HasSubstr("wait: 1ms is out of range")));
}

TEST_F(ConfigMapTest, WrongShapesAreProblems) {
  ConfigMap root = Parse("name: [1]\nlist: x\nsection: 3\n");
  root.String("name", "");
  root.StringList("list", {});
  root.Map("section");
  EXPECT_THAT(problems_.lines(),
              ElementsAre(HasSubstr("name: expected a single value"),
                          HasSubstr("list: expected a list"),
                          HasSubstr("section: expected a mapping")));
}

TEST_F(ConfigMapTest, MapListReadsEachMappingWithItsIndexInProblems) {
  ConfigMap root =
      Parse("users:\n  - {name: a, role: x}\n  - 3\n  - {name: b, rol: y}\n");
  std::vector<ConfigMap> users = root.Map("auth").MapList("users");
  EXPECT_THAT(users, IsEmpty());  // auth is absent.
  users = root.MapList("users");
  ASSERT_EQ(users.size(), 2u);
  EXPECT_EQ(users[0].String("name", ""), "a");
  EXPECT_EQ(users[0].String("role", ""), "x");
  EXPECT_EQ(users[1].String("name", ""), "b");
  for (ConfigMap& user : users) user.Finish();
  root.Finish();
  EXPECT_THAT(problems_.lines(),
              ElementsAre("test.yaml: users[1]: expected a mapping of keys to "
                          "values",
                          "test.yaml: users[2].rol: unknown key"));
}

TEST_F(ConfigMapTest, MapListOfAScalarIsAProblem) {
  ConfigMap root = Parse("auth:\n  users: alice\n");
  EXPECT_THAT(root.Map("auth").MapList("users"), IsEmpty());
  EXPECT_THAT(
      problems_.lines(),
      ElementsAre("test.yaml: auth.users: expected a list of mappings"));
}

TEST(LoadConfigDocumentTest, MissingFileAndBadYamlNameTheFile) {
  absl::StatusOr<ConfigDocument> missing =
      LoadConfigDocument("/nonexistent/x.yaml");
  EXPECT_THAT(missing.status().message(), HasSubstr("/nonexistent/x.yaml"));

  test_support::TempDir dir;
  std::string path = dir.PathIn("bad.yaml");
  FILE* f = fopen(path.c_str(), "w");
  fputs("a: [1,\n", f);
  fclose(f);
  absl::StatusOr<ConfigDocument> bad = LoadConfigDocument(path);
  EXPECT_THAT(bad.status().message(), HasSubstr(path));
  EXPECT_THAT(bad.status().message(), HasSubstr("invalid YAML"));
}

}  // namespace
}  // namespace eroom
