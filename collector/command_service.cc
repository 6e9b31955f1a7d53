#include "collector/command_service.h"

#include <algorithm>
#include <functional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "collector/command_audit.h"
#include "collector/grpc_status.h"
#include "collector/serial_writes.h"
#include "collector/worker_call.h"
#include "common/command_limits.h"
#include "common/command_names.h"
#include "common/ids.h"
#include "common/status_macros.h"
#include "google/protobuf/util/message_differencer.h"
#include "spdlog/spdlog.h"

namespace eroom::collector {
namespace v1 = ::eroom::monitor::v1;
namespace {

absl::Status ValidateCommand(const v1::Command& command) {
  if (!command.command_id().empty()) {
    return absl::InvalidArgumentError(
        "command.command_id: assigned by the collector; leave it empty");
  }
  switch (command.action_case()) {
    case v1::Command::kSafeRestart: {
      const int64_t drain_ms = command.safe_restart().drain_timeout_ms();
      const int64_t min_ms = absl::ToInt64Milliseconds(kMinDrainTimeout);
      const int64_t max_ms = absl::ToInt64Milliseconds(kMaxDrainTimeout);
      if (drain_ms < min_ms || drain_ms > max_ms) {
        return absl::InvalidArgumentError(
            absl::StrCat("command.safe_restart.drain_timeout_ms: ", drain_ms,
                         " is not between ", min_ms, " and ", max_ms));
      }
      return absl::OkStatus();
    }
    case v1::Command::kLogHousekeeping:
    case v1::Command::kPing:
      return absl::OkStatus();
    case v1::Command::kCancel:
      return absl::InvalidArgumentError(
          "command.cancel: use CancelCommand, which runs beside the command "
          "it cancels");
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

absl::StatusOr<int> EffectiveListLimit(int requested, int default_limit,
                                       int max_limit) {
  if (requested < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("limit: ", requested, " is negative"));
  }
  if (requested == 0) return default_limit;
  return std::min(requested, max_limit);
}

// The agent id a request names, as the audit may show it.
std::string AuditedAgentId(const std::string& agent_id) {
  return CheckId("agent_id", agent_id, kMaxAgentIdBytes).ok() ? agent_id
                                                              : "(invalid)";
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
  void End(const absl::Status& status);

 private:
  absl::Mutex mu_;
  WatchReactor* reactor_ ABSL_GUARDED_BY(mu_);
};

namespace {

// Replays the stored steps, then writes each new one, one write in flight
// at a time, and finishes after the final step. Steps stored while the
// replay was being read are held back, and those the replay already holds
// are dropped, so each step is written once; so are steps stored before the
// replay was read but announced after it.
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
      writes_.Finish(ToGrpcStatus(record.status()));
      return;
    }
    const auto& replay = record->progress();
    // With nothing held back, any of the replay's last steps may still be
    // announced; a held-back step means every replayed one already was.
    if (held_back_.empty()) {
      replayed_unannounced_.assign(replay.begin(), replay.end());
    }
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
    FinishIfAllWrittenLocked();
  }

  void OnStep(const v1::CommandProgress& step) {
    absl::MutexLock lock(&mu_);
    if (!replayed_) {
      held_back_.push_back(step);
      return;
    }
    if (ReplayedAlreadyLocked(step)) return;
    QueueLocked(step);
    FinishIfAllWrittenLocked();
  }

  // Ends the watch with `status`, after the write in flight.
  void End(const absl::Status& status) {
    absl::MutexLock lock(&mu_);
    writes_.Finish(ToGrpcStatus(status));
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    if (!writes_.WriteDone(ok)) {
      writes_.Finish(grpc::Status(grpc::StatusCode::CANCELLED,
                                  "the watcher stopped reading"));
      return;
    }
    FinishIfAllWrittenLocked();
  }

  void OnCancel() override {
    absl::MutexLock lock(&mu_);
    writes_.Finish(grpc::Status::CANCELLED);
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
    final_queued_ = writes_.Queue(step) && IsFinalCommandState(step.state());
  }

