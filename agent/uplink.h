#ifndef EROOM_AGENT_UPLINK_H_
#define EROOM_AGENT_UPLINK_H_

#include <cstdint>
#include <deque>
#include <memory>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "agent/agent_config.h"
#include "common/bounded_queue.h"
#include "common/clock.h"
#include "eroom/monitor/v1/monitor.grpc.pb.h"

namespace eroom::agent {

// Delivers the agent's events to the collector over one AgentService.Connect
// stream: numbers them, sends them in batches, keeps each until the
// collector acknowledges it as stored, and after a reconnect resumes from
// the collector's last stored sequence. Reconnects forever with capped,
// jittered exponential backoff.
class Uplink {
 public:
  struct Stats {
    bool connected = false;
    uint64_t last_acked_sequence = 0;
    uint64_t dropped_events = 0;
    size_t queued_events = 0;
  };

  Uplink(UplinkOptions options, eroom::monitor::v1::AgentHello hello,
         const Clock& clock);

  // Thread-safe and never blocks: when the queue is full the oldest event is
  // dropped, counted, and reported to the collector as an AgentNotice.
  void Submit(eroom::monitor::v1::Event event);

  // The uplink thread's body. Returns after `stop` is notified and queued
  // events were delivered or `flush_timeout` passed.
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
  // Moves queued events into `unacked_`, numbered, plus a notice for drops.
  std::vector<eroom::monitor::v1::Event> TakeNewEvents();
  void ForgetAcknowledged(uint64_t stored_through);

  const UplinkOptions options_;
  const eroom::monitor::v1::AgentHello hello_;
  const Clock& clock_;
  std::unique_ptr<eroom::monitor::v1::AgentService::Stub> stub_;
  BoundedQueue<eroom::monitor::v1::Event> queue_;

  // Owned by the uplink thread.
  std::deque<eroom::monitor::v1::Event> unacked_;
  uint64_t next_sequence_ = 1;

  mutable absl::Mutex mu_;
  bool connected_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* active_context_ ABSL_GUARDED_BY(mu_) = nullptr;
  uint64_t last_acked_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t dropped_total_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t dropped_unreported_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace eroom::agent

#endif  // EROOM_AGENT_UPLINK_H_
