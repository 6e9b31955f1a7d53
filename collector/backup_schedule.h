#ifndef EROOM_COLLECTOR_BACKUP_SCHEDULE_H_
#define EROOM_COLLECTOR_BACKUP_SCHEDULE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace eroom::collector {

// `backup:` in the collector's config file.
struct BackupScheduleConfig {
  std::string dir;  // Empty: no scheduled backups.
  absl::Duration every = absl::Hours(24);
  int keep = 7;  // The newest copies kept in `dir`.
};

// Timestamped copies of the database in a directory, one every
// config.every, the newest config.keep kept. The time of the newest copy
// in the directory decides when the next is due, so a restart neither
// skips one nor makes one early. A copy is written to NAME.partial and
// renamed when complete: the directory never holds half a copy under a
// copy's name.
class BackupSchedule {
 public:
  // Makes a complete, synced copy at the given path; returns its size.
  using Copier = std::function<absl::StatusOr<int64_t>(const std::string&)>;

  BackupSchedule(const BackupScheduleConfig& config, const Clock& clock,
                 Copier copy);

  // Makes a copy if one is due, then removes the copies beyond
  // config.keep. Returns when the next copy is due. A failure is logged
  // and tried again after a while. Called by one thread.
  absl::Time RunDue();

  // The copies in the directory, oldest first (file names).
  std::vector<std::string> Copies() const;

  // The file name of a copy made at `time`.
  static std::string CopyName(absl::Time time);

 private:
  // When the newest copy in the directory was made; nullopt if none.
  std::optional<absl::Time> NewestCopy() const;
  void RemoveOldCopies();

  const BackupScheduleConfig config_;
  const Clock& clock_;
  const Copier copy_;
  std::optional<absl::Time> next_;  // Unknown until the directory is read.
};

}  // namespace eroom::collector

#endif  // EROOM_COLLECTOR_BACKUP_SCHEDULE_H_
