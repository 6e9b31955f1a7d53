#include "agent/log_tailer.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/civil_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spdlog/sinks/ostream_sink.h"
#include "spdlog/spdlog.h"

namespace eroom::agent {
namespace {

namespace v1 = ::eroom::monitor::v1;
namespace fs = std::filesystem;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

void Append(const std::string& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out << text;
}

// A header line numbered `n`, for sequence checks.
std::string SeqLine(int n) {
  return absl::StrCat("2025-06-16 09:00:00.000 [main] INFO  x.Seq : line ", n,
                      "\n");
}

std::string SeqLines(int first, int last) {
  std::string lines;
  for (int n = first; n <= last; ++n) lines += SeqLine(n);
  return lines;
}

std::vector<int> Range(int first, int last) {
  std::vector<int> numbers;
  for (int n = first; n <= last; ++n) numbers.push_back(n);
  return numbers;
}

class LogTailerTest : public testing::Test {
 protected:
  void SetUp() override {
    std::string dir = testing::TempDir() + "log_tailer_XXXXXX";
    ASSERT_NE(mkdtemp(dir.data()), nullptr);
    dir_ = dir;
    path_ = dir_ + "/server.log";
  }
  void TearDown() override {
    std::error_code ignored;
    fs::permissions(path_, fs::perms::owner_all, ignored);
    fs::remove_all(dir_);
  }

  LogSourceOptions Options(bool start_at_beginning,
                           std::string path = "") const {
    LogSourceOptions options;
    options.paths = {path.empty() ? path_ : path};
    options.start_at_beginning = start_at_beginning;
    options.time_zone = absl::UTCTimeZone();
    return options;
  }

  void Start(LogSourceOptions options) {
    absl::StatusOr<std::unique_ptr<LogTailer>> tailer = LogTailer::Create(
        std::move(options), clock_,
        [this](v1::LogEvent event) { events_.push_back(std::move(event)); });
    ASSERT_TRUE(tailer.ok()) << tailer.status();
    tailer_ = std::move(*tailer);
  }

  // Polls until a poll reads nothing new.
  void PollAll() {
    uint64_t read;
    do {
      read = tailer_->Stats().bytes_read;
      tailer_->PollOnce();
    } while (tailer_->Stats().bytes_read != read);
  }

  // The numbers of the SeqLine events received.
  std::vector<int> Sequence() const {
    std::vector<int> numbers;
    for (const v1::LogEvent& event : events_) {
      int n;
      EXPECT_TRUE(
          absl::SimpleAtoi(absl::StripPrefix(event.message(), "line "), &n))
          << event.message();
      numbers.push_back(n);
    }
    return numbers;
  }

  std::vector<std::string> Messages() const {
    std::vector<std::string> messages;
    for (const v1::LogEvent& event : events_) {
      messages.push_back(event.message());
    }
    return messages;
  }

