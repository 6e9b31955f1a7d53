#include "agent/issued_token.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/durable_file.h"
#include "common/transport_security.h"

namespace eroom::agent {
namespace {

// Writes `content` to a new file at `path` (mode 0600) and syncs it.
absl::Status WriteSynced(const std::string& path, const std::string& content) {
  const int fd =
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return FileSystemError("cannot create", path);
  const bool written = ::write(fd, content.data(), content.size()) ==
                           static_cast<ssize_t>(content.size()) &&
                       ::fsync(fd) == 0;
  const int saved_errno = errno;
  ::close(fd);
  errno = saved_errno;
  if (!written) return FileSystemError("cannot write", path);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::optional<std::string>> LoadIssuedToken(
    const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return std::nullopt;
    return FileSystemError("cannot read the issued token", path);
  }
  std::stringstream content;
  content << in.rdbuf();
  std::string token(absl::StripAsciiWhitespace(content.str()));
  if (absl::Status valid = ValidateToken(token); !valid.ok() || token.empty()) {
    return absl::DataLossError(absl::StrCat(
        path,
        ": not a token; remove it and the agent's enrollment on the "
        "collector to enroll again"));
  }
  return token;
}

absl::Status SaveIssuedToken(const std::string& path,
                             const std::string& token) {
  const std::string aside = path + ".new";
  if (absl::Status written = WriteSynced(aside, token + "\n"); !written.ok()) {
    return written;
  }
  if (::rename(aside.c_str(), path.c_str()) != 0) {
    return FileSystemError("cannot rename into", path);
  }
  return SyncParentDirectory(path);
}

}  // namespace eroom::agent
