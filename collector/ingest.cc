#include "collector/ingest.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "collector/command_audit.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "spdlog/spdlog.h"

namespace eroom::collector {
namespace {
namespace v1 = ::eroom::monitor::v1;

// Warnings about what a committed batch says of its agents.
void LogAnomalies(const StoredBatch& stored) {
  for (const SequenceGaps& gaps : stored.gaps) {
    spdlog::warn(
        "agent '{}': {} sequence gap(s); first expected {} but got {} "
        "(the agent lost events before sending them)",
        gaps.agent_id, gaps.count, gaps.first_expected, gaps.first_received);
  }
  absl::flat_hash_map<std::string, uint64_t> unknown_kinds;
  for (const AgentBatch& batch : stored.batches) {
    for (const v1::Event& event : batch.batch->events()) {
      if (event.payload_case() == v1::Event::PAYLOAD_NOT_SET) {
        ++unknown_kinds[batch.agent_id];
      }
    }
  }
  for (const auto& [agent_id, count] : unknown_kinds) {
    spdlog::warn(
        "agent '{}': skipped {} event(s) of a kind this collector does not "
        "know (newer agent?)",
        agent_id, count);
  }
}

}  // namespace

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
  if (item.kind == IngestItem::Kind::kDisconnect) {
    return queue_.PushBeyondCapacity(std::move(item));
  }
  return queue_.TryPush(std::move(item));
}

IngestPipeline::Admission IngestPipeline::SubmitOrWait(
    IngestItem item, std::function<void()> on_queued) {
  absl::MutexLock lock(&waiting_mu_);
  if (waiting_closed_) return Admission::kStopped;
  // Only the ingest thread takes from the queue, so the room seen here
  // stays until the push below.
  if (waiting_.empty() && queue_.size() < queue_.capacity()) {
    return queue_.PushBeyondCapacity(std::move(item)) ? Admission::kQueued
                                                      : Admission::kStopped;
  }
  waiting_.push_back(WaitingItem{std::move(item), std::move(on_queued)});
  return Admission::kWaiting;
}

void IngestPipeline::QueueWaiting() {
  std::vector<std::function<void()>> queued;
  {
    absl::MutexLock lock(&waiting_mu_);
    while (!waiting_.empty() && queue_.size() < queue_.capacity()) {
      if (!queue_.PushBeyondCapacity(std::move(waiting_.front().item))) break;
      queued.push_back(std::move(waiting_.front().on_queued));
      waiting_.pop_front();
    }
  }
  for (std::function<void()>& on_queued : queued) on_queued();
}

void IngestPipeline::Start() {
  answer_thread_ = std::thread([this] {
    SetThreadName("ingest-answers");
    RunAnswers();
  });
  thread_ = std::thread([this] {
    SetThreadName("ingest");
    Run();
  });
}

void IngestPipeline::Stop() {
  {
    absl::MutexLock lock(&waiting_mu_);
    waiting_closed_ = true;
    waiting_.clear();
  }
  if (!thread_.joinable()) return;
  stopping_ = true;
  queue_.Close();
  thread_.join();
  // The writer is done: what it committed is answered before this returns.
  answers_.Close();
  answer_thread_.join();
}

void IngestPipeline::Run() {
  // A retention backlog goes on between rounds, without waiting for items.
  bool retention_due = false;
  while (true) {
    std::vector<IngestItem> items = queue_.PopBatch(
        options_.queue_capacity,
        retention_due ? absl::ZeroDuration() : absl::Milliseconds(100));
    if (!items.empty()) GatherRound(items);
    // Room was just made: waiting streams read on while these are stored.
    QueueWaiting();
    if (items.empty()) {
      if (stopping_) return;
      retention_due = RunRetention();
      continue;
    }
    const size_t batches_per_transaction = BatchesPerTransaction(items);
    std::vector<IngestItem> group;
    size_t group_events = 0;
    size_t group_batches = 0;
    const auto store_group = [&] {
      StoreGroup(group);
      group_events = 0;
      group_batches = 0;
    };
    std::vector<IngestItem> hellos;
    for (IngestItem& item : items) {
      if (item.kind == IngestItem::Kind::kHello) {
        store_group();
        hellos.push_back(std::move(item));
        continue;
      }
      RegisterHellos(hellos);
      switch (item.kind) {
        case IngestItem::Kind::kBatch:
          group_events += item.batch->events_size();
          ++group_batches;
          break;
        case IngestItem::Kind::kCommandProgress:
        case IngestItem::Kind::kAudit:
          ++group_events;
          break;
        case IngestItem::Kind::kHello:
        case IngestItem::Kind::kDisconnect:
        case IngestItem::Kind::kCommandRequested:
          store_group();
          Handle(item);
          continue;
      }
      group.push_back(std::move(item));
      if (group_events >= options_.max_events_per_transaction ||
          group_batches >= batches_per_transaction) {
        store_group();
      }
    }
    RegisterHellos(hellos);
    StoreGroup(group);
    retention_due = RunRetention();
  }
}

