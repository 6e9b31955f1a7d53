#ifndef EROOM_COLLECTOR_ALERTING_NOTIFICATION_RENDER_H_
#define EROOM_COLLECTOR_ALERTING_NOTIFICATION_RENDER_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "collector/alerting/notification.h"

// How a message reads at each kind of receiver.
namespace eroom::collector::alerting {

// "[FIRING:2] room_error web-01" or "[RESOLVED] room_error web-01": the
// firing count and the group's label values.
std::string NotificationTitle(const Notification& notification);

// Alertmanager-like JSON: version, receiver, status, groupKey, groupLabels,
// commonLabels, alerts[] (status, labels, annotations.summary, startsAt,
// endsAt, value, count, id, acknowledgedBy). Also a program's stdin.
std::string RenderWebhookJson(const Notification& notification,
                              absl::string_view receiver);

// A Slack incoming-webhook payload: text (the title) and blocks, one
// section per alert, escaped for mrkdwn.
std::string RenderSlackJson(const Notification& notification);

// The plain-text body of an email: the title, then each firing and resolved
// alert with its summary, value, count, since and labels.
std::string RenderEmailBody(const Notification& notification);

// The whole RFC 5322 message (headers with CRLF line ends, then the body).
std::string RenderEmailMessage(const Notification& notification,
                               const std::string& from,
                               const std::vector<std::string>& to);

// A program's environment: NAME=VALUE strings with the message's status,
// group and counts (EROOM_STATUS, EROOM_RECEIVER, EROOM_GROUP_KEY,
// EROOM_ALERTNAME, EROOM_HOST, EROOM_SEVERITY, EROOM_FIRING,
// EROOM_RESOLVED, EROOM_SUMMARY) and a fixed PATH, nothing of the
// collector's own environment (it may hold secrets).
std::vector<std::string> ProgramEnvironment(const Notification& notification,
                                            absl::string_view receiver);

}  // namespace eroom::collector::alerting

#endif  // EROOM_COLLECTOR_ALERTING_NOTIFICATION_RENDER_H_
