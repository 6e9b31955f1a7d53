#include "cli/renderers.h"

#include <algorithm>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "cli/table.h"
#include "cli/text_format.h"
#include "common/command_names.h"

namespace eroom::cli {
namespace v1 = ::eroom::monitor::v1;
namespace {

constexpr char kNone[] = "-";
// The columns of a series's sparkline: fits an 80-column terminal.
constexpr size_t kSparklineWidth = 60;

std::string Age(int64_t unix_ms, const RenderContext& context) {
  return FormatAge(context.now - absl::FromUnixMillis(unix_ms));
}

std::string Ago(int64_t unix_ms, const RenderContext& context) {
  return absl::StrCat(Age(unix_ms, context), " ago");
}

std::string SeverityText(v1::AlertSeverity severity) {
  switch (severity) {
    case v1::SEVERITY_INFO:
      return "info";
    case v1::SEVERITY_WARNING:
      return "warning";
    case v1::SEVERITY_CRITICAL:
      return "critical";
    default:
      return kNone;
  }
}

std::string AlertStateText(v1::AlertState state) {
  switch (state) {
    case v1::ALERT_PENDING:
      return "pending";
    case v1::ALERT_FIRING:
      return "firing";
    case v1::ALERT_RESOLVED:
      return "resolved";
    default:
      return kNone;
  }
}

std::string AlertValue(double value) { return absl::StrFormat("%g", value); }

// How long it has been in its state: firing since, else pending since.
std::string AlertAge(const v1::AlertRecord& alert,
                     const RenderContext& context) {
  const int64_t since = alert.state() == v1::ALERT_FIRING
                            ? alert.firing_since_unix_ms()
                            : alert.pending_since_unix_ms();
  return since == 0 ? kNone : Age(since, context);
}

// "firing", or "firing, acked by alice" once acknowledged.
std::string AlertStateWithAck(const v1::AlertRecord& alert) {
  std::string state = AlertStateText(alert.state());
  if (!alert.acknowledged_by().empty()) {
    absl::StrAppend(&state, ", acked by ", alert.acknowledged_by());
  }
  return state;
}

}  // namespace

std::string FiringAlertsSummary(const v1::HostStatus& host) {
  if (host.firing_alerts().empty()) return kNone;
  return absl::StrCat(host.firing_alerts_size(), " ",
                      SeverityText(host.firing_alerts(0).severity()));
}

std::string ConnectionState(const v1::HostStatus& host,
                            const RenderContext& context) {
  if (host.connected() && !host.down()) return "connected";
  if (host.connected()) {
    return absl::StrCat("silent ", Age(host.last_seen_unix_ms(), context));
  }
  if (host.last_seen_unix_ms() == 0) return "down";
  return absl::StrCat("down ", Age(host.last_seen_unix_ms(), context));
}

namespace {

std::string ProcessSummary(const v1::HostStatus& host) {
  if (!host.has_latest_sample()) return kNone;
  const v1::ProcessState& eroom = host.latest_sample().eroom();
  if (!eroom.up()) return "down";
  return absl::StrCat("up (pid ", eroom.pid(), ")");
}

std::string MemorySummary(const v1::ResourceSample& sample) {
  return absl::StrCat(FormatBytes(sample.memory_used_bytes()), " / ",
                      FormatBytes(sample.memory_total_bytes()));
}

std::string DiskPercent(const v1::DiskUsage& disk) {
  if (disk.total_bytes() == 0) return kNone;
  return FormatPercent(100.0 * static_cast<double>(disk.used_bytes()) /
                       static_cast<double>(disk.total_bytes()));
}

std::string DisksSummary(const v1::HostStatus& host) {
  if (!host.has_latest_sample() || host.latest_sample().disks().empty()) {
    return kNone;
  }
  std::vector<std::string> parts;
  for (const v1::DiskUsage& disk : host.latest_sample().disks()) {
    parts.push_back(absl::StrCat(disk.mount(), " ", DiskPercent(disk)));
  }
  return absl::StrJoin(parts, ", ");
}

}  // namespace

std::string HealthSummary(const v1::HostStatus& host) {
  if (!host.has_latest_health()) return kNone;
  const v1::ProbeResult& health = host.latest_health();
  const std::string latency = FormatLatency(health.latency_ms());
  if (!health.ok()) {
    return absl::StrCat("error: ", ProbeFailure(health), " (", latency, ")");
  }
  return absl::StrCat(
      health.health_status().empty() ? "ok" : health.health_status(), " ",
      latency);
}

const v1::QueueStatus* LatestQueue(const v1::HostStatus& host) {
  if (!host.has_latest_queue() || !host.latest_queue().has_queue()) {
    return nullptr;
  }
  return &host.latest_queue().queue();
}

bool IsBacklog(const v1::QueueStatus& queue) {
  return queue.queued() > kQueueBacklogThreshold;
}

namespace {

std::string LevelName(v1::LogLevel level) {
  return level == v1::LOG_LEVEL_UNSPECIFIED ? kNone : v1::LogLevel_Name(level);
}

// A message's lines, without line ends; a trailing newline starts none.
std::vector<std::string> MessageLines(absl::string_view message) {
  std::vector<std::string> lines =
      absl::StrSplit(absl::StripSuffix(message, "\n"), '\n');
  for (std::string& line : lines) {
    if (absl::EndsWith(line, "\r")) line.pop_back();
  }
  return lines;
}

// What a log event's row shows of its message, `lines`: the first line,
// with how many more there are when `brief`.
std::string RowMessage(const v1::LogEvent& event,
                       const std::vector<std::string>& lines, bool brief) {
  std::string message = lines.front();
  if (brief && lines.size() > 1) {
    absl::StrAppend(&message, " \u2026 ", lines.size() - 1,
                    lines.size() == 2 ? " more line" : " more lines");
  }
  if (event.truncated()) absl::StrAppend(&message, " [truncated]");
  return message;
}

// An event's lines after its first, indented below it.
void RenderMoreLines(const std::vector<std::string>& lines, std::ostream& out) {
  for (const std::string& line : lines) {
    out << "    " << Printable(absl::StrReplaceAll(line, {{"\t", "    "}}))
        << '\n';
  }
}

// Where, in the oldest-first events of a response with `context` events
// around each match, a "--" goes: before an event of another host or file
// than the one above it, and between two matches of one file with twice
// `context` events between them (the collector joins runs that share an
// event, so these are two runs), after the first match's.
std::vector<bool> RunStarts(
    const std::vector<const v1::StoredLogEvent*>& events, int context) {
  std::vector<bool> starts(events.size(), false);
  std::optional<size_t> last_match;
  for (size_t i = 0; i < events.size(); ++i) {
    if (i > 0 && (events[i]->agent_id() != events[i - 1]->agent_id() ||
                  events[i]->event().file() != events[i - 1]->event().file())) {
      starts[i] = true;
      last_match.reset();
    }
    if (events[i]->context()) continue;
    if (last_match.has_value() &&
        i - *last_match - 1 == 2 * static_cast<size_t>(context)) {
      starts[*last_match + 1 + context] = true;
    }
    last_match = i;
  }
  return starts;
}

}  // namespace

std::string EventMessage(const v1::LogEvent& event) {
  std::string message = FirstLineSummary(event.message());
  if (event.truncated()) absl::StrAppend(&message, " [truncated]");
  return message;
}

namespace {

std::string OrNone(const std::string& text) {
  return text.empty() ? kNone : text;
}

std::string MetricValueText(const std::string& name, double value) {
  if (absl::EndsWith(name, "_bytes")) {
    return FormatBytes(static_cast<uint64_t>(std::max(value, 0.0)));
  }
  if (absl::EndsWith(name, "_percent")) return FormatPercent(value);
  if (absl::EndsWith(name, "_ms")) return FormatLatency(value);
  return absl::StrFormat("%g", value);
}

// "key=value" of each label, sorted: the map's order is unspecified.
std::vector<std::string> SortedLabels(const v1::MetricSeries& series) {
  std::vector<std::string> labels;
  for (const auto& [key, value] : series.labels()) {
    labels.push_back(absl::StrCat(key, "=", value));
  }
  std::sort(labels.begin(), labels.end());
  return labels;
}

void RenderSeries(const v1::MetricSeries& series, const RenderContext& context,
                  std::ostream& out) {
  std::vector<std::string> heading = {series.name(), series.agent_id()};
  const std::vector<std::string> labels = SortedLabels(series);
  heading.insert(heading.end(), labels.begin(), labels.end());
  out << Printable(absl::StrJoin(heading, "  ")) << '\n';
  if (series.points().empty()) {
    out << "(no points)\n";
    return;
  }
  const auto value = [&](double v) {
    return MetricValueText(series.name(), v);
  };
  // Points of a stepped query carry their step's samples.
  const bool stepped = series.points(0).count() > 0;
  Table table = stepped ? Table({"STEP", "AVG", "MIN", "MAX", "SAMPLES"})
                        : Table({"TIME", "VALUE"});
  for (size_t column = 1; column <= (stepped ? 4u : 1u); ++column) {
    table.SetAlign(column, Table::Align::kRight);
  }
  double min = stepped ? series.points(0).min() : series.points(0).value();
  double max = stepped ? series.points(0).max() : min;
  double sum = 0;
  int64_t samples = 0;
  std::vector<double> values;
  for (const v1::MetricPoint& point : series.points()) {
    const std::string time =
        FormatLocalTime(point.time_unix_ms(), context.zone);
    if (stepped) {
      table.AddRow({time, value(point.value()), value(point.min()),
                    value(point.max()), absl::StrCat(point.count())});
      min = std::min(min, point.min());
      max = std::max(max, point.max());
      sum += point.value() * static_cast<double>(point.count());
      samples += point.count();
    } else {
      table.AddRow({time, value(point.value())});
      min = std::min(min, point.value());
      max = std::max(max, point.value());
      sum += point.value();
      ++samples;
    }
    values.push_back(point.value());
  }
  table.Render(out);
  out << Sparkline(values, kSparklineWidth) << '\n';
  out << "min " << value(min) << "  avg "
      << value(sum / static_cast<double>(samples)) << "  max " << value(max)
      << "  last " << value(series.points().rbegin()->value()) << "  ("
      << series.points().size() << (stepped ? " steps, " : " points")
      << (stepped ? absl::StrCat(samples, " samples") : "") << ")\n";
}

void RenderStatusLine(std::ostream& out, const char* label,
                      const std::string& text) {
  out << absl::StrFormat("%-8s", label) << Printable(text) << '\n';
}

std::string StatusHealth(const v1::HostStatus& host,
                         const RenderContext& context) {
  if (!host.has_latest_health()) return "no probe yet";
  return absl::StrCat(HealthSummary(host), " (",
                      Ago(host.latest_health().time_unix_ms(), context), ")");
}

std::string StatusProcess(const v1::HostStatus& host) {
  if (!host.has_latest_sample()) return "no sample yet";
  const v1::ProcessState& eroom = host.latest_sample().eroom();
  if (!eroom.up()) {
    return absl::StrCat("DOWN, port ",
                        eroom.port_listening() ? "listening" : "not listening");
  }
  return absl::StrCat("up, pid ", eroom.pid(), ", RSS ",
                      FormatBytes(eroom.rss_bytes()), ", CPU ",
                      FormatPercent(eroom.cpu_percent()), ", port ",
                      eroom.port_listening() ? "listening" : "NOT listening");
}

std::string StatusHostResources(const v1::HostStatus& host) {
  if (!host.has_latest_sample()) return "no sample yet";
  const v1::ResourceSample& sample = host.latest_sample();
  std::string memory = MemorySummary(sample);
  if (sample.memory_total_bytes() > 0) {
    absl::StrAppend(&memory, " (",
                    FormatPercent(100.0 * sample.memory_used_bytes() /
                                  sample.memory_total_bytes()),
                    ")");
  }
  return absl::StrCat("CPU ", FormatPercent(sample.cpu_percent()), ", memory ",
                      memory, ", load ",
                      absl::StrFormat("%.2f", sample.load_average_1m()));
}

std::string StatusDisks(const v1::HostStatus& host) {
  if (!host.has_latest_sample() || host.latest_sample().disks().empty()) {
    return kNone;
  }
  std::vector<std::string> parts;
  for (const v1::DiskUsage& disk : host.latest_sample().disks()) {
    parts.push_back(absl::StrCat(disk.mount(), " ", DiskPercent(disk), " of ",
                                 FormatBytes(disk.total_bytes())));
  }
  return absl::StrJoin(parts, ", ");
}

// "Alerts  critical health_down for 5m: summary (#12)", one line each.
void RenderFiringAlerts(const v1::HostStatus& host,
                        const RenderContext& context, std::ostream& out) {
  if (host.firing_alerts().empty()) {
    RenderStatusLine(out, "Alerts", "none firing");
    return;
  }
  const char* label = "Alerts";
  for (const v1::AlertRecord& alert : host.firing_alerts()) {
    RenderStatusLine(out, label, FiringAlertText(alert, context));
    label = "";
  }
}

std::string StatusQueue(const v1::HostStatus& host,
                        const RenderContext& context) {
  if (!host.has_latest_queue()) return "no probe yet";
  const v1::ProbeResult& probe = host.latest_queue();
  const std::string age = Ago(probe.time_unix_ms(), context);
  const v1::QueueStatus* queue = LatestQueue(host);
  if (!probe.ok() || queue == nullptr) {
    return absl::StrCat("probe failed: ", ProbeFailure(probe), " (", age, ")");
  }
  std::string text =
      absl::StrCat(queue->queued(), " queued, ", queue->active(), " active, ",
                   queue->completed(), " completed, max ",
                   queue->max_concurrent(), " (", age, ")");
  if (IsBacklog(*queue)) {
    absl::StrAppend(&text, "  BACKLOG (more than ", kQueueBacklogThreshold,
                    " queued)");
  }
  return text;
}

// The latest state; a command no agent has answered yet was only sent.
std::string CommandStateName(v1::CommandState state) {
  return state == v1::COMMAND_STATE_UNSPECIFIED ? "SENT"
                                                : v1::CommandState_Name(state);
}

}  // namespace

std::string FiringAlertText(const v1::AlertRecord& alert,
                            const RenderContext& context) {
  return absl::StrCat(SeverityText(alert.severity()), " ", alert.rule(),
                      " for ", AlertAge(alert, context), ": ",
                      FirstLineSummary(alert.summary()), " (#", alert.id(),
                      alert.acknowledged_by().empty() ? "" : ", acked", ")");
}

std::string StepSummary(const v1::CommandProgress& step) {
  std::string summary = FirstLineSummary(step.message());
  if (!step.step().empty())
    summary = absl::StrCat("[", step.step(), "] ", summary);
  return summary;
}

std::string ProbeFailure(const v1::ProbeResult& probe) {
  if (!probe.error().empty()) return probe.error();
  if (probe.http_status() != 0) {
    return absl::StrCat("HTTP ", probe.http_status());
  }
  return "failed";
}

std::string HostLabel(const v1::HostStatus& host) {
  if (host.hostname().empty() || host.hostname() == host.agent_id()) {
    return host.agent_id();
  }
  return absl::StrCat(host.hostname(), " (", host.agent_id(), ")");
}

void RenderHosts(const v1::ListHostsResponse& response,
                 const RenderContext& context, std::ostream& out) {
  if (response.hosts().empty()) {
    out << "No hosts have reported to the collector yet.\n";
    return;
  }
  Table table({"HOST", "STATE", "EROOM", "CPU", "MEMORY", "DISK", "HEALTH",
               "QUEUE(Q/A/C)", "ALERTS"});
  table.SetAlign(3, Table::Align::kRight);
  for (const v1::HostStatus& host : response.hosts()) {
    const bool sampled = host.has_latest_sample();
    const v1::QueueStatus* queue = LatestQueue(host);
    table.AddRow(
        {HostLabel(host), ConnectionState(host, context), ProcessSummary(host),
         sampled ? FormatPercent(host.latest_sample().cpu_percent()) : kNone,
         sampled ? MemorySummary(host.latest_sample()) : kNone,
         DisksSummary(host), HealthSummary(host),
         queue == nullptr ? kNone
                          : absl::StrCat(queue->queued(), "/", queue->active(),
                                         "/", queue->completed()),
         FiringAlertsSummary(host)});
  }
  table.Render(out);
}

void RenderStatus(const HostReport& report, const RenderContext& context,
                  std::ostream& out) {
  const v1::HostStatus& host = report.host;
  std::string state = ConnectionState(host, context);
  if (host.last_seen_unix_ms() != 0) {
    absl::StrAppend(&state, ", last seen ",
                    Ago(host.last_seen_unix_ms(), context));
  }
  if (!host.version().empty()) {
    absl::StrAppend(&state, ", agent ", host.version());
  }
  out << Printable(absl::StrCat("== ", HostLabel(host), " ==  ", state))
      << '\n';
  RenderStatusLine(out, "Health", StatusHealth(host, context));
  RenderStatusLine(out, "ERoom", StatusProcess(host));
  RenderStatusLine(out, "Host", StatusHostResources(host));
  RenderStatusLine(out, "Disk", StatusDisks(host));
  RenderStatusLine(out, "Queue", StatusQueue(host, context));
  RenderFiringAlerts(host, context, out);
  out << "Last errors:";
  if (report.recent_errors.events().empty()) {
    out << " none\n";
    return;
  }
  out << '\n';
  Table table({"TIME", "TYPE", "MESSAGE"});
  const auto& events = report.recent_errors.events();
  for (auto it = events.rbegin(); it != events.rend(); ++it) {
    table.AddRow({FormatLocalTime(it->event().time_unix_ms(), context.zone),
                  OrNone(it->event().event_type()), EventMessage(it->event())});
  }
  table.Render(out);
}

void RenderLogs(const v1::QueryLogsResponse& response,
                const RenderContext& context, const LogRenderOptions& options,
                std::ostream& out) {
  if (response.events().empty()) {
    out << "No log events match.\n";
    return;
  }
  // The collector sends newest first; people read top to bottom.
  std::vector<const v1::StoredLogEvent*> events;
  for (auto it = response.events().rbegin(); it != response.events().rend();
       ++it) {
    events.push_back(&*it);
  }
  if (options.context <= 0) {
    // Sorting (not just reversing) also interleaves several hosts correctly.
    std::stable_sort(
        events.begin(), events.end(),
        [](const v1::StoredLogEvent* a, const v1::StoredLogEvent* b) {
          return a->event().time_unix_ms() < b->event().time_unix_ms();
        });
  }
  const bool with_context = options.context > 0;
  const std::vector<bool> separated = with_context
                                          ? RunStarts(events, options.context)
                                          : std::vector<bool>(events.size());
  std::vector<std::string> headers = {"TIME", "HOST", "LEVEL", "TYPE",
                                      "MESSAGE"};
  if (with_context) headers.insert(headers.begin(), "");
  Table table(headers);
  std::vector<std::vector<std::string>> more_lines;
  for (const v1::StoredLogEvent* stored : events) {
    const v1::LogEvent& event = stored->event();
    std::vector<std::string> lines = MessageLines(event.message());
    std::vector<std::string> row = {
        FormatLocalTime(event.time_unix_ms(), context.zone), stored->agent_id(),
        LevelName(event.level()), OrNone(event.event_type()),
        RowMessage(event, lines, options.brief)};
    if (with_context) row.insert(row.begin(), stored->context() ? "-" : ">");
    table.AddRow(std::move(row));
    lines.erase(lines.begin());
    more_lines.push_back(options.brief ? std::vector<std::string>()
                                       : std::move(lines));
  }
  std::ostringstream rendered;
  table.Render(rendered);
  const std::vector<std::string> rows =
      absl::StrSplit(rendered.str(), '\n', absl::SkipEmpty());
  out << rows.front() << '\n';
  for (size_t i = 0; i < events.size(); ++i) {
    if (separated[i]) out << "--\n";
    out << rows[i + 1] << '\n';
    RenderMoreLines(more_lines[i], out);
  }
}

void RenderLogLine(const v1::StoredLogEvent& stored,
                   const RenderContext& context, bool brief,
                   std::ostream& out) {
  const v1::LogEvent& event = stored.event();
  std::vector<std::string> lines = MessageLines(event.message());
  out << absl::StrJoin({FormatLocalTime(event.time_unix_ms(), context.zone),
                        stored.agent_id(), LevelName(event.level()),
                        OrNone(event.event_type()),
                        Printable(RowMessage(event, lines, brief))},
                       "  ")
      << '\n';
  if (!brief) {
    lines.erase(lines.begin());
    RenderMoreLines(lines, out);
  }
}

void RenderMetrics(const std::string& name,
                   const v1::QueryMetricsResponse& response,
                   const RenderContext& context, std::ostream& out) {
  if (response.series().empty()) {
    out << "No points of " << name << " in the selected range.\n";
    return;
  }
  bool first = true;
  for (const v1::MetricSeries& series : response.series()) {
    if (!first) out << '\n';
    first = false;
    RenderSeries(series, context, out);
  }
}

void RenderMetricsCsv(const v1::QueryMetricsResponse& response,
                      std::ostream& out) {
  out << "agent_id,name,labels,time_unix_ms,value,count,min,max\r\n";
  for (const v1::MetricSeries& series : response.series()) {
    const std::string labels =
        CsvField(absl::StrJoin(SortedLabels(series), ";"));
    for (const v1::MetricPoint& point : series.points()) {
      out << CsvField(series.agent_id()) << ',' << CsvField(series.name())
          << ',' << labels << ',' << point.time_unix_ms() << ','
          << absl::StrFormat("%.10g", point.value());
      if (point.count() > 0) {
        out << ',' << point.count() << ','
            << absl::StrFormat("%.10g,%.10g", point.min(), point.max());
      } else {
        out << ",,,";
      }
      out << "\r\n";
    }
  }
}

void RenderQueue(const v1::ListHostsResponse& response,
                 const RenderContext& context, std::ostream& out) {
  if (response.hosts().empty()) {
    out << "No hosts have reported to the collector yet.\n";
    return;
  }
  Table table(
      {"HOST", "QUEUED", "ACTIVE", "COMPLETED", "MAX", "PROBE AGE", "STATE"});
  for (size_t column = 1; column <= 5; ++column) {
    table.SetAlign(column, Table::Align::kRight);
  }
  for (const v1::HostStatus& host : response.hosts()) {
    if (!host.has_latest_queue()) {
      table.AddRow(
          {HostLabel(host), kNone, kNone, kNone, kNone, kNone, "no probe yet"});
      continue;
    }
    const v1::ProbeResult& probe = host.latest_queue();
    const std::string age = Age(probe.time_unix_ms(), context);
    const v1::QueueStatus* queue = LatestQueue(host);
    if (!probe.ok() || queue == nullptr) {
      table.AddRow({HostLabel(host), kNone, kNone, kNone, kNone, age,
                    absl::StrCat("probe failed: ", ProbeFailure(probe))});
      continue;
    }
    table.AddRow({HostLabel(host), absl::StrCat(queue->queued()),
                  absl::StrCat(queue->active()),
                  absl::StrCat(queue->completed()),
                  absl::StrCat(queue->max_concurrent()), age,
                  IsBacklog(*queue) ? "BACKLOG" : "ok"});
  }
  table.Render(out);
}

namespace {

std::string ActionColumn(const v1::Command& command) {
  const std::string_view name = CommandActionName(command);
  return name.empty() ? kNone : std::string(name);
}

}  // namespace

std::string CommandSummary(const v1::CommandRecord& command) {
  std::string summary = absl::StrCat(
      "command ", command.command_id(), " (", ActionColumn(command.command()),
      " on ", command.agent_id(), ", requested by ", command.requested_by(),
      "): ", CommandStateName(command.state()));
  if (!command.progress().empty()) {
    absl::StrAppend(&summary, " ", StepSummary(*command.progress().rbegin()));
  }
  return summary;
}

void RenderCommandStep(const v1::CommandProgress& step,
                       int64_t requested_unix_ms, std::ostream& out) {
  const int64_t elapsed_ms =
      std::max<int64_t>(step.time_unix_ms() - requested_unix_ms, 0);
  std::string line = absl::StrFormat(
      "%-9s%-10s%s", absl::StrCat("+", FormatLatency(elapsed_ms)),
      CommandStateName(step.state()), Printable(StepSummary(step)));
  absl::StripTrailingAsciiWhitespace(&line);
  out << line << '\n';
}

void RenderCommands(const v1::ListCommandsResponse& response,
                    const RenderContext& context, std::ostream& out) {
  if (response.commands().empty()) {
    out << "No commands yet.\n";
    return;
  }
  Table table(
      {"COMMAND", "HOST", "ACTION", "REQUESTED", "BY", "STATE", "LAST STEP"});
  for (const v1::CommandRecord& command : response.commands()) {
    table.AddRow({command.command_id(), command.agent_id(),
                  ActionColumn(command.command()),
                  Ago(command.requested_unix_ms(), context),
                  command.requested_by(), CommandStateName(command.state()),
                  command.progress().empty()
                      ? kNone
                      : StepSummary(*command.progress().rbegin())});
  }
  table.Render(out);
}

void RenderProcedureStep(const v1::CommandProgress& step,
                         int64_t requested_unix_ms, std::ostream& out) {
  const int64_t elapsed_ms =
      std::max<int64_t>(step.time_unix_ms() - requested_unix_ms, 0);
  std::string line = absl::StrFormat(
      "[%5.1fs] %-9s %-8s %s", static_cast<double>(elapsed_ms) / 1000,
      Printable(step.step()), CommandStateName(step.state()),
      Printable(FirstLineSummary(step.message())));
  absl::StripTrailingAsciiWhitespace(&line);
  out << line << '\n';
}

void RenderStepFailure(const v1::CommandProgress& step, std::ostream& out) {
  out << "failed at step "
      << (step.step().empty() ? kNone : Printable(step.step())) << ": "
      << Printable(step.message()) << '\n';
  if (step.log_excerpt().empty()) return;
  out << "ERoom log around the failure:\n";
  for (const std::string& line : step.log_excerpt()) {
    out << "  " << Printable(line) << '\n';
  }
}

namespace {

std::string HousekeepingKindName(v1::HousekeepingAction::Kind kind) {
  switch (kind) {
    case v1::HousekeepingAction::COMPRESS:
      return "compress";
    case v1::HousekeepingAction::DELETE_ARCHIVE:
      return "delete";
    case v1::HousekeepingAction::SKIP:
      return "skip";
    default:
      return kNone;
  }
}

void AddHousekeepingRow(const v1::HousekeepingAction& action, Table& table) {
  const bool compressed = action.kind() == v1::HousekeepingAction::COMPRESS;
  std::string reason = action.reason();
  if (reason.empty() && !action.target().empty()) {
    reason = absl::StrCat("to ", action.target());
  }
  table.AddRow({HousekeepingKindName(action.kind()), action.path(),
                FormatBytes(action.bytes_before()),
                compressed ? FormatBytes(action.bytes_after()) : kNone,
                OrNone(reason)});
}

}  // namespace

void RenderHousekeepingReport(const v1::HousekeepingReport& report,
                              std::ostream& out) {
  if (report.actions().empty() && report.skipped().empty()) {
    out << (report.dry_run() ? "Nothing would be done.\n" : "Nothing to do.\n");
    return;
  }
  Table table({"ACTION", "FILE", "BEFORE", "AFTER", "REASON"});
  table.SetAlign(2, Table::Align::kRight);
  table.SetAlign(3, Table::Align::kRight);
  for (const v1::HousekeepingAction& action : report.actions()) {
    AddHousekeepingRow(action, table);
  }
  for (const v1::HousekeepingAction& action : report.skipped()) {
    AddHousekeepingRow(action, table);
  }
  table.Render(out);
  out << (report.dry_run() ? "would free " : "freed ")
      << FormatBytes(report.bytes_freed())
      << (report.dry_run() ? " (dry run: nothing changed)\n" : "\n");
}

void RenderAudit(const v1::ListAuditResponse& response,
                 const RenderContext& context, std::ostream& out) {
  if (response.records().empty()) {
    out << "No audit records in the selected range.\n";
    return;
  }
  Table table({"TIME", "ACTOR", "HOST", "ACTION", "PARAMETERS", "RESULT"});
  std::vector<const v1::AuditRecord*> records;
  for (const v1::AuditRecord& record : response.records()) {
    records.push_back(&record);
  }
  std::stable_sort(records.begin(), records.end(),
                   [](const v1::AuditRecord* a, const v1::AuditRecord* b) {
                     return a->time_unix_ms() < b->time_unix_ms();
                   });
  for (const v1::AuditRecord* record : records) {
    table.AddRow({FormatLocalTime(record->time_unix_ms(), context.zone),
                  record->actor(), OrNone(record->agent_id()), record->action(),
                  OrNone(record->parameters()),
                  FirstLineSummary(record->result())});
  }
  table.Render(out);
}

void RenderAlerts(const v1::ListAlertsResponse& response,
                  const RenderContext& context, std::ostream& out) {
  if (response.alerts().empty()) {
    out << "No alerts are firing or pending.\n";
    return;
  }
  Table table(
      {"ID", "RULE", "HOST", "SEVERITY", "STATE", "SINCE", "VALUE", "SUMMARY"});
  table.SetAlign(0, Table::Align::kRight);
  table.SetAlign(6, Table::Align::kRight);
  for (const v1::AlertRecord& alert : response.alerts()) {
    table.AddRow({absl::StrCat(alert.id()), alert.rule(), alert.agent_id(),
                  SeverityText(alert.severity()), AlertStateWithAck(alert),
                  AlertAge(alert, context), AlertValue(alert.value()),
                  FirstLineSummary(alert.summary())});
  }
  table.Render(out);
}

void RenderAlertHistory(const v1::ListAlertsResponse& response,
                        const RenderContext& context, std::ostream& out) {
  if (response.history().empty()) {
    out << "No alert changes in the selected range.\n";
    return;
  }
  Table table(
      {"TIME", "ID", "RULE", "HOST", "SEVERITY", "CHANGE", "VALUE", "SUMMARY"});
  table.SetAlign(1, Table::Align::kRight);
  table.SetAlign(6, Table::Align::kRight);
  std::vector<const v1::AlertChange*> changes;
  for (const v1::AlertChange& change : response.history()) {
    changes.push_back(&change);
  }
  std::stable_sort(changes.begin(), changes.end(),
                   [](const v1::AlertChange* a, const v1::AlertChange* b) {
                     return a->time_unix_ms() < b->time_unix_ms();
                   });
  for (const v1::AlertChange* change : changes) {
    const v1::AlertRecord& alert = change->alert();
    std::string what = AlertStateText(change->state());
    if (change->inhibited()) absl::StrAppend(&what, " (host down)");
    table.AddRow({FormatLocalTime(change->time_unix_ms(), context.zone),
                  absl::StrCat(alert.id()), alert.rule(), alert.agent_id(),
                  SeverityText(alert.severity()), what,
                  AlertValue(alert.value()),
                  FirstLineSummary(alert.summary())});
  }
  table.Render(out);
}

void RenderSilences(const v1::ListSilencesResponse& response,
                    const RenderContext& context, std::ostream& out) {
  if (response.silences().empty()) {
    out << "No silences.\n";
    return;
  }
  Table table({"ID", "MATCHERS", "ENDS", "BY", "COMMENT"});
  table.SetAlign(0, Table::Align::kRight);
  const int64_t now_ms = absl::ToUnixMillis(context.now);
  for (const v1::SilenceRecord& silence : response.silences()) {
    std::string ends =
        silence.ends_unix_ms() > now_ms
            ? absl::StrCat("in ", FormatAge(absl::Milliseconds(
                                      silence.ends_unix_ms() - now_ms)))
            : absl::StrCat("ended ", Ago(silence.ends_unix_ms(), context));
    if (!silence.expired_by().empty()) {
      absl::StrAppend(&ends, " (expired by ", silence.expired_by(), ")");
    }
    table.AddRow({absl::StrCat(silence.id()),
                  absl::StrJoin(silence.matchers(), " "), ends,
                  silence.created_by(), FirstLineSummary(silence.comment())});
  }
  table.Render(out);
}

void RenderRules(const v1::ListRulesResponse& response,
                 const RenderContext& context, std::ostream& out) {
  if (response.rules().empty()) {
    out << "No alert rules are configured.\n";
    return;
  }
  Table table(
      {"RULE", "KIND", "SEVERITY", "EVALUATED", "ACTIVE", "LAST ERROR"});
  for (const v1::RuleRecord& rule : response.rules()) {
    std::vector<std::string> active;
    for (const v1::AlertRecord& alert : rule.active()) {
      active.push_back(
          absl::StrCat(alert.agent_id(), " ", AlertStateText(alert.state())));
    }
    table.AddRow({rule.name(), rule.kind(), SeverityText(rule.severity()),
                  rule.last_evaluated_unix_ms() == 0
                      ? std::string("never")
                      : Ago(rule.last_evaluated_unix_ms(), context),
                  active.empty() ? kNone : absl::StrJoin(active, ", "),
                  OrNone(FirstLineSummary(rule.last_error()))});
  }
  table.Render(out);
}

}  // namespace eroom::cli
