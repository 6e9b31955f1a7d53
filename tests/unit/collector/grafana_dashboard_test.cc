// deploy/grafana/eroom-dashboard.json queries only what /metrics exports
// (collector/metrics_exposition.h's catalog, which the exporter writes
// with), and covers what operators look at.
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "collector/metrics_exposition.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "re2/re2.h"

namespace eroom::collector {
namespace {

using json = nlohmann::json;

json LoadDashboard() {
  std::ifstream in(
      absl::StrCat(EROOM_SOURCE_DIR, "/deploy/grafana/eroom-dashboard.json"));
  std::stringstream text;
  text << in.rdbuf();
  return json::parse(text.str());
}

// Every PromQL text of the dashboard: panel targets' "expr" and the
// template variables' queries.
void CollectQueries(const json& node, std::vector<std::string>& out) {
  if (node.is_object()) {
    for (const auto& [key, value] : node.items()) {
      if ((key == "expr" || key == "definition") && value.is_string()) {
        out.push_back(value.get<std::string>());
      } else {
        CollectQueries(value, out);
      }
    }
  } else if (node.is_array()) {
    for (const json& item : node) CollectQueries(item, out);
  }
}

std::set<std::string> ExportedSeriesNames() {
  std::set<std::string> names;
  for (const MetricFamily& family : ExportedMetricFamilies()) {
    for (std::string& name : SeriesNames(family)) names.insert(name);
  }
  return names;
}

std::set<std::string> NamesIn(const std::string& query) {
  std::set<std::string> names;
  re2::StringPiece input(query);
  std::string name;
  while (RE2::FindAndConsume(&input, R"(\b(eroom_[a-zA-Z0-9_:]+))", &name)) {
    names.insert(name);
  }
  return names;
}

TEST(GrafanaDashboardTest, EveryExpressionNamesOnlyExportedMetrics) {
  std::vector<std::string> queries;
  CollectQueries(LoadDashboard(), queries);
  ASSERT_GT(queries.size(), 20u);
  const std::set<std::string> exported = ExportedSeriesNames();
  for (const std::string& query : queries) {
    const std::set<std::string> names = NamesIn(query);
    EXPECT_FALSE(names.empty()) << query << " names no eroom_ metric";
    for (const std::string& name : names) {
      EXPECT_TRUE(exported.contains(name))
          << query << ": " << name << " is not exported by /metrics";
    }
  }
}

TEST(GrafanaDashboardTest, ShowsWhatOperatorsWatch) {
  std::vector<std::string> queries;
  CollectQueries(LoadDashboard(), queries);
  std::set<std::string> used;
  for (const std::string& query : queries) used.merge(NamesIn(query));
  for (const MetricFamily& family :
       {metric::kHostUp, metric::kProcessUp, metric::kHostCpu,
        metric::kHostMemoryUsed, metric::kDiskUsed, metric::kProbeLatency,
        metric::kQueueQueued, metric::kRoomsCompleted, metric::kRoomsFailed,
        metric::kAlertsFiring, metric::kStoredEvents, metric::kIngestQueue,
        metric::kIngestWaiting, metric::kSearchIndexLag, metric::kDatabaseSize,
        metric::kConnectedAgents}) {
    EXPECT_TRUE(used.contains(std::string(family.name))) << family.name;
  }
  // Processing-time and queue-wait quantiles come from the histograms.
  bool processing_quantile = false;
  bool queue_wait_quantile = false;
  for (const std::string& query : queries) {
    processing_quantile |= RE2::PartialMatch(
        query,
        R"(histogram_quantile\(0\.95, .*eroom_room_processing_seconds_bucket)");
    queue_wait_quantile |= RE2::PartialMatch(
        query,
        R"(histogram_quantile\(0\.95, .*eroom_room_queue_wait_seconds_bucket)");
  }
  EXPECT_TRUE(processing_quantile);
  EXPECT_TRUE(queue_wait_quantile);
}

TEST(GrafanaDashboardTest, NamesOutsideTheCatalogAreCaught) {
  // The check above would flag a renamed or misspelt metric.
  EXPECT_FALSE(ExportedSeriesNames().contains("eroom_host_cpu"));
  EXPECT_TRUE(
      ExportedSeriesNames().contains("eroom_room_processing_seconds_bucket"));
  EXPECT_EQ(
      NamesIn("rate(eroom_rooms_failed_total{a=\"b\"}[5m]) / "
              "eroom_host_up"),
      (std::set<std::string>{"eroom_rooms_failed_total", "eroom_host_up"}));
}

}  // namespace
}  // namespace eroom::collector
