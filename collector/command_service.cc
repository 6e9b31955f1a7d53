#include "collector/command_service.h"

#include <algorithm>
#include <deque>
#include <functional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "collector/grpc_status.h"
#include "collector/worker_call.h"
#include "common/ids.h"
#include "common/status_macros.h"
#include "google/protobuf/util/message_differencer.h"
#include "spdlog/spdlog.h"

namespace eroom::collector {
namespace v1 = ::eroom::monitor::v1;
namespace {

// An id the caller sent: named in errors only once it is known to be inert.
absl::Status CheckId(absl::string_view field, absl::string_view value,
                     size_t max_bytes) {
  if (value.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": empty"));
  }
  if (value.size() > max_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", value.size(), " bytes, at most ", max_bytes));
  }
  if (const size_t bad = value.find_first_not_of(kIdBytes);
      bad != absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: byte 0x%02x at offset %d is not %s", field,
        static_cast<unsigned char>(value[bad]), bad, kIdBytesDescription));
  }
  return absl::OkStatus();
}

absl::Status ValidateCommand(const v1::Command& command) {
  if (!command.command_id().empty()) {
    return absl::InvalidArgumentError(
        "command.command_id: assigned by the collector; leave it empty");
  }
  switch (command.action_case()) {
    case v1::Command::kSafeRestart: {
      const int64_t drain_ms = command.safe_restart().drain_timeout_ms();
      if (drain_ms < kMinDrainTimeoutMs || drain_ms > kMaxDrainTimeoutMs) {
        return absl::InvalidArgumentError(
            absl::StrCat("command.safe_restart.drain_timeout_ms: ", drain_ms,
                         " is not between ", kMinDrainTimeoutMs, " and ",
                         kMaxDrainTimeoutMs));
      }
      return absl::OkStatus();
    }
    case v1::Command::kLogHousekeeping:
    case v1::Command::kPing:
      return absl::OkStatus();
    case v1::Command::ACTION_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError(
      "command: no action (safe_restart, log_housekeeping or ping)");
}

absl::Status ValidateStartCommand(const v1::StartCommandRequest& request) {
  EROOM_RETURN_IF_ERROR(
      CheckId("agent_id", request.agent_id(), kMaxAgentIdBytes));
  return ValidateCommand(request.command());
}

absl::StatusOr<int> EffectiveListLimit(int requested) {
  if (requested < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("limit: ", requested, " is negative"));
  }
  if (requested == 0) return kDefaultCommandListLimit;
  return std::min(requested, kMaxCommandListLimit);
}

const char* ActionName(const v1::Command& command) {
  switch (command.action_case()) {
    case v1::Command::kSafeRestart:
      return "safe_restart";
    case v1::Command::kLogHousekeeping:
      return "log_housekeeping";
    case v1::Command::kPing:
      return "ping";
    case v1::Command::ACTION_NOT_SET:
      break;
  }
  return "none";
}

bool SameStep(const v1::CommandProgress& a, const v1::CommandProgress& b) {
  return google::protobuf::util::MessageDifferencer::Equals(a, b);
}

class WatchReactor;

}  // namespace

// Lets the ingest thread and the query workers reach a watch that may
// already be gone: the reactor detaches itself when gRPC is done with it.
class CommandServiceImpl::Watch {
 public:
  explicit Watch(WatchReactor* reactor) : reactor_(reactor) {}
  void Detach() {
    absl::MutexLock lock(&mu_);
    reactor_ = nullptr;
  }
  void OnRecord(absl::StatusOr<v1::CommandRecord> record);
  void OnStep(const v1::CommandProgress& step);

 private:
  absl::Mutex mu_;
  WatchReactor* reactor_ ABSL_GUARDED_BY(mu_);
};

