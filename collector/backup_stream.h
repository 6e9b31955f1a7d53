#ifndef EROOM_COLLECTOR_BACKUP_STREAM_H_
#define EROOM_COLLECTOR_BACKUP_STREAM_H_

#include <atomic>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "collector/work_queue.h"
#include "eroom/monitor/v1/monitor.grpc.pb.h"

namespace eroom::collector {

// The largest BackupChunk's data: well under any client's message limit.
inline constexpr size_t kBackupChunkBytes = 1 << 20;

// What CommandService.Backup copies, where and on which thread.
struct BackupSource {
  std::string database_path;
  // Where the temporary copy is made; empty: beside the database.
  std::string copy_dir;
  // Runs the copy and reads it back; gRPC threads never wait for either.
  WorkQueue* workers = nullptr;
  // Set while a Backup call runs: one at a time.
  std::atomic<bool>* busy = nullptr;
};

// A new temporary file for a copy of `database_path` in `dir` (empty:
// beside the database), named after the database so that
// RemoveTemporaryCopies finds it if the collector stops before removing it.
absl::StatusOr<std::string> NewTemporaryCopy(const std::string& database_path,
                                             const std::string& dir);
// Removes what NewTemporaryCopy left in `dir`, at startup.
void RemoveTemporaryCopies(const std::string& database_path,
                           const std::string& dir);

// Serves one Backup call, or ends it with `authorized` if that is not OK:
// an online copy (CopyDatabaseOnline,
// integrity checked) made on source.workers, streamed in chunks of
// kBackupChunkBytes, each read on the workers once the previous one is
// written; the last carries the size and SHA-256. The temporary copy is
// removed when the call ends, however it ends.
grpc::ServerWriteReactor<eroom::monitor::v1::BackupChunk>* StartBackupStream(
    const BackupSource& source, const absl::Status& authorized);

}  // namespace eroom::collector

#endif  // EROOM_COLLECTOR_BACKUP_STREAM_H_
