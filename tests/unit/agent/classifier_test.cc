#include "agent/classifier.h"

#include <map>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/test_support/status_matchers.h"

namespace eroom::agent {

using ::eroom::test_support::IsOk;
namespace {

namespace v1 = ::eroom::monitor::v1;
using ::testing::HasSubstr;
using Fields = std::map<std::string, std::string>;

v1::LogEvent Event(v1::LogLevel level, std::string message,
                   std::string logger = "") {
  v1::LogEvent event;
  event.set_level(level);
  event.set_logger(std::move(logger));
  event.set_message(std::move(message));
  event.set_has_header(true);
  return event;
}

Fields FieldsOf(const v1::LogEvent& event) {
  return Fields(event.fields().begin(), event.fields().end());
}

// Classifies an event of `level` with each message and expects its type.
void ExpectEventTypes(const Classifier& classifier, v1::LogLevel level,
                      const std::map<std::string, std::string>& expected) {
  for (const auto& [message, event_type] : expected) {
    v1::LogEvent event = Event(level, message);
    classifier.Classify(event);
    EXPECT_EQ(event.event_type(), event_type) << message;
  }
}

// Loggers as ERoom's shipped pattern prints them (%logger{40}).
constexpr char kMain[] = "com.febrie.eroom.Main";
constexpr char kServer[] = "com.febrie.eroom.server.UndertowServer";
constexpr char kAppConfig[] = "c.febrie.eroom.config.ApplicationConfig";
constexpr char kApiKeys[] = "c.f.e.config.EnvironmentApiKeyProvider";
constexpr char kAuthKeys[] = "c.f.eroom.config.EnvironmentAuthProvider";
constexpr char kAuthFilter[] = "c.febrie.eroom.filter.ApiKeyAuthFilter";
constexpr char kQueue[] = "c.f.e.s.queue.RoomRequestQueueManager";
constexpr char kRoomService[] = "c.f.eroom.service.room.RoomServiceImpl";
constexpr char kAnthropic[] = "c.f.eroom.service.ai.AnthropicAiService";
constexpr char kMeshy[] = "c.f.eroom.service.mesh.MeshyApiService";

struct Case {
  const char* name;
  v1::LogLevel level;
  const char* logger;
  std::string message;
  std::string event_type;
  Fields fields;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class DefaultRulesTest : public testing::TestWithParam<Case> {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<Classifier> classifier =
        Classifier::Create(DefaultClassificationRules());
    ASSERT_THAT(classifier, IsOk());
    classifier_ = new Classifier(std::move(*classifier));
  }
  static void TearDownTestSuite() { delete classifier_; }
  static const Classifier* classifier_;
};
const Classifier* DefaultRulesTest::classifier_ = nullptr;

TEST_P(DefaultRulesTest, ClassifiesWithFields) {
  const Case& c = GetParam();
  v1::LogEvent event = Event(c.level, c.message, c.logger);
  classifier_->Classify(event);
  EXPECT_EQ(event.event_type(), c.event_type);
  EXPECT_EQ(FieldsOf(event), c.fields);
}

const char kRuid[] = "room_3f9a1c2b7d4e8f60";

INSTANTIATE_TEST_SUITE_P(
    BothGenerations, DefaultRulesTest,
    testing::Values(
        Case{"started",
             v1::INFO,
             kServer,
             "서버가 성공적으로 시작되었습니다",
             "server_started",
             {}},
        Case{"started_older_pattern_logger",
             v1::INFO,
             "c.f.eroom.server.UndertowServer",
             "서버가 성공적으로 시작되었습니다",
             "server_started",
             {}},
        Case{"stopping",
             v1::INFO,
             kMain,
             "애플리케이션 종료 중...",
             "server_stopping",
             {{"stage", "stopping"}}},
        Case{"stopped",
             v1::INFO,
             kServer,
             "서버가 중지되었습니다",
             "server_stopping",
             {{"stage", "stopped"}}},
        Case{"fatal",
             v1::ERROR,
             kAnthropic,
             "scenario 생성 중 오류 발생: 529: {\"type\":\"error\"} 서버를 "
             "종료합니다.\ncom.anthropic.errors.InternalServerException: 529",
             "fatal_shutdown",
             {{"reason",
               "scenario 생성 중 오류 발생: 529: {\"type\":\"error\"}"}}},
        Case{"anthropic_key",
             v1::ERROR,
             kApiKeys,
             "ANTHROPIC_KEY 환경 변수가 설정되지 않았습니다.",
             "config_problem",
             {{"setting", "ANTHROPIC_KEY"}}},
        Case{"meshy_key",
             v1::WARN,
             kApiKeys,
             "MESHY_KEY 환경 변수가 하나도 설정되지 않았습니다.",
             "config_problem",
             {{"setting", "MESHY_KEY"}}},
        Case{"private_key",
             v1::WARN,
             kAuthKeys,
             "EROOM_PRIVATE_KEY 환경 변수가 설정되지 않았습니다. 임시 키를 "
             "생성합니다.",
             "config_problem",
             {{"setting", "EROOM_PRIVATE_KEY"}}},
        Case{"key_present",
             v1::INFO,
             kApiKeys,
             "ANTHROPIC_KEY 환경 변수가 설정되었습니다.",
             "",
             {}},
        Case{"port",
             v1::WARN,
             kAppConfig,
             "유효하지 않은 포트 번호: --config=config/config.json. 기본값 "
             "8080을 사용합니다.",
             "config_problem",
             {{"setting", "port"}}},
        Case{"auth_missing",
             v1::WARN,
             kAuthFilter,
             "Authorization 헤더가 요청에 없습니다: /queue/status",
             "auth_failure",
             {{"path", "/queue/status"}, {"reason", "missing_header"}}},
        Case{"auth_wrong",
             v1::WARN,
             kAuthFilter,
             "잘못된 API 키가 제공되었습니다: /health",
             "auth_failure",
             {{"path", "/health"}, {"reason", "wrong_key"}}},
        Case{
            "requested_old",
            v1::INFO,
            kQueue,
            "방 생성 요청 큐에 추가됨. ruid: room_3f9a1c2b7d4e8f60, user_uuid: "
            "kQ7xVb2NfRhW9mZp3LsT8uYc1Ae2, 현재 큐 크기: 1",
            "room_requested",
            {{"ruid", kRuid},
             {"user_uuid", "kQ7xVb2NfRhW9mZp3LsT8uYc1Ae2"},
             {"queue_size", "1"}}},
        Case{"requested_new",
             v1::INFO,
             kQueue,
             "요청 큐 추가됨 - ruid: room_3f9a1c2b7d4e8f60, uuid: user_777, "
             "queueSize: 3, active: 1, completed: 4",
             "room_requested",
             {{"ruid", kRuid},
              {"user_uuid", "user_777"},
              {"queue_size", "3"},
              {"active", "1"},
              {"completed", "4"}}},
        Case{"dequeued_old",
             v1::INFO,
             kQueue,
             "큐에서 요청 추출됨. ruid: room_3f9a1c2b7d4e8f60, 큐 대기 시간: "
             "2ms",
             "room_dequeued",
             {{"ruid", kRuid}, {"queue_wait_ms", "2"}}},
        Case{"dequeued_new",
             v1::INFO,
             kQueue,
             "처리 시작 - ruid: room_3f9a1c2b7d4e8f60, waitTime: 302101ms",
             "room_dequeued",
             {{"ruid", kRuid}, {"queue_wait_ms", "302101"}}},
        Case{"dequeued_new_bare",
             v1::INFO,
             kQueue,
             "처리 시작 - ruid: room_3f9a1c2b7d4e8f60, uuid: u, active: 1",
             "room_dequeued",
             {{"ruid", kRuid}}},
        Case{"queue_wait_new",
             v1::DEBUG,
             kQueue,
             "큐에서 요청 추출 - ruid: room_3f9a1c2b7d4e8f60, waitTime: 1500ms",
             "queue_wait",
             {{"ruid", kRuid}, {"queue_wait_ms", "1500"}}},
        Case{"started_old",
             v1::INFO,
             kRoomService,
             "통합 방 생성 시작: ruid=room_3f9a1c2b7d4e8f60, user_uuid=user_1, "
             "theme=victoria, difficulty=normal",
             "room_started",
             {{"ruid", kRuid},
              {"user_uuid", "user_1"},
              {"theme", "victoria"},
              {"difficulty", "normal"}}},
        Case{"started_new",
             v1::INFO,
             kRoomService,
             "방 생성 시작 - ruid: room_3f9a1c2b7d4e8f60, uuid: user_1, theme: "
             "old hospital, difficulty: hard, freeModeling: true",
             "room_started",
             {{"ruid", kRuid},
              {"user_uuid", "user_1"},
              {"theme", "old hospital"},
              {"difficulty", "hard"},
              {"free_modeling", "true"}}},
        Case{"completed_old",
             v1::INFO,
             kRoomService,
             "통합 방 생성 완료: ruid=room_3f9a1c2b7d4e8f60, 스크립트 수=7",
             "room_completed",
             {{"ruid", kRuid}, {"scripts", "7"}}},
        Case{"completed_new",
             v1::INFO,
             kQueue,
             "방 생성 완료 - ruid: room_3f9a1c2b7d4e8f60, duration: 362143ms, "
             "theme: hospital, scripts: 6",
             "room_completed",
             {{"ruid", kRuid},
              {"duration_ms", "362143"},
              {"theme", "hospital"},
              {"scripts", "6"}}},
        Case{"summary_statistics_new",
             v1::INFO,
             kRoomService,
             "방 생성 완료 - ruid: room_3f9a1c2b7d4e8f60, totalObjects: 7, "
             "generatedScripts: 7, successRate: 100%",
             "room_summary",
             {{"ruid", kRuid},
              {"total_objects", "7"},
              {"generated_scripts", "7"},
              {"success_rate_percent", "100"}}},
        Case{"summary_scripts_new",
             v1::INFO,
             kRoomService,
             "방 생성 완료 - ruid: room_3f9a1c2b7d4e8f60, scripts: 6",
             "room_summary",
             {{"ruid", kRuid}, {"scripts", "6"}}},
        Case{"processing_ms",
             v1::INFO,
             kQueue,
             "처리 시간: 397990ms",
             "processing_time",
             {{"processing_ms", "397990"}}},
        Case{"processing_ms_of_a_background_failure",
             v1::ERROR,
             kQueue,
             "처리 시간: 1200ms",
             "processing_time",
             {{"processing_ms", "1200"}}},
        Case{"result_success",
             v1::INFO,
             kQueue,
             "결과 성공 여부: true",
             "room_result",
             {{"success", "true"}}},
        Case{"result_failure",
             v1::INFO,
             kQueue,
             "결과 성공 여부: false",
             "room_result",
             {{"success", "false"}}},
        Case{"failed_business",
             v1::ERROR,
             kRoomService,
             "통합 방 생성 중 비즈니스 오류 발생: ruid=room_3f9a1c2b7d4e8f60\n"
             "java.lang.RuntimeException: 방 생성 실패 - ruid: room_ffff",
             "room_failed",
             {{"ruid", kRuid}, {"kind", "business"}}},
        Case{"failed_system",
             v1::ERROR,
             kRoomService,
             "통합 방 생성 중 시스템 오류 발생: ruid=room_3f9a1c2b7d4e8f60",
             "room_failed",
             {{"ruid", kRuid}, {"kind", "system"}}},
        Case{"failed_new",
             v1::ERROR,
             kQueue,
             "방 생성 실패 - ruid: room_3f9a1c2b7d4e8f60, duration: 48210ms, "
             "error: 시나리오 구조가 올바르지 않습니다",
             "room_failed",
             {{"ruid", kRuid},
              {"duration_ms", "48210"},
              {"error", "시나리오 구조가 올바르지 않습니다"}}},
        Case{"background_old",
             v1::ERROR,
             kQueue,
             "=== 백그라운드 처리 중 오류 발생 ===",
             "room_failed",
             {{"kind", "background"}}},
        Case{"background_new",
             v1::ERROR,
             kQueue,
             "처리 중 오류 발생 - ruid: room_3f9a1c2b7d4e8f60, error: "
             "java.lang.OutOfMemoryError: Java heap space",
             "room_failed",
             {{"ruid", kRuid},
              {"kind", "background"},
              {"error", "java.lang.OutOfMemoryError: Java heap space"}}},
        Case{"model_timeout",
             v1::WARN,
             kRoomService,
             "모델 생성 타임아웃 발생, 현재까지 완료된 결과만 수집",
             "model_timeout",
             {}},
        Case{
            "model_marked",
            v1::WARN,
            kRoomService,
            "모델 생성 실패로 표시됨: MantelClock -> "
            "error-preview-6b1f0c2e-93d4-4a7e-8f15-c2a9d03e7b64",
            "model_failed",
            {{"model", "MantelClock"},
             {"detail", "error-preview-6b1f0c2e-93d4-4a7e-8f15-c2a9d03e7b64"}}},
        Case{"model_api",
             v1::ERROR,
             kMeshy,
             "API 호출 실패. 상태 코드: 429, 메시지: ",
             "model_failed",
             {{"status", "429"}, {"detail", ""}}},
        Case{"model_preview",
             v1::ERROR,
             kMeshy,
             "MantelClock의 프리뷰 생성 실패",
             "model_failed",
             {{"model", "MantelClock"}}},
        Case{"other_error",
             v1::ERROR,
             kMeshy,
             "에러 응답: {\"message\":\"Too many requests.\"}",
             "error",
             {}},
        Case{"other_warn",
             v1::WARN,
             kQueue,
             "ExecutorService가 정상적으로 종료되지 않아 강제 종료합니다.",
             "",
             {}},
        Case{"noise",
             v1::DEBUG,
             kMeshy,
             "작업 상태: IN_PROGRESS, 진행률: 0%",
             "",
             {}},
        Case{"unrelated_room_text",
             v1::INFO,
             kQueue,
             "RoomService.createRoom() 호출 시작. ruid: room_3f9a1c2b7d4e8f60",
             "",
             {}},
        Case{"headerless",
             v1::LOG_LEVEL_UNSPECIFIED,
             "",
             "OpenJDK 64-Bit Server VM warning: Sharing is only supported",
             "",
             {}},
        // Each rule matches the level (and the logger) of the real line: a
        // line that quotes an event's text is not that event.
        Case{"started_quoted_in_debug",
             v1::DEBUG,
             kServer,
             "서버가 성공적으로 시작되었습니다",
             "",
             {}},
        Case{"started_quoted_in_a_theme",
             v1::INFO,
             kAnthropic,
             "통합 시나리오 생성 시작: theme=서버가 성공적으로 시작되었습니다",
             "",
             {}},
        Case{"shutdown_quoted_in_debug",
             v1::DEBUG,
             kAnthropic,
             "LLM 응답 수신: 오류 발생 시 서버를 종료합니다.",
             "",
             {}},
        Case{"stopped_quoted_in_a_warning",
             v1::WARN,
             kServer,
             "서버가 중지되었습니다",
             "",
             {}},
        Case{"completion_quoted_in_debug",
             v1::DEBUG,
             kRoomService,
             "통합 방 생성 완료: ruid=room_3f9a1c2b7d4e8f60, 스크립트 수=7",
             "",
             {}},
        Case{"failure_text_at_info",
             v1::INFO,
             kRoomService,
             "통합 방 생성 중 비즈니스 오류 발생: ruid=room_3f9a1c2b7d4e8f60",
             "",
             {}},
        Case{"auth_text_from_another_logger",
             v1::WARN,
             kRoomService,
             "잘못된 API 키가 제공되었습니다: /health",
             "",
             {}}),
    [](const testing::TestParamInfo<Case>& info) { return info.param.name; });

TEST(ClassifierTest, MatchesOnlyTheFirstLine) {
  absl::StatusOr<Classifier> classifier =
      Classifier::Create(DefaultClassificationRules());
  ASSERT_THAT(classifier, IsOk());
  v1::LogEvent event =
      Event(v1::INFO, "LLM 응답 수신:\n서버가 성공적으로 시작되었습니다");
  classifier->Classify(event);
  EXPECT_EQ(event.event_type(), "");
}

TEST(ClassifierTest, FirstMatchingRuleInOrderWins) {
  absl::StatusOr<Classifier> classifier = Classifier::Create({
      {"generic", std::nullopt, "실패", {}},
      {"specific", std::nullopt, R"(모델 (?P<name>\w+) 실패)", {}},
  });
  ASSERT_THAT(classifier, IsOk());
  v1::LogEvent event = Event(v1::WARN, "모델 Vase 실패");
  classifier->Classify(event);
  EXPECT_EQ(event.event_type(), "generic");
  EXPECT_TRUE(event.fields().empty());
}

TEST(ClassifierTest, LevelRestrictsARule) {
  absl::StatusOr<Classifier> classifier = Classifier::Create({
      {"warned", v1::WARN, "disk", {}},
      {"said", std::nullopt, "(?P<what>disk)", {{"fixed", "yes"}}},
  });
  ASSERT_THAT(classifier, IsOk());
  v1::LogEvent warn = Event(v1::WARN, "disk full");
  v1::LogEvent info = Event(v1::INFO, "disk full");
  classifier->Classify(warn);
  classifier->Classify(info);
  EXPECT_EQ(warn.event_type(), "warned");
  EXPECT_EQ(info.event_type(), "said");
  EXPECT_EQ(FieldsOf(info), (Fields{{"what", "disk"}, {"fixed", "yes"}}));
}

TEST(ClassifierTest, GroupThatDidNotParticipateSetsNoField) {
  absl::StatusOr<Classifier> classifier = Classifier::Create({
      {"done", std::nullopt, R"(done(?: in (?P<ms>\d+)ms)?)", {}},
  });
  ASSERT_THAT(classifier, IsOk());
  v1::LogEvent event = Event(v1::INFO, "done");
  classifier->Classify(event);
  EXPECT_EQ(event.event_type(), "done");
  EXPECT_TRUE(event.fields().empty());
}

TEST(ClassifierTest, NoRulesClassifiesNothing) {
  absl::StatusOr<Classifier> classifier = Classifier::Create({});
  ASSERT_THAT(classifier, IsOk());
  v1::LogEvent event = Event(v1::ERROR, "anything");
  classifier->Classify(event);
  EXPECT_EQ(event.event_type(), "");
}

TEST(ClassifierTest, BadPatternIsRejectedNamingTheRule) {
  absl::StatusOr<Classifier> classifier = Classifier::Create({
      {"fine", std::nullopt, "ok", {}},
      {"broken_rule", std::nullopt, "(?P<ruid>room_[0-9a-f+", {}},
  });
  ASSERT_FALSE(classifier.ok());
  EXPECT_EQ(classifier.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(classifier.status().message()),
              HasSubstr("rule 1 (broken_rule"));
  EXPECT_THAT(std::string(classifier.status().message()),
              HasSubstr("room_[0-9a-f+"));
}

TEST(ClassifierTest, EmptyEventTypeIsRejected) {
  absl::StatusOr<Classifier> classifier =
      Classifier::Create({{"", std::nullopt, "x", {}}});
  ASSERT_FALSE(classifier.ok());
  EXPECT_THAT(std::string(classifier.status().message()),
              HasSubstr("empty event_type"));
}

struct TypedCase {
  const char* name;
  FieldType type;
  std::string value;
  std::optional<std::string> stored;  // nullopt: dropped.
};

void PrintTo(const TypedCase& c, std::ostream* os) { *os << c.name; }

class TypedFieldTest : public testing::TestWithParam<TypedCase> {};

TEST_P(TypedFieldTest, StoresTheCanonicalValueOrDropsAndCounts) {
  const TypedCase& c = GetParam();
  absl::StatusOr<Classifier> classifier = Classifier::Create({
      {"typed", std::nullopt, "value=(?P<v>.*)", {}, {{"v", c.type}}},
  });
  ASSERT_THAT(classifier, IsOk());
  v1::LogEvent event = Event(v1::INFO, "value=" + c.value);
  classifier->Classify(event);
  EXPECT_EQ(event.event_type(), "typed");
  if (c.stored) {
    EXPECT_EQ(FieldsOf(event), (Fields{{"v", *c.stored}}));
    EXPECT_EQ(classifier->dropped_fields(), 0u);
  } else {
    EXPECT_TRUE(event.fields().empty());
    EXPECT_EQ(classifier->dropped_fields(), 1u);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Types, TypedFieldTest,
    testing::Values(
        TypedCase{"string", FieldType::kString, " as is ", " as is "},
        TypedCase{"int", FieldType::kInt, "007", "7"},
        TypedCase{"negative_int", FieldType::kInt, "-12", "-12"},
        TypedCase{"int_overflow", FieldType::kInt, "99999999999999999999",
                  std::nullopt},
        TypedCase{"int_garbage", FieldType::kInt, "12ms", std::nullopt},
        TypedCase{"float", FieldType::kFloat, "3.25", "3.25"},
        TypedCase{"float_nan", FieldType::kFloat, "nan", std::nullopt},
        TypedCase{"bool_true", FieldType::kBool, "TRUE", "true"},
        TypedCase{"bool_yes", FieldType::kBool, "yes", "true"},
        TypedCase{"bool_zero", FieldType::kBool, "0", "false"},
        TypedCase{"bool_garbage", FieldType::kBool, "maybe", std::nullopt},
        TypedCase{"duration_bare", FieldType::kDurationMs, "397990", "397990"},
        TypedCase{"duration_ms", FieldType::kDurationMs, "250ms", "250"},
        TypedCase{"duration_spaced", FieldType::kDurationMs, "250 ms", "250"},
        TypedCase{"duration_seconds", FieldType::kDurationMs, "1.5s", "1500"},
        TypedCase{"duration_compound", FieldType::kDurationMs, "1h30m",
                  "5400000"},
        TypedCase{"duration_fraction", FieldType::kDurationMs, "12.7", "12"},
        TypedCase{"duration_garbage", FieldType::kDurationMs, "soon",
                  std::nullopt},
        TypedCase{"duration_infinite", FieldType::kDurationMs, "inf",
                  std::nullopt}),
    [](const testing::TestParamInfo<TypedCase>& info) {
      return info.param.name;
    });

TEST(ClassifierTest, DefaultRulesTypeTheirNumbers) {
  absl::StatusOr<Classifier> classifier =
      Classifier::Create(DefaultClassificationRules());
  ASSERT_THAT(classifier, IsOk());
  // A queue wait the older pattern cannot hold in 64 bits is dropped rather
  // than stored as text.
  v1::LogEvent event =
      Event(v1::INFO,
            "큐에서 요청 추출됨. ruid: room_3f9a1c2b7d4e8f60, 큐 대기 시간: "
            "99999999999999999999ms",
            kQueue);
  classifier->Classify(event);
  EXPECT_EQ(event.event_type(), "room_dequeued");
  EXPECT_EQ(FieldsOf(event), (Fields{{"ruid", kRuid}}));
  EXPECT_EQ(classifier->dropped_fields(), 1u);
}

TEST(ClassifierTest, EmptyPatternMatchesEveryEventInItsTurn) {
  absl::StatusOr<Classifier> classifier = Classifier::Create({
      {"first", std::nullopt, "first", {}},
      {"any_info", v1::INFO, "", {{"fixed", "yes"}}},
      {"later", std::nullopt, "later", {}},
  });
  ASSERT_THAT(classifier, IsOk());
  v1::LogEvent first = Event(v1::INFO, "first and later");
  v1::LogEvent later = Event(v1::INFO, "later");
  v1::LogEvent later_warn = Event(v1::WARN, "later");
  v1::LogEvent other_warn = Event(v1::WARN, "other");
  for (v1::LogEvent* event : {&first, &later, &later_warn, &other_warn}) {
    classifier->Classify(*event);
  }
  EXPECT_EQ(first.event_type(), "first");
  EXPECT_EQ(later.event_type(), "any_info");
  EXPECT_EQ(FieldsOf(later), (Fields{{"fixed", "yes"}}));
  EXPECT_EQ(later_warn.event_type(), "later");
  EXPECT_EQ(other_warn.event_type(), "");
}

TEST(ClassifierTest, LevelPinnedRulesIgnoreOtherLevels) {
  absl::StatusOr<Classifier> classifier = Classifier::Create({
      {"slow", v1::WARN, "slow", {}},
      {"failed", v1::ERROR, "failed", {}},
  });
  ASSERT_THAT(classifier, IsOk());
  v1::LogEvent info = Event(v1::INFO, "slow and failed");
  v1::LogEvent error = Event(v1::ERROR, "slow and failed");
  classifier->Classify(info);
  classifier->Classify(error);
  EXPECT_EQ(info.event_type(), "");
  EXPECT_EQ(error.event_type(), "failed");
}

// The prefilter matches at the start of the line only: a pattern that can
// match elsewhere must still be found there.
TEST(ClassifierTest, FindsPatternsThatMatchAfterTheStart) {
  absl::StatusOr<Classifier> classifier = Classifier::Create({
      {"anywhere", std::nullopt, "disk (?P<state>full)", {}},
      {"second_alternative", std::nullopt, "^boot|crash", {}},
      {"alternative_after_class", std::nullopt, R"(^[(\]|]x|panic)", {}},
      {"repeated_caret", std::nullopt, "^*oom", {}},
  });
  ASSERT_THAT(classifier, IsOk());
  ExpectEventTypes(*classifier, v1::INFO,
                   {
                       {"the disk full again", "anywhere"},
                       {"after a crash", "second_alternative"},
                       {"kernel panic", "alternative_after_class"},
                       {"an oom", "repeated_caret"},
                   });
}

// Only the start of a line is compared before the set runs: what the start
// of a match can be must not be guessed too narrowly.
TEST(ClassifierTest, FindsMatchesWhoseStartVaries) {
  absl::StatusOr<Classifier> classifier = Classifier::Create({
      {"any_case", v1::WARN, "^(?i)disk full", {}},
      {"either_word", v1::WARN, "^(?:모델|model) failed", {}},
      {"optional_start", v1::WARN, "^(?:ab)?c", {}},
      {"empty_line", v1::WARN, "^$", {}},
  });
  ASSERT_THAT(classifier, IsOk());
  ExpectEventTypes(*classifier, v1::WARN,
                   {
                       {"DISK FULL", "any_case"},
                       {"model failed", "either_word"},
                       {"모델 failed", "either_word"},
                       {"c", "optional_start"},
                       {"abc", "optional_start"},
                       {"", "empty_line"},
                       {"disc full", ""},
                   });
}

// An event of a level no rule names (not one of the LogLevel values) is
// still tried against the rules of any level.
TEST(ClassifierTest, RulesOfAnyLevelApplyToUnknownLevels) {
  absl::StatusOr<Classifier> classifier = Classifier::Create({
      {"warned", v1::WARN, "^disk", {}},
      {"said", std::nullopt, "^disk", {}},
  });
  ASSERT_THAT(classifier, IsOk());
  v1::LogEvent event = Event(static_cast<v1::LogLevel>(9), "disk full");
  classifier->Classify(event);
  EXPECT_EQ(event.event_type(), "said");
}

TEST(ClassifierTest, TypedFieldMustBeANamedGroup) {
  const ClassificationRule rule{"timed",
                                std::nullopt,
                                R"(took (\d+)ms)",
                                {},
                                {{"took_ms", FieldType::kDurationMs}}};
  EXPECT_THAT(std::string(Classifier::CheckRule(rule).message()),
              HasSubstr("field 'took_ms' is not a named group"));
  absl::StatusOr<Classifier> classifier = Classifier::Create({rule});
  ASSERT_FALSE(classifier.ok());
  EXPECT_THAT(std::string(classifier.status().message()),
              HasSubstr("rule 0 (timed"));
}

TEST(ParseFieldTypeTest, KnowsTheConfigNames) {
  EXPECT_EQ(ParseFieldType("string"), FieldType::kString);
  EXPECT_EQ(ParseFieldType("int"), FieldType::kInt);
  EXPECT_EQ(ParseFieldType("float"), FieldType::kFloat);
  EXPECT_EQ(ParseFieldType("bool"), FieldType::kBool);
  EXPECT_EQ(ParseFieldType("duration_ms"), FieldType::kDurationMs);
  EXPECT_EQ(ParseFieldType("integer"), std::nullopt);
}

}  // namespace
}  // namespace eroom::agent
