#ifndef EROOM_COLLECTOR_METRICS_EXPOSITION_H_
#define EROOM_COLLECTOR_METRICS_EXPOSITION_H_

// The Prometheus text exposition format (version 0.0.4) of what /metrics
// exports: the catalog of metric families, histograms, and a writer that
// groups samples by family under their HELP and TYPE lines.

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace eroom::collector {

enum class MetricType { kGauge, kCounter, kHistogram };

struct MetricFamily {
  absl::string_view name;
  MetricType type;
  absl::string_view help;
};

// The families /metrics exports, each a constant the exporter writes with.
namespace metric {
inline constexpr MetricFamily kHostUp{
    "eroom_host_up", MetricType::kGauge,
    "1 if the host's agent is connected and heard from within the heartbeat "
    "timeout, else 0."};
inline constexpr MetricFamily kHostConnected{
    "eroom_host_connected", MetricType::kGauge,
    "1 if the host's agent has a stream open to the collector."};
inline constexpr MetricFamily kHostLastSeen{
    "eroom_host_last_seen_timestamp_seconds", MetricType::kGauge,
    "When the collector last heard from the host's agent (Unix time)."};
inline constexpr MetricFamily kHostCpu{
    "eroom_host_cpu_percent", MetricType::kGauge,
    "Whole-host CPU use over the agent's last sampling interval, 0-100."};
inline constexpr MetricFamily kHostLoad1{"eroom_host_load1", MetricType::kGauge,
                                         "The host's 1-minute load average."};
inline constexpr MetricFamily kHostMemoryUsed{
    "eroom_host_memory_used_bytes", MetricType::kGauge,
    "Host memory in use (MemTotal - MemAvailable)."};
inline constexpr MetricFamily kHostMemoryTotal{
    "eroom_host_memory_total_bytes", MetricType::kGauge, "Host memory."};
inline constexpr MetricFamily kDiskUsed{"eroom_host_disk_used_bytes",
                                        MetricType::kGauge,
                                        "Bytes used on a configured mount."};
inline constexpr MetricFamily kDiskTotal{"eroom_host_disk_total_bytes",
                                         MetricType::kGauge,
                                         "Size of a configured mount."};
inline constexpr MetricFamily kSampleTime{
    "eroom_host_sample_timestamp_seconds", MetricType::kGauge,
    "When the host's latest resource sample was taken (Unix time)."};
inline constexpr MetricFamily kProcessUp{
    "eroom_process_up", MetricType::kGauge,
    "1 if a live ERoom process was found on the host."};
inline constexpr MetricFamily kProcessRss{
    "eroom_process_resident_memory_bytes", MetricType::kGauge,
    "Resident set size of the ERoom process."};
inline constexpr MetricFamily kProcessCpu{
    "eroom_process_cpu_percent", MetricType::kGauge,
    "CPU use of the ERoom process, percent of one core."};
inline constexpr MetricFamily kProcessPortListening{
    "eroom_process_port_listening", MetricType::kGauge,
    "1 if the ERoom port is in LISTEN state on the host."};
inline constexpr MetricFamily kProbeUp{
    "eroom_probe_success", MetricType::kGauge,
    "1 if the latest probe of the target got HTTP 200 with the expected "
    "body."};
inline constexpr MetricFamily kProbeLatency{
    "eroom_probe_latency_seconds", MetricType::kGauge,
    "Request start to full body (or failure) of the latest probe."};
inline constexpr MetricFamily kProbeHttpStatus{
    "eroom_probe_http_status", MetricType::kGauge,
    "HTTP status of the latest probe; 0 when no response arrived."};
inline constexpr MetricFamily kQueueQueued{
    "eroom_queue_queued", MetricType::kGauge,
    "Rooms waiting in ERoom's queue, excluding the running one."};
inline constexpr MetricFamily kQueueActive{
    "eroom_queue_active", MetricType::kGauge, "Rooms ERoom is processing."};
inline constexpr MetricFamily kQueueCompleted{
    "eroom_queue_completed", MetricType::kGauge,
    "Rooms ERoom finished since its process started (failures included)."};
inline constexpr MetricFamily kQueueMaxConcurrent{
    "eroom_queue_max_concurrent", MetricType::kGauge,
    "Rooms ERoom may process at once."};
inline constexpr MetricFamily kAgentSpoolEvents{
    "eroom_agent_spool_events", MetricType::kGauge,
    "Events in the agent's spool not yet delivered."};
inline constexpr MetricFamily kAgentDropped{
    "eroom_agent_events_dropped", MetricType::kGauge,
    "Events the agent dropped since it started."};
inline constexpr MetricFamily kRoomsCompleted{
    "eroom_rooms_completed_total", MetricType::kCounter,
    "room_completed events stored since the collector started."};
inline constexpr MetricFamily kRoomsFailed{
    "eroom_rooms_failed_total", MetricType::kCounter,
    "room_failed events stored since the collector started."};
inline constexpr MetricFamily kRoomProcessing{
    "eroom_room_processing_seconds", MetricType::kHistogram,
    "Processing time of finished rooms (processing_ms of room_completed and "
    "room_failed events)."};
inline constexpr MetricFamily kRoomQueueWait{
    "eroom_room_queue_wait_seconds", MetricType::kHistogram,
    "Queue wait of finished rooms (queue_wait_ms of room_completed and "
    "room_failed events)."};
inline constexpr MetricFamily kAlertsFiring{
    "eroom_alerts_firing", MetricType::kGauge,
    "1 for each firing alert, labelled as its silences see it."};
inline constexpr MetricFamily kStoredBatches{
    "eroom_collector_stored_batches_total", MetricType::kCounter,
    "Agent batches stored since the collector started."};
inline constexpr MetricFamily kStoredEvents{
    "eroom_collector_stored_events_total", MetricType::kCounter,
    "Events stored since the collector started, by kind."};
inline constexpr MetricFamily kIngestQueue{
    "eroom_collector_ingest_queue_depth", MetricType::kGauge,
    "Items waiting for the ingest thread."};
inline constexpr MetricFamily kIngestWaiting{
    "eroom_collector_ingest_waiting_streams", MetricType::kGauge,
    "Agent streams paused until the ingest queue has room for their next "
    "item (flow control: their agents spool meanwhile)."};
inline constexpr MetricFamily kQueryQueue{
    "eroom_collector_query_queue_depth", MetricType::kGauge,
    "Queries waiting for a query worker."};
inline constexpr MetricFamily kAlertQueue{
    "eroom_collector_alert_queue_depth", MetricType::kGauge,
    "Stored batches waiting for the alert rule thread."};
inline constexpr MetricFamily kAlertDropped{
    "eroom_collector_alert_evaluation_dropped_total", MetricType::kCounter,
    "Evaluation work dropped because the alert rule thread fell behind."};
inline constexpr MetricFamily kSearchIndexLag{
    "eroom_collector_search_index_lag_events", MetricType::kGauge,
    "Stored log events the substring search index has not reached yet."};
inline constexpr MetricFamily kDatabaseSize{
    "eroom_collector_database_size_bytes", MetricType::kGauge,
    "Size of the collector's files: the database, its write-ahead log and "
    "the search index."};
inline constexpr MetricFamily kConnectedAgents{
    "eroom_collector_connected_agents", MetricType::kGauge,
    "Agents with a stream open to the collector."};
inline constexpr MetricFamily kKnownHosts{
    "eroom_collector_hosts", MetricType::kGauge, "Hosts the collector knows."};
inline constexpr MetricFamily kScrapesRefused{
    "eroom_collector_metrics_refused_total", MetricType::kCounter,
    "/metrics requests refused, by HTTP status."};
}  // namespace metric

// Every exported family, in the order /metrics writes them: the one list
// the exporter, the Grafana dashboard's test and the docs go by.
const std::vector<MetricFamily>& ExportedMetricFamilies();

// The series names a query may use for `family`: its name, and for a
// histogram its _bucket, _sum and _count series.
std::vector<std::string> SeriesNames(const MetricFamily& family);

// Buckets (upper bounds) and counts of observations.
class MetricHistogram {
 public:
  explicit MetricHistogram(std::vector<double> upper_bounds);
  void Observe(double value);

  const std::vector<double>& upper_bounds() const { return upper_bounds_; }
  // Per bucket, not cumulative; the last one is above every bound.
  const std::vector<uint64_t>& bucket_counts() const { return counts_; }
  double sum() const { return sum_; }
  uint64_t count() const { return count_; }

 private:
  std::vector<double> upper_bounds_;
  std::vector<uint64_t> counts_;
  double sum_ = 0;
  uint64_t count_ = 0;
};

// Label name and value, in the order written.
using MetricLabels = std::vector<std::pair<std::string, std::string>>;

// A label value as the text format needs it: backslash, double quote and
// line feed escaped.
std::string EscapeLabelValue(absl::string_view value);

// A label name the format accepts ([a-zA-Z_][a-zA-Z0-9_]*, not starting
// with "__"): other characters become '_'.
std::string SanitizeLabelName(absl::string_view name);

// A sample value: the shortest text that reads back as the same double;
// +Inf, -Inf, NaN.
std::string FormatSampleValue(double value);

// Collects samples in any order and writes them grouped by family, every
// exported family with its HELP and TYPE lines (even one without samples),
// in ExportedMetricFamilies() order.
class ExpositionWriter {
 public:
  void Add(const MetricFamily& family, const MetricLabels& labels,
           double value);
  // A histogram family's _bucket series (cumulative, ending with
  // le="+Inf"), _sum and _count.
  void AddHistogram(const MetricFamily& family, const MetricLabels& labels,
                    const MetricHistogram& histogram);
  std::string Finish() const;

 private:
  void Line(const MetricFamily& family, absl::string_view suffix,
            const MetricLabels& labels, double value);

  std::map<absl::string_view, std::string> lines_;
};

}  // namespace eroom::collector

#endif  // EROOM_COLLECTOR_METRICS_EXPOSITION_H_
