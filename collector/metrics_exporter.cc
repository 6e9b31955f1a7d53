#include "collector/metrics_exporter.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "collector/metrics_exposition.h"

namespace eroom::collector {
namespace v1 = ::eroom::monitor::v1;
namespace {

double Seconds(int64_t unix_ms) { return static_cast<double>(unix_ms) / 1000; }

double Flag(bool value) { return value ? 1 : 0; }

MetricLabels With(const MetricLabels& base, const std::string& name,
                  const std::string& value) {
  MetricLabels labels = base;
  labels.emplace_back(name, value);
  return labels;
}

std::string ProbeTargetLabel(v1::ProbeTarget target) {
  switch (target) {
    case v1::HEALTH:
      return "health";
    case v1::QUEUE_STATUS:
      return "queue_status";
    default:
      return "unspecified";
  }
}

void AddSample(const v1::ResourceSample& sample, const MetricLabels& host,
               ExpositionWriter& out) {
  out.Add(metric::kSampleTime, host, Seconds(sample.time_unix_ms()));
  out.Add(metric::kHostCpu, host, sample.cpu_percent());
  out.Add(metric::kHostLoad1, host, sample.load_average_1m());
  out.Add(metric::kHostMemoryUsed, host,
          static_cast<double>(sample.memory_used_bytes()));
  out.Add(metric::kHostMemoryTotal, host,
          static_cast<double>(sample.memory_total_bytes()));
  for (const v1::DiskUsage& disk : sample.disks()) {
    const MetricLabels labels = With(host, "mount", disk.mount());
    out.Add(metric::kDiskUsed, labels, static_cast<double>(disk.used_bytes()));
    out.Add(metric::kDiskTotal, labels,
            static_cast<double>(disk.total_bytes()));
  }
  const v1::ProcessState& eroom = sample.eroom();
  out.Add(metric::kProcessUp, host, Flag(eroom.up()));
  out.Add(metric::kProcessRss, host, static_cast<double>(eroom.rss_bytes()));
  out.Add(metric::kProcessCpu, host, eroom.cpu_percent());
  out.Add(metric::kProcessPortListening, host, Flag(eroom.port_listening()));
  out.Add(metric::kAgentSpoolEvents, host,
          static_cast<double>(sample.agent().spool_events()));
  out.Add(metric::kAgentDropped, host,
          static_cast<double>(sample.agent().events_dropped_total()));
}

void AddProbe(const v1::ProbeResult& probe, const MetricLabels& host,
              ExpositionWriter& out) {
  const MetricLabels labels =
      With(host, "target", ProbeTargetLabel(probe.target()));
  out.Add(metric::kProbeUp, labels, Flag(probe.ok()));
  out.Add(metric::kProbeLatency, labels, probe.latency_ms() / 1000);
  out.Add(metric::kProbeHttpStatus, labels, probe.http_status());
}

void AddQueue(const v1::QueueStatus& queue, const MetricLabels& host,
              ExpositionWriter& out) {
  out.Add(metric::kQueueQueued, host, static_cast<double>(queue.queued()));
  out.Add(metric::kQueueActive, host, static_cast<double>(queue.active()));
  out.Add(metric::kQueueCompleted, host,
          static_cast<double>(queue.completed()));
  out.Add(metric::kQueueMaxConcurrent, host,
          static_cast<double>(queue.max_concurrent()));
}

// The alert's identity first, then the rest of its labels (the rule's own)
// under names the format accepts; "host" is the hostname label already.
void AddFiringAlert(const v1::AlertRecord& alert, const MetricLabels& host,
                    ExpositionWriter& out) {
  MetricLabels labels = host;
  labels.emplace_back("alertname", alert.rule());
  std::set<std::string> taken = {"agent_id", "hostname", "alertname", "host"};
  std::map<std::string, std::string> rest;
  for (const auto& [name, value] : alert.labels()) {
    const std::string label = SanitizeLabelName(name);
    if (taken.insert(label).second) rest.emplace(label, value);
  }
  for (auto& [name, value] : rest) labels.emplace_back(name, value);
  out.Add(metric::kAlertsFiring, labels, 1);
}

void AddHealth(const CollectorHealth& health, ExpositionWriter& out) {
  out.Add(metric::kStoredBatches, {},
          static_cast<double>(health.stored.batches));
  for (const auto& [kind, count] :
       {std::pair{"log", health.stored.logs},
        std::pair{"sample", health.stored.samples},
        std::pair{"probe", health.stored.probes},
        std::pair{"notice", health.stored.notices}}) {
    out.Add(metric::kStoredEvents, {{"kind", kind}},
            static_cast<double>(count));
  }
  out.Add(metric::kIngestQueue, {},
          static_cast<double>(health.ingest_queue_depth));
  out.Add(metric::kIngestWaiting, {},
          static_cast<double>(health.ingest_waiting_streams));
  out.Add(metric::kQueryQueue, {},
          static_cast<double>(health.query_queue_depth));
  out.Add(metric::kAlertQueue, {},
          static_cast<double>(health.alert_queue_depth));
  out.Add(metric::kAlertDropped, {},
          static_cast<double>(health.alert_evaluation_dropped));
  if (health.search_index_lag_events) {
    out.Add(metric::kSearchIndexLag, {},
            static_cast<double>(*health.search_index_lag_events));
  }
  for (const auto& [file, bytes] : health.file_bytes) {
    out.Add(metric::kDatabaseSize, {{"file", file}},
            static_cast<double>(bytes));
  }
  for (const auto& [status, count] : health.refused_by_status) {
    out.Add(metric::kScrapesRefused, {{"code", absl::StrCat(status)}},
            static_cast<double>(count));
  }
}

}  // namespace

std::string RenderMetrics(const MetricsSnapshot& snapshot) {
  ExpositionWriter out;
  std::map<std::string, std::string> hostnames;
  int connected = 0;
  for (const v1::HostStatus& host : snapshot.hosts.hosts()) {
    hostnames[host.agent_id()] = host.hostname();
    const MetricLabels labels = {{"agent_id", host.agent_id()},
                                 {"hostname", host.hostname()}};
    connected += host.connected() ? 1 : 0;
    out.Add(metric::kHostUp, labels, Flag(!host.down()));
    out.Add(metric::kHostConnected, labels, Flag(host.connected()));
    out.Add(metric::kHostLastSeen, labels, Seconds(host.last_seen_unix_ms()));
    if (host.has_latest_sample()) AddSample(host.latest_sample(), labels, out);
    if (host.has_latest_health()) AddProbe(host.latest_health(), labels, out);
    if (host.has_latest_queue()) {
      AddProbe(host.latest_queue(), labels, out);
      if (host.latest_queue().has_queue()) {
        AddQueue(host.latest_queue().queue(), labels, out);
      }
    }
    for (const v1::AlertRecord& alert : host.firing_alerts()) {
      AddFiringAlert(alert, labels, out);
    }
  }
  for (const auto& [agent_id, rooms] : snapshot.rooms) {
    const MetricLabels labels = {{"agent_id", agent_id},
                                 {"hostname", hostnames[agent_id]}};
    out.Add(metric::kRoomsCompleted, labels,
            static_cast<double>(rooms.completed));
    out.Add(metric::kRoomsFailed, labels, static_cast<double>(rooms.failed));
    out.AddHistogram(metric::kRoomProcessing, labels, rooms.processing_seconds);
    out.AddHistogram(metric::kRoomQueueWait, labels, rooms.queue_wait_seconds);
  }
  out.Add(metric::kKnownHosts, {}, snapshot.hosts.hosts_size());
  out.Add(metric::kConnectedAgents, {}, connected);
  AddHealth(snapshot.health, out);
  return out.Finish();
}

}  // namespace eroom::collector
