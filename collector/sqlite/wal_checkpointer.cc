#include "collector/sqlite/wal_checkpointer.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "collector/sqlite/schema.h"
#include "common/logging.h"
#include "common/sqlite_status.h"
#include "spdlog/spdlog.h"

namespace eroom::collector {

absl::StatusOr<std::unique_ptr<WalCheckpointer>> WalCheckpointer::Start(
    const std::string& path, int restart_frames) {
  try {
    SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_NOMUTEX);
    // A checkpoint syncs the database file before the log may start over.
    db.exec("PRAGMA synchronous = FULL");
    // A connection opens the log when it first reads; until then it has no
    // log to checkpoint.
    db.exec("SELECT count(*) FROM sqlite_schema");
    std::unique_ptr<WalCheckpointer> checkpointer(
        new WalCheckpointer(std::move(db), path, restart_frames));
    checkpointer->thread_ =
        std::thread([self = checkpointer.get()] { self->Run(); });
    return checkpointer;
  } catch (const SQLite::Exception& e) {
    return SqliteErrorStatus(absl::StrCat("open ", path, " to checkpoint it"),
                             e, kDatabaseKind);
  }
}

WalCheckpointer::WalCheckpointer(SQLite::Database db, std::string path,
                                 int restart_frames)
    : path_(std::move(path)),
      restart_frames_(restart_frames),
      db_(std::move(db)) {}

WalCheckpointer::~WalCheckpointer() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

void WalCheckpointer::Watch(SQLite::Database& writer) {
  sqlite3_wal_hook(writer.getHandle(), &WalCheckpointer::AfterCommit, this);
}

int WalCheckpointer::AfterCommit(void* self, sqlite3* writer,
                                 const char* schema, int log_frames) {
  auto* checkpointer = static_cast<WalCheckpointer*>(self);
  if (log_frames >= checkpointer->restart_frames_) {
    checkpointer->Report(
        sqlite3_wal_checkpoint_v2(writer, schema, SQLITE_CHECKPOINT_PASSIVE,
                                  nullptr, nullptr),
        "the writer");
  } else {
    absl::MutexLock lock(&checkpointer->mu_);
    checkpointer->wanted_ = true;
  }
  return SQLITE_OK;  // The commit stands whatever the checkpoint did.
}

void WalCheckpointer::Run() {
  SetThreadName("checkpoint");
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](WalCheckpointer* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
            return self->wanted_ || self->stopping_;
          },
          this));
      if (stopping_) return;
      wanted_ = false;
    }
    Report(
        sqlite3_wal_checkpoint_v2(db_.getHandle(), nullptr,
                                  SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr),
        "the checkpoint thread");
  }
}

void WalCheckpointer::Report(int result_code, const char* who) {
  // Busy: the other one of the two is copying the log.
  if (result_code == SQLITE_BUSY) return;
  absl::MutexLock lock(&mu_);
  if (result_code == SQLITE_OK) {
    if (failing_) {
      spdlog::info("{}: the write-ahead log is copied to the database again",
                   path_);
    }
    failing_ = false;
    return;
  }
  if (failing_) return;
  failing_ = true;
  // The log keeps every commit meanwhile: nothing is lost, the file grows.
  spdlog::error(
      "{}: {} could not copy the write-ahead log to the database: {}; the log "
      "grows until a copy succeeds",
      path_, who, sqlite3_errstr(result_code));
}

}  // namespace eroom::collector
