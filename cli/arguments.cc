#include "cli/arguments.h"

#include <algorithm>
#include <optional>
#include <tuple>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "cli/text_format.h"
#include "common/command_limits.h"
#include "common/duration_text.h"

namespace eroom::cli {
namespace v1 = ::eroom::monitor::v1;
namespace {

constexpr char kTimeHelp[] =
    "a duration back from now (30s, 15m, 1h, 2d) or a time "
    "(RFC 3339, or 'yyyy-MM-dd HH:mm:ss' local)";

absl::StatusOr<absl::Duration> ParseTimeout(const std::string& text) {
  absl::Duration timeout;
  if (!absl::ParseDuration(text, &timeout) || timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--timeout: '", text, "' is not a positive duration like 5s or 500ms"));
  }
  return timeout;
}

absl::StatusOr<int64_t> ParseTimeBound(const std::string& flag,
                                       const std::string& text, absl::Time now,
                                       absl::TimeZone zone) {
  absl::StatusOr<absl::Time> time = ParseTimeArgument(text, now, zone);
  if (!time.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": ", time.status().message()));
  }
  return absl::ToUnixMillis(*time);
}

absl::StatusOr<v1::LogLevel> ParseLevel(const std::string& text) {
  std::string upper = absl::AsciiStrToUpper(text);
  if (upper == "WARNING") upper = "WARN";
  v1::LogLevel level;
  if (!v1::LogLevel_Parse(upper, &level) ||
      level == v1::LOG_LEVEL_UNSPECIFIED) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--level: '", text, "' is not one of trace, debug, info, warn, error"));
  }
  return level;
}

// Everything as typed; converted once CLI11 accepted the syntax.
struct RawOptions {
  std::string command;
  std::string collector;
  bool collector_given = false;
  std::string config_path;
  bool config_given = false;
  std::string token;
  bool token_given = false;
  std::string ca_path;
  bool ca_given = false;
  bool insecure = false;
  std::string output = "table";
  std::string timeout = "5s";
  std::string host;
  std::vector<std::string> hosts;        // logs and top --host, repeatable.
  std::vector<std::string> event_types;  // logs --type, repeatable.
  std::string level;
  std::string regex;
  std::string before;
  int context = 0;
  bool brief = false;
  std::string command_line;
  std::string grep;
  std::string ruid;
  std::string command_id;
  std::string dest;
  std::string since;
  std::string until;
  std::string metric;
  std::string step;
  int limit = 0;
  bool limit_given = false;
  bool watch = false;
  bool follow = false;
  // `alerts`, `silence`: the subcommand (ack, add, list, expire) if any.
  std::string action;
  bool history = false;
  int64_t id = 0;
  std::string comment;
  std::vector<std::string> matchers;
  std::string duration;
  bool all = false;
  std::vector<std::string> labels;  // As typed: "env=prod".
  std::string drain_timeout = "10m";
  bool force = false;
  bool yes = false;
  bool dry_run = false;
  std::string interval = "5s";
  int iterations = 0;
  std::string status;         // rooms --status
  std::string ruid_argument;  // room RUID
  std::string date;           // report daily --date
  std::string utc_offset;     // report daily --utc-offset
};

constexpr int kDefaultLogLimit = 100;

// `word` as one word for a POSIX shell: as is when that is safe, else in
// single quotes.
std::string ShellWord(absl::string_view word) {
  const bool plain =
      !word.empty() && std::all_of(word.begin(), word.end(), [](char c) {
        return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
               absl::string_view("-_./:=@%+,").find(c) !=
                   absl::string_view::npos;
      });
  if (plain) return std::string(word);
  return absl::StrCat("'", absl::StrReplaceAll(word, {{"'", "'\\''"}}), "'");
}

// eroomctl's arguments as a shell command, without --before (a next page
// sets its own) and the token (a secret).
std::string RepeatableCommandLine(int argc, const char* const* argv) {
  std::vector<std::string> words = {"eroomctl"};
  for (int i = 1; i < argc; ++i) {
    const absl::string_view arg = argv[i];
    bool dropped = false;
    for (absl::string_view option : {"--before", "--token"}) {
      if (arg == option) {
        ++i;  // And its value.
        dropped = true;
      } else if (absl::StartsWith(arg, absl::StrCat(option, "="))) {
        dropped = true;
      }
    }
    if (!dropped) words.push_back(ShellWord(arg));
  }
  return absl::StrJoin(words, " ");
}
constexpr char kDefaultMetricsSince[] = "1h";

