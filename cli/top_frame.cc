#include "cli/top_frame.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "cli/renderers.h"
#include "cli/table.h"
#include "cli/text_format.h"

namespace eroom::cli {
namespace v1 = ::eroom::monitor::v1;
namespace {

constexpr int kIndent = 2;
constexpr char kSeparator[] = "  ";
// A sparkline narrower than this shows no trend: the values alone say more.
constexpr int kMinSparkline = 6;
constexpr int kMaxSparkline = 30;

// `segments`, most important first, on one line of at most `width`
// columns: the segments from the first that does not fit on are left out
// whole, except the first segment, which is cut instead.
std::string FitSegments(const std::vector<std::string>& segments, int indent,
                        int width) {
  std::string line(static_cast<size_t>(std::min(indent, width)), ' ');
  int used = static_cast<int>(line.size());
  bool first = true;
  for (const std::string& raw : segments) {
    const std::string segment = Printable(raw);
    const int separator = first ? 0 : DisplayWidth(kSeparator);
    const int columns = DisplayWidth(segment);
    if (used + separator + columns <= width) {
      if (!first) line += kSeparator;
      line += segment;
      used += separator + columns;
    } else {
      if (first) line += CutToWidth(segment, width - used);
      break;
    }
    first = false;
  }
  return line;
}

std::string Percent(double part, double whole) {
  return whole > 0 ? FormatPercent(100.0 * part / whole) : "-";
}

std::vector<std::string> ProcessSegments(const v1::HostStatus& host) {
  if (!host.has_latest_sample()) return {"ERoom: no sample yet"};
  const v1::ProcessState& eroom = host.latest_sample().eroom();
  const std::string port =
      eroom.port_listening() ? "port listening" : "port NOT listening";
  if (!eroom.up()) return {"ERoom DOWN", port};
  return {absl::StrCat("ERoom up pid ", eroom.pid()),
          absl::StrCat("RSS ", FormatBytes(eroom.rss_bytes())),
          absl::StrCat("CPU ", FormatPercent(eroom.cpu_percent())), port};
}

std::string QueueSegment(const v1::HostStatus& host) {
  if (!host.has_latest_queue()) return "queue -";
  const v1::QueueStatus* queue = LatestQueue(host);
  if (!host.latest_queue().ok() || queue == nullptr) {
    return absl::StrCat("queue probe failed: ",
                        ProbeFailure(host.latest_queue()));
  }
  return absl::StrCat("queue ", queue->queued(), " queued, ", queue->active(),
                      " active, ", queue->completed(), " completed",
                      IsBacklog(*queue) ? " BACKLOG" : "");
}

// "cpu 12.5% ▂▃▅▇", and the same for memory and each disk, with
// sparklines as wide as the line allows (or none when it is too narrow).
std::vector<std::string> TrendSegments(const v1::HostStatus& host,
                                       const HostTrends* trends, int width) {
  if (!host.has_latest_sample()) return {};
  const v1::ResourceSample& sample = host.latest_sample();
  static const std::vector<double> kNoValues;
  std::vector<std::pair<std::string, const std::vector<double>*>> trend = {
      {absl::StrCat("cpu ", FormatPercent(sample.cpu_percent())),
       trends == nullptr ? &kNoValues : &trends->cpu_percent},
      {absl::StrCat("mem ",
                    Percent(static_cast<double>(sample.memory_used_bytes()),
                            static_cast<double>(sample.memory_total_bytes()))),
       trends == nullptr ? &kNoValues : &trends->memory_used_bytes}};
  for (const v1::DiskUsage& disk : sample.disks()) {
    const std::vector<double>* values = &kNoValues;
    if (trends != nullptr) {
      if (auto it = trends->disk_used_percent.find(disk.mount());
          it != trends->disk_used_percent.end()) {
        values = &it->second;
      }
    }
    trend.emplace_back(
        absl::StrCat("disk ", Printable(disk.mount()), " ",
                     Percent(static_cast<double>(disk.used_bytes()),
                             static_cast<double>(disk.total_bytes()))),
        values);
  }
  const int count = static_cast<int>(trend.size());
  int text_columns = kIndent + DisplayWidth(kSeparator) * (count - 1);
  for (const auto& [text, values] : trend) {
    text_columns += DisplayWidth(text) + 1;  // And the space before a line.
  }
  const int sparkline =
      std::min(kMaxSparkline, std::max(0, width - text_columns) / count);
  std::vector<std::string> segments;
  for (const auto& [text, values] : trend) {
    if (sparkline < kMinSparkline || values->empty()) {
      segments.push_back(text);
    } else {
      segments.push_back(absl::StrCat(
          text, " ", Sparkline(*values, static_cast<size_t>(sparkline))));
    }
  }
  return segments;
}

void AddHostBlock(const v1::HostStatus& host, const HostTrends* trends,
                  const RenderContext& context, int width,
                  std::vector<std::string>& lines) {
  std::vector<std::string> first = {HostLabel(host),
                                    ConnectionState(host, context)};
  for (std::string& segment : ProcessSegments(host)) {
    first.push_back(std::move(segment));
  }
  lines.push_back(FitSegments(first, 0, width));
  lines.push_back(FitSegments(
      {absl::StrCat("health ", HealthSummary(host)), QueueSegment(host),
       absl::StrCat("alerts ", host.firing_alerts().empty()
                                   ? "none"
                                   : FiringAlertsSummary(host))},
      kIndent, width));
  const std::vector<std::string> trend = TrendSegments(host, trends, width);
  if (!trend.empty()) lines.push_back(FitSegments(trend, kIndent, width));
}

// The name errors and alerts are shown with: the hostname when the host
// is known, else the agent id.
std::string ShortHostName(const std::string& agent_id,
                          const std::vector<v1::HostStatus>& hosts) {
  for (const v1::HostStatus& host : hosts) {
    if (host.agent_id() == agent_id && !host.hostname().empty()) {
      return host.hostname();
    }
  }
  return agent_id;
}

void AddAlerts(const TopSnapshot& snapshot, const RenderContext& context,
               int width, std::vector<std::string>& lines) {
  std::vector<std::string> alerts;
  for (const v1::HostStatus& host : snapshot.hosts) {
    for (const v1::AlertRecord& alert : host.firing_alerts()) {
      alerts.push_back(FitSegments(
          {absl::StrCat(ShortHostName(host.agent_id(), snapshot.hosts), "  ",
                        FiringAlertText(alert, context))},
          kIndent, width));
    }
  }
  if (alerts.empty()) {
    lines.push_back(FitSegments({"Firing alerts: none"}, 0, width));
    return;
  }
  lines.push_back(FitSegments(
      {absl::StrCat("Firing alerts (", alerts.size(), ")")}, 0, width));
  lines.insert(lines.end(), alerts.begin(), alerts.end());
}

void AddRecentErrors(const TopSnapshot& snapshot, absl::TimeZone zone,
                     int width, std::vector<std::string>& lines) {
  if (snapshot.recent_errors.empty()) {
    lines.push_back(FitSegments({"Last errors: none"}, 0, width));
    return;
  }
  lines.push_back(FitSegments({"Last errors"}, 0, width));
  for (const v1::StoredLogEvent& stored : snapshot.recent_errors) {
    const v1::LogEvent& event = stored.event();
    std::string line = absl::StrCat(
        absl::FormatTime("%m-%d %H:%M:%S",
                         absl::FromUnixMillis(event.time_unix_ms()), zone),
        "  ", ShortHostName(stored.agent_id(), snapshot.hosts), "  ");
    if (!event.event_type().empty()) {
      absl::StrAppend(&line, event.event_type(), "  ");
    }
    absl::StrAppend(&line, EventMessage(event));
    lines.push_back(FitSegments({line}, kIndent, width));
  }
}

std::string Title(const TopView& view, const TopFrameOptions& options) {
  std::vector<std::string> segments = {
      absl::StrCat("eroomctl top  ", options.collector),
      absl::FormatTime("%Y-%m-%d %H:%M:%S", options.now, options.zone),
      absl::StrCat("every ", absl::FormatDuration(options.interval))};
  if (view.snapshot.has_value()) {
    const auto& hosts = view.snapshot->hosts;
    const auto down =
        std::count_if(hosts.begin(), hosts.end(),
                      [](const v1::HostStatus& host) { return host.down(); });
    segments.push_back(
        absl::StrCat(hosts.size(), hosts.size() == 1 ? " host" : " hosts",
                     down > 0 ? absl::StrCat(", ", down, " down") : ""));
  }
  if (options.interactive) segments.push_back("q quits");
  return FitSegments(segments, 0, options.width);
}

// Says that what is shown is old, why, and that it keeps trying.
std::string StaleLine(const TopView& view, const TopFrameOptions& options) {
  const std::string shown =
      view.snapshot.has_value()
          ? absl::StrCat("showing data from ",
                         absl::FormatTime("%H:%M:%S", view.snapshot->fetched,
                                          options.zone))
          : std::string("no data yet");
  return FitSegments(
      {absl::StrCat("STALE: no answer for ",
                    FormatAge(options.now - view.failing_since),
                    ", retrying every ", absl::FormatDuration(options.interval),
                    "; ", shown, ": ", view.last_refresh.message())},
      0, options.width);
}

}  // namespace

std::vector<std::string> RenderTopFrame(const TopView& view,
                                        const TopFrameOptions& options) {
  const int width = std::max(options.width, 1);
  std::vector<std::string> lines = {Title(view, options)};
  if (!view.last_refresh.ok()) lines.push_back(StaleLine(view, options));
  if (view.snapshot.has_value()) {
    const TopSnapshot& snapshot = *view.snapshot;
    const RenderContext context{options.now, options.zone};
    lines.emplace_back();
    for (const std::string& name : snapshot.unmatched_hosts) {
      lines.push_back(FitSegments(
          {absl::StrCat("no host named '", name, "' has reported")}, 0, width));
    }
    if (snapshot.hosts.empty() && snapshot.unmatched_hosts.empty()) {
      lines.push_back(FitSegments(
          {"No hosts have reported to the collector yet."}, 0, width));
    }
    for (const v1::HostStatus& host : snapshot.hosts) {
      const auto trends = snapshot.trends.find(host.agent_id());
      AddHostBlock(host,
                   trends == snapshot.trends.end() ? nullptr : &trends->second,
                   context, width, lines);
    }
    lines.emplace_back();
    AddAlerts(snapshot, context, width, lines);
    lines.emplace_back();
    AddRecentErrors(snapshot, options.zone, width, lines);
  }
  if (options.height > 0 && static_cast<int>(lines.size()) > options.height) {
    const size_t hidden =
        lines.size() - static_cast<size_t>(options.height) + 1;
    lines.resize(static_cast<size_t>(options.height) - 1);
    lines.push_back(
        FitSegments({absl::StrCat("... ", hidden,
                                  " more lines: a taller terminal shows them")},
                    0, width));
  }
  return lines;
}

}  // namespace eroom::cli
