#include "cli/text_format.h"
#include "common/duration_text.h"
#include "gtest/gtest.h"

namespace eroom::cli {
namespace {

TEST(FormatBytesTest, UsesBinaryUnitsWithThreeSignificantDigits) {
  EXPECT_EQ(FormatBytes(0), "0 B");
  EXPECT_EQ(FormatBytes(1023), "1023 B");
  EXPECT_EQ(FormatBytes(1536), "1.5 KiB");
  EXPECT_EQ(FormatBytes(851443712), "812 MiB");
  EXPECT_EQ(FormatBytes(8589934592), "8.0 GiB");
  EXPECT_EQ(FormatBytes(uint64_t{5} << 40), "5.0 TiB");
}

TEST(FormatTest, PercentAndLatency) {
  EXPECT_EQ(FormatPercent(12.345), "12.3%");
  EXPECT_EQ(FormatLatency(12.4), "12 ms");
  EXPECT_EQ(FormatLatency(1500), "1.5 s");
}

TEST(FormatAgeTest, PicksTheLargestWholeUnit) {
  EXPECT_EQ(FormatAge(absl::Seconds(45)), "45s");
  EXPECT_EQ(FormatAge(absl::Seconds(200)), "3m");
  EXPECT_EQ(FormatAge(absl::Hours(5)), "5h");
  EXPECT_EQ(FormatAge(absl::Hours(47)), "47h");
  EXPECT_EQ(FormatAge(absl::Hours(72)), "3d");
  EXPECT_EQ(FormatAge(-absl::Seconds(3)), "0s");
}

TEST(FormatLocalTimeTest, PrintsMillisecondsInTheZone) {
  EXPECT_EQ(FormatLocalTime(1750032902118, absl::UTCTimeZone()),
            "2025-06-16 00:15:02.118");
  EXPECT_EQ(FormatLocalTime(1750032902000, absl::FixedTimeZone(9 * 3600)),
            "2025-06-16 09:15:02.000");
}

TEST(FirstLineSummaryTest, CountsContinuationLines) {
  EXPECT_EQ(FirstLineSummary("one line"), "one line");
  EXPECT_EQ(FirstLineSummary("head\n\tat a\n\tat b"), "head (+2 lines)");
  EXPECT_EQ(FirstLineSummary("head\nnext\n"), "head (+1 line)");
  EXPECT_EQ(FirstLineSummary("head\r\n"), "head");
  EXPECT_EQ(FirstLineSummary(""), "");
}

TEST(ParseDurationTextTest, AbslDurationsAndWholeDays) {
  EXPECT_EQ(ParseDurationText("30m"), absl::Minutes(30));
  EXPECT_EQ(ParseDurationText("1h30m"), absl::Minutes(90));
  EXPECT_EQ(ParseDurationText("2d"), absl::Hours(48));
  EXPECT_EQ(ParseDurationText("-1h"), absl::Hours(-1));
  EXPECT_EQ(ParseDurationText("soon"), std::nullopt);
  EXPECT_EQ(ParseDurationText("1.5d"), std::nullopt);
  EXPECT_EQ(ParseDurationText(""), std::nullopt);
}

class ParseTimeArgumentTest : public ::testing::Test {
 protected:
  const absl::Time now_ = absl::FromUnixSeconds(1750000000);
  const absl::TimeZone seoul_ = absl::FixedTimeZone(9 * 3600);
};

TEST_F(ParseTimeArgumentTest, DurationsCountBackFromNow) {
  EXPECT_EQ(*ParseTimeArgument("30s", now_, seoul_), now_ - absl::Seconds(30));
  EXPECT_EQ(*ParseTimeArgument("15m", now_, seoul_), now_ - absl::Minutes(15));
  EXPECT_EQ(*ParseTimeArgument("1h", now_, seoul_), now_ - absl::Hours(1));
  EXPECT_EQ(*ParseTimeArgument("1h30m", now_, seoul_),
            now_ - absl::Minutes(90));
  EXPECT_EQ(*ParseTimeArgument("2d", now_, seoul_), now_ - absl::Hours(48));
}

TEST_F(ParseTimeArgumentTest, AbsoluteTimes) {
  const absl::Time expected = absl::FromUnixSeconds(1750032900);
  EXPECT_EQ(*ParseTimeArgument("2025-06-16T00:15:00Z", now_, seoul_), expected);
  EXPECT_EQ(*ParseTimeArgument("2025-06-16T09:15:00+09:00", now_, seoul_),
            expected);
  // As the logs table prints it, in the local zone.
  EXPECT_EQ(*ParseTimeArgument("2025-06-16 09:15:00", now_, seoul_), expected);
  EXPECT_EQ(*ParseTimeArgument("2025-06-16 09:15:00.500", now_, seoul_),
            expected + absl::Milliseconds(500));
}

TEST_F(ParseTimeArgumentTest, RejectsNonsenseWithAnExplanation) {
  for (const char* bad :
       {"", "yesterday", "-5m", "5x", "d", "-2d", "2025-13-01T00:00:00Z"}) {
    absl::StatusOr<absl::Time> parsed = ParseTimeArgument(bad, now_, seoul_);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_NE(ParseTimeArgument("yesterday", now_, seoul_)
                .status()
                .message()
                .find("30s, 15m, 1h, 2d"),
            absl::string_view::npos);
}

TEST(PrintableTest, ControlCharactersAreShownAsEscapes) {
  EXPECT_EQ(Printable("plain text, 한국어 \\ \xC2\xA0"),
            "plain text, 한국어 \\ \xC2\xA0");  // NBSP is text.
  EXPECT_EQ(Printable("\x1b[31mred\x1b]0;title\x07"),
            "\\x1b[31mred\\x1b]0;title\\x07");
  EXPECT_EQ(Printable(std::string("a\rb\nc\td\0e\x7f", 10)),
            "a\\rb\\nc\\td\\x00e\\x7f");
  // U+009B is CSI on terminals that honour C1 controls.
  EXPECT_EQ(Printable("\xC2\x9B"
                      "2J"),
            "\\u009b2J");
  // Bytes that are not UTF-8 are shown as bytes; the output is UTF-8.
  EXPECT_EQ(Printable("\xFF\xC3(\xE2\x82"), "\\xff\\xc3(\\xe2\\x82");
  // Escaping what is already printable changes nothing.
  EXPECT_EQ(Printable(Printable("\x1b\r")), "\\x1b\\r");
}

TEST(SparklineTest, ScalesToTheLowestAndHighestAndAveragesToFit) {
  EXPECT_EQ(Sparkline({1, 5, 9}, 10), "\u2581\u2585\u2588");
  EXPECT_EQ(Sparkline({4, 4}, 10), "\u2584\u2584");
  // Six values in three columns: pairs averaged (1, 5, 9).
  EXPECT_EQ(Sparkline({0, 2, 4, 6, 8, 10}, 3), "\u2581\u2585\u2588");
  EXPECT_EQ(Sparkline({}, 10), "");
}

TEST(CsvFieldTest, QuotesWhatNeedsItAndDefusesFormulas) {
  EXPECT_EQ(CsvField("web-1"), "web-1");
  EXPECT_EQ(CsvField("a,b"), "\"a,b\"");
  EXPECT_EQ(CsvField("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(CsvField("=HYPERLINK(1)"), "'=HYPERLINK(1)");
  EXPECT_EQ(CsvField("-1"), "'-1");
}

}  // namespace
}  // namespace eroom::cli
