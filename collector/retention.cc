#include "collector/retention.h"

#include "absl/status/statusor.h"
#include "spdlog/spdlog.h"

namespace eroom::collector {

RetentionSweeper::RetentionSweeper(StorageWriter& storage, const Clock& clock,
                                   const Options& options)
    : storage_(storage), clock_(clock), options_(options) {}

bool RetentionSweeper::RunDue() {
  const absl::Time now = clock_.Now();
  if (now < next_run_) return false;
  absl::StatusOr<RetentionCounts> removed =
      storage_.DeleteExpired(options_.policy, now, options_.rows_per_batch);
  if (!removed.ok()) {
    if (!failing_) {
      spdlog::error("retention: {}; tried again every {}",
                    removed.status().ToString(),
                    absl::FormatDuration(options_.check_every));
    }
    failing_ = true;
    next_run_ = now + options_.check_every;
    return false;
  }
  if (failing_) spdlog::info("retention works again");
  failing_ = false;
  {
    absl::MutexLock lock(&mu_);
    removed_ += *removed;
  }
  this_sweep_ += *removed;
  if (removed->total() >= options_.rows_per_batch) return true;
  if (this_sweep_.total() > 0) {
    spdlog::info("retention removed {}", this_sweep_.Describe());
  }
  this_sweep_ = RetentionCounts{};
  next_run_ = now + options_.check_every;
  return false;
}

RetentionCounts RetentionSweeper::removed() const {
  absl::MutexLock lock(&mu_);
  return removed_;
}

}  // namespace eroom::collector
