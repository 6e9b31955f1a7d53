#ifndef EROOM_COLLECTOR_SQLITE_WAL_CHECKPOINTER_H_
#define EROOM_COLLECTOR_SQLITE_WAL_CHECKPOINTER_H_

#include <sqlite3.h>

#include <memory>
#include <string>
#include <thread>

#include "SQLiteCpp/Database.h"
#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace eroom::collector {

// Copies the collector database's write-ahead log into the database file
// on a thread of its own ("checkpoint"). Left to SQLite, the committing
// thread does it whenever the log has passed 1,000 pages: at 3,000 agents
// that copy (each page read back from the log, written to the database,
// the database synced) took about a fifth of the ingest thread's CPU, and
// every ack waited behind it.
//
// The writer still copies once the log reaches `restart_frames`. SQLite
// starts the log over from its beginning only when a write transaction
// begins with the whole log copied; an ingest thread that begins its next
// transaction as soon as it has committed would never find the checkpoint
// thread done, and the log would grow without end. By then the thread has
// copied nearly all of it, so the writer copies the rest.
class WalCheckpointer {
 public:
  // 64 MiB of 16 KiB pages: the size the writer's log is cut back to
  // (journal_size_limit, ConfigureWriteConnection).
  static constexpr int kDefaultRestartFrames = 4096;

  // Opens a connection of its own to the WAL database at `path` and starts
  // the thread.
  static absl::StatusOr<std::unique_ptr<WalCheckpointer>> Start(
      const std::string& path, int restart_frames = kDefaultRestartFrames);

  // Stops the thread once a checkpoint in progress is done.
  ~WalCheckpointer();
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  // Each commit through `writer` wakes the thread, in place of SQLite's own
  // checkpoints; `writer` must be closed before this is destroyed.
  void Watch(SQLite::Database& writer);

 private:
  WalCheckpointer(SQLite::Database db, std::string path, int restart_frames);

  static int AfterCommit(void* self, sqlite3* writer, const char* schema,
                         int log_frames);
  void Run();
  // Logs the first failure of a run of them, and the recovery.
  void Report(int result_code, const char* who);

  const std::string path_;
  const int restart_frames_;
  SQLite::Database db_;  // The thread's.
  absl::Mutex mu_;
  bool wanted_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool failing_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace eroom::collector

#endif  // EROOM_COLLECTOR_SQLITE_WAL_CHECKPOINTER_H_