  FakeClock clock_;
  std::string dir_;
  std::string path_;
  std::unique_ptr<LogTailer> tailer_;
  std::vector<v1::LogEvent> events_;
};

// The sample, read whole: one event per header line, whose message is the
// header's message and every following non-header line.
TEST_F(LogTailerTest, SampleLogBecomesOneEventPerHeader) {
  const std::string sample_path = EROOM_SOURCE_DIR "/tests/fixtures/server.log";
  Start(Options(true, sample_path));
  PollAll();
  tailer_->FlushPending();

  const std::string content = ReadFile(sample_path);
  struct Expected {
    uint64_t offset;
    std::string message;
  };
  std::vector<Expected> expected;
  uint64_t offset = 0;
  for (absl::string_view line : absl::StrSplit(content, '\n')) {
    if (absl::StartsWith(line, "2025-06-16 ")) {
      const size_t separator = line.find(" : ");
      expected.push_back({offset, std::string(line.substr(separator + 3))});
    } else if (!line.empty()) {
      absl::StrAppend(&expected.back().message, "\n", line);
    }
    offset += line.size() + 1;
  }
  ASSERT_EQ(events_.size(), 59u);
  ASSERT_EQ(expected.size(), events_.size());
  for (size_t i = 0; i < events_.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(events_[i].message(), expected[i].message);
    EXPECT_EQ(events_[i].file_offset(), expected[i].offset);
    EXPECT_EQ(events_[i].file(), sample_path);
    EXPECT_TRUE(events_[i].has_header());
    EXPECT_FALSE(events_[i].truncated());
  }

  // The two stack traces, whole.
  const v1::LogEvent& failed = events_[53];
  EXPECT_EQ(failed.event_type(), "room_failed");
  EXPECT_EQ(failed.ruid(), "room_a81c5e09d2b47f3e");
  EXPECT_EQ(
      std::vector<std::string>(absl::StrSplit(failed.message(), '\n')).size(),
      16u);
  EXPECT_THAT(failed.message(), HasSubstr("\nCaused by: java.lang."));
  EXPECT_THAT(failed.message(),
              testing::EndsWith("\n\t... 8 common frames omitted"));
  const v1::LogEvent& fatal = events_[54];
  EXPECT_EQ(fatal.event_type(), "fatal_shutdown");
  EXPECT_EQ(fatal.level(), v1::ERROR);
  EXPECT_EQ(
      std::vector<std::string>(absl::StrSplit(fatal.message(), '\n')).size(),
      17u);
  EXPECT_THAT(fatal.message(),
              testing::EndsWith("\tat java.base/java.lang.Thread.run(Thread."
                                "java:840)"));

  std::vector<std::string> types;
  for (const v1::LogEvent& event : events_) {
    if (!event.event_type().empty()) types.push_back(event.event_type());
  }
  EXPECT_THAT(
      types,
      ElementsAreArray({"config_problem", "server_started", "auth_failure",
                        "auth_failure", "room_requested", "room_dequeued",
                        "room_started", "model_failed", "error", "model_failed",
                        "model_failed", "room_completed", "processing_time",
                        "room_started", "room_failed", "fatal_shutdown",
                        "server_stopping", "server_stopping"}));

  const v1::LogEvent& processing = events_[48];
  EXPECT_EQ(processing.message(), "처리 시간: 397990ms");
  EXPECT_EQ(processing.fields().at("processing_ms"), "397990");
  EXPECT_EQ(processing.ruid(), "room_3f9a1c2b7d4e8f60");
}

TEST_F(LogTailerTest, NewGenerationFixture) {
  const std::string fixture =
      EROOM_SOURCE_DIR "/tests/fixtures/logs/server_new_generation.log";
  Start(Options(true, fixture));
  PollAll();
  tailer_->FlushPending();

  std::vector<std::pair<std::string, std::string>> typed;
  for (const v1::LogEvent& event : events_) {
    typed.emplace_back(event.event_type(), event.ruid());
  }
  const std::string a = "room_5b2e9d70c1a43f88";
  const std::string b = "room_c0ffee1234567890";
  const std::string c = "room_0123456789abcdef";
  using P = std::pair<std::string, std::string>;
  EXPECT_THAT(typed, ElementsAreArray<P>({
                         {"", ""},  // Stray JVM output.
                         {"config_problem", ""},
                         {"config_problem", ""},
                         {"server_started", ""},
                         {"auth_failure", ""},
                         {"room_requested", a},
                         {"room_dequeued", a},
                         {"room_started", a},
                         {"", a},  // Multi-line LLM response.
                         {"", ""},
                         {"model_failed", ""},
                         {"model_failed", ""},
                         {"model_timeout", a},
                         {"model_failed", a},
                         {"room_completed", a},
                         {"", ""},
                         {"processing_time", a},
                         {"processing_time", a},
                         {"", ""},
                         {"room_dequeued", b},
                         {"room_started", b},
                         {"room_failed", b},
                         {"", ""},
                         {"processing_time", b},
                         {"processing_time", b},
                         {"room_requested", c},
                         {"room_dequeued", c},
                         {"background_failure", c},
                         {"fatal_shutdown", ""},
                         {"server_stopping", ""},
                         {"server_stopping", ""},
                     }));
  ASSERT_EQ(events_.size(), 31u);
  EXPECT_FALSE(events_[0].has_header());
  EXPECT_EQ(events_[0].level(), v1::LOG_LEVEL_UNSPECIFIED);
  EXPECT_EQ(events_[8].message(),
            "LLM 응답 수신:\n{\n  \"scenario_data\": {\n    \"theme\": "
            "\"hospital\"\n  }\n}");
  EXPECT_EQ(events_[20].fields().at("free_modeling"), "true");
  EXPECT_EQ(events_[21].fields().at("duration_ms"), "48210");
  EXPECT_THAT(events_[21].message(),
              testing::EndsWith("\n\t... 6 common frames omitted"));
  EXPECT_EQ(events_[24].fields().at("success"), "false");
  EXPECT_EQ(
      events_[16].time_unix_ms(),
      absl::ToUnixMillis(absl::FromCivil(
          absl::CivilSecond(2025, 7, 2, 14, 7, 12), absl::UTCTimeZone())) +
          346);
}

TEST_F(LogTailerTest, OlderPatternDatedByFileName) {
  const std::string dated = dir_ + "/server.2025-06-15.log";
  fs::copy_file(EROOM_SOURCE_DIR "/tests/fixtures/logs/server.2025-06-15.log",
                dated);
  Start(Options(true, dated));
  PollAll();
  tailer_->FlushPending();
  ASSERT_EQ(events_.size(), 4u);
  const absl::Time day =
      absl::FromCivil(absl::CivilDay(2025, 6, 15), absl::UTCTimeZone());
  EXPECT_EQ(events_[0].time_unix_ms(),
            absl::ToUnixMillis(day + absl::Hours(23) + absl::Minutes(58) +
                               absl::Seconds(10) + absl::Milliseconds(4)));
  EXPECT_EQ(events_[0].event_type(), "server_started");
  EXPECT_EQ(events_[1].thread(), "XNIO-1 I/O-2");
  EXPECT_EQ(events_[1].fields().at("path"), "/health");
  EXPECT_EQ(events_[3].event_type(), "room_failed");
  EXPECT_EQ(events_[3].fields().at("kind"), "system");
  EXPECT_EQ(events_[3].ruid(), "room_77aa00bb11cc22dd");
  EXPECT_THAT(events_[3].message(),
              HasSubstr("\njava.lang.NullPointerException: null\n\tat "));
}

TEST_F(LogTailerTest, OlderPatternDatedByModificationTime) {
  Append(path_,
         "11:00:00.250 [main] INFO  c.f.e.Main - 서버가 성공적으로 "
         "시작되었습니다\n");
  const absl::Time modified = absl::FromCivil(
      absl::CivilSecond(2025, 6, 20, 12, 0, 0), absl::UTCTimeZone());
  const timespec times[2] = {absl::ToTimespec(modified),
                             absl::ToTimespec(modified)};
  ASSERT_EQ(utimensat(AT_FDCWD, path_.c_str(), times, 0), 0);
  Start(Options(true));
  PollAll();
  tailer_->FlushPending();
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(
      events_[0].time_unix_ms(),
      absl::ToUnixMillis(modified - absl::Hours(1) + absl::Milliseconds(250)));
}

TEST_F(LogTailerTest, TraceAtEndOfFileIsFlushedByTheIdleTimeout) {
  Append(path_, "");
  Start(Options(false));
  tailer_->PollOnce();
  Append(path_,
         "2025-06-16 10:02:58.207 [pool-2-thread-1] ERROR x.Y : 실패\n"
         "java.lang.RuntimeException: boom\n"
         "\tat a.B.c(B.java:1)\n");
  tailer_->PollOnce();
  clock_.Advance(absl::Milliseconds(999));
  tailer_->PollOnce();
  EXPECT_TRUE(events_.empty());

  // A line arriving restarts the wait.
  Append(path_, "\tat a.B.d(B.java:2)\n");
  tailer_->PollOnce();
  clock_.Advance(absl::Milliseconds(999));
  tailer_->PollOnce();
  EXPECT_TRUE(events_.empty());

  clock_.Advance(absl::Milliseconds(1));
  tailer_->PollOnce();
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0].message(),
            "실패\njava.lang.RuntimeException: boom\n\tat a.B.c(B.java:1)\n"
            "\tat a.B.d(B.java:2)");
  EXPECT_EQ(events_[0].event_type(), "error");
}

