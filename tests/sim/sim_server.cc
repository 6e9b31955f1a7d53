#include "tests/sim/sim_server.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tests/sim/catalog.h"

namespace eroom::sim {
namespace {

// At high speed Meshy's 3-second polls would flood the log; no model polls
// more often than this in wall-clock time.
constexpr absl::Duration kMinWallPollInterval = absl::Seconds(1);
constexpr size_t kMemoryGrowthStep = 8 << 20;
constexpr size_t kMemoryGrowthCap = 512 << 20;
constexpr int kErrorBurstLines = 50;

// The Claude 529 of the shared sample, after which ERoom exits with 1.
constexpr char kOverloaded[] =
    "529: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
    "\"message\":\"Overloaded\"}}";
constexpr char kOverloadedTrace[] =
    "\tat com.anthropic.core.handlers.ErrorHandler$errorHandler$1.handle("
    "ErrorHandler.kt:56)\n"
    "\tat com.anthropic.services.blocking.MessageServiceImpl$"
    "WithRawResponseImpl.create(MessageServiceImpl.kt:118)\n"
    "\tat com.anthropic.services.blocking.MessageServiceImpl.create("
    "MessageServiceImpl.kt:71)\n"
    "\tat com.anthropic.services.blocking.MessageService.create("
    "MessageService.kt:46)\n"
    "\tat com.febrie.eroom.service.ai.AnthropicAiService."
    "executeAnthropicCall(AnthropicAiService.java:102)\n"
    "\tat com.febrie.eroom.service.ai.AnthropicAiService.generateScenario("
    "AnthropicAiService.java:63)\n"
    "\tat com.febrie.eroom.service.room.RoomServiceImpl."
    "createIntegratedScenario(RoomServiceImpl.java:85)\n";

uint64_t RandomSeed() {
  std::random_device device;
  return (static_cast<uint64_t>(device()) << 32) | device();
}

// Without EROOM_PRIVATE_KEY, ERoom makes up a key nobody knows.
std::string ResolveApiKey(const std::optional<std::string>& configured) {
  if (configured.has_value()) return *configured;
  std::mt19937_64 rng(RandomSeed());
  return absl::StrFormat("%016x%016x", rng(), rng());
}

RoomQueue::Options QueueOptions(const SimOptions& options, uint64_t seed) {
  RoomQueue::Options queue;
  queue.speed = options.speed;
  queue.seed = seed;
  queue.plan.generation = options.generation;
  queue.plan.failure_rate = options.failure_rate;
  queue.plan.poll_interval =
      std::max(absl::Seconds(3), kMinWallPollInterval * options.speed);
  return queue;
}

LogEvent MainEvent(LogLevel level, const char* logger, std::string message) {
  return LogEvent{kMainThread, level, logger, std::move(message)};
}

LogEvent ShutdownEvent(LogLevel level, const char* logger,
                       std::string message) {
  return LogEvent{kShutdownThread, level, logger, std::move(message)};
}

}  // namespace

SimServer::SimServer(const Clock& clock, LogSink& sink, absl::TimeZone zone,
                     SimOptions options)
    : options_(std::move(options)),
      seed_(options_.seed.value_or(RandomSeed())),
      log_(clock, sink, zone),
      queue_(clock, log_, QueueOptions(options_, seed_)),
      http_(
          log_, queue_, faults_, ResolveApiKey(options_.api_key),
          [this](Fault fault, bool enabled) { SwitchFault(fault, enabled); }) {}

SimServer::~SimServer() { Stop(); }

void SimServer::LogStartup() {
  std::vector<LogEvent> events = {
      MainEvent(
          LogLevel::kWarn, kApplicationConfigLogger,
          absl::StrCat("유효하지 않은 포트 번호: --config=config/config.json. "
                       "기본값 ",
                       options_.port, "을 사용합니다.")),
      MainEvent(LogLevel::kInfo, kJsonConfigLogger,
                "설정 파일이 성공적으로 로드되었습니다"),
      MainEvent(LogLevel::kInfo, kApiKeyProviderLogger,
                "ANTHROPIC_KEY 환경 변수가 설정되었습니다."),
      MainEvent(LogLevel::kInfo, kApiKeyProviderLogger,
                "MESHY_KEY 환경 변수가 설정되었습니다."),
  };
  if (options_.api_key.has_value()) {
    events.push_back(
        MainEvent(LogLevel::kInfo, kAuthProviderLogger,
                  "EROOM_PRIVATE_KEY 환경 변수가 설정되었습니다."));
  } else {
    events.push_back(MainEvent(
        LogLevel::kWarn, kAuthProviderLogger,
        "EROOM_PRIVATE_KEY 환경 변수가 설정되지 않았습니다. 보안을 위해 랜덤 "
        "키가 생성되었습니다."));
    events.push_back(MainEvent(
        LogLevel::kWarn, kAuthProviderLogger,
        "이 키로 인증해야 API에 접근할 수 있습니다. 서버 재시작 시 키가 "
        "변경됩니다."));
  }
  log_.Log(events);
}

absl::Status SimServer::Start() {
  LogStartup();
  queue_.StartWorker();
  started_ = true;
  absl::StatusOr<int> port = http_.Bind(options_.bind, options_.port);
  if (!port.ok()) {
    log_.Log(MainEvent(
        LogLevel::kError, kMainLogger,
        absl::StrCat("서버 시작 중 오류 발생: ", port.status().message())));
    return port.status();
  }
  port_ = *port;
  log_.Log({
      MainEvent(
          LogLevel::kInfo, kUndertowServerLogger,
          absl::StrCat("Undertow 서버가 포트 ", port_, "에서 시작 준비 완료")),
      MainEvent(LogLevel::kInfo, kUndertowLogger,
                "starting server: Undertow - 2.3.18.Final"),
      MainEvent(LogLevel::kInfo, kXnioLogger, "XNIO version 3.8.16.Final"),
  });
  http_.Start();
  log_.Log(MainEvent(LogLevel::kInfo, kUndertowServerLogger,
                     "서버가 성공적으로 시작되었습니다"));
  if (options_.rooms_per_minute > 0) {
    generator_ = std::thread([this] { RunRequestGenerator(); });
  }
  memory_grower_ = std::thread([this] { RunMemoryGrowth(); });
  for (Fault fault : options_.faults) SwitchFault(fault, true);
  return absl::OkStatus();
}

void SimServer::RequestExit(int exit_code) {
  absl::MutexLock lock(&exit_mu_);
  if (!exit_code_.has_value()) exit_code_ = exit_code;
}

int SimServer::WaitForExitRequest() {
  absl::MutexLock lock(&exit_mu_);
  exit_mu_.Await(absl::Condition(
      +[](std::optional<int>* code) { return code->has_value(); },
      &exit_code_));
  return *exit_code_;
}

void SimServer::Stop() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  log_.Log({
      ShutdownEvent(LogLevel::kInfo, kMainLogger, "애플리케이션 종료 중..."),
      ShutdownEvent(LogLevel::kInfo, kUndertowServerLogger,
                    "서버 종료 시작..."),
  });
  faults_.Shutdown();
  stop_threads_.Notify();
  if (generator_.joinable()) generator_.join();
  if (memory_grower_.joinable()) memory_grower_.join();
  http_.Stop();
  if (queue_.StopWorker()) {
    log_.Log(ShutdownEvent(
        LogLevel::kWarn, kQueueManagerLogger,
        "ExecutorService가 정상적으로 종료되지 않아 강제 종료합니다."));
  }
  log_.Log(ShutdownEvent(LogLevel::kInfo, kUndertowServerLogger,
                         "서버가 중지되었습니다"));
}