// The query window from --since/--until; 0 leaves a side unbounded. An
// empty --since falls back to `default_since` (itself possibly empty).
struct TimeWindow {
  int64_t since_unix_ms = 0;
  int64_t until_unix_ms = 0;
};

absl::StatusOr<TimeWindow> ToTimeWindow(const RawOptions& raw,
                                        const std::string& default_since,
                                        absl::Time now, absl::TimeZone zone) {
  TimeWindow window;
  const std::string& since = raw.since.empty() ? default_since : raw.since;
  for (auto [flag, text, bound] :
       {std::tuple{"--since", &since, &window.since_unix_ms},
        std::tuple{"--until", &raw.until, &window.until_unix_ms}}) {
    if (text->empty()) continue;
    absl::StatusOr<int64_t> parsed = ParseTimeBound(flag, *text, now, zone);
    if (!parsed.ok()) return parsed.status();
    *bound = *parsed;
  }
  return window;
}

absl::StatusOr<LogsArgs> ToLogsArgs(const RawOptions& raw, absl::Time now,
                                    absl::TimeZone zone) {
  if (raw.follow) {
    // A follow reads forward from now on, match by match.
    if (!raw.until.empty()) {
      return absl::InvalidArgumentError(
          "--until cannot be used with --follow: a follow has no end");
    }
    if (!raw.before.empty()) {
      return absl::InvalidArgumentError(
          "--before cannot be used with --follow: a follow reads forward");
    }
    if (raw.context != 0) {
      return absl::InvalidArgumentError(
          "--context cannot be used with --follow: a follow sends no context");
    }
  }
  LogsArgs args;
  args.hosts = raw.hosts;
  args.brief = raw.brief;
  args.command_line = raw.command_line;
  args.follow = raw.follow;
  v1::QueryLogsRequest& request = args.request;
  if (!raw.level.empty()) {
    absl::StatusOr<v1::LogLevel> level = ParseLevel(raw.level);
    if (!level.ok()) return level.status();
    request.set_min_level(*level);
  }
  for (const std::string& type : raw.event_types) {
    request.add_event_types(type);
  }
  request.set_contains(raw.grep);
  request.set_regex(raw.regex);
  request.set_before_cursor(raw.before);
  request.set_context(raw.context);
  request.set_ruid(raw.ruid);
  absl::StatusOr<TimeWindow> window = ToTimeWindow(raw, "", now, zone);
  if (!window.ok()) return window.status();
  request.set_since_unix_ms(window->since_unix_ms);
  request.set_until_unix_ms(window->until_unix_ms);
  request.set_limit(raw.limit_given ? raw.limit : kDefaultLogLimit);
  return args;
}

absl::StatusOr<MetricsArgs> ToMetricsArgs(const RawOptions& raw, absl::Time now,
                                          absl::TimeZone zone) {
  MetricsArgs args{raw.host, {}};
  v1::QueryMetricsRequest& request = args.request;
  request.set_name(raw.metric);
  absl::StatusOr<TimeWindow> window =
      ToTimeWindow(raw, kDefaultMetricsSince, now, zone);
  if (!window.ok()) return window.status();
  request.set_since_unix_ms(window->since_unix_ms);
  request.set_until_unix_ms(window->until_unix_ms);
  request.set_limit(raw.limit);
  if (!raw.step.empty()) {
    const std::optional<absl::Duration> step = ParseDurationText(raw.step);
    if (!step.has_value() || *step < absl::Seconds(1)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--step: '", raw.step, "' is not a duration of at least 1s"));
    }
    request.set_step_ms(absl::ToInt64Milliseconds(*step));
  }
  return args;
}

constexpr char kDefaultHistorySince[] = "24h";

absl::StatusOr<AlertsArgs> ToAlertsArgs(const RawOptions& raw, absl::Time now,
                                        absl::TimeZone zone) {
  AlertsArgs args{raw.host, raw.history, 0, raw.limit};
  if (!raw.history) return args;
  absl::StatusOr<TimeWindow> window =
      ToTimeWindow(raw, kDefaultHistorySince, now, zone);
  if (!window.ok()) return window.status();
  args.since_unix_ms = window->since_unix_ms;
  return args;
}

