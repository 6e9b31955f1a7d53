#include "collector/ingest_rules.h"

#include <utility>

namespace eroom::collector {
namespace {
namespace v1 = ::eroom::monitor::v1;

// The newest of each kind among one agent's new events of one batch; copied
// into its HostProgress once the batch is done, so that a batch of many
// samples copies one.
struct LatestOfBatch {
  const v1::ResourceSample* sample = nullptr;
  const v1::ProbeResult* health = nullptr;
  const v1::ProbeResult* queue = nullptr;

  void Note(const v1::Event& event) {
    switch (event.payload_case()) {
      case v1::Event::kSample:
        sample = &event.sample();
        break;
      case v1::Event::kProbe:
        if (event.probe().target() == v1::HEALTH) {
          health = &event.probe();
        } else if (event.probe().target() == v1::QUEUE_STATUS) {
          queue = &event.probe();
        }
        break;
      case v1::Event::kLog:
      case v1::Event::kNotice:
      case v1::Event::PAYLOAD_NOT_SET:
        break;
    }
  }

  void CopyTo(HostProgress& host) const {
    if (sample != nullptr) host.latest_sample = *sample;
    if (health != nullptr) host.latest_health = *health;
    if (queue != nullptr) host.latest_queue = *queue;
  }
};

std::vector<MetricValue> MetricsFromEvent(const v1::Event& event) {
  switch (event.payload_case()) {
    case v1::Event::kSample:
      return MetricsFromSample(event.sample());
    case v1::Event::kProbe:
      return MetricsFromProbe(event.probe());
    case v1::Event::kNotice:
      return MetricsFromNotice(event.notice());
    case v1::Event::kLog:
    case v1::Event::PAYLOAD_NOT_SET:
      break;
  }
  return {};
}

int64_t EventTime(const v1::Event& event) {
  switch (event.payload_case()) {
    case v1::Event::kSample:
      return event.sample().time_unix_ms();
    case v1::Event::kProbe:
      return event.probe().time_unix_ms();
    case v1::Event::kNotice:
      return event.notice().time_unix_ms();
    case v1::Event::kLog:
      return event.log().time_unix_ms();
    case v1::Event::PAYLOAD_NOT_SET:
      break;
  }
  return 0;
}

// Removes from `batch` the events that are not new, deciding for the new
// ones what they add to `host`, `gaps` and `metrics`.
void KeepNewEvents(v1::EventBatch& batch, HostProgress& host,
                   SequenceGaps& gaps, std::vector<DerivedMetrics>& metrics) {
  auto& events = *batch.mutable_events();
  LatestOfBatch latest;
  int kept = 0;
  for (int i = 0; i < events.size(); ++i) {
    const v1::Event& event = events.Get(i);
    const uint64_t sequence = event.sequence();
    if (sequence <= host.last_sequence) continue;  // Redelivered.
    if (sequence != host.last_sequence + 1 && gaps.count++ == 0) {
      gaps.first_expected = host.last_sequence + 1;
      gaps.first_received = sequence;
    }
    host.last_sequence = sequence;
    latest.Note(event);
    if (std::vector<MetricValue> values = MetricsFromEvent(event);
        !values.empty()) {
      metrics.push_back(DerivedMetrics{.agent_id = host.agent_id,
                                       .sequence = sequence,
                                       .time_unix_ms = EventTime(event),
                                       .values = std::move(values)});
    }
    // Swapping moves element pointers, not elements: `latest` stays valid.
    if (kept != i) events.SwapElements(kept, i);
    ++kept;
  }
  events.DeleteSubrange(kept, events.size() - kept);
  latest.CopyTo(host);
}

}  // namespace

StoredBatch BuildStoredBatch(std::vector<AgentBatch> received,
                             const StoredSequences& stored, absl::Time now) {
  StoredBatch out;
  out.received = now;
  // Index of each agent in out.hosts, and its gaps alongside.
  absl::flat_hash_map<std::string, size_t> agent_index;
  std::vector<SequenceGaps> gaps;
  for (AgentBatch& batch : received) {
    auto [it, added] =
        agent_index.try_emplace(batch.agent_id, out.hosts.size());
    if (added) {
      HostProgress host;
      host.agent_id = batch.agent_id;
      if (auto known = stored.find(batch.agent_id); known != stored.end()) {
        host.last_sequence = known->second;
      }
      host.last_seen = now;
      out.hosts.push_back(std::move(host));
      gaps.push_back(SequenceGaps{.agent_id = batch.agent_id});
    }
    KeepNewEvents(*batch.batch, out.hosts[it->second], gaps[it->second],
                  out.metrics);
    if (!batch.batch->events().empty()) out.batches.push_back(std::move(batch));
  }
  for (SequenceGaps& agent_gaps : gaps) {
    if (agent_gaps.count > 0) out.gaps.push_back(std::move(agent_gaps));
  }
  return out;
}

}  // namespace eroom::collector
