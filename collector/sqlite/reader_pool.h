#ifndef EROOM_COLLECTOR_SQLITE_READER_POOL_H_
#define EROOM_COLLECTOR_SQLITE_READER_POOL_H_

#include <memory>
#include <string>
#include <vector>

#include "SQLiteCpp/Database.h"
#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace eroom::collector {

// Read-only connections to the collector database shared by the query
// threads, with the search index attached when there is one. WAL journaling
// lets them see the last committed state without waiting for the writer.
class SqliteReaderPool {
 public:
  SqliteReaderPool(std::string path, bool search_index_attached);

  bool search_index_attached() const { return search_index_attached_; }

  // A connection for one query, back in the pool when the lease ends.
  class Lease {
   public:
    Lease(SqliteReaderPool& pool, std::unique_ptr<SQLite::Database> db)
        : pool_(pool), db_(std::move(db)) {}
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() { pool_.Release(std::move(db_)); }
    SQLite::Database& db() { return *db_; }

   private:
    SqliteReaderPool& pool_;
    std::unique_ptr<SQLite::Database> db_;
  };

  // Throws SQLite::Exception when a new connection cannot be opened.
  Lease Acquire();

 private:
  void Release(std::unique_ptr<SQLite::Database> db);

  const std::string path_;
  const bool search_index_attached_;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<SQLite::Database>> idle_ ABSL_GUARDED_BY(mu_);
};

}  // namespace eroom::collector

#endif  // EROOM_COLLECTOR_SQLITE_READER_POOL_H_
