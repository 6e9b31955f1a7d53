#include "agent/collector_link.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "eroom/monitor/v1/monitor.grpc.pb.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"

namespace eroom::agent {
namespace v1 = ::eroom::monitor::v1;
namespace {

// An attempt waits this long for the channel to connect before it is made
// (and fails, if the collector is still away).
constexpr absl::Duration kConnectWait = absl::Seconds(2);

// The uplink's messages are EncodedAgentMessage, which no generated stub
// writes: the stream is a generic one on AgentService.Connect, driven by
// gRPC's callback API. Each blocking call starts the operation and waits
// for its reaction; the hold keeps the call from finishing (OnDone) while
// the uplink's threads may still start operations, until Finish.
class GrpcCollectorCall final
    : public CollectorCall,
      public grpc::ClientBidiReactor<v1::EncodedAgentMessage,
                                     v1::CollectorMessage> {
 public:
  using Stub =
      grpc::TemplatedGenericStub<v1::EncodedAgentMessage, v1::CollectorMessage>;

  GrpcCollectorCall(Stub& stub, const ClientSecurity& security, bool gzip) {
    AddCallCredentials(security, &context_);
    if (gzip) context_.set_compression_algorithm(GRPC_COMPRESS_GZIP);
    stub.PrepareBidiStreamingCall(&context_, ConnectMethod(),
                                  grpc::StubOptions(), this);
    AddHold();
    StartCall();
  }

  ~GrpcCollectorCall() override {
    bool finished;
    {
      absl::MutexLock lock(&mu_);
      finished = finishing_;
    }
    if (!finished) {
      context_.TryCancel();
      Finish();
    }
  }

  bool Write(const v1::EncodedAgentMessage& message) override {
    StartWrite(&message);
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(&write_done_));
    write_done_ = false;
    return write_ok_;
  }

  bool Read(v1::CollectorMessage* message) override {
    StartRead(message);
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(&read_done_));
    read_done_ = false;
    return read_ok_;
  }

  void Cancel() override { context_.TryCancel(); }

  grpc::Status Finish() override {
    {
      absl::MutexLock lock(&mu_);
      finishing_ = true;
    }
    RemoveHold();
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(&done_));
    return status_;
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    write_ok_ = ok;
    write_done_ = true;
  }
  void OnReadDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    read_ok_ = ok;
    read_done_ = true;
  }
  void OnDone(const grpc::Status& status) override {
    absl::MutexLock lock(&mu_);
    status_ = status;
    done_ = true;
  }

 private:
  static const std::string& ConnectMethod() {
    static const std::string* method = new std::string(
        absl::StrCat("/", v1::AgentService::service_full_name(), "/Connect"));
    return *method;
  }

  grpc::ClientContext context_;
  absl::Mutex mu_;
  bool write_done_ ABSL_GUARDED_BY(mu_) = false;
  bool write_ok_ ABSL_GUARDED_BY(mu_) = false;
  bool read_done_ ABSL_GUARDED_BY(mu_) = false;
  bool read_ok_ ABSL_GUARDED_BY(mu_) = false;
  bool finishing_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status status_ ABSL_GUARDED_BY(mu_);
};

class GrpcCollectorLink final : public CollectorLink {
 public:
  GrpcCollectorLink(std::shared_ptr<grpc::Channel> channel,
                    ClientSecurity security, bool gzip)
      : channel_(std::move(channel)),
        stub_(channel_),
        gzip_(gzip),
        security_(std::move(security)) {}

  std::unique_ptr<CollectorCall> Connect(
      const absl::Notification& stop) override {
    // A channel whose last connection attempt failed fails new calls at
    // once until its own backoff has passed, and by then ours may have
    // grown: a collector that came back a moment later was missed for tens
    // of seconds. So the channel is asked to connect, and given a moment.
    const absl::Time ready_by = absl::Now() + kConnectWait;
    while (!stop.HasBeenNotified() && absl::Now() < ready_by &&
           !channel_->WaitForConnected(
               absl::ToChronoTime(absl::Now() + absl::Milliseconds(100)))) {
    }
    absl::MutexLock lock(&mu_);
    return std::make_unique<GrpcCollectorCall>(stub_, security_, gzip_);
  }

  void UseToken(const std::string& token) override {
    absl::MutexLock lock(&mu_);
    security_.token = token;
  }

 private:
  const std::shared_ptr<grpc::Channel> channel_;
  GrpcCollectorCall::Stub stub_;
  const bool gzip_;
  absl::Mutex mu_;
  ClientSecurity security_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

bool GzipsTo(LinkCompression compression, absl::string_view address) {
  switch (compression) {
    case LinkCompression::kAuto:
      return !IsLoopbackAddress(address);
    case LinkCompression::kGzip:
      return true;
    case LinkCompression::kNone:
      return false;
  }
  return true;
}

std::unique_ptr<CollectorLink> NewGrpcCollectorLink(
    const std::string& address, const ClientSecurity& security,
    LinkCompression compression, absl::Duration reconnect_initial,
    absl::Duration reconnect_max) {
  grpc::ChannelArguments args;
  // Keepalives notice a dead collector or a silently dropped connection.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  // The agent receives only small messages (acks, commands), so growing its
  // receive window is pointless, and the probe made the collector answer a
  // ping after nearly every ack: about 10 % of its CPU under 1,000 agents.
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  // The channel's own reconnect backoff follows ours, or a collector that
  // comes back would wait for gRPC's default (up to two minutes).
  const int initial_ms =
      static_cast<int>(absl::ToInt64Milliseconds(reconnect_initial));
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, initial_ms);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, initial_ms);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS,
              static_cast<int>(absl::ToInt64Milliseconds(reconnect_max)));
  return std::make_unique<GrpcCollectorLink>(
      CreateSecureChannel(address, security, std::move(args)), security,
      GzipsTo(compression, address));
}

}  // namespace eroom::agent
