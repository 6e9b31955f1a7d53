#include "collector/message_validation.h"

#include <cmath>
#include <functional>
#include <limits>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/test_support/status_matchers.h"

namespace eroom::collector {
namespace {

using ::eroom::test_support::IsOk;
using ::eroom::test_support::StatusIs;

namespace v1 = ::eroom::monitor::v1;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int64_t kJune2025Ms = 1750000000000;

v1::AgentMessage ValidHello() {
  v1::AgentMessage message;
  v1::AgentHello* hello = message.mutable_hello();
  hello->set_agent_id("eroom-host-1.example.com");
  hello->set_hostname("eroom-host-1");
  hello->set_version("0.1.0");
  (*hello->mutable_labels())["env"] = "프로덕션 (prod)";
  hello->set_started_unix_ms(kJune2025Ms);
  return message;
}

// One event of each payload, the log event last: it is events[3].
v1::AgentMessage ValidBatch() {
  v1::AgentMessage message;
  v1::EventBatch* batch = message.mutable_batch();

  v1::Event* event = batch->add_events();
  event->set_sequence(7);
  v1::ResourceSample* sample = event->mutable_sample();
  sample->set_time_unix_ms(kJune2025Ms);
  sample->set_cpu_percent(12.5);
  sample->set_load_average_1m(0.7);
  sample->set_memory_used_bytes(1 << 30);
  sample->set_memory_total_bytes(uint64_t{8} << 30);
  v1::DiskUsage* disk = sample->add_disks();
  disk->set_mount("/");
  disk->set_used_bytes(1);
  disk->set_total_bytes(2);
  v1::ProcessState* eroom = sample->mutable_eroom();
  eroom->set_up(true);
  eroom->set_pid(4242);
  eroom->set_cpu_percent(180.0);  // Of one core: two busy cores.
  eroom->set_started_unix_ms(kJune2025Ms - 60000);

  event = batch->add_events();
  event->set_sequence(8);
  v1::ProbeResult* probe = event->mutable_probe();
  probe->set_time_unix_ms(kJune2025Ms);
  probe->set_target(v1::HEALTH);
  probe->set_http_status(401);
  probe->set_latency_ms(3.5);
  probe->set_error("401 인증 실패");
  probe->set_health_status("healthy");
  probe->mutable_queue()->set_queued(2);

  event = batch->add_events();
  event->set_sequence(9);
  v1::AgentNotice* notice = event->mutable_notice();
  notice->set_time_unix_ms(kJune2025Ms);
  notice->set_kind("events_dropped");
  notice->set_message("3 samples dropped:\nthe spool was full");
  notice->set_count(3);

  event = batch->add_events();
  event->set_sequence(12);  // Gaps are fine: drops happen.
  v1::LogEvent* log = event->mutable_log();
  log->set_time_unix_ms(kJune2025Ms);
  log->set_file("/opt/eroom/logs/server.log");
  log->set_level(v1::ERROR);
  log->set_logger("c.e.s.RoomService");
  log->set_thread("pool-2-thread-1 (worker)");
  log->set_message("방 생성 실패\n\tat com.eroom.Foo.bar(Foo.java:12)");
  log->set_event_type("room_failed");
  (*log->mutable_fields())["queue_size"] = "3";
  log->set_ruid("room_0123abcd");
  log->set_file_offset(123456);
  log->set_has_header(true);
  return message;
}

v1::AgentMessage ValidProgress() {
  v1::AgentMessage message;
  v1::CommandProgress* progress = message.mutable_command_progress();
  progress->set_command_id("3f2b8c1e-1d2a-4c5b-9e8f-0a1b2c3d4e5f");
  progress->set_state(v1::RUNNING);
  progress->set_message("waiting for 1 running room");
  progress->set_time_unix_ms(kJune2025Ms);
  return message;
}

v1::Event& EventAt(v1::AgentMessage& m, int i) {
  return *m.mutable_batch()->mutable_events(i);
}
v1::ResourceSample& Sample(v1::AgentMessage& m) {
  return *EventAt(m, 0).mutable_sample();
}
v1::ProbeResult& Probe(v1::AgentMessage& m) {
  return *EventAt(m, 1).mutable_probe();
}
v1::AgentNotice& Notice(v1::AgentMessage& m) {
  return *EventAt(m, 2).mutable_notice();
}
v1::LogEvent& Log(v1::AgentMessage& m) { return *EventAt(m, 3).mutable_log(); }

TEST(MessageValidationTest, WellFormedMessagesAreAccepted) {
  EXPECT_THAT(ValidateAgentMessage(ValidHello()), IsOk());
  EXPECT_THAT(ValidateAgentMessage(ValidBatch()), IsOk());
  EXPECT_THAT(ValidateAgentMessage(ValidProgress()), IsOk());
}

// A valid message, changed in one way, and what the refusal must say.
struct InvalidCase {
  std::string name;
  std::function<v1::AgentMessage()> base;
  std::function<void(v1::AgentMessage&)> change;
  std::string expected;
};

class InvalidMessageTest : public ::testing::TestWithParam<InvalidCase> {};

TEST_P(InvalidMessageTest, IsRefusedNamingFieldAndLimit) {
  v1::AgentMessage message = GetParam().base();
  GetParam().change(message);
  absl::Status status = ValidateAgentMessage(message);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr(GetParam().expected));
}

std::string Bytes(size_t n) { return std::string(n, 'a'); }

void AddLabels(v1::AgentMessage& m, int n) {
  for (int i = 0; i < n; ++i) {
    (*m.mutable_hello()->mutable_labels())[absl::StrCat("k", i)] = "v";
  }
}

INSTANTIATE_TEST_SUITE_P(
    Hello, InvalidMessageTest,
    ::testing::Values(
        InvalidCase{"NoKind", [] { return v1::AgentMessage(); },
                    [](v1::AgentMessage&) {}, "kind: none set"},
        InvalidCase{"EmptyAgentId", ValidHello,
                    [](auto& m) { m.mutable_hello()->clear_agent_id(); },
                    "hello.agent_id: empty"},
        InvalidCase{
            "LongAgentId", ValidHello,
            [](auto& m) { m.mutable_hello()->set_agent_id(Bytes(254)); },
            "hello.agent_id: 254 bytes, at most 253"},
        InvalidCase{"AgentIdWithSpace", ValidHello,
                    [](auto& m) { m.mutable_hello()->set_agent_id("web 1"); },
                    "hello.agent_id: byte 0x20 at offset 3 is not a letter, "
                    "digit, '.', '_' or '-'"},
        InvalidCase{"AgentIdWithNonAscii", ValidHello,
                    [](auto& m) { m.mutable_hello()->set_agent_id("호스트"); },
                    "hello.agent_id: byte 0xed at offset 0"},
        InvalidCase{"HostnameWithSlash", ValidHello,
                    [](auto& m) { m.mutable_hello()->set_hostname("a/b"); },
                    "hello.hostname: byte 0x2f at offset 1"},
        InvalidCase{
            "LongHostname", ValidHello,
            [](auto& m) { m.mutable_hello()->set_hostname(Bytes(254)); },
            "hello.hostname: 254 bytes, at most 253"},
        InvalidCase{"LongVersion", ValidHello,
                    [](auto& m) { m.mutable_hello()->set_version(Bytes(65)); },
                    "hello.version: 65 bytes, at most 64"},
        InvalidCase{
            "VersionWithEscape", ValidHello,
            [](auto& m) { m.mutable_hello()->set_version("1.0\x1b[31m"); },
            "hello.version: byte 0x1b at offset 3 is not printable"},
        InvalidCase{"TooManyLabels", ValidHello,
                    [](auto& m) {
                      m.mutable_hello()->clear_labels();
                      AddLabels(m, 65);
                    },
                    "hello.labels: 65 labels, at most 64"},
        InvalidCase{
            "EmptyLabelKey", ValidHello,
            [](auto& m) { (*m.mutable_hello()->mutable_labels())[""] = "x"; },
            "hello.labels: key: empty"},
        InvalidCase{"LongLabelKey", ValidHello,
                    [](auto& m) {
                      (*m.mutable_hello()->mutable_labels())[Bytes(129)] = "x";
                    },
                    "hello.labels: key: 129 bytes, at most 128"},
        InvalidCase{"LongLabelValue", ValidHello,
                    [](auto& m) {
                      (*m.mutable_hello()->mutable_labels())["env"] =
                          Bytes(1025);
                    },
                    "hello.labels[\"env\"]: 1025 bytes, at most 1024"},
        InvalidCase{"LabelValueWithNewline", ValidHello,
                    [](auto& m) {
                      (*m.mutable_hello()->mutable_labels())["env"] = "a\nb";
                    },
                    "hello.labels[\"env\"]: byte 0x0a at offset 1"},
        InvalidCase{"StartedBeforeYearZero", ValidHello,
                    [](auto& m) {
                      m.mutable_hello()->set_started_unix_ms(
                          std::numeric_limits<int64_t>::min());
                    },
                    "hello.started_unix_ms: -9223372036854775808 ms is not "
                    "within the years 0000 to 9999"}),
    [](const auto& info) { return info.param.name; });

INSTANTIATE_TEST_SUITE_P(
    Batch, InvalidMessageTest,
    ::testing::Values(
        InvalidCase{"NoEvents", ValidBatch,
                    [](auto& m) { m.mutable_batch()->clear_events(); },
                    "batch.events: empty"},
        InvalidCase{"TooManyEvents", ValidBatch,
                    [](auto& m) {
                      m.mutable_batch()->clear_events();
                      for (size_t i = 1; i <= kMaxEventsPerBatch + 1; ++i) {
                        v1::Event* e = m.mutable_batch()->add_events();
                        e->set_sequence(i);
                        e->mutable_notice()->set_kind("k");
                      }
                    },
                    "batch.events: 100001 events, at most 100000"},
        InvalidCase{"SequenceZero", ValidBatch,
                    [](auto& m) { EventAt(m, 0).set_sequence(0); },
                    "batch.events[0].sequence: 0, at least 1"},
        InvalidCase{
            "SequenceBeyondBound", ValidBatch,
            [](auto& m) { EventAt(m, 3).set_sequence(kMaxSequence + 1); },
            "batch.events[3].sequence: 4611686018427387905, at most "
            "4611686018427387904"},
        InvalidCase{"SequenceInt64Max", ValidBatch,
                    [](auto& m) {
                      EventAt(m, 3).set_sequence(
                          std::numeric_limits<int64_t>::max());
                    },
                    "batch.events[3].sequence: 9223372036854775807, at most"},
        InvalidCase{"SequenceJump", ValidBatch,
                    [](auto& m) {
                      EventAt(m, 3).set_sequence(EventAt(m, 2).sequence() +
                                                 kMaxSequenceStep + 1);
                    },
                    "batch.events[3].sequence: 4294967306 after 9: a jump of "
                    "more than 4294967296"},
        InvalidCase{"SequenceRepeated", ValidBatch,
                    [](auto& m) { EventAt(m, 1).set_sequence(7); },
                    "batch.events[1].sequence: 7 after 7: sequences must "
                    "increase"},
        InvalidCase{"SequenceDecreasing", ValidBatch,
                    [](auto& m) { EventAt(m, 3).set_sequence(8); },
                    "batch.events[3].sequence: 8 after 9"},
        InvalidCase{"NoPayload", ValidBatch,
                    [](auto& m) { EventAt(m, 2).clear_payload(); },
                    "batch.events[2].payload: none set"}),
    [](const auto& info) { return info.param.name; });

INSTANTIATE_TEST_SUITE_P(
    Log, InvalidMessageTest,
    ::testing::Values(
        InvalidCase{"LongMessage", ValidBatch,
                    [](auto& m) { Log(m).set_message(Bytes(2 << 20)); },
                    "batch.events[3].log.message: 2097152 bytes, at most "
                    "1048576"},
        InvalidCase{
            "LongLogger", ValidBatch,
            [](auto& m) { Log(m).set_logger(Bytes(kMaxLogTextBytes + 1)); },
            "batch.events[3].log.logger: 1048577 bytes"},
        InvalidCase{
            "LongThread", ValidBatch,
            [](auto& m) { Log(m).set_thread(Bytes(kMaxLogTextBytes + 1)); },
            "batch.events[3].log.thread: 1048577 bytes"},
        InvalidCase{
            "LongRuid", ValidBatch,
            [](auto& m) { Log(m).set_ruid(Bytes(kMaxLogTextBytes + 1)); },
            "batch.events[3].log.ruid: 1048577 bytes"},
        InvalidCase{"NoFile", ValidBatch, [](auto& m) { Log(m).clear_file(); },
                    "batch.events[3].log.file: empty"},
        InvalidCase{"LongFile", ValidBatch,
                    [](auto& m) { Log(m).set_file(Bytes(4097)); },
                    "batch.events[3].log.file: 4097 bytes, at most 4096"},
        InvalidCase{
            "UnknownLevel", ValidBatch,
            [](auto& m) { Log(m).set_level(static_cast<v1::LogLevel>(17)); },
            "batch.events[3].log.level: 17 is not a known value"},
        InvalidCase{
            "TimeAfterYear9999", ValidBatch,
            [](auto& m) { Log(m).set_time_unix_ms(kMaxTimeUnixMs + 1); },
            "batch.events[3].log.time_unix_ms: 253402387200001 ms"},
        InvalidCase{"LongEventType", ValidBatch,
                    [](auto& m) { Log(m).set_event_type(Bytes(129)); },
                    "batch.events[3].log.event_type: 129 bytes, at most 128"},
        InvalidCase{"TooManyFields", ValidBatch,
                    [](auto& m) {
                      for (int i = 0; i < 64; ++i) {
                        (*Log(m).mutable_fields())[absl::StrCat("f", i)] = "";
                      }
                    },
                    "batch.events[3].log.fields: 65 fields, at most 64"},
        InvalidCase{"FieldKeyWithSpace", ValidBatch,
                    [](auto& m) { (*Log(m).mutable_fields())["a b"] = ""; },
                    "batch.events[3].log.fields: key: byte 0x20 at offset 1"},
        InvalidCase{"LongFieldValue", ValidBatch,
                    [](auto& m) {
                      (*Log(m).mutable_fields())["queue_size"] =
                          Bytes(kMaxLogTextBytes + 1);
                    },
                    "batch.events[3].log.fields[\"queue_size\"]: 1048577 "
                    "bytes"},
        // Log events are proto2: the parser no longer checks UTF-8.
        InvalidCase{"MessageNotUtf8", ValidBatch,
                    [](auto& m) { Log(m).set_message("방 생성\xff 실패"); },
                    "batch.events[3].log.message: byte 0xff at offset 10 is "
                    "not well-formed UTF-8"},
        InvalidCase{"MessageWithLoneContinuationByte", ValidBatch,
                    [](auto& m) { Log(m).set_message("abc\x80"); },
                    "batch.events[3].log.message: byte 0x80 at offset 3"},
        InvalidCase{"FileNotUtf8", ValidBatch,
                    [](auto& m) { Log(m).set_file("/logs/\xc0\xafx.log"); },
                    "batch.events[3].log.file: byte 0xc0 at offset 6"},
        InvalidCase{"LoggerNotUtf8", ValidBatch,
                    [](auto& m) { Log(m).set_logger("c.e.\xed\xa0\x80"); },
                    "batch.events[3].log.logger: byte 0xed at offset 4"},
        InvalidCase{"ThreadNotUtf8", ValidBatch,
                    [](auto& m) { Log(m).set_thread("exec-\xe2\x82"); },
                    "batch.events[3].log.thread: byte 0xe2 at offset 5"},
        InvalidCase{"RuidNotUtf8", ValidBatch,
                    [](auto& m) { Log(m).set_ruid("room_\xfe"); },
                    "batch.events[3].log.ruid: byte 0xfe at offset 5"},
        InvalidCase{"EventTypeNotUtf8", ValidBatch,
                    [](auto& m) { Log(m).set_event_type("error\xf5"); },
                    "batch.events[3].log.event_type: byte 0xf5 at offset 5"},
        InvalidCase{"FieldValueNotUtf8", ValidBatch,
                    [](auto& m) {
                      (*Log(m).mutable_fields())["theme"] = "\xf4\x90\x80\x80";
                    },
                    "batch.events[3].log.fields[\"theme\"]: byte 0xf4 at "
                    "offset 0"},
        InvalidCase{"FileOffsetBeyondSqlite", ValidBatch,
                    [](auto& m) { Log(m).set_file_offset(kMaxFileOffset + 1); },
                    "batch.events[3].log.file_offset: 9223372036854775808 "
                    "bytes, at most 9223372036854775807"}),
    [](const auto& info) { return info.param.name; });

INSTANTIATE_TEST_SUITE_P(
    Sample, InvalidMessageTest,
    ::testing::Values(
        InvalidCase{
            "TimeBeforeYearZero", ValidBatch,
            [](auto& m) { Sample(m).set_time_unix_ms(kMinTimeUnixMs - 1); },
            "batch.events[0].sample.time_unix_ms: -62167305600001 ms"},
        InvalidCase{"CpuNaN", ValidBatch,
                    [](auto& m) { Sample(m).set_cpu_percent(std::nan("")); },
                    "batch.events[0].sample.cpu_percent: nan is not a finite "
                    "number >= 0"},
        InvalidCase{"LoadInfinite", ValidBatch,
                    [](auto& m) {
                      Sample(m).set_load_average_1m(
                          std::numeric_limits<double>::infinity());
                    },
                    "batch.events[0].sample.load_average_1m: inf"},
        InvalidCase{"LoadNegative", ValidBatch,
                    [](auto& m) { Sample(m).set_load_average_1m(-1); },
                    "batch.events[0].sample.load_average_1m: -1"},
        InvalidCase{"TooManyDisks", ValidBatch,
                    [](auto& m) {
                      for (int i = 0; i < 64; ++i) {
                        Sample(m).add_disks()->set_mount("/d");
                      }
                    },
                    "batch.events[0].sample.disks: 65 disks, at most 64"},
        InvalidCase{"DiskWithoutMount", ValidBatch,
                    [](auto& m) { Sample(m).add_disks(); },
                    "batch.events[0].sample.disks[1].mount: empty"},
        InvalidCase{
            "LongMount", ValidBatch,
            [](auto& m) { Sample(m).add_disks()->set_mount(Bytes(4097)); },
            "batch.events[0].sample.disks[1].mount: 4097 bytes"},
        InvalidCase{"NegativePid", ValidBatch,
                    [](auto& m) { Sample(m).mutable_eroom()->set_pid(-1); },
                    "batch.events[0].sample.eroom.pid: -1, at least 0"},
        InvalidCase{"ProcessCpuNaN", ValidBatch,
                    [](auto& m) {
                      Sample(m).mutable_eroom()->set_cpu_percent(std::nan(""));
                    },
                    "batch.events[0].sample.eroom.cpu_percent: nan"},
        InvalidCase{"ProcessStartedAfterYear9999", ValidBatch,
                    [](auto& m) {
                      Sample(m).mutable_eroom()->set_started_unix_ms(
                          std::numeric_limits<int64_t>::max());
                    },
                    "batch.events[0].sample.eroom.started_unix_ms: "
                    "9223372036854775807 ms"}),
    [](const auto& info) { return info.param.name; });

INSTANTIATE_TEST_SUITE_P(
    Probe, InvalidMessageTest,
    ::testing::Values(
        InvalidCase{
            "UnspecifiedTarget", ValidBatch,
            [](auto& m) { Probe(m).set_target(v1::PROBE_TARGET_UNSPECIFIED); },
            "batch.events[1].probe.target: unspecified"},
        InvalidCase{"UnknownTarget", ValidBatch,
                    [](auto& m) {
                      Probe(m).set_target(static_cast<v1::ProbeTarget>(-3));
                    },
                    "batch.events[1].probe.target: -3 is not a known value"},
        InvalidCase{"NegativeHttpStatus", ValidBatch,
                    [](auto& m) { Probe(m).set_http_status(-1); },
                    "batch.events[1].probe.http_status: -1 is not within 0 to "
                    "999"},
        InvalidCase{"HttpStatusOver999", ValidBatch,
                    [](auto& m) { Probe(m).set_http_status(1000); },
                    "batch.events[1].probe.http_status: 1000"},
        InvalidCase{"LatencyNegative", ValidBatch,
                    [](auto& m) { Probe(m).set_latency_ms(-0.5); },
                    "batch.events[1].probe.latency_ms: -0.5"},
        InvalidCase{"LongError", ValidBatch,
                    [](auto& m) { Probe(m).set_error(Bytes(4097)); },
                    "batch.events[1].probe.error: 4097 bytes, at most 4096"},
        InvalidCase{"LongHealthStatus", ValidBatch,
                    [](auto& m) { Probe(m).set_health_status(Bytes(1025)); },
                    "batch.events[1].probe.health_status: 1025 bytes"},
        InvalidCase{"HealthStatusWithNewline", ValidBatch,
                    [](auto& m) { Probe(m).set_health_status("ok\r\n"); },
                    "batch.events[1].probe.health_status: byte 0x0d"},
        InvalidCase{
            "NegativeQueue", ValidBatch,
            [](auto& m) { Probe(m).mutable_queue()->set_completed(-5); },
            "batch.events[1].probe.queue.completed: -5, at least 0"}),
    [](const auto& info) { return info.param.name; });

INSTANTIATE_TEST_SUITE_P(
    Notice, InvalidMessageTest,
    ::testing::Values(
        InvalidCase{"NoKind", ValidBatch,
                    [](auto& m) { Notice(m).clear_kind(); },
                    "batch.events[2].notice.kind: empty"},
        InvalidCase{"KindWithSpace", ValidBatch,
                    [](auto& m) { Notice(m).set_kind("events dropped"); },
                    "batch.events[2].notice.kind: byte 0x20 at offset 6"},
        InvalidCase{"LongKind", ValidBatch,
                    [](auto& m) { Notice(m).set_kind(Bytes(129)); },
                    "batch.events[2].notice.kind: 129 bytes, at most 128"},
        InvalidCase{"LongMessage", ValidBatch,
                    [](auto& m) { Notice(m).set_message(Bytes(65537)); },
                    "batch.events[2].notice.message: 65537 bytes, at most "
                    "65536"},
        InvalidCase{"NegativeCount", ValidBatch,
                    [](auto& m) { Notice(m).set_count(-1); },
                    "batch.events[2].notice.count: -1, at least 0"},
        InvalidCase{"TimeOutOfRange", ValidBatch,
                    [](auto& m) {
                      Notice(m).set_time_unix_ms(
                          std::numeric_limits<int64_t>::min());
                    },
                    "batch.events[2].notice.time_unix_ms"}),
    [](const auto& info) { return info.param.name; });

v1::CommandProgress& Progress(v1::AgentMessage& m) {
  return *m.mutable_command_progress();
}

INSTANTIATE_TEST_SUITE_P(
    CommandProgress, InvalidMessageTest,
    ::testing::Values(
        InvalidCase{"NoCommandId", ValidProgress,
                    [](auto& m) { Progress(m).clear_command_id(); },
                    "command_progress.command_id: empty"},
        InvalidCase{"LongCommandId", ValidProgress,
                    [](auto& m) { Progress(m).set_command_id(Bytes(65)); },
                    "command_progress.command_id: 65 bytes, at most 64"},
        InvalidCase{"CommandIdWithQuote", ValidProgress,
                    [](auto& m) { Progress(m).set_command_id("a'; rm"); },
                    "command_progress.command_id: byte 0x27 at offset 1"},
        InvalidCase{"UnspecifiedState", ValidProgress,
                    [](auto& m) {
                      Progress(m).set_state(v1::COMMAND_STATE_UNSPECIFIED);
                    },
                    "command_progress.state: unspecified"},
        InvalidCase{"UnknownState", ValidProgress,
                    [](auto& m) {
                      Progress(m).set_state(static_cast<v1::CommandState>(6));
                    },
                    "command_progress.state: 6 is not a known value"},
        InvalidCase{"LongMessage", ValidProgress,
                    [](auto& m) { Progress(m).set_message(Bytes(4097)); },
                    "command_progress.message: 4097 bytes, at most 4096"},
        InvalidCase{"LongStep", ValidProgress,
                    [](auto& m) { Progress(m).set_step(Bytes(65)); },
                    "command_progress.step: 65 bytes, at most 64"},
        InvalidCase{"StepWithEscape", ValidProgress,
                    [](auto& m) { Progress(m).set_step("drain\x1b[2J"); },
                    "command_progress.step: byte 0x1b at offset 5"},
        InvalidCase{
            "TimeOutOfRange", ValidProgress,
            [](auto& m) { Progress(m).set_time_unix_ms(kMaxTimeUnixMs + 1); },
            "command_progress.time_unix_ms"}),
    [](const auto& info) { return info.param.name; });

TEST(MessageValidationTest, ValuesAtTheLimitsAreAccepted) {
  v1::AgentMessage hello = ValidHello();
  hello.mutable_hello()->set_agent_id(Bytes(kMaxAgentIdBytes));
  hello.mutable_hello()->set_hostname(Bytes(kMaxHostnameBytes));
  hello.mutable_hello()->set_version(Bytes(kMaxVersionBytes));
  hello.mutable_hello()->clear_labels();
  AddLabels(hello, kMaxLabels);
  hello.mutable_hello()->set_started_unix_ms(kMinTimeUnixMs);
  EXPECT_THAT(ValidateAgentMessage(hello), IsOk());

  v1::AgentMessage batch = ValidBatch();
  Log(batch).set_message(Bytes(kMaxLogTextBytes));
  Log(batch).set_time_unix_ms(kMaxTimeUnixMs);
  Log(batch).set_file_offset(kMaxFileOffset);
  Log(batch).set_level(v1::LOG_LEVEL_UNSPECIFIED);  // A line without header.
  for (int i = 0; i < 4; ++i) {
    EventAt(batch, i).set_sequence(kMaxSequence - kMaxSequenceStep * (3 - i));
  }
  Probe(batch).set_http_status(0);  // No response arrived.
  EXPECT_THAT(ValidateAgentMessage(batch), IsOk());
}

TEST(MessageValidationTest, OptionalPartsMayBeMissing) {
  v1::AgentMessage hello;
  hello.mutable_hello()->set_agent_id("host-1");
  EXPECT_THAT(ValidateAgentMessage(hello), IsOk());

  v1::AgentMessage batch = ValidBatch();
  Sample(batch).clear_eroom();
  Sample(batch).clear_disks();
  Probe(batch).clear_queue();
  Log(batch).clear_fields();
  EXPECT_THAT(ValidateAgentMessage(batch), IsOk());
}

TEST(MessageValidationTest, LargestBatchIsAccepted) {
  v1::AgentMessage batch;
  for (size_t i = 1; i <= kMaxEventsPerBatch; ++i) {
    v1::Event* event = batch.mutable_batch()->add_events();
    event->set_sequence(i);
    event->mutable_notice()->set_kind("k");
  }
  EXPECT_THAT(ValidateAgentMessage(batch), IsOk());
}

v1::EventBatch BatchOf(std::vector<uint64_t> sequences) {
  v1::EventBatch batch;
  for (uint64_t sequence : sequences) {
    v1::Event* event = batch.add_events();
    event->set_sequence(sequence);
    event->mutable_notice()->set_kind("k");
  }
  return batch;
}

TEST(StreamSequencesTest, EachBatchGoesOnAfterThePreviousOne) {
  StreamSequences stream;
  EXPECT_THAT(stream.Continue(BatchOf({5, 6})), IsOk());
  EXPECT_THAT(stream.Continue(BatchOf({9})), IsOk());  // Drops leave gaps.
  EXPECT_THAT(
      stream.Continue(BatchOf({9 + kMaxSequenceStep, 10 + kMaxSequenceStep})),
      IsOk());
}

TEST(StreamSequencesTest, RepeatedOrDecreasingBatchIsRefused) {
  StreamSequences stream;
  ASSERT_THAT(stream.Continue(BatchOf({5, 6})), IsOk());
  EXPECT_THAT(stream.Continue(BatchOf({6, 7})),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "batch.events[0].sequence: 6 after 6 (the last one "
                       "sent on this stream): sequences must increase"));
  EXPECT_THAT(stream.Continue(BatchOf({2})),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(StreamSequencesTest, AbsurdJumpIsRefused) {
  StreamSequences stream;
  ASSERT_THAT(stream.Continue(BatchOf({5})), IsOk());
  EXPECT_THAT(stream.Continue(BatchOf({kMaxSequence})),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("a jump of more than 4294967296")));
}

TEST(MessageValidationTest, RefusalNeverEchoesTheRejectedText) {
  v1::AgentMessage hello = ValidHello();
  hello.mutable_hello()->set_agent_id("x\n2025-06-15 ERROR forged log line");
  absl::Status status = ValidateAgentMessage(hello);
  ASSERT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(status.message()), Not(HasSubstr("forged")));
  EXPECT_THAT(std::string(status.message()), Not(HasSubstr("\n")));
}

}  // namespace
}  // namespace eroom::collector
