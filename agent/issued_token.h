#ifndef EROOM_AGENT_ISSUED_TOKEN_H_
#define EROOM_AGENT_ISSUED_TOKEN_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace eroom::agent {

// The token a collector issues an agent that enrolled with the enrollment
// token (HelloAck.agent_token): from then on the collector lets only that
// token stream as the agent's id, so the agent keeps it, in a file of its
// own beside its spool ("agent-token" in state_dir, mode 0600), and
// connects with it instead of the configured token.

// The kept token; nullopt if none was kept yet. An unreadable or damaged
// file is an error naming it.
absl::StatusOr<std::optional<std::string>> LoadIssuedToken(
    const std::string& path);

// Keeps `token` at `path` (mode 0600), replacing any, durably: written
// aside, synced, then renamed over it.
absl::Status SaveIssuedToken(const std::string& path, const std::string& token);

}  // namespace eroom::agent

#endif  // EROOM_AGENT_ISSUED_TOKEN_H_
