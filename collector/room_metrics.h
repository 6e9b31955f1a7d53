#ifndef EROOM_COLLECTOR_ROOM_METRICS_H_
#define EROOM_COLLECTOR_ROOM_METRICS_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/synchronization/mutex.h"
#include "collector/ingest.h"
#include "collector/metrics_exposition.h"

namespace eroom::collector {

// Each host's finished rooms, counted from the room_completed and
// room_failed events ingest stored since the collector started: what
// /metrics exports as room counters and histograms. Prometheus sees a
// collector restart as a counter reset.
class RoomMetrics final : public IngestObserver {
 public:
  struct Host {
    uint64_t completed = 0;
    uint64_t failed = 0;
    MetricHistogram processing_seconds;
    MetricHistogram queue_wait_seconds;
  };

  // The histograms' upper bounds, in seconds: ERoom's rooms take from
  // seconds to an hour, and wait in its queue about as long.
  static const std::vector<double>& BucketBounds();

  // On the ingest thread: a short update under the lock.
  void OnStored(const StoredBatch& batch) override;

  // By agent id.
  std::map<std::string, Host> Snapshot() const;

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, Host> hosts_ ABSL_GUARDED_BY(mu_);
};

}  // namespace eroom::collector

#endif  // EROOM_COLLECTOR_ROOM_METRICS_H_
