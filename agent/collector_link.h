#ifndef EROOM_AGENT_COLLECTOR_LINK_H_
#define EROOM_AGENT_COLLECTOR_LINK_H_

#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/transport_security.h"
#include "eroom/monitor/v1/agent_uplink.pb.h"
#include "eroom/monitor/v1/monitor.pb.h"
#include "grpcpp/support/status.h"

namespace eroom::agent {

// One AgentService.Connect stream, as the uplink uses it: its writer thread
// writes, its reader thread reads, any thread may cancel.
class CollectorCall {
 public:
  virtual ~CollectorCall() = default;

  // False once the stream is broken or cancelled.
  virtual bool Write(
      const eroom::monitor::v1::EncodedAgentMessage& message) = 0;
  // Blocks for the next message; false once the stream ended.
  virtual bool Read(eroom::monitor::v1::CollectorMessage* message) = 0;
  // Ends the stream: a blocked Read or Write returns false.
  virtual void Cancel() = 0;
  // How the stream ended; only after Read returned false.
  virtual grpc::Status Finish() = 0;
};

// Where the uplink's streams come from: the collector over gRPC, or a fake
// collector in tests.
class CollectorLink {
 public:
  virtual ~CollectorLink() = default;

  // Opens a stream to the collector (possibly one that fails at once, when
  // it is unreachable). May first wait a moment, unless `stop` is notified,
  // for the connection to come up.
  virtual std::unique_ptr<CollectorCall> Connect(
      const absl::Notification& stop) = 0;

  // Later streams authenticate with `token` (issued by the collector at
  // enrollment) instead of the configured one.
  virtual void UseToken(const std::string& token) = 0;
};

// Whether the agent's messages to the collector are compressed (config
// key collector.compression).
enum class LinkCompression {
  kAuto,  // gzip, but none to a loopback address.
  kGzip,  // Log text shrinks several times: for links that are paid for.
  kNone,
};

// Whether `compression` gzips messages to `address` (host:port). On
// loopback, gzip only spends CPU: a quarter of the agent's per line.
bool GzipsTo(LinkCompression compression, absl::string_view address);

// The collector at `address` (host:port), over TLS or loopback plaintext
// as `security` says, compressed as `compression` says. The channel
// retries its connection with the uplink's own backoff, from
// `reconnect_initial` up to `reconnect_max`.
std::unique_ptr<CollectorLink> NewGrpcCollectorLink(
    const std::string& address, const ClientSecurity& security,
    LinkCompression compression, absl::Duration reconnect_initial,
    absl::Duration reconnect_max);

}  // namespace eroom::agent

#endif  // EROOM_AGENT_COLLECTOR_LINK_H_
