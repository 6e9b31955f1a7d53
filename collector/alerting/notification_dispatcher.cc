#include "collector/alerting/notification_dispatcher.h"

#include <curl/curl.h>

#include <algorithm>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "spdlog/spdlog.h"

namespace eroom::collector::alerting {
namespace {

// The longest the notify thread waits without looking at the clock: what
// a clock that is not the wall clock (tests) needs to be noticed.
constexpr absl::Duration kLongestWait = absl::Seconds(1);
constexpr size_t kCommandsPerRound = 256;

bool FirstOrEveryThousandth(int64_t count) {
  return count == 1 || count % 1000 == 0;
}

void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

// One receiver's delivery thread and queue: sends each message, retrying
// with backoff, and records every attempt.
class ReceiverWorker {
 public:
  ReceiverWorker(const ReceiverConfig& config,
                 std::unique_ptr<Receiver> receiver, AlertStore& store,
                 const Clock& clock, size_t capacity)
      : config_(config),
        receiver_(std::move(receiver)),
        store_(store),
        clock_(clock),
        queue_(capacity) {}

  void Start() {
    thread_ = std::thread([this] { Run(); });
  }

  void Stop() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    receiver_->Cancel();
    queue_.Close();
    if (thread_.joinable()) thread_.join();
  }

  bool Enqueue(Notification notification) {
    return queue_.TryPush(std::move(notification));
  }

  const std::string& name() const { return config_.name; }
  int64_t delivered() const { return delivered_.load(); }
  int64_t failed() const { return failed_.load(); }

 private:
  void Run() {
    SetThreadName(absl::StrCat("notify-", config_.name).substr(0, 15).c_str());
    while (!Stopping()) {
      std::optional<Notification> notification =
          queue_.Pop(absl::InfiniteDuration());
      if (!notification || Stopping()) break;
      Deliver(*std::move(notification));
    }
  }

  void Deliver(Notification notification) {
    if (!config_.send_resolved) {
      std::erase_if(notification.alerts, [](const Alert& alert) {
        return alert.state != AlertState::kFiring;
      });
    }
    if (notification.alerts.empty()) return;
    std::string error;
    for (int attempt = 1; attempt <= config_.retry.attempts; ++attempt) {
      const absl::Status sent = receiver_->Send(notification);
      if (Stopping()) return;
      error =
          sent.ok() ? "" : RedactSecrets(std::string(sent.message()), config_);
      Record(notification, attempt, sent.ok(), error);
      if (sent.ok()) {
        delivered_.fetch_add(1);
        return;
      }
      if (attempt == config_.retry.attempts) break;
      const absl::Duration backoff = config_.retry.BackoffAfter(attempt);
      spdlog::warn(
          "receiver '{}': attempt {} of {} for {} failed: {}; again "
          "in {}",
          config_.name, attempt, config_.retry.attempts, notification.group_key,
          error, absl::FormatDuration(backoff));
      if (WaitOrStop(backoff)) return;
    }
    failed_.fetch_add(1);
    spdlog::error("receiver '{}': gave up on {} after {} attempts: {}",
                  config_.name, notification.group_key, config_.retry.attempts,
                  error);
  }

  void Record(const Notification& notification, int attempt, bool ok,
              const std::string& error) {
    for (const Alert& alert : notification.alerts) {
      DeliveryRecord record{
          .alert_id = alert.id,
          .receiver = config_.name,
          .kind = alert.state == AlertState::kFiring
                      ? AlertEvent::Kind::kFiring
                      : AlertEvent::Kind::kResolved,
          .attempt = attempt,
          .at = clock_.Now(),
          .ok = ok,
          .error = error,
      };
      if (absl::Status recorded = store_.RecordDelivery(record);
          !recorded.ok()) {
        spdlog::warn("receiver '{}': cannot record a delivery of alert {}: {}",
                     config_.name, alert.id, recorded.ToString());
      }
    }
  }

  // Waits `wait` by the injected clock; true when stopping instead.
  bool WaitOrStop(absl::Duration wait) {
    const absl::Time until = clock_.Now() + wait;
    absl::MutexLock lock(&mu_);
    while (!stopping_) {
      const absl::Duration left = until - clock_.Now();
      if (left <= absl::ZeroDuration()) return false;
      mu_.AwaitWithTimeout(absl::Condition(&stopping_),
                           std::min(left, kLongestWait));
    }
    return true;
  }

  bool Stopping() const {
    absl::MutexLock lock(&mu_);
    return stopping_;
  }

