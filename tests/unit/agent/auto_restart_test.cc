#include "agent/auto_restart.h"

#include <string>
#include <vector>

#include "common/metric_catalog.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/agent/fake_restart_host.h"
#include "tests/unit/test_support/fake_clock.h"

namespace eroom::agent {
namespace {
namespace v1 = ::eroom::monitor::v1;

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class AutoRestartTest : public ::testing::Test {
 protected:
  AutoRestartTest() {
    SafeRestartPolicy restart_policy;
    restart_policy.start_command = {"scripts/start.sh"};
    restart_policy.stop_command = {"scripts/stop.sh"};
    restart_policy.health_timeout = absl::Seconds(10);
    restart_ = std::make_unique<SafeRestart>(
        restart_policy, host_, [](v1::AgentNotice) {}, clock_);
    policy_.enabled = true;
    policy_.down_for = absl::Seconds(30);
    policy_.backoff_initial = absl::Seconds(30);
    policy_.backoff_max = absl::Minutes(2);
    policy_.max_attempts_per_hour = 4;
  }

  AutoRestart Make() {
    return AutoRestart(
        policy_, *restart_, host_,
        [this](v1::AgentNotice notice) {
          notices_.push_back(notice);
          if (notice.kind() == notice_kind::kAutoRestartAttempt) {
            attempt_times_.push_back(clock_.Now() - begin_);
          }
        },
        clock_);
  }

  // Checks every second for `duration`.
  void CheckFor(AutoRestart& auto_restart, absl::Duration duration) {
    const absl::Time end = clock_.Now() + duration;
    while (clock_.Now() < end) {
      auto_restart.Check();
      clock_.Advance(absl::Seconds(1));
    }
  }

  std::vector<std::string> Kinds() const {
    std::vector<std::string> kinds;
    for (const v1::AgentNotice& notice : notices_) {
      kinds.push_back(notice.kind());
    }
    return kinds;
  }

  FakeClock clock_;
  const absl::Time begin_ = clock_.Now();
  FakeRestartHost host_{clock_};
  std::unique_ptr<SafeRestart> restart_;
  AutoRestartPolicy policy_;
  std::vector<v1::AgentNotice> notices_;
  std::vector<absl::Duration> attempt_times_;
};

TEST_F(AutoRestartTest, NothingHappensWhileERoomRuns) {
  AutoRestart auto_restart = Make();
  CheckFor(auto_restart, absl::Minutes(5));
  EXPECT_THAT(host_.actions, IsEmpty());
  EXPECT_THAT(notices_, IsEmpty());
}

TEST_F(AutoRestartTest, StartsERoomOnceItWasDownLongEnough) {
  host_.running = false;
  AutoRestart auto_restart = Make();
  CheckFor(auto_restart, absl::Minutes(2));
  EXPECT_THAT(host_.actions, ElementsAre("run scripts/start.sh"));
  EXPECT_THAT(attempt_times_, ElementsAre(absl::Seconds(30)));
  EXPECT_THAT(Kinds(), ElementsAre(notice_kind::kAutoRestartAttempt,
                                   notice_kind::kAutoRestartSucceeded));
  EXPECT_EQ(notices_[0].count(), 1);
}

TEST_F(AutoRestartTest, FailedAttemptsBackOffUpToTheMaximum) {
  host_.running = false;
  host_.start_result = absl::UnavailableError("start.sh exited with status 1");
  policy_.max_attempts_per_hour = 60;
  AutoRestart auto_restart = Make();
  CheckFor(auto_restart, absl::Minutes(9));
  // Each attempt takes 1 s (the start program); the waits after them are
  // 30 s, 60 s, then 120 s (the maximum).
  EXPECT_THAT(
      attempt_times_,
      ElementsAre(absl::Seconds(30), absl::Seconds(61), absl::Seconds(122),
                  absl::Seconds(243), absl::Seconds(364), absl::Seconds(485)));
  EXPECT_EQ(notices_[1].kind(), notice_kind::kAutoRestartFailed);
  EXPECT_THAT(notices_[1].message(),
              AllOf(HasSubstr("failed at start"),
                    HasSubstr("start.sh exited with status 1"),
                    HasSubstr("next attempt in 30s")));
}

TEST_F(AutoRestartTest, TheHourlyLimitStopsAttemptsUntilTheHourAllows) {
  host_.running = false;
  host_.start_result = absl::UnavailableError("start.sh exited with status 1");
  AutoRestart auto_restart = Make();
  CheckFor(auto_restart, absl::Minutes(59));
  EXPECT_EQ(attempt_times_.size(), 4u);
  int limit_notices = 0;
  for (const v1::AgentNotice& notice : notices_) {
    if (notice.kind() == notice_kind::kAutoRestartLimitReached) {
      ++limit_notices;
      EXPECT_EQ(notice.count(), 4);
    }
  }
  EXPECT_EQ(limit_notices, 1);

  // An hour after the first attempt, one more is allowed.
  CheckFor(auto_restart, absl::Minutes(2));
  ASSERT_EQ(attempt_times_.size(), 5u);
  EXPECT_GE(attempt_times_[4], attempt_times_[0] + absl::Hours(1));
}

TEST_F(AutoRestartTest, ASuccessResetsTheBackoff) {
  host_.running = false;
  host_.start_result = absl::UnavailableError("start.sh exited with status 1");
  AutoRestart auto_restart = Make();
  CheckFor(auto_restart, absl::Seconds(62));  // Two failed attempts.
  host_.start_result = absl::OkStatus();
  CheckFor(auto_restart, absl::Minutes(3));  // The third succeeds.
  EXPECT_EQ(Kinds().back(), notice_kind::kAutoRestartSucceeded);

  host_.running = false;  // Down again: 30 s, then an attempt numbered 1.
  notices_.clear();
  CheckFor(auto_restart, absl::Seconds(40));
  ASSERT_FALSE(notices_.empty());
  EXPECT_EQ(notices_[0].kind(), notice_kind::kAutoRestartAttempt);
  EXPECT_EQ(notices_[0].count(), 1);
}

}  // namespace
}  // namespace eroom::agent
