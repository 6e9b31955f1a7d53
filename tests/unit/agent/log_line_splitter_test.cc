#include "agent/log_line_splitter.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace eroom::agent {
namespace {

using ::testing::ElementsAre;

struct Line {
  std::string text;
  uint64_t offset;
  bool truncated;
  bool operator==(const Line&) const = default;
};

void PrintTo(const Line& line, std::ostream* os) {
  *os << "{\"" << line.text << "\", " << line.offset << ", " << line.truncated
      << "}";
}

class Collector {
 public:
  void operator()(const LogLine& line) {
    lines.push_back(Line{std::string(line.text), line.offset, line.truncated});
  }
  std::vector<Line> lines;
};

TEST(LogLineSplitterTest, SplitsLinesWithOffsetsWhateverTheChunking) {
  const std::string input = "first\nsecond line\r\n\nlast\n";
  for (size_t chunk = 1; chunk <= input.size(); ++chunk) {
    SCOPED_TRACE(chunk);
    LogLineSplitter splitter(1024);
    Collector collector;
    for (size_t pos = 0; pos < input.size(); pos += chunk) {
      splitter.Append(std::string_view(input).substr(pos, chunk),
                      std::ref(collector));
    }
    EXPECT_THAT(
        collector.lines,
        ElementsAre(Line{"first", 0, false}, Line{"second line", 6, false},
                    Line{"", 19, false}, Line{"last", 20, false}));
    EXPECT_FALSE(splitter.has_partial());
    EXPECT_EQ(splitter.end_offset(), input.size());
  }
}

TEST(LogLineSplitterTest, KeepsPartialLineUntilNewlineOrFlush) {
  LogLineSplitter splitter(1024);
  Collector collector;
  splitter.Append("done\nhalf", std::ref(collector));
  EXPECT_THAT(collector.lines, ElementsAre(Line{"done", 0, false}));
  EXPECT_TRUE(splitter.has_partial());

  splitter.Append(" more", std::ref(collector));
  splitter.FlushPartial(std::ref(collector));
  EXPECT_THAT(collector.lines,
              ElementsAre(Line{"done", 0, false}, Line{"half more", 5, false}));
  EXPECT_FALSE(splitter.has_partial());

  // What follows a flushed partial line is a line of its own.
  splitter.Append(" tail\n", std::ref(collector));
  EXPECT_EQ(collector.lines.back(), (Line{" tail", 14, false}));
}

TEST(LogLineSplitterTest, CutsLongLinesAndSkipsToTheirNewline) {
  LogLineSplitter splitter(4);
  Collector collector;
  splitter.Append("abcdefgh", std::ref(collector));  // Cut without newline.
  splitter.Append("ijkl", std::ref(collector));      // Still skipped.
  splitter.Append("mn\nxy", std::ref(collector));
  splitter.Append("z\n0123456789\n1234\n", std::ref(collector));
  EXPECT_THAT(collector.lines,
              ElementsAre(Line{"abcd", 0, true}, Line{"xyz", 15, false},
                          Line{"0123", 19, true}, Line{"1234", 30, false}));
  EXPECT_EQ(splitter.truncated_lines(), 2u);
  EXPECT_EQ(splitter.end_offset(), 35u);
}

TEST(LogLineSplitterTest, PartialLineAtTheLimitIsNotCut) {
  LogLineSplitter splitter(4);
  Collector collector;
  splitter.Append("abcd", std::ref(collector));
  EXPECT_TRUE(collector.lines.empty());
  splitter.Append("\n", std::ref(collector));
  EXPECT_THAT(collector.lines, ElementsAre(Line{"abcd", 0, false}));
}

TEST(LogLineSplitterTest, ResetDropsPartialLineAndSetsOffset) {
  LogLineSplitter splitter(4);
  Collector collector;
  splitter.Append("abcdefg", std::ref(collector));  // Now skipping.
  splitter.Reset(100);
  splitter.Append("new\n", std::ref(collector));
  EXPECT_THAT(collector.lines,
              ElementsAre(Line{"abcd", 0, true}, Line{"new", 100, false}));
}

}  // namespace
}  // namespace eroom::agent