  // Steps are announced in the order they were stored, so the replayed
  // ones still to be announced come first, in order, before any new step.
  bool ReplayedAlreadyLocked(const v1::CommandProgress& step)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto replayed =
        std::find_if(replayed_unannounced_.begin(), replayed_unannounced_.end(),
                     [&step](const v1::CommandProgress& each) {
                       return SameStep(each, step);
                     });
    if (replayed == replayed_unannounced_.end()) {
      replayed_unannounced_.clear();
      return false;
    }
    replayed_unannounced_.erase(replayed_unannounced_.begin(), replayed + 1);
    return true;
  }

  void FinishIfAllWrittenLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (final_queued_ && writes_.idle()) writes_.Finish(grpc::Status::OK);
  }

  const Remove remove_;
  const std::shared_ptr<CommandServiceImpl::Watch> handle_;

  absl::Mutex mu_;
  bool replayed_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<v1::CommandProgress> held_back_ ABSL_GUARDED_BY(mu_);
  std::vector<v1::CommandProgress> replayed_unannounced_ ABSL_GUARDED_BY(mu_);
  bool final_queued_ ABSL_GUARDED_BY(mu_) = false;
  SerialWrites<WatchReactor, v1::CommandProgress> writes_ ABSL_GUARDED_BY(mu_){
      this};
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

void CommandServiceImpl::Watch::End(const absl::Status& status) {
  absl::MutexLock lock(&mu_);
  if (reactor_ != nullptr) reactor_->End(status);
}

CommandServiceImpl::CommandServiceImpl(IngestPipeline& ingest, Storage& storage,
                                       WorkQueue& workers,
                                       Authorizer& authorizer,
                                       const Clock& clock,
                                       AgentStreamRegistry& streams,
                                       const BackupSource& backups)
    : ingest_(ingest),
      storage_(storage),
      workers_(workers),
      authorizer_(authorizer),
      clock_(clock),
      streams_(streams),
      backups_(backups) {}

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
    reactor->Finish(ToGrpcStatus(Refused(authorizer_.CallerName(*context),
                                         AuditedAgentId(request->agent_id()),
                                         request->command(), caller.status())));
    return reactor;
  }
  if (absl::Status valid = ValidateStartCommand(*request); !valid.ok()) {
    reactor->Finish(
        ToGrpcStatus(Refused(caller->name, AuditedAgentId(request->agent_id()),
                             request->command(), valid)));
    return reactor;
  }
  RecordAndSend(*caller, request->agent_id(), request->command(),
                /*unreserved=*/false,
                [reactor, response](absl::StatusOr<v1::CommandRecord> record) {
                  if (!record.ok()) {
                    reactor->Finish(ToGrpcStatus(record.status()));
                    return;
                  }
                  *response = *std::move(record);
                  reactor->Finish(grpc::Status::OK);
                });
  return reactor;
}

grpc::ServerUnaryReactor* CommandServiceImpl::CancelCommand(
    grpc::CallbackServerContext* context,
    const v1::CancelCommandRequest* request, v1::CommandRecord* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  v1::Command cancel;
  const bool valid_id =
      CheckId("command_id", request->command_id(), kMaxCommandIdBytes).ok();
  if (valid_id) {
    cancel.mutable_cancel()->set_target_command_id(request->command_id());
  }
  absl::StatusOr<Caller> caller =
      authorizer_.Authorize(*context, kCancelCommandMethod);
  if (!caller.ok()) {
    reactor->Finish(ToGrpcStatus(Refused(authorizer_.CallerName(*context), "",
                                         cancel, caller.status())));
    return reactor;
  }
  if (!valid_id) {
    reactor->Finish(ToGrpcStatus(Refused(
        caller->name, "", cancel,
        CheckId("command_id", request->command_id(), kMaxCommandIdBytes))));
    return reactor;
  }
  const bool queued = workers_.TrySubmit([this, reactor, response, cancel,
                                          caller = *std::move(caller)] {
    const std::string& target_id = cancel.cancel().target_command_id();
    absl::StatusOr<v1::CommandRecord> target = storage_.GetCommand(target_id);
    if (!target.ok()) {
      if (!absl::IsNotFound(target.status())) {
        spdlog::error("reading command '{}' failed: {}", target_id,
                      target.status().ToString());
      }
      reactor->Finish(
          ToGrpcStatus(Refused(caller.name, "", cancel, target.status())));
      return;
    }
    // A copy: the record moves into the answer below.
    const std::string agent_id = target->agent_id();
    absl::Status cancelable = absl::OkStatus();
    if (IsFinalCommandState(target->state())) {
      cancelable = absl::FailedPreconditionError(
          absl::StrCat("command '", target_id, "' already ended (",
                       v1::CommandState_Name(target->state()), ")"));
    } else if (!streams_.HasLive(agent_id)) {
      cancelable = absl::UnavailableError(absl::StrCat(
          "host '", agent_id, "' has no live agent stream (not connected)"));
    }
    if (!cancelable.ok()) {
      reactor->Finish(
          ToGrpcStatus(Refused(caller.name, agent_id, cancel, cancelable)));
      return;
    }
    RecordAndSend(caller, agent_id, cancel, /*unreserved=*/true,
                  [reactor, response, target = *std::move(target)](
                      absl::StatusOr<v1::CommandRecord> sent) {
                    if (!sent.ok()) {
                      reactor->Finish(ToGrpcStatus(sent.status()));
                      return;
                    }
                    *response = target;
                    reactor->Finish(grpc::Status::OK);
                  });
  });
  if (!queued) {
    reactor->Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                 "too many queries in progress; retry"));
  }
  return reactor;
}

