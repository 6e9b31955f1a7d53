#include "collector/log_follow.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace eroom::collector {
namespace v1 = ::eroom::monitor::v1;

absl::StatusOr<LogFilter> ValidateFollowRequest(
    const v1::FollowLogsRequest& request) {
  const v1::QueryLogsRequest& filter = request.filter();
  if (filter.until_unix_ms() != 0) {
    return absl::InvalidArgumentError(
        "filter.until_unix_ms: a follow has no end; leave it 0");
  }
  if (!filter.before_cursor().empty()) {
    return absl::InvalidArgumentError(
        "filter.before_cursor: a follow reads forward; leave it empty");
  }
  if (filter.context() != 0) {
    return absl::InvalidArgumentError(
        "filter.context: a follow sends no context; leave it 0");
  }
  if (request.resume_received_unix_ms() < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("resume_received_unix_ms must not be negative, got ",
                     request.resume_received_unix_ms()));
  }
  for (int i = 0; i < request.resume_after_size(); ++i) {
    if (request.resume_after(i).agent_id().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("resume_after[", i, "].agent_id is empty"));
    }
  }
  absl::StatusOr<LogFilter> compiled = LogFilter::Compile(filter);
  if (!compiled.ok()) {
    return absl::Status(compiled.status().code(),
                        absl::StrCat("filter.", compiled.status().message()));
  }
  return compiled;
}

LogFollower::LogFollower(StorageReader& storage, Submit submit,
                         const v1::FollowLogsRequest& request, LogFilter filter,
                         FollowStream& stream)
    : storage_(storage),
      submit_(std::move(submit)),
      stream_(stream),
      filter_(std::move(filter)),
      backlog_limit_(request.filter().limit()),
      resume_received_unix_ms_(request.resume_received_unix_ms()),
      resuming_(!request.resume_after().empty() ||
                request.resume_received_unix_ms() != 0),
      resume_positions_(request.resume_after().begin(),
                        request.resume_after().end()) {
  for (const v1::LogPosition& host : resume_positions_) {
    resume_after_[host.agent_id()] = host.sequence();
  }
}

void LogFollower::Start() {
  mu_.Lock();
  ReadAgain();
}

void LogFollower::OnStored() {
  mu_.Lock();
  if (state_ != State::kIdle) {
    stored_since_read_ = true;
    mu_.Unlock();
    return;
  }
  ReadAgain();
}

void LogFollower::OnSent(bool ok) {
  mu_.Lock();
  if (!ok) {
    End(stop_.ok() ? absl::CancelledError("the client went away") : stop_);
    return;
  }
  if (!stop_.ok()) {
    End(stop_);
    return;
  }
  // More may have been stored while sending; reading finds out.
  ReadAgain();
}

void LogFollower::Stop(const absl::Status& why) {
  stopping_ = true;
  mu_.Lock();
  if (state_ == State::kDone || !stop_.ok()) {
    mu_.Unlock();
    return;
  }
  stop_ = why;
  if (state_ == State::kIdle) {
    End(stop_);
    return;
  }
  // The read or send in progress ends the stream when it is over.
  mu_.Unlock();
}

void LogFollower::ReadAgain() {
  state_ = State::kReading;
  stored_since_read_ = false;
  mu_.Unlock();
  if (submit_([this] { Read(); })) return;
  mu_.Lock();
  End(absl::UnavailableError(
      "the collector is too busy to read the followed logs; resume later"));
}

void LogFollower::End(absl::Status status) {
  state_ = State::kDone;
  mu_.Unlock();
  stream_.End(status);
}

void LogFollower::Read() {
  absl::StatusOr<std::vector<v1::StoredLogEvent>> events = NextEvents();
  mu_.Lock();
  if (!stop_.ok()) {
    End(stop_);
    return;
  }
  if (!events.ok()) {
    End(events.status());
    return;
  }
  // The first response goes even when empty: it tells the client that
  // the follow is established and caught up.
  if (events->empty() && answered_) {
    if (stored_since_read_) {
      ReadAgain();
      return;
    }
    state_ = State::kIdle;
    mu_.Unlock();
    return;
  }
  state_ = State::kSending;
  answered_ = true;
  sending_.Clear();
  for (v1::StoredLogEvent& event : *events) {
    *sending_.add_events() = std::move(event);
  }
  mu_.Unlock();
  stream_.Send(&sending_);
}

