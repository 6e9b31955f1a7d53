#include "collector/agent_service.h"

#include <algorithm>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "collector/grpc_status.h"
#include "collector/message_validation.h"
#include "collector/serial_writes.h"
#include "common/log_sources.h"
#include "common/status_macros.h"
#include "google/protobuf/arena.h"
#include "grpcpp/alarm.h"
#include "grpcpp/support/byte_buffer.h"
#include "spdlog/spdlog.h"

namespace eroom::collector {
namespace v1 = ::eroom::monitor::v1;
namespace {

using RawReactor = grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>;

class AgentStream;

// Lets the ingest thread answer, and the registry send commands to, a
// stream that may already be gone: the reactor detaches itself when gRPC is
// done with it.
class Link final : public StreamLink, public AgentStreamRegistry::Stream {
 public:
  Link(AgentStream* stream, Authorizer& authorizer)
      : stream_(stream), authorizer_(authorizer) {}
  void Detach() {
    absl::MutexLock lock(&mu_);
    stream_ = nullptr;
  }
  // The hello of this stream enrolls `agent_id`: OnRegistered commits the
  // enrollment and sends `issued_token` in the HelloAck. Called before the
  // hello is queued for ingest, which orders it before OnRegistered.
  void Enrolling(std::string agent_id, std::string issued_token) {
    enrolling_agent_id_ = std::move(agent_id);
    issued_token_ = std::move(issued_token);
  }
  void OnRegistered(v1::HelloAck ack) override;
  void OnStored(uint64_t stored_through_sequence, size_t batches,
                absl::Duration batch_interval) override;
  void OnIngestFailed(const absl::Status& status) override;
  bool SendCommand(const v1::Command& command) override;
  void Close(const grpc::Status& status) override;
  void OnQueued();
  // Ends the stream DEADLINE_EXCEEDED unless its hello came.
  void CloseWithoutHello(absl::Duration waited);

 private:
  // Answers `items` of the stream's queued items.
  void Answer(v1::CollectorMessage message, size_t items = 1);

