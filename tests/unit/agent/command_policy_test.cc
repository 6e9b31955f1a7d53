#include "agent/command_policy.h"

#include <cstdint>
#include <limits>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/test_support/status_matchers.h"

namespace eroom::agent {

using ::eroom::test_support::IsOk;
namespace {

namespace v1 = ::eroom::monitor::v1;
using ::testing::HasSubstr;
using ::testing::Not;

CommandPolicy RestartAllowed() {
  CommandPolicy policy;
  policy.safe_restart.enabled = true;
  return policy;
}

CommandPolicy HousekeepingAllowed() {
  CommandPolicy policy;
  policy.log_housekeeping.enabled = true;
  return policy;
}

CommandPolicy AllowEverything() {
  CommandPolicy policy = RestartAllowed();
  policy.log_housekeeping.enabled = true;
  return policy;
}

v1::Command SafeRestart(int64_t drain_timeout_ms) {
  v1::Command command;
  command.set_command_id("3f2b8c1e-1d2a-4c5b-9e8f-0a1b2c3d4e5f");
  command.mutable_safe_restart()->set_drain_timeout_ms(drain_timeout_ms);
  return command;
}

v1::Command Housekeeping() {
  v1::Command command;
  command.set_command_id("cmd_7");
  command.mutable_log_housekeeping();
  return command;
}

void ExpectRefused(const absl::StatusOr<AllowedCommand>& checked,
                   absl::StatusCode code, const std::string& expected) {
  ASSERT_FALSE(checked.ok());
  EXPECT_EQ(checked.status().code(), code) << checked.status();
  EXPECT_THAT(std::string(checked.status().message()), HasSubstr(expected));
}

TEST(CommandPolicyTest, AllowedSafeRestartCarriesItsDrainTimeout) {
  absl::StatusOr<AllowedCommand> checked =
      CheckCommand(SafeRestart(600000), AllowEverything());
  ASSERT_THAT(checked, IsOk());
  EXPECT_EQ(checked->command_id, "3f2b8c1e-1d2a-4c5b-9e8f-0a1b2c3d4e5f");
  EXPECT_EQ(checked->action, AllowedCommand::Action::kSafeRestart);
  EXPECT_EQ(checked->drain_timeout, absl::Minutes(10));
}

TEST(CommandPolicyTest, AllowedHousekeeping) {
  absl::StatusOr<AllowedCommand> checked =
      CheckCommand(Housekeeping(), HousekeepingAllowed());
  ASSERT_THAT(checked, IsOk());
  EXPECT_EQ(checked->command_id, "cmd_7");
  EXPECT_EQ(checked->action, AllowedCommand::Action::kLogHousekeeping);
}

TEST(CommandPolicyTest, NothingIsAllowedByDefault) {
  ExpectRefused(CheckCommand(SafeRestart(60000), CommandPolicy()),
                absl::StatusCode::kPermissionDenied,
                "safe_restart: not allowed by this agent's config");
  ExpectRefused(CheckCommand(Housekeeping(), CommandPolicy()),
                absl::StatusCode::kPermissionDenied,
                "log_housekeeping: not allowed by this agent's config");
}

TEST(CommandPolicyTest, EachActionNeedsItsOwnPermission) {
  ExpectRefused(CheckCommand(SafeRestart(60000), HousekeepingAllowed()),
                absl::StatusCode::kPermissionDenied, "safe_restart");
  ExpectRefused(CheckCommand(Housekeeping(), RestartAllowed()),
                absl::StatusCode::kPermissionDenied, "log_housekeeping");
}

TEST(CommandPolicyTest, DrainTimeoutLimitsAreInclusive) {
  EXPECT_TRUE(CheckCommand(SafeRestart(1000), AllowEverything()).ok());
  EXPECT_TRUE(CheckCommand(SafeRestart(1800000), AllowEverything()).ok());
}

TEST(CommandPolicyTest, DrainTimeoutOutOfRangeIsMalformed) {
  for (int64_t ms : {int64_t{0}, int64_t{999}, int64_t{-1}, int64_t{1800001},
                     std::numeric_limits<int64_t>::min(),
                     std::numeric_limits<int64_t>::max()}) {
    ExpectRefused(CheckCommand(SafeRestart(ms), AllowEverything()),
                  absl::StatusCode::kInvalidArgument,
                  absl::StrCat("safe_restart.drain_timeout_ms: ", ms,
                               " is not within 1000 to 1800000"));
  }
}

TEST(CommandPolicyTest, MalformedBeatsNotAllowed) {
  ExpectRefused(CheckCommand(SafeRestart(0), CommandPolicy()),
                absl::StatusCode::kInvalidArgument, "drain_timeout_ms");
}

TEST(CommandPolicyTest, CommandWithoutActionIsMalformed) {
  v1::Command command;
  command.set_command_id("c1");
  ExpectRefused(CheckCommand(command, AllowEverything()),
                absl::StatusCode::kInvalidArgument,
                "action: none this agent knows");
}

TEST(CommandPolicyTest, CommandIdIsRequired) {
  v1::Command command = Housekeeping();
  command.clear_command_id();
  ExpectRefused(CheckCommand(command, AllowEverything()),
                absl::StatusCode::kInvalidArgument, "command_id: empty");
}

TEST(CommandPolicyTest, CommandIdLengthIsBounded) {
  v1::Command command = Housekeeping();
  command.set_command_id(std::string(kMaxCommandIdBytes, 'a'));
  EXPECT_THAT(CheckCommand(command, AllowEverything()), IsOk());
  command.set_command_id(std::string(kMaxCommandIdBytes + 1, 'a'));
  ExpectRefused(CheckCommand(command, AllowEverything()),
                absl::StatusCode::kInvalidArgument,
                "command_id: 65 bytes, at most 64");
}

TEST(CommandPolicyTest, CommandIdWithShellCharactersIsRefusedNotEchoed) {
  v1::Command command = Housekeeping();
  command.set_command_id("x;reboot");
  absl::StatusOr<AllowedCommand> checked =
      CheckCommand(command, AllowEverything());
  ExpectRefused(checked, absl::StatusCode::kInvalidArgument,
                "command_id: byte 0x3b at offset 1 is not a letter, digit, "
                "'.', '_' or '-'");
  EXPECT_THAT(std::string(checked.status().message()),
              Not(HasSubstr("reboot")));
}

TEST(CommandPolicyTest, CommandIdWithControlOrNonAsciiIsRefused) {
  for (const char* id : {"a\nb", "a b", "명령", "a/b", "$(id)"}) {
    v1::Command command = Housekeeping();
    command.set_command_id(id);
    ExpectRefused(CheckCommand(command, AllowEverything()),
                  absl::StatusCode::kInvalidArgument, "command_id: byte 0x");
  }
}

}  // namespace
}  // namespace eroom::agent
