#include "tests/sim/room_queue.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tests/sim/catalog.h"

namespace eroom::sim {
namespace {

// Collects RoomRequestQueueManager events of one thread for one write.
class QueueManagerEvents {
 public:
  explicit QueueManagerEvents(absl::string_view thread) : thread_(thread) {}
  void Add(LogLevel level, std::string message) {
    events_.push_back(LogEvent{std::string(thread_), level, kQueueManagerLogger,
                               std::move(message)});
  }
  void Info(std::string message) { Add(LogLevel::kInfo, std::move(message)); }
  void Debug(std::string message) { Add(LogLevel::kDebug, std::move(message)); }
  const std::vector<LogEvent>& events() const { return events_; }

 private:
  absl::string_view thread_;
  std::vector<LogEvent> events_;
};

}  // namespace

RoomQueue::RoomQueue(const Clock& clock, EventLog& log, Options options)
    : clock_(clock), log_(log), options_(options), rng_(options.seed) {}

RoomQueue::~RoomQueue() { StopWorker(); }

std::string RoomQueue::Submit(const RoomRequest& request,
                              absl::string_view thread) {
  absl::MutexLock lock(&mu_);
  const absl::Time now = clock_.Now();
  std::string ruid;
  do {
    ruid = NewRuid(rng_);
  } while (jobs_.contains(ruid));
  const size_t size_before = pending_.size();
  pending_.push_back(Pending{ruid, request, now});
  jobs_[ruid] = Job{};
  work_arrived_ = true;

  const int active = running_.has_value() ? 1 : 0;
  QueueManagerEvents events(thread);
  if (options_.plan.generation == Generation::kOld) {
    events.Info("=== 요청 제출 상세 정보 ===");
    events.Info(absl::StrCat("RUID: ", ruid));
    events.Info(absl::StrCat("User UUID: ", request.uuid));
    events.Info(absl::StrCat("Theme: '", request.theme, "'"));
    events.Info(
        absl::StrCat("Keywords: ", absl::StrJoin(request.keywords, ", ")));
    events.Info(absl::StrCat("Difficulty: '", request.difficulty, "'"));
    events.Info(absl::StrCat("Room Prefab: '", request.room_prefab, "'"));
    events.Info(absl::StrCat("Queue Time: ", absl::ToUnixMillis(now)));
    events.Info(absl::StrCat("Current Queue Size BEFORE: ", size_before));
    events.Info("========================");
    events.Info(absl::StrCat("방 생성 요청 큐에 추가됨. ruid: ", ruid,
                             ", user_uuid: ", request.uuid,
                             ", 현재 큐 크기: ", pending_.size()));
    events.Info(absl::StrCat("큐 추가 후 상태 - Active: ", active,
                             ", Completed: ", completed_));
  } else {
    events.Debug(absl::StrCat(
        "요청 제출 - ruid: ", ruid, ", uuid: ", request.uuid, ", theme: ",
        request.theme, ", keywords: [", absl::StrJoin(request.keywords, ", "),
        "], difficulty: ", request.difficulty, ", queueSize: ", size_before));
    events.Info(
        absl::StrCat("요청 큐 추가됨 - ruid: ", ruid, ", uuid: ", request.uuid,
                     ", queueSize: ", pending_.size(), ", active: ", active,
                     ", completed: ", completed_));
  }
  log_.Log(events.events());
  return ruid;
}

QueueCounts RoomQueue::Counts() const {
  absl::MutexLock lock(&mu_);
  QueueCounts counts;
  counts.queued = static_cast<int>(pending_.size());
  counts.active = running_.has_value() ? 1 : 0;
  counts.completed = completed_;
  return counts;
}

std::optional<RoomQueue::Result> RoomQueue::TakeResult(
    const std::string& ruid, absl::string_view thread) {
  absl::MutexLock lock(&mu_);
  auto it = jobs_.find(ruid);
  if (it == jobs_.end()) return std::nullopt;
  if (it->second.status != JobStatus::kDone) {
    nlohmann::ordered_json status;
    status["ruid"] = ruid;
    status["status"] =
        it->second.status == JobStatus::kQueued ? "QUEUED" : "PROCESSING";
    return Result{false, std::move(status)};
  }
  Result result{true, std::move(it->second.result)};
  jobs_.erase(it);
  log_.Log(LogEvent{std::string(thread), LogLevel::kInfo, kApiHandlerLogger,
                    absl::StrCat("ruid '", ruid,
                                 "'에 대한 결과가 전달되고 삭제되었습니다.")});
  return result;
}

absl::Time RoomQueue::DueAt(absl::Duration simulated) const {
  return running_->started_at + simulated / options_.speed;
}

absl::Time RoomQueue::RunDueEvents() {
  absl::MutexLock lock(&mu_);
  const absl::Time now = clock_.Now();
  while (true) {
    if (!running_.has_value()) {
      if (pending_.empty()) return absl::InfiniteFuture();
      StartNext(now);
    }
    std::vector<PlannedEvent>& planned = running_->plan.events;
    std::vector<LogEvent> due;
    size_t& next = running_->next_event;
    while (next < planned.size() && DueAt(planned[next].at) <= now) {
      due.push_back(std::move(planned[next].event));
      ++next;
    }
    if (!due.empty()) log_.Log(due);
    if (next < planned.size()) return DueAt(planned[next].at);
    const absl::Time finish_at = DueAt(running_->plan.processing_time);
    if (finish_at > now) return finish_at;
    Finish(now);
  }
}

void RoomQueue::StartNext(absl::Time now) {
  Pending next = std::move(pending_.front());
  pending_.pop_front();
  jobs_[next.ruid].status = JobStatus::kProcessing;
  const int64_t wait_ms = absl::ToInt64Milliseconds(now - next.queued_at);

  QueueManagerEvents events(kWorkerThread);
  if (options_.plan.generation == Generation::kOld) {
    events.Info(absl::StrCat("큐에서 요청 추출됨. ruid: ", next.ruid,
                             ", 큐 대기 시간: ", wait_ms, "ms"));
    events.Info("=== 백그라운드 처리 시작 ===");
    events.Info(absl::StrCat("RUID: ", next.ruid));
    events.Info(absl::StrCat("User UUID: ", next.request.uuid));
    events.Info("현재 활성 요청: 1");
    events.Info(absl::StrCat("처리 시작 시간: ", absl::ToUnixMillis(now)));
    events.Info("===========================");
    events.Info(
        absl::StrCat("RoomService.createRoom() 호출 시작. ruid: ", next.ruid));
  } else {
    events.Debug(absl::StrCat("큐에서 요청 추출 - ruid: ", next.ruid,
                              ", waitTime: ", wait_ms, "ms"));
    events.Info(absl::StrCat("처리 시작 - ruid: ", next.ruid,
                             ", uuid: ", next.request.uuid, ", active: 1"));
    events.Debug(
        absl::StrCat("RoomService.createRoom() 호출 - ruid: ", next.ruid));
  }
  log_.Log(events.events());

  RoomPlan plan = PlanRoom(next.ruid, next.request, options_.plan, rng_);
  running_ = Running{std::move(next.ruid), std::move(next.request),
                     std::move(plan), now};
}

void RoomQueue::Finish(absl::Time now) {
  Running room = std::move(*running_);
  running_.reset();
  ++completed_;
  const RoomPlan& plan = room.plan;
  nlohmann::ordered_json result = plan.result;
  result["timestamp"] = absl::StrCat(absl::ToUnixMillis(now));
  const int64_t duration_ms = absl::ToInt64Milliseconds(plan.processing_time);

  QueueManagerEvents events(kWorkerThread);
  if (options_.plan.generation == Generation::kOld) {
    std::vector<std::string> fields;
    for (const auto& item : result.items()) fields.push_back(item.key());
    events.Info("=== RoomService.createRoom() 완료 ===");
    events.Info(absl::StrCat("RUID: ", room.ruid));
    events.Info(absl::StrCat("처리 시간: ", duration_ms, "ms"));
    events.Info(
        absl::StrCat("결과 성공 여부: ", plan.success ? "true" : "false"));
    events.Info(absl::StrCat("결과 객체 크기: ", fields.size(), " 필드"));
    events.Info(
        absl::StrCat("결과 필드들: [", absl::StrJoin(fields, ", "), "]"));
    events.Info("===============================");
    events.Info(absl::StrCat("백그라운드 처리 성공. ruid: ", room.ruid,
                             ". 총 완료 건수: ", completed_));
    events.Info(absl::StrCat("백그라운드 처리 종료. ruid: ", room.ruid,
                             ", 남은 활성 요청: 0"));
  } else {
    if (plan.success) {
      events.Info(absl::StrCat(
          "방 생성 완료 - ruid: ", room.ruid, ", duration: ", duration_ms,
          "ms, theme: ", room.request.theme, ", scripts: ", plan.script_count));
    } else {
      events.Add(
          LogLevel::kError,
          absl::StrCat("방 생성 실패 - ruid: ", room.ruid,
                       ", duration: ", duration_ms, "ms, error: ", plan.error));
    }
    events.Info(absl::StrCat("처리 성공 - ruid: ", room.ruid,
                             ", completed: ", completed_));
    events.Debug(absl::StrCat("처리 종료 - ruid: ", room.ruid, ", active: 0"));
  }
  events.Debug(
      absl::StrCat("큐에서 요청 대기 중... 현재 큐 크기: ", pending_.size()));
  log_.Log(events.events());

  Job& job = jobs_[room.ruid];
  job.status = JobStatus::kDone;
  job.result = std::move(result);
}

void RoomQueue::StartWorker() {
  const bool old_generation = options_.plan.generation == Generation::kOld;
  log_.Log({
      LogEvent{kWorkerThread,
               old_generation ? LogLevel::kInfo : LogLevel::kDebug,
               kQueueManagerLogger,
               absl::StrCat("큐 프로세서 워커 시작: ", kWorkerThread)},
      LogEvent{kMainThread, LogLevel::kInfo, kQueueManagerLogger,
               old_generation
                   ? "RoomRequestQueueManager 초기화 완료. 최대 동시 처리 수: 1"
                   : "RoomRequestQueueManager 초기화 - maxConcurrent: 1"},
      LogEvent{kWorkerThread, LogLevel::kDebug, kQueueManagerLogger,
               "큐에서 요청 대기 중... 현재 큐 크기: 0"},
  });
  worker_ = std::thread([this] { RunWorker(); });
}

void RoomQueue::RunWorker() {
  while (true) {
    const absl::Time next_due = RunDueEvents();
    absl::MutexLock lock(&mu_);
    auto woken = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return stopping_ || work_arrived_;
    };
    mu_.AwaitWithDeadline(absl::Condition(&woken), next_due);
    if (stopping_) return;
    work_arrived_ = false;
  }
}

bool RoomQueue::StopWorker() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (worker_.joinable()) worker_.join();
  absl::MutexLock lock(&mu_);
  return running_.has_value();
}

}  // namespace eroom::sim
