#ifndef EROOM_COLLECTOR_ALERTING_NOTIFICATION_DISPATCHER_H_
#define EROOM_COLLECTOR_ALERTING_NOTIFICATION_DISPATCHER_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "collector/alerting/alert_store.h"
#include "collector/alerting/notification_config.h"
#include "collector/alerting/notification_planner.h"
#include "collector/alerting/notifier.h"
#include "collector/alerting/receiver.h"
#include "common/bounded_queue.h"
#include "common/clock.h"

namespace eroom::collector::alerting {

class ReceiverWorker;

// The Notifier of the collector: alert changes go through a bounded queue
// to the "notify" thread, which plans messages (NotificationPlanner) and
// hands each to its receivers' delivery threads, one thread and one
// bounded queue per receiver, so a receiver that hangs or is down delays
// nobody else. Each attempt is recorded with AlertStore::RecordDelivery;
// a failed one is retried with the receiver's backoff. What does not fit a
// queue is counted and logged.
class NotificationDispatcher final : public Notifier {
 public:
  struct Counters {
    int64_t dropped_changes = 0;   // Notify() with the queue full.
    int64_t dropped_messages = 0;  // A receiver's queue full.
    int64_t delivered = 0;         // Messages a receiver took.
    int64_t failed = 0;            // Messages given up after every retry.
  };

  // `receivers` replaces, by name, the receivers the config would make
  // (tests); InvalidArgument if a route matcher does not compile.
  static absl::StatusOr<std::unique_ptr<NotificationDispatcher>> Create(
      const NotificationConfig& config, AlertStore& store, const Clock& clock,
      std::map<std::string, std::unique_ptr<Receiver>> receivers = {});
  ~NotificationDispatcher() override;

  void Start();
  // Prompt: cancels deliveries in progress; what is queued is dropped.
  void Stop();

  // Never blocks.
  void Notify(const AlertEvent& event) override;
  void SetSilences(std::vector<Silence> silences) override;
  void Acknowledged(int64_t alert_id) override;

  Counters counters() const;

 private:
  using Command = std::variant<AlertEvent, std::vector<Silence>, int64_t>;

  NotificationDispatcher(const NotificationConfig& config,
                         std::unique_ptr<NotificationPlanner> planner,
                         const Clock& clock);
  void Run();
  void Apply(Command& command, absl::Time now);

  const Clock& clock_;
  BoundedQueue<Command> inbox_;
  // Owned by the notify thread once started.
  std::unique_ptr<NotificationPlanner> planner_;
  std::map<std::string, std::unique_ptr<ReceiverWorker>> workers_;
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> dropped_changes_{0};
  std::atomic<int64_t> dropped_messages_{0};
  std::thread thread_;
};

}  // namespace eroom::collector::alerting

#endif  // EROOM_COLLECTOR_ALERTING_NOTIFICATION_DISPATCHER_H_
