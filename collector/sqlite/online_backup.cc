#include "collector/sqlite/online_backup.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "SQLiteCpp/Backup.h"
#include "SQLiteCpp/Database.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "collector/sqlite/schema.h"
#include "common/sqlite_setup.h"
#include "common/sqlite_status.h"
#include "common/status_macros.h"

namespace eroom::collector {
namespace {

// A step that finds the source locked (a checkpoint truncating the WAL,
// recovery) waits this long before trying again.
constexpr absl::Duration kBusyPause = absl::Milliseconds(5);

absl::Status Copy(const std::string& source_path, const std::string& copy_path,
                  const OnlineCopyOptions& options) {
  SQLite::Database source(source_path,
                          SQLite::OPEN_READONLY | SQLite::OPEN_NOMUTEX,
                          kBusyTimeoutMs);
  SQLite::Database copy(
      copy_path,
      SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_NOMUTEX,
      kBusyTimeoutMs);
  // The copy is synced once, at its end (SyncFile); no journal is needed
  // for a file that is thrown away if anything fails.
  copy.exec("PRAGMA journal_mode = OFF");
  copy.exec("PRAGMA synchronous = OFF");
  // A read transaction held across the steps pins one snapshot: the backup
  // neither restarts when ingest commits nor copies half of a commit.
  source.exec("BEGIN");
  source.execAndGet("SELECT count(*) FROM sqlite_schema");
  {
    // Finished (its destructor) before the copy is used.
    SQLite::Backup backup(copy, source);
    while (true) {
      if (options.keep_going && !options.keep_going()) {
        return absl::CancelledError("the backup was stopped");
      }
      const int step = backup.executeStep(options.pages_per_step);
      if (step == SQLITE_DONE) break;
      if (step == SQLITE_BUSY || step == SQLITE_LOCKED) {
        absl::SleepFor(kBusyPause);
      }
    }
  }
  source.exec("COMMIT");
  if (options.check_integrity) {
    const std::string verdict =
        copy.execAndGet("PRAGMA integrity_check").getString();
    if (verdict != "ok") {
      return absl::DataLossError(
          absl::StrCat("the copy of ", source_path,
                       " fails PRAGMA integrity_check: ", verdict));
    }
  }
  return absl::OkStatus();
}

// Writes the copy's data to disk: SQLite did not sync it.
absl::Status SyncFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ::fsync(fd) != 0) {
    const int error = errno;
    if (fd >= 0) ::close(fd);
    return absl::InternalError(
        absl::StrCat("sync ", path, ": ", std::strerror(error)));
  }
  ::close(fd);
  return absl::OkStatus();
}

absl::StatusOr<int64_t> SyncedSize(const std::string& copy_path) {
  EROOM_RETURN_IF_ERROR(SyncFile(copy_path));
  std::error_code error;
  const auto size = std::filesystem::file_size(copy_path, error);
  if (error) {
    return absl::InternalError(
        absl::StrCat("size of ", copy_path, ": ", error.message()));
  }
  return static_cast<int64_t>(size);
}

}  // namespace

absl::StatusOr<int64_t> CopyDatabaseOnline(const std::string& source_path,
                                           const std::string& copy_path,
                                           const OnlineCopyOptions& options) {
  ConfigureSqlite();
  absl::Status copied;
  try {
    copied = Copy(source_path, copy_path, options);
  } catch (const SQLite::Exception& e) {
    copied = SqliteErrorStatus(
        absl::StrCat("back up ", source_path, " to ", copy_path), e,
        kDatabaseKind);
  }
  absl::StatusOr<int64_t> size =
      copied.ok() ? SyncedSize(copy_path) : absl::StatusOr<int64_t>(copied);
  if (!size.ok()) {
    std::error_code ignored;
    std::filesystem::remove(copy_path, ignored);
  }
  return size;
}

}  // namespace eroom::collector
