#include "collector/agent_stream_registry.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace eroom::collector {
namespace v1 = ::eroom::monitor::v1;

bool IsFinalCommandState(v1::CommandState state) {
  return state == v1::SUCCEEDED || state == v1::FAILED || state == v1::REJECTED;
}

AgentStreamRegistry::AgentStreamRegistry(StreamEnded stream_ended)
    : stream_ended_(std::move(stream_ended)) {}

absl::StatusOr<std::shared_ptr<AgentStreamRegistry::Stream>>
AgentStreamRegistry::Register(const std::string& agent_id,
                              const std::string& credential,
                              std::shared_ptr<Stream> stream) {
  std::vector<std::string> ended;
  {
    absl::MutexLock lock(&mu_);
    auto [live, added] =
        streams_.try_emplace(agent_id, Live{credential, stream});
    if (!added) {
      if (live->second.credential != credential) {
        return absl::AlreadyExistsError(absl::StrCat(
            "agent '", agent_id,
            "' is connected with another credential; its stream keeps "
            "running"));
      }
      std::swap(live->second.stream, stream);
      ended = EndRunningOn(agent_id, stream.get());
    } else {
      stream = nullptr;
    }
  }
  ReportEnded(agent_id, ended);
  return stream;
}

bool AgentStreamRegistry::Unregister(const std::string& agent_id,
                                     const Stream* stream) {
  std::vector<std::string> ended;
  bool was_live = false;
  {
    absl::MutexLock lock(&mu_);
    ended = EndRunningOn(agent_id, stream);
    auto it = streams_.find(agent_id);
    if (it != streams_.end() && it->second.stream.get() == stream) {
      streams_.erase(it);
      was_live = true;
    }
  }
  ReportEnded(agent_id, ended);
  return was_live;
}

bool AgentStreamRegistry::IsLive(const std::string& agent_id,
                                 const Stream* stream) const {
  absl::MutexLock lock(&mu_);
  auto it = streams_.find(agent_id);
  return it != streams_.end() && it->second.stream.get() == stream;
}

bool AgentStreamRegistry::HasLive(const std::string& agent_id) const {
  absl::MutexLock lock(&mu_);
  return streams_.contains(agent_id);
}

absl::Status AgentStreamRegistry::Reserve(const std::string& agent_id,
                                          const std::string& command_id) {
  absl::MutexLock lock(&mu_);
  auto stream = streams_.find(agent_id);
  if (stream == streams_.end()) {
    return absl::UnavailableError(absl::StrCat(
        "host '", agent_id, "' has no live agent stream (not connected)"));
  }
  auto [running, reserved] = running_.try_emplace(
      agent_id, Running{command_id, stream->second.stream.get()});
  if (!reserved) {
    return absl::FailedPreconditionError(
        absl::StrCat("command '", running->second.command_id,
                     "' is still running on host '", agent_id, "'"));
  }
  return absl::OkStatus();
}

absl::Status AgentStreamRegistry::Send(const std::string& agent_id,
                                       const v1::Command& command) {
  std::shared_ptr<Stream> target;
  {
    absl::MutexLock lock(&mu_);
    auto running = running_.find(agent_id);
    auto stream = streams_.find(agent_id);
    if (running != running_.end() &&
        running->second.command_id == command.command_id()) {
      if (stream != streams_.end() &&
          stream->second.stream.get() == running->second.stream) {
        target = stream->second.stream;
      } else {
        running_.erase(running);
      }
    }
  }
  // Outside the lock: the stream takes its own.
  if (target == nullptr || !target->SendCommand(command)) {
    Release(agent_id, command.command_id());
    return absl::UnavailableError(absl::StrCat(
        "the agent stream of host '", agent_id, "' ended before command '",
        command.command_id(), "' could be sent"));
  }
  return absl::OkStatus();
}

absl::Status AgentStreamRegistry::SendUnreserved(const std::string& agent_id,
                                                 const v1::Command& command) {
  std::shared_ptr<Stream> target;
  {
    absl::MutexLock lock(&mu_);
    auto stream = streams_.find(agent_id);
    if (stream != streams_.end()) {
      target = stream->second.stream;
      beside_[agent_id].push_back({command.command_id(), target.get()});
    }
  }
  // Outside the lock: the stream takes its own.
  if (target == nullptr || !target->SendCommand(command)) {
    if (target != nullptr) Forget(agent_id, target.get(), command.command_id());
    return absl::UnavailableError(absl::StrCat(
        "host '", agent_id, "' has no live agent stream (not connected)"));
  }
  return absl::OkStatus();
}

void AgentStreamRegistry::Release(const std::string& agent_id,
                                  const std::string& command_id) {
  absl::MutexLock lock(&mu_);
  auto running = running_.find(agent_id);
  if (running != running_.end() && running->second.command_id == command_id) {
    running_.erase(running);
  }
}

void AgentStreamRegistry::OnProgress(const std::string& agent_id,
                                     const Stream* stream,
                                     const v1::CommandProgress& progress) {
  if (!IsFinalCommandState(progress.state())) return;
  Forget(agent_id, stream, progress.command_id());
}

void AgentStreamRegistry::Forget(const std::string& agent_id,
                                 const Stream* stream,
                                 const std::string& command_id) {
  absl::MutexLock lock(&mu_);
  auto running = running_.find(agent_id);
  if (running != running_.end() && running->second.stream == stream &&
      running->second.command_id == command_id) {
    running_.erase(running);
  }
  auto beside = beside_.find(agent_id);
  if (beside == beside_.end()) return;
  std::erase_if(beside->second, [&](const Running& sent) {
    return sent.stream == stream && sent.command_id == command_id;
  });
  if (beside->second.empty()) beside_.erase(beside);
}

std::vector<std::string> AgentStreamRegistry::EndRunningOn(
    const std::string& agent_id, const Stream* stream) {
  std::vector<std::string> ended;
  auto running = running_.find(agent_id);
  if (running != running_.end() && running->second.stream == stream) {
    ended.push_back(std::move(running->second.command_id));
    running_.erase(running);
  }
  auto beside = beside_.find(agent_id);
  if (beside != beside_.end()) {
    std::erase_if(beside->second, [&](Running& sent) {
      if (sent.stream != stream) return false;
      ended.push_back(std::move(sent.command_id));
      return true;
    });
    if (beside->second.empty()) beside_.erase(beside);
  }
  return ended;
}

void AgentStreamRegistry::ReportEnded(
    const std::string& agent_id,
    const std::vector<std::string>& command_ids) const {
  if (stream_ended_ == nullptr) return;
  for (const std::string& command_id : command_ids) {
    stream_ended_(agent_id, command_id);
  }
}

}  // namespace eroom::collector