void SimServer::SwitchFault(Fault fault, bool enabled) {
  switch (fault) {
    case Fault::kFatal:
      if (!enabled) break;
      {
        absl::MutexLock lock(&exit_mu_);
        if (exit_code_.has_value()) return;  // Already going down.
      }
      faults_.Set(fault, true);
      LogFatal();
      RequestExit(1);
      return;
    case Fault::kErrorBurst:
      // A burst is over as soon as it is written.
      if (enabled) LogErrorBurst();
      return;
    default:
      break;
  }
  faults_.Set(fault, enabled);
}

void SimServer::LogFatal() {
  log_.Log(LogEvent{
      kWorkerThread, LogLevel::kError, kAnthropicLogger,
      absl::StrCat("scenario 생성 중 오류 발생: ", kOverloaded,
                   " 서버를 종료합니다.\n"
                   "com.anthropic.errors.InternalServerException: ",
                   kOverloaded, "\n", kOverloadedTrace, kRoomWorkerFrames)});
}

void SimServer::LogErrorBurst() {
  std::vector<LogEvent> events;
  for (int i = 0; i < kErrorBurstLines / 2; ++i) {
    const std::string thread = absl::StrCat("pool-1-thread-", i % 10 + 1);
    events.push_back(LogEvent{thread, LogLevel::kError, kMeshyLogger,
                              "API 호출 실패. 상태 코드: 429, 메시지: "});
    events.push_back(LogEvent{
        thread, LogLevel::kError, kMeshyLogger,
        "에러 응답: {\"message\":\"Too many requests. Please slow down.\"}"});
  }
  log_.Log(events);
}

void SimServer::RunRequestGenerator() {
  std::mt19937_64 rng(seed_ + 1);
  const absl::Duration interval = absl::Minutes(1) / options_.rooms_per_minute;
  // Like ERoom's clients, fetch each room's result once it is done so that
  // finished results do not pile up.
  std::vector<std::string> unfetched;
  int tick = 0;
  do {
    const std::string thread = absl::StrCat("XNIO-1 I/O-", tick++ % 4 + 1);
    std::erase_if(unfetched, [&](const std::string& ruid) {
      std::optional<RoomQueue::Result> result = queue_.TakeResult(ruid, thread);
      return !result.has_value() || result->final;
    });
    unfetched.push_back(queue_.Submit(RandomRoomRequest(rng), thread));
  } while (!stop_threads_.WaitForNotificationWithTimeout(interval));
}

void SimServer::RunMemoryGrowth() {
  std::vector<std::unique_ptr<char[]>> blocks;
  while (!stop_threads_.WaitForNotificationWithTimeout(absl::Seconds(1))) {
    if (!faults_.Has(Fault::kMemoryGrowth)) {
      blocks.clear();
      continue;
    }
    if (blocks.size() * kMemoryGrowthStep >= kMemoryGrowthCap) continue;
    auto block = std::unique_ptr<char[]>(new char[kMemoryGrowthStep]);
    // Touch every page so that the growth shows in the resident size.
    std::memset(block.get(), 0xA5, kMemoryGrowthStep);
    blocks.push_back(std::move(block));
  }
}

}  // namespace eroom::sim
