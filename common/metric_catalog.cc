#include "common/metric_catalog.h"

#include <algorithm>

namespace eroom {
namespace v1 = ::eroom::monitor::v1;

std::vector<MetricValue> MetricsFromSample(const v1::ResourceSample& sample) {
  std::vector<MetricValue> out = {
      {"host.cpu_percent", {}, sample.cpu_percent()},
      {"host.memory_used_bytes", {}, double(sample.memory_used_bytes())},
      {"host.memory_total_bytes", {}, double(sample.memory_total_bytes())},
      {"host.load_average_1m", {}, sample.load_average_1m()},
      {"eroom.up", {}, sample.eroom().up() ? 1.0 : 0.0},
      {"eroom.port_listening", {}, sample.eroom().port_listening() ? 1.0 : 0.0},
  };
  if (sample.eroom().up()) {
    out.push_back({"eroom.rss_bytes", {}, double(sample.eroom().rss_bytes())});
    out.push_back({"eroom.cpu_percent", {}, sample.eroom().cpu_percent()});
  }
  // Agents that predate AgentState send none; no series rather than zeros.
  if (sample.has_agent()) {
    const v1::AgentState& agent = sample.agent();
    out.push_back({"agent.spool_events", {}, double(agent.spool_events())});
    out.push_back({"agent.spool_bytes", {}, double(agent.spool_bytes())});
    out.push_back({"agent.events_dropped_total",
                   {},
                   double(agent.events_dropped_total())});
    out.push_back({"agent.housekeeping_last_run_unix_ms",
                   {},
                   double(agent.housekeeping_last_run_unix_ms())});
    out.push_back({"agent.oldest_uncompressed_log_unix_ms",
                   {},
                   double(agent.oldest_uncompressed_log_unix_ms())});
  }
  for (const v1::DiskUsage& disk : sample.disks()) {
    std::map<std::string, std::string> labels = {{"mount", disk.mount()}};
    out.push_back({"disk.used_bytes", labels, double(disk.used_bytes())});
    out.push_back({"disk.total_bytes", labels, double(disk.total_bytes())});
    if (disk.total_bytes() > 0) {
      out.push_back(
          {"disk.used_percent", labels,
           100.0 * double(disk.used_bytes()) / double(disk.total_bytes())});
    }
  }
  return out;
}

std::vector<MetricValue> MetricsFromProbe(const v1::ProbeResult& probe) {
  std::string prefix =
      probe.target() == v1::HEALTH ? "probe.health" : "probe.queue_status";
  std::vector<MetricValue> out = {
      {prefix + ".ok", {}, probe.ok() ? 1.0 : 0.0},
      {prefix + ".latency_ms", {}, probe.latency_ms()},
  };
  // Both endpoints report the queue; /queue/status is its canonical source,
  // so /health's copy does not produce a second series.
  if (probe.target() == v1::QUEUE_STATUS && probe.has_queue()) {
    out.push_back({"queue.queued", {}, double(probe.queue().queued())});
    out.push_back({"queue.active", {}, double(probe.queue().active())});
    out.push_back({"queue.completed", {}, double(probe.queue().completed())});
  }
  return out;
}

std::vector<MetricValue> MetricsFromNotice(const v1::AgentNotice& notice) {
  return {{"agent." + notice.kind(), {}, double(notice.count())}};
}

const std::vector<std::string>& KnownMetricNames() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> all;
    for (const char* kind :
         {notice_kind::kEventsDropped, notice_kind::kLogLinesTruncated,
          notice_kind::kLogLinesDropped, notice_kind::kLogUtf8Repaired,
          notice_kind::kLogBytesUndecodable, notice_kind::kLogFileProblems,
          notice_kind::kLogReadingPaused, notice_kind::kSamplerReadFailures,
          notice_kind::kSpoolReplaced, notice_kind::kHousekeepingDone,
          notice_kind::kHousekeepingFailed, notice_kind::kRestartStarted,
          notice_kind::kRestartSucceeded, notice_kind::kRestartFailed,
          notice_kind::kAutoRestartAttempt, notice_kind::kAutoRestartSucceeded,
          notice_kind::kAutoRestartFailed,
          notice_kind::kAutoRestartLimitReached}) {
      all.push_back(std::string("agent.") + kind);
    }
    all.insert(all.end(), {"host.cpu_percent",
                           "host.memory_used_bytes",
                           "host.memory_total_bytes",
                           "host.load_average_1m",
                           "eroom.up",
                           "eroom.port_listening",
                           "eroom.rss_bytes",
                           "eroom.cpu_percent",
                           "disk.used_bytes",
                           "disk.total_bytes",
                           "disk.used_percent",
                           "probe.health.ok",
                           "probe.health.latency_ms",
                           "probe.queue_status.ok",
                           "probe.queue_status.latency_ms",
                           "queue.queued",
                           "queue.active",
                           "queue.completed",
                           "agent.spool_events",
                           "agent.spool_bytes",
                           "agent.events_dropped_total",
                           "agent.housekeeping_last_run_unix_ms",
                           "agent.oldest_uncompressed_log_unix_ms"});
    std::sort(all.begin(), all.end());
    return all;
  }();
  return names;
}

}  // namespace eroom
