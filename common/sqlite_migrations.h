#ifndef EROOM_COMMON_SQLITE_MIGRATIONS_H_
#define EROOM_COMMON_SQLITE_MIGRATIONS_H_

#include <optional>
#include <span>

#include "SQLiteCpp/Database.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace eroom {

// One step of a database's schema history.
struct SchemaMigration {
  int version;      // PRAGMA user_version once this step has committed.
  const char* sql;  // Statements applied in the step's transaction.
};

// A database's schema: its steps, in order, append-only (a released step
// never changes; later changes are new steps), numbered 1, 2, 3, ...
struct SchemaHistory {
  absl::string_view database_kind;  // For messages: "eroom-agent spool".
  std::span<const SchemaMigration> steps;

  int latest_version() const { return static_cast<int>(steps.size()); }
};

// Brings `db` from its stored version up to `target_version` (tests stop
// early to build an old database; by default the latest). Each step commits
// in its own IMMEDIATE transaction, so an interrupted migration resumes at
// the step that did not finish and two processes opening the same file
// cannot both apply one. A database newer than the history is refused with
// FailedPrecondition: this code cannot know what a later version changed.
// SQLite failures are mapped by SqliteErrorStatus.
absl::Status MigrateSchema(SQLite::Database& db, const SchemaHistory& history,
                           std::optional<int> target_version = std::nullopt);

// The version stored in `db` (0 for a new, empty database).
absl::StatusOr<int> StoredSchemaVersion(SQLite::Database& db,
                                        absl::string_view database_kind);

}  // namespace eroom

#endif  // EROOM_COMMON_SQLITE_MIGRATIONS_H_
