#include "tests/sim/sim_server.h"

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "re2/re2.h"
#include "tests/unit/sim/test_support.h"
#include "tests/unit/test_support/status_matchers.h"

namespace eroom::sim {
namespace {

using ::eroom::test_support::IsOk;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kKey[] = "test-key";
constexpr char kRoomBody[] =
    R"({"uuid":"u1","theme":"victoria","keywords":["vase","clock"],)"
    R"("difficulty":"normal","room_prefab":"https://x/testMap03.prefab"})";

class SimServerTest : public ::testing::Test {
 protected:
  void StartServer(SimOptions options) {
    options.port = 0;
    options.seed = 1;
    server_ = std::make_unique<SimServer>(RealClock::Get(), sink_,
                                          absl::UTCTimeZone(), options);
    ASSERT_THAT(server_->Start(), IsOk());
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
  }
  void StartServer() {
    SimOptions options;
    options.api_key = kKey;
    options.speed = 1000;
    options.failure_rate = 0;
    StartServer(options);
  }

  httplib::Result Get(const std::string& path, const std::string& key = kKey) {
    httplib::Headers headers;
    if (!key.empty()) headers.emplace("Authorization", key);
    return client_->Get(path.c_str(), headers);
  }
  httplib::Result Post(const std::string& path, const std::string& body) {
    return client_->Post(path.c_str(), {{"Authorization", kKey}}, body,
                         "application/json");
  }
  httplib::Result SetFault(const std::string& name, bool enabled) {
    return Post("/_sim/fault",
                nlohmann::json{{"fault", name}, {"enabled", enabled}}.dump());
  }
  nlohmann::json Json(const httplib::Result& result) {
    return nlohmann::json::parse(result->body);
  }

  MemorySink sink_;
  std::unique_ptr<SimServer> server_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(SimServerTest, StartupWritesErooomsStartupSequence) {
  StartServer();
  const std::vector<std::string> lines = sink_.Lines();
  const std::vector<std::string> expected = {
      "[main] WARN  c.febrie.eroom.config.ApplicationConfig  : 유효하지 않은 "
      "포트 번호: --config=config/config.json.",
      "[main] INFO  c.f.e.config.JsonConfigurationManager    : 설정 파일이 "
      "성공적으로 로드되었습니다",
      "[main] INFO  c.f.e.config.EnvironmentApiKeyProvider   : ANTHROPIC_KEY "
      "환경 변수가 설정되었습니다.",
      "[main] INFO  c.f.e.config.EnvironmentApiKeyProvider   : MESHY_KEY 환경 "
      "변수가 설정되었습니다.",
      "[main] INFO  c.f.eroom.config.EnvironmentAuthProvider : "
      "EROOM_PRIVATE_KEY 환경 변수가 설정되었습니다.",
      "[pool-2-thread-1] INFO  c.f.e.s.queue.RoomRequestQueueManager    : 큐 "
      "프로세서 워커 시작: pool-2-thread-1",
      "[main] INFO  c.f.e.s.queue.RoomRequestQueueManager    : "
      "RoomRequestQueueManager 초기화 완료. 최대 동시 처리 수: 1",
      "[pool-2-thread-1] DEBUG c.f.e.s.queue.RoomRequestQueueManager    : "
      "큐에서 요청 대기 중... 현재 큐 크기: 0",
      absl::StrCat("[main] INFO  com.febrie.eroom.server.UndertowServer   : "
                   "Undertow 서버가 포트 ",
                   server_->port(), "에서 시작 준비 완료"),
      "[main] INFO  io.undertow                              : starting "
      "server: Undertow - 2.3.18.Final",
      "[main] INFO  org.xnio                                 : XNIO version "
      "3.8.16.Final",
      "[main] INFO  com.febrie.eroom.server.UndertowServer   : 서버가 "
      "성공적으로 시작되었습니다",
  };
  ASSERT_EQ(lines.size(), expected.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    EXPECT_THAT(lines[i], HasSubstr(expected[i]));
    EXPECT_TRUE(IsLogbackLine(lines[i])) << lines[i];
  }
}

TEST_F(SimServerTest, PortInUseFailsTheStart) {
  StartServer();
  SimOptions options;
  options.port = server_->port();
  MemorySink second_sink;
  SimServer second(RealClock::Get(), second_sink, absl::UTCTimeZone(), options);
  EXPECT_THAT(second.Start(), Not(IsOk()));
  EXPECT_TRUE(second_sink.Contains(
      "ERROR com.febrie.eroom.Main                    : 서버 시작 중 오류 "
      "발생: java.net.BindException: Address already in use"));
}

TEST_F(SimServerTest, EveryPathNeedsTheExactKey) {
  StartServer();
  httplib::Result missing = Get("/queue/status", "");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 401);
  EXPECT_EQ(missing->body, R"({"error":"인증이 필요합니다"})");
  EXPECT_TRUE(sink_.Contains(
      "WARN  c.febrie.eroom.filter.ApiKeyAuthFilter   : Authorization 헤더가 "
      "요청에 없습니다: /queue/status\n"));

