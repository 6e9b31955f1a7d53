#include "agent/command_runner.h"

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "agent/spool.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/test_support/fake_clock.h"
#include "tests/unit/test_support/status_matchers.h"
#include "tests/unit/test_support/temp_dir.h"

namespace eroom::agent {
namespace {
namespace v1 = ::eroom::monitor::v1;

using ::eroom::test_support::IsOk;
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
}

TEST(CommandRunnerTest, AMalformedIdIsNeverEchoed) {
  FakeClock clock;
  CommandRunner runner({}, clock);
  runner.Submit(Ping("bad id\n"));
  runner.Start();
  runner.Stop();
  EXPECT_THAT(runner.TakeProgress(10), IsEmpty());
}

v1::Command Restart(const std::string& id) {
  v1::Command command;
  command.set_command_id(id);
  command.mutable_safe_restart()->set_drain_timeout_ms(60000);
  return command;
}

v1::Command Cancel(const std::string& id, const std::string& target) {
  v1::Command command;
  command.set_command_id(id);
  command.mutable_cancel()->set_target_command_id(target);
  return command;
}

CommandPolicy RestartAllowed() {
  CommandPolicy policy;
  policy.safe_restart.enabled = true;
  policy.safe_restart.stop_command = {"scripts/stop.sh"};
  policy.safe_restart.start_command = {"scripts/start.sh"};
  return policy;
}

// A safe restart that reports `step`, then waits until it is canceled or
// released.
class BlockingActions : public CommandActions {
 public:
  explicit BlockingActions(std::string step = "drain")
      : step_(std::move(step)) {}

  v1::CommandProgress SafeRestart(const AllowedCommand&,
                                  const StepReporter& report,
                                  const absl::Notification& canceled) override {
    ++restarts;
    v1::CommandProgress step;
    step.set_step(step_);
    step.set_message("draining: active 1, queued 0");
    report(step);
    if (!started.HasBeenNotified()) started.Notify();
    v1::CommandProgress done;
    // Bounded: a broken runner fails the test instead of hanging it.
    for (int i = 0; i < 1000 && !release.HasBeenNotified(); ++i) {
      if (canceled.WaitForNotificationWithTimeout(absl::Milliseconds(10))) {
        done.set_state(v1::FAILED);
        done.set_step(step_);
        done.set_message("canceled by the operator");
        return done;
      }
    }
    done.set_state(v1::SUCCEEDED);
    done.set_message("restarted");
    return done;
  }

  v1::CommandProgress LogHousekeeping(const AllowedCommand&,
                                      const StepReporter&) override {
    v1::CommandProgress done;
    done.set_state(v1::FAILED);
    return done;
  }

  int restarts = 0;
  absl::Notification started;
  absl::Notification release;

 private:
  const std::string step_;
};

// The progress of `id` among `all`, in order.
std::vector<v1::CommandProgress> Of(const std::vector<v1::CommandProgress>& all,
                                    const std::string& id) {
  std::vector<v1::CommandProgress> out;
  for (const v1::CommandProgress& p : all) {
    if (p.command_id() == id) out.push_back(p);
  }
  return out;
}

// Starts `runner` with restart-1; whether `actions` began running it.
bool StartBlockedRestart(CommandRunner& runner, BlockingActions& actions) {
  runner.Start();
  runner.Submit(Restart("restart-1"));
  return actions.started.WaitForNotificationWithTimeout(absl::Seconds(10));
}

TEST(CommandRunnerTest, ACancelIsAnsweredBesideTheDrainingRestart) {
  FakeClock clock;
  BlockingActions actions;
  CommandRunner runner(RestartAllowed(), clock, &actions);
  ASSERT_TRUE(StartBlockedRestart(runner, actions));

  runner.Submit(Cancel("cancel-1", "restart-1"));
  std::vector<v1::CommandProgress> progress = runner.TakeProgress(100);
  std::vector<v1::CommandProgress> cancel = Of(progress, "cancel-1");
  ASSERT_EQ(cancel.size(), 2u);  // Answered at once, not queued behind.
  EXPECT_EQ(cancel[0].state(), v1::ACCEPTED);
  EXPECT_EQ(cancel[1].state(), v1::SUCCEEDED);
  EXPECT_EQ(cancel[1].message(), "canceled restart-1");

  runner.Stop();
  // The restart may have ended before the first take.
  for (v1::CommandProgress& later : runner.TakeProgress(100)) {
    progress.push_back(std::move(later));
  }
  std::vector<v1::CommandProgress> restart = Of(progress, "restart-1");
  ASSERT_FALSE(restart.empty());
  EXPECT_EQ(restart.back().state(), v1::FAILED);
  EXPECT_THAT(restart.back().message(), HasSubstr("canceled by the operator"));
}

TEST(CommandRunnerTest, ACancelPastTheDrainIsTooLate) {
  FakeClock clock;
  BlockingActions actions("stop");
  CommandRunner runner(RestartAllowed(), clock, &actions);
  ASSERT_TRUE(StartBlockedRestart(runner, actions));
  runner.Submit(Cancel("cancel-1", "restart-1"));
  std::vector<v1::CommandProgress> cancel =
      Of(runner.TakeProgress(100), "cancel-1");
  ASSERT_EQ(cancel.size(), 2u);
  EXPECT_EQ(cancel[1].state(), v1::FAILED);
  EXPECT_THAT(cancel[1].message(), HasSubstr("too late"));

  actions.release.Notify();
  runner.Stop();
  EXPECT_EQ(Of(runner.TakeProgress(100), "restart-1").back().state(),
            v1::SUCCEEDED);
}

TEST(CommandRunnerTest, WhatIsStillQueuedWhenTheAgentStopsNeverRuns) {
  FakeClock clock;
  BlockingActions actions;
  CommandRunner runner(RestartAllowed(), clock, &actions);
  ASSERT_TRUE(StartBlockedRestart(runner, actions));
  runner.Submit(Restart("restart-2"));  // Queued behind the running one.

  std::thread stopper([&runner] { runner.Stop(); });
  // The stop has begun once a new command is turned away for it.
  std::vector<v1::CommandProgress> progress;
  bool stopping = false;
  for (int probe = 0; probe < 1000000 && !stopping; ++probe) {
    runner.Submit(Restart(absl::StrCat("probe-", probe)));
    for (v1::CommandProgress& p : runner.TakeProgress(100)) {
      stopping = stopping || p.message() == "the agent is stopping";
      progress.push_back(std::move(p));
    }
    std::this_thread::yield();
  }
  ASSERT_TRUE(stopping);
  actions.release.Notify();
  stopper.join();
  for (v1::CommandProgress& p : runner.TakeProgress(100)) {
    progress.push_back(std::move(p));
  }

  EXPECT_EQ(actions.restarts, 1);
  std::vector<v1::CommandProgress> second = Of(progress, "restart-2");
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].state(), v1::REJECTED);
  EXPECT_EQ(second[0].message(), "the agent is stopping");
}

