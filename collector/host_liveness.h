#ifndef EROOM_COLLECTOR_HOST_LIVENESS_H_
#define EROOM_COLLECTOR_HOST_LIVENESS_H_

#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "collector/ingest.h"
#include "common/clock.h"

namespace eroom::collector {

// A host going up or down, as HostLiveness publishes it.
struct LivenessChange {
  std::string agent_id;
  bool down = false;
  // When it went up (its hello, or the first message after a silence) or
  // down (its stream ended, or its last message plus the heartbeat
  // timeout).
  absl::Time since;
};

// Where the rule engine and /metrics learn that hosts go up and down.
class LivenessSubscriber {
 public:
  virtual ~LivenessSubscriber() = default;
  // Called on the liveness thread, in the order the changes were found;
  // must not block.
  virtual void OnLivenessChanged(const LivenessChange& change) = 0;
};

// What the collector knows of each host's liveness. A host is down when its
// agent has no stream, or its stream has been silent (no hello, no batch
// stored) for longer than the heartbeat timeout: a hung agent. Ingest feeds
// it (it observes the ingest thread); a clock tick decides and publishes
// the changes since the previous tick. Every host starts down, so the first
// change published for a host is its going up.
class HostLiveness final : public IngestObserver {
 public:
  HostLiveness(const Clock& clock, absl::Duration heartbeat_timeout);
  HostLiveness(const HostLiveness&) = delete;
  HostLiveness& operator=(const HostLiveness&) = delete;
  ~HostLiveness() override;

  // Before Start (or the first Tick) only.
  void Subscribe(LivenessSubscriber* subscriber);

  void OnStored(const StoredBatch& batch) override;
  void OnRegistered(const eroom::monitor::v1::AgentHello& hello,
                    absl::Time at) override;
  void OnDisconnected(const std::string& agent_id, absl::Time at) override;

  // Whether the host is down now, by the clock: also true for a host never
  // heard of since the collector started. Any thread.
  bool IsDown(const std::string& agent_id) const;

  // Decides every host's liveness now and publishes the changes since the
  // previous tick. One thread at a time: the liveness thread once started.
  void Tick();

  // Ticks every `interval` on a thread named "liveness" until Stop.
  void Start(absl::Duration interval);
  // Joins the thread; no tick runs after it returns.
  void Stop();

 private:
  struct Host {
    bool connected = false;
    absl::Time last_heard = absl::InfinitePast();
    absl::Time up_since = absl::InfinitePast();
    absl::Time disconnected_at = absl::InfinitePast();
    bool published_down = true;
  };

  // Whether `host` is down at `now`, and since when.
  bool Down(const Host& host, absl::Time now) const;
  absl::Time Since(const Host& host, bool down) const;
  void Heard(Host& host, absl::Time at) const;

  const Clock& clock_;
  const absl::Duration heartbeat_timeout_;
  std::vector<LivenessSubscriber*> subscribers_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Host> hosts_ ABSL_GUARDED_BY(mu_);
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace eroom::collector

#endif  // EROOM_COLLECTOR_HOST_LIVENESS_H_
