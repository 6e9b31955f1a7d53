#include "agent/log_resume.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/test_support/temp_dir.h"

namespace eroom::agent {
namespace {
namespace v1 = ::eroom::monitor::v1;

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// "2025-06-16 09:00:0S.000 [main] INFO  c.f.e.Main : MESSAGE\n".
std::string Line(int second, const std::string& message) {
  return "2025-06-16 09:00:0" + std::to_string(second) +
         ".000 [main] INFO  c.f.e.Main : " + message + "\n";
}

int64_t TimeOf(int second) {
  return absl::ToUnixMillis(absl::FromCivil(
      absl::CivilSecond(2025, 6, 16, 9, 0, second), absl::UTCTimeZone()));
}

// What the collector answers for the event of Line(second, message), read
// from `file` at `offset`.
v1::LogResumePoint Point(const std::string& file, uint64_t offset, int second,
                         const std::string& message) {
  v1::LogResumePoint point;
  point.set_file(file);
  point.set_file_offset(offset);
  point.set_time_unix_ms(TimeOf(second));
  point.set_has_header(true);
  point.set_first_line(message);
  return point;
}

struct Resumed {
  std::string path;
  uint64_t offset;
  bool stored_event_there;
  bool operator==(const Resumed&) const = default;
};

void PrintTo(const Resumed& r, std::ostream* os) {
  *os << r.path << "@" << r.offset << (r.stored_event_there ? "+skip" : "");
}

class LogResumeTest : public test_support::TempDirTest {
 protected:
  LogResumeTest() {
    options_.paths = {PathIn("server.log"), PathIn("server.*.log")};
    options_.time_zone = absl::UTCTimeZone();
  }

  void Write(const std::string& name, const std::string& text) {
    std::ofstream(PathIn(name), std::ios::binary) << text;
  }

  void SetModified(const std::string& name, int64_t unix_ms) {
    const timespec times[2] = {absl::ToTimespec(absl::FromUnixMillis(unix_ms)),
                               absl::ToTimespec(absl::FromUnixMillis(unix_ms))};
    ASSERT_EQ(utimensat(AT_FDCWD, PathIn(name).c_str(), times, 0), 0);
  }

  // The plan, by file name in this directory.
  std::vector<Resumed> Plan(const std::vector<v1::LogResumePoint>& points) {
    LogResumePlan plan = PlanLogResume(options_, points);
    std::vector<Resumed> out;
    for (const FileCheckpoint& checkpoint : plan.checkpoints) {
      bool skip = false;
      for (const FileCheckpoint& start : plan.stored_event_starts) {
        skip |= start.inode == checkpoint.inode &&
                start.offset == checkpoint.offset;
      }
      out.push_back({std::filesystem::path(checkpoint.path).filename().string(),
                     checkpoint.offset, skip});
    }
    return out;
  }

  LogSourceOptions options_;
};

TEST_F(LogResumeTest, AFileResumesAtItsLastStoredEvent) {
  const std::string first = Line(1, "first");
  Write("server.log", first + Line(2, "second") + Line(3, "third"));
  EXPECT_THAT(Plan({Point(PathIn("server.log"), first.size(), 2, "second")}),
              ElementsAre(Resumed{"server.log", first.size(), true}));
}

TEST_F(LogResumeTest, WithoutAnyPointEveryFileIsReadFromItsStart) {
  Write("server.log", Line(1, "a"));
  Write("server.2025-06-15.log", Line(0, "b"));
  EXPECT_THAT(Plan({}),
              ElementsAre(Resumed{"server.log", 0, false},
                          Resumed{"server.2025-06-15.log", 0, false}));
}

TEST_F(LogResumeTest, AnEventThatDoesNotMatchIsNotResumedFrom) {
  const std::string first = Line(1, "first");
  Write("server.log", first + Line(2, "second"));
  // Same offset, another message or another time: another file.
  EXPECT_THAT(Plan({Point(PathIn("server.log"), first.size(), 2, "other")}),
              ElementsAre(Resumed{"server.log", 0, false}));
  EXPECT_THAT(Plan({Point(PathIn("server.log"), first.size(), 3, "second")}),
              ElementsAre(Resumed{"server.log", 0, false}));
}

TEST_F(LogResumeTest, ARenamedFileIsFoundByItsContent) {
  // Stored up to "second" as server.log; then renamed to a dated name, and
  // a new server.log began after the stored event was logged.
  const std::string first = Line(1, "first");
  Write("server.2025-06-16.log", first + Line(2, "second") + Line(3, "lost?"));
  Write("server.log", Line(4, "new file"));
  SetModified("server.log", TimeOf(4));
  EXPECT_THAT(
      Plan({Point(PathIn("server.log"), first.size(), 2, "second")}),
      ElementsAre(Resumed{"server.log", 0, false},
                  Resumed{"server.2025-06-16.log", first.size(), true}));
}

TEST_F(LogResumeTest, TheFurthestEventOfAFileWins) {
  // Read as server.log up to "second", renamed, read on up to "third".
  const std::string first = Line(1, "first");
  const std::string second = Line(2, "second");
  Write("server.2025-06-16.log", first + second + Line(3, "third"));
  EXPECT_THAT(Plan({Point(PathIn("server.log"), first.size(), 2, "second"),
                    Point(PathIn("server.2025-06-16.log"),
                          first.size() + second.size(), 3, "third")}),
              ElementsAre(Resumed{"server.2025-06-16.log",
                                  first.size() + second.size(), true}));
}

TEST_F(LogResumeTest, ACopyTakesTheStoredPartAndTheTruncatedFileStartsOver) {
  // copytruncate: the copy holds what server.log held, server.log starts
  // again with newer lines.
  const std::string first = Line(1, "first");
  Write("server.2025-06-16.log", first + Line(2, "second"));
  Write("server.log", Line(5, "after truncation") + Line(6, "more"));
  SetModified("server.log", TimeOf(6));
  EXPECT_THAT(
      Plan({Point(PathIn("server.log"), first.size(), 2, "second")}),
      ElementsAre(Resumed{"server.log", 0, false},
                  Resumed{"server.2025-06-16.log", first.size(), true}));
}

TEST_F(LogResumeTest, AnOlderRotationUnchangedSinceIsNotReadAgain) {
  // Stored long ago under the name server.log, which a newer file holds
  // now: nothing of it is behind the newest stored event.
  const std::string old_day = Line(0, "old day") + Line(1, "old day end");
  Write("server.2025-06-15.log", old_day);
  SetModified("server.2025-06-15.log", TimeOf(1));
  Write("server.log", Line(2, "today") + Line(3, "today 2"));
  SetModified("server.log", TimeOf(3));
  EXPECT_THAT(
      Plan({Point(PathIn("server.log"), 0, 2, "today")}),
      ElementsAre(Resumed{"server.log", 0, true},
                  Resumed{"server.2025-06-15.log", old_day.size(), false}));
}

TEST_F(LogResumeTest, AHeaderlessEventIsMatchedByItsText) {
  const std::string first = Line(1, "first");
  Write("server.log", first + "Exception in thread \"main\"\n" + Line(3, "x"));
  v1::LogResumePoint point;
  point.set_file(PathIn("server.log"));
  point.set_file_offset(first.size());
  point.set_time_unix_ms(TimeOf(9));  // When it was read.
  point.set_first_line("Exception in thread \"main\"");
  EXPECT_THAT(Plan({point}),
              ElementsAre(Resumed{"server.log", first.size(), true}));
}

}  // namespace
}  // namespace eroom::agent
