#ifndef EROOM_TESTS_SIM_ROOM_QUEUE_H_
#define EROOM_TESTS_SIM_ROOM_QUEUE_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "nlohmann/json.hpp"
#include "tests/sim/log_writer.h"
#include "tests/sim/room_simulator.h"
#include "tests/unit/test_support/fake_clock.h"

namespace eroom::sim {

// What GET /queue/status reports.
struct QueueCounts {
  int queued = 0;     // Waiting; excludes the running room.
  int active = 0;     // 0 or 1.
  int completed = 0;  // Finished since start, failures included.
  int max_concurrent = 1;
};

// ERoom's RoomRequestQueueManager and JobResultStore: an unbounded FIFO with
// one worker, and the results waiting to be fetched. The worker replays each
// room's plan against the injected clock at `speed` times real pace: tests
// drive it with RunDueEvents() and a FakeClock, real runs with StartWorker().
class RoomQueue {
 public:
  struct Options {
    double speed = 1;
    PlanOptions plan;
    uint64_t seed = 0;
  };

  RoomQueue(const Clock& clock, EventLog& log, Options options);
  ~RoomQueue();
  RoomQueue(const RoomQueue&) = delete;
  RoomQueue& operator=(const RoomQueue&) = delete;

  // Enqueues a room, logging the submission from `thread` as ERoom does, and
  // returns its ruid.
  std::string Submit(const RoomRequest& request, absl::string_view thread);

  QueueCounts Counts() const;

  // A /room/result answer: {"ruid","status"} while the room is queued or
  // processing, else the final result.
  struct Result {
    bool final = false;
    nlohmann::ordered_json body;
  };
  // The answer for `ruid`; a final result is delivered once and then
  // forgotten (logged from `thread`). nullopt for an unknown ruid.
  std::optional<Result> TakeResult(const std::string& ruid,
                                   absl::string_view thread);

  // Logs everything due by the clock's now: dequeues, planned room events,
  // completions. Returns when the next event is due (InfiniteFuture() when
  // idle).
  absl::Time RunDueEvents();

  // Logs the worker's start and runs RunDueEvents on its own thread, waking
  // at each due time or on Submit, until StopWorker.
  void StartWorker();
  // Stops the worker thread; true if a room was being processed (the caller
  // logs ERoom's forced-executor-shutdown warning then).
  bool StopWorker();

 private:
  enum class JobStatus { kQueued, kProcessing, kDone };
  struct Job {
    JobStatus status = JobStatus::kQueued;
    nlohmann::ordered_json result;  // Set once kDone.
  };
  struct Pending {
    std::string ruid;
    RoomRequest request;
    absl::Time queued_at;
  };
  struct Running {
    std::string ruid;
    RoomRequest request;
    RoomPlan plan;
    absl::Time started_at;
    size_t next_event = 0;
  };

  // Wall-clock time of a simulated offset into the running room.
  absl::Time DueAt(absl::Duration simulated) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void StartNext(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Finish(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RunWorker();

  const Clock& clock_;
  EventLog& log_;
  const Options options_;

  mutable absl::Mutex mu_;
  std::mt19937_64 rng_ ABSL_GUARDED_BY(mu_);
  std::deque<Pending> pending_ ABSL_GUARDED_BY(mu_);
  std::optional<Running> running_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Job> jobs_ ABSL_GUARDED_BY(mu_);
  int completed_ ABSL_GUARDED_BY(mu_) = 0;
  // Set by Submit so that an idle worker wakes up.
  bool work_arrived_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread worker_;
};

}  // namespace eroom::sim

#endif  // EROOM_TESTS_SIM_ROOM_QUEUE_H_
