#include "collector/alerting/notification_render.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace eroom::collector::alerting {
namespace {

// Slack limits a header to 150 characters, a section's text to 3000 and a
// message to 50 blocks.
constexpr size_t kSlackSectionChars = 2900;
constexpr size_t kSlackHeaderChars = 150;
constexpr size_t kSlackAlertBlocks = 45;

std::string Rfc3339(absl::Time t) {
  if (t == absl::InfinitePast()) return "0001-01-01T00:00:00Z";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

std::string Readable(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", t, absl::UTCTimeZone());
}

std::string Label(const Alert& alert, const std::string& name) {
  auto it = alert.labels.find(name);
  return it == alert.labels.end() ? "" : it->second;
}

bool Firing(const Alert& alert) { return alert.state == AlertState::kFiring; }

std::string Status(const Notification& notification) {
  return notification.FiringCount() > 0 ? "firing" : "resolved";
}

// The highest severity among the alerts.
std::string TopSeverity(const Notification& notification) {
  Severity top = Severity::kInfo;
  for (const Alert& alert : notification.alerts) {
    top = std::max(top, alert.severity);
  }
  return std::string(SeverityName(top));
}

std::string FormatValue(double value) { return absl::StrCat(value); }

// No header injection: a subject is one line.
std::string OneLine(absl::string_view text) {
  std::string out(text);
  std::replace_if(
      out.begin(), out.end(), [](char c) { return c == '\r' || c == '\n'; },
      ' ');
  return out;
}

std::string EncodeHeader(const std::string& text) {
  const bool ascii = std::all_of(text.begin(), text.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x80;
  });
  if (ascii) return text;
  return absl::StrCat("=?UTF-8?B?", absl::Base64Escape(text), "?=");
}

std::string SlackEscape(absl::string_view text) {
  return absl::StrReplaceAll(text,
                             {{"&", "&amp;"}, {"<", "&lt;"}, {">", "&gt;"}});
}

std::string AlertLine(const Alert& alert) {
  std::string line =
      absl::StrCat(std::string(SeverityName(alert.severity)), " ",
                   alert.key.rule, " on ", Label(alert, "host"));
  if (!alert.summary.empty()) absl::StrAppend(&line, ": ", alert.summary);
  return line;
}

}  // namespace

std::string NotificationTitle(const Notification& notification) {
  std::vector<std::string> values;
  for (const auto& [name, value] : notification.group_labels) {
    if (!value.empty()) values.push_back(value);
  }
  // alertname first when grouped by it: "room_error web-01".
  auto alertname = notification.group_labels.find("alertname");
  if (alertname != notification.group_labels.end() &&
      !alertname->second.empty()) {
    std::erase(values, alertname->second);
    values.insert(values.begin(), alertname->second);
  }
  const int firing = notification.FiringCount();
  const std::string status =
      firing > 0 ? absl::StrCat("[FIRING:", firing, "]") : "[RESOLVED]";
  return OneLine(values.empty()
                     ? status
                     : absl::StrCat(status, " ", absl::StrJoin(values, " ")));
}

