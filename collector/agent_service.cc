#include "collector/agent_service.h"

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "collector/grpc_status.h"
#include "collector/message_validation.h"
#include "collector/serial_writes.h"
#include "spdlog/spdlog.h"

namespace eroom::collector {
namespace v1 = ::eroom::monitor::v1;
namespace {

class AgentStream;

// Lets the ingest thread answer, and the registry send commands to, a
// stream that may already be gone: the reactor detaches itself when gRPC is
// done with it.
class Link final : public StreamLink, public AgentStreamRegistry::Stream {
 public:
  explicit Link(AgentStream* stream) : stream_(stream) {}
  void Detach() {
    absl::MutexLock lock(&mu_);
    stream_ = nullptr;
  }
  void OnRegistered(v1::HelloAck ack) override;
  void OnStored(uint64_t stored_through_sequence) override;
  void OnIngestFailed(const absl::Status& status) override;
  bool SendCommand(const v1::Command& command) override;
  void Close(const grpc::Status& status) override;

 private:
  absl::Mutex mu_;
  AgentStream* stream_ ABSL_GUARDED_BY(mu_);
};

// A stream whose token was refused: finished before reading anything.
class RefusedStream final
    : public grpc::ServerBidiReactor<v1::AgentMessage, v1::CollectorMessage> {
 public:
  explicit RefusedStream(const absl::Status& status) {
    Finish(ToGrpcStatus(status));
  }
  void OnDone() override { delete this; }
};

class AgentStream final
    : public grpc::ServerBidiReactor<v1::AgentMessage, v1::CollectorMessage> {
 public:
  AgentStream(IngestPipeline& ingest, size_t window_batches, std::string peer,
              Authorizer& authorizer, Caller caller,
              AgentStreamRegistry& streams)
      : ingest_(ingest),
        window_batches_(window_batches),
        peer_(std::move(peer)),
        authorizer_(authorizer),
        caller_(std::move(caller)),
        link_(std::make_shared<Link>(this)),
        streams_(streams) {
    StartRead(&incoming_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      // The agent closed its side (or went away): finish once answered.
      absl::MutexLock lock(&mu_);
      reads_done_ = true;
      FinishWhenDrained();
      return;
    }
    absl::Status accepted = Accept();
    absl::MutexLock lock(&mu_);
    if (!accepted.ok()) {
      FinishLocked(ToGrpcStatus(accepted));
      return;
    }
    if (writes_.finishing()) return;
    if (in_flight_ < window_batches_) {
      StartRead(&incoming_);
    } else {
      read_paused_ = true;
    }
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    if (!writes_.WriteDone(ok)) {
      FinishLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                "the agent stopped reading"));
      return;
    }
    FinishWhenDrained();
  }

  void OnDone() override {
    link_->Detach();
    // A stream replaced by a newer one of the same agent leaves the host
    // connected.
    if (!agent_id_.empty() && streams_.Unregister(agent_id_, link_.get())) {
      IngestItem item;
      item.kind = IngestItem::Kind::kDisconnect;
      item.agent_id = agent_id_;
      if (!ingest_.Submit(std::move(item))) {
        spdlog::warn(
            "agent '{}' ({}) disconnected but the ingest queue is "
            "full: it stays marked connected until it reconnects",
            agent_id_, peer_);
      }
      spdlog::info("agent '{}' ({}) disconnected", agent_id_, peer_);
    }
    delete this;
  }

  // Answers from the ingest thread (through Link).
  void Answer(v1::CollectorMessage message) {
    absl::MutexLock lock(&mu_);
    --in_flight_;
    if (!writes_.Queue(std::move(message))) return;
    if (read_paused_ && in_flight_ < window_batches_ && !reads_done_) {
      read_paused_ = false;
      StartRead(&incoming_);
    }
    FinishWhenDrained();
  }

  // Commands share the write path with answers, behind them.
  bool SendCommand(const v1::Command& command) {
    v1::CollectorMessage message;
    *message.mutable_command() = command;
    absl::MutexLock lock(&mu_);
    return writes_.Queue(std::move(message));
  }

  void Close(const grpc::Status& status) {
    absl::MutexLock lock(&mu_);
    FinishLocked(status);
  }

  void Fail(const absl::Status& status) {
    absl::MutexLock lock(&mu_);
    --in_flight_;
    FinishLocked(grpc::Status(
        grpc::StatusCode::UNAVAILABLE,
        absl::StrCat("collector storage failed: ", status.message())));
  }

