// The Prometheus text format of /metrics: escaping, values, grouping by
// family, histograms, and the catalog of exported names.
#include "collector/metrics_exposition.h"

#include <set>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "re2/re2.h"

namespace eroom::collector {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(EscapeLabelValueTest, EscapesBackslashQuoteAndLineFeedOnly) {
  EXPECT_EQ(EscapeLabelValue(R"(C:\logs "a")"), R"(C:\\logs \"a\")");
  EXPECT_EQ(EscapeLabelValue("two\nlines"), "two\\nlines");
  EXPECT_EQ(EscapeLabelValue("방 생성 실패\t/"), "방 생성 실패\t/");
}

TEST(SanitizeLabelNameTest, KeepsValidNamesAndRepairsOthers) {
  EXPECT_EQ(SanitizeLabelName("team"), "team");
  EXPECT_EQ(SanitizeLabelName("app.kubernetes/name"), "app_kubernetes_name");
  EXPECT_EQ(SanitizeLabelName("9lives"), "_lives");
  EXPECT_EQ(SanitizeLabelName("__name__"), "x_name__");
  EXPECT_EQ(SanitizeLabelName(""), "_");
}

TEST(FormatSampleValueTest, ShortestExactTextAndSpecialValues) {
  EXPECT_EQ(FormatSampleValue(37.5), "37.5");
  EXPECT_EQ(FormatSampleValue(8589934592.0), "8589934592");
  EXPECT_EQ(FormatSampleValue(0.1), "0.1");
  EXPECT_EQ(FormatSampleValue(1.0 / 0.0), "+Inf");
  EXPECT_EQ(FormatSampleValue(-1.0 / 0.0), "-Inf");
  EXPECT_EQ(FormatSampleValue(0.0 / 0.0), "NaN");
}

TEST(ExpositionWriterTest, GroupsSamplesUnderOneHelpAndTypeInCatalogOrder) {
  ExpositionWriter writer;
  writer.Add(metric::kHostCpu, {{"agent_id", "b"}, {"hostname", "B"}}, 2);
  writer.Add(metric::kHostUp, {{"agent_id", "a"}, {"hostname", "A"}}, 1);
  writer.Add(metric::kHostCpu, {{"agent_id", "a"}, {"hostname", "x\"y"}}, 1);
  const std::string text = writer.Finish();
  EXPECT_THAT(text, HasSubstr("# HELP eroom_host_cpu_percent Whole-host"));
  EXPECT_THAT(text, HasSubstr("# TYPE eroom_host_cpu_percent gauge\n"
                              "eroom_host_cpu_percent{agent_id=\"b\","
                              "hostname=\"B\"} 2\n"
                              "eroom_host_cpu_percent{agent_id=\"a\","
                              "hostname=\"x\\\"y\"} 1\n"));
  EXPECT_LT(text.find("eroom_host_up{"), text.find("eroom_host_cpu_percent{"));
  // Every family is announced once, with or without samples.
  for (const MetricFamily& family : ExportedMetricFamilies()) {
    const std::string type_line = absl::StrCat("# TYPE ", family.name, " ");
    const size_t first = text.find(type_line);
    EXPECT_NE(first, std::string::npos) << family.name;
    EXPECT_EQ(text.find(type_line, first + 1), std::string::npos)
        << family.name;
  }
  EXPECT_THAT(text, HasSubstr("# TYPE eroom_rooms_completed_total counter\n"));
  EXPECT_THAT(text,
              HasSubstr("# TYPE eroom_room_processing_seconds histogram\n"));
}

TEST(HistogramTest, BucketsAreCumulativeEndingWithInfSumAndCount) {
  MetricHistogram histogram({1, 5, 10});
  for (double value : {0.5, 1.0, 4.0, 7.0, 30.0}) histogram.Observe(value);
  ExpositionWriter writer;
  writer.AddHistogram(metric::kRoomProcessing, {{"agent_id", "web-1"}},
                      histogram);
  const std::string text = writer.Finish();
  EXPECT_THAT(
      text,
      HasSubstr(
          "eroom_room_processing_seconds_bucket{agent_id=\"web-1\",le=\"1\"} "
          "2\n"
          "eroom_room_processing_seconds_bucket{agent_id=\"web-1\",le=\"5\"} "
          "3\n"
          "eroom_room_processing_seconds_bucket{agent_id=\"web-1\",le=\"10\"} "
          "4\n"
          "eroom_room_processing_seconds_bucket{agent_id=\"web-1\",le=\"+"
          "Inf\"} 5\n"
          "eroom_room_processing_seconds_sum{agent_id=\"web-1\"} 42.5\n"
          "eroom_room_processing_seconds_count{agent_id=\"web-1\"} 5\n"));
}

TEST(HistogramTest, EmptyHistogramHasZeroBuckets) {
  ExpositionWriter writer;
  writer.AddHistogram(metric::kRoomQueueWait, {}, MetricHistogram({1}));
  const std::string text = writer.Finish();
  EXPECT_THAT(text, HasSubstr("eroom_room_queue_wait_seconds_bucket{le=\"1\"} "
                              "0\neroom_room_queue_wait_seconds_bucket{le=\"+"
                              "Inf\"} 0\neroom_room_queue_wait_seconds_sum 0\n"
                              "eroom_room_queue_wait_seconds_count 0\n"));
}

TEST(ExportedMetricFamiliesTest, NamesAreUniqueAndFollowTheConventions) {
  std::set<std::string> names;
  for (const MetricFamily& family : ExportedMetricFamilies()) {
    const std::string name(family.name);
    EXPECT_TRUE(names.insert(name).second) << name << " listed twice";
    EXPECT_TRUE(RE2::FullMatch(name, "eroom_[a-z0-9_]+")) << name;
    EXPECT_FALSE(family.help.empty()) << name;
    EXPECT_THAT(family.help, Not(HasSubstr("\n"))) << name;
    EXPECT_EQ(family.type == MetricType::kCounter,
              absl::EndsWith(name, "_total"))
        << name << ": counters, and only they, end in _total";
  }
  EXPECT_THAT(SeriesNames(metric::kRoomProcessing),
              testing::ElementsAre("eroom_room_processing_seconds_bucket",
                                   "eroom_room_processing_seconds_sum",
                                   "eroom_room_processing_seconds_count"));
  EXPECT_THAT(SeriesNames(metric::kHostUp),
              testing::ElementsAre("eroom_host_up"));
}

}  // namespace
}  // namespace eroom::collector
