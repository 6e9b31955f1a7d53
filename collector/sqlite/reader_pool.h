#ifndef EROOM_COLLECTOR_SQLITE_READER_POOL_H_
#define EROOM_COLLECTOR_SQLITE_READER_POOL_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "SQLiteCpp/Database.h"
#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace eroom::collector {

// Read-only connections to the collector database shared by the query
// threads, with the search index attached while it is usable. WAL journaling
// lets them see the last committed state without waiting for the writer.
class SqliteReaderPool {
 public:
  SqliteReaderPool(std::string path, bool search_index_usable);

  // A connection for one query, back in the pool when the lease ends
  // (closed instead if the search index was replaced or given up meanwhile).
  class Lease {
   public:
    // `generation`: the pool's when the connection was opened, or nullopt
    // for one never to be pooled.
    Lease(SqliteReaderPool& pool, std::unique_ptr<SQLite::Database> db,
          bool search_index_attached, std::optional<uint64_t> generation)
        : pool_(pool),
          db_(std::move(db)),
          search_index_attached_(search_index_attached),
          generation_(generation) {}
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() { pool_.Release(std::move(db_), generation_); }
    SQLite::Database& db() { return *db_; }
    bool search_index_attached() const { return search_index_attached_; }

   private:
    SqliteReaderPool& pool_;
    std::unique_ptr<SQLite::Database> db_;
    const bool search_index_attached_;
    const std::optional<uint64_t> generation_;
  };

  // A connection with the search index attached if it is usable, or
  // without it. Throws SQLite::Exception when a new connection cannot be
  // opened or the index cannot be attached.
  Lease Acquire();
  Lease AcquireWithoutSearchIndex();

  bool search_index_usable() const;
  // Whether later leases attach the search index: false while it is being
  // rebuilt, true once a new one is in its place. Returns whether this
  // changed anything.
  bool SetSearchIndexUsable(bool usable);

 private:
  Lease Open(bool attach_search_index, std::optional<uint64_t> generation);
  // An idle connection, or nullptr if none is idle.
  std::unique_ptr<SQLite::Database> TakeIdleLocked()
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Release(std::unique_ptr<SQLite::Database> db,
               std::optional<uint64_t> generation);

  const std::string path_;
  mutable absl::Mutex mu_;
  bool search_index_usable_ ABSL_GUARDED_BY(mu_);
  // Changes whenever the search index does: connections of an older one
  // are not reused.
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  // Idle connections of this generation, with the search index attached
  // if it is usable.
  std::vector<std::unique_ptr<SQLite::Database>> idle_ ABSL_GUARDED_BY(mu_);
};

}  // namespace eroom::collector

#endif  // EROOM_COLLECTOR_SQLITE_READER_POOL_H_