 private:
  // Validates the message just read and hands it to the ingest thread.
  absl::Status Accept() {
    if (absl::Status valid = ValidateAgentMessage(incoming_); !valid.ok()) {
      return valid;
    }
    IngestItem item;
    item.link = link_;
    if (agent_id_.empty()) {
      if (!incoming_.has_hello()) {
        return absl::InvalidArgumentError("the first message must be a hello");
      }
      if (absl::Status allowed = authorizer_.CheckAgentId(
              caller_, incoming_.hello().agent_id(), peer_);
          !allowed.ok()) {
        return allowed;
      }
      agent_id_ = incoming_.hello().agent_id();
      spdlog::info("agent '{}' connected from {} (version {})", agent_id_,
                   peer_, incoming_.hello().version());
      if (std::shared_ptr<AgentStreamRegistry::Stream> older =
              streams_.Register(agent_id_, link_)) {
        older->Close(grpc::Status(
            grpc::StatusCode::ABORTED,
            "replaced by a newer connection of the same agent id"));
      }
      item.kind = IngestItem::Kind::kHello;
      item.hello = std::move(*incoming_.mutable_hello());
    } else if (incoming_.has_batch()) {
      item.kind = IngestItem::Kind::kBatch;
      item.batch = std::move(*incoming_.mutable_batch());
    } else if (incoming_.has_hello()) {
      return absl::InvalidArgumentError("hello sent twice on one stream");
    } else {
      return AcceptProgress();
    }
    item.agent_id = agent_id_;
    {
      absl::MutexLock lock(&mu_);
      ++in_flight_;
    }
    if (!ingest_.Submit(std::move(item))) {
      absl::MutexLock lock(&mu_);
      --in_flight_;
      return absl::ResourceExhaustedError(
          "collector ingest queue is full; retry later");
    }
    return absl::OkStatus();
  }

  // Progress is stored in arrival order with everything else; nothing
  // answers it, so it takes no place in the flow-control window.
  absl::Status AcceptProgress() {
    streams_.OnProgress(agent_id_, link_.get(), incoming_.command_progress());
    IngestItem item;
    item.kind = IngestItem::Kind::kCommandProgress;
    item.agent_id = agent_id_;
    item.progress = std::move(*incoming_.mutable_command_progress());
    if (!ingest_.Submit(std::move(item))) {
      return absl::ResourceExhaustedError(
          "collector ingest queue is full; retry later");
    }
    return absl::OkStatus();
  }

  void FinishWhenDrained() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (reads_done_ && in_flight_ == 0 && writes_.idle()) {
      FinishLocked(grpc::Status::OK);
    }
  }

  void FinishLocked(const grpc::Status& status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (writes_.finishing()) return;
    // The authorizer logged its refusals already, rate-limited.
    if (!status.ok() &&
        status.error_code() != grpc::StatusCode::PERMISSION_DENIED) {
      spdlog::warn("closing stream of {} ({}): {}",
                   agent_id_.empty() ? std::string("an unidentified agent")
                                     : absl::StrCat("agent '", agent_id_, "'"),
                   peer_, status.error_message());
    }
    // Queued answers are dropped: the agent resends what it has not seen
    // acked.
    writes_.Finish(status);
  }

  IngestPipeline& ingest_;
  const size_t window_batches_;
  const std::string peer_;
  Authorizer& authorizer_;
  const Caller caller_;
  const std::shared_ptr<Link> link_;
  AgentStreamRegistry& streams_;
  v1::AgentMessage incoming_;  // Owned by the read in progress.
  std::string agent_id_;       // Set by the hello; reads are sequential.

  absl::Mutex mu_;
  SerialWrites<AgentStream, v1::CollectorMessage> writes_ ABSL_GUARDED_BY(mu_){
      this};
  size_t in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  bool read_paused_ ABSL_GUARDED_BY(mu_) = false;
  bool reads_done_ ABSL_GUARDED_BY(mu_) = false;
};

void Link::OnRegistered(v1::HelloAck ack) {
  v1::CollectorMessage message;
  *message.mutable_hello_ack() = std::move(ack);
  absl::MutexLock lock(&mu_);
  if (stream_ != nullptr) stream_->Answer(std::move(message));
}

void Link::OnStored(uint64_t stored_through_sequence) {
  v1::CollectorMessage message;
  message.mutable_ack()->set_stored_through_sequence(stored_through_sequence);
  absl::MutexLock lock(&mu_);
  if (stream_ != nullptr) stream_->Answer(std::move(message));
}

void Link::OnIngestFailed(const absl::Status& status) {
  absl::MutexLock lock(&mu_);
  if (stream_ != nullptr) stream_->Fail(status);
}

bool Link::SendCommand(const v1::Command& command) {
  absl::MutexLock lock(&mu_);
  return stream_ != nullptr && stream_->SendCommand(command);
}

void Link::Close(const grpc::Status& status) {
  absl::MutexLock lock(&mu_);
  if (stream_ != nullptr) stream_->Close(status);
}

}  // namespace

AgentServiceImpl::AgentServiceImpl(IngestPipeline& ingest,
                                   size_t window_batches,
                                   Authorizer& authorizer,
                                   AgentStreamRegistry& streams)
    : ingest_(ingest),
      window_batches_(window_batches),
      authorizer_(authorizer),
      streams_(streams) {}

grpc::ServerBidiReactor<v1::AgentMessage, v1::CollectorMessage>*
AgentServiceImpl::Connect(grpc::CallbackServerContext* context) {
  absl::StatusOr<Caller> caller =
      authorizer_.Authorize(*context, kAgentConnectMethod);
  if (!caller.ok()) return new RefusedStream(caller.status());
  return new AgentStream(ingest_, window_batches_, context->peer(), authorizer_,
                         *std::move(caller), streams_);
}

}  // namespace eroom::collector