TEST_F(LogTailerTest, PartialLineWaitsForItsNewline) {
  Start(Options(true));
  Append(path_, "2025-06-16 10:00:00.000 [main] INFO  x.Y : 서버가 성공");
  tailer_->PollOnce();
  clock_.Advance(absl::Milliseconds(500));
  Append(path_, "적으로 시작되었습니다\n");
  tailer_->PollOnce();
  Append(path_, SeqLine(1));
  tailer_->PollOnce();
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0].message(), "서버가 성공적으로 시작되었습니다");
  EXPECT_EQ(events_[0].event_type(), "server_started");
}

TEST_F(LogTailerTest, PartialLineIsFlushedByTheIdleTimeout) {
  Start(Options(true));
  Append(path_, "2025-06-16 10:00:00.000 [main] INFO  x.Y : no newline yet");
  tailer_->PollOnce();
  EXPECT_TRUE(events_.empty());
  clock_.Advance(absl::Seconds(1));
  tailer_->PollOnce();
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0].message(), "no newline yet");
}

TEST_F(LogTailerTest, HugeLineIsCutAndTheNextLineStillRead) {
  Start(Options(true));
  const std::string header = "2025-06-16 10:00:00.000 [main] INFO  x.Y : ";
  Append(path_, header);
  const std::string megabyte(1024 * 1024, 'x');
  for (int i = 0; i < 10; ++i) {
    Append(path_, megabyte);
    tailer_->PollOnce();
  }
  Append(path_, "\n" + SeqLine(2));
  PollAll();
  tailer_->FlushPending();

  ASSERT_EQ(events_.size(), 2u);
  EXPECT_TRUE(events_[0].truncated());
  EXPECT_LE(events_[0].message().size(), 64u * 1024);
  EXPECT_THAT(events_[0].message(), StartsWith("xxxx"));
  EXPECT_EQ(events_[1].message(), "line 2");
  EXPECT_EQ(events_[1].file_offset(), header.size() + 10 * megabyte.size() + 1);
  EXPECT_EQ(tailer_->Stats().truncated_lines, 1u);
}

