#include "tests/sim/room_simulator.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tests/sim/catalog.h"

namespace eroom::sim {
namespace {

constexpr std::array<absl::string_view, 16> kObjectNames = {
    "AntiqueVase", "MantelClock", "BrassKey",   "OilLamp",
    "LockedChest", "OldPainting", "Typewriter", "Candelabra",
    "MusicBox",    "DeskGlobe",   "WallSafe",   "Bookshelf",
    "Telescope",   "Gramophone",  "Hourglass",  "PocketWatch"};
constexpr std::array<absl::string_view, 8> kThemes = {
    "victoria",   "surgery",       "space station", "pirate ship",
    "laboratory", "egyptian tomb", "submarine",     "haunted library"};
constexpr std::array<absl::string_view, 12> kKeywords = {
    "vase", "clock", "fire place", "key",    "lamp",    "diary",
    "map",  "safe",  "mirror",     "candle", "compass", "painting"};
constexpr std::array<absl::string_view, 3> kDifficulties = {"easy", "normal",
                                                            "hard"};
constexpr char kPrefabUrl[] =
    "https://github.com/BangTalBoyBand/Claude_Checking_Room_List/blob/main/"
    "testMap0";

// The business error of the shared sample: the scenario from Claude misses a
// required section.
constexpr char kScenarioError[] =
    "통합 시나리오 생성 단계에서 오류 발생: 시나리오 구조가 올바르지 "
    "않습니다: scenario_data 또는 object_instructions 누락";
constexpr char kScenarioErrorTrace[] =
    "\njava.lang.RuntimeException: 통합 시나리오 생성 단계에서 오류 발생: "
    "시나리오 구조가 올바르지 않습니다: scenario_data 또는 "
    "object_instructions 누락\n"
    "\tat com.febrie.eroom.service.room.RoomServiceImpl."
    "createIntegratedScenario(RoomServiceImpl.java:98)\n";
constexpr char kScenarioErrorCause[] =
    "\n"
    "Caused by: java.lang.RuntimeException: 시나리오 구조가 올바르지 "
    "않습니다: scenario_data 또는 object_instructions 누락\n"
    "\tat com.febrie.eroom.service.validation.DefaultScenarioValidator."
    "validateStructure(DefaultScenarioValidator.java:17)\n"
    "\tat com.febrie.eroom.service.validation.DefaultScenarioValidator."
    "validate(DefaultScenarioValidator.java:10)\n"
    "\tat com.febrie.eroom.service.room.RoomServiceImpl."
    "createIntegratedScenario(RoomServiceImpl.java:90)\n"
    "\t... 8 common frames omitted";

// RoomServiceImpl gives up on the models after this long.
constexpr absl::Duration kModelTimeout = absl::Minutes(10);

template <typename T, size_t N>
const T& Pick(const std::array<T, N>& items, std::mt19937_64& rng) {
  return items[std::uniform_int_distribution<size_t>(0, N - 1)(rng)];
}

int UniformInt(int lo, int hi, std::mt19937_64& rng) {
  return std::uniform_int_distribution<int>(lo, hi)(rng);
}

absl::Duration UniformDuration(absl::Duration lo, absl::Duration hi,
                               std::mt19937_64& rng) {
  return absl::Milliseconds(std::uniform_int_distribution<int64_t>(
      absl::ToInt64Milliseconds(lo), absl::ToInt64Milliseconds(hi))(rng));
}

bool Chance(double probability, std::mt19937_64& rng) {
  return std::bernoulli_distribution(std::clamp(probability, 0.0, 1.0))(rng);
}

// A version 4 UUID, like Java's UUID.randomUUID().
std::string RandomUuid(std::mt19937_64& rng) {
  const uint64_t high = rng();
  const uint64_t low = rng();
  return absl::StrFormat(
      "%08x-%04x-4%03x-%04x-%012x", high >> 32, (high >> 16) & 0xffff,
      high & 0xfff, ((low >> 48) & 0x3fff) | 0x8000, low & 0xffffffffffffULL);
}

std::string RandomAlphanumeric(int length, std::mt19937_64& rng) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string out;
  for (int i = 0; i < length; ++i) {
    out.push_back(kAlphabet[UniformInt(0, sizeof(kAlphabet) - 2, rng)]);
  }
  return out;
}

// Reads a required string member; ERoom trims before checking emptiness.
std::optional<std::string> StringField(const nlohmann::json& body,
                                       const char* name) {
  auto it = body.find(name);
  if (it == body.end() || !it->is_string()) return std::nullopt;
  std::string value = it->get<std::string>();
  if (absl::StripAsciiWhitespace(value).empty()) return std::nullopt;
  return value;
}

absl::Status MissingField(absl::string_view name) {
  return absl::InvalidArgumentError(
      absl::StrCat("유효하지 않은 요청 본문: '", name,
                   "' 필드가 누락되었거나 형식이 올바르지 않습니다."));
}

// Collects planned events; the plan is sorted once at the end.
class EventList {
 public:
  void Add(absl::Duration at, std::string thread, LogLevel level,
           const char* logger, std::string message) {
    events_.push_back(PlannedEvent{
        at, LogEvent{std::move(thread), level, logger, std::move(message)}});
  }
  // An event of RoomService or the Claude client, on the queue's worker.
  void Worker(absl::Duration at, LogLevel level, const char* logger,
              std::string message) {
    Add(at, kWorkerThread, level, logger, std::move(message));
  }
  std::vector<PlannedEvent> Sorted() && {
    std::stable_sort(events_.begin(), events_.end(),
                     [](const PlannedEvent& a, const PlannedEvent& b) {
                       return a.at < b.at;
                     });
    return std::move(events_);
  }

