#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/classifier.h"
#include "agent/log_header_parser.h"
#include "agent/room_tracker.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace eroom::agent {
namespace {

namespace v1 = ::eroom::monitor::v1;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr char kRoomA[] = "room_3f9a1c2b7d4e8f60";
constexpr char kRoomB[] = "room_a81c5e09d2b47f3e";
constexpr char kRoomNew[] = "room_5b2e9d70c1a43f88";

// A stack trace as ERoom logs it after a room's failure line.
constexpr char kTrace[] =
    "\njava.lang.RuntimeException: 통합 시나리오 생성 단계에서 오류 발생\n"
    "\tat com.febrie.eroom.service.room.RoomServiceImpl.createRoom("
    "RoomServiceImpl.java:58)\n"
    "\t... 8 common frames omitted";

class RoomTrackerTest : public testing::Test {
 protected:
  // What the classifier and the tracker make of one real-format line (the
  // shipped pattern, read in UTC), with `continuation` lines appended.
  v1::LogEvent Track(std::string_view line,
                     std::string_view continuation = "") {
    v1::LogEvent event;
    const std::optional<LogHeader> header = parser_.Parse(line, LogFileDate{});
    EXPECT_TRUE(header.has_value()) << line;
    if (!header) return event;
    event.set_time_unix_ms(header->time_unix_ms);
    event.set_level(header->level);
    event.set_thread(std::string(header->thread));
    event.set_logger(std::string(header->logger));
    event.set_message(std::string(header->message).append(continuation));
    event.set_has_header(true);
    classifier_.Classify(event);
    tracker_.Assign(event);
    tracked_.push_back(event);
    return event;
  }
  std::string RuidOf(std::string_view line) { return Track(line).ruid(); }

  // The events tracked so far of `type`.
  std::vector<v1::LogEvent> OfType(std::string_view type) const {
    std::vector<v1::LogEvent> found;
    for (const v1::LogEvent& event : tracked_) {
      if (event.event_type() == type) found.push_back(event);
    }
    return found;
  }

