#include "agent/log_file_scanner.h"

#include <glob.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <system_error>
#include <variant>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"

namespace eroom::agent {
namespace {

using Problems = std::vector<std::pair<std::string, std::string>>;

std::string ErrnoText(int error) {
  return std::error_code(error, std::generic_category()).message();
}

bool HasGlobMetacharacters(std::string_view pattern) {
  return pattern.find_first_of("*?[{") != std::string_view::npos;
}

std::string ParentDirectory(std::string_view pattern) {
  const size_t slash = pattern.rfind('/');
  if (slash == std::string_view::npos) return ".";
  if (slash == 0) return "/";
  return std::string(pattern.substr(0, slash));
}

// glob(3) reports unreadable directories through a callback without a
// context argument.
thread_local Problems* glob_problems = nullptr;

int RecordGlobError(const char* path, int error) {
  // A directory that does not exist holds no files: that is not a failure.
  if (error != ENOENT && error != ENOTDIR) {
    glob_problems->emplace_back(path, ErrnoText(error));
  }
  return 0;  // Go on with the other directories.
}

// Appends the paths `pattern` matches. A pattern without metacharacters is
// passed through: its existence is checked by the caller's stat, which
// (unlike glob) tells "absent" from "unreadable". False if some directory
// could not be read.
bool Expand(const std::string& pattern, int flags,
            std::vector<std::string>& paths, Problems& problems) {
  if (!HasGlobMetacharacters(pattern)) {
    paths.push_back(pattern);
    return true;
  }
  const size_t problems_before = problems.size();
  glob_t matches{};
  glob_problems = &problems;
  const int result =
      glob(pattern.c_str(), flags | GLOB_BRACE, RecordGlobError, &matches);
  glob_problems = nullptr;
  if (result == 0) {
    for (size_t i = 0; i < matches.gl_pathc; ++i) {
      paths.emplace_back(matches.gl_pathv[i]);
    }
  } else if (result == GLOB_NOSPACE) {
    problems.emplace_back(pattern, "out of memory expanding the pattern");
  }
  globfree(&matches);
  return problems.size() == problems_before;
}

// The path with every symbolic link resolved, or an errno.
std::variant<std::string, int> RealPath(const std::string& path) {
  std::unique_ptr<char, decltype(&free)> resolved(
      realpath(path.c_str(), nullptr), free);
  if (resolved == nullptr) return errno;
  return std::string(resolved.get());
}

bool IsUnder(std::string_view path, std::string_view directory) {
  if (directory == "/") return true;
  return path.starts_with(directory) &&
         (path.size() == directory.size() || path[directory.size()] == '/');
}

std::string Absolute(const std::string& path) {
  std::error_code ignored;  // Then the path as it is: it matches no prefix.
  return std::filesystem::absolute(path, ignored).lexically_normal().string();
}

// The directory with its links resolved: it may be one itself (e.g. a link
// to the installed release).
std::string RealDirectory(const std::string& directory) {
  std::variant<std::string, int> real_path = RealPath(directory);
  if (std::string* path = std::get_if<std::string>(&real_path)) {
    return std::move(*path);
  }
  return Absolute(directory);
}

// Why `path`, which resolves to `real_path`, is not read, or "".
std::string Refusal(const std::string& path, const std::string& real_path,
                    const std::string& directory,
                    const std::string& real_directory) {
  if (IsUnder(real_path, real_directory) || real_path == Absolute(path)) {
    return "";  // Inside, or reached through no link.
  }
  return absl::StrCat("symbolic link leads outside ", directory, " (to ",
                      real_path,
                      "); not read (logs.follow_symlinks_outside allows it)");
}

}  // namespace

bool IsExcludedLogPath(std::string_view path) {
  const std::vector<absl::string_view> parts =
      absl::StrSplit(absl::string_view(path.data(), path.size()), '/');
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    if (parts[i] == "archive") return true;
  }
  for (absl::string_view suffix : {".gz", ".bz2", ".xz", ".zst", ".zip"}) {
    if (absl::EndsWith(parts.back(), suffix)) return true;
  }
  return false;
}

std::string ConfinementRefusal(const std::string& path,
                               const std::string& confine_to) {
  if (confine_to.empty()) return "";
  std::variant<std::string, int> real_path = RealPath(path);
  if (const int* error = std::get_if<int>(&real_path)) {
    return absl::StrCat("cannot resolve ", path, ": ", ErrnoText(*error));
  }
  return Refusal(path, std::get<std::string>(real_path), confine_to,
                 RealDirectory(confine_to));
}

LogFileScan ScanLogFiles(const std::vector<std::string>& patterns,
                         const std::string& confine_to) {
  LogFileScan scan;
  const std::string real_root =
      confine_to.empty() ? "" : RealDirectory(confine_to);
  absl::flat_hash_set<std::pair<uint64_t, uint64_t>> identities;
  absl::flat_hash_set<std::string> directories;
  std::vector<std::string> paths;
  for (const std::string& pattern : patterns) {
    paths.clear();
    if (!Expand(pattern, 0, paths, scan.problems)) scan.complete = false;
    for (std::string& path : paths) {
      if (IsExcludedLogPath(path)) continue;
      // What is checked is what is read: the file the links led to then
      // (LogFileTail opens the path again, and refuses another file).
      std::string checked_path = path;
      if (!confine_to.empty()) {
        std::variant<std::string, int> real_path = RealPath(path);
        if (const int* error = std::get_if<int>(&real_path)) {
          if (*error == ENOENT || *error == ENOTDIR) continue;
          scan.problems.emplace_back(path, ErrnoText(*error));
          scan.complete = false;
          continue;
        }
        checked_path = std::move(std::get<std::string>(real_path));
        if (std::string refusal =
                Refusal(path, checked_path, confine_to, real_root);
            !refusal.empty()) {
          scan.problems.emplace_back(path, std::move(refusal));
          continue;
        }
      }
      struct stat info;
      if (stat(checked_path.c_str(), &info) != 0) {
        if (errno == ENOENT || errno == ENOTDIR) continue;
        scan.problems.emplace_back(path, ErrnoText(errno));
        scan.complete = false;
        continue;
      }
      if (!S_ISREG(info.st_mode)) {
        scan.problems.emplace_back(path, "is not a regular file (skipped)");
        continue;
      }
      if (!identities.emplace(info.st_dev, info.st_ino).second) continue;
      scan.files.push_back({.path = std::move(path),
                            .device = info.st_dev,
                            .inode = info.st_ino,
                            .size = static_cast<uint64_t>(info.st_size),
                            .modified = absl::TimeFromTimespec(info.st_mtim)});
    }

    paths.clear();
    Problems ignored;  // Reported by the file expansion already.
    Expand(ParentDirectory(pattern), GLOB_ONLYDIR, paths, ignored);
    for (std::string& directory : paths) {
      if (IsExcludedLogPath(directory + "/")) continue;
      if (directories.insert(directory).second) {
        scan.directories.push_back(std::move(directory));
      }
    }
  }
  return scan;
}

}  // namespace eroom::agent
