// The eroom-agent executable as it ships (agent/CMakeLists.txt links it
// differently from the unit tests' libraries): what it loads, and that
// glibc's iconv still finds its converters at run time.
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/integration/process_harness.h"

namespace eroom::testing {
namespace {

using ::nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

// libcurl brought about 25 libraries (gnutls, krb5, ldap, ssh2...), 4 MB
// of every agent's memory, for two GETs on localhost.
TEST(AgentBinaryTest, LoadsNoLibcurlNorItsDependencies) {
  CommandResult ldd = RunCommand({"/usr/bin/ldd", BinaryPath("eroom-agent")});
  ASSERT_EQ(ldd.exit_code, 0) << ldd.err;
  for (const char* library :
       {"libcurl", "libgnutls", "libkrb5", "libldap", "libssh2"}) {
    EXPECT_THAT(ldd.out, Not(HasSubstr(library)));
  }
}

// Each shared library costs its relocated data and touched pages in every
// agent: the HTTP client, spdlog and fmt are header-only, and OpenSSL, zlib
// and the C++ runtime come from their archives (glibc stays shared, for
// iconv's converters).
TEST(AgentBinaryTest, LoadsOnlyGlibc) {
#ifndef EROOM_AGENT_STATIC_LIBS
  GTEST_SKIP()
      << "the agent links shared libraries (EROOM_AGENT_STATIC_LIBS=OFF)";
#endif
  CommandResult ldd = RunCommand({"/usr/bin/ldd", BinaryPath("eroom-agent")});
  ASSERT_EQ(ldd.exit_code, 0) << ldd.err;
  for (const char* library :
       {"libcpp-httplib", "libbrotli", "libssl", "libcrypto", "libz.so",
        "libspdlog", "libfmt", "libstdc++", "libgcc_s"}) {
    EXPECT_THAT(ldd.out, Not(HasSubstr(library)));
  }
}

TEST(AgentBinaryTest, DecodesACp949Log) {
  const std::string dir = MakeTempDir("agent-binary");
  const std::string collector_address = absl::StrCat("127.0.0.1:", FreePort());
  WriteFile(dir + "/collector.yaml",
            absl::StrCat("listen: ", collector_address, "\n",
                         "storage:\n  path: ", dir, "/db/eroom.db\n",
                         kPlaintextCollectorConfig));
  // "결과 성공" in CP949.
  WriteFile(dir + "/eroom/logs/legacy.log",
            "2025-01-01 10:00:00.000 [main] INFO  c.e.Legacy - "
            "\xb0\xe1\xb0\xfa \xbc\xba\xb0\xf8\n");
  WriteFile(dir + "/agent.yaml",
            absl::StrCat("agent:\n  id: cp949-host\n  state_dir: ", dir,
                         "/agent-state\n", "eroom:\n  dir: ", dir, "/eroom\n",
                         "  url: http://127.0.0.1:", FreePort(), "\n",
                         "logs:\n  paths: [logs/legacy.log]\n",
                         "  encodings: [{glob: logs/legacy.log, encoding: "
                         "cp949}]\n  start_at: beginning\n",
                         "collector:\n  address: ", collector_address,
                         "\n  insecure: true\n  batch_max_delay: 20ms\n"));
  ChildProcess collector(
      {BinaryPath("eroom-collector"), "--config", dir + "/collector.yaml"},
      dir + "/collector.out");
  ChildProcess agent(
      {BinaryPath("eroom-agent"), "--config", dir + "/agent.yaml"},
      dir + "/agent.out");

  std::string message;
  const bool stored = PollUntil(absl::Seconds(30), [&] {
    CommandResult logs = RunCommand({BinaryPath("eroomctl"), "--collector",
                                     collector_address, "--insecure", "-o",
                                     "json", "logs", "--host", "cp949-host"});
    if (logs.exit_code != 0) return false;
    json events = json::parse(logs.out, nullptr, /*allow_exceptions=*/false);
    if (!events.is_object() || !events.contains("events") ||
        events["events"].empty()) {
      return false;
    }
    message = events["events"][0]["event"].value("message", "");
    return true;
  });
  StopChildren({&agent, &collector});
  ASSERT_TRUE(stored) << agent.Log() << collector.Log();
  EXPECT_THAT(message, HasSubstr("결과 성공"));
}

}  // namespace
}  // namespace eroom::testing
