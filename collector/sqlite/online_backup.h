#ifndef EROOM_COLLECTOR_SQLITE_ONLINE_BACKUP_H_
#define EROOM_COLLECTOR_SQLITE_ONLINE_BACKUP_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace eroom::collector {

struct OnlineCopyOptions {
  // Asked between steps; false stops the copy (CANCELLED). Empty: never.
  std::function<bool()> keep_going;
  // Runs PRAGMA integrity_check on the copy before it is returned.
  bool check_integrity = true;
  // Pages copied at a time: between steps, the copy can be stopped.
  int pages_per_step = 1024;
};

// Copies the collector's database at `source_path` (in WAL mode) into the
// new file `copy_path` with SQLite's online backup API, a bounded number of
// pages at a time. The copy reads one snapshot, taken when it starts, on a
// connection of its own: ingest keeps writing meanwhile (the WAL holds its
// commits until the copy ends). The search index file beside the database
// is not copied: it is rebuilt from the database when missing. Returns the
// copy's size in bytes; on failure the copy is removed. Blocks for the
// whole copy.
absl::StatusOr<int64_t> CopyDatabaseOnline(const std::string& source_path,
                                           const std::string& copy_path,
                                           const OnlineCopyOptions& options);

}  // namespace eroom::collector

#endif  // EROOM_COLLECTOR_SQLITE_ONLINE_BACKUP_H_
