#include "agent/safe_restart.h"

#include <signal.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/metric_catalog.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/agent/fake_restart_host.h"
#include "tests/unit/test_support/fake_clock.h"

namespace eroom::agent {
namespace {
namespace v1 = ::eroom::monitor::v1;

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

SafeRestartPolicy Policy() {
  SafeRestartPolicy policy;
  policy.enabled = true;
  policy.stop_command = {"scripts/stop.sh"};
  policy.start_command = {"scripts/start.sh"};
  policy.stop_grace = absl::Seconds(30);
  policy.health_timeout = absl::Seconds(60);
  policy.health_interval = absl::Seconds(1);
  return policy;
}

AllowedCommand Restart(absl::Duration drain_timeout, bool force = false) {
  return {.command_id = "cmd-1",
          .action = AllowedCommand::Action::kSafeRestart,
          .drain_timeout = drain_timeout,
          .force = force};
}

class SafeRestartTest : public ::testing::Test {
 protected:
  v1::CommandProgress RunRestart(const AllowedCommand& command) {
    SafeRestart restart(
        Policy(), host_,
        [this](v1::AgentNotice notice) { notices_.push_back(notice); }, clock_);
    return restart.Run(
        command,
        [this](v1::CommandProgress step) {
          step.set_time_unix_ms(absl::ToUnixMillis(clock_.Now()));
          steps_.push_back(step);
        },
        canceled_);
  }

  std::vector<std::string> Messages() const {
    std::vector<std::string> out;
    for (const v1::CommandProgress& step : steps_) {
      out.push_back(absl::StrCat(step.step(), ": ", step.message()));
    }
    return out;
  }

  // The longest time between consecutive reports, from the start.
  absl::Duration LongestGap(absl::Time begin) const {
    absl::Duration longest;
    int64_t last = absl::ToUnixMillis(begin);
    for (const v1::CommandProgress& step : steps_) {
      longest =
          std::max(longest, absl::Milliseconds(step.time_unix_ms() - last));
      last = step.time_unix_ms();
    }
    return longest;
  }

  std::vector<std::string> NoticeKinds() const {
    std::vector<std::string> kinds;
    for (const v1::AgentNotice& notice : notices_)
      kinds.push_back(notice.kind());
    return kinds;
  }

