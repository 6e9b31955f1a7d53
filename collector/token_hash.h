#ifndef EROOM_COLLECTOR_TOKEN_HASH_H_
#define EROOM_COLLECTOR_TOKEN_HASH_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace eroom::collector {

// The collector's config holds SHA-256 digests of tokens, never tokens
// (deploy/hash-token.sh prints one). Tokens are long random strings, so an
// unsalted digest is enough to keep them out of config files and backups.

// Lowercase hex SHA-256 of `token`.
std::string TokenSha256Hex(absl::string_view token);

// A new token of 256 random bits in 64 lowercase hex digits, as the
// collector issues to an agent at enrollment; Internal if the system has
// no randomness to give.
absl::StatusOr<std::string> NewRandomToken();

// True if `text` is 64 hex digits (either case).
bool IsSha256Hex(absl::string_view text);

}  // namespace eroom::collector

#endif  // EROOM_COLLECTOR_TOKEN_HASH_H_