void IngestPipeline::RunAnswers() {
  while (true) {
    // Freed at the end of each pass, after their acks went out.
    std::vector<Answers> rounds =
        answers_.PopBatch(kAnswerQueueCapacity, absl::InfiniteDuration());
    if (rounds.empty()) return;  // Closed and drained.
    for (const Answers& round : rounds) {
      for (const Answers::StreamAck& ack : round.acks) {
        ack.link->OnStored(ack.stored_through_sequence, ack.batches,
                           round.batch_interval);
      }
    }
  }
}

size_t IngestPipeline::BatchesPerTransaction(
    const std::vector<IngestItem>& items) const {
  const auto batches =
      std::count_if(items.begin(), items.end(), [](const IngestItem& item) {
        return item.kind == IngestItem::Kind::kBatch;
      });
  const size_t half_the_round = (static_cast<size_t>(batches) + 1) / 2;
  return std::min(
      options_.max_batches_per_transaction,
      std::max(options_.min_batches_per_transaction, half_the_round));
}

void IngestPipeline::GatherRound(std::vector<IngestItem>& items) {
  const absl::Duration early =
      options_.commit_interval - (clock_.Now() - last_round_start_);
  // A full queue has streams waiting for room (SubmitOrWait): no reason to
  // hold them back.
  if (early > absl::ZeroDuration() && items.size() < options_.queue_capacity) {
    const size_t room = options_.queue_capacity - items.size();
    queue_.AwaitSize(room, early);
    for (IngestItem& item : queue_.PopBatch(room, absl::ZeroDuration())) {
      items.push_back(std::move(item));
    }
  }
  last_round_start_ = clock_.Now();
}

bool IngestPipeline::RunRetention() {
  return options_.retention != nullptr && options_.retention->RunDue();
}

absl::Status IngestPipeline::LearnStoredSequence(const std::string& agent_id) {
  if (stored_sequences_.contains(agent_id)) return absl::OkStatus();
  EROOM_ASSIGN_OR_RETURN(uint64_t last, storage_.LastStoredSequence(agent_id));
  spdlog::warn("events from agent '{}' before its hello", agent_id);
  stored_sequences_[agent_id] = last;
  return absl::OkStatus();
}

absl::StatusOr<std::optional<v1::CommandRecord>> IngestPipeline::AcceptProgress(
    const IngestItem& item) {
  const std::string& command_id = item.progress.command_id();
  absl::StatusOr<v1::CommandRecord> command =
      storage_.RecordedCommand(command_id);
  if (command.ok() && command->agent_id() == item.agent_id) {
    return *std::move(command);
  }
  if (!command.ok() && !absl::IsNotFound(command.status())) {
    return command.status();
  }
  ++dropped_command_progress_;
  spdlog::warn("agent '{}' reported progress of {} command '{}'; dropped",
               item.agent_id, command.ok() ? "another agent's" : "an unknown",
               command_id);
  return std::nullopt;
}

absl::StatusOr<StoredBatch> IngestPipeline::Decide(
    std::vector<IngestItem>& group) {
  std::vector<AgentBatch> received;
  std::vector<StoredCommandProgress> progress;
  std::vector<v1::AuditRecord> audit;
  const absl::Time now = clock_.Now();
  for (IngestItem& item : group) {
    if (item.kind == IngestItem::Kind::kBatch) {
      if (item.agent_id.empty()) {
        return absl::InvalidArgumentError("event batch without agent_id");
      }
      EROOM_RETURN_IF_ERROR(LearnStoredSequence(item.agent_id));
      received.push_back(AgentBatch{item.agent_id, std::move(item.batch)});
      continue;
    }
    if (item.kind == IngestItem::Kind::kAudit) {
      audit.push_back(std::move(item.audit));
      continue;
    }
    EROOM_ASSIGN_OR_RETURN(std::optional<v1::CommandRecord> command,
                           AcceptProgress(item));
    if (command.has_value()) {
      audit.push_back(StepAudit(*command, item.progress, item.actor, now));
      progress.push_back(
          StoredCommandProgress{item.agent_id, std::move(item.progress)});
    }
  }
  StoredBatch stored =
      BuildStoredBatch(std::move(received), stored_sequences_, now);
  stored.command_progress = std::move(progress);
  stored.audit = std::move(audit);
  return stored;
}

