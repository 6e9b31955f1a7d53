#include "tests/sim/log_writer.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "common/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/sim/catalog.h"
#include "tests/unit/sim/test_support.h"
#include "tests/unit/test_support/fake_clock.h"
#include "tests/unit/test_support/status_matchers.h"
#include "tests/unit/test_support/temp_dir.h"

namespace eroom::sim {
namespace {

using ::eroom::test_support::IsOk;
using ::eroom::test_support::StatusIs;

namespace fs = std::filesystem;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

absl::Time SampleTime(int hour, int minute, int second, int millis) {
  return absl::FromCivil(absl::CivilSecond(2025, 6, 16, hour, minute, second),
                         absl::UTCTimeZone()) +
         absl::Milliseconds(millis);
}

TEST(AbbreviateLoggerNameTest, MatchesLogbackOnEveryErooomLogger) {
  // Expected values as they appear in the shared sample log.
  EXPECT_EQ(AbbreviateLoggerName(kApplicationConfigLogger, 40),
            "c.febrie.eroom.config.ApplicationConfig");
  EXPECT_EQ(AbbreviateLoggerName(kJsonConfigLogger, 40),
            "c.f.e.config.JsonConfigurationManager");
  EXPECT_EQ(AbbreviateLoggerName(kApiKeyProviderLogger, 40),
            "c.f.e.config.EnvironmentApiKeyProvider");
  EXPECT_EQ(AbbreviateLoggerName(kAuthProviderLogger, 40),
            "c.f.eroom.config.EnvironmentAuthProvider");
  EXPECT_EQ(AbbreviateLoggerName(kQueueManagerLogger, 40),
            "c.f.e.s.queue.RoomRequestQueueManager");
  EXPECT_EQ(AbbreviateLoggerName(kRoomServiceLogger, 40),
            "c.f.eroom.service.room.RoomServiceImpl");
  EXPECT_EQ(AbbreviateLoggerName(kAnthropicLogger, 40),
            "c.f.eroom.service.ai.AnthropicAiService");
  EXPECT_EQ(AbbreviateLoggerName(kMeshyLogger, 40),
            "c.f.eroom.service.mesh.MeshyApiService");
  // Exactly 40 characters is still shortened, as logback does.
  EXPECT_EQ(AbbreviateLoggerName(kAuthFilterLogger, 40),
            "c.febrie.eroom.filter.ApiKeyAuthFilter");
  EXPECT_EQ(AbbreviateLoggerName(kUndertowServerLogger, 40),
            "com.febrie.eroom.server.UndertowServer");
  EXPECT_EQ(AbbreviateLoggerName(kUndertowLogger, 40), "io.undertow");
  EXPECT_EQ(
      AbbreviateLoggerName("NoPackageButAVeryLongClassNameIndeedYesSir", 40),
      "NoPackageButAVeryLongClassNameIndeedYesSir");
}

TEST(FormatLogLineTest, ReproducesSampleLinesByteForByte) {
  const std::string sample =
      ReadFile(fs::path(EROOM_SOURCE_DIR) / "tests/fixtures/server.log");
  ASSERT_FALSE(sample.empty());
  const absl::TimeZone utc = absl::UTCTimeZone();
  const std::string lines[] = {
      FormatLogLine(SampleTime(9, 15, 2, 122), utc,
                    {kWorkerThread, LogLevel::kInfo, kRoomServiceLogger,
                     "통합 방 생성 시작: ruid=room_3f9a1c2b7d4e8f60, "
                     "user_uuid=kQ7xVb2NfRhW9mZp3LsT8uYc1Ae2, theme=victoria, "
                     "difficulty=normal"}),
      FormatLogLine(SampleTime(9, 13, 40, 215), utc,
                    {"XNIO-1 I/O-2", LogLevel::kWarn, kAuthFilterLogger,
                     "Authorization 헤더가 요청에 없습니다: /queue/status"}),
      FormatLogLine(SampleTime(9, 12, 2, 32), utc,
                    {kWorkerThread, LogLevel::kDebug, kQueueManagerLogger,
                     "큐에서 요청 대기 중... 현재 큐 크기: 0"}),
      FormatLogLine(SampleTime(9, 12, 2, 63), utc,
                    {kMainThread, LogLevel::kInfo, kUndertowLogger,
                     "starting server: Undertow - 2.3.18.Final"}),
      FormatLogLine(SampleTime(9, 15, 50, 344), utc,
                    {"pool-1-thread-4", LogLevel::kError, kMeshyLogger,
                     "API 호출 실패. 상태 코드: 429, 메시지: "}),
      FormatLogLine(SampleTime(11, 41, 13, 881), utc,
                    {kShutdownThread, LogLevel::kWarn, kQueueManagerLogger,
                     "ExecutorService가 정상적으로 종료되지 않아 강제 "
                     "종료합니다."}),
  };
  for (const std::string& line : lines) {
    EXPECT_TRUE(absl::StrContains(sample, line)) << line;
  }
}

TEST(FormatLogLineTest, MultiLineMessageKeepsContinuationLinesRaw) {
  const std::string text = FormatLogLine(
      SampleTime(10, 0, 0, 5), absl::UTCTimeZone(),
      {kWorkerThread, LogLevel::kError, kRoomServiceLogger,
       "boom\njava.lang.RuntimeException: x\n\tat a.B.c(B.java:1)"});
  EXPECT_EQ(text,
            "2025-06-16 10:00:00.005 [pool-2-thread-1] ERROR "
            "c.f.eroom.service.room.RoomServiceImpl   : boom\n"
            "java.lang.RuntimeException: x\n\tat a.B.c(B.java:1)\n");
}

TEST(EventLogTest, StampsWithInjectedClockAndWritesOneBlock) {
  FakeClock clock(SampleTime(23, 59, 59, 999));
  MemorySink sink;
  EventLog log(clock, sink, absl::UTCTimeZone());
  log.Log({LogEvent{"main", LogLevel::kInfo, "a.B", "one"},
           LogEvent{"main", LogLevel::kWarn, "a.B", "two"}});
  const std::string padding(37, ' ');
  EXPECT_EQ(sink.Text(),
            absl::StrCat("2025-06-16 23:59:59.999 [main] INFO  a.B", padding,
                         " : one\n2025-06-16 23:59:59.999 [main] WARN  a.B",
                         padding, " : two\n"));
}

class LogFileTest : public ::testing::Test {
 protected:
  ::eroom::test_support::TempDir temp_dir_;
  const fs::path& dir_ = temp_dir_.path();
  const fs::path path_ = dir_ / "server.log";
};

TEST_F(LogFileTest, AppendsToExistingContent) {
  std::ofstream(path_) << "earlier\n";
  absl::StatusOr<std::unique_ptr<LogFile>> file = LogFile::Open(path_);
  ASSERT_THAT(file, IsOk());
  (*file)->Append("later\n");
  EXPECT_EQ(ReadFile(path_), "earlier\nlater\n");
}

TEST_F(LogFileTest, ReopensAfterRenameLikeDailyRotation) {
  absl::StatusOr<std::unique_ptr<LogFile>> file = LogFile::Open(path_);
  ASSERT_THAT(file, IsOk());
  (*file)->Append("day one\n");
  fs::rename(path_, dir_ / "server.2025-06-16.log");
  (*file)->Append("day two\n");
  EXPECT_EQ(ReadFile(dir_ / "server.2025-06-16.log"), "day one\n");
  EXPECT_EQ(ReadFile(path_), "day two\n");
}

TEST_F(LogFileTest, RecreatesDeletedFile) {
  absl::StatusOr<std::unique_ptr<LogFile>> file = LogFile::Open(path_);
  ASSERT_THAT(file, IsOk());
  (*file)->Append("gone\n");
  fs::remove(path_);
  (*file)->Append("back\n");
  EXPECT_EQ(ReadFile(path_), "back\n");
}

TEST_F(LogFileTest, OpenFailsClearlyForMissingDirectory) {
  absl::StatusOr<std::unique_ptr<LogFile>> file =
      LogFile::Open((dir_ / "missing" / "server.log").string());
  EXPECT_THAT(file, StatusIs(absl::StatusCode::kUnavailable,
                             ::testing::HasSubstr("missing")));
}

}  // namespace
}  // namespace eroom::sim
