#ifndef EROOM_COMMON_SQLITE_SETUP_H_
#define EROOM_COMMON_SQLITE_SETUP_H_

namespace eroom {

// Applies the process-wide SQLite settings; call before opening the first
// connection (later calls do nothing). Memory statistics are turned off:
// keeping them takes one process-wide mutex on every allocation, which
// serializes threads that each work on their own connection.
void ConfigureSqlite();

}  // namespace eroom

#endif  // EROOM_COMMON_SQLITE_SETUP_H_
