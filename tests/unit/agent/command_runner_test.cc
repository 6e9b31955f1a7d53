#include "agent/command_runner.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/test_support/fake_clock.h"

namespace eroom::agent {
namespace {
namespace v1 = ::eroom::monitor::v1;

using ::testing::HasSubstr;
using ::testing::IsEmpty;

v1::Command Ping(const std::string& id) {
  v1::Command command;
  command.set_command_id(id);
  command.mutable_ping();
  return command;
}

TEST(CommandRunnerTest, AFullQueueRejectsWhatDoesNotFit) {
  FakeClock clock;
  CommandRunner runner({}, clock);
  for (size_t i = 0; i < CommandRunner::kMaxQueuedCommands; ++i) {
    runner.Submit(Ping(absl::StrCat("cmd-", i)));
  }
  runner.Submit(Ping("late"));
  std::vector<v1::CommandProgress> busy = runner.TakeProgress(10);
  ASSERT_EQ(busy.size(), 1u);
  EXPECT_EQ(busy[0].command_id(), "late");
  EXPECT_EQ(busy[0].state(), v1::REJECTED);
  EXPECT_THAT(busy[0].message(), HasSubstr("busy"));

  runner.Start();
  runner.Stop();  // Runs what was queued first.
  std::vector<v1::CommandProgress> done = runner.TakeProgress(1000);
  EXPECT_EQ(done.size(), 2 * CommandRunner::kMaxQueuedCommands);
  EXPECT_THAT(runner.TakeProgress(10), IsEmpty());
}

TEST(CommandRunnerTest, AMalformedIdIsNeverEchoed) {
  FakeClock clock;
  CommandRunner runner({}, clock);
  runner.Submit(Ping("bad id\n"));
  runner.Start();
  runner.Stop();
  EXPECT_THAT(runner.TakeProgress(10), IsEmpty());
}

}  // namespace
}  // namespace eroom::agent