void CommandServiceImpl::RecordAndSend(
    const Caller& caller, const std::string& agent_id,
    const v1::Command& command, bool unreserved,
    std::function<void(absl::StatusOr<v1::CommandRecord>)> done) {
  const std::string command_id = NewCommandId();
  if (!unreserved) {
    if (absl::Status reserved = streams_.Reserve(agent_id, command_id);
        !reserved.ok()) {
      done(Refused(caller.name, agent_id, command, reserved));
      return;
    }
  }
  IngestItem item;
  item.kind = IngestItem::Kind::kCommandRequested;
  item.agent_id = agent_id;
  v1::CommandRecord& record = item.command;
  record.set_command_id(command_id);
  record.set_agent_id(agent_id);
  *record.mutable_command() = command;
  record.mutable_command()->set_command_id(command_id);
  record.set_requested_by(caller.name);
  record.set_requested_unix_ms(absl::ToUnixMillis(clock_.Now()));
  // The record is sent only once stored, so a step can never arrive for a
  // command storage does not know.
  item.on_recorded = [this, record, unreserved, done,
                      who = caller.description](absl::Status recorded) {
    absl::Status sent = recorded;
    if (!recorded.ok()) {
      if (!unreserved) streams_.Release(record.agent_id(), record.command_id());
    } else {
      sent = unreserved
                 ? streams_.SendUnreserved(record.agent_id(), record.command())
                 : streams_.Send(record.agent_id(), record.command());
      // Recorded but never sent: ended, not left waiting for good.
      if (!sent.ok()) {
        EndCommand(record.agent_id(), record.command_id(),
                   absl::StrCat("not sent: ", sent.message()));
      }
    }
    // Timed by the request, so that the audit lists it before its steps.
    Audit(RequestAudit(
        absl::FromUnixMillis(record.requested_unix_ms()), record.requested_by(),
        record.agent_id(), record.command_id(), record.command(),
        sent.ok() ? "requested" : absl::StrCat("refused: ", sent.message())));
    if (!sent.ok()) {
      done(sent);
      return;
    }
    spdlog::info("command '{}' ({}) sent to agent '{}' for {}",
                 record.command_id(), CommandActionName(record.command()),
                 record.agent_id(), who);
    done(record);
  };
  if (!ingest_.Submit(std::move(item))) {
    if (!unreserved) streams_.Release(agent_id, command_id);
    done(Refused(
        caller.name, agent_id, command,
        absl::ResourceExhaustedError("collector ingest queue is full; retry")));
  }
}

void CommandServiceImpl::Audit(v1::AuditRecord record) {
  IngestItem item;
  item.kind = IngestItem::Kind::kAudit;
  item.agent_id = record.agent_id();
  item.audit = std::move(record);
  const std::string described = item.audit.ShortDebugString();
  if (!ingest_.Submit(std::move(item))) {
    spdlog::error("audit record lost, the ingest queue is full: {}", described);
  }
}

