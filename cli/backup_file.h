#ifndef EROOM_CLI_BACKUP_FILE_H_
#define EROOM_CLI_BACKUP_FILE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "eroom/monitor/v1/monitor.pb.h"

namespace eroom::cli {

// Where `eroomctl backup DEST` writes the collector's chunks: DEST.partial
// first, checked against the size and SHA-256 of the last chunk, synced,
// and only then renamed to DEST, so DEST is either absent or complete.
class BackupFile {
 public:
  // Refuses an existing `dest` unless `overwrite`; a DEST.partial left by
  // an earlier attempt is started over.
  static absl::StatusOr<std::unique_ptr<BackupFile>> Create(
      const std::string& dest, bool overwrite);
  ~BackupFile();  // Removes DEST.partial unless Commit succeeded.
  BackupFile(const BackupFile&) = delete;
  BackupFile& operator=(const BackupFile&) = delete;

  absl::Status Append(const eroom::monitor::v1::BackupChunk& chunk);
  // After the last chunk: checks, syncs and renames; returns the size.
  absl::StatusOr<uint64_t> Commit();

 private:
  struct Digest;
  BackupFile(std::string dest, int fd);

  const std::string dest_;
  const std::string partial_;
  int fd_;
  std::unique_ptr<Digest> digest_;
  uint64_t written_ = 0;
  bool last_seen_ = false;
  uint64_t expected_bytes_ = 0;
  std::string expected_sha256_;
  bool committed_ = false;
};

}  // namespace eroom::cli

#endif  // EROOM_CLI_BACKUP_FILE_H_
