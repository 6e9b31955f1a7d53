#include "collector/alerting/notification_config.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "collector/alerting/label_matcher.h"

namespace eroom::collector::alerting {
namespace {

constexpr absl::Duration kMaxTimeout = absl::Minutes(5);

// Problems of one receiver or route: "notifications.receivers[2] (NAME):
// KEY: PROBLEM".
class ItemProblems {
 public:
  ItemProblems(ConfigMap& item, std::string label)
      : item_(item), label_(std::move(label)) {}
  void Add(absl::string_view key, absl::string_view problem) {
    item_.AddOwnProblem(label_, absl::StrCat(key, ": ", problem));
  }

 private:
  ConfigMap& item_;
  std::string label_;
};

// The secret `key` of `item`, read from `KEY_env` or `KEY_file`; "" when
// absent or unreadable (a problem says why, never quoting the secret).
std::string ReadSecret(ConfigMap& item, ItemProblems& problems,
                       const std::string& key, bool required,
                       const std::string& config_dir) {
  const std::string env_key = key + "_env";
  const std::string file_key = key + "_file";
  if (item.Has(key)) {
    item.String(key, "");  // Consumed here so the problem is this one only.
    problems.Add(key, absl::StrCat("a secret is not written in the config: "
                                   "name an environment variable with ",
                                   env_key, " or a file with ", file_key));
    return "";
  }
  const std::string env_name = item.String(env_key, "");
  const std::string file_name = item.String(file_key, "");
  if (!env_name.empty() && !file_name.empty()) {
    problems.Add(env_key, absl::StrCat("give ", env_key, " or ", file_key,
                                       ", not both"));
    return "";
  }
  if (!env_name.empty()) {
    const char* value = std::getenv(env_name.c_str());
    if (value == nullptr || *value == '\0') {
      problems.Add(env_key, absl::StrCat("environment variable ", env_name,
                                         " is not set"));
      return "";
    }
    return value;
  }
  if (!file_name.empty()) {
    const std::filesystem::path path =
        std::filesystem::path(config_dir) / file_name;
    std::ifstream in(path);
    if (!in) {
      problems.Add(file_key, absl::StrCat("cannot read ", path.string(), ": ",
                                          std::strerror(errno)));
      return "";
    }
    std::stringstream text;
    text << in.rdbuf();
    std::string value(absl::StripAsciiWhitespace(text.str()));
    if (value.empty()) {
      problems.Add(file_key, absl::StrCat(path.string(), " is empty"));
    }
    return value;
  }
  if (required) {
    problems.Add(key, absl::StrCat("missing: ", env_key,
                                   " (an environment variable's name) or ",
                                   file_key, " (a file's path)"));
  }
  return "";
}

RetryPolicy ParseRetry(ConfigMap& owner, const RetryPolicy& fallback) {
  ConfigMap retry = owner.Map("retry");
  RetryPolicy policy;
  policy.attempts =
      static_cast<int>(retry.Int("attempts", fallback.attempts, 1, 20));
  policy.backoff = retry.Duration("backoff", fallback.backoff,
                                  absl::Milliseconds(1), absl::Hours(1));
  policy.max_backoff = retry.Duration("max_backoff", fallback.max_backoff,
                                      absl::Milliseconds(1), absl::Hours(1));
  retry.Finish();
  return policy;
}

GroupTiming ParseTiming(ConfigMap& owner, const GroupTiming& fallback) {
  GroupTiming timing;
  timing.group_by = owner.StringList("group_by", fallback.group_by);
  timing.group_wait = owner.Duration("group_wait", fallback.group_wait,
                                     absl::ZeroDuration(), absl::Hours(1));
  timing.group_interval =
      owner.Duration("group_interval", fallback.group_interval,
                     absl::ZeroDuration(), absl::Hours(24));
  timing.repeat_interval =
      owner.Duration("repeat_interval", fallback.repeat_interval,
                     absl::Seconds(1), absl::Hours(24 * 30));
  return timing;
}

bool IsLoopbackHost(absl::string_view host) {
  return host == "localhost" || host == "::1" || host == "[::1]" ||
         absl::StartsWith(host, "127.");
}

void ParseHttpReceiver(ConfigMap& item, ItemProblems& problems,
                       const std::string& config_dir, ReceiverConfig& out) {
  out.url = ReadSecret(item, problems, "url", /*required=*/true, config_dir);
  if (!out.url.empty() && !out.url.starts_with("https://") &&
      !out.url.starts_with("http://")) {
    problems.Add("url",
                 "the URL given does not start with https:// or "
                 "http://");
  }
}

void ParseEmailReceiver(ConfigMap& item, ItemProblems& problems,
                        const std::string& config_dir, ReceiverConfig& out) {
  out.smarthost = item.String("smarthost", "");
  const size_t colon = out.smarthost.rfind(':');
  int port = 0;
  if (out.smarthost.empty()) {
    problems.Add("smarthost", "missing: the SMTP server as host:port");
  } else if (colon == std::string::npos || colon == 0 ||
             !absl::SimpleAtoi(out.smarthost.substr(colon + 1), &port) ||
             port < 1 || port > 65535) {
    problems.Add("smarthost",
                 absl::StrCat("'", out.smarthost, "' is not host:port"));
  }
  const std::string tls =
      item.Choice("tls", "starttls", {"starttls", "smtps", "none"});
  out.tls = tls == "smtps"  ? ReceiverConfig::SmtpTls::kSmtps
            : tls == "none" ? ReceiverConfig::SmtpTls::kNone
                            : ReceiverConfig::SmtpTls::kStartTls;
  out.ca_file = item.String("ca_file", "");
  if (!out.ca_file.empty()) {
    out.ca_file = (std::filesystem::path(config_dir) / out.ca_file).string();
  }
  out.username = item.String("username", "");
  out.password = ReadSecret(item, problems, "password",
                            /*required=*/!out.username.empty(), config_dir);
  if (out.username.empty() && !out.password.empty()) {
    problems.Add("username", "missing: a password is given without it");
  }
  if (out.tls == ReceiverConfig::SmtpTls::kNone && !out.username.empty() &&
      colon != std::string::npos &&
      !IsLoopbackHost(absl::string_view(out.smarthost).substr(0, colon))) {
    problems.Add("tls",
                 "none would send the password in the clear: only "
                 "to a loopback smarthost");
  }
  out.from = item.String("from", "");
  if (out.from.empty()) problems.Add("from", "missing: the sender's address");
  out.to = item.StringList("to", {});
  if (out.to.empty()) {
    problems.Add("to", "missing: a list of recipients' addresses");
  }
  for (const std::string& address : out.to) {
    if (address.find('@') == std::string::npos ||
        address.find_first_of("<>\r\n ") != std::string::npos) {
      problems.Add("to", absl::StrCat("'", address, "' is not an address"));
    }
  }
}

void ParseProgramReceiver(ConfigMap& item, ItemProblems& problems,
                          ReceiverConfig& out) {
  out.argv = item.StringList("argv", {});
  if (out.argv.empty()) {
    problems.Add("argv",
                 "missing: the program's absolute path and its "
                 "arguments, run without a shell");
    return;
  }
  const std::string& program = out.argv.front();
  if (!program.starts_with("/")) {
    problems.Add("argv",
                 absl::StrCat("'", program, "' is not an absolute path"));
  } else if (access(program.c_str(), X_OK) != 0 ||
             std::filesystem::is_directory(program)) {
    problems.Add("argv",
                 absl::StrCat("'", program, "' is not an executable file"));
  }
}

ReceiverConfig ParseReceiver(ConfigMap& item, const ReceiverConfig& defaults,
                             const std::string& config_dir) {
  ReceiverConfig out = defaults;
  out.name = item.String("name", "");
  ItemProblems problems(item, out.name.empty() ? "no name" : out.name);
  if (out.name.empty()) problems.Add("name", "missing");
  const std::string type =
      item.Choice("type", "", {"webhook", "slack", "email", "program"});
  if (!item.Has("type")) {
    problems.Add("type", "missing: webhook, slack, email or program");
  }
  out.send_resolved = item.Bool("send_resolved", defaults.send_resolved);
  out.connect_timeout =
      item.Duration("connect_timeout", defaults.connect_timeout,
                    absl::Milliseconds(10), kMaxTimeout);
  out.timeout = item.Duration("timeout", defaults.timeout,
                              absl::Milliseconds(10), kMaxTimeout);
  out.retry = ParseRetry(item, defaults.retry);
  if (type == "webhook" || type == "slack") {
    out.type = type == "slack" ? ReceiverConfig::Type::kSlack
                               : ReceiverConfig::Type::kWebhook;
    ParseHttpReceiver(item, problems, config_dir, out);
  } else if (type == "email") {
    out.type = ReceiverConfig::Type::kEmail;
    ParseEmailReceiver(item, problems, config_dir, out);
  } else if (type == "program") {
    out.type = ReceiverConfig::Type::kProgram;
    ParseProgramReceiver(item, problems, out);
  }
  item.Finish();
  return out;
}

void CheckReceiverNames(ConfigMap& owner, const std::string& key,
                        const std::vector<std::string>& names,
                        const std::set<std::string>& known) {
  for (const std::string& name : names) {
    if (!known.contains(name)) {
      owner.AddProblem(key, absl::StrCat("unknown receiver '", name, "'"));
    }
  }
}

RouteConfig ParseRoute(ConfigMap& item, const GroupTiming& defaults,
                       const std::set<std::string>& receiver_names) {
  RouteConfig route;
  route.receivers = item.StringList("receivers", {});
  ItemProblems problems(
      item, route.receivers.empty()
                ? "no receivers"
                : absl::StrCat("to ", absl::StrJoin(route.receivers, ", ")));
  if (route.receivers.empty()) {
    problems.Add("receivers", "missing: the names of receivers");
  }
  for (const std::string& name : route.receivers) {
    if (!receiver_names.contains(name)) {
      problems.Add("receivers", absl::StrCat("unknown receiver '", name, "'"));
    }
  }
  for (const std::string& name : item.StringList("severity", {})) {
    if (std::optional<Severity> severity = ParseSeverity(name)) {
      route.severities.push_back(*severity);
    } else {
      problems.Add(
          "severity",
          absl::StrCat("'", name, "' is not one of: info, warning, critical"));
    }
  }
  for (const std::string& text : item.StringList("matchers", {})) {
    absl::StatusOr<LabelMatcher> matcher = ParseLabelMatcher(text);
    if (matcher.ok()) {
      route.matchers.push_back(*std::move(matcher));
    } else {
      problems.Add("matchers", matcher.status().message());
    }
  }
  route.continue_matching = item.Bool("continue", false);
  route.timing = ParseTiming(item, defaults);
  item.Finish();
  return route;
}

}  // namespace

absl::Duration RetryPolicy::BackoffAfter(int attempt) const {
  absl::Duration wait = backoff;
  for (int i = 1; i < attempt && wait < max_backoff; ++i) wait *= 2;
  return std::min(wait, max_backoff);
}

NotificationConfig ParseNotificationConfig(ConfigMap& section,
                                           const std::string& config_dir) {
  NotificationConfig config;
  config.timing = ParseTiming(section, GroupTiming{});
  ReceiverConfig receiver_defaults;
  receiver_defaults.send_resolved = section.Bool("send_resolved", true);
  receiver_defaults.connect_timeout =
      section.Duration("connect_timeout", receiver_defaults.connect_timeout,
                       absl::Milliseconds(10), kMaxTimeout);
  receiver_defaults.timeout =
      section.Duration("timeout", receiver_defaults.timeout,
                       absl::Milliseconds(10), kMaxTimeout);
  receiver_defaults.retry = ParseRetry(section, RetryPolicy{});
  config.queue_capacity = static_cast<int>(
      section.Int("queue_capacity", config.queue_capacity, 1, 1000000));
  config.receiver_queue_capacity = static_cast<int>(section.Int(
      "receiver_queue_capacity", config.receiver_queue_capacity, 1, 100000));

  std::set<std::string> names;
  for (ConfigMap& item : section.MapList("receivers")) {
    ReceiverConfig receiver =
        ParseReceiver(item, receiver_defaults, config_dir);
    if (!receiver.name.empty() && !names.insert(receiver.name).second) {
      item.AddOwnProblem(receiver.name, "name: another receiver has it");
    }
    config.receivers.push_back(std::move(receiver));
  }
  for (ConfigMap& item : section.MapList("routes")) {
    config.routes.push_back(ParseRoute(item, config.timing, names));
  }
  config.default_receivers = section.StringList("default_receivers", {});
  CheckReceiverNames(section, "default_receivers", config.default_receivers,
                     names);
  if (!config.receivers.empty() && config.routes.empty() &&
      config.default_receivers.empty()) {
    section.AddProblem("default_receivers",
                       "missing: with no routes, no alert would be sent");
  }
  return config;
}

}  // namespace eroom::collector::alerting