  const LogHeaderParser parser_{absl::UTCTimeZone()};
  const Classifier classifier_ =
      *Classifier::Create(DefaultClassificationRules());
  RoomTracker tracker_;
  std::vector<v1::LogEvent> tracked_;
};

std::string FieldOf(const v1::LogEvent& event, const std::string& name) {
  auto it = event.fields().find(name);
  return it == event.fields().end() ? "(none)" : it->second;
}

// The older generation, as in ERoom's own sample: the room service's line is
// the outcome; the queue manager's report after it is not another room.
TEST_F(RoomTrackerTest, OlderGenerationSuccessIsOneCompletion) {
  Track(
      "2025-06-16 09:15:02.120 [pool-2-thread-1] INFO  "
      "c.f.e.s.queue.RoomRequestQueueManager    : 큐에서 요청 추출됨. ruid: "
      "room_3f9a1c2b7d4e8f60, 큐 대기 시간: 2ms");
  EXPECT_EQ(
      RuidOf("2025-06-16 09:15:02.121 [pool-2-thread-1] INFO  "
             "c.f.e.s.queue.RoomRequestQueueManager    : === 백그라운드 처리 "
             "시작 ==="),
      "");
  EXPECT_EQ(RuidOf("2025-06-16 09:15:02.122 [pool-2-thread-1] INFO  "
                   "c.f.eroom.service.room.RoomServiceImpl   : 통합 방 생성 "
                   "시작: ruid=room_3f9a1c2b7d4e8f60, "
                   "user_uuid=kQ7xVb2NfRhW9mZp3LsT8uYc1Ae2, theme=victoria, "
                   "difficulty=normal"),
            kRoomA);
  EXPECT_EQ(RuidOf("2025-06-16 09:15:48.914 [pool-2-thread-1] INFO  "
                   "c.f.eroom.service.room.RoomServiceImpl   : 3D 모델 생성 "
                   "시작: 7 개의 오브젝트 인스트럭션"),
            kRoomA);
  const v1::LogEvent completed = Track(
      "2025-06-16 09:21:40.110 [pool-2-thread-1] INFO  "
      "c.f.eroom.service.room.RoomServiceImpl   : 통합 방 생성 완료: "
      "ruid=room_3f9a1c2b7d4e8f60, 스크립트 수=7");
  const v1::LogEvent report = Track(
      "2025-06-16 09:21:40.111 [pool-2-thread-1] INFO  "
      "c.f.e.s.queue.RoomRequestQueueManager    : 처리 시간: 397990ms");
  Track(
      "2025-06-16 09:21:40.112 [pool-2-thread-1] INFO  "
      "c.f.e.s.queue.RoomRequestQueueManager    : 백그라운드 처리 성공. ruid: "
      "room_3f9a1c2b7d4e8f60. 총 완료 건수: 1");

  ASSERT_EQ(OfType("room_completed").size(), 1u);
  EXPECT_EQ(completed.event_type(), "room_completed");
  EXPECT_EQ(completed.ruid(), kRoomA);
  EXPECT_EQ(FieldOf(completed, "outcome"), "success");
  EXPECT_EQ(FieldOf(completed, "queue_wait_ms"), "2");
  // Not reported before the outcome: from room_started to the outcome.
  EXPECT_EQ(FieldOf(completed, "processing_ms"), "397988");
  EXPECT_EQ(FieldOf(completed, "scripts"), "7");
  EXPECT_EQ(report.event_type(), "processing_time");
  EXPECT_EQ(report.ruid(), kRoomA);
  EXPECT_EQ(FieldOf(report, "processing_ms"), "397990");
}

TEST_F(RoomTrackerTest, OlderGenerationFailureAndItsReportAreOneFailure) {
  Track(
      "2025-06-16 10:02:11.470 [pool-2-thread-1] INFO  "
      "c.f.e.s.queue.RoomRequestQueueManager    : 큐에서 요청 추출됨. ruid: "
      "room_a81c5e09d2b47f3e, 큐 대기 시간: 35012ms");
  Track(
      "2025-06-16 10:02:11.480 [pool-2-thread-1] INFO  "
      "c.f.eroom.service.room.RoomServiceImpl   : 통합 방 생성 시작: "
      "ruid=room_a81c5e09d2b47f3e, user_uuid=user_12345, theme=surgery, "
      "difficulty=hard");
  const v1::LogEvent failed = Track(
      "2025-06-16 10:02:58.207 [pool-2-thread-1] ERROR "
      "c.f.eroom.service.room.RoomServiceImpl   : 통합 방 생성 중 "
      "비즈니스 오류 발생: ruid=room_a81c5e09d2b47f3e",
      kTrace);
  Track(
      "2025-06-16 10:02:58.209 [pool-2-thread-1] INFO  "
      "c.f.e.s.queue.RoomRequestQueueManager    : === "
      "RoomService.createRoom() 완료 ===");
  const v1::LogEvent time = Track(
      "2025-06-16 10:02:58.209 [pool-2-thread-1] INFO  "
      "c.f.e.s.queue.RoomRequestQueueManager    : 처리 시간: 46729ms");
  const v1::LogEvent result = Track(
      "2025-06-16 10:02:58.209 [pool-2-thread-1] INFO  "
      "c.f.e.s.queue.RoomRequestQueueManager    : 결과 성공 여부: false");

  ASSERT_EQ(OfType("room_failed").size(), 1u);
  EXPECT_THAT(OfType("room_completed"), IsEmpty());
  EXPECT_EQ(failed.event_type(), "room_failed");
  EXPECT_EQ(failed.ruid(), kRoomB);
  EXPECT_EQ(FieldOf(failed, "outcome"), "failure");
  EXPECT_EQ(FieldOf(failed, "kind"), "business");
  EXPECT_EQ(FieldOf(failed, "queue_wait_ms"), "35012");
  EXPECT_EQ(FieldOf(failed, "processing_ms"), "46727");
  // The report still belongs to the room, but is no outcome, and no
  // processing_time event lacks its time.
  EXPECT_EQ(time.ruid(), kRoomB);
  EXPECT_EQ(result.ruid(), kRoomB);
  EXPECT_EQ(result.event_type(), "room_result");
  for (const v1::LogEvent& event : OfType("processing_time")) {
    EXPECT_NE(FieldOf(event, "processing_ms"), "(none)");
  }
}

// Without the room service's verdict (a request it refused), the queue
// manager's `결과 성공 여부` is the outcome, with the time reported before it.
TEST_F(RoomTrackerTest, ResultLineIsTheOutcomeWhenNothingElseSaidIt) {
  Track(
      "2025-06-16 10:02:11.480 [pool-2-thread-1] INFO  "
      "c.f.eroom.service.room.RoomServiceImpl   : 통합 방 생성 시작: "
      "ruid=room_a81c5e09d2b47f3e, user_uuid=u, theme=t, difficulty=hard");
  Track(
      "2025-06-16 10:02:11.485 [pool-2-thread-1] INFO  "
      "c.f.e.s.queue.RoomRequestQueueManager    : 처리 시간: 5ms");
  const v1::LogEvent result = Track(
      "2025-06-16 10:02:11.485 [pool-2-thread-1] INFO  "
      "c.f.e.s.queue.RoomRequestQueueManager    : 결과 성공 여부: false");
  EXPECT_EQ(result.event_type(), "room_failed");
  EXPECT_EQ(result.ruid(), kRoomB);
  EXPECT_EQ(FieldOf(result, "outcome"), "failure");
  EXPECT_EQ(FieldOf(result, "processing_ms"), "5");
  EXPECT_EQ(OfType("room_failed").size(), 1u);
  // The report is over: the idle worker is no longer the room's, not even
  // for a report line.
  EXPECT_EQ(RuidOf("2025-06-16 10:02:11.486 [pool-2-thread-1] DEBUG "
                   "c.f.e.s.queue.RoomRequestQueueManager    : 큐에서 요청 "
                   "대기 중... 현재 큐 크기: 0"),
            "");
  EXPECT_EQ(RuidOf("2025-06-16 10:02:11.487 [pool-2-thread-1] INFO  "
                   "c.f.e.s.queue.RoomRequestQueueManager    : 처리 시간: 7ms"),
            "");
}

// The newer generation logs `방 생성 완료 - ruid: ...` three times per
// room: two summaries in the room service, the outcome in the queue manager.
TEST_F(RoomTrackerTest, NewerGenerationSuccessIsOneCompletion) {
  Track(
      "2025-07-02 14:01:10.200 [XNIO-1 task-1] INFO  "
      "c.f.e.s.queue.RoomRequestQueueManager    : 요청 큐 추가됨 - ruid: "
      "room_5b2e9d70c1a43f88, uuid: user_777, queueSize: 1, active: 0, "
      "completed: 4");
  Track(
      "2025-07-02 14:01:10.201 [pool-2-thread-1] DEBUG "
      "c.f.e.s.queue.RoomRequestQueueManager    : 큐에서 요청 추출 - ruid: "
      "room_5b2e9d70c1a43f88, waitTime: 1500ms");
  Track(
      "2025-07-02 14:01:10.201 [pool-2-thread-1] INFO  "
      "c.f.e.s.queue.RoomRequestQueueManager    : 처리 시작 - ruid: "
      "room_5b2e9d70c1a43f88, uuid: user_777, active: 1");
  Track(
      "2025-07-02 14:01:10.202 [pool-2-thread-1] INFO  "
      "c.f.eroom.service.room.RoomServiceImpl   : 방 생성 시작 - ruid: "
      "room_5b2e9d70c1a43f88, uuid: user_777, theme: hospital, difficulty: "
      "easy, freeModeling: false");
  const v1::LogEvent statistics = Track(
      "2025-07-02 14:07:12.300 [pool-2-thread-1] INFO  "
      "c.f.eroom.service.room.RoomServiceImpl   : 방 생성 완료 - ruid: "
      "room_5b2e9d70c1a43f88, totalObjects: 7, generatedScripts: 7, "
      "successRate: 100%");
  const v1::LogEvent scripts = Track(
      "2025-07-02 14:07:12.340 [pool-2-thread-1] INFO  "
      "c.f.eroom.service.room.RoomServiceImpl   : 방 생성 완료 - ruid: "
      "room_5b2e9d70c1a43f88, scripts: 6");
  const v1::LogEvent completed = Track(
      "2025-07-02 14:07:12.345 [pool-2-thread-1] INFO  "
      "c.f.e.s.queue.RoomRequestQueueManager    : 방 생성 완료 - ruid: "
      "room_5b2e9d70c1a43f88, duration: 362143ms, theme: hospital, "
      "scripts: 6");
  Track(
      "2025-07-02 14:07:12.346 [pool-2-thread-1] INFO  "
      "c.f.e.s.queue.RoomRequestQueueManager    : 처리 성공 - ruid: "
      "room_5b2e9d70c1a43f88, completed: 5");

  ASSERT_EQ(OfType("room_completed").size(), 1u);
  EXPECT_EQ(statistics.event_type(), "room_summary");
  EXPECT_EQ(scripts.event_type(), "room_summary");
  EXPECT_EQ(statistics.ruid(), kRoomNew);
  EXPECT_EQ(completed.event_type(), "room_completed");
  EXPECT_EQ(completed.ruid(), kRoomNew);
  EXPECT_EQ(FieldOf(completed, "outcome"), "success");
  EXPECT_EQ(FieldOf(completed, "processing_ms"), "362143");
  EXPECT_EQ(FieldOf(completed, "queue_wait_ms"), "1500");
  // The summaries enrich the outcome.
  EXPECT_EQ(FieldOf(completed, "total_objects"), "7");
}

// Newer builds log a failure in the room service (with the trace) and again
// in the queue manager: the first is the outcome, the second only a report.
TEST_F(RoomTrackerTest, NewerGenerationFailureIsOneFailure) {
  Track(
      "2025-07-02 14:07:12.349 [pool-2-thread-1] INFO  "
      "c.f.eroom.service.room.RoomServiceImpl   : 방 생성 시작 - ruid: "
      "room_a81c5e09d2b47f3e, uuid: u, theme: victoria, difficulty: hard, "
      "freeModeling: true");
  const v1::LogEvent failed = Track(
      "2025-07-02 14:08:00.557 [pool-2-thread-1] ERROR "
      "c.f.eroom.service.room.RoomServiceImpl   : 통합 방 생성 중 "
      "비즈니스 오류 발생: ruid=room_a81c5e09d2b47f3e",
      kTrace);
  const v1::LogEvent repeated = Track(
      "2025-07-02 14:08:00.559 [pool-2-thread-1] ERROR "
      "c.f.e.s.queue.RoomRequestQueueManager    : 방 생성 실패 - ruid: "
      "room_a81c5e09d2b47f3e, duration: 48210ms, error: 통합 시나리오 "
      "생성 단계에서 오류 발생");
  ASSERT_EQ(OfType("room_failed").size(), 1u);
  EXPECT_EQ(failed.event_type(), "room_failed");
  EXPECT_EQ(FieldOf(failed, "processing_ms"), "48208");
  EXPECT_EQ(repeated.event_type(), "room_report");
  EXPECT_EQ(repeated.ruid(), kRoomB);
  EXPECT_EQ(FieldOf(repeated, "duration_ms"), "48210");
}

// A background failure (an exception out of createRoom) is the room's
// failure; the report block after it is not another one.
TEST_F(RoomTrackerTest, BackgroundFailureIsTheRoomsFailure) {
  Track(
      "2025-06-16 10:02:11.480 [pool-2-thread-1] INFO  "
      "c.f.eroom.service.room.RoomServiceImpl   : 통합 방 생성 시작: "
      "ruid=room_a81c5e09d2b47f3e, user_uuid=u, theme=t, difficulty=hard");
  const v1::LogEvent failed = Track(
      "2025-06-16 10:02:12.680 [pool-2-thread-1] ERROR "
      "c.f.e.s.queue.RoomRequestQueueManager    : === 백그라운드 처리 중 "
      "오류 발생 ===");
  const v1::LogEvent time = Track(
      "2025-06-16 10:02:12.680 [pool-2-thread-1] ERROR "
      "c.f.e.s.queue.RoomRequestQueueManager    : 처리 시간: 1200ms");
  EXPECT_EQ(failed.event_type(), "room_failed");
  EXPECT_EQ(failed.ruid(), kRoomB);
  EXPECT_EQ(FieldOf(failed, "kind"), "background");
  EXPECT_EQ(time.event_type(), "processing_time");
  EXPECT_EQ(time.ruid(), kRoomB);
  EXPECT_EQ(OfType("room_failed").size(), 1u);
}

// ERoom runs one room at a time: the model pool's lines while it runs are
// the room's, those after its outcome are not.
TEST_F(RoomTrackerTest, ModelPoolLinesBelongToTheRunningRoom) {
  Track(
      "2025-06-16 09:15:02.122 [pool-2-thread-1] INFO  "
      "c.f.eroom.service.room.RoomServiceImpl   : 통합 방 생성 시작: "
      "ruid=room_3f9a1c2b7d4e8f60, user_uuid=u, theme=victoria, "
      "difficulty=normal");
  const v1::LogEvent rate_limited = Track(
      "2025-06-16 09:15:50.344 [pool-1-thread-4] ERROR "
      "c.f.eroom.service.mesh.MeshyApiService   : API 호출 실패. 상태 "
      "코드: 429, 메시지: ");
  EXPECT_EQ(rate_limited.event_type(), "model_failed");
  EXPECT_EQ(rate_limited.ruid(), kRoomA);
  EXPECT_EQ(RuidOf("2025-06-16 09:15:50.345 [pool-1-thread-4] ERROR "
                   "c.f.eroom.service.mesh.MeshyApiService   : 에러 응답: "
                   "{\"message\":\"Too many requests. Please slow down.\"}"),
            kRoomA);
  EXPECT_EQ(RuidOf("2025-06-16 09:15:50.345 [pool-1-thread-4] ERROR "
                   "c.f.eroom.service.mesh.MeshyApiService   : MantelClock의 "
                   "프리뷰 생성 실패"),
            kRoomA);
  EXPECT_EQ(RuidOf("2025-06-16 09:17:31.266 [pool-1-thread-1] INFO  "
                   "c.f.eroom.service.mesh.MeshyApiService   : 작업 상태: "
                   "SUCCEEDED, 진행률: 100%"),
            kRoomA);
  // HTTP threads serve other clients meanwhile.
  EXPECT_EQ(RuidOf("2025-06-16 09:18:40.215 [XNIO-1 I/O-2] WARN  "
                   "c.febrie.eroom.filter.ApiKeyAuthFilter   : Authorization "
                   "헤더가 요청에 없습니다: /queue/status"),
            "");
  Track(
      "2025-06-16 09:21:40.110 [pool-2-thread-1] INFO  "
      "c.f.eroom.service.room.RoomServiceImpl   : 통합 방 생성 완료: "
      "ruid=room_3f9a1c2b7d4e8f60, 스크립트 수=7");
  // A model still polling after the room gave up on it.
  EXPECT_EQ(RuidOf("2025-06-16 09:21:41.000 [pool-1-thread-6] INFO  "
                   "c.f.eroom.service.mesh.MeshyApiService   : 작업 상태: "
                   "IN_PROGRESS, 진행률: 99%"),
            "");
}

// Where two rooms run at once (maxConcurrent above 1), a model pool line
// could be either's: it gets none. Each worker's own lines stay its room's.
TEST_F(RoomTrackerTest, OverlappingRoomsKeepOnlyTheirWorkersLines) {
  Track(
      "2025-06-16 09:15:02.122 [pool-2-thread-1] INFO  "
      "c.f.eroom.service.room.RoomServiceImpl   : 통합 방 생성 시작: "
      "ruid=room_3f9a1c2b7d4e8f60, user_uuid=u, theme=t, difficulty=d");
  // A second worker of the queue's pool, idle, is not the room's.
  EXPECT_EQ(RuidOf("2025-06-16 09:15:03.000 [pool-2-thread-2] DEBUG "
                   "c.f.e.s.queue.RoomRequestQueueManager    : 큐에서 요청 "
                   "대기 중... 현재 큐 크기: 0"),
            "");
  Track(
      "2025-06-16 09:15:04.000 [pool-2-thread-2] INFO  "
      "c.f.eroom.service.room.RoomServiceImpl   : 통합 방 생성 시작: "
      "ruid=room_a81c5e09d2b47f3e, user_uuid=u, theme=t, difficulty=d");
  EXPECT_EQ(RuidOf("2025-06-16 09:15:50.344 [pool-1-thread-4] ERROR "
                   "c.f.eroom.service.mesh.MeshyApiService   : API 호출 실패. "
                   "상태 코드: 429, 메시지: "),
            "");
  EXPECT_EQ(RuidOf("2025-06-16 09:16:06.541 [pool-2-thread-1] INFO  "
                   "c.f.eroom.service.room.RoomServiceImpl   : 통합 스크립트 "
                   "생성 완료: 7 개"),
            kRoomA);
  EXPECT_EQ(RuidOf("2025-06-16 09:16:06.542 [pool-2-thread-2] INFO  "
                   "c.f.eroom.service.room.RoomServiceImpl   : 통합 스크립트 "
                   "생성 완료: 5 개"),
            kRoomB);
  Track(
      "2025-06-16 09:20:00.000 [pool-2-thread-2] ERROR "
      "c.f.eroom.service.room.RoomServiceImpl   : 통합 방 생성 중 시스템 오류 "
      "발생: ruid=room_a81c5e09d2b47f3e");
  // One room runs again.
  EXPECT_EQ(RuidOf("2025-06-16 09:20:01.000 [pool-1-thread-2] INFO  "
                   "c.f.eroom.service.mesh.MeshyApiService   : 작업 상태: "
                   "SUCCEEDED, 진행률: 100%"),
            kRoomA);
}

TEST_F(RoomTrackerTest, OwnRuidWinsOverTheRunningRoom) {
  Track(
      "2025-06-16 09:15:02.122 [pool-2-thread-1] INFO  "
      "c.f.eroom.service.room.RoomServiceImpl   : 통합 방 생성 시작: "
      "ruid=room_3f9a1c2b7d4e8f60, user_uuid=u, theme=t, difficulty=d");
  EXPECT_EQ(RuidOf("2025-06-16 09:15:03.000 [XNIO-1 I/O-1] INFO  "
                   "com.febrie.eroom.handler.ApiHandler      : ruid "
                   "'room_a81c5e09d2b47f3e'에 대한 결과가 전달되고 "
                   "삭제되었습니다."),
            kRoomB);
  EXPECT_EQ(RuidOf("2025-06-16 09:16:06.541 [pool-2-thread-1] INFO  "
                   "c.f.eroom.service.room.RoomServiceImpl   : 통합 스크립트 "
                   "생성 완료: 7 개"),
            kRoomA);
}

// A room cut short by a restart has no outcome; nothing after the restart
// is its.
TEST_F(RoomTrackerTest, ServerRestartEndsEveryRoom) {
  Track(
      "2025-06-16 11:40:00.000 [pool-2-thread-1] INFO  "
      "c.f.eroom.service.room.RoomServiceImpl   : 통합 방 생성 시작: "
      "ruid=room_3f9a1c2b7d4e8f60, user_uuid=u, theme=t, difficulty=d");
  Track(
      "2025-06-16 11:41:12.880 [Thread-0] INFO  com.febrie.eroom.Main        "
      "            : 애플리케이션 종료 중...");
  Track(
      "2025-06-16 11:42:02.172 [main] INFO  "
      "com.febrie.eroom.server.UndertowServer   : 서버가 성공적으로 "
      "시작되었습니다");
  EXPECT_EQ(RuidOf("2025-06-16 11:43:00.000 [pool-1-thread-1] INFO  "
                   "c.f.eroom.service.mesh.MeshyApiService   : 작업 상태: "
                   "IN_PROGRESS, 진행률: 0%"),
            "");
  EXPECT_EQ(RuidOf("2025-06-16 11:43:00.001 [pool-2-thread-1] DEBUG "
                   "c.f.e.s.queue.RoomRequestQueueManager    : 큐에서 요청 "
                   "대기 중... 현재 큐 크기: 0"),
            "");
}

TEST_F(RoomTrackerTest, NothingBeforeTheFirstRoom) {
  EXPECT_EQ(RuidOf("2025-06-16 09:12:02.032 [pool-2-thread-1] INFO  "
                   "c.f.e.s.queue.RoomRequestQueueManager    : 처리 시간: 5ms"),
            "");
  EXPECT_EQ(RuidOf("2025-06-16 09:15:02.119 [XNIO-1 I/O-4] INFO  "
                   "c.f.e.s.queue.RoomRequestQueueManager    : Room Prefab: "
                   "'room_prefab.prefab'"),
            "");
  EXPECT_THAT(OfType("room_failed"), ElementsAre());
}

}  // namespace
}  // namespace eroom::agent