  httplib::Result wrong = Get("/health", "Bearer test-key");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  EXPECT_EQ(wrong->body, R"({"error":"인증 실패"})");
  EXPECT_TRUE(sink_.Contains(
      "WARN  c.febrie.eroom.filter.ApiKeyAuthFilter   : 잘못된 API 키가 "
      "제공되었습니다: /health\n"));

  httplib::Result sim_path = Get("/_sim/state", "nope");
  ASSERT_TRUE(sim_path);
  EXPECT_EQ(sim_path->status, 401);

  httplib::Result unknown_path = Get("/nowhere", "");
  ASSERT_TRUE(unknown_path);
  EXPECT_EQ(unknown_path->status, 401);

  httplib::Result right = Get("/health");
  ASSERT_TRUE(right);
  EXPECT_EQ(right->status, 200);
  EXPECT_EQ(Get("/nowhere")->status, 404);
}

TEST_F(SimServerTest, WithoutAnyKeyEveryRequestIsRefused) {
  SimOptions options;
  StartServer(options);
  EXPECT_TRUE(sink_.Contains(
      "WARN  c.f.eroom.config.EnvironmentAuthProvider : EROOM_PRIVATE_KEY 환경 "
      "변수가 설정되지 않았습니다. 보안을 위해 랜덤 키가 생성되었습니다.\n"));
  httplib::Result result = Get("/health", "anything");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 401);
  EXPECT_EQ(result->body, R"({"error":"인증 실패"})");
  EXPECT_EQ(Get("/health", "")->body, R"({"error":"인증이 필요합니다"})");
}

TEST_F(SimServerTest, StatusBodies) {
  StartServer();
  httplib::Result root = Get("/");
  ASSERT_TRUE(root);
  EXPECT_EQ(root->status, 200);
  EXPECT_EQ(root->get_header_value("Content-Type"),
            "application/json; charset=utf-8");
  EXPECT_EQ(root->body,
            "{\n  \"status\": \"online\",\n  \"message\": \"Eroom 서버가 작동 "
            "중입니다\",\n  \"success\": true\n}");
  EXPECT_EQ(Get("/health")->body,
            "{\n  \"status\": \"healthy\",\n  \"queue\": {\n    \"queued\": "
            "0,\n    \"active\": 0,\n    \"completed\": 0,\n    "
            "\"maxConcurrent\": 1\n  },\n  \"success\": true\n}");
  EXPECT_EQ(Get("/queue/status")->body,
            "{\n  \"queued\": 0,\n  \"active\": 0,\n  \"completed\": 0,\n  "
            "\"maxConcurrent\": 1\n}");
}

TEST_F(SimServerTest, CreateRoomRejectsBadBodies) {
  StartServer();
  httplib::Result bad_json = Post("/room/create", "{oops");
  ASSERT_TRUE(bad_json);
  EXPECT_EQ(bad_json->status, 400);
  EXPECT_EQ(Json(bad_json)["error"], "JSON 요청 본문 파싱에 실패했습니다.");
  EXPECT_EQ(Json(bad_json)["success"], false);
  httplib::Result no_theme =
      Post("/room/create", R"({"uuid":"u","keywords":["a"],"difficulty":"d",)"
                           R"("room_prefab":"p"})");
  EXPECT_EQ(no_theme->status, 400);
  EXPECT_THAT(no_theme->body, HasSubstr("\\u0027theme\\u0027"));
  EXPECT_EQ(Get("/room/result")->status, 400);
  EXPECT_EQ(Json(Get("/queue/status"))["queued"], 0);
}

TEST_F(SimServerTest, RoomLifecycleQueuedThenFinalOnceThen404) {
  // Designated, not assigned: g++ 12 at -O3 wrongly finds the assigned
  // optional<string> maybe uninitialized here.
  StartServer({.speed = 300,  // A room takes about 1-1.6 s.
               .api_key = kKey,
               .failure_rate = 0});

  httplib::Result created = Post("/room/create", kRoomBody);
  ASSERT_TRUE(created);
  EXPECT_EQ(created->status, 202);
  const nlohmann::json body = Json(created);
  const std::string ruid = body["ruid"];
  EXPECT_TRUE(RE2::FullMatch(ruid, "room_[0-9a-f]{16}"));
  EXPECT_EQ(body["status"], "대기중");
  EXPECT_EQ(body["success"], true);
  EXPECT_THAT(created->body, HasSubstr("/room/result?ruid\\u003d" + ruid));
  const std::string second = Json(Post("/room/create", kRoomBody))["ruid"];

  // The first room is running, so the second one waits.
  httplib::Result waiting = Get("/room/result?ruid=" + second);
  ASSERT_TRUE(waiting);
  EXPECT_EQ(waiting->body,
            "{\n  \"ruid\": \"" + second + "\",\n  \"status\": \"QUEUED\"\n}");
  // The worker picks the first room up asynchronously, as ERoom's does.
  nlohmann::json status;
  ASSERT_TRUE(PollUntil([&] {
    status = Json(Get("/queue/status"));
    return status["active"] == 1;
  }));
  EXPECT_EQ(status["queued"], 1);

  nlohmann::json final_result;
  ASSERT_TRUE(PollUntil([&] {
    httplib::Result result = Get("/room/result?ruid=" + ruid);
    if (!result || result->status != 200) return false;
    final_result = Json(result);
    return !final_result.contains("status");
  }));
  EXPECT_EQ(final_result["ruid"], ruid);
  EXPECT_EQ(final_result["success"], true);
  httplib::Result again = Get("/room/result?ruid=" + ruid);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 404);
  EXPECT_THAT(again->body, HasSubstr("\\u0027" + ruid + "\\u0027"));

