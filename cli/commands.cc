#include "cli/commands.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/json_output.h"
#include "cli/renderers.h"
#include "cli/text_format.h"
#include "common/status_macros.h"

namespace eroom::cli {
namespace v1 = ::eroom::monitor::v1;
namespace {

constexpr int kRecentErrorCount = 5;
// Moves the cursor home and clears the terminal, like watch(1).
constexpr char kClearScreen[] = "\x1b[H\x1b[2J";

RenderContext MakeRenderContext(const CommandContext& context) {
  return RenderContext{context.clock.Now(), context.zone};
}

absl::Status PrintJson(const google::protobuf::Message& message,
                       std::ostream& out) {
  absl::StatusOr<std::string> json = MessageToJson(message);
  if (!json.ok()) return json.status();
  out << *json;
  if (json->empty() || json->back() != '\n') out << '\n';
  return absl::OkStatus();
}

template <typename Hosts>
std::string HostLabels(const Hosts& hosts) {
  std::vector<std::string> labels;
  for (const v1::HostStatus& host : hosts) labels.push_back(HostLabel(host));
  return absl::StrJoin(labels, ", ");
}

// The hosts `wanted` names (an agent id, else a hostname), or every host
// when it is empty.
absl::StatusOr<std::vector<v1::HostStatus>> SelectHosts(
    CollectorClient& client, const std::string& wanted) {
  absl::StatusOr<v1::ListHostsResponse> response =
      client.ListHosts(v1::ListHostsRequest());
  if (!response.ok()) return response.status();
  const auto& hosts = response->hosts();
  if (wanted.empty()) {
    return std::vector<v1::HostStatus>(hosts.begin(), hosts.end());
  }
  std::vector<v1::HostStatus> by_hostname;
  for (const v1::HostStatus& host : hosts) {
    if (host.agent_id() == wanted) return std::vector<v1::HostStatus>{host};
    if (host.hostname() == wanted) by_hostname.push_back(host);
  }
  if (by_hostname.size() == 1) return by_hostname;
  if (by_hostname.size() > 1) {
    return absl::FailedPreconditionError(
        absl::StrCat("hostname '", wanted, "' belongs to several agents: ",
                     HostLabels(by_hostname), "; name the agent id instead"));
  }
  return absl::NotFoundError(absl::StrCat(
      "host '", wanted, "' not found at the collector ", client.address(),
      hosts.empty() ? "; no host has reported yet"
                    : absl::StrCat("; known hosts: ", HostLabels(hosts))));
}

// The agent id to filter a query by: empty for every host.
absl::StatusOr<std::string> ResolveAgentId(CollectorClient& client,
                                           const std::string& wanted) {
  if (wanted.empty()) return std::string();
  absl::StatusOr<std::vector<v1::HostStatus>> hosts =
      SelectHosts(client, wanted);
  if (!hosts.ok()) return hosts.status();
  return hosts->front().agent_id();
}

absl::Status RunHosts(const CommandContext& context) {
  absl::StatusOr<v1::ListHostsResponse> response =
      context.client.ListHosts(v1::ListHostsRequest());
  if (!response.ok()) return response.status();
  if (context.output == OutputFormat::kJson) {
    return PrintJson(*response, context.out);
  }
  RenderHosts(*response, MakeRenderContext(context), context.out);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<HostReport>> CollectHostReports(
    CollectorClient& client, const std::string& wanted) {
  absl::StatusOr<std::vector<v1::HostStatus>> hosts =
      SelectHosts(client, wanted);
  if (!hosts.ok()) return hosts.status();
  std::vector<HostReport> reports;
  for (v1::HostStatus& host : *hosts) {
    v1::QueryLogsRequest request;
    request.set_agent_id(host.agent_id());
    request.set_min_level(v1::ERROR);
    request.set_limit(kRecentErrorCount);
    absl::StatusOr<v1::QueryLogsResponse> errors = client.QueryLogs(request);
    if (!errors.ok()) return errors.status();
    reports.push_back(HostReport{std::move(host), *std::move(errors)});
  }
  return reports;
}

absl::Status PrintStatus(const StatusArgs& args,
                         const CommandContext& context) {
  absl::StatusOr<std::vector<HostReport>> reports =
      CollectHostReports(context.client, args.host);
  if (!reports.ok()) return reports.status();
  if (context.output == OutputFormat::kJson) {
    absl::StatusOr<std::string> json = HostReportsToJson(*reports);
    if (!json.ok()) return json.status();
    context.out << *json;
    return absl::OkStatus();
  }
  if (reports->empty()) {
    context.out << "No hosts have reported to the collector yet.\n";
  }
  const RenderContext render = MakeRenderContext(context);
  for (size_t i = 0; i < reports->size(); ++i) {
    if (i > 0) context.out << '\n';
    RenderStatus((*reports)[i], render, context.out);
  }
  return absl::OkStatus();
}

// Redraws the dashboard every kWatchInterval until Ctrl-C ends the process
// (or the injected wait says stop). A failed refresh is shown on screen and
// retried, because the point of watching is to see the collector or the
// host come back.
absl::Status WatchStatus(const StatusArgs& args,
                         const CommandContext& context) {
  const std::string title = absl::StrCat(
      "Every ", absl::FormatDuration(kWatchInterval), ": eroomctl status",
      args.host.empty() ? "" : " ", args.host);
  do {
    context.out << kClearScreen << title << "    "
                << absl::FormatTime("%Y-%m-%d %H:%M:%S", context.clock.Now(),
                                    context.zone)
                << "\n\n";
    if (absl::Status status = PrintStatus(args, context); !status.ok()) {
      context.out << "error: " << Printable(status.message()) << '\n';
    }
    context.out.flush();
  } while (context.wait_before_refresh(kWatchInterval));
  return absl::OkStatus();
}

absl::Status RunStatus(const StatusArgs& args, const CommandContext& context) {
  return args.watch ? WatchStatus(args, context) : PrintStatus(args, context);
}

absl::Status RunLogs(const LogsArgs& args, const CommandContext& context) {
  absl::StatusOr<std::string> agent_id =
      ResolveAgentId(context.client, args.host);
  if (!agent_id.ok()) return agent_id.status();
  v1::QueryLogsRequest request = args.request;
  request.set_agent_id(*agent_id);
  absl::StatusOr<v1::QueryLogsResponse> response =
      context.client.QueryLogs(request);
  if (!response.ok()) return response.status();
  if (context.output == OutputFormat::kJson) {
    return PrintJson(*response, context.out);
  }
  RenderLogs(*response, MakeRenderContext(context), context.out);
  return absl::OkStatus();
}

absl::Status RunMetrics(const MetricsArgs& args,
                        const CommandContext& context) {
  absl::StatusOr<std::string> agent_id =
      ResolveAgentId(context.client, args.host);
  if (!agent_id.ok()) return agent_id.status();
  v1::QueryMetricsRequest request = args.request;
  request.set_agent_id(*agent_id);
  absl::StatusOr<v1::QueryMetricsResponse> response =
      context.client.QueryMetrics(request);
  if (!response.ok()) return response.status();
  if (!response->known_names().empty()) {
    return absl::NotFoundError(absl::StrCat(
        "unknown metric '", request.name(),
        "'; known metrics: ", absl::StrJoin(response->known_names(), ", ")));
  }
  if (context.output == OutputFormat::kJson) {
    return PrintJson(*response, context.out);
  }
  RenderMetrics(request.name(), *response, MakeRenderContext(context),
                context.out);
  return absl::OkStatus();
}

absl::Status RunQueue(const QueueArgs& args, const CommandContext& context) {
  absl::StatusOr<std::vector<v1::HostStatus>> hosts =
      SelectHosts(context.client, args.host);
  if (!hosts.ok()) return hosts.status();
  v1::ListHostsResponse response;
  for (v1::HostStatus& host : *hosts) *response.add_hosts() = std::move(host);
  if (context.output == OutputFormat::kJson) {
    return PrintJson(response, context.out);
  }
  RenderQueue(response, MakeRenderContext(context), context.out);
  return absl::OkStatus();
}

// Starts a ping, prints each step as the collector streams it, and fails
// unless the agent answered SUCCEEDED.
absl::Status RunPing(const PingArgs& args, const CommandContext& context) {
  EROOM_ASSIGN_OR_RETURN(const std::string agent_id,
                         ResolveAgentId(context.client, args.host));
  v1::StartCommandRequest request;
  request.set_agent_id(agent_id);
  request.mutable_command()->mutable_ping();
  EROOM_ASSIGN_OR_RETURN(v1::CommandRecord record,
                         context.client.StartCommand(request));
  const bool table = context.output == OutputFormat::kTable;
  if (table) {
    context.out << "ping " << Printable(agent_id) << ": command "
                << Printable(record.command_id()) << '\n';
    context.out.flush();
  }
  const absl::Status watched = context.client.WatchCommand(
      record.command_id(), [&](const v1::CommandProgress& step) {
        if (table) {
          RenderCommandStep(step, record.requested_unix_ms(), context.out);
          context.out.flush();
        }
        record.set_state(step.state());
        *record.add_progress() = step;
      });
  if (!table) EROOM_RETURN_IF_ERROR(PrintJson(record, context.out));
  EROOM_RETURN_IF_ERROR(watched);
  if (record.state() == v1::SUCCEEDED) return absl::OkStatus();
  const std::string outcome =
      record.progress().empty()
          ? std::string("without an answer")
          : absl::StrCat(
                v1::CommandState_Name(record.state()), ": ",
                FirstLineSummary(record.progress().rbegin()->message()));
  return absl::AbortedError(
      absl::StrCat("ping of host '", agent_id, "' ended ", outcome));
}

absl::Status RunCommands(const CommandsArgs& args,
                         const CommandContext& context) {
  EROOM_ASSIGN_OR_RETURN(const std::string agent_id,
                         ResolveAgentId(context.client, args.host));
  v1::ListCommandsRequest request;
  request.set_agent_id(agent_id);
  request.set_limit(args.limit);
  EROOM_ASSIGN_OR_RETURN(const v1::ListCommandsResponse response,
                         context.client.ListCommands(request));
  if (context.output == OutputFormat::kJson) {
    return PrintJson(response, context.out);
  }
  RenderCommands(response, MakeRenderContext(context), context.out);
  return absl::OkStatus();
}

absl::Status RunAlerts(const AlertsArgs& args, const CommandContext& context) {
  EROOM_ASSIGN_OR_RETURN(const std::string agent_id,
                         ResolveAgentId(context.client, args.host));
  v1::ListAlertsRequest request;
  request.set_agent_id(agent_id);
  request.set_history(args.history);
  request.set_since_unix_ms(args.since_unix_ms);
  request.set_limit(args.limit);
  EROOM_ASSIGN_OR_RETURN(const v1::ListAlertsResponse response,
                         context.client.ListAlerts(request));
  if (context.output == OutputFormat::kJson) {
    return PrintJson(response, context.out);
  }
  const RenderContext render = MakeRenderContext(context);
  if (args.history) {
    RenderAlertHistory(response, render, context.out);
  } else {
    RenderAlerts(response, render, context.out);
  }
  return absl::OkStatus();
}

absl::Status RunAcknowledge(const AcknowledgeArgs& args,
                            const CommandContext& context) {
  v1::AcknowledgeAlertRequest request;
  request.set_alert_id(args.alert_id);
  request.set_comment(args.comment);
  EROOM_ASSIGN_OR_RETURN(const v1::AcknowledgeAlertResponse response,
                         context.client.AcknowledgeAlert(request));
  if (context.output == OutputFormat::kJson) {
    return PrintJson(response, context.out);
  }
  context.out << "alert " << response.alert_id() << " acknowledged by "
              << Printable(response.acknowledged_by())
              << ": no repeated notifications until it resolves\n";
  return absl::OkStatus();
}

absl::Status RunSilenceAdd(const SilenceAddArgs& args,
                           const CommandContext& context) {
  v1::AddSilenceRequest request;
  for (const std::string& matcher : args.matchers) {
    request.add_matchers(matcher);
  }
  request.set_duration_ms(absl::ToInt64Milliseconds(args.duration));
  request.set_comment(args.comment);
  EROOM_ASSIGN_OR_RETURN(const v1::SilenceRecord silence,
                         context.client.AddSilence(request));
  if (context.output == OutputFormat::kJson) {
    return PrintJson(silence, context.out);
  }
  context.out << "silence " << silence.id() << " until "
              << FormatLocalTime(silence.ends_unix_ms(), context.zone) << ": "
              << Printable(absl::StrJoin(silence.matchers(), " ")) << '\n';
  return absl::OkStatus();
}

absl::Status RunSilenceList(const SilenceListArgs& args,
                            const CommandContext& context) {
  v1::ListSilencesRequest request;
  request.set_include_ended(args.include_ended);
  EROOM_ASSIGN_OR_RETURN(const v1::ListSilencesResponse response,
                         context.client.ListSilences(request));
  if (context.output == OutputFormat::kJson) {
    return PrintJson(response, context.out);
  }
  RenderSilences(response, MakeRenderContext(context), context.out);
  return absl::OkStatus();
}

absl::Status RunSilenceExpire(const SilenceExpireArgs& args,
                              const CommandContext& context) {
  v1::ExpireSilenceRequest request;
  request.set_silence_id(args.silence_id);
  EROOM_ASSIGN_OR_RETURN(const v1::ExpireSilenceResponse response,
                         context.client.ExpireSilence(request));
  if (context.output == OutputFormat::kJson) {
    return PrintJson(response, context.out);
  }
  context.out << "silence " << response.silence_id() << " expired by "
              << Printable(response.expired_by()) << '\n';
  return absl::OkStatus();
}

absl::Status RunRules(const CommandContext& context) {
  EROOM_ASSIGN_OR_RETURN(const v1::ListRulesResponse response,
                         context.client.ListRules(v1::ListRulesRequest()));
  if (context.output == OutputFormat::kJson) {
    return PrintJson(response, context.out);
  }
  RenderRules(response, MakeRenderContext(context), context.out);
  return absl::OkStatus();
}

}  // namespace

absl::Status RunCommand(const CommandArgs& command,
                        const CommandContext& context) {
  struct Dispatch {
    const CommandContext& context;
    absl::Status operator()(const HostsArgs&) const {
      return RunHosts(context);
    }
    absl::Status operator()(const StatusArgs& args) const {
      return RunStatus(args, context);
    }
    absl::Status operator()(const LogsArgs& args) const {
      return RunLogs(args, context);
    }
    absl::Status operator()(const MetricsArgs& args) const {
      return RunMetrics(args, context);
    }
    absl::Status operator()(const QueueArgs& args) const {
      return RunQueue(args, context);
    }
    absl::Status operator()(const PingArgs& args) const {
      return RunPing(args, context);
    }
    absl::Status operator()(const CommandsArgs& args) const {
      return RunCommands(args, context);
    }
    absl::Status operator()(const AlertsArgs& args) const {
      return RunAlerts(args, context);
    }
    absl::Status operator()(const AcknowledgeArgs& args) const {
      return RunAcknowledge(args, context);
    }
    absl::Status operator()(const SilenceAddArgs& args) const {
      return RunSilenceAdd(args, context);
    }
    absl::Status operator()(const SilenceListArgs& args) const {
      return RunSilenceList(args, context);
    }
    absl::Status operator()(const SilenceExpireArgs& args) const {
      return RunSilenceExpire(args, context);
    }
    absl::Status operator()(const RulesArgs&) const {
      return RunRules(context);
    }
  };
  return std::visit(Dispatch{context}, command);
}

}  // namespace eroom::cli
