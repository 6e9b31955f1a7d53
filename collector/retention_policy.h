#ifndef EROOM_COLLECTOR_RETENTION_POLICY_H_
#define EROOM_COLLECTOR_RETENTION_POLICY_H_

#include <cstdint>
#include <string>

#include "absl/time/time.h"

namespace eroom::collector {

// How long the collector keeps each kind of stored data, by the data's own
// time (`retention:` in the collector's config file).
struct RetentionPolicy {
  // With their search index rows, error shapes and rooms.
  absl::Duration logs = absl::Hours(24 * 30);
  absl::Duration samples = absl::Hours(24 * 7);  // Metric points.
  // One-minute rollups of metric points (count, sum, min, max), which
  // answer metric queries once the points are gone.
  absl::Duration rollups = absl::Hours(24 * 90);
  absl::Duration probes = absl::Hours(24 * 7);
  absl::Duration notices = absl::Hours(24 * 30);  // Agent notices.
  // Commands by request time, with their progress.
  absl::Duration commands = absl::Hours(24 * 365);
  absl::Duration audit = absl::Hours(24 * 365);
  // Alert history, deliveries and silences (collector/sqlite/alert_store.h).
  absl::Duration alerts = absl::Hours(24 * 365);
};

// Rows removed because they outlived the policy, by kind.
struct RetentionCounts {
  int64_t logs = 0;
  int64_t samples = 0;
  int64_t rollups = 0;  // Minutes of one series.
  int64_t probes = 0;
  int64_t notices = 0;
  int64_t commands = 0;  // Progress rows are not counted.
  int64_t audit = 0;

  int64_t total() const {
    return logs + samples + rollups + probes + notices + commands + audit;
  }
  RetentionCounts& operator+=(const RetentionCounts& other);
  // These counts less `before`'s, kind by kind.
  RetentionCounts Since(const RetentionCounts& before) const;
  // "N log events, N samples, ..."
  std::string Describe() const;
};

}  // namespace eroom::collector

#endif  // EROOM_COLLECTOR_RETENTION_POLICY_H_
