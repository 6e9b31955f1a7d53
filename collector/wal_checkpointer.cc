#include "collector/wal_checkpointer.h"

#include "collector/schema.h"
#include "common/logging.h"
#include "spdlog/spdlog.h"

namespace eroom::collector {
namespace {

// SQLite's own threshold (1000 pages, 4 MB): the log is copied back in
// steps this size.
constexpr int kCheckpointPages = 1000;
// A passive checkpoint never waits, so under constant ingest the log may
// never be copied back whole and start over: past this size (256 MB) the
// checkpoint waits for the writer and restarts the log.
constexpr int kRestartPages = 65536;

}  // namespace

WalCheckpointer::WalCheckpointer(sqlite3* writer, const std::string& path)
    : writer_(writer),
      db_(path, SQLite::OPEN_READWRITE | SQLite::OPEN_NOMUTEX, kBusyTimeoutMs) {
  // A connection learns that its database is in WAL mode by reading it;
  // until then a checkpoint does nothing.
  db_.exec("SELECT count(*) FROM sqlite_schema");
  // Replaces SQLite's automatic checkpoint, which is such a hook too.
  sqlite3_wal_hook(writer_, &WalCheckpointer::OnCommit, this);
  thread_ = std::thread([this] { Run(); });
}

WalCheckpointer::~WalCheckpointer() {
  sqlite3_wal_hook(writer_, nullptr, nullptr);
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

int WalCheckpointer::OnCommit(void* self, sqlite3* /*db*/,
                              const char* /*schema*/, int pages) {
  auto* checkpointer = static_cast<WalCheckpointer*>(self);
  absl::MutexLock lock(&checkpointer->mu_);
  checkpointer->wal_pages_ = pages;
  return SQLITE_OK;
}

void WalCheckpointer::Run() {
  SetThreadName("checkpoint");
  bool failing = false;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      auto due = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
        return wal_pages_ >= kCheckpointPages || stopping_;
      };
      mu_.Await(absl::Condition(&due));
      if (stopping_) return;
      // The next commit reports the log's size anew.
      wal_pages_ = 0;
    }
    int log_pages = 0;
    int rc = sqlite3_wal_checkpoint_v2(db_.getHandle(), nullptr,
                                       SQLITE_CHECKPOINT_PASSIVE, &log_pages,
                                       nullptr);
    if (rc == SQLITE_OK && log_pages >= kRestartPages) {
      rc = sqlite3_wal_checkpoint_v2(db_.getHandle(), nullptr,
                                     SQLITE_CHECKPOINT_RESTART, nullptr,
                                     nullptr);
    }
    // Said once, and again once it works: the next commit retries.
    if (rc != SQLITE_OK && rc != SQLITE_BUSY && !failing) {
      spdlog::error("checkpoint of {}: {}", db_.getFilename(),
                    sqlite3_errmsg(db_.getHandle()));
    }
    if (rc == SQLITE_OK && failing) spdlog::info("checkpoints work again");
    failing = rc != SQLITE_OK && rc != SQLITE_BUSY;
  }
}

}  // namespace eroom::collector