  absl::Mutex mu_;
  AgentStream* stream_ ABSL_GUARDED_BY(mu_);
  Authorizer& authorizer_;
  std::string enrolling_agent_id_;
  std::string issued_token_;
};

// A stream whose token was refused: finished before reading anything.
class RefusedStream final : public RawReactor {
 public:
  explicit RefusedStream(const absl::Status& status) {
    Finish(ToGrpcStatus(status));
  }
  void OnDone() override { delete this; }
};

class AgentStream final : public RawReactor {
 public:
  AgentStream(IngestPipeline& ingest, size_t window_batches, std::string peer,
              Authorizer& authorizer, Caller caller,
              AgentStreamRegistry& streams, absl::Duration hello_timeout)
      : ingest_(ingest),
        window_batches_(window_batches),
        peer_(std::move(peer)),
        authorizer_(authorizer),
        caller_(std::move(caller)),
        link_(std::make_shared<Link>(this, authorizer)),
        streams_(streams) {
    // The alarm holds only the link: it may fire after the stream is gone.
    hello_alarm_.Set(absl::ToChronoTime(absl::Now() + hello_timeout),
                     [link = link_, hello_timeout](bool fired) {
                       if (fired) link->CloseWithoutHello(hello_timeout);
                     });
    StartRead(&incoming_bytes_);
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
    read_paused_ = true;
    ResumeReadingLocked();
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

  // A cancelled stream cannot be answered: it ends now rather than when
  // ingest answers what it queued, which a stalled ingest may never do.
  void OnCancel() override {
    absl::MutexLock lock(&mu_);
    FinishLocked(grpc::Status::CANCELLED);
  }

  void OnDone() override {
    link_->Detach();
    if (enrolling_) authorizer_.AbandonEnrollment(agent_id_);
    // A stream replaced by a newer one of the same agent leaves the host
    // connected.
    if (!agent_id_.empty() && streams_.Unregister(agent_id_, link_.get())) {
      IngestItem item;
      item.kind = IngestItem::Kind::kDisconnect;
      item.agent_id = agent_id_;
      // Stored only if no newer stream of the agent registered meanwhile.
      item.current = [&streams = streams_, agent_id = agent_id_] {
        return !streams.HasLive(agent_id);
      };
      ingest_.Submit(std::move(item));
      spdlog::info("agent '{}' ({}) disconnected", agent_id_, peer_);
    }
    delete this;
  }

  // Answers from the ingest thread (through Link).
  void Answer(const v1::CollectorMessage& message, size_t items) {
    absl::MutexLock lock(&mu_);
    in_flight_ -= items;
    if (!writes_.Queue(Serialized(message))) return;
    ResumeReadingLocked();
    FinishWhenDrained();
  }

  // The ingest queue took the item this stream waited with.
  void OnQueued() {
    absl::MutexLock lock(&mu_);
    waiting_for_room_ = false;
    ResumeReadingLocked();
  }

  // Commands share the write path with answers, behind them.
  bool SendCommand(const v1::Command& command) {
    v1::CollectorMessage message;
    *message.mutable_command() = command;
    absl::MutexLock lock(&mu_);
    return writes_.Queue(Serialized(message));
  }

  void Close(const grpc::Status& status) {
    absl::MutexLock lock(&mu_);
    FinishLocked(status);
  }

  void CloseWithoutHello(absl::Duration waited) {
    absl::MutexLock lock(&mu_);
    if (said_hello_) return;
    FinishLocked(grpc::Status(
        grpc::StatusCode::DEADLINE_EXCEEDED,
        absl::StrCat("no hello within ", absl::FormatDuration(waited))));
  }

  void Fail(const absl::Status& status) {
    absl::MutexLock lock(&mu_);
    --in_flight_;
    FinishLocked(grpc::Status(
        grpc::StatusCode::UNAVAILABLE,
        absl::StrCat("collector storage failed: ", status.message())));
  }

 private:
  static grpc::ByteBuffer Serialized(const v1::CollectorMessage& message) {
    grpc::ByteBuffer bytes;
    bool own_buffer = false;
    // Fails only for a message over 2 GiB, which no answer comes near.
    grpc::SerializationTraits<v1::CollectorMessage>::Serialize(message, &bytes,
                                                               &own_buffer)
        .IgnoreError();
    return bytes;
  }

  // Parses and validates the message just read and hands it to the ingest
  // thread.
  absl::Status Accept() {
    // Each message is parsed into an arena of its own, sized after it: a
    // batch goes to storage with it (ReceivedEvents).
    constexpr size_t kMinArenaBlock = 1 << 10;
    constexpr size_t kMaxArenaBlock = 1 << 20;
    google::protobuf::ArenaOptions arena_options;
    // Parsed, a message takes about twice its bytes.
    arena_options.start_block_size = std::clamp<size_t>(
        2 * incoming_bytes_.Length(), kMinArenaBlock, kMaxArenaBlock);
    arena_options.max_block_size = kMaxArenaBlock;
    auto arena = std::make_unique<google::protobuf::Arena>(arena_options);
    v1::AgentMessage& incoming =
        *google::protobuf::Arena::CreateMessage<v1::AgentMessage>(arena.get());
    if (!grpc::SerializationTraits<v1::AgentMessage>::Deserialize(
             &incoming_bytes_, &incoming)
             .ok()) {
      return absl::InvalidArgumentError(
          "unparseable message: not an eroom.monitor.v1.AgentMessage");
    }
    if (incoming.has_batch()) {
      EROOM_RETURN_IF_ERROR(ResolveLogSources(*incoming.mutable_batch()));
    }
    EROOM_RETURN_IF_ERROR(ValidateAgentMessage(incoming));
    IngestItem item;
    item.link = link_;
    if (agent_id_.empty()) {
      if (!incoming.has_hello()) {
        return absl::InvalidArgumentError("the first message must be a hello");
      }
      EROOM_RETURN_IF_ERROR(Admit(incoming.hello().agent_id()));
      spdlog::info("agent '{}' connected from {} (version {}{})", agent_id_,
                   peer_, incoming.hello().version(),
                   enrolling_ ? ", enrolling" : "");
      item.kind = IngestItem::Kind::kHello;
      item.hello = incoming.hello();
      // Registered only if no newer stream of the agent replaced this one
      // meanwhile.
      item.current = [&streams = streams_, agent_id = agent_id_,
                      link = link_.get()] {
        return streams.IsLive(agent_id, link);
      };
    } else if (incoming.has_batch()) {
      EROOM_RETURN_IF_ERROR(sequences_.Continue(incoming.batch()));
      item.kind = IngestItem::Kind::kBatch;
      item.batch = ReceivedEvents(std::move(arena), incoming.mutable_batch());
    } else if (incoming.has_hello()) {
      return absl::InvalidArgumentError("hello sent twice on one stream");
    } else {
      return AcceptProgress(incoming.command_progress());
    }
    item.agent_id = agent_id_;
    return Queue(std::move(item), /*answered=*/true);
  }

  // Hands `item` to the ingest thread; if it must wait for room, this
  // stream reads nothing more until it is queued (OnQueued). An answered
  // item takes a place in the window until its answer.
  absl::Status Queue(IngestItem item, bool answered) {
    {
      absl::MutexLock lock(&mu_);
      if (answered) ++in_flight_;
      // Set before the item can be queued, which may call OnQueued at once.
      waiting_for_room_ = true;
    }
    const IngestPipeline::Admission admission = ingest_.SubmitOrWait(
        std::move(item), [link = link_] { link->OnQueued(); });
    if (admission == IngestPipeline::Admission::kWaiting) {
      return absl::OkStatus();
    }
    absl::MutexLock lock(&mu_);
    waiting_for_room_ = false;
    if (admission == IngestPipeline::Admission::kQueued) {
      return absl::OkStatus();
    }
    if (answered) --in_flight_;
    return absl::UnavailableError("the collector is stopping");
  }

  // Admits the hello of `agent_id` and makes this its live stream.
  absl::Status Admit(const std::string& agent_id) {
    EROOM_ASSIGN_OR_RETURN(AgentAdmission admission,
                           authorizer_.AdmitAgent(caller_, agent_id, peer_));
    const bool enrolling = !admission.issued_token.empty();
    absl::StatusOr<std::shared_ptr<AgentStreamRegistry::Stream>> older =
        streams_.Register(agent_id, admission.credential, link_);
    if (!older.ok()) {
      if (enrolling) authorizer_.AbandonEnrollment(agent_id);
      return older.status();
    }
    if (*older != nullptr) {
      (*older)->Close(
          grpc::Status(grpc::StatusCode::ABORTED,
                       "replaced by a newer connection of the same agent id"));
    }
    agent_id_ = agent_id;
    enrolling_ = enrolling;
    if (enrolling) {
      link_->Enrolling(agent_id, std::move(admission.issued_token));
    }
    hello_alarm_.Cancel();
    absl::MutexLock lock(&mu_);
    said_hello_ = true;
    return absl::OkStatus();
  }

  // Progress is stored in arrival order with everything else; nothing
  // answers it, so it takes no place in the flow-control window.
  absl::Status AcceptProgress(const v1::CommandProgress& progress) {
    streams_.OnProgress(agent_id_, link_.get(), progress);
    IngestItem item;
    item.kind = IngestItem::Kind::kCommandProgress;
    item.agent_id = agent_id_;
    item.progress = progress;
    return Queue(std::move(item), /*answered=*/false);
  }

  // Reads the next message unless the window is full, an item waits for
  // room in the ingest queue, or the stream is ending.
  void ResumeReadingLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!read_paused_ || in_flight_ >= window_batches_ || waiting_for_room_ ||
        reads_done_ || writes_.finishing()) {
      return;
    }
    read_paused_ = false;
    StartRead(&incoming_bytes_);
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
  grpc::Alarm hello_alarm_;
  // Owned by the read in progress; reads are sequential.
  grpc::ByteBuffer incoming_bytes_;
  // Set by the hello.
  std::string agent_id_;
  bool enrolling_ = false;
  StreamSequences sequences_;

