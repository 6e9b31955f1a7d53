#ifndef EROOM_AGENT_LOG_FILE_SCANNER_H_
#define EROOM_AGENT_LOG_FILE_SCANNER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/time/time.h"

namespace eroom::agent {

// A log file a scan found, as stat(2) saw it.
struct FoundLogFile {
  std::string path;
  uint64_t device = 0;
  uint64_t inode = 0;
  uint64_t size = 0;
  absl::Time modified;
};

struct LogFileScan {
  // Regular files matched by the patterns, each file once (the first path
  // found for it), in pattern order and sorted by name within a pattern.
  std::vector<FoundLogFile> files;
  // (path, what is wrong): unreadable directories, matched paths that are
  // not regular files.
  std::vector<std::pair<std::string, std::string>> problems;
  // Every place a matching file could be was looked at: a file known
  // before and not in `files` is really gone (not merely unreadable now).
  bool complete = true;
  // The directories the patterns look in (to watch for changes).
  std::vector<std::string> directories;
};

// Whether a path matched by a pattern is never a log to follow: anything
// under an `archive` directory (logback's and the operators' gzip
// housekeeping) and compressed files.
bool IsExcludedLogPath(std::string_view path);

// Expands glob(3) patterns (absolute, or relative to the working directory;
// brace expansion allowed) into the log files to follow. With `confine_to`
// (a directory) set, a path that leads outside it through a symbolic link
// (the file's, or a directory's on the way; `confine_to` itself may be one)
// is a problem, not a file; a path outside it reached through no link is
// found as usual.
LogFileScan ScanLogFiles(const std::vector<std::string>& patterns,
                         const std::string& confine_to = "");

// Why `path` (which exists) may not be used under the rule ScanLogFiles
// applies with `confine_to`: a symbolic link on its way leads out of it.
// "" if it may (or `confine_to` is empty); a path that cannot be resolved
// is refused with why.
std::string ConfinementRefusal(const std::string& path,
                               const std::string& confine_to);

}  // namespace eroom::agent

#endif  // EROOM_AGENT_LOG_FILE_SCANNER_H_
