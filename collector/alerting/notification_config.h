#ifndef EROOM_COLLECTOR_ALERTING_NOTIFICATION_CONFIG_H_
#define EROOM_COLLECTOR_ALERTING_NOTIFICATION_CONFIG_H_

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "collector/alerting/alert.h"
#include "collector/alerting/alert_rule.h"
#include "common/config_reader.h"

// The `notifications:` section of the collector's config: where alerts are
// sent, and when. A sketch (deploy/collector.example.yaml has every key):
//
//   notifications:
//     group_wait: 0s        # before the first message of a new group
//     group_interval: 1m    # between messages of a group that changed
//     repeat_interval: 4h   # between repeats of a group still firing
//     receivers:
//       - {name: ops-hook, type: webhook, url_file: /etc/eroom/hook.url}
//       - {name: ops-slack, type: slack, url_env: EROOM_SLACK_URL}
//       - name: ops-mail
//         type: email
//         smarthost: mail.example.com:587
//         tls: starttls                  # starttls, smtps or none
//         username: eroom
//         password_env: EROOM_SMTP_PASSWORD
//         from: eroom@example.com
//         to: [ops@example.com]
//       - {name: pager, type: program, argv: [/usr/local/bin/page, --ops]}
//     routes:
//       - {severity: [critical], receivers: [pager], continue: true}
//       - {matchers: ["alertname=~room_.*"], receivers: [ops-slack]}
//     default_receivers: [ops-mail]
//
// Secrets (webhook URLs, SMTP passwords) are never written in the config:
// `*_env` names an environment variable and `*_file` a file (relative to
// the config's directory) holding them. They never appear in a problem.
namespace eroom::collector::alerting {

struct RetryPolicy {
  // Attempts of one delivery, the first included.
  int attempts = 3;
  // The wait after the first failed attempt, doubled after each next one.
  absl::Duration backoff = absl::Seconds(1);
  absl::Duration max_backoff = absl::Seconds(30);

  // The wait after failed attempt `attempt` (1-based).
  absl::Duration BackoffAfter(int attempt) const;
};

struct ReceiverConfig {
  enum class Type { kWebhook, kSlack, kEmail, kProgram };

  std::string name;
  Type type = Type::kWebhook;
  bool send_resolved = true;
  absl::Duration connect_timeout = absl::Seconds(5);
  // Of one attempt, everything included.
  absl::Duration timeout = absl::Seconds(10);
  RetryPolicy retry;

  // webhook, slack: where to POST (a secret).
  std::string url;

  // email: "host:port", reached with `tls`.
  enum class SmtpTls { kStartTls, kSmtps, kNone };
  std::string smarthost;
  SmtpTls tls = SmtpTls::kStartTls;
  std::string ca_file;  // Empty: the system's CAs.
  std::string username;
  std::string password;  // A secret.
  std::string from;
  std::vector<std::string> to;

  // program: run directly (never by a shell), argv[0] an absolute path.
  std::vector<std::string> argv;
};

// How the alerts of one route are grouped into messages, and when.
struct GroupTiming {
  // An alert's group is its values of these labels. By default each alert
  // (rule, host and the rule's own group: a message shape, a room, a disk)
  // is told of at once: a new kind of error must not wait for the
  // group_interval of the one before it.
  std::vector<std::string> group_by = {"alertname", "host", "group"};
  absl::Duration group_wait = absl::ZeroDuration();
  absl::Duration group_interval = absl::Minutes(1);
  absl::Duration repeat_interval = absl::Hours(4);
};

struct RouteConfig {
  // Any of these severities; empty: any severity.
  std::vector<Severity> severities;
  // All must match the alert's labels.
  std::vector<LabelMatcher> matchers;
  std::vector<std::string> receivers;
  // Keep looking at the next routes after a match.
  bool continue_matching = false;
  GroupTiming timing;
};

struct NotificationConfig {
  std::vector<ReceiverConfig> receivers;
  // Tried in order; an alert no route matches goes to default_receivers.
  std::vector<RouteConfig> routes;
  std::vector<std::string> default_receivers;
  GroupTiming timing;  // Of the default route; the defaults of the others.
  // Alert changes waiting for the dispatcher, and messages waiting for each
  // receiver: what does not fit is counted and logged.
  int queue_capacity = 4096;
  int receiver_queue_capacity = 256;

  bool empty() const { return receivers.empty(); }
};

// Reads `section` (the `notifications:` mapping; absent: no receivers).
// `config_dir` resolves relative `*_file` paths. Every problem is recorded
// as "FILE: notifications.receivers[i] (NAME): KEY: PROBLEM" (or the
// route's, or the key's, path), never with a secret in it.
NotificationConfig ParseNotificationConfig(ConfigMap& section,
                                           const std::string& config_dir);

}  // namespace eroom::collector::alerting

#endif  // EROOM_COLLECTOR_ALERTING_NOTIFICATION_CONFIG_H_
