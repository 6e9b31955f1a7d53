#include "agent/log_event_assembler.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/test_support/proto_matchers.h"

namespace eroom::agent {
namespace {

namespace v1 = ::eroom::monitor::v1;
using test_support::EqualsProto;
using std::string_literals::operator""s;

const absl::Time kNow = absl::FromUnixSeconds(1750000000);

class LogEventAssemblerTest : public testing::Test {
 protected:
  explicit LogEventAssemblerTest(size_t max_event_bytes = 1024)
      : assembler_("logs/server.log", parser_, max_event_bytes) {}

  void Add(std::string_view text, bool truncated = false) {
    assembler_.AddLine(
        LogLine{text, offset_, truncated}, LogFileDate{}, kNow,
        [this](v1::LogEvent event) { events_.push_back(std::move(event)); });
    offset_ += text.size() + 1;
  }
  void Flush() {
    assembler_.Flush(
        [this](v1::LogEvent event) { events_.push_back(std::move(event)); });
  }

  LogHeaderParser parser_{absl::UTCTimeZone()};
  LogEventAssembler assembler_;
  std::vector<v1::LogEvent> events_;
  uint64_t offset_ = 0;
};

constexpr char kHeader[] =
    "2025-06-16 10:02:58.207 [pool-2-thread-1] ERROR "
    "c.f.eroom.service.room.RoomServiceImpl   : 통합 방 생성 중 비즈니스 오류 "
    "발생: ruid=room_a81c5e09d2b47f3e";

TEST_F(LogEventAssemblerTest, ContinuationLinesJoinTheirHeader) {
  Add("stray JVM output");
  Add(kHeader);
  Add("java.lang.RuntimeException: boom");
  Add("\tat a.B.c(B.java:1)");
  Add("Caused by: java.lang.IllegalStateException: inner");
  Add("\t... 8 common frames omitted");
  EXPECT_TRUE(assembler_.has_pending());
  Add("2025-06-16 10:03:00.000 [main] INFO  x.Y : next");
  ASSERT_EQ(events_.size(), 2u);

  const v1::LogEvent& stray = events_[0];
  EXPECT_FALSE(stray.has_header());
  EXPECT_EQ(stray.level(), v1::LOG_LEVEL_UNSPECIFIED);
  EXPECT_EQ(stray.message(), "stray JVM output");
  EXPECT_EQ(stray.time_unix_ms(), absl::ToUnixMillis(kNow));
  EXPECT_EQ(stray.file(), "logs/server.log");
  EXPECT_EQ(stray.file_offset(), 0u);

  const v1::LogEvent& error = events_[1];
  EXPECT_TRUE(error.has_header());
  EXPECT_EQ(error.level(), v1::ERROR);
  EXPECT_EQ(error.thread(), "pool-2-thread-1");
  EXPECT_EQ(error.logger(), "c.f.eroom.service.room.RoomServiceImpl");
  EXPECT_EQ(error.file_offset(), 17u);
  EXPECT_EQ(error.message(),
            "통합 방 생성 중 비즈니스 오류 발생: ruid=room_a81c5e09d2b47f3e\n"
            "java.lang.RuntimeException: boom\n"
            "\tat a.B.c(B.java:1)\n"
            "Caused by: java.lang.IllegalStateException: inner\n"
            "\t... 8 common frames omitted");
  EXPECT_FALSE(error.truncated());

  Flush();
  ASSERT_EQ(events_.size(), 3u);
  EXPECT_EQ(events_[2].message(), "next");
  EXPECT_FALSE(assembler_.has_pending());
}

TEST_F(LogEventAssemblerTest, LineAfterAFlushStandsAlone) {
  Add(kHeader);
  Flush();
  Add("\tat a.B.c(B.java:1)");
  ASSERT_EQ(events_.size(), 2u);
  EXPECT_FALSE(events_[1].has_header());
  EXPECT_EQ(events_[1].message(), "\tat a.B.c(B.java:1)");
  EXPECT_FALSE(assembler_.has_pending());
}

TEST_F(LogEventAssemblerTest, RepairsInvalidUtf8BeforeParsing) {
  // A CP949 message: still a header, text replaced.
  Add("2025-06-16 10:03:00.000 [main] WARN  x.Y : \xB0\xA1 \xC7\xD1");
  Add("frame with NUL \0 and \xFF"s);
  Flush();
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0].level(), v1::WARN);
  EXPECT_EQ(events_[0].message(),
            "\xEF\xBF\xBD\xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD\n"
            "frame with NUL \0 and \xEF\xBF\xBD"s);
  EXPECT_EQ(assembler_.counters().utf8_replacements, 5u);
  std::string wire;
  EXPECT_TRUE(events_[0].SerializeToString(&wire));
}

TEST_F(LogEventAssemblerTest, CutLineMarksItsEventTruncated) {
  Add(kHeader);
  Add("a line the splitter cut", /*truncated=*/true);
  Flush();
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_TRUE(events_[0].truncated());
}

