#include "agent/log_tailer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "agent/file_watcher.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spdlog/sinks/ostream_sink.h"
#include "spdlog/spdlog.h"
#include "tests/unit/agent/log_test_privileges.h"
#include "tests/unit/test_support/fake_clock.h"
#include "tests/unit/test_support/proto_matchers.h"
#include "tests/unit/test_support/status_matchers.h"
#include "tests/unit/test_support/temp_dir.h"

namespace eroom::agent {

using ::eroom::test_support::EqualsProto;
using ::eroom::test_support::IsOk;
namespace {

namespace v1 = ::eroom::monitor::v1;
namespace fs = std::filesystem;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
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

void WriteFile(const std::string& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

// Event number n has FramesOf(n) stack-frame lines after its header, so
// that the multi-line events of a run can be checked whole.
int FramesOf(int n) { return n % 3; }

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

// Event n with its FramesOf(n) frames.
std::string SeqEvent(int n) {
  std::string event = SeqLine(n);
  for (int frame = 1; frame <= FramesOf(n); ++frame) {
    absl::StrAppend(&event, "\tat x.Seq.frame", frame, "(Seq.java:", n, ")\n");
  }
  return event;
}

std::vector<int> Range(int first, int last) {
  std::vector<int> numbers;
  for (int n = first; n <= last; ++n) numbers.push_back(n);
  return numbers;
}

std::vector<int> operator+(std::vector<int> a, const std::vector<int>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// The number of a SeqLine event, or -1.
int SeqNumber(const v1::LogEvent& event) {
  absl::string_view first_line = event.message();
  first_line = first_line.substr(0, first_line.find('\n'));
  int n;
  if (!absl::ConsumePrefix(&first_line, "line ") ||
      !absl::SimpleAtoi(first_line, &n)) {
    return -1;
  }
  return n;
}

std::vector<int> SequenceOf(const std::vector<v1::LogEvent>& events) {
  std::vector<int> numbers;
  for (const v1::LogEvent& event : events) {
    numbers.push_back(SeqNumber(event));
  }
  return numbers;
}

// Every SeqEvent 1..last exactly once, whole, and in order within the file
// it was written to: file_of[n] (one number per file the writer created).
void ExpectEveryEventOnceInOrder(const std::vector<v1::LogEvent>& events,
                                 int last, const std::vector<int>& file_of) {
  std::vector<int> seen(last + 1, 0);
  std::map<int, int> last_in_file;
  for (const v1::LogEvent& event : events) {
    const int n = SeqNumber(event);
    ASSERT_TRUE(n >= 1 && n <= last) << event.message();
    ++seen[n];
    EXPECT_EQ(std::count(event.message().begin(), event.message().end(), '\n'),
              FramesOf(n))
        << "event " << n << " not whole: " << event.message();
    EXPECT_GT(n, last_in_file[file_of[n]]) << "out of order: " << n;
    last_in_file[file_of[n]] = n;
  }
  for (int n = 1; n <= last; ++n) {
    EXPECT_EQ(seen[n], 1) << "event " << n;
  }
}

// Writes SeqEvents to a log the way logback does (O_APPEND), keeping the
// file open across a rotation until told to reopen the path.
class SeqWriter {
 public:
  explicit SeqWriter(std::string path) : path_(std::move(path)) { Reopen(); }
  ~SeqWriter() { close(fd_); }

  // Writes the next `count` events; with `split`, the last one only partly
  // (Finish() writes the rest).
  void Write(int count, std::mt19937* split = nullptr) {
    Finish();
    std::string text;
    for (int i = 0; i < count; ++i) {
      file_of_.push_back(file_);
      text += SeqEvent(next_++);
    }
    if (split != nullptr && !text.empty()) {
      const size_t at = (*split)() % (text.size() + 1);
      unwritten_ = text.substr(at);
      text.resize(at);
    }
    Put(text);
  }
  void Finish() {
    Put(unwritten_);
    unwritten_.clear();
  }
  void Reopen() {
    Finish();
    if (fd_ >= 0) close(fd_);
    fd_ = open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT, 0644);
    ++file_;
  }

  int last() const { return next_ - 1; }
  // Indexed by event number: which file (counted by Reopen) it went to.
  const std::vector<int>& file_of() const { return file_of_; }

 private:
  void Put(const std::string& text) {
    if (text.empty()) return;
    ASSERT_EQ(write(fd_, text.data(), text.size()),
              static_cast<ssize_t>(text.size()));
  }

  const std::string path_;
  int fd_ = -1;
  int file_ = 0;
  int next_ = 1;
  std::vector<int> file_of_ = {0};
  std::string unwritten_;
};

// The agent's state, in memory: commits are all or nothing, and can be made
// to fail.
class FakeStore final : public LogCheckpointStore {
 public:
  absl::StatusOr<SavedLogState> Load() override {
    if (!load_status.ok()) return load_status;
    return SavedLogState{.committed = commits_made > 0,
                         .checkpoints = checkpoints};
  }

  absl::Status Commit(absl::Span<v1::LogEvent> batch,
                      const std::vector<FileCheckpoint>& saved) override {
    ++commits;
    if (batch.size() > room_events) {
      return absl::ResourceExhaustedError("no room for the batch");
    }
    if (!results.empty()) {
      absl::Status result = results.front();
      results.pop_front();
      if (!result.ok()) return result;
    }
    largest_batch = std::max(largest_batch, batch.size());
    events.insert(events.end(), batch.begin(), batch.end());
    checkpoints = saved;
    ++commits_made;
    return absl::OkStatus();
  }

  // Fails the next `count` commits with `status`.
  void FailNext(int count,
                absl::Status status = absl::UnavailableError("disk I/O")) {
    for (int i = 0; i < count; ++i) results.push_back(status);
  }

  std::vector<v1::LogEvent> events;
  std::vector<FileCheckpoint> checkpoints;
  // Results of the next commits (then OK).
  std::deque<absl::Status> results;
  absl::Status load_status;
  // Larger batches find the store full.
  size_t room_events = std::numeric_limits<size_t>::max();
  int commits = 0;  // Attempted.
  int commits_made = 0;
  size_t largest_batch = 0;
};

// Captures what is logged meanwhile.
class LogCapture {
 public:
  LogCapture() : previous_(spdlog::default_logger()) {
    spdlog::set_default_logger(std::make_shared<spdlog::logger>(
        "capture", std::make_shared<spdlog::sinks::ostream_sink_st>(out_)));
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }

  std::string text() const { return out_.str(); }
  int Count(std::string_view what) const {
    const std::vector<std::string> lines = absl::StrSplit(out_.str(), '\n');
    return std::count_if(lines.begin(), lines.end(), [what](const auto& line) {
      return absl::StrContains(line,
                               absl::string_view(what.data(), what.size()));
    });
  }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> previous_;
};

class LogTailerTest : public testing::Test {
 protected:
  // The tailer holds files of the directory open: it goes first.
  void TearDown() override { tailer_.reset(); }

  // A fresh directory and store, for one more run in the same test.
  void StartOver(int run) {
    Crash();
    dir_ = absl::StrCat(root_, "/run", run);
    path_ = dir_ + "/server.log";
    fs::create_directory(dir_);
    store_ = FakeStore();
  }

  // The default patterns; a scan at every poll, so that no test depends on
  // inotify (tested on its own).
  LogSourceOptions Options() const {
    LogSourceOptions options;
    options.paths = {dir_ + "/server.log", dir_ + "/server.*.log",
                     dir_ + "/eroom*.log"};
    options.start_at_beginning = true;
    options.time_zone = absl::UTCTimeZone();
    options.rescan_interval = absl::ZeroDuration();
    return options;
  }

  LogSourceOptions OptionsFor(const std::string& path) const {
    LogSourceOptions options = Options();
    options.paths = {path};
    return options;
  }

  void Start(LogSourceOptions options) {
    options_ = options;
    absl::StatusOr<std::unique_ptr<LogTailer>> tailer =
        LogTailer::Create(std::move(options), clock_, store_);
    ASSERT_THAT(tailer, IsOk());
    tailer_ = std::move(*tailer);
  }
  void Start() { Start(Options()); }

  // Stops the tailer without flushing, as a crash (or SIGKILL) does: only
  // what was committed counts.
  void Crash() { tailer_.reset(); }
  void Restart() {
    Crash();
    Start(options_);
  }

  // Polls until a poll reads nothing new.
  void PollAll() {
    uint64_t read;
    do {
      read = tailer_->Stats().bytes_read;
      tailer_->PollOnce();
    } while (tailer_->Stats().bytes_read != read);
  }

  // Reads everything and lets the idle timeout pass: pending events are
  // emitted, files that are gone are released.
  void Settle() {
    PollAll();
    clock_.Advance(options_.multiline_timeout);
    tailer_->PollOnce();
  }

  const std::vector<v1::LogEvent>& events() const { return store_.events; }
  std::vector<int> Sequence() const { return SequenceOf(store_.events); }
  // Files are read in turn and an event is emitted only once complete, so
  // only the order within a file is fixed.
  std::vector<int> SortedSequence() const {
    std::vector<int> sequence = Sequence();
    std::sort(sequence.begin(), sequence.end());
    return sequence;
  }
  std::vector<int> SequenceIn(const std::string& file) const {
    std::vector<int> sequence;
    for (const v1::LogEvent& event : store_.events) {
      if (event.file() == file) sequence.push_back(SeqNumber(event));
    }
    return sequence;
  }
  std::vector<std::string> Messages() const {
    std::vector<std::string> messages;
    for (const v1::LogEvent& event : store_.events) {
      messages.push_back(event.message());
    }
    return messages;
  }

  FakeClock clock_;
  FakeStore store_;
  test_support::TempDir temp_dir_{"log_tailer"};
  const std::string root_ = temp_dir_.path().string();
  std::string dir_ = root_;
  std::string path_ = dir_ + "/server.log";
  LogSourceOptions options_;
  std::unique_ptr<LogTailer> tailer_;
};

// --- Events --------------------------------------------------------------

// The sample, read whole: one event per header line, whose message is the
// header's message and every following non-header line.
TEST_F(LogTailerTest, SampleLogBecomesOneEventPerHeader) {
  const std::string sample_path = EROOM_SOURCE_DIR "/tests/fixtures/server.log";
  Start(OptionsFor(sample_path));
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
  ASSERT_EQ(events().size(), 59u);
  ASSERT_EQ(expected.size(), events().size());
  for (size_t i = 0; i < events().size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(events()[i].message(), expected[i].message);
    EXPECT_EQ(events()[i].file_offset(), expected[i].offset);
    EXPECT_EQ(events()[i].file(), sample_path);
    EXPECT_TRUE(events()[i].has_header());
    EXPECT_FALSE(events()[i].truncated());
  }

  // The two stack traces, whole.
  const v1::LogEvent& failed = events()[53];
  EXPECT_EQ(failed.event_type(), "room_failed");
  EXPECT_EQ(failed.ruid(), "room_a81c5e09d2b47f3e");
  EXPECT_EQ(
      std::vector<std::string>(absl::StrSplit(failed.message(), '\n')).size(),
      16u);
  EXPECT_THAT(failed.message(), HasSubstr("\nCaused by: java.lang."));
  EXPECT_THAT(failed.message(),
              testing::EndsWith("\n\t... 8 common frames omitted"));
  const v1::LogEvent& fatal = events()[54];
  EXPECT_EQ(fatal.event_type(), "fatal_shutdown");
  EXPECT_EQ(fatal.level(), v1::ERROR);
  EXPECT_EQ(
      std::vector<std::string>(absl::StrSplit(fatal.message(), '\n')).size(),
      17u);

  std::vector<std::string> types;
  for (const v1::LogEvent& event : events()) {
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
  const v1::LogEvent& processing = events()[48];
  EXPECT_EQ(processing.message(), "처리 시간: 397990ms");
  EXPECT_EQ(processing.fields().at("processing_ms"), "397990");
  EXPECT_EQ(processing.ruid(), "room_3f9a1c2b7d4e8f60");
}

// The tailer builds each event in the memory of one it committed before
// (LogEventBatch). Written a line at a time and polled after each, the
// sample is committed an event at a time, each built in the one before: the
// events must be those of the sample read at once, with no room, field or
// event type of the event before.
TEST_F(LogTailerTest, EventsBuiltInReusedOnesAreTheSame) {
  const std::string sample =
      ReadFile(EROOM_SOURCE_DIR "/tests/fixtures/server.log");
  WriteFile(path_, sample);
  Start();
  PollAll();
  tailer_->FlushPending();
  std::vector<v1::LogEvent> read_at_once = events();
  ASSERT_EQ(read_at_once.size(), 59u);

  StartOver(1);
  WriteFile(path_, "");
  Start();
  for (absl::string_view line :
       absl::StrSplit(sample, '\n', absl::SkipEmpty())) {
    Append(path_, absl::StrCat(line, "\n"));
    tailer_->PollOnce();
  }
  tailer_->FlushPending();
  ASSERT_EQ(events().size(), read_at_once.size());
  for (size_t i = 0; i < events().size(); ++i) {
    read_at_once[i].set_file(path_);
    EXPECT_THAT(events()[i], EqualsProto(read_at_once[i])) << i;
  }
}

TEST_F(LogTailerTest, NewGenerationFixture) {
  const std::string fixture =
      EROOM_SOURCE_DIR "/tests/fixtures/logs/server_new_generation.log";
  Start(OptionsFor(fixture));
  PollAll();
  tailer_->FlushPending();

  std::vector<std::pair<std::string, std::string>> typed;
  for (const v1::LogEvent& event : events()) {
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
                         {"", a},  // The model pool, while the room runs.
                         {"model_failed", a},
                         {"model_failed", a},
                         {"model_timeout", a},
                         {"model_failed", a},
                         {"room_completed", a},
                         {"", ""},
                         {"processing_time", a},
                         {"room_result", a},
                         {"", ""},
                         {"room_dequeued", b},
                         {"room_started", b},
                         {"room_failed", b},
                         {"", ""},
                         {"processing_time", b},
                         {"room_result", b},
                         {"room_requested", c},
                         {"room_dequeued", c},
                         {"room_failed", c},
                         {"fatal_shutdown", ""},
                         {"server_stopping", ""},
                         {"server_stopping", ""},
                     }));
  ASSERT_EQ(events().size(), 31u);
  EXPECT_FALSE(events()[0].has_header());
  EXPECT_EQ(events()[8].message(),
            "LLM 응답 수신:\n{\n  \"scenario_data\": {\n    \"theme\": "
            "\"hospital\"\n  }\n}");
  EXPECT_EQ(events()[21].fields().at("duration_ms"), "48210");
}

TEST_F(LogTailerTest, OlderPatternDatedByFileName) {
  const std::string dated = dir_ + "/server.2025-06-15.log";
  fs::copy_file(EROOM_SOURCE_DIR "/tests/fixtures/logs/server.2025-06-15.log",
                dated);
  Start();
  Settle();
  ASSERT_EQ(events().size(), 4u);
  const absl::Time day =
      absl::FromCivil(absl::CivilDay(2025, 6, 15), absl::UTCTimeZone());
  EXPECT_EQ(events()[0].time_unix_ms(),
            absl::ToUnixMillis(day + absl::Hours(23) + absl::Minutes(58) +
                               absl::Seconds(10) + absl::Milliseconds(4)));
  EXPECT_EQ(events()[0].event_type(), "server_started");
  EXPECT_EQ(events()[1].thread(), "XNIO-1 I/O-2");
  EXPECT_EQ(events()[3].event_type(), "room_failed");
  EXPECT_THAT(events()[3].message(),
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
  Start();
  Settle();
  ASSERT_EQ(events().size(), 1u);
  EXPECT_EQ(
      events()[0].time_unix_ms(),
      absl::ToUnixMillis(modified - absl::Hours(1) + absl::Milliseconds(250)));
}

// The writer writes an event and its stack trace together: a file quiet
// for a moment after a complete line holds whole events.
TEST_F(LogTailerTest, EventAtEndOfFileIsCommittedAfterAShortQuietPeriod) {
  Append(path_, "");
  Start();
  tailer_->PollOnce();
  Append(path_,
         "2025-06-16 10:02:58.207 [pool-2-thread-1] ERROR x.Y : 실패\n"
         "java.lang.RuntimeException: boom\n"
         "\tat a.B.c(B.java:1)\n");
  tailer_->PollOnce();
  clock_.Advance(kEventEndQuietPeriod - absl::Milliseconds(1));
  tailer_->PollOnce();
  EXPECT_THAT(events(), IsEmpty());

  // A line arriving restarts the wait.
  Append(path_, "\tat a.B.d(B.java:2)\n");
  tailer_->PollOnce();
  clock_.Advance(kEventEndQuietPeriod - absl::Milliseconds(1));
  tailer_->PollOnce();
  EXPECT_THAT(events(), IsEmpty());

  clock_.Advance(absl::Milliseconds(1));
  tailer_->PollOnce();
  ASSERT_EQ(events().size(), 1u);
  EXPECT_EQ(events()[0].message(),
            "실패\njava.lang.RuntimeException: boom\n\tat a.B.c(B.java:1)\n"
            "\tat a.B.d(B.java:2)");
  EXPECT_EQ(events()[0].event_type(), "error");
  EXPECT_EQ(store_.checkpoints[0].offset, fs::file_size(path_));
  EXPECT_LT(kEventEndQuietPeriod, absl::Milliseconds(100));
}

// Nothing is written to a deleted file once its writer is done: its last
// event is complete at the end of its data, however recent.
TEST_F(LogTailerTest, DeletedFileAtEndOfDataIsFinishedAtOnce) {
  // Its last line even lacks its newline.
  const std::string content = SeqLine(1) + SeqLine(2) + "\tat x.Y(Y.java:1)";
  Append(path_, content);
  Start();
  PollAll();
  EXPECT_EQ(Sequence(), Range(1, 1));
  fs::remove(path_);
  tailer_->PollOnce();
  EXPECT_THAT(Messages(),
              ElementsAreArray({"line 1", "line 2\n\tat x.Y(Y.java:1)"}));
  ASSERT_EQ(store_.checkpoints.size(), 1u);  // Released once idle.
  EXPECT_EQ(store_.checkpoints[0].offset, content.size());
}

// The tail thread wakes up when a pending event is due, not a poll
// interval later.
TEST_F(LogTailerTest, WaitForChangeEndsWhenAPendingEventIsDue) {
  LogSourceOptions options = Options();
  options.use_inotify = false;
  Start(options);
  Append(path_, SeqLine(1));
  tailer_->PollOnce();
  const absl::Time start = absl::Now();
  tailer_->WaitForChange(absl::Seconds(20));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST_F(LogTailerTest, PartialLineWaitsForItsNewline) {
  Start();
  Append(path_, "2025-06-16 10:00:00.000 [main] INFO  x.Y : 서버가 성공");
  tailer_->PollOnce();
  clock_.Advance(absl::Milliseconds(500));
  Append(path_, "적으로 시작되었습니다\n");
  tailer_->PollOnce();
  Append(path_, SeqLine(1));
  tailer_->PollOnce();
  ASSERT_EQ(events().size(), 1u);
  EXPECT_EQ(events()[0].message(), "서버가 성공적으로 시작되었습니다");
  EXPECT_EQ(events()[0].event_type(), "server_started");
}

TEST_F(LogTailerTest, PartialLineIsFlushedByTheIdleTimeout) {
  Start();
  Append(path_, "2025-06-16 10:00:00.000 [main] INFO  x.Y : no newline yet");
  tailer_->PollOnce();
  // The writer is in the middle of a line: it gets the multi-line timeout.
  clock_.Advance(absl::Milliseconds(999));
  tailer_->PollOnce();
  EXPECT_THAT(events(), IsEmpty());
  clock_.Advance(absl::Milliseconds(1));
  tailer_->PollOnce();
  ASSERT_EQ(events().size(), 1u);
  EXPECT_EQ(events()[0].message(), "no newline yet");
  EXPECT_EQ(store_.checkpoints[0].offset, fs::file_size(path_));
}

TEST_F(LogTailerTest, FollowsSeveralFilesIndependently) {
  const std::string other = dir_ + "/eroom.log";
  Append(path_, SeqLines(1, 2));
  Append(other, "2025-06-16 09:00:00.000 [main] INFO  x.Y : other\n");
  Start();
  Settle();
  ASSERT_EQ(events().size(), 3u);
  EXPECT_EQ(events()[0].file(), path_);
  EXPECT_EQ(events()[2].file(), other);
  EXPECT_EQ(events()[2].message(), "other");
  EXPECT_EQ(tailer_->Stats().files_tracked, 2u);
}

// --- Checkpoints and restarts -------------------------------------------

TEST_F(LogTailerTest, CheckpointIsTheStartOfThePendingEvent) {
  Append(path_, SeqLines(1, 3));
  Start();
  PollAll();
  // Line 3 may still be continued: its event is pending.
  EXPECT_EQ(Sequence(), Range(1, 2));
  ASSERT_EQ(store_.checkpoints.size(), 1u);
  const FileCheckpoint& checkpoint = store_.checkpoints[0];
  struct stat info;
  ASSERT_EQ(stat(path_.c_str(), &info), 0);
  EXPECT_EQ(checkpoint.device, info.st_dev);
  EXPECT_EQ(checkpoint.inode, info.st_ino);
  EXPECT_EQ(checkpoint.path, path_);
  EXPECT_EQ(checkpoint.fingerprint, SeqLines(1, 3));
  EXPECT_EQ(checkpoint.offset, 2 * SeqLine(1).size());

  // A partial line behind it changes nothing.
  Append(path_, "\tat a.B(B.java:1)\n2025-06-16 09:00:00.000 [main] INFO");
  tailer_->PollOnce();
  EXPECT_EQ(store_.checkpoints[0].offset, 2 * SeqLine(1).size());

  clock_.Advance(absl::Seconds(1));
  tailer_->PollOnce();
  EXPECT_EQ(store_.checkpoints[0].offset, fs::file_size(path_));

  // The fingerprint stops growing at 1 KiB.
  Append(path_, "\n" + SeqLines(4, 40));
  PollAll();
  EXPECT_EQ(store_.checkpoints[0].fingerprint, ReadFile(path_).substr(0, 1024));
}

TEST_F(LogTailerTest, MultiLineEventSpanningACrashIsReadWhole) {
  Append(path_, SeqLine(1) + "java.lang.IllegalStateException: x\n\tat a(A:1)");
  Start();
  PollAll();
  EXPECT_THAT(events(), IsEmpty());
  Crash();
  Append(path_, "\n\tat b(B:2)\n" + SeqLine(2));
  Start(options_);
  Settle();
  EXPECT_THAT(Messages(),
              ElementsAreArray({"line 1\njava.lang.IllegalStateException: "
                                "x\n\tat a(A:1)\n\tat b(B:2)",
                                "line 2"}));
}

TEST_F(LogTailerTest, StartsAtTheEndOnlyOnTheVeryFirstRun) {
  Append(path_, SeqLines(1, 5));
  LogSourceOptions options = Options();
  options.start_at_beginning = false;
  Start(options);
  PollAll();
  Append(path_, SeqLines(6, 8));
  Settle();
  EXPECT_EQ(Sequence(), Range(6, 8));

  // Later runs resume at the checkpoints; files new to them are read from
  // their start.
  Crash();
  Append(path_, SeqLines(9, 10));
  Append(dir_ + "/eroom.log", SeqLines(11, 12));
  Start(options);
  Settle();
  EXPECT_EQ(SortedSequence(), Range(6, 12));
}

TEST_F(LogTailerTest, FileAppearingLaterIsReadFromItsStart) {
  LogSourceOptions options = Options();
  options.start_at_beginning = false;
  Start(options);
  for (int i = 0; i < 3; ++i) tailer_->PollOnce();
  Append(path_, SeqLines(1, 5));
  Settle();
  EXPECT_EQ(Sequence(), Range(1, 5));
}

TEST_F(LogTailerTest, FileAppearingWhileStoppedAfterAnEmptyFirstRun) {
  LogSourceOptions options = Options();
  options.start_at_beginning = false;
  Start(options);
  PollAll();
  // The first run found no file, so it saved no checkpoint; the next run is
  // no first run all the same.
  Crash();
  Append(path_, SeqLines(1, 5));
  Start(options);
  Settle();
  EXPECT_EQ(Sequence(), Range(1, 5));
}

TEST_F(LogTailerTest, RotationWhileStoppedIsRecognisedByIdentity) {
  Append(path_, SeqLines(1, 50));
  Start();
  PollAll();
  Crash();
  // logback renames the file, the old writer still finishes a line, and a
  // new server.log begins.
  const std::string rotated = dir_ + "/server.2025-06-16.log";
  fs::rename(path_, rotated);
  Append(rotated, SeqLines(51, 60));
  Append(path_, SeqLines(61, 80));
  Start(options_);
  Settle();
  EXPECT_EQ(SortedSequence(), Range(1, 80));
  // Events after the restart name the file as it is called now.
  EXPECT_EQ(SequenceIn(rotated), Range(50, 60));
  EXPECT_EQ(SequenceIn(path_), Range(1, 49) + Range(61, 80));
  EXPECT_EQ(tailer_->Stats().rotations, 1u);
}

TEST_F(LogTailerTest, InodeReusedWhileStoppedIsReadFromItsStart) {
  Append(path_, SeqLines(1, 10));
  Start();
  Settle();
  Crash();
  // Same inode, other content, longer than the checkpoint's offset.
  WriteFile(path_, SeqLines(11, 40));
  Start(options_);
  Settle();
  EXPECT_EQ(Sequence(), Range(1, 40));
  EXPECT_EQ(tailer_->Stats().truncations, 1u);
}

TEST_F(LogTailerTest, FilesThatVanishedWhileStoppedAreForgotten) {
  Append(path_, SeqLines(1, 2));
  Append(dir_ + "/eroom.log", SeqLines(3, 4));
  Start();
  Settle();
  ASSERT_EQ(store_.checkpoints.size(), 2u);
  Crash();
  fs::remove(dir_ + "/eroom.log");
  Start(options_);
  tailer_->PollOnce();
  ASSERT_EQ(store_.checkpoints.size(), 1u);
  EXPECT_EQ(store_.checkpoints[0].path, path_);
  EXPECT_EQ(tailer_->Stats().files_released, 1u);
}

TEST_F(LogTailerTest, CommitFailureLosesAndRepeatsNothing) {
  LogCapture log;
  Append(path_, SeqLines(1, 50));
  Start();
  store_.FailNext(3);
  tailer_->PollOnce();
  EXPECT_THAT(events(), IsEmpty());
  EXPECT_EQ(tailer_->Stats().commit_failures, 1u);
  // Nothing is read again before the retry delay.
  const int commits = store_.commits;
  tailer_->PollOnce();
  EXPECT_EQ(store_.commits, commits);
  for (int i = 0; i < 3; ++i) {
    clock_.Advance(absl::Seconds(1));
    tailer_->PollOnce();
  }
  EXPECT_EQ(tailer_->Stats().commit_failures, 3u);
  Append(path_, SeqLines(51, 60));
  Settle();
  EXPECT_EQ(Sequence(), Range(1, 60));
  EXPECT_EQ(tailer_->Stats().events_emitted, 60u);
  EXPECT_EQ(log.Count("commit failed"), 1);
  EXPECT_EQ(log.Count("ok again"), 1);
}

// A large file is committed in parts (after the read that passes a limit:
// a read is at most 256 KiB); a failure in between goes back to the last
// part committed.
TEST_F(LogTailerTest, CommitFailureInTheMiddleOfABigRead) {
  const std::string content = SeqLines(1, 50000);
  Append(path_, content);
  LogSourceOptions options = Options();
  options.commit_max_events = 1000;
  Start(options);
  store_.results = {absl::OkStatus(), absl::OkStatus(),
                    absl::UnavailableError("disk I/O")};
  tailer_->PollOnce();
  const int committed = static_cast<int>(events().size());
  EXPECT_GE(committed, 2000);
  EXPECT_EQ(Sequence(), Range(1, committed));
  EXPECT_EQ(store_.checkpoints[0].offset, content.find(SeqLine(committed + 1)));
  clock_.Advance(absl::Seconds(1));
  Settle();
  EXPECT_EQ(Sequence(), Range(1, 50000));
  EXPECT_LT(store_.largest_batch, 10000u);
  EXPECT_GT(store_.commits, 10);
}

TEST_F(LogTailerTest, FullStorePausesReading) {
  LogCapture log;
  Append(path_, SeqLines(1, 20));
  Start();
  store_.FailNext(2, absl::ResourceExhaustedError("spool holds 64 MiB"));
  tailer_->PollOnce();
  const uint64_t read = tailer_->Stats().bytes_read;
  Append(path_, SeqLines(21, 30));
  tailer_->PollOnce();
  EXPECT_EQ(tailer_->Stats().bytes_read, read);
  clock_.Advance(absl::Seconds(1));
  tailer_->PollOnce();
  clock_.Advance(absl::Seconds(1));
  Settle();
  EXPECT_EQ(Sequence(), Range(1, 30));
  EXPECT_EQ(log.Count("log reading paused"), 1);
}

TEST_F(LogTailerTest, AStoreShortOfRoomTakesSmallerBatches) {
  Append(path_, SeqLines(1, 100));
  LogSourceOptions options = Options();
  options.commit_max_events = 64;
  Start(options);
  store_.room_events = 5;
  // Each refusal halves the batch and each success doubles it; after a
  // refusal, reading resumes a second later.
  for (int poll = 0; poll < 200 && events().size() < 99; ++poll) {
    tailer_->PollOnce();
    clock_.Advance(absl::Seconds(1));
  }
  Settle();
  EXPECT_EQ(Sequence(), Range(1, 100));
  EXPECT_LE(store_.largest_batch, 5u);
  // With room again, batches grow back to the most the options allow.
  store_.room_events = std::numeric_limits<size_t>::max();
  Append(path_, SeqLines(101, 300));
  Settle();
  EXPECT_EQ(Sequence(), Range(1, 300));
  EXPECT_GE(store_.largest_batch, 64u);
}

TEST_F(LogTailerTest, FlushPendingCommitsTheLastEvents) {
  Append(path_, SeqLine(1) + "2025-06-16 09:00:00.000 [main] INFO  x : tail");
  Start();
  PollAll();
  // Line 1 may still be continued until the partial line is complete.
  EXPECT_THAT(events(), IsEmpty());
  tailer_->FlushPending();
  EXPECT_THAT(Messages(), ElementsAreArray({"line 1", "tail"}));
  EXPECT_EQ(store_.checkpoints[0].offset, fs::file_size(path_));
  Restart();
  Settle();
  EXPECT_EQ(events().size(), 2u);
}

// --- Rotation ------------------------------------------------------------

TEST_F(LogTailerTest, RenameRotationReadsEveryLineOnceInOrder) {
  Append(path_, SeqLines(1, 100));
  Start();
  PollAll();
  Append(path_, SeqLines(101, 120));
  const std::string rotated = dir_ + "/server.2025-06-16.log";
  fs::rename(path_, rotated);
  // The writer still holds the old file until it reopens the path.
  Append(rotated, SeqLines(121, 150));
  Append(path_, SeqLines(151, 200));
  PollAll();
  Append(path_, SeqLines(201, 250));
  Settle();
  EXPECT_EQ(SortedSequence(), Range(1, 250));
  // 100 was pending, 101 on unread when the file was renamed.
  EXPECT_EQ(SequenceIn(rotated), Range(100, 150));
  EXPECT_EQ(SequenceIn(path_), Range(1, 99) + Range(151, 250));
  EXPECT_EQ(tailer_->Stats().rotations, 1u);
  // The rotated file stays tracked (read to its end, not read again).
  EXPECT_EQ(tailer_->Stats().files_tracked, 2u);
  EXPECT_EQ(store_.checkpoints.size(), 2u);
}

TEST_F(LogTailerTest, RenamedOutOfThePatternsIsDrainedThenReleased) {
  Append(path_, SeqLines(1, 10));
  Start();
  PollAll();
  const std::string moved = path_ + ".1";  // Matched by no pattern.
  fs::rename(path_, moved);
  Append(moved, SeqLines(11, 15));
  Append(path_, SeqLines(16, 20));
  PollAll();
  Append(moved, SeqLines(21, 22));  // The writer is not done with it yet.
  PollAll();
  Settle();
  EXPECT_EQ(SortedSequence(), Range(1, 22));
  EXPECT_EQ(tailer_->Stats().files_released, 1u);
  ASSERT_EQ(store_.checkpoints.size(), 1u);
  EXPECT_EQ(store_.checkpoints[0].path, path_);
}

TEST_F(LogTailerTest, CopyTruncateReadsEveryLineOnceInOrder) {
  Append(path_, SeqLines(1, 100));
  Start();
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
  Settle();
  EXPECT_EQ(Sequence(), Range(1, 300));
  EXPECT_EQ(tailer_->Stats().truncations, 2u);
}

// logrotate's copytruncate with dateext: the copy is matched by the globs.
// It holds what was read from the file already, and what was written since
// the last read: the copy delivers only the latter, once.
class DatedCopyTest : public LogTailerTest {
 protected:
  void SetUp() override {
    Append(path_, SeqLines(1, 100));
    Start();
    PollAll();
  }
  void CopyTruncate() {
    fs::copy_file(path_, copy_);
    fs::resize_file(path_, 0);
  }

  const std::string copy_ = dir_ + "/server.2025-06-16.log";
};

// Truncations are looked for before the scan: the copy is found in the
// same poll.
TEST_F(DatedCopyTest, TruncationNoticedBeforeTheCopyIsFound) {
  Append(path_, SeqLines(101, 120));  // Not read before the rotation.
  CopyTruncate();
  Append(path_, SeqLines(121, 130));
  Settle();
  EXPECT_EQ(SortedSequence(), Range(1, 130));
  // 100 was pending and 101-120 not read yet when the file was truncated.
  EXPECT_EQ(SequenceIn(copy_), Range(100, 120));
  EXPECT_EQ(SequenceIn(path_), Range(1, 99) + Range(121, 130));
  EXPECT_EQ(tailer_->Stats().truncations, 1u);
}

// A scan finds the copy before the file is truncated: the copy waits.
TEST_F(DatedCopyTest, CopyFoundBeforeTheTruncationIsNoticed) {
  Append(path_, SeqLines(101, 120));
  fs::copy_file(path_, copy_);
  tailer_->PollOnce();
  fs::resize_file(path_, 0);
  Append(path_, SeqLines(121, 130));
  Settle();
  EXPECT_EQ(SortedSequence(), Range(1, 130));
  // Read from the file before it was truncated, but for the pending event.
  EXPECT_EQ(SequenceIn(copy_), Range(120, 120));
  EXPECT_EQ(tailer_->Stats().truncations, 1u);
}

// cp creates the copy before it writes it: found empty, it is told from a
// new file once it has content.
TEST_F(DatedCopyTest, CopyFoundEmptyWhileBeingMade) {
  Append(path_, SeqLines(101, 120));
  Append(copy_, "");
  tailer_->PollOnce();
  fs::copy_file(path_, copy_, fs::copy_options::overwrite_existing);
  fs::resize_file(path_, 0);
  Append(path_, SeqLines(121, 130));
  Settle();
  EXPECT_EQ(SortedSequence(), Range(1, 130));
  EXPECT_EQ(SequenceIn(copy_), Range(120, 120));
}

// Found in the same scan, neither file can be told for the copy: both are
// read (the original, above all).
TEST_F(LogTailerTest, FileAndACopyFoundTogetherAreBothRead) {
  const std::string eroom_log = dir_ + "/eroom.log";
  Append(eroom_log, SeqLines(1, 10));
  fs::copy_file(eroom_log, dir_ + "/eroom.2025-06-16.1.log");
  Start();
  Settle();
  Append(eroom_log, SeqLines(11, 12));
  Settle();
  EXPECT_EQ(SequenceIn(eroom_log), Range(1, 12));
}

TEST_F(DatedCopyTest, RotatedWhileStopped) {
  Crash();
  Append(path_, SeqLines(101, 120));
  CopyTruncate();
  Append(path_, SeqLines(121, 130));
  Start(options_);
  Settle();
  EXPECT_EQ(SortedSequence(), Range(1, 130));
  EXPECT_EQ(SequenceIn(copy_), Range(100, 120));
}

// The writer went on between the copy and the truncation, and those lines
// were read: the copy holds nothing new.
TEST_F(DatedCopyTest, CopyShorterThanWhatWasRead) {
  fs::copy_file(path_, copy_);
  Append(path_, SeqLines(101, 110));
  PollAll();
  fs::resize_file(path_, 0);
  Append(path_, SeqLines(111, 115));
  Settle();
  EXPECT_EQ(Sequence(), Range(1, 115));
  EXPECT_EQ(SequenceIn(copy_), std::vector<int>{});
}

// logrotate's `copy` without the truncation: the original holds it all.
TEST_F(DatedCopyTest, CopyOfAFileThatGoesOnIsNotReadTwice) {
  fs::copy_file(path_, copy_);
  Append(path_, SeqLines(101, 110));
  for (int i = 0; i < 3; ++i) Settle();
  Restart();
  Append(path_, SeqLines(111, 115));
  Settle();
  EXPECT_EQ(Sequence(), Range(1, 115));
  EXPECT_EQ(tailer_->Stats().files_tracked, 1u);
}

// The commit that carries the hand-over fails: the copy is handed over
// again, and nothing is lost or repeated.
TEST_F(DatedCopyTest, CommitFailureAfterTheHandOver) {
  Append(path_, SeqLines(101, 120));
  CopyTruncate();
  Append(path_, SeqLines(121, 130));
  store_.FailNext(1);
  tailer_->PollOnce();
  EXPECT_EQ(Sequence(), Range(1, 99));
  clock_.Advance(absl::Seconds(1));
  Settle();
  EXPECT_EQ(SortedSequence(), Range(1, 130));
  EXPECT_EQ(SequenceIn(copy_), Range(100, 120));
  EXPECT_EQ(tailer_->Stats().commit_failures, 1u);
}

TEST_F(LogTailerTest, TruncatedAndRegrownBetweenPollsIsSeenByItsFirstBytes) {
  Append(path_, SeqLines(1, 10));
  Start();
  PollAll();
  fs::resize_file(path_, 0);
  Append(path_, SeqLines(11, 60));  // Already past the old offset.
  Settle();
  EXPECT_EQ(Sequence(), Range(1, 60));
  EXPECT_EQ(tailer_->Stats().truncations, 1u);
}

TEST_F(LogTailerTest, DeletedFileIsDrainedAndANewOneReadFromItsStart) {
  Append(path_, SeqLines(1, 10));
  Start();
  PollAll();
  {
    // The writer holds the file while it is deleted and writes on.
    std::ofstream writer(path_, std::ios::binary | std::ios::app);
    fs::remove(path_);
    writer << SeqLines(11, 20);
  }
  PollAll();
  tailer_->PollOnce();
  Append(path_, SeqLines(21, 30));
  Settle();
  // Both files are called server.log.
  EXPECT_EQ(SortedSequence(), Range(1, 30));
  EXPECT_EQ(tailer_->Stats().files_released, 1u);
  EXPECT_EQ(store_.checkpoints.size(), 1u);
}

TEST_F(LogTailerTest, IdleFileIsClosedAndReopenedWhenItChanges) {
  Append(path_, SeqLines(1, 5));
  LogSourceOptions options = Options();
  options.close_idle_after = absl::Minutes(1);
  Start(options);
  Settle();
  EXPECT_EQ(tailer_->Stats().files_open, 1u);
  clock_.Advance(absl::Minutes(1));
  tailer_->PollOnce();
  EXPECT_EQ(tailer_->Stats().files_open, 0u);
  EXPECT_EQ(tailer_->Stats().files_tracked, 1u);
  ASSERT_EQ(tailer_->Files().size(), 1u);
  EXPECT_FALSE(tailer_->Files()[0].open);

  Append(path_, SeqLines(6, 8));
  Settle();
  EXPECT_EQ(tailer_->Stats().files_open, 1u);
  EXPECT_EQ(Sequence(), Range(1, 8));

  // Replaced while closed (copytruncate, then more than before).
  clock_.Advance(absl::Minutes(1));
  tailer_->PollOnce();
  ASSERT_EQ(tailer_->Stats().files_open, 0u);
  WriteFile(path_, SeqLines(9, 30));
  Settle();
  EXPECT_EQ(Sequence(), Range(1, 30));
}

// Rename rotation every N events while the writer writes, with reads at
// random moments: every event exactly once, whole, in order per file.
TEST_F(LogTailerTest, RenameRotationTorture) {
  for (int seed = 1; seed <= 5; ++seed) {
    SCOPED_TRACE(seed);
    StartOver(seed);
    std::mt19937 random(seed);
    Start();
    SeqWriter writer(path_);
    int rotations = 0;
    while (writer.last() < 1500) {
      writer.Write(1 + random() % 20);
      if (random() % 3 == 0) tailer_->PollOnce();
      if (writer.last() / 97 > rotations) {  // Rotate every ~97 events.
        ++rotations;
        fs::rename(path_, absl::StrCat(dir_, "/server.", rotations, ".log"));
        writer.Write(random() % 3);  // Straggling writes to the old file.
        writer.Reopen();
      }
    }
    Settle();
    ExpectEveryEventOnceInOrder(events(), writer.last(), writer.file_of());
  }
}

// Crashes (the tailer destroyed without flushing, as SIGKILL does) at
// random moments while a writer appends, splits events across writes and
// rotates the file (rename, delete, copytruncate with and without a copy
// the globs match); commits, made small,
// fail now and then. The events committed over all runs: every one once,
// whole, in order per file.
TEST_F(LogTailerTest, CrashAtRandomMomentsLosesAndRepeatsNothing) {
  for (int seed = 1; seed <= 6; ++seed) {
    SCOPED_TRACE(seed);
    StartOver(seed);
    std::mt19937 random(seed);
    LogSourceOptions options = Options();
    options.commit_max_events = 1 + seed % 7;
    Start(options);
    SeqWriter writer(path_);
    int rotations = 0;
    while (writer.last() < 500) {
      switch (random() % 12) {
        case 0:
        case 1:
        case 2:
          writer.Write(1 + random() % 5, &random);
          break;
        case 3:
        case 4:
          if (tailer_) tailer_->PollOnce();
          break;
        case 5:  // Time passes only between whole events.
          writer.Finish();
          clock_.Advance(absl::Milliseconds(random() % 1500));
          break;
        case 6:
          if (tailer_) {
            Crash();
          } else {
            Start(options_);
          }
          break;
        case 7:
          store_.FailNext(1 + random() % 2);
          if (tailer_ && random() % 2 == 0) {
            tailer_->PollOnce();  // A crash in the middle of a commit.
            Crash();
          }
          break;
        case 8:  // Rename rotation, with the tailer running or not.
          writer.Finish();
          fs::rename(path_,
                     absl::StrCat(dir_, "/server.", ++rotations, ".log"));
          writer.Write(1);  // A straggler into the old file.
          writer.Reopen();
          break;
        case 9:
          // Delete and recreate. Only a file the tailer holds can be
          // drained, and only while it runs: let it find the file first,
          // and drain it before anything else.
          if (tailer_) {
            writer.Finish();
            store_.results.clear();
            clock_.Advance(absl::Seconds(1));
            tailer_->PollOnce();
            fs::remove(path_);
            writer.Write(1);
            writer.Reopen();
            Settle();
          }
          break;
        case 11:
          // copytruncate with a dated copy the globs match, at any moment:
          // whatever was not read from the file is read from the copy. The
          // writer's next lines start a new content, ordered on its own.
          writer.Finish();
          fs::copy_file(path_, absl::StrCat(dir_, "/server.2025-06-16.",
                                            ++rotations, ".log"));
          fs::resize_file(path_, 0);
          writer.Reopen();
          break;
        case 10:
          // copytruncate with a copy no glob matches: what was not emitted
          // before the truncation is lost if the tailer crashes before it
          // sees the truncation, so let it emit everything first.
          if (tailer_) {
            writer.Finish();
            store_.results.clear();
            clock_.Advance(absl::Seconds(1));
            Settle();
            fs::create_directories(dir_ + "/archive");
            fs::copy_file(path_, absl::StrCat(dir_, "/archive/server.",
                                              ++rotations, ".log"));
            fs::resize_file(path_, 0);
          }
          break;
      }
    }
    writer.Finish();
    if (!tailer_) Start(options_);
    store_.results.clear();
    clock_.Advance(absl::Seconds(1));
    Settle();
    ExpectEveryEventOnceInOrder(events(), writer.last(), writer.file_of());
  }
}

// --- Globs ---------------------------------------------------------------

TEST_F(LogTailerTest, GlobsFollowTheRightFilesOnly) {
  LogCapture log;
  fs::create_directory(dir_ + "/archive");
  fs::create_directory(dir_ + "/server.dir.log");
  ASSERT_EQ(mkfifo((dir_ + "/server.fifo.log").c_str(), 0644), 0);
  int n = 0;
  for (const char* name :
       {"server.log", "server.2025-06-15.log", "eroom.log",
        "eroom.2025-06-15.1.log", "archive/server.2025-06-01.log",
        "server.2025-06-01.log.gz", "other.log", "server.log.1"}) {
    ++n;
    Append(absl::StrCat(dir_, "/", name), SeqLine(n));
  }
  Start();
  for (int i = 0; i < 3; ++i) Settle();
  EXPECT_EQ(SortedSequence(), Range(1, 4));
  EXPECT_EQ(tailer_->Stats().files_tracked, 4u);
  EXPECT_EQ(log.Count("is not a regular file"), 2);
  EXPECT_EQ(tailer_->Stats().file_errors, 2u);
}

TEST_F(LogTailerTest, SymlinkOutOfTheEroomDirectoryIsRefusedUnlessAllowed) {
  LogCapture log;
  dir_ = root_ + "/eroom";
  path_ = dir_ + "/server.log";
  fs::create_directories(dir_ + "/data");
  const std::string secret = root_ + "/secret.log";
  Append(secret, SeqLines(1, 2));
  Append(dir_ + "/data/eroom.log", SeqLines(3, 4));
  fs::create_symlink(secret, path_);
  fs::create_symlink(dir_ + "/data/eroom.log", dir_ + "/eroom.log");
  LogSourceOptions options = Options();
  options.eroom_dir = dir_;
  Start(options);
  for (int i = 0; i < 3; ++i) Settle();
  EXPECT_EQ(Sequence(), Range(3, 4));
  EXPECT_EQ(log.Count("[warning]"), 1);
  EXPECT_EQ(log.Count(path_ + ": symbolic link leads outside " + dir_), 1);
  EXPECT_EQ(tailer_->Stats().file_errors, 1u);
  EXPECT_EQ(tailer_->Stats().files_tracked, 1u);

  options.follow_symlinks_outside = true;
  Crash();
  Start(options);
  Settle();
  EXPECT_EQ(SortedSequence(), Range(1, 4));
}

TEST_F(LogTailerTest, ArchiveIsNeverFollowedEvenIfAPatternPointsThere) {
  fs::create_directory(dir_ + "/archive");
  Append(dir_ + "/archive/server.log", SeqLines(1, 2));
  Start(OptionsFor(dir_ + "/archive/*.log"));
  Settle();
  EXPECT_THAT(events(), IsEmpty());
}

TEST_F(LogTailerTest, NewFileIsFoundThroughInotifyBeforeTheRescan) {
  if (!(*FileWatcher::Create(true))->uses_inotify()) {
    GTEST_SKIP() << "no inotify here";
  }
  Append(path_, SeqLines(1, 2));
  LogSourceOptions options = Options();
  options.rescan_interval = absl::Hours(1);
  Start(options);
  tailer_->PollOnce();
  Append(dir_ + "/eroom.log", SeqLines(3, 4));
  tailer_->PollOnce();
  tailer_->FlushPending();
  EXPECT_EQ(SortedSequence(), Range(1, 4));
}

TEST_F(LogTailerTest, WithoutInotifyTheRescanFindsNewFiles) {
  Append(path_, SeqLines(1, 2));
  LogSourceOptions options = Options();
  options.use_inotify = false;
  options.rescan_interval = absl::Seconds(2);
  Start(options);
  tailer_->PollOnce();
  Append(dir_ + "/eroom.log", SeqLines(3, 4));
  Append(path_, SeqLines(5, 6));  // Open files are read at every poll.
  tailer_->PollOnce();
  EXPECT_EQ(Sequence(), Range(1, 2) + Range(5, 5));  // No 3 and 4 yet.
  clock_.Advance(absl::Seconds(2));
  tailer_->PollOnce();
  tailer_->FlushPending();
  EXPECT_EQ(SortedSequence(), Range(1, 6));
}

// --- Waiting -------------------------------------------------------------

constexpr absl::Duration kNever = absl::Seconds(20);
constexpr absl::Duration kPrompt = absl::Seconds(5);

TEST_F(LogTailerTest, WaitForChangeReturnsAtOnceWithABacklogOrWhenWoken) {
  std::string lines;
  for (int n = 1; lines.size() < 10 * 1024 * 1024; ++n) lines += SeqLine(n);
  Append(path_, lines);
  Start();
  tailer_->PollOnce();  // Reads 8 MiB of it.
  absl::Time start = absl::Now();
  tailer_->WaitForChange(kNever);
  EXPECT_LT(absl::Now() - start, kPrompt);

  PollAll();
  tailer_->Wake();
  start = absl::Now();
  tailer_->WaitForChange(kNever);
  EXPECT_LT(absl::Now() - start, kPrompt);
}

TEST_F(LogTailerTest, WaitForChangeWakesOnAWrite) {
  if (!(*FileWatcher::Create(true))->uses_inotify()) {
    GTEST_SKIP() << "no inotify here";
  }
  Append(path_, SeqLines(1, 2));
  LogSourceOptions options = Options();
  options.min_poll_interval = absl::ZeroDuration();
  Start(options);
  PollAll();
  Append(path_, SeqLines(3, 4));
  const absl::Time start = absl::Now();
  tailer_->WaitForChange(kNever);
  EXPECT_LT(absl::Now() - start, kPrompt);
}

// --- Hostile files -------------------------------------------------------

TEST_F(LogTailerTest, HugeLineIsCutAndTheNextLineStillRead) {
  Start();
  const std::string header = "2025-06-16 10:00:00.000 [main] INFO  x.Y : ";
  Append(path_, header);
  const std::string megabyte(1024 * 1024, 'x');
  for (int i = 0; i < 10; ++i) {
    Append(path_, megabyte);
    tailer_->PollOnce();
  }
  Append(path_, "\n" + SeqLine(2));
  Settle();

  ASSERT_EQ(events().size(), 2u);
  EXPECT_TRUE(events()[0].truncated());
  EXPECT_LE(events()[0].message().size(), 64u * 1024);
  EXPECT_THAT(events()[0].message(), StartsWith("xxxx"));
  EXPECT_EQ(events()[1].message(), "line 2");
  EXPECT_EQ(events()[1].file_offset(),
            header.size() + 10 * megabyte.size() + 1);
  EXPECT_EQ(tailer_->Stats().truncated_lines, 1u);
}

// The peak resident set size in KiB, after resetting it (Linux 4.0+).
std::optional<int64_t> PeakRssKib(bool reset) {
  if (reset && !(std::ofstream("/proc/self/clear_refs") << "5")) {
    return std::nullopt;
  }
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    absl::string_view value = line;
    int64_t kib;
    if (absl::ConsumePrefix(&value, "VmHWM:") &&
        absl::SimpleAtoi(
            absl::StripSuffix(absl::StripAsciiWhitespace(value), " kB"),
            &kib)) {
      return kib;
    }
  }
  return std::nullopt;
}

TEST_F(LogTailerTest, FiftyMegabyteLineCostsBoundedMemory) {
  {
    std::ofstream out(path_, std::ios::binary);
    out << "2025-06-16 10:00:00.000 [main] INFO  x.Y : ";
    const std::string megabyte(1024 * 1024, 'y');
    for (int i = 0; i < 50; ++i) out << megabyte;
    out << "\n" << SeqLine(2);
  }
  Start();
  const std::optional<int64_t> before = PeakRssKib(/*reset=*/true);
  int polls = 0;
  uint64_t read;
  do {
    read = tailer_->Stats().bytes_read;
    tailer_->PollOnce();
    ++polls;
  } while (tailer_->Stats().bytes_read != read);
  const std::optional<int64_t> after = PeakRssKib(/*reset=*/false);
  tailer_->FlushPending();

  EXPECT_EQ(tailer_->Stats().bytes_read, fs::file_size(path_));
  EXPECT_LE(polls, 8);  // 8 MiB a poll.
  ASSERT_EQ(events().size(), 2u);
  EXPECT_TRUE(events()[0].truncated());
  EXPECT_THAT(events()[0].message(), StartsWith("yyyy"));
  EXPECT_GT(events()[0].message().size(), 60u * 1024);  // 64 KiB with header.
  EXPECT_EQ(events()[1].message(), "line 2");
  if (before && after) {
    EXPECT_LT(*after - *before, 8 * 1024) << "KiB more at the peak";
  }
}

TEST_F(LogTailerTest, NulBytesAreSafe) {
  Append(path_, std::string(10 * 1024 * 1024, '\0') + "\n" + SeqLine(1) +
                    std::string("a\0b\n", 4));
  Start();
  Settle();
  ASSERT_EQ(events().size(), 2u);
  EXPECT_FALSE(events()[0].has_header());
  EXPECT_TRUE(events()[0].truncated());
  EXPECT_EQ(events()[0].message(), std::string(64 * 1024, '\0'));
  EXPECT_EQ(events()[1].message(), std::string("line 1\na\0b", 10));
}

TEST_F(LogTailerTest, BinaryGarbageBecomesSafeEvents) {
  std::mt19937 random(7);
  std::string garbage(1024 * 1024, '\0');
  for (char& byte : garbage) byte = static_cast<char>(random());
  Append(path_, garbage + "\n" + SeqLine(1));
  Start();
  Settle();
  ASSERT_FALSE(events().empty());
  for (const v1::LogEvent& event : events()) {
    std::string wire;
    ASSERT_TRUE(event.SerializeToString(&wire));
    EXPECT_LE(event.message().size(), 64u * 1024);
  }
  EXPECT_EQ(events().back().message(), "line 1");
  EXPECT_GT(tailer_->Stats().utf8_replacements, 1000u);
}

TEST_F(LogTailerTest, InvalidUtf8IsRepaired) {
  Start();
  Append(path_,
         "2025-06-16 10:00:00.000 [main] ERROR x.Y : CP949 \xC5\xD7\xBD\xBA"
         "\xC6\xAE\n\xFF\xFE stray bytes\n");
  Settle();
  ASSERT_EQ(events().size(), 1u);
  std::string wire;
  EXPECT_TRUE(events()[0].SerializeToString(&wire));
  EXPECT_THAT(events()[0].message(), StartsWith("CP949 \xEF\xBF\xBD"));
  // C5 D7 BD BA C6 AE: D7 BD and C6 AE happen to be well-formed UTF-8.
  EXPECT_EQ(tailer_->Stats().utf8_replacements, 4u);
}

TEST_F(LogTailerTest, Cp949FileIsConverted) {
  const std::string dated = dir_ + "/server.2025-06-20.log";
  fs::copy_file(EROOM_SOURCE_DIR "/tests/fixtures/logs/server.cp949.log",
                dated);
  LogSourceOptions options = Options();
  options.encodings = {{dir_ + "/server.2025-*.log", "cp949"}};
  Start(options);
  Settle();
  std::vector<std::string> types;
  for (const v1::LogEvent& event : events()) {
    types.push_back(event.event_type());
  }
  EXPECT_THAT(types, ElementsAreArray({"server_started", "room_started",
                                       "room_failed", "auth_failure"}));
  ASSERT_EQ(events().size(), 4u);
  EXPECT_EQ(events()[0].message(), "서버가 성공적으로 시작되었습니다");
  EXPECT_EQ(events()[1].fields().at("theme"), "학교");
  EXPECT_EQ(events()[2].ruid(), "room_5d1e7a90c3b2f468");
  EXPECT_THAT(events()[2].message(),
              HasSubstr("\njava.lang.IllegalStateException: 시나리오 응답이 "
                        "비어 있습니다\n\tat com.febrie."));
  EXPECT_EQ(events()[3].fields().at("path"), "/room/create");
  EXPECT_EQ(tailer_->Stats().encoding_replacements, 0u);
  EXPECT_EQ(tailer_->Stats().utf8_replacements, 0u);

  Append(dated, "14:10:00.000 [main] INFO  x.Y - bad \x80 byte\n");
  Settle();
  EXPECT_EQ(events().back().message(), "bad \xEF\xBF\xBD byte");
  EXPECT_EQ(tailer_->Stats().encoding_replacements, 1u);
}

TEST_F(LogTailerTest, DirectoryInPlaceOfTheFileIsWarnedOnceAndRetried) {
  LogCapture log;
  fs::create_directory(path_);
  Start();
  for (int i = 0; i < 5; ++i) tailer_->PollOnce();
  EXPECT_EQ(log.Count("[warning]"), 1);
  EXPECT_THAT(log.text(), HasSubstr("is not a regular file"));
  fs::remove(path_);
  Append(path_, SeqLines(1, 3));
  Settle();
  EXPECT_EQ(Sequence(), Range(1, 3));
  EXPECT_EQ(log.Count("[warning]"), 1);
}

TEST_F(LogTailerTest, NoMatchingFileIsWarnedOnce) {
  LogCapture log;
  Start();
  for (int i = 0; i < 5; ++i) tailer_->PollOnce();
  EXPECT_EQ(log.Count("[warning]"), 1);
  EXPECT_THAT(log.text(), HasSubstr("no file matches"));
  Append(path_, SeqLines(1, 1));
  tailer_->PollOnce();
  EXPECT_THAT(log.text(), HasSubstr("ok again"));
}

// The tailer, in a process that cannot read `path` (mode 000, owned by the
// process): one warning, retries, and the file is read once readable.
// Returns what went wrong, or "".
std::string UnreadableFileScenario(const std::string& path) {
  LogCapture log;
  FakeClock clock;
  FakeStore store;
  LogSourceOptions options;
  options.paths = {path};
  options.start_at_beginning = true;
  options.time_zone = absl::UTCTimeZone();
  options.rescan_interval = absl::ZeroDuration();
  absl::StatusOr<std::unique_ptr<LogTailer>> tailer =
      LogTailer::Create(options, clock, store);
  if (!tailer.ok()) return tailer.status().ToString();
  for (int i = 0; i < 5; ++i) (*tailer)->PollOnce();
  if (!store.events.empty()) return "read an unreadable file";
  if (log.Count("[warning]") != 1 ||
      !absl::StrContains(log.text(), "Permission denied")) {
    return "not one permission warning: " + log.text();
  }
  if (chmod(path.c_str(), 0400) != 0) return "chmod failed";
  for (int i = 0; i < 3; ++i) (*tailer)->PollOnce();
  (*tailer)->FlushPending();
  if (SequenceOf(store.events) != Range(1, 3)) return "lines not read";
  if (log.Count("[warning]") != 1 ||
      !absl::StrContains(log.text(), "ok again")) {
    return "warnings after recovery: " + log.text();
  }
  return "";
}

TEST_F(LogTailerTest, UnreadableFileIsWarnedOnceAndRetried) {
  Append(path_, SeqLines(1, 3));
  ASSERT_EQ(chmod(path_.c_str(), 0), 0);
  if (geteuid() != 0) {
    EXPECT_EQ(UnreadableFileScenario(path_), "");
    return;
  }
  // Root reads any file: the scenario runs as nobody, owning the file.
  ASSERT_EQ(chmod(root_.c_str(), 0755), 0);
  ASSERT_EQ(chown(path_.c_str(), kNobody, kNobody), 0);
  const std::string path = path_;
  const ScenarioResult result =
      RunAsNobody([path] { return UnreadableFileScenario(path); });
  if (result == ScenarioResult::kCannotDropPrivileges) {
    GTEST_SKIP() << "cannot switch to nobody";
  }
  EXPECT_EQ(result, ScenarioResult::kPassed) << "see the message above";
}

// --- Options -------------------------------------------------------------

TEST(LogTailerCreateTest, RejectsBadOptions) {
  FakeClock clock;
  FakeStore store;
  const auto code = [&](LogSourceOptions options) {
    return LogTailer::Create(std::move(options), clock, store).status().code();
  };
  LogSourceOptions duplicate;
  duplicate.paths = {"logs/server.log", "logs/server.log"};
  EXPECT_EQ(code(duplicate), absl::StatusCode::kInvalidArgument);

  LogSourceOptions empty_path;
  empty_path.paths = {""};
  EXPECT_EQ(code(empty_path), absl::StatusCode::kInvalidArgument);

  LogSourceOptions no_room;
  no_room.max_event_bytes = 0;
  EXPECT_EQ(code(no_room), absl::StatusCode::kInvalidArgument);

  LogSourceOptions negative;
  negative.rescan_interval = absl::Seconds(-1);
  EXPECT_EQ(code(negative), absl::StatusCode::kInvalidArgument);

  LogSourceOptions no_batch;
  no_batch.commit_max_events = 0;
  EXPECT_EQ(code(no_batch), absl::StatusCode::kInvalidArgument);

  LogSourceOptions bad_encoding;
  bad_encoding.encodings = {{"logs/*.log", "klingon-8"}};
  absl::StatusOr<std::unique_ptr<LogTailer>> tailer =
      LogTailer::Create(bad_encoding, clock, store);
  EXPECT_EQ(tailer.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(tailer.status().message()), HasSubstr("klingon-8"));

  LogSourceOptions bad_rule;
  bad_rule.classification_rules.push_back({"my_rule", std::nullopt, "(", {}});
  tailer = LogTailer::Create(bad_rule, clock, store);
  EXPECT_EQ(tailer.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(tailer.status().message()), HasSubstr("my_rule"));

  store.load_status = absl::DataLossError("database disk image is malformed");
  tailer = LogTailer::Create(LogSourceOptions{}, clock, store);
  EXPECT_EQ(tailer.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(tailer.status().message()),
              HasSubstr("log checkpoints"));
}

}  // namespace
}  // namespace eroom::agent