absl::StatusOr<SilenceAddArgs> ToSilenceAddArgs(const RawOptions& raw) {
  std::optional<absl::Duration> duration = ParseDurationText(raw.duration);
  if (!duration.has_value() || *duration <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--for: '", raw.duration,
                     "' is not a positive duration like 30m, 2h or 1d"));
  }
  return SilenceAddArgs{raw.matchers, *duration, raw.comment};
}

absl::StatusOr<CommandArgs> ToSilenceArgs(const RawOptions& raw) {
  if (raw.action == "add") return ToSilenceAddArgs(raw);
  if (raw.action == "expire") return SilenceExpireArgs{raw.id};
  return SilenceListArgs{raw.all};
}

constexpr char kDefaultAuditSince[] = "24h";

absl::StatusOr<RestartArgs> ToRestartArgs(const RawOptions& raw) {
  RestartArgs args;
  args.host = raw.host;
  args.all = raw.all;
  args.force = raw.force;
  args.yes = raw.yes;
  if (static_cast<int>(!raw.host.empty()) + static_cast<int>(raw.all) +
          static_cast<int>(!raw.labels.empty()) !=
      1) {
    return absl::InvalidArgumentError(
        "restart: name exactly one of HOST, --all or --label K=V");
  }
  for (const std::string& label : raw.labels) {
    const size_t equals = label.find('=');
    if (equals == 0 || equals == std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("--label: '", label, "' is not KEY=VALUE"));
    }
    args.labels.emplace_back(label.substr(0, equals), label.substr(equals + 1));
  }
  std::optional<absl::Duration> drain = ParseDurationText(raw.drain_timeout);
  if (!drain.has_value() || *drain < kMinDrainTimeout ||
      *drain > kMaxDrainTimeout) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--drain-timeout: '", raw.drain_timeout, "' is not a duration from ",
        absl::FormatDuration(kMinDrainTimeout), " to ",
        absl::FormatDuration(kMaxDrainTimeout), " like 10m"));
  }
  args.drain_timeout = *drain;
  return args;
}

absl::StatusOr<AuditArgs> ToAuditArgs(const RawOptions& raw, absl::Time now,
                                      absl::TimeZone zone) {
  AuditArgs args{raw.host, 0, raw.limit};
  absl::StatusOr<TimeWindow> window =
      ToTimeWindow(raw, kDefaultAuditSince, now, zone);
  if (!window.ok()) return window.status();
  args.since_unix_ms = window->since_unix_ms;
  return args;
}

absl::StatusOr<TopArgs> ToTopArgs(const RawOptions& raw, OutputFormat output) {
  if (output != OutputFormat::kTable) {
    return absl::InvalidArgumentError("top works with -o table only");
  }
  const std::optional<absl::Duration> interval =
      ParseDurationText(raw.interval);
  if (!interval.has_value() || *interval < absl::Seconds(1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--interval: '", raw.interval, "' is not a duration of at least 1s"));
  }
  return TopArgs{raw.hosts, *interval, raw.iterations};
}

constexpr char kDefaultRoomsSince[] = "1d";

absl::StatusOr<RoomsArgs> ToRoomsArgs(const RawOptions& raw, absl::Time now,
                                      absl::TimeZone zone) {
  RoomsArgs args{raw.hosts, {}};
  v1::ListRoomsRequest& request = args.request;
  absl::StatusOr<TimeWindow> window =
      ToTimeWindow(raw, kDefaultRoomsSince, now, zone);
  if (!window.ok()) return window.status();
  request.set_since_unix_ms(window->since_unix_ms);
  request.set_until_unix_ms(window->until_unix_ms);
  request.set_limit(raw.limit);
  if (raw.status == "slow") {
    request.set_slow_only(true);
  } else if (!raw.status.empty()) {
    v1::RoomStatus status;
    if (!v1::RoomStatus_Parse(
            absl::StrCat("ROOM_", absl::AsciiStrToUpper(raw.status)),
            &status)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--status: '", raw.status,
                       "' is not one of queued, running, completed, failed, "
                       "slow"));
    }
    request.set_status(status);
  }
  return args;
}

