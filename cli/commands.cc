#include "cli/commands.h"

#include <algorithm>
#include <chrono>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "cli/backup_file.h"
#include "cli/daily_check.h"
#include "cli/json_output.h"
#include "cli/renderers.h"
#include "cli/room_reports.h"
#include "cli/text_format.h"
#include "cli/top.h"
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

// What a follow printed, so that one resumed after losing the collector
// prints every event once: nothing twice, nothing skipped.
class FollowedLogs {
 public:
  // `brief`: each event on one line (LogRenderOptions::brief).
  explicit FollowedLogs(bool brief) : brief_(brief) {}

  // Prints the events of `response` not printed before.
  absl::Status Print(const v1::FollowLogsResponse& response,
                     const CommandContext& context) {
    if (first_answer_unix_ms_ == 0) {
      first_answer_unix_ms_ = absl::ToUnixMillis(context.clock.Now());
    }
    for (const v1::StoredLogEvent& event : response.events()) {
      uint64_t& printed = printed_[event.agent_id()];
      if (event.sequence() <= printed) continue;
      printed = event.sequence();
      newest_received_unix_ms_ =
          std::max(newest_received_unix_ms_, event.received_unix_ms());
      if (context.output == OutputFormat::kJson) {
        EROOM_ASSIGN_OR_RETURN(const std::string line,
                               MessageToJsonLine(event));
        context.out << line << '\n';
      } else {
        RenderLogLine(event, MakeRenderContext(context), brief_, context.out);
      }
    }
    context.out.flush();
    return absl::OkStatus();
  }

  // Whether the collector answered: a later request resumes.
  bool answered() const { return first_answer_unix_ms_ != 0; }

  // Resumes after the last event printed of each host, and, for the hosts
  // none was printed of, from a little before the newest event printed:
  // the collector stamps events as it stores them, so everything it
  // stored since has a later time. With none printed yet, from a little
  // before the first answer, by this machine's clock.
  void Resume(v1::FollowLogsRequest& request) const {
    for (const auto& [agent_id, sequence] : printed_) {
      v1::LogPosition* position = request.add_resume_after();
      position->set_agent_id(agent_id);
      position->set_sequence(sequence);
    }
    const int64_t from = newest_received_unix_ms_ != 0
                             ? newest_received_unix_ms_
                             : first_answer_unix_ms_;
    request.set_resume_received_unix_ms(
        std::max<int64_t>(1, from - absl::ToInt64Milliseconds(kResumeMargin)));
  }

 private:
  // Covers a collector clock stepped back, or this machine's clock ahead
  // of the collector's.
  static constexpr absl::Duration kResumeMargin = absl::Minutes(1);

  const bool brief_;
  std::map<std::string, uint64_t> printed_;  // The last sequence per host.
  int64_t newest_received_unix_ms_ = 0;
  int64_t first_answer_unix_ms_ = 0;
};

