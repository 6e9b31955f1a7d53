#ifndef EROOM_COMMON_SQLITE_SETUP_H_
#define EROOM_COMMON_SQLITE_SETUP_H_

#include <string>

#include "SQLiteCpp/Database.h"
#include "absl/status/status.h"

namespace eroom {

// Applies the process-wide SQLite settings; call before opening the first
// connection (later calls do nothing). Memory statistics are turned off:
// keeping them takes one process-wide mutex on every allocation, which
// serializes threads that each work on their own connection.
void ConfigureSqlite();

// Gives `db` 16 KB pages if it is still empty (an existing database keeps
// its page size). Our databases take appends in large transactions under
// WAL, where every page is a log frame written on its own: rows fill 16 KB
// pages as well as 4 KB ones, with a quarter the frames.
void UseLargePagesIfNew(SQLite::Database& db);

// Keeps the database at `path` readable and writable by its owner only
// (0600): it holds the hosts' log lines, for no other user of the machine.
// Creates it so if missing (SQLite gives the -wal and -shm files it adds
// the database's mode), and takes group and other access away from an
// existing database and its -wal and -shm, logging each file it fixed. Call
// before opening it. An error names the file.
absl::Status KeepOwnerOnly(const std::string& path);

// The VALUES list of an INSERT of `rows` rows of `columns` parameters each:
// "(?, ?), (?, ?)". A statement of many rows costs SQLite little more than
// one of a single row, so our writers insert in statements of many.
std::string RowPlaceholders(size_t rows, size_t columns);

}  // namespace eroom

#endif  // EROOM_COMMON_SQLITE_SETUP_H_
