#include "collector/alerting/alerting.h"

#include <algorithm>
#include <utility>

#include "common/logging.h"
#include "common/status_macros.h"
#include "spdlog/spdlog.h"

namespace eroom::collector::alerting {
namespace {

// Work items taken per turn: enough to evaluate a backlog in few turns, few
// enough that ticks stay on time.
constexpr size_t kMaxWorkPerTurn = 64;

}  // namespace

Alerting::Alerting(RuleSet rules, AlertStore& store, Notifier& notifier,
                   const Clock& clock, Options options)
    : store_(store),
      notifier_(notifier),
      clock_(clock),
      options_(options),
      queue_(options.queue_capacity),
      has_rules_(!rules.rules.empty()),
      engine_(std::move(rules)) {}

Alerting::~Alerting() { Stop(); }

absl::Status Alerting::Start() {
  EROOM_ASSIGN_OR_RETURN(std::vector<Alert> active, store_.LoadActive());
  {
    absl::MutexLock lock(&engine_mu_);
    engine_.Restore(active);
  }
  EROOM_RETURN_IF_ERROR(RefreshSilences());
  // The notifier learns what fires, and when it last told of it, so it
  // repeats on time and does not announce it again.
  const absl::Time now = clock_.Now();
  for (Alert& alert : active) {
    if (alert.state != AlertState::kFiring) continue;
    notifier_.Notify(AlertEvent{.kind = AlertEvent::Kind::kUpdated,
                                .alert = std::move(alert),
                                .at = now});
  }
  thread_ = std::thread([this] { Run(); });
  return absl::OkStatus();
}

void Alerting::Stop() {
  if (!thread_.joinable()) return;
  stopping_ = true;
  queue_.Close();
  thread_.join();
}

void Alerting::Reload(RuleSet rules) {
  has_rules_ = !rules.rules.empty();
  // A reload is never dropped: it is rare and small.
  queue_.PushBeyondCapacity(std::move(rules));
}

void Alerting::Enqueue(Work work) {
  if (!queue_.TryPush(std::move(work))) ++dropped_;
}

void Alerting::OnStored(const StoredBatch& batch) {
  if (!has_rules_) return;
  if (queue_.size() >= queue_.capacity()) {
    ++dropped_;  // Full: not even worth the copy.
    return;
  }
  Enqueue(std::make_shared<const StoredBatch>(batch));
}

void Alerting::OnRegistered(const eroom::monitor::v1::AgentHello& hello,
                            absl::Time at) {
  Enqueue(Registered{hello, at});
}

void Alerting::OnDisconnected(const std::string& agent_id, absl::Time at) {
  Enqueue(Disconnected{agent_id, at});
}

void Alerting::Run() {
  SetThreadName("alert-rules");
  absl::Time next_tick = clock_.Now();
  uint64_t dropped_reported = 0;
  while (true) {
    const absl::Duration until_tick =
        std::max(next_tick - clock_.Now(), absl::ZeroDuration());
    std::vector<Work> work = queue_.PopBatch(kMaxWorkPerTurn, until_tick);
    if (work.empty() && stopping_) break;
    std::vector<AlertEvent> events;
    absl::MutexLock lock(&engine_mu_);
    for (Work& item : work) Evaluate(item, &events);
    const absl::Time now = clock_.Now();
    if (now >= next_tick) {
      engine_.Tick(now, &events);
      next_tick = now + options_.tick_interval;
    }
    Publish(events);
    if (const uint64_t dropped = dropped_.load(); dropped != dropped_reported) {
      spdlog::warn(
          "alert rules fell behind ingest: {} stored batches or host changes "
          "not evaluated ({} since start)",
          dropped - dropped_reported, dropped);
      dropped_reported = dropped;
    }
  }
}

void Alerting::Evaluate(Work& work, std::vector<AlertEvent>* events) {
  if (auto* batch = std::get_if<std::shared_ptr<const StoredBatch>>(&work)) {
    engine_.OnStored(**batch, events);
  } else if (auto* registered = std::get_if<Registered>(&work)) {
    engine_.OnHostRegistered(registered->hello, registered->at, events);
  } else if (auto* disconnected = std::get_if<Disconnected>(&work)) {
    engine_.OnHostDisconnected(disconnected->agent_id, disconnected->at,
                               events);
  } else {
    const size_t before = events->size();
    engine_.SetRules(std::move(std::get<RuleSet>(work)), clock_.Now(), events);
    spdlog::info("alert rules reloaded ({} alert changes)",
                 events->size() - before);
  }
}

void Alerting::Publish(std::vector<AlertEvent>& events) {
  if (events.empty()) return;
  // One transaction for what one turn changed.
  absl::StatusOr<std::vector<int64_t>> ids = store_.SaveAll(events);
  if (!ids.ok()) {
    // Still notified: telling people matters more than the record.
    spdlog::error("recording {} alert changes: {}", events.size(),
                  ids.status().ToString());
  }
  for (size_t i = 0; i < events.size(); ++i) {
    AlertEvent& event = events[i];
    if (ids.ok() && event.alert.id == 0) {
      event.alert.id = (*ids)[i];
      engine_.SetAlertId(event.alert.key, event.alert.id);
    }
    notifier_.Notify(event);
  }
}

absl::Status Alerting::RefreshSilences() {
  EROOM_ASSIGN_OR_RETURN(std::vector<Silence> silences,
                         store_.Silences(clock_.Now()));
  notifier_.SetSilences(std::move(silences));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Alert>> Alerting::ActiveAlerts(
    const std::string& agent_id) {
  EROOM_ASSIGN_OR_RETURN(std::vector<Alert> active, store_.LoadActive());
  if (!agent_id.empty()) {
    std::erase_if(active, [&agent_id](const Alert& alert) {
      return alert.key.agent_id != agent_id;
    });
  }
  return active;
}

absl::StatusOr<std::vector<AlertEvent>> Alerting::History(
    absl::Time since, int limit, const std::string& agent_id) {
  return store_.History(since, limit, agent_id);
}

absl::Status Alerting::Acknowledge(int64_t alert_id, const std::string& by,
                                   const std::string& comment) {
  EROOM_RETURN_IF_ERROR(
      store_.Acknowledge(alert_id, by, comment, clock_.Now()));
  notifier_.Acknowledged(alert_id);
  spdlog::info("alert {} acknowledged by {}", alert_id, by);
  return absl::OkStatus();
}

absl::StatusOr<Silence> Alerting::AddSilence(Silence silence) {
  if (silence.starts_at == absl::InfinitePast()) {
    silence.starts_at = clock_.Now();
  }
  EROOM_ASSIGN_OR_RETURN(silence.id, store_.AddSilence(silence));
  EROOM_RETURN_IF_ERROR(RefreshSilences());
  spdlog::info("silence {} added by {} until {}", silence.id,
               silence.created_by, absl::FormatTime(silence.ends_at));
  return silence;
}

absl::StatusOr<std::vector<Silence>> Alerting::Silences(bool include_ended) {
  return store_.Silences(include_ended ? absl::InfinitePast() : clock_.Now());
}

absl::Status Alerting::ExpireSilence(int64_t silence_id,
                                     const std::string& by) {
  EROOM_RETURN_IF_ERROR(store_.ExpireSilence(silence_id, by, clock_.Now()));
  spdlog::info("silence {} expired by {}", silence_id, by);
  return RefreshSilences();
}

std::vector<RuleStatus> Alerting::Rules() {
  absl::MutexLock lock(&engine_mu_);
  return engine_.Status();
}

}  // namespace eroom::collector::alerting
