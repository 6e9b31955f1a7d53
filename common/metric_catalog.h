#ifndef EROOM_COMMON_METRIC_CATALOG_H_
#define EROOM_COMMON_METRIC_CATALOG_H_

#include <map>
#include <string>
#include <vector>

#include "eroom/monitor/v1/monitor.pb.h"

namespace eroom {

// One numeric value derived from an observation, under a stable name that
// operators query (`eroomctl metrics NAME`) and thresholds refer to.
struct MetricValue {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// The single mapping from observations to metric names.
std::vector<MetricValue> MetricsFromSample(
    const eroom::monitor::v1::ResourceSample& sample);
std::vector<MetricValue> MetricsFromProbe(
    const eroom::monitor::v1::ProbeResult& probe);

// Every name the two functions above can produce, sorted.
const std::vector<std::string>& KnownMetricNames();

}  // namespace eroom

#endif  // EROOM_COMMON_METRIC_CATALOG_H_
