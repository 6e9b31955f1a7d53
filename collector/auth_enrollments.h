#ifndef EROOM_COLLECTOR_AUTH_ENROLLMENTS_H_
#define EROOM_COLLECTOR_AUTH_ENROLLMENTS_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace eroom::collector {

// The agent ids enrolled with an enrollment token, each bound to the token
// the collector issued at its first hello: from then on only that token
// streams as the id. An enrollment is reserved at the hello, then committed
// (made durable) before the token is sent to the agent.
//
// Kept in a file of lines "<agent_id> <token_sha256>" (digests only, like
// the config), mode 0600, appended and synced at each enrollment. Removing
// a line (collector stopped) lets the id enroll again.
//
// Thread-safe. Only Commit touches the disk.
class AgentEnrollments {
 public:
  // Kept in memory only.
  AgentEnrollments() = default;
  // Kept in the file at `path`, created at the first enrollment; an
  // unreadable or damaged file is an error naming it and the line.
  static absl::StatusOr<std::unique_ptr<AgentEnrollments>> Open(
      std::string path);

  AgentEnrollments(const AgentEnrollments&) = delete;
  AgentEnrollments& operator=(const AgentEnrollments&) = delete;

  // The agent id the token whose digest is `token_sha256` was issued to,
  // once that enrollment is committed.
  std::optional<std::string> AgentOf(absl::string_view token_sha256) const;

  // Issues a token to `agent_id` and reserves the id for it; AlreadyExists
  // if the id is enrolled or being enrolled.
  absl::StatusOr<std::string> Reserve(const std::string& agent_id);
  // Makes the reservation of `agent_id` durable; FailedPrecondition if it
  // was released, or the file's error (the reservation is then released).
  // Writes and syncs the file: call from the ingest thread, never a gRPC
  // one.
  absl::Status Commit(const std::string& agent_id);
  // Drops the reservation of `agent_id` unless a commit started.
  void Release(const std::string& agent_id);

 private:
  enum class State { kReserved, kCommitting, kCommitted };
  struct Enrollment {
    std::string token_sha256;
    State state = State::kReserved;
  };

  explicit AgentEnrollments(std::string path) : path_(std::move(path)) {}
  absl::Status Append(const std::string& agent_id,
                      const std::string& token_sha256) const;

  const std::string path_;  // Empty: in memory only.
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Enrollment> by_agent_ ABSL_GUARDED_BY(mu_);
  // Committed ones only.
  absl::flat_hash_map<std::string, std::string> agent_by_digest_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace eroom::collector

#endif  // EROOM_COLLECTOR_AUTH_ENROLLMENTS_H_
