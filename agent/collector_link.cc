#include "agent/collector_link.h"

#include <utility>

#include "absl/synchronization/mutex.h"
#include "eroom/monitor/v1/monitor.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace eroom::agent {
namespace v1 = ::eroom::monitor::v1;
namespace {

// An attempt waits this long for the channel to connect before it is made
// (and fails, if the collector is still away).
constexpr absl::Duration kConnectWait = absl::Seconds(2);

class GrpcCollectorCall final : public CollectorCall {
 public:
  GrpcCollectorCall(v1::AgentService::Stub& stub,
                    const ClientSecurity& security, bool gzip) {
    AddCallCredentials(security, &context_);
    if (gzip) context_.set_compression_algorithm(GRPC_COMPRESS_GZIP);
    stream_ = stub.Connect(&context_);
  }

  bool Write(const v1::AgentMessage& message) override {
    return stream_->Write(message);
  }
  bool Read(v1::CollectorMessage* message) override {
    return stream_->Read(message);
  }
  void Cancel() override { context_.TryCancel(); }
  grpc::Status Finish() override { return stream_->Finish(); }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<
      grpc::ClientReaderWriter<v1::AgentMessage, v1::CollectorMessage>>
      stream_;
};

class GrpcCollectorLink final : public CollectorLink {
 public:
  GrpcCollectorLink(std::shared_ptr<grpc::Channel> channel,
                    ClientSecurity security, bool gzip)
      : channel_(std::move(channel)),
        stub_(v1::AgentService::NewStub(channel_)),
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
    return std::make_unique<GrpcCollectorCall>(*stub_, security_, gzip_);
  }

  void UseToken(const std::string& token) override {
    absl::MutexLock lock(&mu_);
    security_.token = token;
  }

 private:
  const std::shared_ptr<grpc::Channel> channel_;
  const std::unique_ptr<v1::AgentService::Stub> stub_;
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
