#ifndef EROOM_COLLECTOR_SCHEMA_H_
#define EROOM_COLLECTOR_SCHEMA_H_

#include "SQLiteCpp/Database.h"
#include "SQLiteCpp/Exception.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/sqlite_status.h"

namespace eroom::collector {

// The schema version this code reads and writes, kept in PRAGMA user_version.
inline constexpr int kSchemaVersion = 3;

// Brings `db` from its stored version up to `target_version` (tests stop
// early to build an old database). Each step commits in its own transaction,
// so an interrupted migration resumes at the step that did not finish. A
// database newer than kSchemaVersion is refused with FailedPrecondition: this
// code cannot know what a later version changed.
absl::Status MigrateSchema(SQLite::Database& db,
                           int target_version = kSchemaVersion);

// The version stored in `db` (0 for a new, empty database).
absl::StatusOr<int> StoredSchemaVersion(SQLite::Database& db);

// How long a connection waits for a lock. Readers never wait for the writer
// under WAL; this covers the brief moments SQLite itself needs exclusive
// access (WAL recovery after a crash) and a second process opening a file.
inline constexpr int kBusyTimeoutMs = 5000;

// Connections are opened with SQLITE_OPEN_NOMUTEX: each is used by one
// thread at a time (the writer under the storage's mutex, a reader under its
// lease, the search index by its thread), so SQLite's own per-connection
// mutex would only cost time.

// How SqliteErrorStatus names the collector's database in its messages.
inline constexpr char kDatabaseKind[] = "eroom-collector database";

}  // namespace eroom::collector

#endif  // EROOM_COLLECTOR_SCHEMA_H_