// "+09:00", "-05:30", "+9", "0": minutes east of UTC.
absl::StatusOr<int> ParseUtcOffset(const std::string& text) {
  absl::Time reference;
  std::string error;
  std::string normalized = text;
  if (normalized == "0" || normalized == "Z" || normalized == "UTC") {
    return 0;
  }
  if (normalized.size() <= 3) normalized += ":00";        // "+9", "-05"
  if (normalized.size() == 5) normalized.insert(1, "0");  // "+9:00"
  if (absl::ParseTime("%Ez", normalized, &reference, &error)) {
    const int minutes =
        static_cast<int>(-absl::ToInt64Minutes(reference - absl::UnixEpoch()));
    if (minutes >= -12 * 60 && minutes <= 14 * 60) return minutes;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "--utc-offset: '", text, "' is not an offset from -12:00 to +14:00"));
}

absl::StatusOr<DailyReportArgs> ToDailyReportArgs(const RawOptions& raw,
                                                  absl::Time now,
                                                  absl::TimeZone zone) {
  if (raw.all && !raw.hosts.empty()) {
    return absl::InvalidArgumentError(
        "report daily: name --host or --all, not both");
  }
  DailyReportArgs args{raw.hosts, {}};
  absl::CivilDay day = absl::ToCivilDay(now, zone);
  if (!raw.date.empty() && (!absl::ParseCivilTime(raw.date, &day) ||
                            absl::FormatCivilTime(day) != raw.date)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--date: '", raw.date, "' is not a date YYYY-MM-DD"));
  }
  args.request.set_date(absl::FormatCivilTime(day));
  if (raw.utc_offset.empty()) {
    // The local zone's offset at the day's noon.
    const absl::Time noon = absl::FromCivil(absl::CivilHour(day) + 12, zone);
    args.request.set_utc_offset_minutes(zone.At(noon).offset / 60);
  } else {
    absl::StatusOr<int> offset = ParseUtcOffset(raw.utc_offset);
    if (!offset.ok()) return offset.status();
    args.request.set_utc_offset_minutes(*offset);
  }
  return args;
}

absl::StatusOr<CommandArgs> ToCommandArgs(const RawOptions& raw,
                                          OutputFormat output, absl::Time now,
                                          absl::TimeZone zone) {
  if (output == OutputFormat::kCsv && raw.command != "metrics" &&
      raw.command != "report") {
    return absl::InvalidArgumentError(
        "-o csv works with metrics and report only");
  }
  if (raw.command == "rooms") return ToRoomsArgs(raw, now, zone);
  if (raw.command == "room") return RoomArgs{raw.ruid_argument, raw.host};
  if (raw.command == "report") return ToDailyReportArgs(raw, now, zone);
  if (raw.command == "hosts") return HostsArgs{};
  if (raw.command == "status") {
    if (raw.watch && output == OutputFormat::kJson) {
      return absl::InvalidArgumentError("--watch works with -o table only");
    }
    return StatusArgs{raw.host, raw.watch};
  }
  if (raw.command == "logs") return ToLogsArgs(raw, now, zone);
  if (raw.command == "metrics") return ToMetricsArgs(raw, now, zone);
  if (raw.command == "ping") return PingArgs{raw.host};
  if (raw.command == "commands") return CommandsArgs{raw.host, raw.limit};
  if (raw.command == "alerts") {
    if (raw.action == "ack") return AcknowledgeArgs{raw.id, raw.comment};
    return ToAlertsArgs(raw, now, zone);
  }
  if (raw.command == "silence") return ToSilenceArgs(raw);
  if (raw.command == "rules") return RulesArgs{};
  if (raw.command == "restart") return ToRestartArgs(raw);
  if (raw.command == "cancel") return CancelArgs{raw.command_id};
  if (raw.command == "housekeep") return HousekeepArgs{raw.host, raw.dry_run};
  if (raw.command == "audit") return ToAuditArgs(raw, now, zone);
  if (raw.command == "backup") return BackupArgs{raw.dest, raw.force};
  if (raw.command == "check") {
    if (raw.all && !raw.host.empty()) {
      return absl::InvalidArgumentError(
          "check: name a HOST or --all, not both");
    }
    return CheckArgs{raw.host};
  }
  if (raw.command == "top") return ToTopArgs(raw, output);
  return QueueArgs{raw.host};
}

