#include "tests/sim/sim_dir.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/sim/test_support.h"
#include "tests/unit/test_support/status_matchers.h"
#include "tests/unit/test_support/temp_dir.h"

extern char** environ;

namespace eroom::sim {
namespace {

using ::eroom::test_support::IsOk;

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

int RunScript(const fs::path& script) {
  const int status = std::system(
      absl::StrCat("sh '", script.string(), "' >/dev/null").c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool ProcessExists(pid_t pid) { return kill(pid, 0) == 0; }

class SimDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.dir = dir_.string();
    options_.port = 18080;
    options_.speed = 60;
    options_.rooms_per_minute = 6;
  }

  ::eroom::test_support::TempDir temp_dir_;
  // Not made yet, and with a space the scripts must quote.
  const fs::path dir_ = temp_dir_.path() / "sim dir";
  SimOptions options_;
};

TEST_F(SimDirTest, CommandLineRepeatsTheOptionsShellQuoted) {
  options_.dir = "/tmp/it's here";
  options_.api_key = "k'1";
  options_.seed = 7;
  options_.generation = Generation::kNew;
  options_.faults = {Fault::kSlowApi, Fault::kHealth500};
  EXPECT_EQ(SimCommandLine(options_, "/opt/eroom-sim"),
            "'/opt/eroom-sim' --dir '/tmp/it'\\''s here' --port 18080 "
            "--bind '127.0.0.1' --speed 60 --rooms-per-minute 6 "
            "--failure-rate 0.1 --generation new --api-key 'k'\\''1' "
            "--seed 7 --fault slow_api --fault health_500");
}

TEST_F(SimDirTest, UnsetKeyStaysOutOfTheScripts) {
  EXPECT_THAT(SimCommandLine(options_, "/opt/eroom-sim"),
              ::testing::Not(HasSubstr("--api-key")));
}

TEST_F(SimDirTest, PidFileHoldsThisProcess) {
  fs::create_directories(dir_);
  ASSERT_THAT(WritePidFile(dir_.string()), IsOk());
  EXPECT_EQ(ReadFile(dir_ / "server.pid"), absl::StrCat(getpid(), "\n"));
}

TEST_F(SimDirTest, LaysOutTheErooomDirectory) {
  ASSERT_THAT(PrepareSimDir(options_, "/opt/eroom-sim"), IsOk());
  EXPECT_TRUE(fs::is_directory(dir_ / "logs"));
  for (const char* script : {"start.sh", "stop.sh"}) {
    const fs::path path = dir_ / "scripts" / script;
    ASSERT_TRUE(fs::exists(path)) << script;
    EXPECT_NE(fs::status(path).permissions() & fs::perms::owner_exec,
              fs::perms::none);
    EXPECT_EQ(std::system(absl::StrCat("sh -n '", path.string(), "'").c_str()),
              0)
        << script;
  }
  const std::string start = ReadFile(dir_ / "scripts" / "start.sh");
  EXPECT_THAT(start,
              HasSubstr("nohup " + SimCommandLine(options_, "/opt/eroom-sim") +
                        " >> logs/server.log 2>&1 &\n"));
  EXPECT_THAT(start, HasSubstr("echo $! > server.pid\n"));
}

TEST_F(SimDirTest, ScriptsStartAndStopTheProcess) {
  ASSERT_THAT(PrepareSimDir(options_, (dir_ / "fake-sim").string()), IsOk());
  // Stands in for the sim binary: records its arguments, then idles.
  {
    std::ofstream fake(dir_ / "fake-sim");
    fake << "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$(dirname \"$0\")/args\"\n"
            "exec sleep 30\n";
  }
  fs::permissions(dir_ / "fake-sim", fs::perms::owner_all);

  ASSERT_EQ(RunScript(dir_ / "scripts" / "start.sh"), 0);
  pid_t pid = 0;
  ASSERT_TRUE(absl::SimpleAtoi(
      absl::StripSuffix(ReadFile(dir_ / "server.pid"), "\n"), &pid));
  ASSERT_TRUE(PollUntil([&] { return fs::exists(dir_ / "args"); }));
  EXPECT_THAT(ReadFile(dir_ / "args"), HasSubstr("--speed\n60\n"));
  EXPECT_TRUE(ProcessExists(pid));
  EXPECT_EQ(RunScript(dir_ / "scripts" / "start.sh"), 1);  // Already running.

  EXPECT_EQ(RunScript(dir_ / "scripts" / "stop.sh"), 0);
  EXPECT_FALSE(fs::exists(dir_ / "server.pid"));
  EXPECT_TRUE(PollUntil([&] { return !ProcessExists(pid); }));
  EXPECT_EQ(RunScript(dir_ / "scripts" / "stop.sh"), 1);  // Nothing to stop.
}

TEST_F(SimDirTest, StopDoesNotWaitForAnUnreapedZombie) {
  ASSERT_THAT(PrepareSimDir(options_, "/opt/eroom-sim"), IsOk());
  pid_t child = 0;
  char sleep_name[] = "sleep";
  char seconds[] = "30";
  char* argv[] = {sleep_name, seconds, nullptr};
  ASSERT_EQ(posix_spawnp(&child, "sleep", nullptr, nullptr, argv, environ), 0);
  std::ofstream(dir_ / "server.pid") << child << "\n";

  // Monotonic: the wall clock may be stepped meanwhile.
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(RunScript(dir_ / "scripts" / "stop.sh"), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - started,
            std::chrono::seconds(5));
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGTERM);
}

}  // namespace
}  // namespace eroom::sim
