#ifndef EROOM_COLLECTOR_ALERTING_NOTICE_EVENTS_H_
#define EROOM_COLLECTOR_ALERTING_NOTICE_EVENTS_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "eroom/monitor/v1/monitor.pb.h"

namespace eroom::collector::alerting {

// Agent notices about the agent's own operations (restarts of ERoom, log
// housekeeping) that alert rules see as log events whose event_type is the
// notice's kind, so that a log_match rule can name them. Sorted.
const std::vector<std::string>& NoticeEventTypes();

// `notice` as the log event rules see, at `time_unix_ms`: level WARN for a
// failure (a kind ending in _failed or _limit_reached), else INFO; nullopt
// for a kind outside NoticeEventTypes(). Never ERROR: the rules about ERROR
// lines count ERoom's own errors, and each failure has a rule of its own.
std::optional<eroom::monitor::v1::LogEvent> NoticeAsLogEvent(
    const eroom::monitor::v1::AgentNotice& notice);

// Where a notice stands in a restart of ERoom by its agent: the start of
// one, its end (either way), or neither.
enum class RestartMark { kNone, kStarted, kEnded };
RestartMark RestartMarkOf(std::string_view kind);

}  // namespace eroom::collector::alerting

#endif  // EROOM_COLLECTOR_ALERTING_NOTICE_EVENTS_H_
