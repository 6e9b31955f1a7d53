#include "agent/log_header_parser.h"

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "gtest/gtest.h"

namespace eroom::agent {
namespace {

namespace v1 = ::eroom::monitor::v1;

const absl::TimeZone kSeoul = absl::FixedTimeZone(9 * 3600);

int64_t SeoulMillis(absl::CivilSecond civil, int millis) {
  return absl::ToUnixMillis(absl::FromCivil(civil, kSeoul) +
                            absl::Milliseconds(millis));
}

std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

class LogHeaderParserTest : public testing::Test {
 protected:
  LogHeaderParser parser_{kSeoul};
  LogFileDate no_date_;
};

// Every line of the real-format sample: header lines give back exactly the
// parts the layout printed; every other line is a continuation.
TEST_F(LogHeaderParserTest, ParsesEveryLineOfTheSample) {
  const std::vector<std::string> lines =
      ReadLines(EROOM_SOURCE_DIR "/tests/fixtures/server.log");
  ASSERT_EQ(lines.size(), 90u);
  int headers = 0;
  for (const std::string& line : lines) {
    SCOPED_TRACE(line);
    std::optional<LogHeader> header = parser_.Parse(line, no_date_);
    if (!line.starts_with("2025-06-16 ")) {
      EXPECT_FALSE(header.has_value());
      continue;
    }
    ++headers;
    ASSERT_TRUE(header.has_value());
    // Independent split: "date time [thread] LEVEL logger<pad> : msg".
    const size_t thread_end = line.find("] ");
    EXPECT_EQ(header->thread, line.substr(25, thread_end - 25));
    std::istringstream rest(line.substr(thread_end + 2));
    std::string level, logger, colon;
    rest >> level >> logger >> colon;
    EXPECT_EQ(v1::LogLevel_Name(header->level), level);
    EXPECT_EQ(header->logger, logger);
    EXPECT_EQ(colon, ":");
    const size_t separator = line.find(" : ", thread_end);
    EXPECT_EQ(header->message, line.substr(separator + 3));
    const absl::CivilSecond civil(
        std::stoi(line.substr(0, 4)), std::stoi(line.substr(5, 2)),
        std::stoi(line.substr(8, 2)), std::stoi(line.substr(11, 2)),
        std::stoi(line.substr(14, 2)), std::stoi(line.substr(17, 2)));
    EXPECT_EQ(header->time_unix_ms,
              SeoulMillis(civil, std::stoi(line.substr(20, 3))));
  }
  EXPECT_EQ(headers, 59);
}

TEST_F(LogHeaderParserTest, SpotChecksOfTheShippedPattern) {
  std::optional<LogHeader> header = parser_.Parse(
      "2025-06-16 09:13:40.215 [XNIO-1 I/O-2] WARN  "
      "c.febrie.eroom.filter.ApiKeyAuthFilter   : Authorization 헤더가 요청에 "
      "없습니다: /queue/status",
      no_date_);
  ASSERT_TRUE(header.has_value());
  EXPECT_EQ(header->time_unix_ms,
            SeoulMillis(absl::CivilSecond(2025, 6, 16, 9, 13, 40), 215));
  EXPECT_EQ(header->level, v1::WARN);
  EXPECT_EQ(header->thread, "XNIO-1 I/O-2");
  EXPECT_EQ(header->logger, "c.febrie.eroom.filter.ApiKeyAuthFilter");
  EXPECT_EQ(header->message,
            "Authorization 헤더가 요청에 없습니다: /queue/status");

  // Empty message (trailing spaces trimmed by an editor) and a logger
  // longer than its padding.
  header = parser_.Parse(
      "2025-06-16 09:15:50.344 [pool-1-thread-4] ERROR "
      "com.febrie.eroom.service.mesh.VeryLongServiceNameThatOverflows :",
      no_date_);
  ASSERT_TRUE(header.has_value());
  EXPECT_EQ(header->logger,
            "com.febrie.eroom.service.mesh.VeryLongServiceNameThatOverflows");
  EXPECT_EQ(header->message, "");

  header = parser_.Parse(
      "2025-06-16 09:15:50.344 [main] TRACE x.Y : 메시지 [with] : colons",
      no_date_);
  ASSERT_TRUE(header.has_value());
  EXPECT_EQ(header->level, v1::TRACE);
  EXPECT_EQ(header->message, "메시지 [with] : colons");
}

TEST_F(LogHeaderParserTest, RejectsLinesThatOnlyLookLikeHeaders) {
  for (const char* line : {
           "",
           "\tat com.febrie.eroom.Main.main(Main.java:10)",
           "Caused by: java.lang.RuntimeException: boom",
           "\t... 8 common frames omitted",
           "2025-06-16",
           "2025-06-16 09:15:50.344 [main] NOTICE x.Y : unknown level",
           "2025-06-16 09:15:50.344 main INFO  x.Y : no brackets",
           "2025-13-16 09:15:50.344 [main] INFO  x.Y : month 13",
           "2025-06-16 25:15:50.344 [main] INFO  x.Y : hour 25",
           "2025-06-16 09:15:50.344 [main] INFO  x.Y - older separator",
           "09:15:50.344 [main] INFO  x.Y : shipped separator",
           "09:15:50.344 [main] INFO  x.Y  - padded older separator",
           "2025-06-16 09:15:50.344 [main] INFO\tx.Y : tab before logger",
           "2025-06-16 09:15:50.344 [main] INFO  x.Y\t: tab after logger",
           "2025-06-16 09:15:50.344 [main] INFO  : no logger",
           "2025-06-16 09:15:50.344 [main] WARNING x.Y : longer level",
           "2025-06-16 09:15:50.344 [main] INFO",
           "2025-06-16 09:15:50.344 [main]",
           "2025-06-16 09:15:50.344 [main INFO  x.Y : unclosed thread",
           "2025-06-16T09:15:50.344 [main] INFO  x.Y : ISO separator",
           "2025-06-16 09:15:50,344 [main] INFO  x.Y : comma millis",
           "2025-06-16 9:15:50.344 [main] INFO  x.Y : one-digit hour",
           "12345",
       }) {
    EXPECT_FALSE(parser_.Parse(line, no_date_).has_value()) << line;
  }
}

// Like the layout's `[%thread] `, a thread ends at the first "] " after
// which the rest of the header fits, so a thread name may contain "] ".
TEST_F(LogHeaderParserTest, ThreadEndsWhereTheRestOfTheHeaderFits) {
  std::optional<LogHeader> header = parser_.Parse(
      "2025-06-16 09:15:50.344 [odd] thread] INFO  x.Y : message", no_date_);
  ASSERT_TRUE(header.has_value());
  EXPECT_EQ(header->thread, "odd] thread");
  EXPECT_EQ(header->level, v1::INFO);
  EXPECT_EQ(header->logger, "x.Y");
  EXPECT_EQ(header->message, "message");

  header = parser_.Parse(
      "2025-06-16 09:15:50.344 [a] INFO  b] WARN  x.Y : message", no_date_);
  ASSERT_TRUE(header.has_value());
  EXPECT_EQ(header->thread, "a] INFO  b");
  EXPECT_EQ(header->level, v1::WARN);

  header = parser_.Parse("2025-06-16 09:15:50.344 [] DEBUG x.Y :", no_date_);
  ASSERT_TRUE(header.has_value());
  EXPECT_EQ(header->thread, "");
  EXPECT_EQ(header->message, "");

  // Only one space after the separator belongs to it.
  header = parser_.Parse("09:15:50.344 [main] ERROR x.Y -   indented",
                         LogFileDate{absl::CivilDay(2025, 6, 15), {}});
  ASSERT_TRUE(header.has_value());
  EXPECT_EQ(header->message, "  indented");
}

TEST_F(LogHeaderParserTest, OlderPatternTakesTheDateFromTheFileName) {
  const LogFileDate named{absl::CivilDay(2025, 6, 15),
                          absl::FromUnixSeconds(0)};
  std::optional<LogHeader> header = parser_.Parse(
      "23:59:01.250 [XNIO-1 I/O-2] WARN  c.f.e.filter.ApiKeyAuthFilter - "
      "Authorization 헤더가 요청에 없습니다: /health",
      named);
  ASSERT_TRUE(header.has_value());
  EXPECT_EQ(header->time_unix_ms,
            SeoulMillis(absl::CivilSecond(2025, 6, 15, 23, 59, 1), 250));
  EXPECT_EQ(header->level, v1::WARN);
  EXPECT_EQ(header->thread, "XNIO-1 I/O-2");
  EXPECT_EQ(header->logger, "c.f.e.filter.ApiKeyAuthFilter");
  EXPECT_EQ(header->message, "Authorization 헤더가 요청에 없습니다: /health");
}

TEST_F(LogHeaderParserTest, OlderPatternTakesTheDateFromTheModificationTime) {
  const absl::Time modified =
      absl::FromCivil(absl::CivilSecond(2025, 6, 20, 0, 0, 30), kSeoul);
  const LogFileDate file_date{std::nullopt, modified};
  std::optional<LogHeader> header =
      parser_.Parse("00:00:29.100 [main] INFO  x.Y - just now", file_date);
  ASSERT_TRUE(header.has_value());
  EXPECT_EQ(header->time_unix_ms,
            SeoulMillis(absl::CivilSecond(2025, 6, 20, 0, 0, 29), 100));
  // Logged before midnight, modified after it: the day before.
  header = parser_.Parse("23:59:59.998 [main] INFO  x.Y - late", file_date);
  ASSERT_TRUE(header.has_value());
  EXPECT_EQ(header->time_unix_ms,
            SeoulMillis(absl::CivilSecond(2025, 6, 19, 23, 59, 59), 998));
  // Slightly newer than the modification time read before it: same day.
  header = parser_.Parse("00:10:00.000 [main] INFO  x.Y - raced", file_date);
  ASSERT_TRUE(header.has_value());
  EXPECT_EQ(header->time_unix_ms,
            SeoulMillis(absl::CivilSecond(2025, 6, 20, 0, 10, 0), 0));
}

// The parser remembers the last minute it converted: around a change of the
// zone's offset (whole hours in New York, half an hour on Lord Howe Island)
// every second still means what the zone says it means.
TEST(LogHeaderParserTimeZoneTest, EverySecondAroundOffsetChanges) {
  struct Change {
    const char* zone;
    absl::CivilDay day;
  };
  for (const Change& change :
       {Change{"America/New_York", absl::CivilDay(2025, 3, 9)},
        Change{"America/New_York", absl::CivilDay(2025, 11, 2)},
        Change{"Australia/Lord_Howe", absl::CivilDay(2025, 4, 6)},
        Change{"Australia/Lord_Howe", absl::CivilDay(2025, 10, 5)}}) {
    absl::TimeZone zone;
    if (!absl::LoadTimeZone(change.zone, &zone)) {
      GTEST_SKIP() << "no time zone data for " << change.zone;
    }
    const LogHeaderParser parser(zone);
    const absl::CivilSecond start = absl::CivilHour(change.day) + 1;
    for (absl::CivilSecond civil = start; civil < start + 3 * 3600; ++civil) {
      const std::string line =
          absl::StrCat(absl::FormatCivilTime(civil).replace(10, 1, " "),
                       ".250 [main] INFO  x.Y : tick");
      std::optional<LogHeader> header = parser.Parse(line, LogFileDate{});
      ASSERT_TRUE(header.has_value()) << line;
      ASSERT_EQ(header->time_unix_ms,
                absl::ToUnixMillis(absl::FromCivil(civil, zone) +
                                   absl::Milliseconds(250)))
          << change.zone << " " << line;
    }
  }
}

TEST(DayFromLogFileNameTest, FindsLogbackDates) {
  EXPECT_EQ(DayFromLogFileName("logs/server.2025-06-15.log"),
            absl::CivilDay(2025, 6, 15));
  EXPECT_EQ(DayFromLogFileName("/var/eroom/logs/eroom.2024-12-31.3.log"),
            absl::CivilDay(2024, 12, 31));
  EXPECT_EQ(DayFromLogFileName("logs/server.log"), std::nullopt);
  EXPECT_EQ(DayFromLogFileName("logs/server.2025-06-15.log.gz"), std::nullopt);
  EXPECT_EQ(DayFromLogFileName("logs/server.2025-02-30.log"), std::nullopt);
  EXPECT_EQ(DayFromLogFileName("logs.2025-06-15/server.log"), std::nullopt);
}

}  // namespace
}  // namespace eroom::agent
