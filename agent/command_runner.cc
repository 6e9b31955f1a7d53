#include "agent/command_runner.h"

#include <utility>

#include "absl/status/statusor.h"
#include "common/logging.h"
#include "spdlog/spdlog.h"

namespace eroom::agent {
namespace v1 = ::eroom::monitor::v1;

CommandRunner::CommandRunner(CommandPolicy policy, const Clock& clock)
    : policy_(policy),
      clock_(clock),
      commands_(kMaxQueuedCommands),
      progress_(kMaxQueuedProgress) {}

CommandRunner::~CommandRunner() { Stop(); }

void CommandRunner::Start() {
  thread_ = std::thread([this] {
    SetThreadName("commands");
    while (std::optional<v1::Command> command =
               commands_.Pop(absl::InfiniteDuration())) {
      Run(*command);
    }
  });
}

void CommandRunner::Stop() {
  commands_.Close();
  if (thread_.joinable()) thread_.join();
}

void CommandRunner::Submit(v1::Command command) {
  std::string id = command.command_id();
  if (commands_.TryPush(std::move(command))) return;
  // Not remembered: the same command sent again later may find room.
  if (CheckCommandId(id).ok()) {
    Report(id, v1::REJECTED, "the agent is busy: too many commands queued",
           /*remember=*/false);
  }
}

std::vector<v1::CommandProgress> CommandRunner::TakeProgress(size_t max) {
  return progress_.PopBatch(max, absl::ZeroDuration());
}

void CommandRunner::Run(const v1::Command& command) {
  const std::string& id = command.command_id();
  if (auto seen = last_progress_.find(id); seen != last_progress_.end()) {
    spdlog::info("command {} seen before: answering its last state again", id);
    v1::CommandProgress again = seen->second;
    again.set_time_unix_ms(absl::ToUnixMillis(clock_.Now()));
    Queue(std::move(again));
    return;
  }
  absl::StatusOr<AllowedCommand> allowed = CheckCommand(command, policy_);
  if (!allowed.ok()) {
    const std::string reason(allowed.status().message());
    // A malformed id is never echoed (command_policy.h): that command goes
    // unanswered, and its id is not remembered.
    const bool id_ok = CheckCommandId(id).ok();
    spdlog::warn("command {} rejected: {}", id_ok ? id : "(malformed id)",
                 reason);
    if (id_ok) Report(id, v1::REJECTED, reason, /*remember=*/true);
    return;
  }
  Report(id, v1::ACCEPTED, "", /*remember=*/true);
  if (allowed->action == AllowedCommand::Action::kPing) {
    Report(id, v1::SUCCEEDED, "pong", /*remember=*/true);
    spdlog::info("command {}: ping answered", id);
    return;
  }
  // Safe restart and log housekeeping come with their procedures.
  Report(id, v1::FAILED, "not implemented in this version",
         /*remember=*/true);
  spdlog::warn("command {}: allowed, but not implemented in this version", id);
}

void CommandRunner::Report(const std::string& command_id,
                           v1::CommandState state, std::string message,
                           bool remember) {
  v1::CommandProgress progress;
  progress.set_command_id(command_id);
  progress.set_state(state);
  progress.set_message(std::move(message));
  progress.set_time_unix_ms(absl::ToUnixMillis(clock_.Now()));
  if (remember) {
    if (last_progress_.insert_or_assign(command_id, progress).second) {
      remembered_order_.push_back(command_id);
      if (remembered_order_.size() > kRememberedCommands) {
        last_progress_.erase(remembered_order_.front());
        remembered_order_.pop_front();
      }
    }
  }
  Queue(std::move(progress));
}

void CommandRunner::Queue(v1::CommandProgress progress) {
  // Only streams that keep breaking leave this much unsent.
  if (progress_.PushDropOldest(std::move(progress)) > 0) {
    spdlog::warn("dropped the oldest unsent command progress");
  }
}

}  // namespace eroom::agent
