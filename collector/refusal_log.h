#ifndef EROOM_COLLECTOR_REFUSAL_LOG_H_
#define EROOM_COLLECTOR_REFUSAL_LOG_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace eroom::collector {

// Logs refused calls with the caller's address. A client retrying with a bad
// token in a loop must not flood the log, so one refusal reason from one
// address is logged at most once per quiet period; the repeats are counted
// and reported with the next line logged for it.
class RefusalLog {
 public:
  using Writer = std::function<void(const std::string& line)>;

  // `write` receives each line (spdlog in the collector).
  RefusalLog(const Clock& clock, absl::Duration quiet_period, Writer write);

  // `peer` is gRPC's peer string ("ipv4:10.0.0.5:51234"); its port is not
  // part of what makes two refusals the same.
  void Refused(absl::string_view peer, absl::string_view reason);

 private:
  struct Entry {
    absl::Time logged_at;
    int64_t repeats = 0;  // Since logged_at, not logged.
  };
  // Addresses tracked at once; beyond, refusals are only counted.
  static constexpr size_t kMaxTracked = 1024;

  // Frees room for one more entry, folding stale entries' repeats into
  // untracked_. False if every entry is still within its quiet period.
  bool MakeRoomLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Clock& clock_;
  const absl::Duration quiet_period_;
  const Writer write_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
  int64_t untracked_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace eroom::collector

#endif  // EROOM_COLLECTOR_REFUSAL_LOG_H_