absl::StatusOr<Invocation> ToInvocation(const RawOptions& raw, absl::Time now,
                                        absl::TimeZone zone) {
  Invocation invocation;
  GlobalOptions& global = invocation.global;
  if (raw.collector_given) global.collector = raw.collector;
  if (raw.config_given) global.config_path = raw.config_path;
  if (raw.token_given) global.token = raw.token;
  if (raw.ca_given) global.ca_path = raw.ca_path;
  global.insecure = raw.insecure;
  global.output = raw.output == "json"  ? OutputFormat::kJson
                  : raw.output == "csv" ? OutputFormat::kCsv
                                        : OutputFormat::kTable;
  absl::StatusOr<absl::Duration> timeout = ParseTimeout(raw.timeout);
  if (!timeout.ok()) return timeout.status();
  global.timeout = *timeout;
  absl::StatusOr<CommandArgs> command =
      ToCommandArgs(raw, global.output, now, zone);
  if (!command.ok()) return command.status();
  invocation.command = *std::move(command);
  return invocation;
}

}  // namespace

ParsedArguments ParseArguments(int argc, const char* const* argv,
                               absl::Time now, absl::TimeZone zone,
                               std::ostream& out, std::ostream& err) {
  RawOptions raw;
  CLI::App app(
      "Operators' view of ERoom hosts, from the eroom-monitor collector.",
      "eroomctl");
  app.set_version_flag("--version", EROOM_VERSION);
  app.require_subcommand(1);
  // Global options may also follow the command: `eroomctl hosts -o json`.
  app.fallthrough();
  CLI::Option* collector_option = app.add_option(
      "--collector", raw.collector,
      "collector host:port (else $EROOMCTL_COLLECTOR, the config file, "
      "127.0.0.1:7443)");
  app.add_option("-o,--output", raw.output,
                 "table, json, or csv (metrics, report)")
      ->check(CLI::IsMember({"table", "json", "csv"}));
  CLI::Option* config_option = app.add_option(
      "--config", raw.config_path,
      "config file (default $XDG_CONFIG_HOME/eroomctl/config.yaml)");
  app.add_option("--timeout", raw.timeout, "deadline of each call (5s)");
  CLI::Option* token_option = app.add_option(
      "--token", raw.token,
      "access token (else $EROOMCTL_TOKEN, the config file's token:)");
  CLI::Option* ca_option = app.add_option(
      "--ca", raw.ca_path,
      "CA certificate (PEM) that signed the collector's certificate (else "
      "the config file's ca:, else the system's roots)");
  app.add_flag("--insecure", raw.insecure,
               "plaintext instead of TLS (loopback collectors only)")
      ->excludes(ca_option);

  app.add_subcommand("hosts", "one line per host");
  CLI::App* status =
      app.add_subcommand("status", "one host's dashboard and last errors");
  status->add_option("host", raw.host, "agent id or hostname");
  status->add_flag("--watch", raw.watch, "refresh every 5 s until Ctrl-C");

  CLI::App* logs = app.add_subcommand("logs", "stored ERoom log events");
  logs->add_option("--host", raw.hosts,
                   "agent id or hostname (repeatable: any of them)")
      ->allow_extra_args(false);
  logs->add_option("--level", raw.level, "minimum level (trace..error)");
  logs->add_option("--type", raw.event_types,
                   "event type, e.g. room_failed (repeatable: any of them)")
      ->allow_extra_args(false);
  logs->add_option("--grep", raw.grep, "text the message contains (any case)");
  logs->add_option("--regex", raw.regex,
                   "RE2 the message matches somewhere (case sensitive "
                   "unless it starts with (?i)), tested after the other "
                   "filters");
  logs->add_option("--ruid", raw.ruid, "room id");
  logs->add_option("--since", raw.since, kTimeHelp);
  logs->add_option("--until", raw.until, kTimeHelp);
  CLI::Option* logs_limit =
      logs->add_option("--limit", raw.limit, "most events to show (100)")
          ->check(CLI::NonNegativeNumber);
  logs->add_flag("-f,--follow", raw.follow,
                 "then print new events as they are stored, until Ctrl-C");
  logs->add_option("--before", raw.before,
                   "the next page: the cursor a full page ends with");
  logs->add_option("--context", raw.context,
                   "events of the same host and file shown before and after "
                   "each match (at most 20)")
      ->check(CLI::NonNegativeNumber);
  logs->add_flag("--brief", raw.brief,
                 "each event's first line only (a stack trace collapsed)");

  CLI::App* metrics = app.add_subcommand("metrics", "one metric's points");
  metrics->add_option("name", raw.metric, "e.g. host.cpu_percent")->required();
  metrics->add_option("--host", raw.host, "agent id or hostname");
  metrics->add_option("--since", raw.since,
                      absl::StrCat(kTimeHelp, "; default 1h"));
  metrics->add_option("--until", raw.until, kTimeHelp);
  metrics->add_option("--step", raw.step,
                      "one point per step (1m, 1h): the average, with min, "
                      "max and count, aggregated on the collector");
  metrics->add_option("--limit", raw.limit, "most points per series")
      ->check(CLI::NonNegativeNumber);

  CLI::App* queue =
      app.add_subcommand("queue", "ERoom's generation queue per host");
  queue->add_option("host", raw.host, "agent id or hostname");

  CLI::App* ping = app.add_subcommand(
      "ping", "prove the command channel to a host's agent (operator role)");
  ping->add_option("host", raw.host, "agent id or hostname")->required();

  CLI::App* commands =
      app.add_subcommand("commands", "recent remote commands, newest first");
  commands->add_option("host", raw.host, "agent id or hostname");
  commands->add_option("--limit", raw.limit, "most commands to show (20)")
      ->check(CLI::NonNegativeNumber);

  CLI::App* alerts = app.add_subcommand(
      "alerts", "alerts firing and pending, or their history (--history)");
  alerts->add_option("--host", raw.host, "agent id or hostname");
  CLI::Option* history = alerts->add_flag("--history", raw.history,
                                          "the changes of alerts, newest last");
  alerts
      ->add_option("--since", raw.since,
                   absl::StrCat(kTimeHelp, "; default ", kDefaultHistorySince))
      ->needs(history);
  alerts->add_option("--limit", raw.limit, "most changes to show (100)")
      ->check(CLI::NonNegativeNumber)
      ->needs(history);
  CLI::App* ack = alerts->add_subcommand(
      "ack",
      "acknowledge an alert: no repeated notifications until it resolves "
      "(operator role)");
  ack->add_option("id", raw.id, "the alert's id (eroomctl alerts)")
      ->required()
      ->check(CLI::PositiveNumber);
  ack->add_option("--comment", raw.comment, "why, or what is being done")
      ->required();

  CLI::App* silence = app.add_subcommand(
      "silence", "silences: alerts they match are not notified");
  silence->require_subcommand(1);
  CLI::App* silence_add = silence->add_subcommand(
      "add", "silence the alerts matching every matcher (operator role)");
  silence_add
      ->add_option("matcher", raw.matchers,
                   "label=value, label!=value, label=~regex or label!~regex "
                   "(labels: alertname, host, agent_id, severity, group and "
                   "the rule's own)")
      ->required();
  silence_add->add_option("--for", raw.duration, "how long: 30m, 2h, 1d")
      ->required();
  silence_add->add_option("--comment", raw.comment, "why")->required();
  CLI::App* silence_list =
      silence->add_subcommand("list", "silences in force, oldest first");
  silence_list->add_flag("--all", raw.all, "also those that ended");
  CLI::App* silence_expire =
      silence->add_subcommand("expire", "end a silence now (operator role)");
  silence_expire->add_option("id", raw.id, "the silence's id")
      ->required()
      ->check(CLI::PositiveNumber);

  app.add_subcommand("rules",
                     "the alert rules, their last evaluation and alerts");

  CLI::App* restart = app.add_subcommand(
      "restart",
      "safe restart: wait for running rooms, stop, start, health-check; "
      "several hosts one at a time, stopping at the first failure "
      "(operator role)");
  restart->add_option("host", raw.host, "agent id or hostname");
  restart->add_flag("--all", raw.all, "every host");
  restart
      ->add_option("--label", raw.labels,
                   "KEY=VALUE: the hosts with this label (repeatable: "
                   "every one must match)")
      ->allow_extra_args(false);
  restart->add_option("--drain-timeout", raw.drain_timeout,
                      "how long to wait for running rooms (10m)");
  restart->add_flag("--force", raw.force,
                    "restart even if rooms still run when the drain times "
                    "out (else refuse and leave ERoom running)");
  restart->add_flag("--yes", raw.yes,
                    "do not ask for confirmation (needed off a terminal)");

  CLI::App* cancel = app.add_subcommand(
      "cancel", "stop a restart that is still draining (operator role)");
  cancel
      ->add_option("id", raw.command_id, "the command's id (eroomctl commands)")
      ->required();

  CLI::App* housekeep = app.add_subcommand(
      "housekeep",
      "compress old ERoom logs into logs/archive and delete old archives "
      "(operator role)");
  housekeep->add_option("host", raw.host, "agent id or hostname")->required();
  housekeep->add_flag("--dry-run", raw.dry_run,
                      "change nothing; show what would be done");

  CLI::App* audit = app.add_subcommand(
      "audit", "who asked for which remote command, and how each step ended");
  audit->add_option("--since", raw.since,
                    absl::StrCat(kTimeHelp, "; default ", kDefaultAuditSince));
  audit->add_option("--host", raw.host, "agent id or hostname");
  audit->add_option("--limit", raw.limit, "most records to show")
      ->check(CLI::NonNegativeNumber);

  CLI::App* backup = app.add_subcommand(
      "backup",
      "an online copy of the collector's database into DEST, checked against "
      "its SHA-256 (admin role)");
  backup->add_option("dest", raw.dest, "the file to write")->required();
  backup->add_flag("--force", raw.force, "replace DEST if it exists");

  CLI::App* check = app.add_subcommand(
      "check",
      "the daily checklist per host: pass/warn/fail; exit 0 all pass, 1 a "
      "warning, 2 a failure");
  check->add_option("host", raw.host, "agent id or hostname (else every host)");
  check->add_flag("--all", raw.all, "every host (the default)");

  CLI::App* top = app.add_subcommand(
      "top",
      "live dashboard of every host, refreshed in place until q or Ctrl-C; "
      "plain frames when not on a terminal");
  top->add_option("--host", raw.hosts,
                  "agent id or hostname (repeatable; default every host)")
      ->allow_extra_args(false);
  top->add_option("--interval", raw.interval, "time between refreshes (5s)");
  top->add_option("--iterations", raw.iterations,
                  "frames to draw, then exit (default: until q; one frame "
                  "when not on a terminal)")
      ->check(CLI::NonNegativeNumber);

  CLI::App* rooms =
      app.add_subcommand("rooms", "one line per room (ruid), newest first");
  rooms
      ->add_option("--host", raw.hosts,
                   "agent id or hostname (repeatable; else every host)")
      ->allow_extra_args(false);
  rooms->add_option("--since", raw.since,
                    absl::StrCat(kTimeHelp, "; default ", kDefaultRoomsSince));
  rooms->add_option("--until", raw.until, kTimeHelp);
  rooms->add_option("--status", raw.status,
                    "queued, running, completed, failed, or slow (over the "
                    "KPI: processing or running > 10m, queue wait > 2m)");
  rooms->add_option("--limit", raw.limit, "most rooms to show (100)")
      ->check(CLI::NonNegativeNumber);

  CLI::App* room =
      app.add_subcommand("room", "one room's timeline and its log events");
  room->add_option("ruid", raw.ruid_argument, "the room's id, room_...")
      ->required();
  room->add_option("--host", raw.host, "agent id or hostname");

  CLI::App* report = app.add_subcommand("report", "reports");
  report->require_subcommand(1);
  CLI::App* daily = report->add_subcommand(
      "daily",
      "a day's rooms, processing times, errors, alerts and restarts, per "
      "host and in total");
  daily->add_option("--date", raw.date, "YYYY-MM-DD (default today)");
  daily->add_option("--utc-offset", raw.utc_offset,
                    "the day's zone, e.g. +09:00 (default the local zone)");
  daily
      ->add_option("--host", raw.hosts,
                   "agent id or hostname (repeatable; else every host)")
      ->allow_extra_args(false);
  daily->add_flag("--all", raw.all, "every host (the default)");

  ParsedArguments parsed;
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e, out, err);
    parsed.exit_code = code == 0 ? kExitOk : kExitUsage;
    return parsed;
  }
  const CLI::App* command = app.get_subcommands().front();
  raw.command = command->get_name();
  if (!command->get_subcommands().empty()) {
    raw.action = command->get_subcommands().front()->get_name();
  }
  raw.collector_given = collector_option->count() > 0;
  raw.config_given = config_option->count() > 0;
  raw.token_given = token_option->count() > 0;
  raw.ca_given = ca_option->count() > 0;
  raw.limit_given = logs_limit->count() > 0;
  raw.command_line = RepeatableCommandLine(argc, argv);

  absl::StatusOr<Invocation> invocation = ToInvocation(raw, now, zone);
  if (!invocation.ok()) {
    err << invocation.status().message()
        << "\nRun with --help for more information.\n";
    parsed.exit_code = kExitUsage;
    return parsed;
  }
  parsed.invocation = *std::move(invocation);
  return parsed;
}

}  // namespace eroom::cli
