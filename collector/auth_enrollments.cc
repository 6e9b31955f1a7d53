#include "collector/auth_enrollments.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "collector/token_hash.h"
#include "common/durable_file.h"
#include "common/ids.h"
#include "common/status_macros.h"
#include "spdlog/spdlog.h"

namespace eroom::collector {

absl::StatusOr<std::unique_ptr<AgentEnrollments>> AgentEnrollments::Open(
    std::string path) {
  std::unique_ptr<AgentEnrollments> enrollments(
      new AgentEnrollments(std::move(path)));
  const std::string& file = enrollments->path_;
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return enrollments;
    return FileSystemError("cannot read enrolled agents", file);
  }
  std::stringstream content;
  content << in.rdbuf();
  std::string text = content.str();
  // A line cut short by a crash was never acknowledged to its agent.
  if (const size_t end = text.rfind('\n') + 1; end != text.size()) {
    spdlog::warn("{}: dropping an incomplete last line", file);
    if (::truncate(file.c_str(), static_cast<off_t>(end)) != 0) {
      return FileSystemError("cannot repair enrolled agents", file);
    }
    text.resize(end);
  }
  int line_number = 0;
  absl::MutexLock lock(&enrollments->mu_);
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    ++line_number;
    std::vector<absl::string_view> parts = absl::StrSplit(line, ' ');
    if (parts.size() != 2 ||
        !CheckId("agent_id", parts[0], kMaxAgentIdBytes).ok() ||
        !IsSha256Hex(parts[1])) {
      return absl::DataLossError(absl::StrCat(
          file, ":", line_number,
          ": not '<agent_id> <token_sha256>'; fix or remove the line"));
    }
    std::string agent_id(parts[0]);
    std::string digest(parts[1]);
    enrollments->agent_by_digest_[digest] = agent_id;
    enrollments->by_agent_[agent_id] =
        Enrollment{std::move(digest), State::kCommitted};
  }
  return enrollments;
}

std::optional<std::string> AgentEnrollments::AgentOf(
    absl::string_view token_sha256) const {
  absl::MutexLock lock(&mu_);
  auto found = agent_by_digest_.find(token_sha256);
  if (found == agent_by_digest_.end()) return std::nullopt;
  return found->second;
}

absl::StatusOr<std::string> AgentEnrollments::Reserve(
    const std::string& agent_id) {
  EROOM_ASSIGN_OR_RETURN(std::string token, NewRandomToken());
  absl::MutexLock lock(&mu_);
  auto [enrollment, reserved] =
      by_agent_.try_emplace(agent_id, Enrollment{TokenSha256Hex(token)});
  if (!reserved) {
    return absl::AlreadyExistsError(
        absl::StrCat("agent '", agent_id, "' is enrolled already"));
  }
  return token;
}

absl::Status AgentEnrollments::Commit(const std::string& agent_id) {
  std::string digest;
  {
    absl::MutexLock lock(&mu_);
    auto found = by_agent_.find(agent_id);
    if (found == by_agent_.end() || found->second.state != State::kReserved) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the enrollment of agent '", agent_id, "' was abandoned"));
    }
    found->second.state = State::kCommitting;
    digest = found->second.token_sha256;
  }
  // Outside the lock: tokens are checked while the disk works.
  absl::Status appended =
      path_.empty() ? absl::OkStatus() : Append(agent_id, digest);
  absl::MutexLock lock(&mu_);
  if (!appended.ok()) {
    by_agent_.erase(agent_id);
    return appended;
  }
  by_agent_[agent_id].state = State::kCommitted;
  agent_by_digest_[digest] = agent_id;
  return absl::OkStatus();
}

void AgentEnrollments::Release(const std::string& agent_id) {
  absl::MutexLock lock(&mu_);
  auto found = by_agent_.find(agent_id);
  if (found != by_agent_.end() && found->second.state == State::kReserved) {
    by_agent_.erase(found);
  }
}

absl::Status AgentEnrollments::Append(const std::string& agent_id,
                                      const std::string& token_sha256) const {
  const bool created = !std::filesystem::exists(path_);
  const int fd =
      ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return FileSystemError("cannot open enrolled agents", path_);
  const std::string line = absl::StrCat(agent_id, " ", token_sha256, "\n");
  const bool written = ::write(fd, line.data(), line.size()) ==
                           static_cast<ssize_t>(line.size()) &&
                       ::fdatasync(fd) == 0;
  const int write_errno = errno;
  ::close(fd);
  if (!written) {
    errno = write_errno;
    return FileSystemError("cannot write enrolled agents", path_);
  }
  return created ? SyncParentDirectory(path_) : absl::OkStatus();
}

}  // namespace eroom::collector