namespace {

// Replays the stored steps, then writes each new one, one write in flight
// at a time, and finishes after the final step. Steps stored while the
// replay was being read are held back, and those the replay already holds
// are dropped, so each step is written once.
class WatchReactor final
    : public grpc::ServerWriteReactor<v1::CommandProgress> {
 public:
  using Remove = std::function<void(const CommandServiceImpl::Watch*)>;

  explicit WatchReactor(Remove remove)
      : remove_(std::move(remove)),
        handle_(std::make_shared<CommandServiceImpl::Watch>(this)) {}

  const std::shared_ptr<CommandServiceImpl::Watch>& handle() const {
    return handle_;
  }

  void OnRecord(absl::StatusOr<v1::CommandRecord> record) {
    absl::MutexLock lock(&mu_);
    if (!record.ok()) {
      FinishLocked(ToGrpcStatus(record.status()));
      return;
    }
    const auto& replay = record->progress();
    // The longest run of held-back steps that ends the replay.
    size_t overlap = std::min<size_t>(held_back_.size(), replay.size());
    for (; overlap > 0; --overlap) {
      if (std::equal(held_back_.begin(), held_back_.begin() + overlap,
                     replay.end() - overlap, SameStep)) {
        break;
      }
    }
    held_back_.erase(held_back_.begin(), held_back_.begin() + overlap);
    replayed_ = true;
    for (const v1::CommandProgress& step : replay) QueueLocked(step);
    for (const v1::CommandProgress& step : held_back_) QueueLocked(step);
    held_back_.clear();
    WriteNextLocked();
  }

  void OnStep(const v1::CommandProgress& step) {
    absl::MutexLock lock(&mu_);
    if (!replayed_) {
      held_back_.push_back(step);
      return;
    }
    QueueLocked(step);
    WriteNextLocked();
  }

  void Refuse(const absl::Status& status) {
    absl::MutexLock lock(&mu_);
    FinishLocked(ToGrpcStatus(status));
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    outgoing_.pop_front();
    writing_ = false;
    if (finish_started_) {
      // Finish was deferred: it must not overlap a write.
      Finish(final_status_);
      return;
    }
    if (!ok) {
      FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED,
                                "the watcher stopped reading"));
      return;
    }
    WriteNextLocked();
  }

  void OnCancel() override {
    absl::MutexLock lock(&mu_);
    FinishLocked(grpc::Status::CANCELLED);
  }

  void OnDone() override {
    remove_(handle_.get());
    handle_->Detach();
    delete this;
  }

 private:
  void QueueLocked(const v1::CommandProgress& step)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (final_queued_) return;
    outgoing_.push_back(step);
    final_queued_ = IsFinalCommandState(step.state());
  }

  void WriteNextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (writing_ || finish_started_) return;
    if (outgoing_.empty()) {
      if (final_queued_) FinishLocked(grpc::Status::OK);
      return;
    }
    writing_ = true;
    StartWrite(&outgoing_.front());
  }

  void FinishLocked(const grpc::Status& status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finish_started_) return;
    finish_started_ = true;
    if (writing_) {
      outgoing_.erase(outgoing_.begin() + 1, outgoing_.end());
      final_status_ = status;
      return;
    }
    outgoing_.clear();
    Finish(status);
  }

  const Remove remove_;
  const std::shared_ptr<CommandServiceImpl::Watch> handle_;

  absl::Mutex mu_;
  bool replayed_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<v1::CommandProgress> held_back_ ABSL_GUARDED_BY(mu_);
  std::deque<v1::CommandProgress> outgoing_ ABSL_GUARDED_BY(mu_);
  bool final_queued_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finish_started_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status final_status_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

void CommandServiceImpl::Watch::OnRecord(
    absl::StatusOr<v1::CommandRecord> record) {
  absl::MutexLock lock(&mu_);
  if (reactor_ != nullptr) reactor_->OnRecord(std::move(record));
}

void CommandServiceImpl::Watch::OnStep(const v1::CommandProgress& step) {
  absl::MutexLock lock(&mu_);
  if (reactor_ != nullptr) reactor_->OnStep(step);
}

CommandServiceImpl::CommandServiceImpl(IngestPipeline& ingest, Storage& storage,
                                       WorkQueue& workers,
                                       Authorizer& authorizer,
                                       const Clock& clock,
                                       AgentStreamRegistry& streams)
    : ingest_(ingest),
      storage_(storage),
      workers_(workers),
      authorizer_(authorizer),
      clock_(clock),
      streams_(streams) {}

CommandServiceImpl::~CommandServiceImpl() = default;

// 128 random bits in hex: unique across collector restarts without
// consulting storage.
std::string CommandServiceImpl::NewCommandId() {
  absl::MutexLock lock(&mu_);
  return absl::StrFormat("%08x%08x%08x%08x", random_(), random_(), random_(),
                         random_());
}

