#include "tests/bench/log_generator.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <random>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "common/clock.h"
#include "tests/sim/catalog.h"
#include "tests/sim/log_writer.h"
#include "tests/sim/room_queue.h"
#include "tests/sim/room_simulator.h"
#include "tests/unit/test_support/fake_clock.h"

namespace eroom::bench {
namespace {

using sim::LogEvent;
using sim::LogLevel;

// Text is handed on in blocks of about this size.
constexpr size_t kBlockBytes = 1 << 20;
// How often a client asks for the result of the oldest room it submitted.
constexpr absl::Duration kResultPollInterval = absl::Seconds(30);

// Collects what the sim's EventLog writes.
class TextSink final : public sim::LogSink {
 public:
  void Append(absl::string_view text) override {
    text_.append(text.data(), text.size());
  }
  std::string& text() { return text_; }

 private:
  std::string text_;
};

absl::Duration UniformDuration(absl::Duration lo, absl::Duration hi,
                               std::mt19937_64& rng) {
  return absl::Milliseconds(std::uniform_int_distribution<int64_t>(
      absl::ToInt64Milliseconds(lo), absl::ToInt64Milliseconds(hi))(rng));
}

std::string XnioThread(std::mt19937_64& rng) {
  return absl::StrCat("XNIO-1 I/O-",
                      std::uniform_int_distribution<int>(1, 8)(rng));
}

std::vector<LogEvent> StartupEvents() {
  auto main = [](LogLevel level, const char* logger, std::string message) {
    return LogEvent{sim::kMainThread, level, logger, std::move(message)};
  };
  return {
      main(LogLevel::kWarn, sim::kApplicationConfigLogger,
           "유효하지 않은 포트 번호: --config=config/config.json. 기본값 "
           "8080을 사용합니다."),
      main(LogLevel::kInfo, sim::kJsonConfigLogger,
           "설정 파일이 성공적으로 로드되었습니다"),
      main(LogLevel::kInfo, sim::kApiKeyProviderLogger,
           "ANTHROPIC_KEY 환경 변수가 설정되었습니다."),
      main(LogLevel::kInfo, sim::kApiKeyProviderLogger,
           "MESHY_KEY 환경 변수가 설정되었습니다."),
      main(LogLevel::kInfo, sim::kAuthProviderLogger,
           "EROOM_PRIVATE_KEY 환경 변수가 설정되었습니다."),
      main(LogLevel::kInfo, sim::kUndertowServerLogger,
           "Undertow 서버가 포트 8080에서 시작 준비 완료"),
      main(LogLevel::kInfo, sim::kUndertowLogger,
           "starting server: Undertow - 2.3.18.Final"),
      main(LogLevel::kInfo, sim::kXnioLogger, "XNIO version 3.8.16.Final"),
      main(LogLevel::kInfo, sim::kUndertowServerLogger,
           "서버가 성공적으로 시작되었습니다"),
  };
}

std::vector<LogEvent> ShutdownEvents() {
  auto hook = [](const char* logger, std::string message) {
    return LogEvent{sim::kShutdownThread, LogLevel::kInfo, logger,
                    std::move(message)};
  };
  return {
      hook(sim::kMainLogger, "애플리케이션 종료 중..."),
      hook(sim::kUndertowServerLogger, "서버 종료 시작..."),
      hook(sim::kUndertowServerLogger, "서버가 중지되었습니다"),
  };
}

LogEvent AuthFailure(std::mt19937_64& rng) {
  static constexpr const char* kPaths[] = {"/queue/status", "/health", "/",
                                           "/room/create"};
  const char* path = kPaths[std::uniform_int_distribution<int>(0, 3)(rng)];
  const bool missing = std::bernoulli_distribution(0.5)(rng);
  return LogEvent{
      XnioThread(rng), LogLevel::kWarn, sim::kAuthFilterLogger,
      absl::StrCat(missing ? "Authorization 헤더가 요청에 없습니다: "
                           : "잘못된 API 키가 제공되었습니다: ",
                   path)};
}

// Hands whole lines on in blocks and stops at the requested count.
class LineBudget {
 public:
  LineBudget(uint64_t lines, absl::FunctionRef<void(std::string_view)> write)
      : remaining_(lines), write_(write) {}

  bool exhausted() const { return remaining_ == 0; }