 private:
  std::vector<PlannedEvent> events_;
};

enum class ModelFate { kSucceeds, kRateLimited, kHangs };

struct ModelOutcome {
  absl::Duration done;      // Meaningless for a hung model.
  std::string tracking_id;  // FBX URL or an error id.
};

// Meshy status polls of one task from `from` until before `until`; progress
// is reported against the phase's expected length.
void AddPolls(EventList& events, const std::string& thread,
              const std::string& task_id, absl::Duration phase_start,
              absl::Duration expected_length, absl::Duration from,
              absl::Duration until, absl::Duration interval) {
  for (absl::Duration t = from; t < until; t += interval) {
    const int progress = std::min<int>(
        99, static_cast<int>(
                100 * absl::FDivDuration(t - phase_start, expected_length)));
    events.Add(t, thread, LogLevel::kInfo, kMeshyLogger,
               absl::StrCat("작업 상태 확인: ", task_id));
    events.Add(t, thread, LogLevel::kInfo, kMeshyLogger,
               absl::StrCat("작업 상태: IN_PROGRESS, 진행률: ", progress, "%"));
  }
}

// MeshyApiService.generateModel: preview task, polling, refine task,
// polling, FBX URL. `give_up` is when RoomService stops waiting.
ModelOutcome PlanModel(EventList& events, absl::string_view name, int index,
                       absl::Duration start, ModelFate fate,
                       absl::Duration give_up, absl::Duration poll_interval,
                       std::mt19937_64& rng) {
  const std::string thread = absl::StrCat("pool-1-thread-", index + 1);
  auto meshy = [&](absl::Duration at, LogLevel level, std::string message) {
    events.Add(at, thread, level, kMeshyLogger, std::move(message));
  };
  meshy(start, LogLevel::kInfo,
        absl::StrCat(name, "의 모델 생성 시작, 키 인덱스: ", index % 3 + 1));
  if (fate == ModelFate::kRateLimited) {
    const absl::Duration at =
        start +
        UniformDuration(absl::Milliseconds(800), absl::Milliseconds(1600), rng);
    meshy(at, LogLevel::kError, "API 호출 실패. 상태 코드: 429, 메시지: ");
    meshy(at, LogLevel::kError,
          "에러 응답: {\"message\":\"Too many requests. Please slow down.\"}");
    meshy(at, LogLevel::kError, absl::StrCat(name, "의 프리뷰 생성 실패"));
    return {at, absl::StrCat("error-preview-", RandomUuid(rng))};
  }

  const absl::Duration length =
      UniformDuration(absl::Seconds(270), absl::Seconds(408), rng);
  const absl::Duration preview_length =
      length * (0.35 + 0.1 * std::uniform_real_distribution<>(0, 1)(rng));
  const std::string preview_id = RandomUuid(rng);
  const absl::Duration preview_start = start + absl::Milliseconds(900);
  meshy(preview_start, LogLevel::kInfo,
        absl::StrCat(name, "의 프리뷰가 ID: ", preview_id, "로 생성됨"));
  const absl::Duration preview_done = start + preview_length;
  AddPolls(events, thread, preview_id, preview_start, preview_length,
           preview_start + absl::Milliseconds(100), preview_done,
           poll_interval);
  meshy(preview_done, LogLevel::kInfo,
        absl::StrCat("작업 상태 확인: ", preview_id));
  meshy(preview_done, LogLevel::kInfo, "작업 상태: SUCCEEDED, 진행률: 100%");

  const std::string refine_id = RandomUuid(rng);
  const absl::Duration refine_start = preview_done + absl::Milliseconds(700);
  meshy(refine_start, LogLevel::kInfo,
        absl::StrCat(name, "의 정제 작업이 ID: ", refine_id,
                     "로 시작됨. 완료 대기 중..."));
  const absl::Duration refine_length = length - preview_length;
  const absl::Duration refine_done = start + length;
  const absl::Duration polls_from = refine_start + absl::Milliseconds(100);
  if (fate == ModelFate::kHangs) {
    AddPolls(events, thread, refine_id, refine_start, refine_length, polls_from,
             give_up, poll_interval);
    return {give_up, absl::StrCat("timeout-refine-", refine_id)};
  }
  AddPolls(events, thread, refine_id, refine_start, refine_length, polls_from,
           refine_done, poll_interval);
  meshy(refine_done, LogLevel::kInfo,
        absl::StrCat("작업 상태 확인: ", refine_id));
  meshy(refine_done, LogLevel::kInfo, "작업 상태: SUCCEEDED, 진행률: 100%");
  const absl::Duration fetched = refine_done + absl::Milliseconds(300);
  meshy(fetched, LogLevel::kInfo, absl::StrCat("작업 상태 확인: ", refine_id));
  const std::string fbx_url = absl::StrCat(
      "https://assets.meshy.ai/", RandomUuid(rng), "/tasks/", refine_id,
      "/output/model.fbx?Expires=", 1750000000 + UniformInt(0, 999999, rng),
      "&Signature=", RandomAlphanumeric(12, rng),
      "...&Key-Pair-Id=K1A2B3C4D5E6F7");
  meshy(fetched + absl::Milliseconds(2), LogLevel::kInfo,
        absl::StrCat(name, "의 모델 생성 완료. FBX URL: ", fbx_url));
  return {fetched + absl::Milliseconds(2), fbx_url};
}

std::string Base64Script(absl::string_view class_name) {
  return absl::Base64Escape(
      absl::StrCat("using UnityEngine;\n\npublic class ", class_name,
                   " : MonoBehaviour\n{\n    void Start()\n    {\n    }\n}\n"));
}

nlohmann::ordered_json SuccessResult(absl::string_view ruid,
                                     const RoomRequest& request,
                                     const std::vector<std::string>& names,
                                     nlohmann::ordered_json model_tracking) {
  nlohmann::ordered_json instructions = nlohmann::ordered_json::array();
  nlohmann::ordered_json scripts = nlohmann::ordered_json::object();
  instructions.push_back({{"name", "GameManager"},
                          {"type", "game_manager"},
                          {"functional_description",
                           "Tracks puzzle progress and opens the exit door."}});
  scripts["GameManager.cs"] = Base64Script("GameManager");
  for (const std::string& name : names) {
    instructions.push_back(
        {{"name", name},
         {"type", "interactive_object"},
         {"visual_description",
          absl::StrCat("A realistic ", name, " fitting a ", request.theme,
                       " escape room")},
         {"interaction_method", "left_click"},
         {"functional_description",
          absl::StrCat("Reveals the next clue when inspected: ", name)}});
    scripts[absl::StrCat(name, ".cs")] = Base64Script(name);
  }
  nlohmann::ordered_json result;
  result["uuid"] = request.uuid;
  result["ruid"] = ruid;
  result["theme"] = request.theme;
  result["difficulty"] = request.difficulty;
  result["keywords"] = request.keywords;
  result["room_prefab"] = request.room_prefab;
  result["scenario"] = {
      {"scenario_data",
       {{"theme", request.theme},
        {"difficulty", request.difficulty},
        {"description",
         absl::StrCat("An escape room themed '", request.theme, "'.")},
        {"escape_condition", "Open the exit door with the final code."}}},
      {"object_instructions", std::move(instructions)}};
  result["scripts"] = std::move(scripts);
  result["model_tracking"] = std::move(model_tracking);
  result["success"] = true;
  return result;
}

}  // namespace

