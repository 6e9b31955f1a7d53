#ifndef EROOM_CLI_ROOM_REPORTS_H_
#define EROOM_CLI_ROOM_REPORTS_H_

#include <cstdint>
#include <ostream>
#include <string>

#include "cli/renderers.h"
#include "eroom/monitor/v1/monitor.pb.h"

// Output of `eroomctl rooms`, `room` and `report daily`.
namespace eroom::cli {

// A room's duration as people read it: "850 ms", "45.2s", "6m12s",
// "1h02m"; "-" when unknown (negative).
std::string FormatRoomDuration(int64_t millis);

// One line per room, in the collector's order (newest first): requested,
// dequeued, started and finished times, queue wait, processing time (a
// running room's age, "running 7m"), theme, status and outcome.
void RenderRooms(const eroom::monitor::v1::ListRoomsResponse& response,
                 const RenderContext& context, std::ostream& out);
// The room's timeline, then its log events oldest first.
void RenderRoom(const eroom::monitor::v1::GetRoomResponse& response,
                const RenderContext& context, std::ostream& out);

// The day's figures: one column per host and the total, then each host's
// top error shapes.
void RenderDailyReport(const eroom::monitor::v1::DailyReportResponse& report,
                       const RenderContext& context, std::ostream& out);
// One row per host and one for the total (agent_id "*"), RFC 4180 with
// CRLF: the figures, and the top error shapes as "count×shape" joined by
// " | ". Text fields go through CsvField.
void RenderDailyReportCsv(const eroom::monitor::v1::DailyReportResponse& report,
                          std::ostream& out);

}  // namespace eroom::cli

#endif  // EROOM_CLI_ROOM_REPORTS_H_