std::string RenderWebhookJson(const Notification& notification,
                              absl::string_view receiver) {
  nlohmann::json alerts = nlohmann::json::array();
  for (const Alert& alert : notification.alerts) {
    nlohmann::json item = {
        {"status", Firing(alert) ? "firing" : "resolved"},
        {"labels", alert.labels},
        {"annotations", {{"summary", alert.summary}}},
        {"startsAt", Rfc3339(alert.firing_since)},
        {"endsAt",
         Rfc3339(Firing(alert) ? absl::InfinitePast() : alert.resolved_at)},
        {"value", alert.value},
        {"count", alert.count},
        {"id", alert.id},
    };
    if (!alert.acknowledged_by.empty()) {
      item["acknowledgedBy"] = alert.acknowledged_by;
    }
    alerts.push_back(std::move(item));
  }
  nlohmann::json payload = {
      {"version", "1"},
      {"receiver", receiver},
      {"status", Status(notification)},
      {"groupKey", notification.group_key},
      {"groupLabels", notification.group_labels},
      {"commonLabels", notification.CommonLabels()},
      {"alerts", std::move(alerts)},
  };
  return payload.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string RenderSlackJson(const Notification& notification) {
  const std::string title = NotificationTitle(notification);
  nlohmann::json blocks = nlohmann::json::array();
  blocks.push_back({{"type", "header"},
                    {"text",
                     {{"type", "plain_text"},
                      {"text", title.substr(0, kSlackHeaderChars)}}}});
  size_t shown = 0;
  for (const Alert& alert : notification.alerts) {
    if (shown == kSlackAlertBlocks) break;
    std::string text = absl::StrCat(
        Firing(alert) ? ":red_circle: *" : ":large_green_circle: *",
        SlackEscape(Firing(alert) ? "firing" : "resolved"), "* ",
        SlackEscape(AlertLine(alert)), "\nvalue ", FormatValue(alert.value),
        ", count ", alert.count, ", since ", Readable(alert.firing_since));
    if (!alert.acknowledged_by.empty()) {
      absl::StrAppend(&text, "\nacknowledged by ",
                      SlackEscape(alert.acknowledged_by));
    }
    if (text.size() > kSlackSectionChars) text.resize(kSlackSectionChars);
    blocks.push_back(
        {{"type", "section"}, {"text", {{"type", "mrkdwn"}, {"text", text}}}});
    ++shown;
  }
  if (shown < notification.alerts.size()) {
    blocks.push_back(
        {{"type", "context"},
         {"elements",
          {{{"type", "mrkdwn"},
            {"text", absl::StrCat("and ", notification.alerts.size() - shown,
                                  " more")}}}}});
  }
  nlohmann::json payload = {{"text", title}, {"blocks", std::move(blocks)}};
  return payload.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string RenderEmailBody(const Notification& notification) {
  std::string body = absl::StrCat(NotificationTitle(notification), "\n");
  for (bool firing : {true, false}) {
    bool heading = false;
    for (const Alert& alert : notification.alerts) {
      if (Firing(alert) != firing) continue;
      if (!heading) {
        absl::StrAppend(&body, "\n", firing ? "Firing:" : "Resolved:", "\n");
        heading = true;
      }
      absl::StrAppend(&body, "- ", AlertLine(alert), "\n", "  value ",
                      FormatValue(alert.value), ", count ", alert.count,
                      ", since ", Readable(alert.firing_since));
      if (!firing) {
        absl::StrAppend(&body, ", resolved ", Readable(alert.resolved_at));
      }
      absl::StrAppend(&body, "\n");
      if (!alert.acknowledged_by.empty()) {
        absl::StrAppend(&body, "  acknowledged by ", alert.acknowledged_by,
                        alert.ack_comment.empty() ? "" : ": ",
                        alert.ack_comment, "\n");
      }
      absl::StrAppend(
          &body, "  labels: ",
          absl::StrJoin(alert.labels, ", ", absl::PairFormatter("=")), "\n");
    }
  }
  return body;
}

std::string RenderEmailMessage(const Notification& notification,
                               const std::string& from,
                               const std::vector<std::string>& to) {
  std::string message = absl::StrCat(
      "Date: ",
      absl::FormatTime("%a, %d %b %Y %H:%M:%S +0000", notification.at,
                       absl::UTCTimeZone()),
      "\r\nFrom: ", OneLine(from), "\r\nTo: ", OneLine(absl::StrJoin(to, ", ")),
      "\r\nSubject: ", EncodeHeader(NotificationTitle(notification)),
      "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8"
      "\r\nContent-Transfer-Encoding: 8bit\r\n\r\n");
  absl::StrAppend(&message, absl::StrReplaceAll(RenderEmailBody(notification),
                                                {{"\n", "\r\n"}}));
  return message;
}

std::vector<std::string> ProgramEnvironment(const Notification& notification,
                                            absl::string_view receiver) {
  const int firing = notification.FiringCount();
  const Alert* first =
      notification.alerts.empty() ? nullptr : &notification.alerts.front();
  auto group_label = [&](const std::string& name) {
    auto it = notification.group_labels.find(name);
    if (it != notification.group_labels.end()) return it->second;
    return first == nullptr ? std::string() : Label(*first, name);
  };
  return {
      "PATH=/usr/local/bin:/usr/bin:/bin",
      absl::StrCat("EROOM_STATUS=", Status(notification)),
      absl::StrCat("EROOM_RECEIVER=", receiver),
      absl::StrCat("EROOM_GROUP_KEY=", notification.group_key),
      absl::StrCat("EROOM_ALERTNAME=", group_label("alertname")),
      absl::StrCat("EROOM_HOST=", group_label("host")),
      absl::StrCat("EROOM_SEVERITY=", TopSeverity(notification)),
      absl::StrCat("EROOM_FIRING=", firing),
      absl::StrCat("EROOM_RESOLVED=", notification.alerts.size() - firing),
      absl::StrCat("EROOM_SUMMARY=",
                   first == nullptr ? "" : OneLine(first->summary)),
  };
}

}  // namespace eroom::collector::alerting
