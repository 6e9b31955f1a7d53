#ifndef EROOM_AGENT_UPLINK_H_
#define EROOM_AGENT_UPLINK_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>

#include "absl/random/random.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "agent/collector_link.h"
#include "agent/command_runner.h"
#include "agent/spool.h"
#include "common/clock.h"
#include "common/transport_security.h"
#include "eroom/monitor/v1/monitor.pb.h"

namespace eroom::agent {

struct UplinkOptions {
  std::string collector_address = "127.0.0.1:7443";
  absl::Duration reconnect_initial = absl::Milliseconds(500);
  absl::Duration reconnect_max = absl::Seconds(30);
  // With the 16 batches the uplink may leave unacknowledged, batches of
  // 1,000 kept too few events of an agent at full speed in flight for the
  // collector's commits to overlap its sending: about 300,000 lines/s where
  // 2,000 delivered 425,000-456,000 (tests/bench/peer_compare.sh), for
  // 11-19 MB more collector RSS.
  size_t batch_max_events = 2000;
  absl::Duration batch_max_delay = absl::Milliseconds(200);
  // TLS (or loopback plaintext) and the agent's token.
  ClientSecurity security;
  LinkCompression compression = LinkCompression::kAuto;
  // Where the token the collector issues at enrollment is kept (see
  // agent/issued_token.h); empty: used until the agent stops only.
  std::string issued_token_path;
};

// Delivers the spooled events to the collector over one AgentService.Connect
// stream, in sequence order and in batches. An event leaves the spool only
// once the collector acknowledged it as stored; after a reconnect delivery
// resumes from the collector's last stored sequence. Reconnects forever
// with capped, jittered exponential backoff. A collector that answers with
// a sequence beyond any (HelloAck) or beyond what was sent (Ack) has its
// stream ended with a logged error, then retried: the spool is neither
// renumbered nor freed after it.
//
// The same stream carries commands the other way: each Command received is
// handed to the CommandRunner, and the progress it reports is written on
// the stream (progress not written when a stream breaks goes on the next).
//
// Two threads per stream: the uplink thread (Run) is its only writer; a
// reader thread ("uplink-rx") takes the collector's messages.
class Uplink {
 public:
  struct Stats {
    bool connected = false;
    uint64_t last_acked_sequence = 0;
    uint64_t dropped_events = 0;
    uint64_t spooled_events = 0;
  };

  // Connects to `options.collector_address` over gRPC.
  Uplink(UplinkOptions options, eroom::monitor::v1::AgentHello hello,
         Spool& spool, CommandRunner& commands, const Clock& clock);
  // Reaches the collector through `link` (in tests, a fake).
  Uplink(UplinkOptions options, eroom::monitor::v1::AgentHello hello,
         Spool& spool, CommandRunner& commands, const Clock& clock,
         std::unique_ptr<CollectorLink> link);

  // The uplink thread's body: RunConnection, then NextBackoff, until `stop`
  // is notified; returns after that once the spool was delivered or
  // `flush_timeout` passed.
  void Run(const absl::Notification& stop, absl::Duration flush_timeout);

  // One stream, in steps: connect and hello (wait for the collector's
  // answer, resume after its last stored sequence), then turns of ack
  // handling, progress and event batches until the stream breaks, or until
  // `stop` is notified and the spool delivered (or `flush_timeout` passed).
  // Returns true if the collector answered the hello (a healthy connection).
  bool RunConnection(const absl::Notification& stop,
                     absl::Duration flush_timeout);

  // How long to wait before the next connection: after a healthy one the
  // initial backoff, else twice the last up to the maximum; each with full
  // jitter (half to all of it).
  absl::Duration NextBackoff(bool healthy);

  // Cancels the current stream from another thread, unblocking a Run()
  // stuck writing to a collector that stopped reading.
  void Abort();

  Stats stats() const;

 private:
  class StreamState;

  // Writes the hello and waits for the answer; false if none came. Asks
  // where the logs resume while the spool needs it, and hands it the answer.
  bool SendHello(CollectorCall& call, StreamState& state,
                 uint64_t* last_stored);
  // The turns of a connected stream, until it breaks or stopping is done.
  // Returns the spool's failure, if one ended it.
  absl::Status Exchange(CollectorCall& call, StreamState& state,
                        uint64_t last_stored, const absl::Notification& stop,
                        absl::Duration flush_timeout);
  // Writes the command progress reported so far; false if the stream broke
  // (what was not written stays for the next stream).
  bool SendProgress(CollectorCall& call);
  enum class Sent { kNothing, kBatch, kBroken };
  // Writes the next batch of spooled events after `*sent_through` and
  // advances it; the spool's error if it cannot be read.
  absl::StatusOr<Sent> SendEvents(CollectorCall& call, StreamState& state,
                                  uint64_t* sent_through);
  // Connects with `token`, if the collector issued one, from now on, and
  // keeps it for the next start.
  void KeepIssuedToken(const std::string& token);
  void ReportDrops();
  // Records an acknowledgement and frees its events from the spool; returns
  // the highest sequence acknowledged so far.
  uint64_t Acknowledged(uint64_t stored_through);
  // Logs how a stream ended.
  void ReportEnd(bool answered, const absl::Status& failure,
                 const grpc::Status& status, const absl::Notification& stop);

  const UplinkOptions options_;
  const eroom::monitor::v1::AgentHello hello_;
  Spool& spool_;
  CommandRunner& commands_;
  const Clock& clock_;
  const std::unique_ptr<CollectorLink> link_;
  // Owned by the uplink thread.
  absl::Time next_unreachable_warning_ = absl::InfinitePast();
  uint64_t reported_drops_ = 0;  // Of Spool::Stats::dropped.
  std::deque<eroom::monitor::v1::CommandProgress> unsent_progress_;
  absl::Duration backoff_;
  absl::BitGen jitter_;

  mutable absl::Mutex mu_;
  bool connected_ ABSL_GUARDED_BY(mu_) = false;
  CollectorCall* active_call_ ABSL_GUARDED_BY(mu_) = nullptr;
  uint64_t last_acked_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace eroom::agent

#endif  // EROOM_AGENT_UPLINK_H_
