#include "collector/room_metrics.h"

#include "absl/strings/numbers.h"

namespace eroom::collector {
namespace v1 = ::eroom::monitor::v1;
namespace {

constexpr char kRoomCompleted[] = "room_completed";
constexpr char kRoomFailed[] = "room_failed";

// A millisecond field of `event` in seconds; nullopt when absent or not a
// non-negative number.
std::optional<double> SecondsField(const v1::LogEvent& event,
                                   const std::string& name) {
  const auto it = event.fields().find(name);
  double milliseconds = 0;
  if (it == event.fields().end() ||
      !absl::SimpleAtod(it->second, &milliseconds) || !(milliseconds >= 0)) {
    return std::nullopt;
  }
  return milliseconds / 1000;
}

}  // namespace

const std::vector<double>& RoomMetrics::BucketBounds() {
  static const std::vector<double>* bounds = new std::vector<double>{
      0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600};
  return *bounds;
}

void RoomMetrics::OnStored(const StoredBatch& batch) {
  absl::MutexLock lock(&mu_);
  for (const AgentBatch& agent_batch : batch.batches) {
    for (const v1::Event& event : agent_batch.batch->events()) {
      if (!event.has_log()) continue;
      const v1::LogEvent& log = event.log();
      const bool completed = log.event_type() == kRoomCompleted;
      if (!completed && log.event_type() != kRoomFailed) continue;
      auto [it, added] = hosts_.try_emplace(
          agent_batch.agent_id,
          Host{.processing_seconds = MetricHistogram(BucketBounds()),
               .queue_wait_seconds = MetricHistogram(BucketBounds())});
      Host& host = it->second;
      ++(completed ? host.completed : host.failed);
      if (std::optional<double> seconds = SecondsField(log, "processing_ms")) {
        host.processing_seconds.Observe(*seconds);
      }
      if (std::optional<double> seconds = SecondsField(log, "queue_wait_ms")) {
        host.queue_wait_seconds.Observe(*seconds);
      }
    }
  }
}

std::map<std::string, RoomMetrics::Host> RoomMetrics::Snapshot() const {
  absl::MutexLock lock(&mu_);
  return hosts_;
}

}  // namespace eroom::collector
