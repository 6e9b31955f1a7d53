#include "tests/sim/room_simulator.h"

#include <map>
#include <random>
#include <string>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "re2/re2.h"
#include "tests/unit/test_support/status_matchers.h"

namespace eroom::sim {
namespace {

using ::eroom::test_support::IsOk;
using ::testing::HasSubstr;

RoomRequest Victoria() {
  RoomRequest request;
  request.uuid = "kQ7xVb2NfRhW9mZp3LsT8uYc1Ae2";
  request.theme = "victoria";
  request.keywords = {"vase", "clock", "fire place"};
  request.difficulty = "normal";
  request.room_prefab = "https://example.com/testMap03.prefab";
  return request;
}

RoomPlan Plan(double failure_rate, uint64_t seed,
              Generation generation = Generation::kOld,
              absl::Duration poll_interval = absl::Seconds(3)) {
  std::mt19937_64 rng(seed);
  PlanOptions options;
  options.generation = generation;
  options.failure_rate = failure_rate;
  options.poll_interval = poll_interval;
  return PlanRoom("room_3f9a1c2b7d4e8f60", Victoria(), options, rng);
}

int CountMessages(const RoomPlan& plan, absl::string_view needle) {
  int count = 0;
  for (const PlannedEvent& planned : plan.events) {
    if (absl::StrContains(planned.event.message, needle)) ++count;
  }
  return count;
}

TEST(ParseRoomRequestTest, AcceptsAFullBody) {
  absl::StatusOr<RoomRequest> request = ParseRoomRequest(
      R"({"uuid":"u1","theme":"victoria","keywords":["vase","clock"],)"
      R"("difficulty":"normal","room_prefab":"https://x/y.prefab"})");
  ASSERT_THAT(request, IsOk());
  EXPECT_EQ(request->uuid, "u1");
  EXPECT_EQ(request->theme, "victoria");
  EXPECT_THAT(request->keywords, ::testing::ElementsAre("vase", "clock"));
  EXPECT_EQ(request->difficulty, "normal");
  EXPECT_EQ(request->room_prefab, "https://x/y.prefab");
}

TEST(ParseRoomRequestTest, RejectsBadBodiesWithErooomMessages) {
  EXPECT_EQ(ParseRoomRequest("{not json").status().message(),
            "JSON 요청 본문 파싱에 실패했습니다.");
  EXPECT_EQ(ParseRoomRequest("[1,2]").status().message(),
            "유효하지 않은 요청 본문 또는 'uuid' (userId)가 누락되었습니다.");
  EXPECT_EQ(ParseRoomRequest(R"({"uuid":"  "})").status().message(),
            "유효하지 않은 요청 본문 또는 'uuid' (userId)가 누락되었습니다.");
  const std::string base = R"({"uuid":"u1","theme":"t","difficulty":"d",)"
                           R"("room_prefab":"p",)";
  EXPECT_THAT(
      ParseRoomRequest(base + R"("keywords":"vase"})").status().message(),
      HasSubstr("'keywords'"));
  EXPECT_THAT(ParseRoomRequest(base + R"("keywords":[]})").status().message(),
              HasSubstr("'keywords'"));
  EXPECT_THAT(ParseRoomRequest(base + R"("keywords":[1]})").status().message(),
              HasSubstr("'keywords'"));
  EXPECT_THAT(ParseRoomRequest(R"({"uuid":"u1","keywords":["a"],)"
                               R"("difficulty":"d","room_prefab":"p"})")
                  .status()
                  .message(),
              HasSubstr("'theme'"));
  EXPECT_THAT(ParseRoomRequest(R"({"uuid":"u1","theme":"t","keywords":["a"],)"
                               R"("room_prefab":"p"})")
                  .status()
                  .message(),
              HasSubstr("'difficulty'"));
  EXPECT_THAT(ParseRoomRequest(R"({"uuid":"u1","theme":"t","keywords":["a"],)"
                               R"("difficulty":"d"})")
                  .status()
                  .message(),
              HasSubstr("'room_prefab'"));
}

TEST(NewRuidTest, IsRoomAndSixteenLowercaseHexDigits) {
  std::mt19937_64 rng(1);
  for (int i = 0; i < 100; ++i) {
    EXPECT_TRUE(RE2::FullMatch(NewRuid(rng), "room_[0-9a-f]{16}"));
  }
}

TEST(RandomRoomRequestTest, PassesValidation) {
  std::mt19937_64 rng(3);
  const RoomRequest request = RandomRoomRequest(rng);
  EXPECT_EQ(request.uuid.size(), 28u);
  EXPECT_GE(request.keywords.size(), 2u);
  EXPECT_FALSE(request.theme.empty());
  EXPECT_FALSE(request.difficulty.empty());
  EXPECT_THAT(request.room_prefab, HasSubstr(".prefab"));
}

TEST(PlanRoomTest, SuccessfulRoomTakesFiveToEightMinutesInOrder) {
  for (uint64_t seed = 0; seed < 20; ++seed) {
    const RoomPlan plan = Plan(/*failure_rate=*/0, seed);
    ASSERT_TRUE(plan.success);
    EXPECT_GE(plan.processing_time, absl::Minutes(5));
    EXPECT_LE(plan.processing_time, absl::Minutes(8));
    ASSERT_FALSE(plan.events.empty());
    EXPECT_EQ(plan.events.front().event.message,
              "통합 방 생성 시작: ruid=room_3f9a1c2b7d4e8f60, "
              "user_uuid=kQ7xVb2NfRhW9mZp3LsT8uYc1Ae2, theme=victoria, "
              "difficulty=normal");
    EXPECT_EQ(plan.events.back().event.message,
              "통합 방 생성 완료: ruid=room_3f9a1c2b7d4e8f60, 스크립트 수=" +
                  std::to_string(plan.script_count));
    for (size_t i = 1; i < plan.events.size(); ++i) {
      ASSERT_LE(plan.events[i - 1].at, plan.events[i].at);
    }
    EXPECT_LE(plan.events.back().at, plan.processing_time);
    EXPECT_EQ(CountMessages(plan, "의 모델 생성 시작, 키 인덱스: "),
              plan.script_count - 1);
    EXPECT_EQ(plan.result["success"], true);
    EXPECT_EQ(plan.result["ruid"], "room_3f9a1c2b7d4e8f60");
    EXPECT_EQ(plan.result["scripts"].size(),
              static_cast<size_t>(plan.script_count));
  }
}

TEST(PlanRoomTest, MeshyPollsEveryIntervalPerModel) {
  const RoomPlan plan = Plan(0, 11);
  std::map<std::string, int> polls_per_thread;
  for (const PlannedEvent& planned : plan.events) {
    if (planned.event.message.starts_with("작업 상태: IN_PROGRESS")) {
      ++polls_per_thread[planned.event.thread];
    }
  }
  ASSERT_EQ(polls_per_thread.size(),
            static_cast<size_t>(plan.script_count - 1));
  for (const auto& [thread, polls] : polls_per_thread) {
    EXPECT_TRUE(thread.starts_with("pool-1-thread-")) << thread;
    // 4.5-6.8 minutes of 3-second polls.
    EXPECT_GE(polls, 80) << thread;
    EXPECT_LE(polls, 140) << thread;
  }
}

TEST(PlanRoomTest, LongerPollIntervalKeepsNoiseReadable) {
  // What the sim uses at --speed 60: one poll per wall-clock second.
  const RoomPlan plan = Plan(0, 11, Generation::kOld, absl::Seconds(60));
  std::map<std::string, int> poll_lines_per_thread;
  for (const PlannedEvent& planned : plan.events) {
    if (planned.event.message.starts_with("작업 상태")) {
      ++poll_lines_per_thread[planned.event.thread];
    }
  }
  for (const auto& [thread, lines] : poll_lines_per_thread) {
    EXPECT_LE(lines, 24) << thread;
  }
}

TEST(PlanRoomTest, BusinessErrorCarriesTheSampleStackTrace) {
  const RoomPlan plan = Plan(/*failure_rate=*/1, 5);
  EXPECT_FALSE(plan.success);
  EXPECT_GE(plan.processing_time, absl::Seconds(40));
  EXPECT_LE(plan.processing_time, absl::Seconds(51));
  const LogEvent& error = plan.events.back().event;
  EXPECT_EQ(error.level, LogLevel::kError);
  EXPECT_TRUE(error.message.starts_with(
      "통합 방 생성 중 비즈니스 오류 발생: ruid=room_3f9a1c2b7d4e8f60\n"
      "java.lang.RuntimeException: 통합 시나리오 생성 단계에서 오류 발생: "));
  EXPECT_THAT(error.message,
              HasSubstr("\n\tat com.febrie.eroom.service.room.RoomServiceImpl."
                        "createRoom(RoomServiceImpl.java:58)\n"));
  EXPECT_THAT(error.message, HasSubstr("\nCaused by: java.lang."
                                       "RuntimeException: "));
  EXPECT_TRUE(error.message.ends_with("\n\t... 8 common frames omitted"));
  EXPECT_EQ(plan.result["success"], false);
  EXPECT_EQ(plan.result["error"], plan.error);
}

TEST(PlanRoomTest, NewGenerationUsesKeyValueMessages) {
  const RoomPlan plan = Plan(0, 2, Generation::kNew);
  EXPECT_EQ(plan.events.front().event.message,
            "방 생성 시작 - ruid: room_3f9a1c2b7d4e8f60, "
            "uuid: kQ7xVb2NfRhW9mZp3LsT8uYc1Ae2, theme: victoria, "
            "difficulty: normal, freeModeling: false");
  EXPECT_EQ(CountMessages(plan, "통합 방 생성"), 0);
}

TEST(PlanRoomTest, SameSeedSamePlan) {
  const RoomPlan a = Plan(0.5, 42);
  const RoomPlan b = Plan(0.5, 42);
  ASSERT_EQ(a.events.size(), b.events.size());
  for (size_t i = 0; i < a.events.size(); ++i) {
    EXPECT_EQ(a.events[i].at, b.events[i].at);
    EXPECT_EQ(a.events[i].event.message, b.events[i].event.message);
  }
  EXPECT_EQ(a.processing_time, b.processing_time);
}

TEST(PlanRoomTest, ModelTroubleShowsUpOccasionally) {
  bool rate_limited = false;
  bool timed_out = false;
  for (uint64_t seed = 0; seed < 500 && !(rate_limited && timed_out); ++seed) {
    const RoomPlan plan = Plan(/*failure_rate=*/0.3, seed);
    if (!plan.success) continue;
    if (CountMessages(plan, "모델 생성 실패로 표시됨: ") > 0) {
      rate_limited = true;
      EXPECT_EQ(CountMessages(plan, "API 호출 실패. 상태 코드: 429"), 1);
      EXPECT_TRUE(plan.result["model_tracking"].contains("failed_models"));
    }
    if (CountMessages(plan, "모델 생성 타임아웃 발생") > 0) {
      timed_out = true;
      // The timeout fires 10 minutes after the models were awaited.
      EXPECT_GT(plan.processing_time, absl::Minutes(10));
    }
  }
  EXPECT_TRUE(rate_limited);
  EXPECT_TRUE(timed_out);
}

TEST(PlanRoomTest, NoModelTroubleWithoutFailures) {
  for (uint64_t seed = 0; seed < 50; ++seed) {
    const RoomPlan plan = Plan(0, seed);
    EXPECT_EQ(CountMessages(plan, "API 호출 실패"), 0);
    EXPECT_EQ(CountMessages(plan, "타임아웃"), 0);
  }
}

}  // namespace
}  // namespace eroom::sim