TEST_F(LogTailerTest, HugeLineWrittenAtOnce) {
  Append(path_, std::string(10 * 1024 * 1024, '\0') + "\n" + SeqLine(1));
  Start(Options(true));
  PollAll();
  tailer_->FlushPending();
  ASSERT_EQ(events_.size(), 2u);
  EXPECT_FALSE(events_[0].has_header());
  EXPECT_TRUE(events_[0].truncated());
  EXPECT_EQ(events_[0].message(), std::string(64 * 1024, '\0'));
  EXPECT_EQ(events_[1].message(), "line 1");
}

TEST_F(LogTailerTest, InvalidUtf8IsRepaired) {
  Start(Options(true));
  Append(path_,
         "2025-06-16 10:00:00.000 [main] ERROR x.Y : CP949 \xC5\xD7\xBD\xBA"
         "\xC6\xAE\n\xFF\xFE stray bytes\n");
  PollAll();
  tailer_->FlushPending();
  ASSERT_EQ(events_.size(), 1u);
  std::string wire;
  EXPECT_TRUE(events_[0].SerializeToString(&wire));
  EXPECT_THAT(events_[0].message(), StartsWith("CP949 \xEF\xBF\xBD"));
  // C5 D7 BD BA C6 AE: D7 BD and C6 AE happen to be well-formed UTF-8.
  EXPECT_EQ(tailer_->Stats().utf8_replacements, 4u);
}

TEST_F(LogTailerTest, RenameRotationReadsEveryLineOnceInOrder) {
  Append(path_, SeqLines(1, 100));
  Start(Options(true));
  PollAll();
  Append(path_, SeqLines(101, 120));
  const std::string rotated = dir_ + "/server.2025-06-16.log";
  fs::rename(path_, rotated);
  // The writer still holds the old file until it reopens the path.
  Append(rotated, SeqLines(121, 150));
  Append(path_, SeqLines(151, 200));
  PollAll();
  Append(path_, SeqLines(201, 250));
  PollAll();
  tailer_->FlushPending();
  EXPECT_EQ(Sequence(), Range(1, 250));
  EXPECT_EQ(tailer_->Stats().rotations, 1u);
}

TEST_F(LogTailerTest, CopyTruncateReadsEveryLineOnceInOrder) {
  Append(path_, SeqLines(1, 100));
  Start(Options(true));
  PollAll();
  fs::copy_file(path_, path_ + ".1");
  fs::resize_file(path_, 0);
  Append(path_, SeqLines(101, 110));  // Less than was there before.
  PollAll();
  Append(path_, SeqLines(111, 200));
  PollAll();
  fs::resize_file(path_, 0);
  PollAll();
  Append(path_, SeqLines(201, 300));
  PollAll();
  tailer_->FlushPending();
  EXPECT_EQ(Sequence(), Range(1, 300));
  EXPECT_EQ(tailer_->Stats().truncations, 2u);
}

TEST_F(LogTailerTest, DeletedFileIsReadAgainWhenItReappears) {
  Append(path_, SeqLines(1, 10));
  Start(Options(true));
  PollAll();
  Append(path_, SeqLines(11, 20));
  fs::remove(path_);
  PollAll();  // Drains the removed file.
  tailer_->PollOnce();
  tailer_->PollOnce();
  Append(path_, SeqLines(21, 30));
  PollAll();
  tailer_->FlushPending();
  EXPECT_EQ(Sequence(), Range(1, 30));
}

TEST_F(LogTailerTest, MissingFileIsReadFromItsStartWhenItAppears) {
  Start(Options(false));
  for (int i = 0; i < 3; ++i) tailer_->PollOnce();
  EXPECT_TRUE(events_.empty());
  Append(path_, SeqLines(1, 5));
  PollAll();
  tailer_->FlushPending();
  EXPECT_EQ(Sequence(), Range(1, 5));
}

