#include <string>

#include "agent/classifier.h"
#include "agent/room_tracker.h"
#include "gtest/gtest.h"

namespace eroom::agent {
namespace {

namespace v1 = ::eroom::monitor::v1;

constexpr char kWorker[] = "pool-2-thread-1";
constexpr char kRoomA[] = "room_3f9a1c2b7d4e8f60";
constexpr char kRoomB[] = "room_a81c5e09d2b47f3e";

class RoomTrackerTest : public testing::Test {
 protected:
  // The ruid the tracker gives the classified event.
  std::string RuidOf(const std::string& thread, v1::LogLevel level,
                     const std::string& message) {
    v1::LogEvent event;
    event.set_thread(thread);
    event.set_level(level);
    event.set_message(message);
    event.set_has_header(true);
    classifier_.Classify(event);
    tracker_.Assign(event);
    return event.ruid();
  }

  Classifier classifier_ = *Classifier::Create(DefaultClassificationRules());
  RoomTracker tracker_;
};

TEST_F(RoomTrackerTest, OlderGenerationRoomAndItsReport) {
  EXPECT_EQ(RuidOf("XNIO-1 I/O-4", v1::INFO,
                   "방 생성 요청 큐에 추가됨. ruid: room_3f9a1c2b7d4e8f60, "
                   "user_uuid: u, 현재 큐 크기: 1"),
            kRoomA);
  EXPECT_EQ(RuidOf(kWorker, v1::INFO, "=== 백그라운드 처리 시작 ==="), "");
  EXPECT_EQ(RuidOf(kWorker, v1::INFO,
                   "통합 방 생성 시작: ruid=room_3f9a1c2b7d4e8f60, "
                   "user_uuid=u, theme=victoria, difficulty=normal"),
            kRoomA);
  // Worker lines without a ruid belong to the running room.
  EXPECT_EQ(RuidOf(kWorker, v1::INFO,
                   "3D 모델 생성 시작: 7 개의 오브젝트 인스트럭션"),
            kRoomA);
  EXPECT_EQ(RuidOf(kWorker, v1::WARN,
                   "모델 생성 실패로 표시됨: MantelClock -> error-preview"),
            kRoomA);
  // Other threads' lines do not.
  EXPECT_EQ(
      RuidOf("pool-1-thread-1", v1::INFO, "작업 상태: SUCCEEDED, 진행률: 100%"),
      "");
  // A ruid mentioned in an unclassified line is used.
  EXPECT_EQ(RuidOf("XNIO-1 I/O-1", v1::INFO,
                   "ruid 'room_3f9a1c2b7d4e8f60'에 대한 결과가 전달되고 "
                   "삭제되었습니다."),
            kRoomA);
  EXPECT_EQ(
      RuidOf(kWorker, v1::INFO,
             "통합 방 생성 완료: ruid=room_3f9a1c2b7d4e8f60, 스크립트 수=7"),
      kRoomA);
  // The report after the room still belongs to it ...
  EXPECT_EQ(RuidOf(kWorker, v1::INFO, "처리 시간: 397990ms"), kRoomA);
  // ... but idle worker lines after the run do not.
  EXPECT_EQ(
      RuidOf(kWorker, v1::DEBUG, "큐에서 요청 대기 중... 현재 큐 크기: 0"), "");

  EXPECT_EQ(RuidOf(kWorker, v1::INFO,
                   "통합 방 생성 시작: ruid=room_a81c5e09d2b47f3e, "
                   "user_uuid=u, theme=surgery, difficulty=hard"),
            kRoomB);
  EXPECT_EQ(
      RuidOf(kWorker, v1::ERROR,
             "통합 방 생성 중 시스템 오류 발생: ruid=room_a81c5e09d2b47f3e"),
      kRoomB);
  EXPECT_EQ(RuidOf(kWorker, v1::ERROR, "=== 백그라운드 처리 중 오류 발생 ==="),
            kRoomB);
  EXPECT_EQ(RuidOf(kWorker, v1::ERROR, "처리 시간: 1200ms"), kRoomB);
}

TEST_F(RoomTrackerTest, SuccessLineClosesTheReport) {
  RuidOf(kWorker, v1::INFO,
         "방 생성 시작 - ruid: room_3f9a1c2b7d4e8f60, uuid: u, theme: t, "
         "difficulty: easy, freeModeling: false");
  EXPECT_EQ(RuidOf(kWorker, v1::INFO,
                   "방 생성 완료 - ruid: room_3f9a1c2b7d4e8f60, duration: 5ms, "
                   "theme: t, scripts: 6"),
            kRoomA);
  EXPECT_EQ(RuidOf(kWorker, v1::INFO, "처리 시간: 362145ms"), kRoomA);
  EXPECT_EQ(RuidOf(kWorker, v1::INFO, "결과 성공 여부: true"), kRoomA);
  EXPECT_EQ(RuidOf(kWorker, v1::INFO, "처리 시간: 5ms"), "");
  EXPECT_EQ(RuidOf(kWorker, v1::INFO, "결과 성공 여부: true"), "");
}

TEST_F(RoomTrackerTest, OwnRuidWinsOverTheRunningRoom) {
  RuidOf(kWorker, v1::INFO,
         "통합 방 생성 시작: ruid=room_3f9a1c2b7d4e8f60, user_uuid=u, "
         "theme=t, difficulty=d");
  EXPECT_EQ(RuidOf(kWorker, v1::INFO,
                   "큐에서 요청 추출됨. ruid: room_a81c5e09d2b47f3e, 큐 대기 "
                   "시간: 2ms"),
            kRoomB);
  EXPECT_EQ(RuidOf(kWorker, v1::INFO, "통합 스크립트 생성 완료: 7 개"), kRoomA);
}

TEST_F(RoomTrackerTest, NothingBeforeTheFirstRoom) {
  EXPECT_EQ(RuidOf(kWorker, v1::INFO, "처리 시간: 5ms"), "");
  EXPECT_EQ(RuidOf(kWorker, v1::INFO, "Room Prefab: 'room_prefab.prefab'"), "");
}

}  // namespace
}  // namespace eroom::agent
