#ifndef EROOM_COLLECTOR_SQLITE_SCHEMA_H_
#define EROOM_COLLECTOR_SQLITE_SCHEMA_H_

#include "SQLiteCpp/Database.h"
#include "SQLiteCpp/Exception.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/sqlite_migrations.h"
#include "common/sqlite_status.h"

namespace eroom::collector {

// The schema version this code reads and writes, kept in PRAGMA user_version.
inline constexpr int kSchemaVersion = 10;

// The collector database's schema, for MigrateSchema (common/
// sqlite_migrations.h).
const SchemaHistory& CollectorSchema();

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

#endif  // EROOM_COLLECTOR_SQLITE_SCHEMA_H_