grpc::ServerUnaryReactor* CommandServiceImpl::StartCommand(
    grpc::CallbackServerContext* context,
    const v1::StartCommandRequest* request, v1::CommandRecord* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<Caller> caller =
      authorizer_.Authorize(*context, kStartCommandMethod);
  if (!caller.ok()) {
    reactor->Finish(ToGrpcStatus(caller.status()));
    return reactor;
  }
  if (absl::Status valid = ValidateStartCommand(*request); !valid.ok()) {
    reactor->Finish(ToGrpcStatus(valid));
    return reactor;
  }
  const std::string command_id = NewCommandId();
  const std::string& agent_id = request->agent_id();
  if (absl::Status reserved = streams_.Reserve(agent_id, command_id);
      !reserved.ok()) {
    reactor->Finish(ToGrpcStatus(reserved));
    return reactor;
  }

  IngestItem item;
  item.kind = IngestItem::Kind::kCommandRequested;
  item.agent_id = agent_id;
  v1::CommandRecord& record = item.command;
  record.set_command_id(command_id);
  record.set_agent_id(agent_id);
  *record.mutable_command() = request->command();
  record.mutable_command()->set_command_id(command_id);
  record.set_requested_by(caller->name);
  record.set_requested_unix_ms(absl::ToUnixMillis(clock_.Now()));
  // The record is sent only once stored, so a step can never arrive for a
  // command storage does not know.
  item.on_recorded = [this, reactor, response, record,
                      who = caller->description](absl::Status recorded) {
    if (!recorded.ok()) {
      streams_.Release(record.agent_id(), record.command_id());
      reactor->Finish(ToGrpcStatus(recorded));
      return;
    }
    if (absl::Status sent = streams_.Send(record.agent_id(), record.command());
        !sent.ok()) {
      reactor->Finish(ToGrpcStatus(sent));
      return;
    }
    spdlog::info("command '{}' ({}) sent to agent '{}' for {}",
                 record.command_id(), ActionName(record.command()),
                 record.agent_id(), who);
    *response = record;
    reactor->Finish(grpc::Status::OK);
  };
  if (!ingest_.Submit(std::move(item))) {
    streams_.Release(agent_id, command_id);
    reactor->Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                 "collector ingest queue is full; retry"));
  }
  return reactor;
}

grpc::ServerWriteReactor<v1::CommandProgress>* CommandServiceImpl::WatchCommand(
    grpc::CallbackServerContext* context,
    const v1::WatchCommandRequest* request) {
  const std::string command_id = request->command_id();
  auto* reactor = new WatchReactor([this, command_id](const Watch* watch) {
    RemoveWatch(command_id, watch);
  });
  if (absl::StatusOr<Caller> caller =
          authorizer_.Authorize(*context, kWatchCommandMethod);
      !caller.ok()) {
    reactor->Refuse(caller.status());
    return reactor;
  }
  if (absl::Status valid =
          CheckId("command_id", command_id, kMaxCommandIdBytes);
      !valid.ok()) {
    reactor->Refuse(valid);
    return reactor;
  }
  // Watching before reading: a step stored meanwhile is held back, never
  // missed.
  std::shared_ptr<Watch> watch = reactor->handle();
  AddWatch(command_id, watch);
  const bool queued = workers_.TrySubmit([this, watch, command_id] {
    absl::StatusOr<v1::CommandRecord> record = storage_.GetCommand(command_id);
    if (!record.ok() && !absl::IsNotFound(record.status())) {
      spdlog::error("reading command '{}' failed: {}", command_id,
                    record.status().ToString());
    }
    watch->OnRecord(std::move(record));
  });
  if (!queued) {
    reactor->Refuse(
        absl::ResourceExhaustedError("too many queries in progress; retry"));
  }
  return reactor;
}

grpc::ServerUnaryReactor* CommandServiceImpl::ListCommands(
    grpc::CallbackServerContext* context,
    const v1::ListCommandsRequest* request,
    v1::ListCommandsResponse* response) {
  return FinishOnWorkers(
      context, kListCommandsMethod, authorizer_, workers_, response,
      [this, request]() -> absl::StatusOr<v1::ListCommandsResponse> {
        EROOM_ASSIGN_OR_RETURN(const int limit,
                               EffectiveListLimit(request->limit()));
        v1::ListCommandsRequest bounded = *request;
        bounded.set_limit(limit);
        return storage_.ListCommands(bounded);
      });
}

void CommandServiceImpl::OnStored(const StoredBatch& stored) {
  for (const StoredCommandProgress& step : stored.command_progress) {
    std::vector<std::shared_ptr<Watch>> watching;
    {
      absl::MutexLock lock(&mu_);
      auto it = watches_.find(step.progress.command_id());
      if (it == watches_.end()) continue;
      watching = it->second;
    }
    for (const std::shared_ptr<Watch>& watch : watching) {
      watch->OnStep(step.progress);
    }
  }
}

void CommandServiceImpl::AddWatch(const std::string& command_id,
                                  std::shared_ptr<Watch> watch) {
  absl::MutexLock lock(&mu_);
  watches_[command_id].push_back(std::move(watch));
}

void CommandServiceImpl::RemoveWatch(const std::string& command_id,
                                     const Watch* watch) {
  absl::MutexLock lock(&mu_);
  auto it = watches_.find(command_id);
  if (it == watches_.end()) return;
  std::erase_if(it->second, [watch](const std::shared_ptr<Watch>& each) {
    return each.get() == watch;
  });
  if (it->second.empty()) watches_.erase(it);
}

}  // namespace eroom::collector
