#ifndef EROOM_COLLECTOR_WAL_CHECKPOINTER_H_
#define EROOM_COLLECTOR_WAL_CHECKPOINTER_H_

#include <sqlite3.h>

#include <string>
#include <thread>

#include "SQLiteCpp/Database.h"
#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace eroom::collector {

// Copies the write-ahead log of a WAL database back into the database file
// on a thread of its own. SQLite would do it inside whichever commit
// crosses its threshold: on the ingest thread, where the copy and its fsync
// held up storing and acknowledging events.
class WalCheckpointer {
 public:
  // Takes over checkpointing of `writer`'s database: from now on its
  // commits only note the log's size, and this thread checkpoints through a
  // connection of its own to `path`. Throws SQLite::Exception.
  WalCheckpointer(sqlite3* writer, const std::string& path);
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;
  // Stops the thread after its current checkpoint; closing the last
  // connection then checkpoints what is left.
  ~WalCheckpointer();

 private:
  static int OnCommit(void* self, sqlite3* db, const char* schema, int pages);
  void Run();

  sqlite3* const writer_;
  SQLite::Database db_;  // Used by the thread only.
  absl::Mutex mu_;
  int wal_pages_ ABSL_GUARDED_BY(mu_) = 0;  // As of the last commit.
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace eroom::collector

#endif  // EROOM_COLLECTOR_WAL_CHECKPOINTER_H_
