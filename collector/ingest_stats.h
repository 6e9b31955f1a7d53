#ifndef EROOM_COLLECTOR_INGEST_STATS_H_
#define EROOM_COLLECTOR_INGEST_STATS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "collector/ingest.h"

namespace eroom::collector {

// Counts what the ingest thread stored, by kind; the collector reports it
// periodically so an operator sees ingest is alive and at what rate.
class IngestStats final : public IngestObserver {
 public:
  struct Counts {
    uint64_t batches = 0;
    uint64_t logs = 0;
    uint64_t samples = 0;
    uint64_t probes = 0;
    uint64_t notices = 0;
  };

  void OnStored(const StoredBatch& stored) override;
  Counts counts() const;
  // "N batches, N logs, ..." of the difference since `before`.
  static std::string Describe(const Counts& now, const Counts& before);

 private:
  mutable absl::Mutex mu_;
  Counts counts_ ABSL_GUARDED_BY(mu_);
};

}  // namespace eroom::collector

#endif  // EROOM_COLLECTOR_INGEST_STATS_H_
