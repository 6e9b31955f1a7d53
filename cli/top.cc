#include "cli/top.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace eroom::cli {
namespace v1 = ::eroom::monitor::v1;
namespace {

// Moves the cursor home; each line then clears what is left of the
// previous frame after it, and the frame clears the rows below it.
constexpr char kCursorHome[] = "\x1b[H";
constexpr char kClearToLineEnd[] = "\x1b[K";
constexpr char kClearBelow[] = "\x1b[J";

constexpr char kCpuMetric[] = "host.cpu_percent";
constexpr char kMemoryMetric[] = "host.memory_used_bytes";
constexpr char kDiskMetric[] = "disk.used_percent";

bool Matches(const v1::HostStatus& host, const std::string& name) {
  return host.agent_id() == name || host.hostname() == name;
}

// Each shown host's points of `name`, oldest first, into `pick`'s field.
absl::Status FetchTrend(CollectorClient& client, const char* name,
                        const std::string& agent_id, absl::Time now,
                        TopSnapshot& snapshot,
                        const std::function<std::vector<double>*(
                            HostTrends&, const v1::MetricSeries&)>& pick) {
  v1::QueryMetricsRequest request;
  request.set_name(name);
  request.set_agent_id(agent_id);
  request.set_since_unix_ms(absl::ToUnixMillis(now - kTopTrendWindow));
  request.set_step_ms(absl::ToInt64Milliseconds(kTopTrendStep));
  EROOM_ASSIGN_OR_RETURN(const v1::QueryMetricsResponse response,
                         client.QueryMetrics(request));
  for (const v1::MetricSeries& series : response.series()) {
    auto trends = snapshot.trends.find(series.agent_id());
    if (trends == snapshot.trends.end()) continue;  // A host not shown.
    std::vector<double>* values = pick(trends->second, series);
    values->clear();
    for (const v1::MetricPoint& point : series.points()) {
      values->push_back(point.value());
    }
  }
  return absl::OkStatus();
}

absl::Status FetchRecentErrors(CollectorClient& client,
                               const std::vector<std::string>& agent_ids,
                               TopSnapshot& snapshot) {
  v1::QueryLogsRequest request;
  request.set_min_level(v1::ERROR);
  request.set_limit(kTopErrorCount);
  for (const std::string& agent_id : agent_ids) {
    request.set_agent_id(agent_id);
    EROOM_ASSIGN_OR_RETURN(const v1::QueryLogsResponse response,
                           client.QueryLogs(request));
    snapshot.recent_errors.insert(snapshot.recent_errors.end(),
                                  response.events().begin(),
                                  response.events().end());
  }
  std::stable_sort(
      snapshot.recent_errors.begin(), snapshot.recent_errors.end(),
      [](const v1::StoredLogEvent& a, const v1::StoredLogEvent& b) {
        return a.event().time_unix_ms() > b.event().time_unix_ms();
      });
  if (snapshot.recent_errors.size() > static_cast<size_t>(kTopErrorCount)) {
    snapshot.recent_errors.resize(static_cast<size_t>(kTopErrorCount));
  }
  return absl::OkStatus();
}

// Takes one refresh into `view`: a failure keeps the last snapshot.
void Refresh(const TopFetch& fetch, absl::Time now, TopView& view) {
  absl::StatusOr<TopSnapshot> snapshot = fetch(now);
  if (snapshot.ok()) {
    view.snapshot = *std::move(snapshot);
    view.last_refresh = absl::OkStatus();
    return;
  }
  if (view.last_refresh.ok()) view.failing_since = now;
  view.last_refresh = snapshot.status();
}

void Draw(const TopView& view, TopFrameOptions options, absl::Time now,
          Terminal& terminal) {
  const TerminalSize size = terminal.Size();
  // A character in the last column leaves the cursor waiting to wrap,
  // where some terminals then wrap or erase it: stop one short.
  options.width = std::max(size.columns - 1, 1);
  options.height = std::max(size.rows, 1);
  options.now = now;
  const std::vector<std::string> lines = RenderTopFrame(view, options);
  std::string bytes = kCursorHome;
  for (size_t i = 0; i < lines.size(); ++i) {
    absl::StrAppend(&bytes, lines[i], kClearToLineEnd,
                    i + 1 < lines.size() ? "\r\n" : "");
  }
  bytes += kClearBelow;
  terminal.Write(bytes);
}

}  // namespace

