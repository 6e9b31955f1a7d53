#include "common/sqlite_setup.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "spdlog/spdlog.h"

namespace eroom {

void ConfigureSqlite() {
  static std::once_flag once;
  std::call_once(once, [] {
    // Fails only once SQLite is initialized, i.e. when a connection was
    // opened before this call: that costs speed, not correctness.
    if (int code = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
        code != SQLITE_OK) {
      spdlog::debug("SQLite memory statistics stay on: {}",
                    sqlite3_errstr(code));
    }
  });
}

void UseLargePagesIfNew(SQLite::Database& db) {
  db.exec("PRAGMA page_size = 16384");
}

absl::Status KeepOwnerOnly(const std::string& path) {
  constexpr mode_t kOwnerOnly = S_IRUSR | S_IWUSR;
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, kOwnerOnly);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  }
  close(fd);
  for (const char* suffix : {"", "-wal", "-shm"}) {
    const std::string file = path + suffix;
    struct stat info;
    if (stat(file.c_str(), &info) != 0) continue;  // No -wal or -shm yet.
    const mode_t mode = info.st_mode & 07777;
    if ((mode & ~kOwnerOnly) == 0) continue;
    if (chmod(file.c_str(), kOwnerOnly) != 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot make ", file, " private (mode ",
          absl::StrFormat("%04o", mode), "): ", std::strerror(errno)));
    }
    spdlog::warn("{} was mode {:04o}; made it readable by its owner only", file,
                 mode);
  }
  return absl::OkStatus();
}

std::string RowPlaceholders(size_t rows, size_t columns) {
  const std::string row = absl::StrCat(
      "(", absl::StrJoin(std::vector<absl::string_view>(columns, "?"), ", "),
      ")");
  return absl::StrJoin(std::vector<std::string>(rows, row), ", ");
}

}  // namespace eroom
