#ifndef EROOM_COLLECTOR_METRICS_EXPORTER_H_
#define EROOM_COLLECTOR_METRICS_EXPORTER_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "collector/ingest_stats.h"
#include "collector/room_metrics.h"
#include "eroom/monitor/v1/monitor.pb.h"

namespace eroom::collector {

// The collector's own health as /metrics reports it.
struct CollectorHealth {
  IngestStats::Counts stored;
  size_t ingest_queue_depth = 0;
  size_t ingest_waiting_streams = 0;
  size_t query_queue_depth = 0;
  size_t alert_queue_depth = 0;
  uint64_t alert_evaluation_dropped = 0;
  // Unknown when the backend has no search index or it could not be read.
  std::optional<int64_t> search_index_lag_events;
  // By file: "database", "wal", "search_index"; files that do not exist are
  // left out.
  std::map<std::string, uint64_t> file_bytes;
  // /metrics requests refused, by HTTP status.
  std::map<int, uint64_t> refused_by_status;
};

// Everything one scrape exports, read on a query worker.
struct MetricsSnapshot {
  // ListHosts' answer: every host with its latest sample and probes,
  // `down`, and its firing alerts.
  eroom::monitor::v1::ListHostsResponse hosts;
  std::map<std::string, RoomMetrics::Host> rooms;  // By agent id.
  CollectorHealth health;
};

// `snapshot` in the Prometheus text format (collector/metrics_exposition.h).
std::string RenderMetrics(const MetricsSnapshot& snapshot);

}  // namespace eroom::collector

#endif  // EROOM_COLLECTOR_METRICS_EXPORTER_H_
