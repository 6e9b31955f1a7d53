#ifndef EROOM_TESTS_BENCH_LOAD_FLEET_H_
#define EROOM_TESTS_BENCH_LOAD_FLEET_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/transport_security.h"
#include "eroom/monitor/v1/monitor.pb.h"
#include "tests/bench/latency_samples.h"

namespace eroom::bench {

struct FleetOptions {
  std::string collector_address;
  ClientSecurity security;
  // Agents off the collector's host gzip their messages (the agent's
  // collector.compression: auto).
  bool gzip = false;
  int agents = 1000;
  // Agent ids are this prefix and the agent's number, zero-padded.
  std::string agent_id_prefix = "loadgen-";
  // Events each agent produces per second: log events, plus a resource
  // sample and two probe results in every 50 (every 5 s at 10/s, the
  // agent's default sampling and probing intervals).
  double events_per_second = 10;
  // How often an agent sends what it produced since its last batch: the
  // tailer's poll interval, so batches are as small as a real agent's.
  absl::Duration send_interval = absl::Milliseconds(250);
  // The uplink's batch size and window of unacknowledged batches.
  size_t max_batch_events = 1000;
  size_t max_unacked_batches = 8;
  // Wait before reconnecting a stream that broke.
  absl::Duration reconnect_delay = absl::Seconds(1);
  // Batches written this long after the fleet was made (every agent
  // connecting and storing its first contact) count in the start-up
  // latencies, not the steady ones.
  absl::Duration warmup = absl::Seconds(10);
};

// What one simulated agent did.
struct AgentReport {
  std::string agent_id;
  // The collector's last stored sequence when the agent first connected;
  // the agent numbers its events after it.
  uint64_t first_sequence_base = 0;
  uint64_t generated = 0;           // Events produced (sequence - base).
  uint64_t acked = 0;               // Highest sequence acknowledged.
  uint64_t generated_at_stop = 0;   // Produced when production stopped...
  uint64_t acked_at_stop = 0;       // ...and how many were acknowledged.
  uint64_t streams_answered = 0;    // Streams whose hello was answered.
  uint64_t stream_failures = 0;     // Streams that ended unexpectedly.
  uint64_t protocol_anomalies = 0;  // Acks above what was sent, hellos
                                    // below what was acknowledged.
  std::string last_error;           // Of the last failed stream.
};

struct FleetProgress {
  int connected = 0;  // Agents with an answered stream right now.
  uint64_t generated = 0;
  uint64_t acked = 0;  // Summed over agents, relative to their bases.
  uint64_t stream_failures = 0;
};

class SimulatedAgent;

// N agents speaking AgentService.Connect to one collector, each on its own
// connection and stream, all driven by gRPC's callback API and one
// scheduling thread (no thread per agent). Each agent keeps what it sent
// until it is acknowledged and resends it after a reconnect, as the real
// agent does with its spool.
class LoadFleet {
 public:
  // `log_corpus` (realistic log events, see log_event_corpus.h) must
  // outlive the fleet.
  LoadFleet(FleetOptions options,
            const std::vector<eroom::monitor::v1::LogEvent>& log_corpus);
  ~LoadFleet();

  // Connects every agent (spread over one send interval) and starts
  // producing and sending.
  void Start();
  // Produces nothing more; what was produced is still delivered.
  void StopGenerating();
  // True once every agent's events are all acknowledged, false after
  // `timeout`.
  bool AwaitDelivered(absl::Duration timeout);
  // Ends every stream cleanly (cancelling those still open after
  // `timeout`) and stops the scheduler.
  void Close(absl::Duration timeout);

  FleetProgress Progress() const;
  std::vector<AgentReport> Reports() const;
  // Over every agent: batch written -> the ack covering it (`ack`), and its
  // oldest event produced -> that ack (`event_age`: what the agents' pacing
  // and batching add).
  struct Latencies {
    LatencySamples ack;
    LatencySamples event_age;
    // Both for batches written during FleetOptions::warmup.
    LatencySamples warmup_ack;
    LatencySamples warmup_event_age;
  };
  Latencies AckLatencies() const;

 private:
  void Schedule();

  const FleetOptions options_;
  std::atomic<int> live_streams_{0};
  std::vector<std::unique_ptr<SimulatedAgent>> agents_;
  absl::Notification stop_scheduling_;
  std::thread scheduler_;
};

}  // namespace eroom::bench

#endif  // EROOM_TESTS_BENCH_LOAD_FLEET_H_