TEST_F(LogTailerTest, WarnsOncePerFailureStreak) {
  std::ostringstream log;
  const std::shared_ptr<spdlog::logger> previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>(
      "capture", std::make_shared<spdlog::sinks::ostream_sink_st>(log)));
  const auto warnings = [&log] {
    std::vector<std::string> lines = absl::StrSplit(log.str(), '\n');
    return std::count_if(lines.begin(), lines.end(), [](const auto& line) {
      return absl::StrContains(line, "[warning]");
    });
  };

  Start(Options(true));
  for (int i = 0; i < 5; ++i) tailer_->PollOnce();
  EXPECT_EQ(warnings(), 1);
  Append(path_, SeqLines(1, 1));
  tailer_->PollOnce();
  fs::remove(path_);
  for (int i = 0; i < 5; ++i) tailer_->PollOnce();
  EXPECT_EQ(warnings(), 2);
  fs::create_directory(path_);
  for (int i = 0; i < 5; ++i) tailer_->PollOnce();
  EXPECT_EQ(warnings(), 3);
  EXPECT_THAT(log.str(), HasSubstr("is not a regular file"));
  spdlog::set_default_logger(previous);
}

TEST_F(LogTailerTest, StartsAtTheEndByDefault) {
  Append(path_, SeqLines(1, 5));
  Start(Options(false));
  PollAll();
  Append(path_, SeqLines(6, 8));
  PollAll();
  tailer_->FlushPending();
  EXPECT_EQ(Sequence(), Range(6, 8));
}

TEST_F(LogTailerTest, DirectoryInPlaceOfTheFileIsRetried) {
  fs::create_directory(path_);
  Start(Options(true));
  tailer_->PollOnce();
  tailer_->PollOnce();
  fs::remove(path_);
  Append(path_, SeqLines(1, 3));
  PollAll();
  tailer_->FlushPending();
  EXPECT_EQ(Sequence(), Range(1, 3));
}

TEST_F(LogTailerTest, UnreadableFileIsRetried) {
  if (geteuid() == 0) GTEST_SKIP() << "root reads any file";
  Append(path_, SeqLines(1, 3));
  fs::permissions(path_, fs::perms::none);
  Start(Options(true));
  tailer_->PollOnce();
  tailer_->PollOnce();
  EXPECT_TRUE(events_.empty());
  fs::permissions(path_, fs::perms::owner_read);
  PollAll();
  tailer_->FlushPending();
  EXPECT_EQ(Sequence(), Range(1, 3));
}

TEST_F(LogTailerTest, FollowsSeveralFilesIndependently) {
  const std::string other = dir_ + "/eroom.log";
  Append(path_, SeqLines(1, 2));
  Append(other, "2025-06-16 09:00:00.000 [main] INFO  x.Y : other\n");
  LogSourceOptions options = Options(true);
  options.paths.push_back(other);
  Start(options);
  PollAll();
  tailer_->FlushPending();
  ASSERT_EQ(events_.size(), 3u);
  EXPECT_EQ(events_[0].file(), path_);
  EXPECT_EQ(events_[2].file(), other);
  EXPECT_EQ(events_[2].message(), "other");
}

TEST(LogTailerCreateTest, RejectsBadOptions) {
  FakeClock clock;
  auto sink = [](v1::LogEvent) {};
  LogSourceOptions duplicate;
  duplicate.paths = {"logs/server.log", "logs/server.log"};
  EXPECT_EQ(LogTailer::Create(duplicate, clock, sink).status().code(),
            absl::StatusCode::kInvalidArgument);

  LogSourceOptions empty_path;
  empty_path.paths = {""};
  EXPECT_EQ(LogTailer::Create(empty_path, clock, sink).status().code(),
            absl::StatusCode::kInvalidArgument);

  LogSourceOptions no_room;
  no_room.max_event_bytes = 0;
  EXPECT_EQ(LogTailer::Create(no_room, clock, sink).status().code(),
            absl::StatusCode::kInvalidArgument);

  LogSourceOptions bad_rule;
  bad_rule.classification_rules.push_back({"my_rule", std::nullopt, "(", {}});
  absl::StatusOr<std::unique_ptr<LogTailer>> tailer =
      LogTailer::Create(bad_rule, clock, sink);
  EXPECT_EQ(tailer.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(tailer.status().message()), HasSubstr("my_rule"));

  EXPECT_EQ(
      LogTailer::Create(LogSourceOptions{}, clock, nullptr).status().code(),
      absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace eroom::agent
