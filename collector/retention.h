#ifndef EROOM_COLLECTOR_RETENTION_H_
#define EROOM_COLLECTOR_RETENTION_H_

#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "collector/retention_policy.h"
#include "collector/storage.h"
#include "common/clock.h"

namespace eroom::collector {

// Removes what outlived the retention policy, a small batch at a time, on
// the thread that writes to storage (the ingest thread), between its
// transactions: ingest waits at most one batch for it, never for a whole
// backlog. A backlog takes one batch after each ingest transaction until
// it is gone; then the sweeper looks again every check interval.
class RetentionSweeper {
 public:
  struct Options {
    RetentionPolicy policy;
    // Rows removed in one transaction.
    int64_t rows_per_batch = 1000;
    // How often storage is searched for expired rows once none are left.
    absl::Duration check_every = absl::Minutes(1);
  };

  RetentionSweeper(StorageWriter& storage, const Clock& clock,
                   const Options& options);

  // Removes one batch if one is due. Returns whether another one is due
  // right away (a backlog). Called by the writing thread only; a failure is
  // logged and tried again at the next check.
  bool RunDue();

  // Rows removed since the start, by kind. Any thread.
  RetentionCounts removed() const;

 private:
  StorageWriter& storage_;
  const Clock& clock_;
  const Options options_;
  // Owned by the writing thread.
  absl::Time next_run_ = absl::InfinitePast();
  RetentionCounts this_sweep_;  // Removed since the sweep began.
  bool failing_ = false;
  mutable absl::Mutex mu_;
  RetentionCounts removed_ ABSL_GUARDED_BY(mu_);
};

}  // namespace eroom::collector

#endif  // EROOM_COLLECTOR_RETENTION_H_
