#include "collector/host_liveness.h"

#include "common/logging.h"

namespace eroom::collector {

HostLiveness::HostLiveness(const Clock& clock, absl::Duration heartbeat_timeout)
    : clock_(clock), heartbeat_timeout_(heartbeat_timeout) {}

HostLiveness::~HostLiveness() { Stop(); }

void HostLiveness::Subscribe(LivenessSubscriber* subscriber) {
  subscribers_.push_back(subscriber);
}

void HostLiveness::OnStored(const StoredBatch& batch) {
  absl::MutexLock lock(&mu_);
  for (const HostProgress& progress : batch.hosts) {
    Heard(hosts_[progress.agent_id], progress.last_seen);
  }
}

void HostLiveness::OnRegistered(const eroom::monitor::v1::AgentHello& hello,
                                absl::Time at) {
  absl::MutexLock lock(&mu_);
  Host& host = hosts_[hello.agent_id()];
  if (Down(host, at)) host.up_since = at;
  host.connected = true;
  host.last_heard = at;
}

void HostLiveness::OnDisconnected(const std::string& agent_id, absl::Time at) {
  absl::MutexLock lock(&mu_);
  Host& host = hosts_[agent_id];
  host.connected = false;
  host.disconnected_at = at;
}

bool HostLiveness::IsDown(const std::string& agent_id) const {
  const absl::Time now = clock_.Now();
  absl::MutexLock lock(&mu_);
  auto it = hosts_.find(agent_id);
  return it == hosts_.end() || Down(it->second, now);
}

void HostLiveness::Tick() {
  const absl::Time now = clock_.Now();
  std::vector<LivenessChange> changes;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [agent_id, host] : hosts_) {
      const bool down = Down(host, now);
      if (down == host.published_down) continue;
      host.published_down = down;
      changes.push_back(LivenessChange{
          .agent_id = agent_id, .down = down, .since = Since(host, down)});
    }
  }
  for (const LivenessChange& change : changes) {
    for (LivenessSubscriber* subscriber : subscribers_) {
      subscriber->OnLivenessChanged(change);
    }
  }
}

void HostLiveness::Start(absl::Duration interval) {
  thread_ = std::thread([this, interval] {
    SetThreadName("liveness");
    while (!stop_.WaitForNotificationWithTimeout(interval)) Tick();
  });
}

void HostLiveness::Stop() {
  if (!thread_.joinable()) return;
  stop_.Notify();
  thread_.join();
}

bool HostLiveness::Down(const Host& host, absl::Time now) const {
  return !host.connected || now - host.last_heard > heartbeat_timeout_;
}

absl::Time HostLiveness::Since(const Host& host, bool down) const {
  if (!down) return host.up_since;
  if (!host.connected) return host.disconnected_at;
  return host.last_heard + heartbeat_timeout_;
}

void HostLiveness::Heard(Host& host, absl::Time at) const {
  // A message ends a silence the host was down for.
  if (host.connected && Down(host, at)) host.up_since = at;
  host.last_heard = at;
}

}  // namespace eroom::collector
