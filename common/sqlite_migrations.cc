#include "common/sqlite_migrations.h"

#include <string>

#include "SQLiteCpp/Exception.h"
#include "SQLiteCpp/Transaction.h"
#include "absl/strings/str_cat.h"
#include "common/sqlite_status.h"
#include "spdlog/spdlog.h"

namespace eroom {
namespace {

int ReadUserVersion(SQLite::Database& db) {
  return db.execAndGet("PRAGMA user_version").getInt();
}

absl::Status NewerThanCode(int stored, const SchemaHistory& history) {
  return absl::FailedPreconditionError(absl::StrCat(
      history.database_kind, " schema version ", stored,
      " is newer than this program supports (", history.latest_version(),
      "); run a newer version or point it at another file"));
}

}  // namespace

absl::StatusOr<int> StoredSchemaVersion(SQLite::Database& db,
                                        absl::string_view database_kind) {
  try {
    return ReadUserVersion(db);
  } catch (const SQLite::Exception& e) {
    return SqliteErrorStatus(
        absl::StrCat("read schema version of ", db.getFilename()), e,
        database_kind);
  }
}

absl::Status MigrateSchema(SQLite::Database& db, const SchemaHistory& history,
                           std::optional<int> requested_version) {
  const int latest = history.latest_version();
  const int target_version = requested_version.value_or(latest);
  if (target_version < 0 || target_version > latest) {
    return absl::InvalidArgumentError(absl::StrCat(
        "no schema version ", target_version, " of ", history.database_kind));
  }
  try {
    int stored = ReadUserVersion(db);
    if (stored > latest) return NewerThanCode(stored, history);
    for (const SchemaMigration& step : history.steps) {
      if (step.version > target_version) break;
      if (step.version <= stored) continue;
      SQLite::Transaction txn(db, SQLite::TransactionBehavior::IMMEDIATE);
      stored = ReadUserVersion(db);
      if (stored > latest) return NewerThanCode(stored, history);
      if (step.version <= stored) continue;
      // A step may rewrite a table of every row stored: said before it runs.
      if (stored > 0) {
        spdlog::info("{} {}: migrating its schema from version {} to {}",
                     std::string(history.database_kind), db.getFilename(),
                     stored, step.version);
      }
      db.exec(step.sql);
      db.exec(absl::StrCat("PRAGMA user_version = ", step.version));
      txn.commit();
      stored = step.version;
    }
    return absl::OkStatus();
  } catch (const SQLite::Exception& e) {
    return SqliteErrorStatus(
        absl::StrCat("migrate schema of ", db.getFilename()), e,
        history.database_kind);
  }
}

}  // namespace eroom
