#include "common/metric_catalog.h"

#include <algorithm>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace eroom {
namespace {
namespace v1 = ::eroom::monitor::v1;

double ValueOf(const std::vector<MetricValue>& values,
               const std::string& name) {
  for (const MetricValue& v : values) {
    if (v.name == name) return v.value;
  }
  ADD_FAILURE() << "no metric " << name;
  return -1;
}

TEST(MetricCatalogTest, SampleBecomesNamedValues) {
  v1::ResourceSample sample;
  sample.set_cpu_percent(12.5);
  sample.set_memory_used_bytes(100);
  sample.mutable_eroom()->set_up(true);
  sample.mutable_eroom()->set_rss_bytes(2048);
  v1::DiskUsage* disk = sample.add_disks();
  disk->set_mount("/");
  disk->set_used_bytes(25);
  disk->set_total_bytes(100);
  std::vector<MetricValue> values = MetricsFromSample(sample);
  EXPECT_EQ(ValueOf(values, "host.cpu_percent"), 12.5);
  EXPECT_EQ(ValueOf(values, "eroom.up"), 1);
  EXPECT_EQ(ValueOf(values, "eroom.rss_bytes"), 2048);
  EXPECT_EQ(ValueOf(values, "disk.used_percent"), 25);
  auto used = std::find_if(values.begin(), values.end(), [](const auto& v) {
    return v.name == "disk.used_bytes";
  });
  ASSERT_NE(used, values.end());
  EXPECT_EQ(used->labels.at("mount"), "/");
}

TEST(MetricCatalogTest, AgentStateBecomesAgentMetrics) {
  v1::ResourceSample sample;
  v1::AgentState* agent = sample.mutable_agent();
  agent->set_spool_events(7);
  agent->set_spool_bytes(4096);
  agent->set_events_dropped_total(3);
  agent->set_housekeeping_last_run_unix_ms(1750000000000);
  agent->set_oldest_uncompressed_log_unix_ms(1749000000000);
  std::vector<MetricValue> values = MetricsFromSample(sample);
  EXPECT_EQ(ValueOf(values, "agent.spool_events"), 7);
  EXPECT_EQ(ValueOf(values, "agent.spool_bytes"), 4096);
  EXPECT_EQ(ValueOf(values, "agent.events_dropped_total"), 3);
  EXPECT_EQ(ValueOf(values, "agent.housekeeping_last_run_unix_ms"),
            1750000000000);
  EXPECT_EQ(ValueOf(values, "agent.oldest_uncompressed_log_unix_ms"),
            1749000000000);
}

TEST(MetricCatalogTest, NoAgentMetricsWithoutAgentState) {
  v1::ResourceSample sample;
  for (const MetricValue& v : MetricsFromSample(sample)) {
    EXPECT_NE(v.name.rfind("agent.", 0), 0u) << v.name;
  }
}

TEST(MetricCatalogTest, ProcessMetricsOnlyWhileUp) {
  v1::ResourceSample sample;
  for (const MetricValue& v : MetricsFromSample(sample)) {
    EXPECT_NE(v.name, "eroom.rss_bytes");
  }
}

TEST(MetricCatalogTest, QueueComesFromQueueStatusProbeOnly) {
  v1::ProbeResult probe;
  probe.set_target(v1::QUEUE_STATUS);
  probe.set_ok(true);
  probe.set_latency_ms(3);
  probe.mutable_queue()->set_queued(12);
  std::vector<MetricValue> values = MetricsFromProbe(probe);
  EXPECT_EQ(ValueOf(values, "queue.queued"), 12);
  EXPECT_EQ(ValueOf(values, "probe.queue_status.latency_ms"), 3);

  probe.set_target(v1::HEALTH);
  for (const MetricValue& v : MetricsFromProbe(probe)) {
    EXPECT_NE(v.name, "queue.queued");
  }
}

TEST(MetricCatalogTest, EveryProducedNameIsKnown) {
  v1::ResourceSample sample;
  sample.mutable_eroom()->set_up(true);
  sample.add_disks()->set_total_bytes(1);
  sample.mutable_agent();
  v1::ProbeResult queue_probe;
  queue_probe.set_target(v1::QUEUE_STATUS);
  queue_probe.mutable_queue();
  v1::ProbeResult health_probe;
  health_probe.set_target(v1::HEALTH);
  std::vector<MetricValue> all = MetricsFromSample(sample);
  for (const auto& probe : {queue_probe, health_probe}) {
    std::vector<MetricValue> more = MetricsFromProbe(probe);
    all.insert(all.end(), more.begin(), more.end());
  }
  for (const MetricValue& v : all) {
    EXPECT_TRUE(std::binary_search(KnownMetricNames().begin(),
                                   KnownMetricNames().end(), v.name))
        << v.name;
  }
}

TEST(MetricCatalogTest, AgentNoticesBecomeKnownAgentSeries) {
  v1::AgentNotice notice;
  notice.set_kind(notice_kind::kLogUtf8Repaired);
  notice.set_count(7);
  std::vector<MetricValue> values = MetricsFromNotice(notice);
  EXPECT_EQ(ValueOf(values, "agent.log_utf8_repaired"), 7);
  EXPECT_TRUE(std::binary_search(KnownMetricNames().begin(),
                                 KnownMetricNames().end(),
                                 "agent.log_utf8_repaired"));
}

}  // namespace
}  // namespace eroom
