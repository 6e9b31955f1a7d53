#include "common/log_sources.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/test_support/status_matchers.h"

namespace eroom {
namespace {
namespace v1 = ::eroom::monitor::v1;

using test_support::IsOk;
using test_support::StatusIs;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

void AddSource(v1::EventBatch& batch, uint32_t id, const std::string& file,
               const std::string& logger, const std::string& thread) {
  v1::LogSource& source = *batch.add_log_sources();
  source.set_id(id);
  source.set_file(file);
  source.set_logger(logger);
  source.set_thread(thread);
}

v1::Event& AddLog(v1::EventBatch& batch, const std::string& message,
                  uint32_t source = 0) {
  v1::Event& event = *batch.add_events();
  event.set_sequence(batch.events_size());
  event.set_log_source(source);
  event.mutable_log()->set_message(message);
  return event;
}

TEST(ResolveLogSourcesTest, GivesEachEventItsSourcesFileLoggerAndThread) {
  v1::EventBatch batch;
  AddSource(batch, 7, "logs/server.log", "c.e.RoomService", "room-worker-1");
  AddSource(batch, 2, "logs/server.log", "c.e.Api", "http-nio-8080-exec-3");
  AddLog(batch, "a", 2);
  AddLog(batch, "b", 7);
  AddLog(batch, "c", 2);
  v1::LogEvent& whole = *AddLog(batch, "sent whole").mutable_log();
  whole.set_file("logs/old.log");
  whole.set_thread("main");
  batch.add_events()->mutable_notice()->set_kind("spool_replaced");

  ASSERT_THAT(ResolveLogSources(batch), IsOk());

  EXPECT_THAT(batch.log_sources(), IsEmpty());
  EXPECT_EQ(batch.events(0).log_source(), 0u);
  const v1::LogEvent& a = batch.events(0).log();
  EXPECT_EQ(a.file(), "logs/server.log");
  EXPECT_EQ(a.logger(), "c.e.Api");
  EXPECT_EQ(a.thread(), "http-nio-8080-exec-3");
  EXPECT_EQ(a.message(), "a");
  EXPECT_EQ(batch.events(1).log().logger(), "c.e.RoomService");
  EXPECT_EQ(batch.events(1).log().thread(), "room-worker-1");
  EXPECT_EQ(batch.events(2).log().logger(), "c.e.Api");
  EXPECT_EQ(batch.events(3).log().file(), "logs/old.log");
  EXPECT_EQ(batch.events(3).log().thread(), "main");
  EXPECT_FALSE(batch.events(3).log().has_logger());
  EXPECT_EQ(batch.events(4).notice().kind(), "spool_replaced");
}

TEST(ResolveLogSourcesTest, RefusesAnEventWhoseSourceTheBatchDoesNotDefine) {
  v1::EventBatch batch;
  AddSource(batch, 1, "logs/server.log", "x.Y", "main");
  AddLog(batch, "a", 1);
  AddLog(batch, "b", 3);
  EXPECT_THAT(ResolveLogSources(batch),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("batch.events[1].log_source: 3 is not one")));
}

TEST(ResolveLogSourcesTest, RefusesASourceForAnEventThatIsNoLogEvent) {
  v1::EventBatch batch;
  AddSource(batch, 1, "logs/server.log", "x.Y", "main");
  v1::Event& notice = *batch.add_events();
  notice.set_log_source(1);
  notice.mutable_notice()->set_kind("spool_replaced");
  EXPECT_THAT(ResolveLogSources(batch),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("batch.events[0].log_source: set on an event "
                                 "without a log")));
}

TEST(ResolveLogSourcesTest, RefusesTwoSourcesWithOneId) {
  v1::EventBatch batch;
  AddSource(batch, 1, "logs/server.log", "x.Y", "main");
  AddSource(batch, 1, "logs/other.log", "x.Y", "main");
  AddLog(batch, "a", 1);
  EXPECT_THAT(ResolveLogSources(batch),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("batch.log_sources[1].id: 1 is the id of an "
                                 "earlier source")));
}

}  // namespace
}  // namespace eroom
