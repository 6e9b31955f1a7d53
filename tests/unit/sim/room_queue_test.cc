#include "tests/sim/room_queue.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "re2/re2.h"
#include "tests/unit/sim/test_support.h"
#include "tests/unit/test_support/fake_clock.h"

namespace eroom::sim {
namespace {

using ::testing::HasSubstr;

RoomRequest Request(const std::string& uuid) {
  RoomRequest request;
  request.uuid = uuid;
  request.theme = "victoria";
  request.keywords = {"vase", "clock", "fire place"};
  request.difficulty = "normal";
  request.room_prefab = "https://example.com/testMap03.prefab";
  return request;
}

class RoomQueueTest : public ::testing::Test {
 protected:
  void Make(double speed, double failure_rate,
            Generation generation = Generation::kOld) {
    RoomQueue::Options options;
    options.speed = speed;
    options.seed = 9;
    options.plan.failure_rate = failure_rate;
    options.plan.generation = generation;
    queue_ = std::make_unique<RoomQueue>(clock_, log_, options);
  }

  // Moves the fake clock from due time to due time until `done` holds.
  template <typename Predicate>
  void RunUntil(Predicate done) {
    for (int steps = 0;; ++steps) {
      const absl::Time next = queue_->RunDueEvents();
      if (done()) return;
      ASSERT_LT(steps, 100000) << "queue stopped making progress";
      ASSERT_NE(next, absl::InfiniteFuture()) << "queue went idle";
      clock_.Set(std::max(next, clock_.Now()));
    }
  }

  std::string StatusOf(const std::string& ruid) {
    std::optional<RoomQueue::Result> result = queue_->TakeResult(ruid, "t");
    if (!result.has_value()) return "unknown";
    if (result->final) return "final";
    return result->body["status"].get<std::string>();
  }

