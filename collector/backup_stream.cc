#include "collector/backup_stream.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <system_error>

#include "absl/base/thread_annotations.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "collector/grpc_status.h"
#include "collector/sqlite/online_backup.h"
#include "spdlog/spdlog.h"

namespace eroom::collector {
namespace v1 = ::eroom::monitor::v1;
namespace {

std::filesystem::path CopyDir(const std::string& database_path,
                              const std::string& dir) {
  if (!dir.empty()) return dir;
  return std::filesystem::path(database_path).parent_path();
}

std::string CopyPrefix(const std::string& database_path) {
  return absl::StrCat(std::filesystem::path(database_path).filename().string(),
                      ".backup-");
}

// The copy, read chunk by chunk and hashed as it goes.
class CopyReader {
 public:
  CopyReader() : digest_(EVP_MD_CTX_new(), EVP_MD_CTX_free) {}

  absl::Status Open(const std::string& path, int64_t size) {
    size_ = size;
    file_.open(path, std::ios::binary);
    if (!file_ || digest_ == nullptr ||
        EVP_DigestInit_ex(digest_.get(), EVP_sha256(), nullptr) != 1) {
      return absl::InternalError(absl::StrCat("cannot read back ", path));
    }
    return absl::OkStatus();
  }

  // The next chunk; the last one carries the size and digest.
  absl::StatusOr<v1::BackupChunk> Next() {
    v1::BackupChunk chunk;
    std::string& data = *chunk.mutable_data();
    data.resize(std::min<int64_t>(kBackupChunkBytes, size_ - read_));
    file_.read(data.data(), static_cast<std::streamsize>(data.size()));
    if (!file_ ||
        EVP_DigestUpdate(digest_.get(), data.data(), data.size()) != 1) {
      return absl::InternalError("reading the copy back failed");
    }
    read_ += static_cast<int64_t>(data.size());
    if (read_ == size_) {
      unsigned char digest[EVP_MAX_MD_SIZE];
      unsigned int length = 0;
      EVP_DigestFinal_ex(digest_.get(), digest, &length);
      chunk.set_total_bytes(static_cast<uint64_t>(size_));
      chunk.set_sha256(absl::BytesToHexString(
          absl::string_view(reinterpret_cast<char*>(digest), length)));
    }
    return chunk;
  }

  bool done() const { return read_ == size_; }

 private:
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> digest_;
  std::ifstream file_;
  int64_t size_ = 0;
  int64_t read_ = 0;
};

// One job on the workers or one write in flight at a time, never both:
// the job makes or reads what the write then sends. The call finishes only
// when neither is under way, so OnDone never races a job.
class BackupReactor final : public grpc::ServerWriteReactor<v1::BackupChunk> {
 public:
  BackupReactor(const BackupSource& source, const absl::Status& authorized)
      : source_(source) {
    absl::MutexLock lock(&mu_);
    if (!authorized.ok()) {
      FinishLocked(authorized);
      return;
    }
    if (source_.busy->exchange(true)) {
      FinishLocked(absl::ResourceExhaustedError(
          "a backup is already running; retry when it is done"));
      return;
    }
    holds_busy_ = true;
    SubmitLocked([this] { MakeCopy(); });
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    if (!ok || cancelled_) {
      FinishLocked(absl::CancelledError("the client stopped reading"));
    } else if (reader_.done()) {
      FinishLocked(absl::OkStatus());
    } else {
      SubmitLocked([this] { ReadNext(); });
    }
  }

  void OnCancel() override {
    cancelled_ = true;
    absl::MutexLock lock(&mu_);
    if (!job_running_ && !writing_) {
      FinishLocked(absl::CancelledError("cancelled"));
    }
  }

  void OnDone() override {
    if (!copy_path_.empty()) {
      // Removing a large file takes a while: on the workers if they take it.
      auto remove = [path = copy_path_] {
        std::error_code ignored;
        std::filesystem::remove(path, ignored);
      };
      if (!source_.workers->TrySubmit(remove)) remove();
    }
    if (holds_busy_) source_.busy->store(false);
    delete this;
  }

 private:
  void SubmitLocked(std::function<void()> job)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    job_running_ = source_.workers->TrySubmit(std::move(job));
    if (!job_running_) {
      FinishLocked(
          absl::ResourceExhaustedError("the collector is busy; retry"));
    }
  }

  // On the workers.
  void MakeCopy() {
    absl::StatusOr<int64_t> size = NewCopy();
    if (size.ok()) {
      absl::Status opened = reader_.Open(copy_path_, *size);
      if (!opened.ok()) size = opened;
    }
    if (!size.ok()) {
      spdlog::error("backup failed: {}", size.status().ToString());
      absl::MutexLock lock(&mu_);
      job_running_ = false;
      FinishLocked(size.status());
      return;
    }
    spdlog::info("backup: a copy of {} bytes made, streaming it", *size);
    ReadNext();
  }

  absl::StatusOr<int64_t> NewCopy() {
    absl::StatusOr<std::string> path =
        NewTemporaryCopy(source_.database_path, source_.copy_dir);
    if (!path.ok()) return path.status();
    copy_path_ = *path;
    return CopyDatabaseOnline(
        source_.database_path, copy_path_,
        OnlineCopyOptions{.keep_going = [this] { return !cancelled_.load(); }});
  }

  // On the workers.
  void ReadNext() {
    absl::StatusOr<v1::BackupChunk> chunk = reader_.Next();
    absl::MutexLock lock(&mu_);
    job_running_ = false;
    if (!chunk.ok() || cancelled_) {
      FinishLocked(chunk.ok() ? absl::CancelledError("cancelled")
                              : chunk.status());
      return;
    }
    chunk_ = *std::move(chunk);
    writing_ = true;
    StartWrite(&chunk_);
  }

  void FinishLocked(const absl::Status& status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return;
    finished_ = true;
    Finish(ToGrpcStatus(status));
  }

  const BackupSource source_;
  std::atomic<bool> cancelled_ = false;
  // Written by the first job, read by OnDone, which comes after every job.
  std::string copy_path_;
  bool holds_busy_ = false;
  CopyReader reader_;  // Used by one job at a time.
  absl::Mutex mu_;
  bool job_running_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  v1::BackupChunk chunk_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

absl::StatusOr<std::string> NewTemporaryCopy(const std::string& database_path,
                                             const std::string& dir) {
  std::string path = (CopyDir(database_path, dir) /
                      absl::StrCat(CopyPrefix(database_path), "XXXXXX"))
                         .string();
  const int fd = ::mkstemp(path.data());
  if (fd < 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot create a file for the copy in ",
        CopyDir(database_path, dir).string(), ": ", std::strerror(errno)));
  }
  ::close(fd);
  return path;
}

void RemoveTemporaryCopies(const std::string& database_path,
                           const std::string& dir) {
  std::error_code error;
  const std::string prefix = CopyPrefix(database_path);
  for (const auto& entry : std::filesystem::directory_iterator(
           CopyDir(database_path, dir), error)) {
    if (absl::StartsWith(entry.path().filename().string(), prefix)) {
      spdlog::info("removing {}, a backup copy left by the last run",
                   entry.path().string());
      std::filesystem::remove(entry.path(), error);
    }
  }
}

grpc::ServerWriteReactor<v1::BackupChunk>* StartBackupStream(
    const BackupSource& source, const absl::Status& authorized) {
  return new BackupReactor(source, authorized);
}

}  // namespace eroom::collector
