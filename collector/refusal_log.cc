#include "collector/refusal_log.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace eroom::collector {
namespace {

// "ipv4:10.0.0.5:51234" -> "ipv4:10.0.0.5"; peers without a port unchanged.
absl::string_view WithoutPort(absl::string_view peer) {
  const size_t colon = peer.rfind(':');
  if (colon == absl::string_view::npos || colon + 1 == peer.size()) {
    return peer;
  }
  for (char c : peer.substr(colon + 1)) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return peer;
  }
  return peer.substr(0, colon);
}

}  // namespace

RefusalLog::RefusalLog(const Clock& clock, absl::Duration quiet_period,
                       Writer write)
    : clock_(clock), quiet_period_(quiet_period), write_(std::move(write)) {}

bool RefusalLog::MakeRoomLocked(absl::Time now) {
  if (entries_.size() < kMaxTracked) return true;
  // Counted outside the lambda, which the lock annotations do not reach.
  int64_t stale_repeats = 0;
  absl::erase_if(entries_, [&](const auto& entry) {
    if (now - entry.second.logged_at < quiet_period_) return false;
    stale_repeats += entry.second.repeats;
    return true;
  });
  untracked_ += stale_repeats;
  return entries_.size() < kMaxTracked;
}

void RefusalLog::Refused(absl::string_view peer, absl::string_view reason) {
  const absl::Time now = clock_.Now();
  std::string line;
  {
    absl::MutexLock lock(&mu_);
    const std::string key = absl::StrCat(WithoutPort(peer), " ", reason);
    auto it = entries_.find(key);
    if (it == entries_.end()) {
      if (!MakeRoomLocked(now)) {
        ++untracked_;
        return;
      }
      it = entries_.emplace(key, Entry{now - quiet_period_, 0}).first;
    }
    Entry& entry = it->second;
    if (now - entry.logged_at < quiet_period_) {
      ++entry.repeats;
      return;
    }
    line = absl::StrCat("refused a call from ", peer, ": ", reason);
    if (entry.repeats > 0) {
      absl::StrAppend(&line, " (repeated ", entry.repeats,
                      " times from this address in the last ",
                      absl::FormatDuration(now - entry.logged_at), ")");
    }
    if (untracked_ > 0) {
      absl::StrAppend(&line, "; ", untracked_,
                      " refusals from too many other addresses went unlogged");
      untracked_ = 0;
    }
    entry = Entry{now, 0};
  }
  write_(line);
}

}  // namespace eroom::collector
