#ifndef EROOM_COLLECTOR_SQLITE_SQLITE_STORAGE_H_
#define EROOM_COLLECTOR_SQLITE_SQLITE_STORAGE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "collector/storage.h"

namespace eroom::collector {

// The embedded backend: one SQLite database file written by the ingest
// thread through one connection, read through a small pool of read-only
// ones (WAL journaling: readers see the last commit and never wait), with
// the substring index of log messages in a file beside it, built behind
// ingest by a thread of its own (collector/sqlite/search_index.h).

struct SqliteOptions {
  std::string path;  // Database file; created with its directory if missing.
  // How long a few new log events may wait to be indexed together with
  // more (searches scan them meanwhile): each index round has a fixed cost.
  absl::Duration search_index_delay = absl::Seconds(1);
};

// Opens (creating or migrating) the SQLite store. Every host is marked
// disconnected on open.
absl::StatusOr<std::unique_ptr<Storage>> OpenSqliteStorage(
    const SqliteOptions& options);

}  // namespace eroom::collector

#endif  // EROOM_COLLECTOR_SQLITE_SQLITE_STORAGE_H_
