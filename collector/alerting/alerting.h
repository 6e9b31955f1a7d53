#ifndef EROOM_COLLECTOR_ALERTING_ALERTING_H_
#define EROOM_COLLECTOR_ALERTING_ALERTING_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "collector/alerting/alert_admin.h"
#include "collector/alerting/alert_store.h"
#include "collector/alerting/notifier.h"
#include "collector/alerting/rule_engine.h"
#include "collector/ingest.h"
#include "common/bounded_queue.h"
#include "common/clock.h"

namespace eroom::collector::alerting {

// The collector's alerting: a thread named "alert-rules" that evaluates
// what ingest stored (it observes the ingest thread through a bounded
// queue, so evaluation never slows storage: what does not fit is dropped,
// counted and logged) and ticks for conditions of time, records every alert
// change in the store, and hands it to the notifier. Also what the query
// service asks of alerting.
class Alerting final : public IngestObserver, public AlertAdmin {
 public:
  struct Options {
    size_t queue_capacity = 1024;
    absl::Duration tick_interval = absl::Seconds(1);
  };

  // `store` and `notifier` outlive this.
  Alerting(RuleSet rules, AlertStore& store, Notifier& notifier,
           const Clock& clock, Options options);
  ~Alerting() override;
  Alerting(const Alerting&) = delete;
  Alerting& operator=(const Alerting&) = delete;

  // Resumes the alerts and silences of the store, then starts the thread.
  absl::Status Start();
  // Evaluates what was queued, then joins the thread.
  void Stop();

  // New rules (a reload), applied on the rule thread in order with what
  // ingest stored before.
  void Reload(RuleSet rules);

  // Evaluation work dropped because the rule thread fell behind.
  uint64_t dropped() const { return dropped_.load(); }
  // Work waiting for the rule thread.
  size_t queue_depth() const { return queue_.size(); }

  // IngestObserver, on the ingest thread: never blocks.
  void OnStored(const StoredBatch& batch) override;
  void OnRegistered(const eroom::monitor::v1::AgentHello& hello,
                    absl::Time at) override;
  void OnDisconnected(const std::string& agent_id, absl::Time at) override;

  // AlertAdmin, on query workers.
  absl::StatusOr<std::vector<Alert>> ActiveAlerts(
      const std::string& agent_id) override;
  absl::StatusOr<std::vector<AlertEvent>> History(
      absl::Time since, int limit, const std::string& agent_id) override;
  absl::Status Acknowledge(int64_t alert_id, const std::string& by,
                           const std::string& comment) override;
  absl::StatusOr<Silence> AddSilence(Silence silence) override;
  absl::StatusOr<std::vector<Silence>> Silences(bool include_ended) override;
  absl::Status ExpireSilence(int64_t silence_id,
                             const std::string& by) override;
  std::vector<RuleStatus> Rules() override;

 private:
  struct Registered {
    eroom::monitor::v1::AgentHello hello;
    absl::Time at;
  };
  struct Disconnected {
    std::string agent_id;
    absl::Time at;
  };
  using Work = std::variant<std::shared_ptr<const StoredBatch>, Registered,
                            Disconnected, RuleSet>;

  void Run();
  void Evaluate(Work& work, std::vector<AlertEvent>* events)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(engine_mu_);
  // Records each change and hands it to the notifier, in order.
  void Publish(std::vector<AlertEvent>& events)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(engine_mu_);
  void Enqueue(Work work);
  absl::Status RefreshSilences();

  AlertStore& store_;
  Notifier& notifier_;
  const Clock& clock_;
  const Options options_;
  BoundedQueue<Work> queue_;
  std::atomic<bool> stopping_{false};
  // Whether any rule is in force: without one, stored batches are not
  // copied for the rule thread at all.
  std::atomic<bool> has_rules_;
  std::atomic<uint64_t> dropped_{0};
  absl::Mutex engine_mu_;
  RuleEngine engine_ ABSL_GUARDED_BY(engine_mu_);
  std::thread thread_;
};

}  // namespace eroom::collector::alerting

#endif  // EROOM_COLLECTOR_ALERTING_ALERTING_H_
