#ifndef EROOM_AGENT_UPLINK_H_
#define EROOM_AGENT_UPLINK_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "agent/spool.h"
#include "common/clock.h"
#include "common/transport_security.h"
#include "eroom/monitor/v1/monitor.grpc.pb.h"

namespace eroom::agent {

struct UplinkOptions {
  std::string collector_address = "127.0.0.1:7443";
  absl::Duration reconnect_initial = absl::Milliseconds(500);
  absl::Duration reconnect_max = absl::Seconds(30);
  size_t batch_max_events = 1000;
  absl::Duration batch_max_delay = absl::Milliseconds(200);
  // TLS (or loopback plaintext) and the agent's token.
  ClientSecurity security;
};

// Delivers the spooled events to the collector over one AgentService.Connect
// stream, in sequence order and in batches. An event leaves the spool only
// once the collector acknowledged it as stored; after a reconnect delivery
// resumes from the collector's last stored sequence. Reconnects forever
// with capped, jittered exponential backoff.
class Uplink {
 public:
  struct Stats {
    bool connected = false;
    uint64_t last_acked_sequence = 0;
    uint64_t dropped_events = 0;
    uint64_t spooled_events = 0;
  };

  Uplink(UplinkOptions options, eroom::monitor::v1::AgentHello hello,
         Spool& spool, const Clock& clock);

  // The uplink thread's body. Returns after `stop` is notified and the spool
  // was delivered or `flush_timeout` passed.
  void Run(const absl::Notification& stop, absl::Duration flush_timeout);

  // Cancels the current stream from another thread, unblocking a Run()
  // stuck writing to a collector that stopped reading.
  void Abort();

  Stats stats() const;

 private:
  // Streams until the connection breaks, or until stopping and flushed.
  // Returns true if the collector answered the hello (a healthy connection,
  // which resets the backoff).
  bool RunConnection(const absl::Notification& stop,
                     absl::Duration flush_timeout);
  void ReportDrops();
  // Records an acknowledgement and frees its events from the spool; returns
  // the highest sequence acknowledged so far.
  uint64_t Acknowledged(uint64_t stored_through);

  const UplinkOptions options_;
  const eroom::monitor::v1::AgentHello hello_;
  Spool& spool_;
  const Clock& clock_;
  const std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<eroom::monitor::v1::AgentService::Stub> stub_;
  // Owned by the uplink thread.
  absl::Time next_unreachable_warning_ = absl::InfinitePast();
  uint64_t reported_drops_ = 0;  // Of Spool::Stats::dropped.

  mutable absl::Mutex mu_;
  bool connected_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* active_context_ ABSL_GUARDED_BY(mu_) = nullptr;
  uint64_t last_acked_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace eroom::agent

#endif  // EROOM_AGENT_UPLINK_H_
