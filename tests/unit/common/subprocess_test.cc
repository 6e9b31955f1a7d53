#include "common/subprocess.h"

#include <filesystem>
#include <string>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/test_support/status_matchers.h"
#include "tests/unit/test_support/temp_dir.h"

namespace eroom {
namespace {

using ::eroom::test_support::IsOk;
using ::eroom::test_support::StatusIs;
using ::testing::AllOf;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;

class SubprocessTest : public test_support::TempDirTest {};

TEST_F(SubprocessTest, ExitZeroIsOkAndAnExitStatusIsNamed) {
  EXPECT_THAT(RunSubprocess({.argv = {"/bin/true"}}), IsOk());
  EXPECT_THAT(RunSubprocess({.argv = {"/bin/sh", "-c",
                                      "echo out; echo err >&2; exit 3"}}),
              StatusIs(absl::StatusCode::kUnavailable,
                       AllOf(HasSubstr("/bin/sh exited with status 3"),
                             HasSubstr("out"), HasSubstr("err"))));
}

TEST_F(SubprocessTest, ADeathBySignalIsNamed) {
  EXPECT_THAT(RunSubprocess({.argv = {"/bin/sh", "-c", "kill -9 $$"}}),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("killed by signal 9")));
}

TEST_F(SubprocessTest, AMissingProgramCannotRun) {
  EXPECT_THAT(
      RunSubprocess({.argv = {PathIn("missing")}}),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("cannot run")));
}

TEST_F(SubprocessTest, TheProgramIsNeverLookedUpInPath) {
  EXPECT_THAT(RunSubprocess({.argv = {"true"}}),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(SubprocessTest, OnlyTheTailOfTheOutputIsKept) {
  const absl::Status status = RunSubprocess(
      {.argv = {"/bin/sh", "-c", "seq 1 10000; echo last; exit 1"},
       .output_tail_bytes = 100});
  EXPECT_THAT(status,
              StatusIs(absl::StatusCode::kUnavailable,
                       AllOf(EndsWith("last"), Not(HasSubstr(" 1\n")))));
  EXPECT_LT(status.message().size(), 200u);
}

TEST_F(SubprocessTest, StdoutCanBeLeftOut) {
  EXPECT_THAT(RunSubprocess({.argv = {"/bin/sh", "-c",
                                      "echo visible; echo hidden >&2; exit 1"},
                             .capture_stdout = false}),
              StatusIs(absl::StatusCode::kUnavailable,
                       AllOf(HasSubstr("hidden"), Not(HasSubstr("visible")))));
}

TEST_F(SubprocessTest, RunsInItsWorkingDirectoryWithItsInput) {
  EXPECT_THAT(RunSubprocess({.argv = {"/bin/sh", "-c", "cat > got-input"},
                             .working_dir = temp_dir().string(),
                             .stdin_bytes = "hello"}),
              IsOk());
  EXPECT_TRUE(std::filesystem::exists(PathIn("got-input")));
  EXPECT_EQ(std::filesystem::file_size(PathIn("got-input")), 5u);
}

TEST_F(SubprocessTest, ShellMetacharactersAreInert) {
  const std::string marker = PathIn("marker");
  const std::string argument = "; touch " + marker + " $(touch " + marker +
                               ") `touch " + marker + "` | true &";
  EXPECT_THAT(RunSubprocess({.argv = {"/bin/ls", argument}}),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr(argument)));
  EXPECT_FALSE(std::filesystem::exists(marker));
}

TEST_F(SubprocessTest, ATimeoutKillsTheProcessGroup) {
  const absl::Time start = absl::Now();
  EXPECT_THAT(RunSubprocess({.argv = {"/bin/sh", "-c",
                                      "trap '' TERM; echo waiting; sleep 30"},
                             .timeout = absl::Milliseconds(200),
                             .kill_grace = absl::Milliseconds(200)}),
              StatusIs(absl::StatusCode::kDeadlineExceeded,
                       AllOf(HasSubstr("timed out after 200ms"),
                             HasSubstr("waiting"))));
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
}

TEST_F(SubprocessTest, AStopRequestEndsTheProgram) {
  int polls = 0;
  EXPECT_THAT(RunSubprocess({.argv = {"/bin/sleep", "30"},
                             .stop_requested = [&] { return ++polls > 3; }}),
              StatusIs(absl::StatusCode::kCancelled));
}

TEST_F(SubprocessTest, ADaemonItStartsDoesNotHoldTheWait) {
  const absl::Time start = absl::Now();
  EXPECT_THAT(RunSubprocess({.argv = {"/bin/sh", "-c", "sleep 3 & exit 0"}}),
              IsOk());
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
}

TEST_F(SubprocessTest, StillRunningIsReportedWhileItRuns) {
  int calls = 0;
  EXPECT_THAT(RunSubprocess({.argv = {"/bin/sleep", "0.3"},
                             .still_running = [&](absl::Duration) { ++calls; },
                             .still_running_every = absl::Milliseconds(50)}),
              IsOk());
  EXPECT_GE(calls, 2);
}

}  // namespace
}  // namespace eroom