std::optional<Generation> ParseGeneration(absl::string_view name) {
  if (name == "old") return Generation::kOld;
  if (name == "new") return Generation::kNew;
  return std::nullopt;
}

absl::string_view GenerationName(Generation generation) {
  return generation == Generation::kOld ? "old" : "new";
}

absl::StatusOr<RoomRequest> ParseRoomRequest(absl::string_view body) {
  const nlohmann::json parsed = nlohmann::json::parse(
      body.begin(), body.end(), /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    return absl::InvalidArgumentError("JSON 요청 본문 파싱에 실패했습니다.");
  }
  RoomRequest request;
  std::optional<std::string> uuid;
  if (parsed.is_object()) uuid = StringField(parsed, "uuid");
  if (!uuid.has_value()) {
    return absl::InvalidArgumentError(
        "유효하지 않은 요청 본문 또는 'uuid' (userId)가 누락되었습니다.");
  }
  request.uuid = *std::move(uuid);
  for (auto [name, field] : {std::pair{"theme", &request.theme},
                             std::pair{"difficulty", &request.difficulty},
                             std::pair{"room_prefab", &request.room_prefab}}) {
    std::optional<std::string> value = StringField(parsed, name);
    if (!value.has_value()) return MissingField(name);
    *field = *std::move(value);
  }
  auto keywords = parsed.find("keywords");
  if (keywords == parsed.end() || !keywords->is_array() || keywords->empty()) {
    return MissingField("keywords");
  }
  for (const nlohmann::json& keyword : *keywords) {
    if (!keyword.is_string()) return MissingField("keywords");
    request.keywords.push_back(keyword.get<std::string>());
  }
  return request;
}

