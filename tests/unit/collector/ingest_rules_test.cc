#include "collector/ingest_rules.h"

#include <string>
#include <vector>

#include "common/metric_catalog.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace eroom::collector {
namespace {
namespace v1 = ::eroom::monitor::v1;

using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::IsEmpty;
using ::testing::Optional;
using ::testing::Property;
using ::testing::SizeIs;

const absl::Time kNow = absl::FromUnixMillis(1750000000500);

v1::Event Log(uint64_t sequence) {
  v1::Event event;
  event.set_sequence(sequence);
  event.mutable_log()->set_message("line " + std::to_string(sequence));
  return event;
}

v1::Event Sample(uint64_t sequence, double cpu) {
  v1::Event event;
  event.set_sequence(sequence);
  event.mutable_sample()->set_time_unix_ms(1000 + int64_t(sequence));
  event.mutable_sample()->set_cpu_percent(cpu);
  return event;
}

v1::Event Probe(uint64_t sequence, v1::ProbeTarget target) {
  v1::Event event;
  event.set_sequence(sequence);
  event.mutable_probe()->set_time_unix_ms(2000 + int64_t(sequence));
  event.mutable_probe()->set_target(target);
  event.mutable_probe()->set_ok(true);
  return event;
}

AgentBatch Batch(const std::string& agent_id, std::vector<v1::Event> events) {
  AgentBatch batch;
  batch.agent_id = agent_id;
  for (v1::Event& event : events) *batch.batch->add_events() = std::move(event);
  return batch;
}

AgentBatch Logs(const std::string& agent_id, std::vector<uint64_t> sequences) {
  std::vector<v1::Event> events;
  for (uint64_t sequence : sequences) events.push_back(Log(sequence));
  return Batch(agent_id, std::move(events));
}

// The sequences of the events `stored` keeps, in order.
std::vector<uint64_t> Sequences(const StoredBatch& stored) {
  std::vector<uint64_t> out;
  for (const AgentBatch& batch : stored.batches) {
    for (const v1::Event& event : batch.batch->events()) {
      out.push_back(event.sequence());
    }
  }
  return out;
}

TEST(BuildStoredBatchTest, KeepsOnlyEventsAboveTheStoredSequence) {
  StoredBatch stored =
      BuildStoredBatch({Logs("a", {3, 4, 5})}, {{"a", 4}}, kNow);
  EXPECT_THAT(Sequences(stored), ElementsAre(5));
  ASSERT_THAT(stored.hosts, SizeIs(1));
  EXPECT_EQ(stored.hosts[0].last_sequence, 5u);
  EXPECT_EQ(stored.hosts[0].last_seen, kNow);
  EXPECT_EQ(stored.received, kNow);
  EXPECT_THAT(stored.gaps, IsEmpty());
}

TEST(BuildStoredBatchTest, RedeliveryWithinOneCallIsKeptOnce) {
  StoredBatch stored =
      BuildStoredBatch({Logs("a", {1, 2, 3}), Logs("a", {2, 3, 4})}, {}, kNow);
  EXPECT_THAT(Sequences(stored), ElementsAre(1, 2, 3, 4));
  EXPECT_EQ(stored.hosts[0].last_sequence, 4u);
}

TEST(BuildStoredBatchTest, ABatchWithNothingNewIsLeftOutButItsHostCounts) {
  StoredBatch stored =
      BuildStoredBatch({Logs("a", {1, 2}), Logs("b", {}), Logs("c", {7})},
                       {{"a", 2}, {"c", 9}}, kNow);
  EXPECT_THAT(stored.batches, IsEmpty());
  EXPECT_THAT(stored.hosts,
              ElementsAre(Field(&HostProgress::last_sequence, 2u),
                          Field(&HostProgress::last_sequence, 0u),
                          Field(&HostProgress::last_sequence, 9u)));
  EXPECT_THAT(stored.hosts, ElementsAre(Field(&HostProgress::agent_id, "a"),
                                        Field(&HostProgress::agent_id, "b"),
                                        Field(&HostProgress::agent_id, "c")));
}

TEST(BuildStoredBatchTest, OutOfOrderEventIsLeftOut) {
  StoredBatch stored = BuildStoredBatch({Logs("a", {1, 3, 2})}, {}, kNow);
  EXPECT_THAT(Sequences(stored), ElementsAre(1, 3));
  EXPECT_EQ(stored.hosts[0].last_sequence, 3u);
}

TEST(BuildStoredBatchTest, GapsAreKeptAndReported) {
  StoredBatch stored = BuildStoredBatch({Logs("a", {5, 9}), Logs("b", {1, 2})},
                                        {{"a", 2}}, kNow);
  EXPECT_THAT(Sequences(stored), ElementsAre(5, 9, 1, 2));
  ASSERT_THAT(stored.gaps, SizeIs(1));
  EXPECT_EQ(stored.gaps[0].agent_id, "a");
  EXPECT_EQ(stored.gaps[0].count, 2u);
  EXPECT_EQ(stored.gaps[0].first_expected, 3u);
  EXPECT_EQ(stored.gaps[0].first_received, 5u);
}

TEST(BuildStoredBatchTest, EventOfUnknownKindAdvancesTheSequence) {
  v1::Event unknown;
  unknown.set_sequence(1);
  StoredBatch stored = BuildStoredBatch({Batch("a", {unknown})}, {}, kNow);
  EXPECT_THAT(Sequences(stored), ElementsAre(1));
  EXPECT_EQ(stored.hosts[0].last_sequence, 1u);
  EXPECT_THAT(stored.metrics, IsEmpty());
}

TEST(BuildStoredBatchTest, MetricsAreDerivedFromNewObservationsOnly) {
  v1::Event notice;
  notice.set_sequence(4);
  notice.mutable_notice()->set_time_unix_ms(3000);
  notice.mutable_notice()->set_kind("events_dropped");
  notice.mutable_notice()->set_count(3);
  StoredBatch stored =
      BuildStoredBatch({Batch("a", {Sample(1, 10), Log(2), Probe(3, v1::HEALTH),
                                    notice, Sample(5, 20)})},
                       {{"a", 1}}, kNow);
  ASSERT_THAT(stored.metrics, SizeIs(3));
  EXPECT_EQ(stored.metrics[0].sequence, 3u);
  EXPECT_EQ(stored.metrics[0].time_unix_ms, 2003);
  EXPECT_EQ(stored.metrics[0].agent_id, "a");
  EXPECT_EQ(stored.metrics[0].values.size(),
            MetricsFromProbe(Probe(3, v1::HEALTH).probe()).size());
  EXPECT_EQ(stored.metrics[1].sequence, 4u);
  EXPECT_EQ(stored.metrics[1].time_unix_ms, 3000);
  EXPECT_EQ(stored.metrics[2].sequence, 5u);
  EXPECT_EQ(stored.metrics[2].time_unix_ms, 1005);
  EXPECT_EQ(stored.metrics[2].values.size(),
            MetricsFromSample(Sample(5, 20).sample()).size());
}

TEST(BuildStoredBatchTest, HostProgressHoldsTheNewestOfEachKind) {
  StoredBatch stored =
      BuildStoredBatch({Batch("a", {Sample(1, 10), Probe(2, v1::HEALTH),
                                    Probe(3, v1::QUEUE_STATUS), Sample(4, 20)}),
                        Batch("a", {Probe(5, v1::HEALTH)})},
                       {}, kNow);
  const HostProgress& host = stored.hosts[0];
  EXPECT_THAT(host.latest_sample,
              Optional(Property(&v1::ResourceSample::cpu_percent, 20)));
  EXPECT_THAT(host.latest_health,
              Optional(Property(&v1::ProbeResult::time_unix_ms, 2005)));
  EXPECT_THAT(host.latest_queue,
              Optional(Property(&v1::ProbeResult::time_unix_ms, 2003)));
}

TEST(BuildStoredBatchTest, RedeliveredObservationsChangeNothing) {
  StoredBatch stored = BuildStoredBatch(
      {Batch("a", {Sample(1, 10), Probe(2, v1::HEALTH)})}, {{"a", 2}}, kNow);
  EXPECT_FALSE(stored.hosts[0].latest_sample.has_value());
  EXPECT_FALSE(stored.hosts[0].latest_health.has_value());
  EXPECT_THAT(stored.metrics, IsEmpty());
}

}  // namespace
}  // namespace eroom::collector