absl::Status CommandServiceImpl::Refused(const std::string& actor,
                                         const std::string& agent_id,
                                         const v1::Command& command,
                                         absl::Status why) {
  Audit(RequestAudit(clock_.Now(), actor, agent_id, /*command_id=*/"", command,
                     absl::StrCat("refused: ", why.message())));
  return why;
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
    reactor->End(caller.status());
    return reactor;
  }
  if (absl::Status valid =
          CheckId("command_id", command_id, kMaxCommandIdBytes);
      !valid.ok()) {
    reactor->End(valid);
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
    reactor->End(
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
        EROOM_ASSIGN_OR_RETURN(
            const int limit,
            EffectiveListLimit(request->limit(), kDefaultCommandListLimit,
                               kMaxCommandListLimit));
        v1::ListCommandsRequest bounded = *request;
        bounded.set_limit(limit);
        return storage_.ListCommands(bounded);
      });
}

grpc::ServerUnaryReactor* CommandServiceImpl::ListAudit(
    grpc::CallbackServerContext* context, const v1::ListAuditRequest* request,
    v1::ListAuditResponse* response) {
  return FinishOnWorkers(
      context, kListAuditMethod, authorizer_, workers_, response,
      [this, request]() -> absl::StatusOr<v1::ListAuditResponse> {
        EROOM_ASSIGN_OR_RETURN(
            const int limit,
            EffectiveListLimit(request->limit(), kDefaultAuditListLimit,
                               kMaxAuditListLimit));
        v1::ListAuditRequest bounded = *request;
        bounded.set_limit(limit);
        return storage_.ListAudit(bounded);
      });
}

grpc::ServerWriteReactor<v1::BackupChunk>* CommandServiceImpl::Backup(
    grpc::CallbackServerContext* context,
    const v1::BackupRequest* /*request*/) {
  absl::StatusOr<Caller> caller =
      authorizer_.Authorize(*context, kBackupMethod);
  if (caller.ok()) spdlog::info("backup requested by {}", caller->description);
  return StartBackupStream(backups_, caller.status());
}

absl::Status CommandServiceImpl::EndCommandsLeftByARestart() {
  EROOM_ASSIGN_OR_RETURN(std::vector<v1::CommandRecord> unfinished,
                         storage_.UnfinishedCommands());
  for (const v1::CommandRecord& command : unfinished) {
    EndCommand(command.agent_id(), command.command_id(),
               "the collector restarted while it ran");
  }
  if (!unfinished.empty()) {
    spdlog::warn(
        "{} command(s) were still running when the collector stopped: ended "
        "FAILED",
        unfinished.size());
  }
  return absl::OkStatus();
}

void CommandServiceImpl::OnStored(const StoredBatch& stored) {
  for (const StoredCommandProgress& step : stored.command_progress) {
    for (const std::shared_ptr<Watch>& watch :
         Watching(step.progress.command_id())) {
      watch->OnStep(step.progress);
    }
  }
}

void CommandServiceImpl::OnStreamEnded(const std::string& agent_id,
                                       const std::string& command_id) {
  const std::string ended = absl::StrCat(
      "the stream of agent '", agent_id,
      "' ended while the command was running; its outcome is unknown");
  // The watchers learn it now, whatever becomes of the record below.
  for (const std::shared_ptr<Watch>& watch : Watching(command_id)) {
    watch->End(absl::UnavailableError(ended));
  }
  // A final step, so that storage does not show the command running
  // forever.
  EndCommand(agent_id, command_id, ended);
}

void CommandServiceImpl::EndCommand(const std::string& agent_id,
                                    const std::string& command_id,
                                    const std::string& why) {
  IngestItem item;
  item.kind = IngestItem::Kind::kCommandProgress;
  item.agent_id = agent_id;
  item.actor = kCollectorActor;
  item.progress.set_command_id(command_id);
  item.progress.set_state(v1::FAILED);
  item.progress.set_message(why);
  item.progress.set_time_unix_ms(absl::ToUnixMillis(clock_.Now()));
  if (!ingest_.Submit(std::move(item))) {
    spdlog::warn(
        "command '{}' of agent '{}' stays running in storage ({}): the "
        "ingest queue is full",
        command_id, agent_id, why);
  }
}

std::vector<std::shared_ptr<CommandServiceImpl::Watch>>
CommandServiceImpl::Watching(const std::string& command_id) {
  absl::MutexLock lock(&mu_);
  auto it = watches_.find(command_id);
  if (it == watches_.end()) return {};
  return it->second;
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