absl::StatusOr<TopSnapshot> FetchTopSnapshot(
    CollectorClient& client, const std::vector<std::string>& wanted,
    absl::Time now) {
  TopSnapshot snapshot;
  snapshot.fetched = now;
  EROOM_ASSIGN_OR_RETURN(const v1::ListHostsResponse response,
                         client.ListHosts(v1::ListHostsRequest()));
  for (const v1::HostStatus& host : response.hosts()) {
    if (wanted.empty() ||
        std::any_of(wanted.begin(), wanted.end(), [&](const std::string& name) {
          return Matches(host, name);
        })) {
      snapshot.hosts.push_back(host);
      snapshot.trends[host.agent_id()];
    }
  }
  for (const std::string& name : wanted) {
    if (std::none_of(
            response.hosts().begin(), response.hosts().end(),
            [&](const v1::HostStatus& host) { return Matches(host, name); })) {
      snapshot.unmatched_hosts.push_back(name);
    }
  }
  if (snapshot.hosts.empty()) return snapshot;
  // Every host's series at once, unless a single host is asked for.
  const std::string trend_agent = !wanted.empty() && snapshot.hosts.size() == 1
                                      ? snapshot.hosts.front().agent_id()
                                      : std::string();
  EROOM_RETURN_IF_ERROR(
      FetchTrend(client, kCpuMetric, trend_agent, now, snapshot,
                 [](HostTrends& trends, const v1::MetricSeries&) {
                   return &trends.cpu_percent;
                 }));
  EROOM_RETURN_IF_ERROR(
      FetchTrend(client, kMemoryMetric, trend_agent, now, snapshot,
                 [](HostTrends& trends, const v1::MetricSeries&) {
                   return &trends.memory_used_bytes;
                 }));
  EROOM_RETURN_IF_ERROR(FetchTrend(
      client, kDiskMetric, trend_agent, now, snapshot,
      [](HostTrends& trends, const v1::MetricSeries& series) {
        const auto mount = series.labels().find("mount");
        return &trends.disk_used_percent[mount == series.labels().end()
                                             ? std::string()
                                             : mount->second];
      }));
  std::vector<std::string> error_agents;
  if (wanted.empty()) {
    error_agents.emplace_back();  // One query across every host.
  } else {
    for (const v1::HostStatus& host : snapshot.hosts) {
      error_agents.push_back(host.agent_id());
    }
  }
  EROOM_RETURN_IF_ERROR(FetchRecentErrors(client, error_agents, snapshot));
  return snapshot;
}

absl::Status RunTopOnTerminal(const TopArgs& args, const TopFetch& fetch,
                              const TopFrameOptions& options,
                              const Clock& clock, Terminal& terminal) {
  TopView view;
  for (int frames = 1;; ++frames) {
    Refresh(fetch, clock.Now(), view);
    Draw(view, options, clock.Now(), terminal);
    if (args.iterations > 0 && frames >= args.iterations) break;
    const absl::Time next = clock.Now() + args.interval;
    for (absl::Time now = clock.Now(); now < next; now = clock.Now()) {
      const TerminalEvent event = terminal.Wait(next - now);
      switch (event.kind) {
        case TerminalEvent::Kind::kInterrupt:
          return absl::OkStatus();
        case TerminalEvent::Kind::kKey:
          if (event.key == 'q' || event.key == 'Q') return absl::OkStatus();
          break;
        case TerminalEvent::Kind::kResize:
          Draw(view, options, now, terminal);
          break;
        case TerminalEvent::Kind::kTimeout:
          break;
      }
    }
  }
  return absl::OkStatus();
}

absl::Status RunTopPlain(const TopArgs& args, const TopFetch& fetch,
                         const TopFrameOptions& options, const Clock& clock,
                         const std::function<bool(absl::Duration)>& wait,
                         std::ostream& out) {
  TopView view;
  for (int frames = 1;; ++frames) {
    const absl::Time now = clock.Now();
    Refresh(fetch, now, view);
    TopFrameOptions frame = options;
    frame.now = now;
    for (const std::string& line : RenderTopFrame(view, frame)) {
      out << line << '\n';
    }
    out.flush();
    if (frames >= std::max(args.iterations, 1)) break;
    out << '\n';
    if (!wait(args.interval)) break;
  }
  return view.last_refresh;
}

absl::Status RunTop(const TopArgs& args, const CommandContext& context) {
  const TopFetch fetch = [&](absl::Time now) {
    return FetchTopSnapshot(context.client, args.hosts, now);
  };
  TopFrameOptions options;
  options.zone = context.zone;
  options.collector = context.client.address();
  options.interval = args.interval;
  std::unique_ptr<Terminal> terminal;
  if (context.open_terminal) {
    EROOM_ASSIGN_OR_RETURN(terminal, context.open_terminal());
  }
  if (terminal == nullptr) {
    options.width = kTopPlainWidth;
    return RunTopPlain(args, fetch, options, context.clock,
                       context.wait_before_refresh, context.out);
  }
  options.interactive = true;
  return RunTopOnTerminal(args, fetch, options, context.clock, *terminal);
}

}  // namespace eroom::cli
