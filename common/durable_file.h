#ifndef EROOM_COMMON_DURABLE_FILE_H_
#define EROOM_COMMON_DURABLE_FILE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace eroom {

// INTERNAL "<what> <path>: <strerror(errno)>", for a failed system call.
absl::Status FileSystemError(absl::string_view what, const std::string& path);

// Syncs the directory holding `path`, so that a file created or renamed
// there survives a crash.
absl::Status SyncParentDirectory(const std::string& path);

}  // namespace eroom

#endif  // EROOM_COMMON_DURABLE_FILE_H_