  absl::Mutex mu_;
  SerialWrites<AgentStream, grpc::ByteBuffer> writes_ ABSL_GUARDED_BY(mu_){
      this};
  size_t in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  // No read is in progress (a paused stream resumes in
  // ResumeReadingLocked).
  bool read_paused_ ABSL_GUARDED_BY(mu_) = false;
  bool waiting_for_room_ ABSL_GUARDED_BY(mu_) = false;
  bool reads_done_ ABSL_GUARDED_BY(mu_) = false;
  bool said_hello_ ABSL_GUARDED_BY(mu_) = false;
};

void Link::Answer(v1::CollectorMessage message, size_t items) {
  absl::MutexLock lock(&mu_);
  if (stream_ != nullptr) stream_->Answer(message, items);
}

void Link::OnRegistered(v1::HelloAck ack) {
  v1::CollectorMessage message;
  *message.mutable_hello_ack() = std::move(ack);
  if (!issued_token_.empty()) {
    {
      // A stream gone already abandons its enrollment (OnDone).
      absl::MutexLock lock(&mu_);
      if (stream_ == nullptr) return;
    }
    // The token is sent only once the collector will remember it.
    if (absl::Status committed =
            authorizer_.CommitEnrollment(enrolling_agent_id_);
        !committed.ok()) {
      OnIngestFailed(committed);
      return;
    }
    spdlog::info(
        "agent '{}' enrolled: only the token issued to it now may "
        "stream as it",
        enrolling_agent_id_);
    message.mutable_hello_ack()->set_agent_token(issued_token_);
  }
  Answer(std::move(message));
}

void Link::OnStored(uint64_t stored_through_sequence, size_t batches,
                    absl::Duration batch_interval) {
  v1::CollectorMessage message;
  message.mutable_ack()->set_stored_through_sequence(stored_through_sequence);
  message.mutable_ack()->set_batch_interval_ms(
      static_cast<uint32_t>(absl::ToInt64Milliseconds(batch_interval)));
  Answer(std::move(message), batches);
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

void Link::OnQueued() {
  absl::MutexLock lock(&mu_);
  if (stream_ != nullptr) stream_->OnQueued();
}

void Link::CloseWithoutHello(absl::Duration waited) {
  absl::MutexLock lock(&mu_);
  if (stream_ != nullptr) stream_->CloseWithoutHello(waited);
}

}  // namespace

AgentServiceImpl::AgentServiceImpl(IngestPipeline& ingest,
                                   size_t window_batches,
                                   Authorizer& authorizer,
                                   AgentStreamRegistry& streams,
                                   absl::Duration hello_timeout)
    : ingest_(ingest),
      window_batches_(window_batches),
      authorizer_(authorizer),
      streams_(streams),
      hello_timeout_(hello_timeout) {}

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>*
AgentServiceImpl::Connect(grpc::CallbackServerContext* context) {
  absl::StatusOr<Caller> caller =
      authorizer_.Authorize(*context, kAgentConnectMethod);
  if (!caller.ok()) return new RefusedStream(caller.status());
  return new AgentStream(ingest_, window_batches_, context->peer(), authorizer_,
                         *std::move(caller), streams_, hello_timeout_);
}

}  // namespace eroom::collector
