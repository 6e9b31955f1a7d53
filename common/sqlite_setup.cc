#include "common/sqlite_setup.h"

#include <sqlite3.h>

#include <mutex>

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

}  // namespace eroom