RoomRequest RandomRoomRequest(std::mt19937_64& rng) {
  RoomRequest request;
  request.uuid = RandomAlphanumeric(28, rng);
  request.theme = std::string(Pick(kThemes, rng));
  std::vector<absl::string_view> keywords(kKeywords.begin(), kKeywords.end());
  std::shuffle(keywords.begin(), keywords.end(), rng);
  keywords.resize(UniformInt(2, 4, rng));
  for (absl::string_view keyword : keywords) {
    request.keywords.emplace_back(keyword);
  }
  request.difficulty = std::string(Pick(kDifficulties, rng));
  request.room_prefab =
      absl::StrCat(kPrefabUrl, UniformInt(1, 5, rng), ".prefab");
  return request;
}

std::string NewRuid(std::mt19937_64& rng) {
  return absl::StrFormat("room_%016x", rng());
}

RoomPlan PlanRoom(absl::string_view ruid, const RoomRequest& request,
                  const PlanOptions& options, std::mt19937_64& rng) {
  const bool old_generation = options.generation == Generation::kOld;
  RoomPlan plan;
  EventList events;
  const absl::Duration ms = absl::Milliseconds(1);

  events.Worker(
      absl::ZeroDuration(), LogLevel::kInfo, kRoomServiceLogger,
      old_generation
          ? absl::StrCat(
                "통합 방 생성 시작: ruid=", ruid, ", user_uuid=", request.uuid,
                ", theme=", request.theme, ", difficulty=", request.difficulty)
          : absl::StrCat("방 생성 시작 - ruid: ", ruid,
                         ", uuid: ", request.uuid, ", theme: ", request.theme,
                         ", difficulty: ", request.difficulty,
                         ", freeModeling: false"));
  events.Worker(ms, old_generation ? LogLevel::kInfo : LogLevel::kDebug,
                kRoomServiceLogger,
                old_generation
                    ? absl::StrCat("LLM에 시나리오 생성 요청. ruid: '", ruid,
                                   "', Theme: '", request.theme,
                                   "', Difficulty: '", request.difficulty, "'")
                    : absl::StrCat("시나리오 생성 요청 - ruid: ", ruid,
                                   ", theme: ", request.theme,
                                   ", difficulty: ", request.difficulty));
  events.Worker(ms, LogLevel::kInfo, kAnthropicLogger,
                absl::StrCat("통합 시나리오 생성 시작: theme=", request.theme));

  const absl::Duration scenario_done =
      UniformDuration(absl::Seconds(40), absl::Seconds(50), rng);
  if (Chance(options.failure_rate, rng)) {
    events.Worker(scenario_done, LogLevel::kError, kRoomServiceLogger,
                  absl::StrCat("통합 방 생성 중 비즈니스 오류 발생: ruid=",
                               ruid, kScenarioErrorTrace, kRoomWorkerFrames,
                               kScenarioErrorCause));
    plan.events = std::move(events).Sorted();
    plan.processing_time = scenario_done + 2 * ms;
    plan.success = false;
    plan.error = kScenarioError;
    plan.result["uuid"] = request.uuid;
    plan.result["ruid"] = ruid;
    plan.result["success"] = false;
    plan.result["error"] = plan.error;
    return plan;
  }

  std::vector<absl::string_view> pool(kObjectNames.begin(), kObjectNames.end());
  std::shuffle(pool.begin(), pool.end(), rng);
  const std::vector<std::string> names(pool.begin(),
                                       pool.begin() + UniformInt(5, 8, rng));
  const int model_count = static_cast<int>(names.size());
  // GameManager has a script but no model.
  plan.script_count = model_count + 1;

  events.Worker(scenario_done, LogLevel::kInfo, kRoomServiceLogger,
                old_generation
                    ? absl::StrCat("통합 시나리오 생성 완료. ruid: ", ruid,
                                   ", 오브젝트 설명 ", plan.script_count, "개")
                    : absl::StrCat("시나리오 생성 완료 - ruid: ", ruid,
                                   ", objects: ", plan.script_count));
  events.Worker(scenario_done, LogLevel::kInfo, kRoomServiceLogger,
                old_generation
                    ? absl::StrCat("3D 모델 생성 시작: ", plan.script_count,
                                   " 개의 오브젝트 인스트럭션")
                    : absl::StrCat("3D 모델 생성 시작 - objects: ",
                                   plan.script_count, ", freeModeling: false"));
  events.Worker(
      scenario_done + 3 * ms,
      old_generation ? LogLevel::kInfo : LogLevel::kDebug, kRoomServiceLogger,
      old_generation
          ? absl::StrCat("모델 생성 태스크 총 ", model_count, "개 추가 완료.")
          : absl::StrCat("모델 생성 태스크 ", model_count, " 개 추가"));
  const absl::Duration scripts_start = scenario_done + 7 * ms;
  if (old_generation) {
    events.Worker(scripts_start, LogLevel::kInfo, kAnthropicLogger,
                  "마크다운 기반 통합 스크립트 생성 시작");
  } else {
    events.Worker(scripts_start, LogLevel::kInfo, kRoomServiceLogger,
                  absl::StrCat("스크립트 생성 시작 - objects: ",
                               plan.script_count, ", mode: 단일 요청"));
  }
  const absl::Duration scripts_done =
      scripts_start +
      UniformDuration(absl::Seconds(12), absl::Seconds(20), rng);
  events.Worker(
      scripts_done, LogLevel::kInfo, kRoomServiceLogger,
      absl::StrCat("통합 스크립트 생성 완료: ", plan.script_count, " 개"));
  events.Worker(scripts_done + ms, LogLevel::kInfo, kRoomServiceLogger,
                old_generation
                    ? absl::StrCat("3D 모델 생성 완료 대기 중: ", model_count,
                                   " 개 (최대 10분)")
                    : absl::StrCat("3D 모델 생성 대기 중 - count: ",
                                   model_count, ", timeout: 10분"));

  std::vector<ModelFate> fates(model_count, ModelFate::kSucceeds);
  if (Chance(options.failure_rate, rng)) {
    fates[UniformInt(0, model_count - 1, rng)] = ModelFate::kRateLimited;
  }
  if (Chance(options.failure_rate * 0.3, rng)) {
    fates[UniformInt(0, model_count - 1, rng)] = ModelFate::kHangs;
  }
  const absl::Duration give_up = scripts_done + ms + kModelTimeout;
  absl::Duration models_done = scripts_done;
  bool timed_out = false;
  std::vector<ModelOutcome> outcomes;
  for (int i = 0; i < model_count; ++i) {
    outcomes.push_back(PlanModel(events, names[i], i,
                                 scenario_done + (4 + i) * ms, fates[i],
                                 give_up, options.poll_interval, rng));
    if (fates[i] == ModelFate::kHangs) {
      timed_out = true;
    } else {
      models_done = std::max(models_done, outcomes.back().done);
    }
  }

  const absl::Duration collected =
      timed_out ? give_up
                : models_done + UniformDuration(absl::Milliseconds(150),
                                                absl::Milliseconds(250), rng);
  if (timed_out) {
    events.Worker(collected, LogLevel::kWarn, kRoomServiceLogger,
                  "모델 생성 타임아웃 발생, 현재까지 완료된 결과만 수집");
  }
  nlohmann::ordered_json tracking = nlohmann::ordered_json::object();
  nlohmann::ordered_json failed = nlohmann::ordered_json::object();
  for (int i = 0; i < model_count; ++i) {
    switch (fates[i]) {
      case ModelFate::kSucceeds:
        tracking[names[i]] = outcomes[i].tracking_id;
        break;
      case ModelFate::kRateLimited:
        events.Worker(collected + ms, LogLevel::kWarn, kRoomServiceLogger,
                      absl::StrCat("모델 생성 실패로 표시됨: ", names[i],
                                   " -> ", outcomes[i].tracking_id));
        failed[names[i]] = outcomes[i].tracking_id;
        break;
      case ModelFate::kHangs:
        failed[absl::StrCat("timeout_", i)] = outcomes[i].tracking_id;
        break;
    }
  }
  if (!failed.empty()) tracking["failed_models"] = std::move(failed);

  const absl::Duration completed = collected + 7 * ms;
  if (old_generation) {
    events.Worker(completed, LogLevel::kInfo, kRoomServiceLogger,
                  absl::StrCat("통합 방 생성 완료: ruid=", ruid,
                               ", 스크립트 수=", plan.script_count));
  }
  plan.events = std::move(events).Sorted();
  plan.processing_time = completed + ms;
  plan.success = true;
  plan.result = SuccessResult(ruid, request, names, std::move(tracking));
  return plan;
}

}  // namespace eroom::sim
