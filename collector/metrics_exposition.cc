#include "collector/metrics_exposition.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace eroom::collector {

const std::vector<MetricFamily>& ExportedMetricFamilies() {
  using namespace metric;  // NOLINT: the whole catalog is listed here.
  static const std::vector<MetricFamily>* families =
      new std::vector<MetricFamily>{
          kHostUp,
          kHostConnected,
          kHostLastSeen,
          kHostCpu,
          kHostLoad1,
          kHostMemoryUsed,
          kHostMemoryTotal,
          kDiskUsed,
          kDiskTotal,
          kSampleTime,
          kProcessUp,
          kProcessRss,
          kProcessCpu,
          kProcessPortListening,
          kProbeUp,
          kProbeLatency,
          kProbeHttpStatus,
          kQueueQueued,
          kQueueActive,
          kQueueCompleted,
          kQueueMaxConcurrent,
          kAgentSpoolEvents,
          kAgentDropped,
          kRoomsCompleted,
          kRoomsFailed,
          kRoomProcessing,
          kRoomQueueWait,
          kAlertsFiring,
          kStoredBatches,
          kStoredEvents,
          kIngestQueue,
          kIngestWaiting,
          kQueryQueue,
          kAlertQueue,
          kAlertDropped,
          kSearchIndexLag,
          kDatabaseSize,
          kConnectedAgents,
          kKnownHosts,
          kScrapesRefused,
      };
  return *families;
}

std::vector<std::string> SeriesNames(const MetricFamily& family) {
  const std::string name(family.name);
  if (family.type != MetricType::kHistogram) return {name};
  return {absl::StrCat(name, "_bucket"), absl::StrCat(name, "_sum"),
          absl::StrCat(name, "_count")};
}

MetricHistogram::MetricHistogram(std::vector<double> upper_bounds)
    : upper_bounds_(std::move(upper_bounds)),
      counts_(upper_bounds_.size() + 1, 0) {
  std::sort(upper_bounds_.begin(), upper_bounds_.end());
}

void MetricHistogram::Observe(double value) {
  const size_t bucket =
      std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(), value) -
      upper_bounds_.begin();
  ++counts_[bucket];
  sum_ += value;
  ++count_;
}

std::string EscapeLabelValue(absl::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string SanitizeLabelName(absl::string_view name) {
  std::string out(name);
  for (size_t i = 0; i < out.size(); ++i) {
    const char c = out[i];
    const bool valid =
        absl::ascii_isalpha(static_cast<unsigned char>(c)) || c == '_' ||
        (i > 0 && absl::ascii_isdigit(static_cast<unsigned char>(c)));
    if (!valid) out[i] = '_';
  }
  if (out.empty()) return "_";
  // Names starting with "__" are Prometheus's own.
  if (out.size() >= 2 && out[0] == '_' && out[1] == '_') out[0] = 'x';
  return out;
}

std::string FormatSampleValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buffer[32];
  const std::to_chars_result result =
      std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, result.ptr);
}

void ExpositionWriter::Line(const MetricFamily& family,
                            absl::string_view suffix,
                            const MetricLabels& labels, double value) {
  std::string& out = lines_[family.name];
  absl::StrAppend(&out, family.name, suffix);
  if (!labels.empty()) {
    out += '{';
    for (size_t i = 0; i < labels.size(); ++i) {
      absl::StrAppend(&out, i == 0 ? "" : ",", labels[i].first, "=\"",
                      EscapeLabelValue(labels[i].second), "\"");
    }
    out += '}';
  }
  absl::StrAppend(&out, " ", FormatSampleValue(value), "\n");
}

void ExpositionWriter::Add(const MetricFamily& family,
                           const MetricLabels& labels, double value) {
  Line(family, "", labels, value);
}

void ExpositionWriter::AddHistogram(const MetricFamily& family,
                                    const MetricLabels& labels,
                                    const MetricHistogram& histogram) {
  uint64_t cumulative = 0;
  MetricLabels bucket_labels = labels;
  bucket_labels.emplace_back("le", "");
  for (size_t i = 0; i <= histogram.upper_bounds().size(); ++i) {
    cumulative += histogram.bucket_counts()[i];
    bucket_labels.back().second =
        i < histogram.upper_bounds().size()
            ? FormatSampleValue(histogram.upper_bounds()[i])
            : "+Inf";
    Line(family, "_bucket", bucket_labels, static_cast<double>(cumulative));
  }
  Line(family, "_sum", labels, histogram.sum());
  Line(family, "_count", labels, static_cast<double>(histogram.count()));
}

std::string ExpositionWriter::Finish() const {
  std::string out;
  for (const MetricFamily& family : ExportedMetricFamilies()) {
    const char* type = family.type == MetricType::kGauge     ? "gauge"
                       : family.type == MetricType::kCounter ? "counter"
                                                             : "histogram";
    absl::StrAppend(&out, "# HELP ", family.name, " ", family.help, "\n",
                    "# TYPE ", family.name, " ", type, "\n");
    if (auto it = lines_.find(family.name); it != lines_.end()) {
      out += it->second;
    }
  }
  return out;
}

}  // namespace eroom::collector