  ASSERT_TRUE(
      PollUntil([&] { return Json(Get("/queue/status"))["completed"] == 2; }));
  server_->Stop();
  for (const std::string& line : sink_.Lines()) {
    ASSERT_TRUE(IsLogbackLine(line)) << line;
  }
}

TEST_F(SimServerTest, FaultEndpointValidatesAndReportsState) {
  StartServer();
  EXPECT_EQ(Post("/_sim/fault", "nope")->status, 400);
  EXPECT_EQ(Post("/_sim/fault", R"({"fault":"health_500"})")->status, 400);
  httplib::Result unknown = SetFault("meteor", true);
  EXPECT_EQ(unknown->status, 400);
  EXPECT_THAT(unknown->body, HasSubstr("meteor"));

  httplib::Result enabled = SetFault("health_500", true);
  ASSERT_EQ(enabled->status, 200);
  EXPECT_EQ(Json(enabled)["faults"], nlohmann::json::array({"health_500"}));
  nlohmann::json state = Json(Get("/_sim/state"));
  EXPECT_EQ(state["faults"], nlohmann::json::array({"health_500"}));
  EXPECT_EQ(state["queue"]["maxConcurrent"], 1);
  EXPECT_EQ(Json(SetFault("health_500", false))["faults"],
            nlohmann::json::array());
}

TEST_F(SimServerTest, Health500) {
  SimOptions options;
  options.api_key = kKey;
  options.faults = {Fault::kHealth500};
  StartServer(options);
  httplib::Result failing = Get("/health");
  ASSERT_TRUE(failing);
  EXPECT_EQ(failing->status, 500);
  EXPECT_TRUE(Json(failing).contains("error"));
  EXPECT_EQ(Get("/")->status, 200);
  SetFault("health_500", false);
  EXPECT_EQ(Get("/health")->status, 200);
}

TEST_F(SimServerTest, HealthHangDoesNotAnswerButDoesNotBlockStop) {
  StartServer();
  SetFault("health_hang", true);
  client_->set_read_timeout(0, 300000);
  httplib::Result hung = Get("/health");
  EXPECT_FALSE(hung);
  EXPECT_EQ(hung.error(), httplib::Error::Read);
  const absl::Time stop_started = absl::Now();
  server_->Stop();
  EXPECT_LT(absl::Now() - stop_started, absl::Seconds(2));
}

TEST_F(SimServerTest, SlowApiDelaysEveryResponse) {
  StartServer();
  SetFault("slow_api", true);
  const absl::Time sent = absl::Now();
  httplib::Result result = Get("/", "");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 401);
  EXPECT_GE(absl::Now() - sent, absl::Milliseconds(800));
}

