#include "collector/sqlite/reader_pool.h"

#include <utility>

#include "collector/sqlite/schema.h"
#include "collector/sqlite/search_index.h"

namespace eroom::collector {
namespace {

// Connections kept open for later queries; more are opened when more
// queries run at once, and closed when they finish.
constexpr size_t kMaxIdleReaders = 4;

}  // namespace

SqliteReaderPool::SqliteReaderPool(std::string path, bool search_index_attached)
    : path_(std::move(path)), search_index_attached_(search_index_attached) {}

SqliteReaderPool::Lease SqliteReaderPool::Acquire() {
  {
    absl::MutexLock lock(&mu_);
    if (!idle_.empty()) {
      std::unique_ptr<SQLite::Database> db = std::move(idle_.back());
      idle_.pop_back();
      return Lease(*this, std::move(db));
    }
  }
  auto db = std::make_unique<SQLite::Database>(
      path_, SQLite::OPEN_READONLY | SQLite::OPEN_NOMUTEX, kBusyTimeoutMs);
  if (search_index_attached_) AttachSearchIndex(*db, path_);
  return Lease(*this, std::move(db));
}

void SqliteReaderPool::Release(std::unique_ptr<SQLite::Database> db) {
  absl::MutexLock lock(&mu_);
  if (idle_.size() < kMaxIdleReaders) idle_.push_back(std::move(db));
}

}  // namespace eroom::collector
