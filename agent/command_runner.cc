#include "agent/command_runner.h"

#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "spdlog/spdlog.h"

namespace eroom::agent {
namespace v1 = ::eroom::monitor::v1;
namespace {

bool IsFinal(v1::CommandState state) {
  return state == v1::SUCCEEDED || state == v1::FAILED || state == v1::REJECTED;
}

// Steps of a safe restart before it touches the server: a cancel still
// stops it.
bool StillDraining(const std::string& step) {
  return step.empty() || step == "queue" || step == "drain";
}

}  // namespace

CommandRunner::CommandRunner(CommandPolicy policy, const Clock& clock,
                             CommandActions* actions, CommandJournal* journal)
    : policy_(policy),
      clock_(clock),
      actions_(actions),
      journal_(journal),
      commands_(kMaxQueuedCommands),
      progress_(kMaxQueuedProgress) {
  Recover();
}

CommandRunner::~CommandRunner() { Stop(); }

void CommandRunner::SetIdleTask(std::function<void()> task,
                                absl::Duration every) {
  idle_task_ = std::move(task);
  idle_every_ = every;
}

void CommandRunner::Start() {
  thread_ = std::thread([this] {
    SetThreadName("commands");
    absl::Time next_idle = clock_.Now();
    while (true) {
      std::optional<v1::Command> command = commands_.Pop(idle_every_);
      if (command && stopping_.load()) {
        // Never begun: a restart must not start while the agent stops.
        const std::string& id = command->command_id();
        if (!AnswerAgain(id) && CheckCommandId(id).ok()) {
          Report(id, v1::REJECTED, "the agent is stopping", /*remember=*/true);
        }
      } else if (command) {
        Run(*command);
      } else if (stopping_.load()) {
        break;
      }
      if (idle_task_ && clock_.Now() >= next_idle && !stopping_.load()) {
        idle_task_();
        next_idle = clock_.Now() + idle_every_;
      }
    }
  });
}

void CommandRunner::Stop() {
  stopping_.store(true);
  commands_.Close();
  if (thread_.joinable()) thread_.join();
}

void CommandRunner::Submit(v1::Command command) {
  if (command.has_cancel()) {
    Cancel(command);
    return;
  }
  std::string id = command.command_id();
  if (commands_.TryPush(std::move(command))) return;
  // Not remembered: the same command sent again later may find room.
  if (CheckCommandId(id).ok()) {
    Report(id, v1::REJECTED,
           stopping_.load() ? "the agent is stopping"
                            : "the agent is busy: too many commands queued",
           /*remember=*/false);
  }
}

std::vector<v1::CommandProgress> CommandRunner::TakeProgress(size_t max) {
  return progress_.PopBatch(max, absl::ZeroDuration());
}

bool CommandRunner::AnswerAgain(const std::string& command_id) {
  v1::CommandProgress again;
  {
    absl::MutexLock lock(&mu_);
    auto seen = last_progress_.find(command_id);
    if (seen == last_progress_.end()) return false;
    again = seen->second;
  }
  spdlog::info("command {} seen before: answering its last state again",
               command_id);
  Publish(std::move(again), /*remember=*/false);
  return true;
}

void CommandRunner::Cancel(const v1::Command& command) {
  std::optional<AllowedCommand> allowed = Accept(command);
  if (!allowed) return;
  const std::string& target = allowed->target_command_id;
  std::string answer;
  bool canceled = false;
  {
    absl::MutexLock lock(&mu_);
    if (running_ == nullptr || running_->command_id != target) {
      answer = absl::StrCat("nothing to cancel: ", target, " is not running");
    } else if (!StillDraining(running_->step)) {
      answer = absl::StrCat("too late: ", target, " is at step ",
                            running_->step, " and goes on");
    } else {
      running_->canceled.Notify();
      canceled = true;
      answer = absl::StrCat("canceled ", target);
    }
  }
  spdlog::info("command {}: {}", allowed->command_id, answer);
  Report(allowed->command_id, canceled ? v1::SUCCEEDED : v1::FAILED,
         std::move(answer),
         /*remember=*/true);
}

std::optional<AllowedCommand> CommandRunner::Accept(
    const v1::Command& command) {
  const std::string& id = command.command_id();
  if (AnswerAgain(id)) return std::nullopt;
  absl::StatusOr<AllowedCommand> allowed = CheckCommand(command, policy_);
  if (!allowed.ok()) {
    const std::string reason(allowed.status().message());
    // A malformed id is never echoed (command_policy.h): that command goes
    // unanswered, and its id is not remembered.
    const bool id_ok = CheckCommandId(id).ok();
    spdlog::warn("command {} rejected: {}", id_ok ? id : "(malformed id)",
                 reason);
    if (id_ok) Report(id, v1::REJECTED, reason, /*remember=*/true);
    return std::nullopt;
  }
  // Journaled before anything runs: a command is never run twice, even if
  // the agent dies while running it.
  Report(id, v1::ACCEPTED, "", /*remember=*/true);
  return *std::move(allowed);
}

void CommandRunner::Run(const v1::Command& command) {
  std::optional<AllowedCommand> allowed = Accept(command);
  if (!allowed) return;
  const std::string& id = allowed->command_id;
  v1::CommandProgress done = RunAction(*allowed);
  done.set_command_id(id);
  spdlog::info("command {}: {} {}", id, v1::CommandState_Name(done.state()),
               done.message());
  Publish(std::move(done), /*remember=*/true);
}

v1::CommandProgress CommandRunner::RunAction(const AllowedCommand& command) {
  v1::CommandProgress done;
  if (command.action == AllowedCommand::Action::kPing) {
    done.set_state(v1::SUCCEEDED);
    done.set_message("pong");
    return done;
  }
  if (actions_ == nullptr) {
    done.set_state(v1::FAILED);
    done.set_message("not available in this agent");
    return done;
  }
  const StepReporter report = [this, &command](v1::CommandProgress step) {
    ReportStep(command.command_id, std::move(step));
  };
  if (command.action == AllowedCommand::Action::kLogHousekeeping) {
    return actions_->LogHousekeeping(command, report);
  }
  auto running = std::make_shared<Running>();
  running->command_id = command.command_id;
  {
    absl::MutexLock lock(&mu_);
    running_ = running;
  }
  done = actions_->SafeRestart(command, report, running->canceled);
  absl::MutexLock lock(&mu_);
  running_.reset();
  return done;
}

void CommandRunner::ReportStep(const std::string& command_id,
                               v1::CommandProgress step) {
  step.set_command_id(command_id);
  step.set_state(v1::RUNNING);
  bool new_step = false;
  {
    absl::MutexLock lock(&mu_);
    if (running_ != nullptr && running_->command_id == command_id) {
      new_step = running_->step != step.step();
      running_->step = step.step();
    } else {
      auto last = last_progress_.find(command_id);
      new_step =
          last == last_progress_.end() || last->second.step() != step.step();
    }
  }
  // Only a change of step is journaled: waiting reports come every few
  // seconds.
  Publish(std::move(step), /*remember=*/new_step);
}

void CommandRunner::Report(const std::string& command_id,
                           v1::CommandState state, std::string message,
                           bool remember) {
  v1::CommandProgress progress;
  progress.set_command_id(command_id);
  progress.set_state(state);
  progress.set_message(std::move(message));
  Publish(std::move(progress), remember);
}

void CommandRunner::Publish(v1::CommandProgress progress, bool remember) {
  progress.set_time_unix_ms(absl::ToUnixMillis(clock_.Now()));
  if (remember) {
    {
      absl::MutexLock lock(&mu_);
      Remember(progress);
    }
    Journal(progress);
  }
  // Only streams that keep breaking leave this much unsent.
  if (progress_.PushDropOldest(std::move(progress)) > 0) {
    spdlog::warn("dropped the oldest unsent command progress");
  }
}

void CommandRunner::Remember(const v1::CommandProgress& progress) {
  if (last_progress_.insert_or_assign(progress.command_id(), progress).second) {
    remembered_order_.push_back(progress.command_id());
    if (remembered_order_.size() > kRememberedCommands) {
      last_progress_.erase(remembered_order_.front());
      remembered_order_.pop_front();
    }
  }
}

void CommandRunner::Journal(const v1::CommandProgress& progress) {
  if (journal_ == nullptr) return;
  const absl::Status saved =
      journal_->SaveCommandState(progress, kRememberedCommands);
  if (!saved.ok() && !journal_failing_.exchange(true)) {
    spdlog::error(
        "cannot journal the state of command {}: {} (commands run on; "
        "logged until it works again)",
        progress.command_id(), saved.ToString());
  }
  if (saved.ok()) journal_failing_.store(false);
}

void CommandRunner::Recover() {
  if (journal_ == nullptr) return;
  absl::StatusOr<std::vector<v1::CommandProgress>> states =
      journal_->LoadCommandStates();
  if (!states.ok()) {
    spdlog::error("cannot read the journal of commands: {}",
                  states.status().ToString());
    return;
  }
  for (v1::CommandProgress& last : *states) {
    if (IsFinal(last.state())) {
      absl::MutexLock lock(&mu_);
      Remember(last);
      continue;
    }
    const std::string during = last.step().empty()
                                   ? "before its first step"
                                   : absl::StrCat("during step ", last.step());
    spdlog::warn("command {} was running when the agent stopped ({})",
                 last.command_id(), during);
    v1::CommandProgress ended;
    ended.set_command_id(last.command_id());
    ended.set_state(v1::FAILED);
    ended.set_step(last.step());
    ended.set_message(absl::StrCat("the agent restarted ", during));
    Publish(std::move(ended), /*remember=*/true);
  }
}

}  // namespace eroom::agent