// Prints the newest events matching `filter`, then new ones as they are
// stored, until Ctrl-C (OK). A lost collector is followed again at once,
// then after pauses growing to kMaxFollowRetryPause, from where the follow
// was.
absl::Status FollowLogs(const v1::QueryLogsRequest& filter, bool brief,
                        const CommandContext& context) {
  constexpr absl::Duration kFirstFollowRetryPause = absl::Milliseconds(200);
  constexpr absl::Duration kMaxFollowRetryPause = absl::Seconds(5);
  // Shared with the Ctrl-C action, which may run at any time.
  struct Interruptible {
    absl::Mutex mu;
    std::unique_ptr<grpc::ClientContext> call ABSL_GUARDED_BY(mu);
    absl::Notification interrupted;
  };
  auto interruptible = std::make_shared<Interruptible>();
  if (context.on_interrupt) {
    context.on_interrupt([interruptible] {
      absl::MutexLock lock(&interruptible->mu);
      if (!interruptible->interrupted.HasBeenNotified()) {
        interruptible->interrupted.Notify();
      }
      if (interruptible->call != nullptr) interruptible->call->TryCancel();
    });
  }
  FollowedLogs followed(brief);
  absl::Duration pause = absl::ZeroDuration();
  bool said_reconnecting = false;
  while (true) {
    v1::FollowLogsRequest request;
    *request.mutable_filter() = filter;
    if (followed.answered()) followed.Resume(request);
    grpc::ClientContext* call;
    {
      absl::MutexLock lock(&interruptible->mu);
      interruptible->call = std::make_unique<grpc::ClientContext>();
      call = interruptible->call.get();
      if (interruptible->interrupted.HasBeenNotified()) call->TryCancel();
    }
    absl::Status printed;
    const absl::Status ended = context.client.FollowLogs(
        *call, request, [&](const v1::FollowLogsResponse& response) {
          pause = absl::ZeroDuration();
          if (printed.ok()) printed = followed.Print(response, context);
        });
    if (interruptible->interrupted.HasBeenNotified()) return absl::OkStatus();
    if (!printed.ok()) return printed;
    // A collector that stops (or restarts) ends follows UNAVAILABLE, one
    // killed breaks the connection (UNAVAILABLE too), and one in the midst
    // of stopping cancels the calls that reach it.
    if (ended.code() != absl::StatusCode::kUnavailable &&
        ended.code() != absl::StatusCode::kCancelled) {
      return ended;
    }
    if (!said_reconnecting) {
      said_reconnecting = true;
      context.err << "eroomctl: lost the collector ("
                  << Printable(ended.message())
                  << "); following again once it answers\n";
    }
    if (interruptible->interrupted.WaitForNotificationWithTimeout(pause)) {
      return absl::OkStatus();
    }
    pause = std::clamp(pause * 2, kFirstFollowRetryPause, kMaxFollowRetryPause);
  }
}

