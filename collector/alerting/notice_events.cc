#include "collector/alerting/notice_events.h"

#include <algorithm>

#include "absl/strings/match.h"

namespace eroom::collector::alerting {
namespace v1 = ::eroom::monitor::v1;

const std::vector<std::string>& NoticeEventTypes() {
  static const std::vector<std::string> types = [] {
    std::vector<std::string> all = {
        "restart_started",
        "restart_succeeded",
        "restart_failed",
        "auto_restart_attempt",
        "auto_restart_succeeded",
        "auto_restart_failed",
        "auto_restart_limit_reached",
        "housekeeping_done",
        "housekeeping_failed",
    };
    std::sort(all.begin(), all.end());
    return all;
  }();
  return types;
}

std::optional<v1::LogEvent> NoticeAsLogEvent(const v1::AgentNotice& notice) {
  if (!std::binary_search(NoticeEventTypes().begin(), NoticeEventTypes().end(),
                          notice.kind())) {
    return std::nullopt;
  }
  v1::LogEvent event;
  event.set_time_unix_ms(notice.time_unix_ms());
  event.set_event_type(notice.kind());
  event.set_level(absl::EndsWith(notice.kind(), "_failed") ||
                          absl::EndsWith(notice.kind(), "_limit_reached")
                      ? v1::WARN
                      : v1::INFO);
  event.set_message(notice.message());
  event.set_logger("eroom-agent");
  return event;
}

RestartMark RestartMarkOf(std::string_view kind) {
  if (kind == "restart_started" || kind == "auto_restart_attempt") {
    return RestartMark::kStarted;
  }
  if (kind == "restart_succeeded" || kind == "restart_failed" ||
      kind == "auto_restart_succeeded" || kind == "auto_restart_failed" ||
      kind == "auto_restart_limit_reached") {
    return RestartMark::kEnded;
  }
  return RestartMark::kNone;
}

}  // namespace eroom::collector::alerting