void IngestPipeline::StoreGroup(std::vector<IngestItem>& group) {
  if (group.empty()) return;
  absl::StatusOr<StoredBatch> stored = Decide(group);
  absl::Status status = stored.ok() ? storage_.Apply(*stored) : stored.status();
  if (!status.ok()) {
    // The agents still hold these events and resend them on reconnect.
    spdlog::error("storing {} items failed: {}", group.size(),
                  status.ToString());
    for (IngestItem& item : group) {
      if (item.link != nullptr) item.link->OnIngestFailed(status);
    }
    group.clear();
    return;
  }
  for (const HostProgress& host : stored->hosts) {
    stored_sequences_[host.agent_id] = host.last_sequence;
  }
  LogAnomalies(*stored);
  // One ack per stream covers all its batches in the transaction: acks are
  // cumulative, and each is a write to the network.
  // A stream streams for one agent, whose stored sequence is final here.
  Answers answers;
  answers.batch_interval = BatchInterval();
  absl::flat_hash_map<StreamLink*, size_t> ack_index;
  for (const IngestItem& item : group) {
    if (item.kind != IngestItem::Kind::kBatch) continue;
    const auto [entry, first] =
        ack_index.try_emplace(item.link.get(), answers.acks.size());
    if (first) {
      answers.acks.push_back(
          {item.link.get(), stored_sequences_[item.agent_id], 0});
    }
    ++answers.acks[entry->second].batches;
  }
  for (IngestObserver* observer : observers_) observer->OnStored(*stored);
  answers.items = std::move(group);
  answers.stored = *std::move(stored);
  answers_.PushWhenRoom(std::move(answers));
  group.clear();
}

absl::Duration IngestPipeline::BatchInterval() const {
  if (options_.batches_per_second == 0) return absl::ZeroDuration();
  return std::min(kMaxBatchInterval,
                  absl::Seconds(1) * static_cast<double>(connected_streams_) /
                      static_cast<double>(options_.batches_per_second));
}

void IngestPipeline::RegisterHellos(std::vector<IngestItem>& hellos) {
  if (hellos.empty()) return;
  // Every stream's hello is followed by its disconnect, even when the
  // stream is gone before its hello is handled.
  connected_streams_ += hellos.size();
  std::vector<IngestItem*> current;
  std::vector<const v1::AgentHello*> current_hellos;
  for (IngestItem& item : hellos) {
    if (item.current && !item.current()) continue;
    current.push_back(&item);
    current_hellos.push_back(&item.hello);
  }
  if (current.empty()) {
    hellos.clear();
    return;
  }
  const absl::Time now = clock_.Now();
  absl::StatusOr<std::vector<uint64_t>> last =
      storage_.RegisterAgents(current_hellos, now);
  if (!last.ok()) {
    spdlog::error("registering {} agent(s) failed: {}", current.size(),
                  last.status().ToString());
    for (IngestItem* item : current) item->link->OnIngestFailed(last.status());
    hellos.clear();
    return;
  }
  for (size_t i = 0; i < current.size(); ++i) {
    AnswerHello(*current[i], (*last)[i], now);
  }
  hellos.clear();
}

void IngestPipeline::AnswerHello(IngestItem& item, uint64_t last_stored,
                                 absl::Time now) {
  stored_sequences_[item.agent_id] = last_stored;
  v1::HelloAck ack;
  ack.set_last_stored_sequence(last_stored);
  // The stream resolves them in every batch (AgentStream::Accept).
  ack.set_log_sources(true);
  if (item.hello.spool_replaced()) {
    // Everything the agent sent before is committed by now: ingest takes a
    // stream's items in order, and a hello is its first.
    absl::StatusOr<std::vector<v1::LogResumePoint>> points =
        storage_.LogResumePoints(item.agent_id);
    if (!points.ok()) {
      spdlog::error("finding where agent '{}' logs resume failed: {}",
                    item.agent_id, points.status().ToString());
      item.link->OnIngestFailed(points.status());
      return;
    }
    spdlog::warn(
        "agent '{}' lost its spool: it resumes its logs after the last "
        "stored event of {} file(s)",
        item.agent_id, points->size());
    ack.mutable_log_resume_points()->Assign(points->begin(), points->end());
  }
  item.link->OnRegistered(std::move(ack));
  for (IngestObserver* observer : observers_) {
    observer->OnRegistered(item.hello, now);
  }
}

void IngestPipeline::Handle(IngestItem& item) {
  if (item.kind == IngestItem::Kind::kDisconnect && connected_streams_ > 0) {
    --connected_streams_;
  }
  if (item.current && !item.current()) return;
  const absl::Time now = clock_.Now();
  switch (item.kind) {
    case IngestItem::Kind::kDisconnect: {
      absl::Status status = storage_.MarkDisconnected(item.agent_id, now);
      if (!status.ok()) {
        spdlog::error("marking agent '{}' disconnected failed: {}",
                      item.agent_id, status.ToString());
      }
      for (IngestObserver* observer : observers_) {
        observer->OnDisconnected(item.agent_id, now);
      }
      return;
    }
    case IngestItem::Kind::kCommandRequested: {
      absl::Status status = storage_.RecordCommand(item.command);
      if (!status.ok()) {
        spdlog::error("recording command '{}' for agent '{}' failed: {}",
                      item.command.command_id(), item.command.agent_id(),
                      status.ToString());
      }
      if (item.on_recorded) item.on_recorded(status);
      return;
    }
    case IngestItem::Kind::kHello:  // RegisterHellos.
    case IngestItem::Kind::kBatch:
    case IngestItem::Kind::kCommandProgress:
    case IngestItem::Kind::kAudit:
      return;  // Grouped by Run().
  }
}

}  // namespace eroom::collector