// A full page ends with how to get the next one, on stderr so that the
// events alone go where stdout goes; JSON carries it as next_cursor.
absl::Status RunLogs(const LogsArgs& args, const CommandContext& context) {
  v1::QueryLogsRequest request = args.request;
  for (const std::string& host : args.hosts) {
    EROOM_ASSIGN_OR_RETURN(std::string agent_id,
                           ResolveAgentId(context.client, host));
    request.add_agent_ids(std::move(agent_id));
  }
  if (args.follow) return FollowLogs(request, args.brief, context);
  absl::StatusOr<v1::QueryLogsResponse> response =
      context.client.QueryLogs(request);
  if (!response.ok()) return response.status();
  if (context.output == OutputFormat::kJson) {
    return PrintJson(*response, context.out);
  }
  RenderLogs(
      *response, MakeRenderContext(context),
      LogRenderOptions{.brief = args.brief, .context = request.context()},
      context.out);
  if (!response->next_cursor().empty()) {
    context.out.flush();
    context.err << "more: " << Printable(args.command_line) << " --before "
                << Printable(response->next_cursor()) << '\n';
  }
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
  if (context.output == OutputFormat::kCsv) {
    RenderMetricsCsv(*response, context.out);
    return absl::OkStatus();
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

bool IsFinal(v1::CommandState state) {
  return state == v1::SUCCEEDED || state == v1::FAILED || state == v1::REJECTED;
}

// `refusal` (FAILED_PRECONDITION: the host is busy) with the command that
// keeps it busy, so that the operator knows what to wait for or cancel.
absl::Status NameRunningCommand(CollectorClient& client,
                                const std::string& agent_id,
                                const absl::Status& refusal) {
  v1::ListCommandsRequest request;
  request.set_agent_id(agent_id);
  const absl::StatusOr<v1::ListCommandsResponse> recent =
      client.ListCommands(request);
  if (!recent.ok()) return refusal;
  for (const v1::CommandRecord& command : recent->commands()) {
    if (IsFinal(command.state())) continue;
    return absl::Status(refusal.code(),
                        absl::StrCat(refusal.message(),
                                     "; running: ", CommandSummary(command)));
  }
  return refusal;
}

absl::StatusOr<v1::CommandRecord> StartOn(CollectorClient& client,
                                          const std::string& agent_id,
                                          const v1::Command& command) {
  v1::StartCommandRequest request;
  request.set_agent_id(agent_id);
  *request.mutable_command() = command;
  absl::StatusOr<v1::CommandRecord> record = client.StartCommand(request);
  if (record.status().code() == absl::StatusCode::kFailedPrecondition) {
    return NameRunningCommand(client, agent_id, record.status());
  }
  return record;
}

// Follows `record`'s command to its end: each step is added to `record`
// as it arrives, then shown.
absl::Status FollowCommand(
    CollectorClient& client, v1::CommandRecord& record,
    absl::Duration procedure_time,
    const std::function<void(const v1::CommandProgress&)>& show) {
  return client.WatchCommand(
      record.command_id(),
      [&](const v1::CommandProgress& step) {
        record.set_state(step.state());
        *record.add_progress() = step;
        show(step);
      },
      procedure_time);
}

// "ping of host 'a1b2c3' ended FAILED: [start] exited 1".
absl::Status NotSucceeded(absl::string_view what, const std::string& agent_id,
                          const v1::CommandRecord& record) {
  const std::string outcome =
      record.progress().empty()
          ? std::string("without an answer")
          : absl::StrCat(v1::CommandState_Name(record.state()), ": ",
                         StepSummary(*record.progress().rbegin()));
  return absl::AbortedError(
      absl::StrCat(what, " of host '", agent_id, "' ended ", outcome));
}

// Starts a ping, prints each step as the collector streams it, and fails
// unless the agent answered SUCCEEDED.
absl::Status RunPing(const PingArgs& args, const CommandContext& context) {
  EROOM_ASSIGN_OR_RETURN(const std::string agent_id,
                         ResolveAgentId(context.client, args.host));
  v1::Command ping;
  ping.mutable_ping();
  EROOM_ASSIGN_OR_RETURN(v1::CommandRecord record,
                         StartOn(context.client, agent_id, ping));
  const bool table = context.output == OutputFormat::kTable;
  if (table) {
    context.out << "ping " << Printable(agent_id) << ": command "
                << Printable(record.command_id()) << '\n';
    context.out.flush();
  }
  const absl::Status watched = FollowCommand(
      context.client, record, absl::ZeroDuration(),
      [&](const v1::CommandProgress& step) {
        if (!table) return;
        RenderCommandStep(step, record.requested_unix_ms(), context.out);
        context.out.flush();
      });
  if (!table) EROOM_RETURN_IF_ERROR(PrintJson(record, context.out));
  EROOM_RETURN_IF_ERROR(watched);
  if (record.state() == v1::SUCCEEDED) return absl::OkStatus();
  return NotSucceeded("ping", agent_id, record);
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

// How long a restart may take on the agent beyond its drain: the stop
// program, the grace before SIGTERM and SIGKILL, the start program and the
// health check, with room to spare.
constexpr absl::Duration kRestartTimeBeyondDrain = absl::Minutes(15);
// How long housekeeping may take on the agent: compressing a week of logs.
constexpr absl::Duration kHousekeepingTime = absl::Minutes(10);

bool HasLabels(const v1::HostStatus& host,
               const std::vector<std::pair<std::string, std::string>>& labels) {
  for (const auto& label : labels) {
    auto found = host.labels().find(label.first);
    if (found == host.labels().end() || found->second != label.second) {
      return false;
    }
  }
  return true;
}

// The hosts `args` selects; several in a stable order (hostname, then agent
// id), the order they are restarted in.
absl::StatusOr<std::vector<v1::HostStatus>> RestartTargets(
    CollectorClient& client, const RestartArgs& args) {
  if (!args.host.empty()) return SelectHosts(client, args.host);
  EROOM_ASSIGN_OR_RETURN(const v1::ListHostsResponse response,
                         client.ListHosts(v1::ListHostsRequest()));
  std::vector<v1::HostStatus> hosts;
  for (const v1::HostStatus& host : response.hosts()) {
    if (HasLabels(host, args.labels)) hosts.push_back(host);
  }
  std::sort(hosts.begin(), hosts.end(),
            [](const v1::HostStatus& a, const v1::HostStatus& b) {
              return std::tie(a.hostname(), a.agent_id()) <
                     std::tie(b.hostname(), b.agent_id());
            });
  if (hosts.empty()) {
    std::vector<std::string> wanted;
    for (const auto& [key, value] : args.labels) {
      wanted.push_back(absl::StrCat(key, "=", value));
    }
    return absl::NotFoundError(
        response.hosts().empty()
            ? std::string("no host has reported to the collector yet")
            : absl::StrCat("no host has the labels ",
                           absl::StrJoin(wanted, ", ")));
  }
  return hosts;
}

absl::Status ConfirmRestart(const std::vector<v1::HostStatus>& hosts,
                            const RestartArgs& args,
                            const CommandContext& context) {
  std::string question =
      hosts.size() == 1
          ? absl::StrCat("Restart ERoom on ", HostLabel(hosts.front()), "?")
          : absl::StrCat("Restart ERoom on ", hosts.size(),
                         " hosts, one at a time: ", HostLabels(hosts), "?");
  absl::StrAppend(&question, " Running rooms are waited for up to ",
                  absl::FormatDuration(args.drain_timeout),
                  args.force ? ", then it restarts anyway."
                             : "; if they do not end, nothing is restarted.");
  const std::optional<bool> answer = context.confirm(Printable(question));
  if (!answer.has_value()) {
    return absl::FailedPreconditionError(
        "restart asks for confirmation and stdin is not a terminal; add "
        "--yes to restart without asking");
  }
  if (!*answer) {
    return absl::CancelledError("restart not confirmed: nothing was done");
  }
  return absl::OkStatus();
}

// One host's restart to its end. `record` is the collector's, or for a
// request it refused (busy, no live agent stream), one made up to say so.
struct RestartOutcome {
  v1::CommandRecord record;
  absl::Status status;
};

// `position` ("[2/3] ") starts the lines a rolling restart prints about the
// host; a rolling restart also says there why a host was not started,
// which a single one leaves to the error it returns.
RestartOutcome RestartHost(const v1::HostStatus& host, const RestartArgs& args,
                           const std::string& position,
                           const CommandContext& context) {
  const bool table = context.output == OutputFormat::kTable;
  v1::Command command;
  command.mutable_safe_restart()->set_drain_timeout_ms(
      absl::ToInt64Milliseconds(args.drain_timeout));
  command.mutable_safe_restart()->set_force(args.force);
  absl::StatusOr<v1::CommandRecord> started =
      StartOn(context.client, host.agent_id(), command);
  if (!started.ok()) {
    if (table && !position.empty()) {
      context.out << position << "restart " << Printable(HostLabel(host))
                  << ": not started: " << Printable(started.status().message())
                  << '\n';
    }
    RestartOutcome refused{v1::CommandRecord(), started.status()};
    refused.record.set_agent_id(host.agent_id());
    *refused.record.mutable_command() = command;
    refused.record.set_state(v1::FAILED);
    v1::CommandProgress* step = refused.record.add_progress();
    step->set_state(v1::FAILED);
    step->set_step("request");
    step->set_message(std::string(started.status().message()));
    return refused;
  }
  RestartOutcome outcome{*std::move(started), absl::OkStatus()};
  v1::CommandRecord& record = outcome.record;
  if (table) {
    context.out << position << "restart " << Printable(HostLabel(host))
                << ": command " << Printable(record.command_id()) << '\n';
    context.out.flush();
  }
  outcome.status = FollowCommand(
      context.client, record, args.drain_timeout + kRestartTimeBeyondDrain,
      [&](const v1::CommandProgress& step) {
        if (!table) return;
        RenderProcedureStep(step, record.requested_unix_ms(), context.out);
        context.out.flush();
      });
  if (!outcome.status.ok() || record.state() == v1::SUCCEEDED) return outcome;
  if (table && !record.progress().empty()) {
    RenderStepFailure(*record.progress().rbegin(), context.out);
  }
  outcome.status = NotSucceeded("restart", host.agent_id(), record);
  return outcome;
}

absl::Status RestartOne(const v1::HostStatus& host, const RestartArgs& args,
                        const CommandContext& context) {
  const RestartOutcome outcome = RestartHost(host, args, "", context);
  // A request the collector refused has no record to show.
  if (context.output == OutputFormat::kJson &&
      !outcome.record.command_id().empty()) {
    EROOM_RETURN_IF_ERROR(PrintJson(outcome.record, context.out));
  }
  return outcome.status;
}

// One host at a time, stopping at the first that does not end SUCCEEDED.
absl::Status RollingRestart(const std::vector<v1::HostStatus>& hosts,
                            const RestartArgs& args,
                            const CommandContext& context) {
  const bool table = context.output == OutputFormat::kTable;
  std::vector<v1::CommandRecord> records;
  absl::Status failure;
  size_t attempted = 0;
  for (const v1::HostStatus& host : hosts) {
    if (table && attempted > 0) context.out << '\n';
    ++attempted;
    RestartOutcome outcome = RestartHost(
        host, args, absl::StrCat("[", attempted, "/", hosts.size(), "] "),
        context);
    records.push_back(std::move(outcome.record));
    if (!outcome.status.ok()) {
      failure = outcome.status;
      break;
    }
  }
  if (!table) {
    std::vector<const google::protobuf::Message*> messages;
    for (const v1::CommandRecord& record : records) messages.push_back(&record);
    EROOM_ASSIGN_OR_RETURN(const std::string json,
                           MessagesToJsonArray(messages));
    context.out << json;
  }
  if (failure.ok()) {
    if (table) {
      context.out << "\nrestarted " << hosts.size()
                  << " hosts: " << Printable(HostLabels(hosts)) << '\n';
    }
    return absl::OkStatus();
  }
  const size_t restarted = attempted - 1;
  const std::vector<v1::HostStatus> succeeded(hosts.begin(),
                                              hosts.begin() + restarted);
  const std::vector<v1::HostStatus> not_attempted(hosts.begin() + attempted,
                                                  hosts.end());
  const std::string summary = absl::StrCat(
      "restarted: ", succeeded.empty() ? "none" : HostLabels(succeeded),
      "; failed: ", HostLabel(hosts[restarted]), "; not attempted: ",
      not_attempted.empty() ? "none" : HostLabels(not_attempted));
  if (table) context.out << '\n' << Printable(summary) << '\n';
  return absl::Status(
      failure.code(),
      absl::StrCat("rolling restart stopped at the first failure (", summary,
                   "): ", failure.message()));
}

absl::Status RunRestart(const RestartArgs& args,
                        const CommandContext& context) {
  EROOM_ASSIGN_OR_RETURN(const std::vector<v1::HostStatus> hosts,
                         RestartTargets(context.client, args));
  if (!args.yes) EROOM_RETURN_IF_ERROR(ConfirmRestart(hosts, args, context));
  if (!args.host.empty()) return RestartOne(hosts.front(), args, context);
  return RollingRestart(hosts, args, context);
}

absl::Status RunCancel(const CancelArgs& args, const CommandContext& context) {
  v1::CancelCommandRequest request;
  request.set_command_id(args.command_id);
  EROOM_ASSIGN_OR_RETURN(const v1::CommandRecord record,
                         context.client.CancelCommand(request));
  if (context.output == OutputFormat::kJson) {
    return PrintJson(record, context.out);
  }
  context.out << "cancel sent to " << Printable(CommandSummary(record)) << '\n';
  return absl::OkStatus();
}

absl::Status RunHousekeep(const HousekeepArgs& args,
                          const CommandContext& context) {
  EROOM_ASSIGN_OR_RETURN(const std::string agent_id,
                         ResolveAgentId(context.client, args.host));
  v1::Command command;
  command.mutable_log_housekeeping()->set_dry_run(args.dry_run);
  EROOM_ASSIGN_OR_RETURN(v1::CommandRecord record,
                         StartOn(context.client, agent_id, command));
  const bool table = context.output == OutputFormat::kTable;
  if (table) {
    context.out << "housekeep " << Printable(agent_id)
                << (args.dry_run ? " (dry run)" : "") << ": command "
                << Printable(record.command_id()) << '\n';
    context.out.flush();
  }
  const absl::Status watched = FollowCommand(
      context.client, record, kHousekeepingTime,
      [&](const v1::CommandProgress& step) {
        if (!table) return;
        RenderProcedureStep(step, record.requested_unix_ms(), context.out);
        context.out.flush();
      });
  if (!table) EROOM_RETURN_IF_ERROR(PrintJson(record, context.out));
  EROOM_RETURN_IF_ERROR(watched);
  if (table && !record.progress().empty()) {
    const v1::CommandProgress& last = *record.progress().rbegin();
    context.out << '\n';
    if (record.state() != v1::SUCCEEDED) RenderStepFailure(last, context.out);
    if (last.has_housekeeping()) {
      RenderHousekeepingReport(last.housekeeping(), context.out);
    }
  }
  if (record.state() == v1::SUCCEEDED) return absl::OkStatus();
  return NotSucceeded("housekeeping", agent_id, record);
}

absl::Status RunAudit(const AuditArgs& args, const CommandContext& context) {
  EROOM_ASSIGN_OR_RETURN(const std::string agent_id,
                         ResolveAgentId(context.client, args.host));
  v1::ListAuditRequest request;
  request.set_since_unix_ms(args.since_unix_ms);
  request.set_agent_id(agent_id);
  request.set_limit(args.limit);
  EROOM_ASSIGN_OR_RETURN(const v1::ListAuditResponse response,
                         context.client.ListAudit(request));
  if (context.output == OutputFormat::kJson) {
    return PrintJson(response, context.out);
  }
  RenderAudit(response, MakeRenderContext(context), context.out);
  return absl::OkStatus();
}

// How long a backup may take beyond the call timeout: copying and sending
// a large database.
constexpr absl::Duration kBackupTime = absl::Hours(2);

absl::Status RunBackup(const BackupArgs& args, const CommandContext& context) {
  EROOM_ASSIGN_OR_RETURN(std::unique_ptr<BackupFile> file,
                         BackupFile::Create(args.dest, args.force));
  const auto started = std::chrono::steady_clock::now();
  EROOM_RETURN_IF_ERROR(context.client.Backup(
      [&file](const v1::BackupChunk& chunk) { return file->Append(chunk); },
      kBackupTime));
  EROOM_ASSIGN_OR_RETURN(const uint64_t bytes, file->Commit());
  const absl::Duration took =
      absl::FromChrono(std::chrono::steady_clock::now() - started);
  context.out << args.dest << ": " << bytes << " bytes ("
              << absl::StrFormat("%.1f MiB", bytes / 1048576.0) << ") in "
              << absl::FormatDuration(absl::Trunc(took, absl::Milliseconds(1)))
              << ", SHA-256 checked\n";
  return absl::OkStatus();
}

// The agent ids of `hosts` (each an agent id or a hostname).
absl::StatusOr<std::vector<std::string>> ResolveAgentIds(
    CollectorClient& client, const std::vector<std::string>& hosts) {
  std::vector<std::string> agent_ids;
  for (const std::string& host : hosts) {
    EROOM_ASSIGN_OR_RETURN(std::string agent_id, ResolveAgentId(client, host));
    agent_ids.push_back(std::move(agent_id));
  }
  return agent_ids;
}

absl::Status RunRooms(const RoomsArgs& args, const CommandContext& context) {
  v1::ListRoomsRequest request = args.request;
  EROOM_ASSIGN_OR_RETURN(const std::vector<std::string> agent_ids,
                         ResolveAgentIds(context.client, args.hosts));
  for (const std::string& agent_id : agent_ids) request.add_agent_ids(agent_id);
  EROOM_ASSIGN_OR_RETURN(const v1::ListRoomsResponse response,
                         context.client.ListRooms(request));
  if (context.output == OutputFormat::kJson) {
    return PrintJson(response, context.out);
  }
  RenderRooms(response, MakeRenderContext(context), context.out);
  return absl::OkStatus();
}

absl::Status RunRoom(const RoomArgs& args, const CommandContext& context) {
  v1::GetRoomRequest request;
  request.set_ruid(args.ruid);
  EROOM_ASSIGN_OR_RETURN(const std::string agent_id,
                         ResolveAgentId(context.client, args.host));
  request.set_agent_id(agent_id);
  EROOM_ASSIGN_OR_RETURN(const v1::GetRoomResponse response,
                         context.client.GetRoom(request));
  if (context.output == OutputFormat::kJson) {
    return PrintJson(response, context.out);
  }
  RenderRoom(response, MakeRenderContext(context), context.out);
  return absl::OkStatus();
}

absl::Status RunDailyReport(const DailyReportArgs& args,
                            const CommandContext& context) {
  v1::DailyReportRequest request = args.request;
  EROOM_ASSIGN_OR_RETURN(const std::vector<std::string> agent_ids,
                         ResolveAgentIds(context.client, args.hosts));
  for (const std::string& agent_id : agent_ids) request.add_agent_ids(agent_id);
  EROOM_ASSIGN_OR_RETURN(const v1::DailyReportResponse response,
                         context.client.DailyReport(request));
  switch (context.output) {
    case OutputFormat::kJson:
      return PrintJson(response, context.out);
    case OutputFormat::kCsv:
      RenderDailyReportCsv(response, context.out);
      return absl::OkStatus();
    case OutputFormat::kTable:
      break;
  }
  // The day as the report's zone has it, whatever the local zone.
  RenderContext render = MakeRenderContext(context);
  render.zone = absl::FixedTimeZone(request.utc_offset_minutes() * 60);
  RenderDailyReport(response, render, context.out);
  return absl::OkStatus();
}

// Agent metrics older than this are not the host's current state.
constexpr absl::Duration kLatestMetricWindow = absl::Hours(1);

// One host's points of metric `name` since `since`; empty when the
// collector has none (or does not know the metric yet).
absl::StatusOr<std::vector<double>> MetricValues(CollectorClient& client,
                                                 const std::string& agent_id,
                                                 const std::string& name,
                                                 absl::Time since, int limit) {
  v1::QueryMetricsRequest request;
  request.set_name(name);
  request.set_agent_id(agent_id);
  request.set_since_unix_ms(absl::ToUnixMillis(since));
  request.set_limit(limit);
  EROOM_ASSIGN_OR_RETURN(const v1::QueryMetricsResponse response,
                         client.QueryMetrics(request));
  std::vector<double> values;
  for (const v1::MetricSeries& series : response.series()) {
    if (series.agent_id() != agent_id) continue;
    for (const v1::MetricPoint& point : series.points()) {
      values.push_back(point.value());
    }
  }
  return values;
}

absl::StatusOr<std::optional<double>> LatestMetric(CollectorClient& client,
                                                   const std::string& agent_id,
                                                   const std::string& name,
                                                   absl::Time now) {
  EROOM_ASSIGN_OR_RETURN(
      const std::vector<double> values,
      MetricValues(client, agent_id, name, now - kLatestMetricWindow, 1));
  if (values.empty()) return std::nullopt;
  return values.back();
}

absl::StatusOr<HostCheckData> FetchCheckData(CollectorClient& client,
                                             v1::HostStatus host,
                                             absl::Time now,
                                             absl::TimeZone zone) {
  const absl::Time midnight =
      absl::FromCivil(absl::ToCivilDay(now, zone), zone);
  HostCheckData data;
  data.host = std::move(host);
  const std::string& agent_id = data.host.agent_id();
  v1::QueryLogsRequest errors;
  errors.set_agent_id(agent_id);
  errors.set_min_level(v1::ERROR);
  errors.set_since_unix_ms(absl::ToUnixMillis(midnight));
  // Past the threshold the exact number does not change the verdict.
  errors.set_limit(kErrorsTodayThreshold + 1);
  EROOM_ASSIGN_OR_RETURN(const v1::QueryLogsResponse error_events,
                         client.QueryLogs(errors));
  data.errors_today = error_events.events_size();
  EROOM_ASSIGN_OR_RETURN(
      data.spool_events,
      LatestMetric(client, agent_id, kSpoolEventsMetric, now));
  EROOM_ASSIGN_OR_RETURN(
      data.housekeeping_last_run_unix_ms,
      LatestMetric(client, agent_id, kHousekeepingLastRunMetric, now));
  EROOM_ASSIGN_OR_RETURN(
      data.oldest_uncompressed_log_unix_ms,
      LatestMetric(client, agent_id, kOldestUncompressedLogMetric, now));
  EROOM_ASSIGN_OR_RETURN(
      data.events_dropped_total_today,
      MetricValues(client, agent_id, kEventsDroppedMetric, midnight, 0));
  return data;
}

absl::StatusOr<int> RunCheck(const CheckArgs& args,
                             const CommandContext& context) {
  EROOM_ASSIGN_OR_RETURN(std::vector<v1::HostStatus> hosts,
                         SelectHosts(context.client, args.host));
  const absl::Time now = context.clock.Now();
  std::vector<CheckRow> rows;
  for (v1::HostStatus& host : hosts) {
    EROOM_ASSIGN_OR_RETURN(
        const HostCheckData data,
        FetchCheckData(context.client, std::move(host), now, context.zone));
    std::vector<CheckRow> host_rows = JudgeHost(data, now);
    rows.insert(rows.end(), std::make_move_iterator(host_rows.begin()),
                std::make_move_iterator(host_rows.end()));
  }
  if (context.output == OutputFormat::kJson) {
    context.out << CheckRowsToJson(rows);
  } else {
    RenderCheckRows(rows, context.out);
  }
  return CheckExitCode(rows);
}

// Commands without a verdict of their own exit 0 on success.
absl::StatusOr<int> Completed(const absl::Status& status) {
  if (!status.ok()) return status;
  return kExitOk;
}

}  // namespace

absl::StatusOr<int> RunCommand(const CommandArgs& command,
                               const CommandContext& context) {
  struct Dispatch {
    const CommandContext& context;
    absl::StatusOr<int> operator()(const HostsArgs&) const {
      return Completed(RunHosts(context));
    }
    absl::StatusOr<int> operator()(const StatusArgs& args) const {
      return Completed(RunStatus(args, context));
    }
    absl::StatusOr<int> operator()(const LogsArgs& args) const {
      return Completed(RunLogs(args, context));
    }
    absl::StatusOr<int> operator()(const MetricsArgs& args) const {
      return Completed(RunMetrics(args, context));
    }
    absl::StatusOr<int> operator()(const QueueArgs& args) const {
      return Completed(RunQueue(args, context));
    }
    absl::StatusOr<int> operator()(const PingArgs& args) const {
      return Completed(RunPing(args, context));
    }
    absl::StatusOr<int> operator()(const CommandsArgs& args) const {
      return Completed(RunCommands(args, context));
    }
    absl::StatusOr<int> operator()(const AlertsArgs& args) const {
      return Completed(RunAlerts(args, context));
    }
    absl::StatusOr<int> operator()(const AcknowledgeArgs& args) const {
      return Completed(RunAcknowledge(args, context));
    }
    absl::StatusOr<int> operator()(const SilenceAddArgs& args) const {
      return Completed(RunSilenceAdd(args, context));
    }
    absl::StatusOr<int> operator()(const SilenceListArgs& args) const {
      return Completed(RunSilenceList(args, context));
    }
    absl::StatusOr<int> operator()(const SilenceExpireArgs& args) const {
      return Completed(RunSilenceExpire(args, context));
    }
    absl::StatusOr<int> operator()(const RulesArgs&) const {
      return Completed(RunRules(context));
    }
    absl::StatusOr<int> operator()(const RestartArgs& args) const {
      return Completed(RunRestart(args, context));
    }
    absl::StatusOr<int> operator()(const CancelArgs& args) const {
      return Completed(RunCancel(args, context));
    }
    absl::StatusOr<int> operator()(const HousekeepArgs& args) const {
      return Completed(RunHousekeep(args, context));
    }
    absl::StatusOr<int> operator()(const AuditArgs& args) const {
      return Completed(RunAudit(args, context));
    }
    absl::StatusOr<int> operator()(const CheckArgs& args) const {
      return RunCheck(args, context);
    }
    absl::StatusOr<int> operator()(const TopArgs& args) const {
      return Completed(RunTop(args, context));
    }
    absl::StatusOr<int> operator()(const BackupArgs& args) const {
      return Completed(RunBackup(args, context));
    }
    absl::StatusOr<int> operator()(const RoomsArgs& args) const {
      return Completed(RunRooms(args, context));
    }
    absl::StatusOr<int> operator()(const RoomArgs& args) const {
      return Completed(RunRoom(args, context));
    }
    absl::StatusOr<int> operator()(const DailyReportArgs& args) const {
      return Completed(RunDailyReport(args, context));
    }
  };
  return std::visit(Dispatch{context}, command);
}

}  // namespace eroom::cli
