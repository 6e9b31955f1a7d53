#include "agent/log_event_batch.h"

#include <string>
#include <utility>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/test_support/proto_matchers.h"

namespace eroom::agent {
namespace {

namespace v1 = ::eroom::monitor::v1;
using test_support::EqualsProto;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

// An event with every field set.
v1::LogEvent FullEvent(const std::string& message) {
  v1::LogEvent event;
  event.set_time_unix_ms(1750068178207);
  event.set_file("logs/server.log");
  event.set_level(v1::ERROR);
  event.set_logger("c.f.eroom.service.room.RoomServiceImpl");
  event.set_thread("pool-2-thread-1");
  event.set_message(message);
  event.set_event_type("room_failed");
  (*event.mutable_fields())["kind"] = "system";
  (*event.mutable_fields())["ruid"] = "room_a81c5e09d2b47f3e";
  event.set_ruid("room_a81c5e09d2b47f3e");
  event.set_truncated(true);
  event.set_file_offset(4096);
  event.set_has_header(true);
  return event;
}

v1::LogEvent StrayEvent(const std::string& message, uint64_t offset) {
  v1::LogEvent event;
  event.set_time_unix_ms(1750000000000);
  event.set_file("logs/server.log");
  event.set_message(message);
  event.set_file_offset(offset);
  return event;
}

TEST(LogEventBatchTest, HoldsTheEventsAddedInOrder) {
  LogEventBatch batch;
  batch.Add(FullEvent("first"));
  batch.Add(StrayEvent("second", 100));
  EXPECT_EQ(batch.size(), 2u);
  EXPECT_EQ(batch.message_bytes(), 11u);
  EXPECT_THAT(batch.events(),
              ElementsAre(EqualsProto(FullEvent("first")),
                          EqualsProto(StrayEvent("second", 100))));

  batch.Clear();
  EXPECT_TRUE(batch.empty());
  EXPECT_EQ(batch.message_bytes(), 0u);
  EXPECT_THAT(batch.events(), IsEmpty());
}

// The classic bug of reused objects: an event built in the memory of an
// earlier one must hold nothing of it (a room, typed fields, a flag).
TEST(LogEventBatchTest, AnEventBuiltInAReusedOneHoldsNothingOfIt) {
  LogEventBatch batch;
  batch.Add(FullEvent("an ERROR event of the first batch"));
  batch.Add(FullEvent("another"));
  batch.Clear();

  v1::LogEvent event = StrayEvent("stray output", 0);
  batch.Add(std::move(event));
  // Add leaves `event` for the caller's next event, as the assembler uses
  // it: it holds the first batch's first event, to be cleared.
  EXPECT_THAT(event,
              EqualsProto(FullEvent("an ERROR event of the first batch")));
  event.Clear();
  event.set_time_unix_ms(1750000000000);
  event.set_file("logs/server.log");
  event.set_message("more stray output");
  event.set_file_offset(13);
  batch.Add(std::move(event));
  EXPECT_THAT(event, EqualsProto(FullEvent("another")));

  EXPECT_THAT(batch.events(),
              ElementsAre(EqualsProto(StrayEvent("stray output", 0)),
                          EqualsProto(StrayEvent("more stray output", 13))));
}

// What reuse is for: the next event is built in memory already there.
TEST(LogEventBatchTest, AnOrdinaryEventLendsItsMemoryToALaterOne) {
  LogEventBatch batch;
  batch.Add(FullEvent(std::string(300, 'm')));
  batch.Clear();

  v1::LogEvent event;
  batch.Add(std::move(event));
  event.Clear();
  EXPECT_GE(event.message().capacity(), 300u);
}

// A stack trace's memory is given back rather than kept for good.
TEST(LogEventBatchTest, ALongEventIsFreedWhenTheBatchIsCleared) {
  LogEventBatch batch;
  batch.Add(FullEvent("short"));
  batch.Add(FullEvent(std::string(64 * 1024, 'm')));
  batch.Clear();

  v1::LogEvent event;
  batch.Add(std::move(event));
  batch.Add(std::move(event));
  EXPECT_LE(event.message().capacity(), LogEventBatch::kMaxKeptTextBytes);
}

}  // namespace
}  // namespace eroom::agent
