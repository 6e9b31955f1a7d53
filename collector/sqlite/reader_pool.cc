#include "collector/sqlite/reader_pool.h"

#include <sqlite3.h>

#include <utility>

#include "collector/sqlite/schema.h"
#include "collector/sqlite/search_index.h"

namespace eroom::collector {
namespace {

// Connections kept open for later queries; more are opened when more
// queries run at once, and closed when they finish.
constexpr size_t kMaxIdleReaders = 4;

}  // namespace

SqliteReaderPool::SqliteReaderPool(std::string path, bool search_index_usable)
    : path_(std::move(path)), search_index_usable_(search_index_usable) {}

SqliteReaderPool::Lease SqliteReaderPool::Acquire() {
  bool attach;
  uint64_t generation;
  {
    absl::MutexLock lock(&mu_);
    attach = search_index_usable_;
    generation = generation_;
    if (std::unique_ptr<SQLite::Database> db = TakeIdleLocked()) {
      return Lease(*this, std::move(db), attach, generation);
    }
  }
  return Open(attach, generation);
}

SqliteReaderPool::Lease SqliteReaderPool::AcquireWithoutSearchIndex() {
  std::optional<uint64_t> generation;  // Not pooled while the index is used.
  {
    absl::MutexLock lock(&mu_);
    if (!search_index_usable_) {
      generation = generation_;
      if (std::unique_ptr<SQLite::Database> db = TakeIdleLocked()) {
        return Lease(*this, std::move(db), false, generation);
      }
    }
  }
  return Open(false, generation);
}

std::unique_ptr<SQLite::Database> SqliteReaderPool::TakeIdleLocked() {
  if (idle_.empty()) return nullptr;
  std::unique_ptr<SQLite::Database> db = std::move(idle_.back());
  idle_.pop_back();
  return db;
}

SqliteReaderPool::Lease SqliteReaderPool::Open(
    bool attach_search_index, std::optional<uint64_t> generation) {
  auto db = std::make_unique<SQLite::Database>(
      path_, SQLite::OPEN_READONLY | SQLite::OPEN_NOMUTEX, kBusyTimeoutMs);
  if (attach_search_index) AttachSearchIndex(*db, path_);
  return Lease(*this, std::move(db), attach_search_index, generation);
}

bool SqliteReaderPool::search_index_usable() const {
  absl::MutexLock lock(&mu_);
  return search_index_usable_;
}

bool SqliteReaderPool::SetSearchIndexUsable(bool usable) {
  std::vector<std::unique_ptr<SQLite::Database>> closing;
  absl::MutexLock lock(&mu_);
  if (search_index_usable_ == usable) return false;
  search_index_usable_ = usable;
  ++generation_;
  closing.swap(idle_);
  return true;
}

void SqliteReaderPool::Release(std::unique_ptr<SQLite::Database> db,
                               std::optional<uint64_t> generation) {
  // Memory a big query took is given back rather than kept for the next.
  sqlite3_db_release_memory(db->getHandle());
  absl::MutexLock lock(&mu_);
  if (generation == generation_ && idle_.size() < kMaxIdleReaders) {
    idle_.push_back(std::move(db));
  }
}

}  // namespace eroom::collector