absl::StatusOr<std::vector<v1::StoredLogEvent>> LogFollower::NextEvents() {
  const QueryCheck check = [this]() -> absl::Status {
    if (stopping_) return absl::CancelledError("the follow is ending");
    return absl::OkStatus();
  };
  if (!started_) {
    started_ = true;
    if (!resuming_) {
      absl::StatusOr<LogEventPage> backlog = storage_.StoredLogEvents(
          filter_, {.limit = backlog_limit_, .newest = true}, check);
      if (!backlog.ok()) return backlog.status();
      position_ = backlog->through;
      return std::move(backlog->events);
    }
    absl::StatusOr<LogResume> resume = storage_.FollowResume(
        resume_positions_, resume_received_unix_ms_, check);
    if (!resume.ok()) return resume.status();
    position_ = resume->after;
    resume_through_ = resume->newest;
  }
  // Pages the resume skips whole are read past at once.
  while (true) {
    const bool catching_up = position_ < resume_through_;
    absl::StatusOr<LogEventPage> page = storage_.StoredLogEvents(
        filter_,
        {.after = position_,
         .through = catching_up ? resume_through_ : kLastLogPosition,
         .limit = kFollowPageEvents},
        check);
    if (!page.ok()) return page.status();
    position_ = page->through;
    if (!catching_up || page->events.empty()) return std::move(page->events);
    std::vector<v1::StoredLogEvent> needed;
    for (v1::StoredLogEvent& event : page->events) {
      if (NeededOnResume(event)) needed.push_back(std::move(event));
    }
    if (!needed.empty()) return needed;
  }
}

bool LogFollower::NeededOnResume(const v1::StoredLogEvent& event) const {
  auto host = resume_after_.find(event.agent_id());
  if (host != resume_after_.end()) return event.sequence() > host->second;
  return event.received_unix_ms() >= resume_received_unix_ms_;
}

LogFollowers::LogFollowers(StorageReader& storage, LogFollower::Submit submit,
                           int max_follows)
    : storage_(storage),
      submit_(std::move(submit)),
      max_follows_(max_follows) {}

absl::StatusOr<std::shared_ptr<LogFollower>> LogFollowers::Add(
    v1::FollowLogsRequest request, FollowStream& stream) {
  EROOM_ASSIGN_OR_RETURN(LogFilter filter, ValidateFollowRequest(request));
  absl::MutexLock lock(&mu_);
  if (stopped_) {
    return absl::UnavailableError("the collector is stopping; resume later");
  }
  if (static_cast<int>(followers_.size()) >= max_follows_) {
    return absl::ResourceExhaustedError(
        absl::StrCat("too many log follows in progress (", max_follows_,
                     " at most); retry later"));
  }
  auto follower = std::make_shared<LogFollower>(storage_, submit_, request,
                                                std::move(filter), stream);
  followers_[follower.get()] = follower;
  return follower;
}

void LogFollowers::Remove(const LogFollower* follower) {
  absl::MutexLock lock(&mu_);
  followers_.erase(follower);
}

std::vector<std::shared_ptr<LogFollower>> LogFollowers::Snapshot() {
  absl::MutexLock lock(&mu_);
  std::vector<std::shared_ptr<LogFollower>> followers;
  followers.reserve(followers_.size());
  for (const auto& [key, follower] : followers_) followers.push_back(follower);
  return followers;
}

void LogFollowers::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopped_ = true;
  }
  // Outside the lock: an ended stream removes its follower.
  for (const std::shared_ptr<LogFollower>& follower : Snapshot()) {
    follower->Stop(absl::UnavailableError("the collector is stopping"));
  }
}

void LogFollowers::OnStored(const StoredBatch& batch) {
  bool logs = false;
  for (const AgentBatch& agent_batch : batch.batches) {
    for (const v1::Event& event : agent_batch.batch->events()) {
      logs = logs || event.has_log();
    }
  }
  if (!logs) return;
  for (const std::shared_ptr<LogFollower>& follower : Snapshot()) {
    follower->OnStored();
  }
}

}  // namespace eroom::collector