  FakeClock clock_;
  MemorySink sink_;
  EventLog log_{clock_, sink_, absl::UTCTimeZone()};
  std::unique_ptr<RoomQueue> queue_;
};

TEST_F(RoomQueueTest, SubmitLogsTheTenLineBlockAndQueues) {
  Make(1, 0);
  const std::string ruid = queue_->Submit(Request("u1"), "XNIO-1 I/O-4");
  EXPECT_TRUE(RE2::FullMatch(ruid, "room_[0-9a-f]{16}"));
  const std::vector<std::string> lines = sink_.Lines();
  ASSERT_EQ(lines.size(), 12u);
  EXPECT_THAT(lines[0], HasSubstr("[XNIO-1 I/O-4] INFO  "
                                  "c.f.e.s.queue.RoomRequestQueueManager    "
                                  ": === 요청 제출 상세 정보 ==="));
  EXPECT_THAT(lines[1], HasSubstr(": RUID: " + ruid));
  EXPECT_THAT(lines[3], HasSubstr(": Theme: 'victoria'"));
  EXPECT_THAT(lines[4], HasSubstr(": Keywords: vase, clock, fire place"));
  EXPECT_THAT(lines[6], HasSubstr(": Room Prefab: "
                                  "'https://example.com/testMap03.prefab'"));
  EXPECT_THAT(lines[8], HasSubstr(": Current Queue Size BEFORE: 0"));
  EXPECT_THAT(lines[9], HasSubstr(": ========================"));
  EXPECT_THAT(lines[10], HasSubstr(": 방 생성 요청 큐에 추가됨. ruid: " + ruid +
                                   ", user_uuid: u1, 현재 큐 크기: 1"));
  EXPECT_THAT(lines[11],
              HasSubstr(": 큐 추가 후 상태 - Active: 0, Completed: 0"));
  const QueueCounts counts = queue_->Counts();
  EXPECT_EQ(counts.queued, 1);
  EXPECT_EQ(counts.active, 0);
  EXPECT_EQ(counts.completed, 0);
  EXPECT_EQ(counts.max_concurrent, 1);
}

TEST_F(RoomQueueTest, CountersAndResultsFollowTheRoomLifecycle) {
  Make(1, 0);
  const std::string first = queue_->Submit(Request("u1"), "XNIO-1 I/O-1");
  const std::string second = queue_->Submit(Request("u2"), "XNIO-1 I/O-2");
  EXPECT_EQ(StatusOf(first), "QUEUED");

  queue_->RunDueEvents();
  QueueCounts counts = queue_->Counts();
  EXPECT_EQ(counts.queued, 1);  // The running room is not counted.
  EXPECT_EQ(counts.active, 1);
  EXPECT_EQ(StatusOf(first), "PROCESSING");
  EXPECT_EQ(StatusOf(second), "QUEUED");

  RunUntil([&] { return queue_->Counts().completed == 1; });
  counts = queue_->Counts();
  EXPECT_EQ(counts.queued, 0);
  EXPECT_EQ(counts.active, 1);
  EXPECT_EQ(StatusOf(second), "PROCESSING");

  EXPECT_EQ(StatusOf(first), "final");
  EXPECT_EQ(StatusOf(first), "unknown");  // Delivered once, then deleted.
  EXPECT_TRUE(
      sink_.Contains("[t] INFO  com.febrie.eroom.handler.ApiHandler"
                     "      : ruid '" +
                     first + "'에 대한 결과가 전달되고 삭제되었습니다."));

  RunUntil([&] { return queue_->Counts().completed == 2; });
  counts = queue_->Counts();
  EXPECT_EQ(counts.active, 0);
  EXPECT_EQ(counts.queued, 0);
  EXPECT_EQ(queue_->RunDueEvents(), absl::InfiniteFuture());
  EXPECT_EQ(StatusOf("room_0000000000000000"), "unknown");
}

TEST_F(RoomQueueTest, FinalResultIsTheRoomWithACompletionTimestamp) {
  Make(1, 0);
  const std::string ruid = queue_->Submit(Request("u1"), "x");
  RunUntil([&] { return queue_->Counts().completed == 1; });
  std::optional<RoomQueue::Result> result = queue_->TakeResult(ruid, "x");
  ASSERT_TRUE(result.has_value());
  EXPECT_TRUE(result->final);
  EXPECT_EQ(result->body["ruid"], ruid);
  EXPECT_EQ(result->body["uuid"], "u1");
  EXPECT_EQ(result->body["success"], true);
  EXPECT_EQ(result->body["timestamp"],
            absl::StrCat(absl::ToUnixMillis(clock_.Now())));
}

TEST_F(RoomQueueTest, QueueWaitIsMeasuredAndProcessingTimeIsUnscaled) {
  Make(/*speed=*/60, 0);
  const absl::Time submitted = clock_.Now();
  queue_->Submit(Request("u1"), "x");
  const std::string second = queue_->Submit(Request("u2"), "x");
  RunUntil([&] { return queue_->Counts().completed == 1; });
  const absl::Duration first_wall = clock_.Now() - submitted;
  // A 5-8 minute room takes 5-8 s at speed 60.
  EXPECT_GE(first_wall, absl::Seconds(5));
  EXPECT_LE(first_wall, absl::Seconds(8));

  std::string processing_ms;
  std::string wait_ms;
  for (const std::string& line : sink_.Lines()) {
    RE2::PartialMatch(line, ": 처리 시간: (\\d+)ms$", &processing_ms);
    RE2::PartialMatch(line, "ruid: " + second + ", 큐 대기 시간: (\\d+)ms$",
                      &wait_ms);
  }
  // The log shows the simulated duration, as a real host's would.
  EXPECT_GE(std::stoll(processing_ms), 5 * 60 * 1000);
  EXPECT_LE(std::stoll(processing_ms), 8 * 60 * 1000);
  EXPECT_EQ(std::stoll(wait_ms), absl::ToInt64Milliseconds(first_wall));
}

TEST_F(RoomQueueTest, OldGenerationProcessingBlocks) {
  Make(1, 0);
  const std::string ruid = queue_->Submit(Request("u1"), "x");
  RunUntil([&] { return queue_->Counts().completed == 1; });
  const std::string text = sink_.Text();
  for (const std::string& message :
       {"큐에서 요청 추출됨. ruid: " + ruid + ", 큐 대기 시간: 0ms",
        std::string("=== 백그라운드 처리 시작 ==="),
        "RoomService.createRoom() 호출 시작. ruid: " + ruid,
        "통합 방 생성 시작: ruid=" + ruid,
        std::string("=== RoomService.createRoom() 완료 ==="),
        std::string("결과 성공 여부: true"),
        "백그라운드 처리 성공. ruid: " + ruid + ". 총 완료 건수: 1",
        "백그라운드 처리 종료. ruid: " + ruid + ", 남은 활성 요청: 0"}) {
    EXPECT_THAT(text, HasSubstr(message));
  }
}

TEST_F(RoomQueueTest, FailedRoomStillCountsAsCompleted) {
  Make(1, /*failure_rate=*/1);
  const std::string ruid = queue_->Submit(Request("u1"), "x");
  RunUntil([&] { return queue_->Counts().completed == 1; });
  EXPECT_TRUE(
      sink_.Contains("통합 방 생성 중 비즈니스 오류 발생: ruid=" + ruid));
  EXPECT_TRUE(sink_.Contains(": 결과 성공 여부: false\n"));
  std::optional<RoomQueue::Result> result = queue_->TakeResult(ruid, "x");
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->body["success"], false);
}

TEST_F(RoomQueueTest, NewGenerationMessages) {
  Make(1, 0, Generation::kNew);
  const std::string ruid = queue_->Submit(Request("u1"), "x");
  queue_->Submit(Request("u2"), "x");
  RunUntil([&] { return queue_->Counts().completed == 1; });
  EXPECT_TRUE(sink_.Contains("요청 큐 추가됨 - ruid: " + ruid +
                             ", uuid: u1, queueSize: 1, active: 0, "
                             "completed: 0\n"));
  EXPECT_TRUE(
      sink_.Contains("처리 시작 - ruid: " + ruid + ", uuid: u1, active: 1\n"));
  EXPECT_TRUE(
      RE2::PartialMatch(sink_.Text(), "방 생성 완료 - ruid: " + ruid +
                                          ", duration: \\d{6}ms, theme: "
                                          "victoria, scripts: \\d+\n"));
  EXPECT_FALSE(sink_.Contains("통합 방 생성"));
  EXPECT_FALSE(sink_.Contains("=== 요청 제출 상세 정보 ==="));

  Make(1, 1, Generation::kNew);
  const std::string failed = queue_->Submit(Request("u3"), "x");
  RunUntil([&] { return queue_->Counts().completed == 1; });
  EXPECT_TRUE(RE2::PartialMatch(
      sink_.Text(),
      "ERROR c.f.e.s.queue.RoomRequestQueueManager    : 방 생성 "
      "실패 - ruid: " +
          failed + ", duration: \\d+ms, error: 통합 시나리오"));
}

TEST_F(RoomQueueTest, EveryLineMatchesTheLogbackPattern) {
  for (Generation generation : {Generation::kOld, Generation::kNew}) {
    Make(1, 0.5, generation);
    std::vector<std::string> ruids;
    for (int i = 0; i < 6; ++i) {
      ruids.push_back(queue_->Submit(Request(absl::StrCat("u", i)), "x"));
    }
    RunUntil([&] { return queue_->Counts().completed == 6; });
    for (const std::string& ruid : ruids) queue_->TakeResult(ruid, "x");
  }
  const std::vector<std::string> lines = sink_.Lines();
  EXPECT_GT(lines.size(), 1000u);
  for (const std::string& line : lines) {
    ASSERT_TRUE(IsLogbackLine(line)) << line;
  }
}

TEST_F(RoomQueueTest, WorkerRunsRoomsInRealTime) {
  RoomQueue::Options options;
  options.speed = 100000;  // A room takes a few milliseconds.
  options.plan.failure_rate = 0;
  RoomQueue queue(RealClock::Get(), log_, options);
  queue.StartWorker();
  EXPECT_TRUE(sink_.Contains("큐 프로세서 워커 시작: pool-2-thread-1"));
  EXPECT_TRUE(
      sink_.Contains("RoomRequestQueueManager 초기화 완료. 최대 동시 처리 "
                     "수: 1"));
  queue.Submit(Request("u1"), "x");
  EXPECT_TRUE(PollUntil([&] { return queue.Counts().completed == 1; }));
  EXPECT_FALSE(queue.StopWorker());  // Idle: nothing was interrupted.
}

TEST_F(RoomQueueTest, StoppingTheWorkerMidRoomReportsIt) {
  RoomQueue::Options options;
  options.plan.failure_rate = 0;
  RoomQueue queue(RealClock::Get(), log_, options);
  queue.StartWorker();
  queue.Submit(Request("u1"), "x");
  EXPECT_TRUE(PollUntil([&] { return queue.Counts().active == 1; }));
  EXPECT_TRUE(queue.StopWorker());
}

}  // namespace
}  // namespace eroom::sim
