#ifndef EROOM_COLLECTOR_LOG_FOLLOW_H_
#define EROOM_COLLECTOR_LOG_FOLLOW_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "collector/ingest.h"
#include "collector/log_filter.h"
#include "collector/storage.h"
#include "eroom/monitor/v1/monitor.pb.h"

namespace eroom::collector {

// `eroomctl logs -f`: FollowLogs streams. Each follower reads from storage
// what it has not sent yet, a page at a time on the query workers, and
// sends it; the ingest thread only wakes followers. Nothing is buffered for
// a follower beyond the page it is sending: a slow client falls behind and
// catches up from storage, and never makes the collector hold more.

// The most events a follower reads and sends at once.
inline constexpr int32_t kFollowPageEvents = 1000;

// The most follows a collector serves at once: each takes a query worker
// for a moment whenever log events are stored.
inline constexpr int kMaxLogFollows = 64;

// The request's filter compiled (LogFilter::Compile); INVALID_ARGUMENT,
// naming the field, for what a follow cannot take: a filter
// LogFilter::Compile refuses, until, before_cursor or context in the filter,
// a negative resume time, a resume position without a host.
absl::StatusOr<LogFilter> ValidateFollowRequest(
    const eroom::monitor::v1::FollowLogsRequest& request);

// Where a follower sends what it read: a FollowLogs stream.
class FollowStream {
 public:
  virtual ~FollowStream() = default;
  // Starts sending `response` (valid until the follower's OnSent); one send
  // at a time.
  virtual void Send(const eroom::monitor::v1::FollowLogsResponse* response) = 0;
  // Ends the stream with `status`. Called once, and last.
  virtual void End(const absl::Status& status) = 0;
};

// One FollowLogs stream's reader. Thread-safe; every method returns at once.
class LogFollower {
 public:
  // Hands `work` to the query workers; false when they cannot take it.
  using Submit = std::function<bool(std::function<void()> work)>;

  // `filter` is `request`'s, validated (ValidateFollowRequest); the
  // filter's limit is the backlog's size, positive.
  LogFollower(StorageReader& storage, Submit submit,
              const eroom::monitor::v1::FollowLogsRequest& request,
              LogFilter filter, FollowStream& stream);

  // Reads the backlog (or what a resume needs) and sends it, even if
  // there is none, then what is stored later as OnStored says it is.
  void Start();
  // Log events were stored.
  void OnStored();
  // The send in progress is over: sent, or the stream broke.
  void OnSent(bool ok);
  // Ends the stream with `why` as soon as no read or send is in progress.
  void Stop(const absl::Status& why);

 private:
  enum class State { kReading, kSending, kIdle, kDone };

  // On a worker: reads the next events and sends them, or waits for more.
  void Read();
  // The events to send next (none: nothing more is stored now).
  absl::StatusOr<std::vector<eroom::monitor::v1::StoredLogEvent>> NextEvents();
  // Whether a resume still needs `event`, read while catching up.
  bool NeededOnResume(const eroom::monitor::v1::StoredLogEvent& event) const;
  // Reads again on a worker; ends the stream if none can take it.
  void ReadAgain() ABSL_UNLOCK_FUNCTION(mu_);
  // Ends the stream with `status`: the last thing the follower does.
  void End(absl::Status status) ABSL_UNLOCK_FUNCTION(mu_);

  StorageReader& storage_;
  const Submit submit_;
  FollowStream& stream_;
  // Asked by storage reads: a stopping follower stops reading.
  std::atomic<bool> stopping_ = false;

  absl::Mutex mu_;
  State state_ ABSL_GUARDED_BY(mu_) = State::kReading;
  // Events were stored since the read in progress began.
  bool stored_since_read_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status stop_ ABSL_GUARDED_BY(mu_);  // Why to end; OK: go on.

  // Owned by the one read in progress (reads never overlap).
  const LogFilter filter_;
  const int32_t backlog_limit_;
  bool started_ = false;
  bool answered_ = false;  // A response was sent.
  int64_t position_ = 0;   // Everything stored through it was read.
  // A resume: each listed host's last sequence sent, and from when the
  // others' events are needed, for the events stored through
  // resume_through_ (those stored later are all new).
  absl::flat_hash_map<std::string, uint64_t> resume_after_;
  int64_t resume_received_unix_ms_ = 0;
  int64_t resume_through_ = 0;
  const bool resuming_;
  const std::vector<eroom::monitor::v1::LogPosition> resume_positions_;
  eroom::monitor::v1::FollowLogsResponse sending_;  // While kSending.
};

// Every follow in progress, woken by what ingest stores: the IngestObserver
// of `logs -f`.
class LogFollowers final : public IngestObserver {
 public:
  LogFollowers(StorageReader& storage, LogFollower::Submit submit,
               int max_follows);

  // A follower for `request` (its limit applied) sending to `stream`,
  // registered but not started; what ValidateFollowRequest refuses,
  // RESOURCE_EXHAUSTED when max_follows are in progress, UNAVAILABLE once
  // stopped.
  absl::StatusOr<std::shared_ptr<LogFollower>> Add(
      eroom::monitor::v1::FollowLogsRequest request, FollowStream& stream);
  // Forgets a follower whose stream ended.
  void Remove(const LogFollower* follower);
  // Ends every follow (UNAVAILABLE: the collector is stopping, so that
  // clients resume elsewhere or later) and refuses new ones.
  void Stop();

  void OnStored(const StoredBatch& batch) override;

 private:
  std::vector<std::shared_ptr<LogFollower>> Snapshot();

  StorageReader& storage_;
  const LogFollower::Submit submit_;
  const int max_follows_;
  absl::Mutex mu_;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_map<const LogFollower*, std::shared_ptr<LogFollower>>
      followers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace eroom::collector

#endif  // EROOM_COLLECTOR_LOG_FOLLOW_H_