TEST_F(SimServerTest, ErrorBurstWritesFiftyErrorsAndSwitchesItselfOff) {
  StartServer();
  httplib::Result result = SetFault("error_burst", true);
  ASSERT_TRUE(result);
  EXPECT_EQ(Json(result)["faults"], nlohmann::json::array());
  EXPECT_EQ(sink_.Count(" ERROR "), 50);
  EXPECT_EQ(sink_.Count("ERROR c.f.eroom.service.mesh.MeshyApiService   : "
                        "API 호출 실패. 상태 코드: 429, 메시지: "),
            25);
  EXPECT_EQ(sink_.Count("ERROR c.f.eroom.service.mesh.MeshyApiService   : "
                        "에러 응답: {\"message\":\"Too many requests. Please "
                        "slow down.\"}"),
            25);
  for (const std::string& line : sink_.Lines()) {
    ASSERT_TRUE(IsLogbackLine(line)) << line;
  }
}

TEST_F(SimServerTest, FatalWritesTheShutdownSequenceAndExitsWithOne) {
  StartServer();
  ASSERT_TRUE(SetFault("fatal", true));
  EXPECT_EQ(server_->WaitForExitRequest(), 1);
  server_->Stop();
  const std::string text = sink_.Text();
  const size_t fatal = text.find(
      "[pool-2-thread-1] ERROR c.f.eroom.service.ai.AnthropicAiService  : "
      "scenario 생성 중 오류 발생: 529: "
      "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
      "\"message\":\"Overloaded\"}} 서버를 종료합니다.\n"
      "com.anthropic.errors.InternalServerException: 529: ");
  const size_t stopping = text.find(
      "[Thread-0] INFO  com.febrie.eroom.Main                    : "
      "애플리케이션 종료 중...\n");
  const size_t stop_started = text.find(
      "[Thread-0] INFO  com.febrie.eroom.server.UndertowServer   : 서버 종료 "
      "시작...\n");
  const size_t stopped = text.find(
      "[Thread-0] INFO  com.febrie.eroom.server.UndertowServer   : 서버가 "
      "중지되었습니다\n");
  ASSERT_NE(fatal, std::string::npos);
  ASSERT_NE(stopping, std::string::npos);
  ASSERT_NE(stop_started, std::string::npos);
  ASSERT_NE(stopped, std::string::npos);
  EXPECT_LT(fatal, stopping);
  EXPECT_LT(stopping, stop_started);
  EXPECT_LT(stop_started, stopped);
  EXPECT_THAT(text, HasSubstr("\n\tat java.base/java.lang.Thread.run("
                              "Thread.java:840)\n"));
  for (const std::string& line : sink_.Lines()) {
    ASSERT_TRUE(IsLogbackLine(line)) << line;
  }
}

TEST_F(SimServerTest, StopWhileARoomRunsWarnsAboutTheExecutor) {
  SimOptions options;
  options.api_key = kKey;
  options.failure_rate = 0;
  StartServer(options);
  ASSERT_EQ(Post("/room/create", kRoomBody)->status, 202);
  ASSERT_TRUE(
      PollUntil([&] { return Json(Get("/health"))["queue"]["active"] == 1; }));
  server_->Stop();
  EXPECT_TRUE(sink_.Contains(
      "[Thread-0] WARN  c.f.e.s.queue.RoomRequestQueueManager    : "
      "ExecutorService가 정상적으로 종료되지 않아 강제 종료합니다.\n"));
}

int64_t ResidentKb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    std::string kb;
    int64_t value = 0;
    if (RE2::FullMatch(line, R"(VmRSS:\s+(\d+) kB)", &kb) &&
        absl::SimpleAtoi(kb, &value)) {
      return value;
    }
  }
  return 0;
}

TEST_F(SimServerTest, MemoryGrowthRaisesResidentMemory) {
  StartServer();
  const int64_t before = ResidentKb();
  SetFault("memory_growth", true);
  EXPECT_TRUE(PollUntil([&] { return ResidentKb() > before + 12 * 1024; },
                        absl::Seconds(5)));
  SetFault("memory_growth", false);
}

TEST_F(SimServerTest, RequestGeneratorSubmitsAndCollectsRooms) {
  SimOptions options;
  options.api_key = kKey;
  options.speed = 5000;
  options.failure_rate = 0;
  options.rooms_per_minute = 600;  // One every 100 ms.
  StartServer(options);
  EXPECT_TRUE(PollUntil([&] {
    return sink_.Count("에 대한 결과가 전달되고 삭제되었습니다.") >= 2;
  }));
  EXPECT_TRUE(
      sink_.Contains("[XNIO-1 I/O-1] INFO  "
                     "c.f.e.s.queue.RoomRequestQueueManager    : === "
                     "요청 제출 상세 정보 ==="));
}

}  // namespace
}  // namespace eroom::sim