TEST_F(LogEventAssemblerTest, AConsumerThatKeepsNothingStillGetsFreshEvents) {
  std::vector<v1::LogEvent> copies;
  auto copy = [&](v1::LogEvent&& event) { copies.push_back(event); };
  const LogFileDate no_date;
  assembler_.AddLine(LogLine{kHeader, 0, /*truncated=*/true}, no_date, kNow,
                     copy);
  assembler_.AddLine(LogLine{"\tat a.B.c(B.java:1)", 10, false}, no_date, kNow,
                     copy);
  assembler_.AddLine(
      LogLine{"2025-06-16 10:03:00.000 [main] INFO  x.Y : next", 20, false},
      no_date, kNow, copy);
  assembler_.Flush(copy);
  ASSERT_EQ(copies.size(), 2u);
  EXPECT_TRUE(copies[0].truncated());
  v1::LogEvent expected;
  expected.set_time_unix_ms(absl::ToUnixMillis(absl::FromCivil(
      absl::CivilSecond(2025, 6, 16, 10, 3, 0), absl::UTCTimeZone())));
  expected.set_file("logs/server.log");
  expected.set_level(v1::INFO);
  expected.set_logger("x.Y");
  expected.set_thread("main");
  expected.set_message("next");
  expected.set_file_offset(20);
  expected.set_has_header(true);
  EXPECT_EQ(copies[1].SerializeAsString(), expected.SerializeAsString());
}

// The consumer may leave anything in the event it takes (LogEventBatch
// leaves an earlier event's memory): none of it shows in the next event, a
// header's or a stray line's.
TEST_F(LogEventAssemblerTest, WhatTheConsumerLeftDoesNotShowInTheNextEvent) {
  v1::LogEvent spent;  // Every field set.
  spent.set_time_unix_ms(1);
  spent.set_file("logs/old.log");
  spent.set_level(v1::ERROR);
  spent.set_logger("c.f.eroom.service.room.RoomServiceImpl");
  spent.set_thread("pool-2-thread-1");
  spent.set_message("통합 방 생성 중 시스템 오류 발생");
  spent.set_event_type("room_failed");
  (*spent.mutable_fields())["kind"] = "system";
  spent.set_ruid("room_a81c5e09d2b47f3e");
  spent.set_truncated(true);
  spent.set_file_offset(4096);
  spent.set_has_header(true);
  std::vector<v1::LogEvent> taken;
  auto take = [&](v1::LogEvent&& event) {
    taken.push_back(event);
    event = spent;
  };
  const LogFileDate no_date;
  assembler_.AddLine(LogLine{kHeader, 0, false}, no_date, kNow, take);
  assembler_.AddLine(
      LogLine{"2025-06-16 10:03:00.000 [main] INFO  x.Y : next", 200, false},
      no_date, kNow, take);
  assembler_.AddLine(LogLine{"\tat a.B.c(B.java:1)", 250, false}, no_date, kNow,
                     take);
  assembler_.Flush(take);
  assembler_.AddLine(LogLine{"stray JVM output", 270, false}, no_date, kNow,
                     take);
  ASSERT_EQ(taken.size(), 3u);

  v1::LogEvent next;
  next.set_time_unix_ms(absl::ToUnixMillis(absl::FromCivil(
      absl::CivilSecond(2025, 6, 16, 10, 3, 0), absl::UTCTimeZone())));
  next.set_file("logs/server.log");
  next.set_level(v1::INFO);
  next.set_logger("x.Y");
  next.set_thread("main");
  next.set_message("next\n\tat a.B.c(B.java:1)");
  next.set_file_offset(200);
  next.set_has_header(true);
  EXPECT_THAT(taken[1], EqualsProto(next));
  v1::LogEvent stray;
  stray.set_time_unix_ms(absl::ToUnixMillis(kNow));
  stray.set_file("logs/server.log");
  stray.set_message("stray JVM output");
  stray.set_file_offset(270);
  EXPECT_THAT(taken[2], EqualsProto(stray));
}

class SmallLimitTest : public LogEventAssemblerTest {
 protected:
  SmallLimitTest() : LogEventAssemblerTest(40) {}
};

TEST_F(SmallLimitTest, OversizedEventIsCutEmittedAndItsRestDropped) {
  Add("2025-06-16 10:03:00.000 [main] ERROR x.Y : 처리 실패");  // 13 bytes.
  Add("\tat a.B.c(B.java:1)");                                  // 19 bytes.
  EXPECT_TRUE(events_.empty());
  Add("\tat a.B.d(B.java:2)");  // Would make 53 bytes.
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_TRUE(events_[0].truncated());
  EXPECT_EQ(events_[0].message(), "처리 실패\n\tat a.B.c(B.java:1)\n\tat a.");
  EXPECT_FALSE(assembler_.has_pending());

  Add("\tat a.B.e(B.java:3)");
  Add("\t... 8 common frames omitted");
  EXPECT_EQ(assembler_.counters().dropped_lines, 2u);
  EXPECT_EQ(assembler_.counters().truncated_events, 1u);

  Add("2025-06-16 10:03:01.000 [main] INFO  x.Y : fresh");
  Add("continued");
  Flush();
  ASSERT_EQ(events_.size(), 2u);
  EXPECT_EQ(events_[1].message(), "fresh\ncontinued");
  EXPECT_FALSE(events_[1].truncated());
}

TEST_F(SmallLimitTest, CutNeverSplitsACharacter) {
  // 38 bytes of message, then a 3-byte character across the limit.
  Add("2025-06-16 10:03:00.000 [main] INFO  x.Y : "
      "01234567890123456789012345678901234567가");
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0].message(), "01234567890123456789012345678901234567");
  EXPECT_TRUE(events_[0].truncated());
  Add("stray after the cut is dropped with the event's rest");
  EXPECT_EQ(events_.size(), 1u);
}

TEST_F(SmallLimitTest, OversizedStrayLineIsCut) {
  Add("Exception in thread \"main\" java.lang.OutOfMemoryError: Java heap");
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0].message(), "Exception in thread \"main\" java.lang.Out");
  EXPECT_TRUE(events_[0].truncated());
  EXPECT_FALSE(events_[0].has_header());
}

}  // namespace
}  // namespace eroom::agent
