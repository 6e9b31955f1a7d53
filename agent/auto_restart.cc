#include "agent/auto_restart.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/metric_catalog.h"
#include "spdlog/spdlog.h"

namespace eroom::agent {
namespace v1 = ::eroom::monitor::v1;

AutoRestart::AutoRestart(AutoRestartPolicy policy, SafeRestart& restart,
                         RestartHost& host, NoticeSink notices,
                         const Clock& clock)
    : policy_(policy),
      restart_(restart),
      host_(host),
      notices_(std::move(notices)),
      clock_(clock),
      backoff_(policy_.backoff_initial) {}

void AutoRestart::Check() {
  const absl::Time now = clock_.Now();
  if (host_.EroomPid().has_value()) {
    Recovered();
    return;
  }
  if (!down_since_) down_since_ = now;
  if (now - *down_since_ < policy_.down_for) return;
  if (next_attempt_ && now < *next_attempt_) return;
  while (!attempts_.empty() && now - attempts_.front() >= absl::Hours(1)) {
    attempts_.pop_front();
  }
  if (static_cast<int>(attempts_.size()) >= policy_.max_attempts_per_hour) {
    if (!limit_reported_) {
      limit_reported_ = true;
      const absl::Time allowed_at = attempts_.front() + absl::Hours(1);
      Notify(notice_kind::kAutoRestartLimitReached,
             absl::StrCat(policy_.max_attempts_per_hour,
                          " auto-restart attempts in the last hour: no more "
                          "until ",
                          absl::FormatTime(allowed_at), "; ERoom is down"),
             policy_.max_attempts_per_hour);
    }
    return;
  }
  limit_reported_ = false;
  attempts_.push_back(now);
  const int attempt = ++attempts_since_down_;
  Notify(notice_kind::kAutoRestartAttempt,
         absl::StrCat("ERoom down for ",
                      absl::FormatDuration(
                          absl::Trunc(now - *down_since_, absl::Seconds(1))),
                      ": auto-restart attempt ", attempt),
         attempt);
  const v1::CommandProgress outcome =
      restart_.StartAndCheck([](const v1::CommandProgress&) {});
  if (outcome.state() == v1::SUCCEEDED) {
    Notify(
        notice_kind::kAutoRestartSucceeded,
        absl::StrCat("auto-restart attempt ", attempt, ": ", outcome.message()),
        attempt);
    Recovered();
    return;
  }
  next_attempt_ = clock_.Now() + backoff_;
  Notify(notice_kind::kAutoRestartFailed,
         absl::StrCat("auto-restart attempt ", attempt, " failed at ",
                      outcome.step(), ": ", outcome.message(),
                      "; next attempt in ", absl::FormatDuration(backoff_)),
         attempt);
  backoff_ = std::min(backoff_ * 2, policy_.backoff_max);
}

void AutoRestart::Recovered() {
  down_since_.reset();
  next_attempt_.reset();
  backoff_ = policy_.backoff_initial;
  attempts_since_down_ = 0;
}

void AutoRestart::Notify(const char* kind, std::string message, int64_t count) {
  spdlog::warn("{}", message);
  v1::AgentNotice notice;
  notice.set_time_unix_ms(absl::ToUnixMillis(clock_.Now()));
  notice.set_kind(kind);
  notice.set_message(std::move(message));
  notice.set_count(count);
  notices_(std::move(notice));
}

}  // namespace eroom::agent