  // Moves the complete lines of `text` (all of it: the sim writes whole
  // lines) into the output, up to the budget.
  void Take(std::string& text) {
    size_t end = 0;
    while (remaining_ > 0 && end < text.size()) {
      const size_t newline = text.find('\n', end);
      if (newline == std::string::npos) break;
      end = newline + 1;
      --remaining_;
    }
    block_.append(text, 0, end);
    text.clear();
    if (block_.size() >= kBlockBytes || exhausted()) Flush();
  }

  void Flush() {
    if (!block_.empty()) write_(block_);
    block_.clear();
  }

 private:
  uint64_t remaining_;
  absl::FunctionRef<void(std::string_view)> write_;
  std::string block_;
};

// One run of the server, from start to stop: `rooms` rooms arrive every 1-10
// minutes, results are fetched, stray clients fail to authenticate.
void RunSession(sim::Generation generation, int rooms, absl::TimeZone zone,
                FakeClock& clock, std::mt19937_64& rng, TextSink& sink,
                LineBudget& budget) {
  sim::EventLog log(clock, sink, zone);
  sim::RoomQueue::Options queue_options;
  queue_options.plan.generation = generation;
  queue_options.seed = rng();
  sim::RoomQueue queue(clock, log, queue_options);

  log.Log(StartupEvents());
  budget.Take(sink.text());
  absl::Time next_request =
      clock.Now() + UniformDuration(absl::Seconds(5), absl::Minutes(1), rng);
  absl::Time next_stray =
      clock.Now() + UniformDuration(absl::Seconds(10), absl::Minutes(5), rng);
  absl::Time next_result_poll = clock.Now() + kResultPollInterval;
  std::deque<std::string> unfetched;
  int submitted = 0;
  while (!budget.exhausted()) {
    const absl::Time due = queue.RunDueEvents();
    budget.Take(sink.text());
    if (submitted == rooms && due == absl::InfiniteFuture()) break;

    const absl::Time now =
        std::min({due, submitted < rooms ? next_request : due, next_stray,
                  next_result_poll});
    clock.Set(now);
    if (submitted < rooms && now >= next_request) {
      unfetched.push_back(
          queue.Submit(sim::RandomRoomRequest(rng), XnioThread(rng)));
      ++submitted;
      next_request += UniformDuration(absl::Minutes(1), absl::Minutes(10), rng);
    }
    if (now >= next_stray) {
      log.Log(AuthFailure(rng));
      next_stray += UniformDuration(absl::Seconds(10), absl::Minutes(5), rng);
    }
    if (now >= next_result_poll) {
      if (!unfetched.empty()) {
        std::optional<sim::RoomQueue::Result> result =
            queue.TakeResult(unfetched.front(), XnioThread(rng));
        if (result && result->final) unfetched.pop_front();
      }
      next_result_poll += kResultPollInterval;
    }
  }
  log.Log(ShutdownEvents());
  budget.Take(sink.text());
}

void Generate(const LogGeneratorOptions& options,
              absl::FunctionRef<void(std::string_view)> write) {
  std::mt19937_64 rng(options.seed);
  FakeClock clock(absl::FromCivil(absl::CivilSecond(2025, 6, 16, 9, 12, 1),
                                  options.time_zone));
  TextSink sink;
  LineBudget budget(options.lines, write);
  for (int session = 0; !budget.exhausted(); ++session) {
    const sim::Generation generation =
        session % 2 == 0 ? sim::Generation::kOld : sim::Generation::kNew;
    RunSession(generation, std::uniform_int_distribution<int>(20, 60)(rng),
               options.time_zone, clock, rng, sink, budget);
    clock.Advance(UniformDuration(absl::Seconds(5), absl::Minutes(2), rng));
  }
  budget.Flush();
}

}  // namespace

std::string GenerateLog(const LogGeneratorOptions& options) {
  std::string text;
  Generate(options, [&](std::string_view block) { text.append(block); });
  return text;
}

absl::Status WriteLogFile(const std::string& path,
                          const LogGeneratorOptions& options) {
  const int fd =
      open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot create ", path, ": ", std::strerror(errno)));
  }
  int write_error = 0;
  Generate(options, [&](std::string_view block) {
    while (!block.empty() && write_error == 0) {
      const ssize_t written = write(fd, block.data(), block.size());
      if (written < 0 && errno != EINTR) write_error = errno;
      if (written > 0) block.remove_prefix(static_cast<size_t>(written));
    }
  });
  if (close(fd) != 0 && write_error == 0) write_error = errno;
  if (write_error != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot write ", path, ": ", std::strerror(write_error)));
  }
  return absl::OkStatus();
}

}  // namespace eroom::bench