TEST(CommandRunnerTest, ACancelWithNothingRunningFails) {
  FakeClock clock;
  CommandRunner runner(RestartAllowed(), clock);
  runner.Submit(Cancel("cancel-1", "restart-9"));
  std::vector<v1::CommandProgress> cancel = runner.TakeProgress(100);
  ASSERT_EQ(cancel.size(), 2u);
  EXPECT_EQ(cancel[1].state(), v1::FAILED);
  EXPECT_THAT(cancel[1].message(), HasSubstr("nothing to cancel"));
}

class CommandJournalTest : public test_support::TempDirTest {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<Spool>> spool =
        Spool::Open({.path = PathIn("agent-state.db")});
    ASSERT_THAT(spool, IsOk());
    spool_ = *std::move(spool);
  }

  FakeClock clock_;
  std::unique_ptr<Spool> spool_;
};

TEST_F(CommandJournalTest, ACommandIsNeverRunTwiceAcrossAgentRestarts) {
  BlockingActions actions;
  actions.release.Notify();
  {
    CommandRunner runner(RestartAllowed(), clock_, &actions, spool_.get());
    runner.Start();
    runner.Submit(Restart("restart-1"));
    ASSERT_TRUE(
        actions.started.WaitForNotificationWithTimeout(absl::Seconds(10)));
    runner.Stop();
  }
  EXPECT_EQ(actions.restarts, 1);

  CommandRunner again(RestartAllowed(), clock_, &actions, spool_.get());
  EXPECT_THAT(again.TakeProgress(100), IsEmpty());  // Nothing unfinished.
  again.Start();
  again.Submit(Restart("restart-1"));
  again.Stop();
  std::vector<v1::CommandProgress> answer = again.TakeProgress(100);
  ASSERT_EQ(answer.size(), 1u);
  EXPECT_EQ(answer[0].state(), v1::SUCCEEDED);
  EXPECT_EQ(answer[0].message(), "restarted");
  EXPECT_EQ(actions.restarts, 1);
}

TEST_F(CommandJournalTest, ACommandInterruptedByAnAgentRestartEndsFailed) {
  v1::CommandProgress running;
  running.set_command_id("restart-1");
  running.set_state(v1::RUNNING);
  running.set_step("stop");
  ASSERT_THAT(spool_->SaveCommandState(running, 10), IsOk());

  BlockingActions actions;
  CommandRunner runner(RestartAllowed(), clock_, &actions, spool_.get());
  std::vector<v1::CommandProgress> reported = runner.TakeProgress(100);
  ASSERT_EQ(reported.size(), 1u);
  EXPECT_EQ(reported[0].command_id(), "restart-1");
  EXPECT_EQ(reported[0].state(), v1::FAILED);
  EXPECT_EQ(reported[0].step(), "stop");
  EXPECT_EQ(reported[0].message(), "the agent restarted during step stop");

  // Sent again, it is answered, not run.
  runner.Start();
  runner.Submit(Restart("restart-1"));
  runner.Stop();
  std::vector<v1::CommandProgress> answer = runner.TakeProgress(100);
  ASSERT_EQ(answer.size(), 1u);
  EXPECT_EQ(answer[0].state(), v1::FAILED);
  EXPECT_EQ(actions.restarts, 0);
}

TEST_F(CommandJournalTest, TheJournalKeepsTheLatestCommands) {
  for (int i = 0; i < 5; ++i) {
    v1::CommandProgress done;
    done.set_command_id(absl::StrCat("cmd-", i));
    done.set_state(v1::SUCCEEDED);
    ASSERT_THAT(spool_->SaveCommandState(done, 3), IsOk());
  }
  absl::StatusOr<std::vector<v1::CommandProgress>> kept =
      spool_->LoadCommandStates();
  ASSERT_THAT(kept, IsOk());
  ASSERT_EQ(kept->size(), 3u);
  EXPECT_EQ((*kept)[0].command_id(), "cmd-2");
  EXPECT_EQ((*kept)[2].command_id(), "cmd-4");
}

}  // namespace
}  // namespace eroom::agent