  const ReceiverConfig config_;
  const std::unique_ptr<Receiver> receiver_;
  AlertStore& store_;
  const Clock& clock_;
  BoundedQueue<Notification> queue_;
  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<int64_t> delivered_{0};
  std::atomic<int64_t> failed_{0};
  std::thread thread_;
};

absl::StatusOr<std::unique_ptr<NotificationDispatcher>>
NotificationDispatcher::Create(
    const NotificationConfig& config, AlertStore& store, const Clock& clock,
    std::map<std::string, std::unique_ptr<Receiver>> receivers) {
  EROOM_ASSIGN_OR_RETURN(std::unique_ptr<NotificationPlanner> planner,
                         NotificationPlanner::Create(config));
  InitCurlOnce();
  std::unique_ptr<NotificationDispatcher> dispatcher(
      new NotificationDispatcher(config, std::move(planner), clock));
  for (const ReceiverConfig& receiver_config : config.receivers) {
    auto given = receivers.find(receiver_config.name);
    std::unique_ptr<Receiver> receiver = given != receivers.end()
                                             ? std::move(given->second)
                                             : MakeReceiver(receiver_config);
    dispatcher->workers_[receiver_config.name] =
        std::make_unique<ReceiverWorker>(
            receiver_config, std::move(receiver), store, clock,
            static_cast<size_t>(config.receiver_queue_capacity));
  }
  return dispatcher;
}

NotificationDispatcher::NotificationDispatcher(
    const NotificationConfig& config,
    std::unique_ptr<NotificationPlanner> planner, const Clock& clock)
    : clock_(clock),
      inbox_(static_cast<size_t>(config.queue_capacity)),
      planner_(std::move(planner)) {}

NotificationDispatcher::~NotificationDispatcher() { Stop(); }

void NotificationDispatcher::Start() {
  for (auto& [name, worker] : workers_) worker->Start();
  thread_ = std::thread([this] { Run(); });
}

void NotificationDispatcher::Stop() {
  stopping_.store(true);
  inbox_.Close();
  if (thread_.joinable()) thread_.join();
  for (auto& [name, worker] : workers_) worker->Stop();
}

void NotificationDispatcher::Notify(const AlertEvent& event) {
  if (inbox_.TryPush(event)) return;
  const int64_t dropped = dropped_changes_.fetch_add(1) + 1;
  if (FirstOrEveryThousandth(dropped)) {
    spdlog::warn(
        "notifications: the queue of alert changes is full: dropped {} so "
        "far",
        dropped);
  }
}

void NotificationDispatcher::SetSilences(std::vector<Silence> silences) {
  // Rare and small: never dropped.
  inbox_.PushBeyondCapacity(std::move(silences));
}

void NotificationDispatcher::Acknowledged(int64_t alert_id) {
  inbox_.PushBeyondCapacity(alert_id);
}

NotificationDispatcher::Counters NotificationDispatcher::counters() const {
  Counters counters{.dropped_changes = dropped_changes_.load(),
                    .dropped_messages = dropped_messages_.load(),
                    .delivered = 0,
                    .failed = 0};
  for (const auto& [name, worker] : workers_) {
    counters.delivered += worker->delivered();
    counters.failed += worker->failed();
  }
  return counters;
}

void NotificationDispatcher::Apply(Command& command, absl::Time now) {
  if (auto* event = std::get_if<AlertEvent>(&command)) {
    planner_->Add(*event, now);
  } else if (auto* silences = std::get_if<std::vector<Silence>>(&command)) {
    if (absl::Status set = planner_->SetSilences(*silences, now); !set.ok()) {
      spdlog::warn("notifications: {}", set.ToString());
    }
  } else {
    planner_->Acknowledge(std::get<int64_t>(command));
  }
}

void NotificationDispatcher::Run() {
  SetThreadName("notify");
  while (!stopping_.load()) {
    const absl::Duration wait =
        std::clamp(planner_->NextDeadline() - clock_.Now(),
                   absl::ZeroDuration(), kLongestWait);
    std::vector<Command> commands = inbox_.PopBatch(kCommandsPerRound, wait);
    const absl::Time now = clock_.Now();
    for (Command& command : commands) Apply(command, now);
    for (Notification& notification : planner_->Due(now)) {
      for (const std::string& name : notification.receivers) {
        auto worker = workers_.find(name);
        if (worker == workers_.end() || worker->second->Enqueue(notification)) {
          continue;
        }
        const int64_t dropped = dropped_messages_.fetch_add(1) + 1;
        if (FirstOrEveryThousandth(dropped)) {
          spdlog::warn(
              "receiver '{}': its queue is full: dropped {} messages so far",
              name, dropped);
        }
      }
    }
  }
}

}  // namespace eroom::collector::alerting