  FakeClock clock_;
  FakeRestartHost host_{clock_};
  absl::Notification canceled_;
  std::vector<v1::CommandProgress> steps_;
  std::vector<v1::AgentNotice> notices_;
};

TEST_F(SafeRestartTest, DrainWaitsForTheRunningRoomThenRestarts) {
  const absl::Time begin = clock_.Now();
  host_.busy_until = begin + absl::Seconds(12);
  const v1::CommandProgress done = RunRestart(Restart(absl::Minutes(10)));

  EXPECT_EQ(done.state(), v1::SUCCEEDED) << done.message();
  EXPECT_THAT(done.message(), HasSubstr("pid 200"));
  EXPECT_THAT(Messages(), Contains("queue: queue: active 1, queued 0"));
  EXPECT_THAT(Messages(), Contains("drain: drained in 12.0s"));
  EXPECT_THAT(Messages(), Contains(HasSubstr("stopped pid 100 in")));
  EXPECT_THAT(Messages(), Contains("health: healthy after 3.0s"));
  EXPECT_THAT(host_.actions,
              ElementsAre("run scripts/stop.sh", "run scripts/start.sh"));
  EXPECT_LE(LongestGap(begin), SafeRestart::kProgressEvery + absl::Seconds(1));
  EXPECT_THAT(NoticeKinds(), ElementsAre(notice_kind::kRestartStarted,
                                         notice_kind::kRestartSucceeded));
  EXPECT_THAT(notices_.back().message(), HasSubstr("cmd-1"));
}

TEST_F(SafeRestartTest, ADrainTimeoutRefusesAndLeavesTheServerRunning) {
  host_.busy_until = clock_.Now() + absl::Hours(1);
  const v1::CommandProgress done = RunRestart(Restart(absl::Seconds(30)));

  EXPECT_EQ(done.state(), v1::FAILED);
  EXPECT_EQ(done.step(), "drain");
  EXPECT_THAT(done.message(), AllOf(HasSubstr("timed out after 30s"),
                                    HasSubstr("left running")));
  EXPECT_THAT(host_.actions, IsEmpty());
  EXPECT_TRUE(host_.running);
  EXPECT_THAT(NoticeKinds(), ElementsAre(notice_kind::kRestartStarted,
                                         notice_kind::kRestartFailed));
  EXPECT_THAT(notices_.back().message(), HasSubstr("failed at drain"));
}

TEST_F(SafeRestartTest, ForceRestartsAfterTheDrainTimeout) {
  host_.busy_until = clock_.Now() + absl::Hours(1);
  const v1::CommandProgress done =
      RunRestart(Restart(absl::Seconds(30), /*force=*/true));

  EXPECT_EQ(done.state(), v1::SUCCEEDED) << done.message();
  EXPECT_THAT(Messages(), Contains(HasSubstr("forced, stopping anyway")));
  EXPECT_THAT(host_.actions,
              ElementsAre("run scripts/stop.sh", "run scripts/start.sh"));
}

TEST_F(SafeRestartTest, ACancelWhileDrainingStopsTheRestart) {
  const absl::Time begin = clock_.Now();
  host_.busy_until = begin + absl::Hours(1);
  host_.on_wait = [&] {
    if (clock_.Now() >= begin + absl::Seconds(5) &&
        !canceled_.HasBeenNotified()) {
      canceled_.Notify();
    }
  };
  const v1::CommandProgress done = RunRestart(Restart(absl::Minutes(10)));

  EXPECT_EQ(done.state(), v1::FAILED);
  EXPECT_EQ(done.step(), "drain");
  EXPECT_THAT(done.message(), HasSubstr("canceled by the operator"));
  EXPECT_THAT(host_.actions, IsEmpty());
  EXPECT_LE(clock_.Now() - begin, absl::Seconds(6));
}

TEST_F(SafeRestartTest, ACancelAcceptedBeforeTheStopStepEndsTheRestart) {
  canceled_.Notify();  // The queue is empty: nothing to drain.
  const v1::CommandProgress done = RunRestart(Restart(absl::Minutes(10)));
  EXPECT_EQ(done.state(), v1::FAILED);
  EXPECT_EQ(done.step(), "stop");
  EXPECT_THAT(done.message(), HasSubstr("canceled by the operator"));
  EXPECT_THAT(host_.actions, IsEmpty());
  EXPECT_TRUE(host_.running);
}

TEST_F(SafeRestartTest, StopEscalatesToSigtermThenSigkill) {
  host_.exits_on_stop_command = false;
  host_.exits_on_sigterm = false;
  const absl::Time begin = clock_.Now();
  const v1::CommandProgress done = RunRestart(Restart(absl::Minutes(10)));

  EXPECT_EQ(done.state(), v1::SUCCEEDED) << done.message();
  EXPECT_THAT(host_.actions, ElementsAre("run scripts/stop.sh",
                                         absl::StrCat("signal 100 ", SIGTERM),
                                         absl::StrCat("signal 100 ", SIGKILL),
                                         "run scripts/start.sh"));
  EXPECT_THAT(Messages(), Contains(HasSubstr("SIGTERM")));
  EXPECT_THAT(Messages(), Contains(HasSubstr("SIGKILL")));
  EXPECT_THAT(Messages(), Contains(HasSubstr("stopped pid 100 in 61")));
  EXPECT_LE(LongestGap(begin), SafeRestart::kProgressEvery + absl::Seconds(1));
}

TEST_F(SafeRestartTest, AFailingStartFailsAtStartWithTheLogExcerpt) {
  host_.start_result = absl::UnavailableError(
      "scripts/start.sh exited with status 1: port in use");
  for (int i = 0; i < 50; ++i) {
    host_.log_lines.push_back(absl::StrCat("line ", i));
  }
  host_.log_lines.back() = std::string(3000, 'x') + "\xff";
  const v1::CommandProgress done = RunRestart(Restart(absl::Minutes(10)));

  EXPECT_EQ(done.state(), v1::FAILED);
  EXPECT_EQ(done.step(), "start");
  EXPECT_THAT(done.message(), HasSubstr("exited with status 1: port in use"));
  ASSERT_THAT(done.log_excerpt(), SizeIs(SafeRestart::kExcerptLines));
  EXPECT_EQ(done.log_excerpt(0), "line 10");
  EXPECT_LE(done.log_excerpt(39).size(), SafeRestart::kExcerptLineBytes);
  EXPECT_THAT(NoticeKinds(), Contains(notice_kind::kRestartFailed));
  EXPECT_THAT(notices_.back().message(), HasSubstr("failed at start"));
}

TEST_F(SafeRestartTest, NoHealthWithinTheTimeoutFailsAtHealth) {
  host_.healthy_after_start = absl::Minutes(5);
  host_.log_lines = {"ERROR model load failed"};
  const absl::Time begin = clock_.Now();
  const v1::CommandProgress done = RunRestart(Restart(absl::Minutes(10)));

  EXPECT_EQ(done.state(), v1::FAILED);
  EXPECT_EQ(done.step(), "health");
  EXPECT_THAT(done.message(), AllOf(HasSubstr("not healthy within 1m"),
                                    HasSubstr("connection refused")));
  EXPECT_THAT(done.log_excerpt(), ElementsAre("ERROR model load failed"));
  EXPECT_THAT(Messages(), Contains(HasSubstr("waiting for health")));
  EXPECT_LE(LongestGap(begin), SafeRestart::kProgressEvery + absl::Seconds(1));
}

// The agent's stop (Abandon) at `after` into the restart.
void AbandonAfter(FakeRestartHost& host, FakeClock& clock,
                  absl::Duration after) {
  const absl::Time at = clock.Now() + after;
  host.on_wait = [&host, &clock, at] {
    if (clock.Now() >= at) host.Abandon();
  };
}

TEST_F(SafeRestartTest, TheAgentStoppingWhileDrainingLeavesTheServerRunning) {
  const absl::Time begin = clock_.Now();
  host_.busy_until = begin + absl::Hours(1);
  AbandonAfter(host_, clock_, absl::Seconds(5));
  const v1::CommandProgress done = RunRestart(Restart(absl::Minutes(10)));

  EXPECT_EQ(done.state(), v1::FAILED);
  EXPECT_EQ(done.step(), "drain");
  EXPECT_THAT(done.message(),
              AllOf(HasSubstr("the agent stopped"), HasSubstr("left running")));
  EXPECT_THAT(host_.actions, IsEmpty());
  EXPECT_LE(clock_.Now() - begin, absl::Seconds(6));
  EXPECT_THAT(NoticeKinds(), ElementsAre(notice_kind::kRestartStarted,
                                         notice_kind::kRestartFailed));
}

TEST_F(SafeRestartTest, TheAgentStoppingEndsTheWaitForTheOldProcess) {
  host_.exits_on_stop_command = false;
  host_.exits_on_sigterm = false;
  AbandonAfter(host_, clock_, absl::Seconds(5));
  const v1::CommandProgress done = RunRestart(Restart(absl::Minutes(10)));

  EXPECT_EQ(done.state(), v1::FAILED);
  EXPECT_EQ(done.step(), "stop");
  EXPECT_THAT(done.message(), HasSubstr("pid 100 had not exited"));
  // No signal, no start: whoever looks next finds the server as it was.
  EXPECT_THAT(host_.actions, ElementsAre("run scripts/stop.sh"));
}

TEST_F(SafeRestartTest, TheAgentStoppingEndsTheWaitForHealth) {
  host_.healthy_after_start = absl::Minutes(5);
  AbandonAfter(host_, clock_, absl::Seconds(10));
  const v1::CommandProgress done = RunRestart(Restart(absl::Minutes(10)));

  EXPECT_EQ(done.state(), v1::FAILED);
  EXPECT_EQ(done.step(), "health");
  EXPECT_THAT(done.message(),
              HasSubstr("the agent stopped during step health"));
  EXPECT_THAT(host_.actions,
              ElementsAre("run scripts/stop.sh", "run scripts/start.sh"));
}

TEST_F(SafeRestartTest, ARestartAfterTheAgentStoppedNeverTouchesTheServer) {
  host_.Abandon();
  const v1::CommandProgress done = RunRestart(Restart(absl::Minutes(10)));
  EXPECT_EQ(done.step(), "queue");
  EXPECT_THAT(host_.actions, IsEmpty());
}

TEST_F(SafeRestartTest, AServerThatIsDownIsStartedWithoutDraining) {
  host_.running = false;
  const v1::CommandProgress done = RunRestart(Restart(absl::Minutes(10)));
  EXPECT_EQ(done.state(), v1::SUCCEEDED) << done.message();
  EXPECT_THAT(Messages(), Contains(HasSubstr("nothing to drain")));
  EXPECT_THAT(Messages(), Contains(HasSubstr("ERoom was not running")));
}

TEST_F(SafeRestartTest, StartAndCheckOnlyStartsAndSendsNoNotice) {
  host_.running = false;
  SafeRestart restart(
      Policy(), host_, [this](v1::AgentNotice n) { notices_.push_back(n); },
      clock_);
  const v1::CommandProgress done =
      restart.StartAndCheck([](v1::CommandProgress) {});
  EXPECT_EQ(done.state(), v1::SUCCEEDED);
  EXPECT_THAT(host_.actions, ElementsAre("run scripts/start.sh"));
  EXPECT_THAT(notices_, IsEmpty());
}

}  // namespace
}  // namespace eroom::agent
