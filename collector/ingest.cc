#include "collector/ingest.h"

#include "common/logging.h"
#include "spdlog/spdlog.h"

namespace eroom::collector {

IngestPipeline::IngestPipeline(Storage& storage, const Clock& clock,
                               Options options,
                               std::vector<IngestObserver*> observers)
    : storage_(storage),
      clock_(clock),
      options_(options),
      observers_(std::move(observers)),
      queue_(options.queue_capacity) {}

IngestPipeline::~IngestPipeline() { Stop(); }

bool IngestPipeline::Submit(IngestItem item) {
  return queue_.TryPush(std::move(item));
}

void IngestPipeline::Start() {
  thread_ = std::thread([this] {
    SetThreadName("ingest");
    Run();
  });
}

void IngestPipeline::Stop() {
  if (!thread_.joinable()) return;
  stopping_ = true;
  queue_.Close();
  thread_.join();
}

void IngestPipeline::Run() {
  while (true) {
    std::vector<IngestItem> items =
        queue_.PopBatch(options_.queue_capacity, absl::Milliseconds(100));
    if (items.empty()) {
      if (stopping_) return;
      continue;
    }
    std::vector<IngestItem> group;
    size_t group_events = 0;
    for (IngestItem& item : items) {
      if (item.kind != IngestItem::Kind::kBatch) {
        StoreGroup(group);
        group_events = 0;
        Handle(item);
        continue;
      }
      group_events += item.batch.events_size();
      group.push_back(std::move(item));
      if (group_events >= options_.max_events_per_transaction) {
        StoreGroup(group);
        group_events = 0;
      }
    }
    StoreGroup(group);
  }
}

void IngestPipeline::StoreGroup(std::vector<IngestItem>& group) {
  if (group.empty()) return;
  std::vector<AgentBatch> batches;
  batches.reserve(group.size());
  for (IngestItem& item : group) {
    batches.push_back(AgentBatch{item.agent_id, std::move(item.batch)});
  }
  absl::StatusOr<absl::flat_hash_map<std::string, uint64_t>> stored =
      storage_.StoreBatches(batches, clock_.Now());
  if (!stored.ok()) {
    // The agents still hold these events and resend them on reconnect.
    spdlog::error("storing {} batches failed: {}", batches.size(),
                  stored.status().ToString());
    for (IngestItem& item : group) item.link->OnIngestFailed(stored.status());
    group.clear();
    return;
  }
  for (IngestItem& item : group) item.link->OnStored((*stored)[item.agent_id]);
  StoredBatch stored_batch;
  stored_batch.batches = std::move(batches);
  Notify(stored_batch);
  group.clear();
}

void IngestPipeline::Notify(const StoredBatch& stored) {
  for (IngestObserver* observer : observers_) observer->OnStored(stored);
}

void IngestPipeline::Handle(IngestItem& item) {
  switch (item.kind) {
    case IngestItem::Kind::kHello: {
      absl::StatusOr<uint64_t> last =
          storage_.RegisterAgent(item.hello, clock_.Now());
      if (last.ok()) {
        item.link->OnRegistered(*last);
      } else {
        spdlog::error("registering agent '{}' failed: {}", item.agent_id,
                      last.status().ToString());
        item.link->OnIngestFailed(last.status());
      }
      break;
    }
    case IngestItem::Kind::kDisconnect: {
      absl::Status status =
          storage_.MarkDisconnected(item.agent_id, clock_.Now());
      if (!status.ok()) {
        spdlog::error("marking agent '{}' disconnected failed: {}",
                      item.agent_id, status.ToString());
      }
      break;
    }
    case IngestItem::Kind::kCommandRequested: {
      absl::Status recorded = storage_.RecordCommand(item.command);
      if (!recorded.ok()) {
        spdlog::error("recording command '{}' failed: {}",
                      item.command.command_id(), recorded.ToString());
      }
      item.on_recorded(std::move(recorded));
      break;
    }
    case IngestItem::Kind::kCommandProgress: {
      absl::Status stored =
          storage_.StoreCommandProgress(item.agent_id, item.progress);
      if (!stored.ok()) {
        spdlog::warn("dropped progress of command '{}' from agent '{}': {}",
                     item.progress.command_id(), item.agent_id,
                     stored.ToString());
        break;
      }
      StoredBatch batch;
      batch.command_progress.push_back(
          StoredCommandProgress{item.agent_id, std::move(item.progress)});
      Notify(batch);
      break;
    }
    case IngestItem::Kind::kBatch:
      break;  // Batches are grouped by Run().
  }
}

}  // namespace eroom::collector
