#include "cli/room_reports.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cli/table.h"
#include "cli/text_format.h"

namespace eroom::cli {
namespace {
namespace v1 = ::eroom::monitor::v1;

std::string StatusText(const v1::RoomRecord& room) {
  std::string status;
  switch (room.status()) {
    case v1::ROOM_QUEUED:
      status = "queued";
      break;
    case v1::ROOM_RUNNING:
      status = "running";
      break;
    case v1::ROOM_COMPLETED:
      status = "completed";
      break;
    case v1::ROOM_FAILED:
      status = "failed";
      break;
    default:
      status = "unknown";
      break;
  }
  return room.slow() ? absl::StrCat(status, ", slow") : status;
}

// "HH:mm:ss" in the zone; "-" for a time not seen.
std::string ClockTime(int64_t unix_ms, absl::TimeZone zone) {
  if (unix_ms == 0) return "-";
  return absl::FormatTime("%H:%M:%S", absl::FromUnixMillis(unix_ms), zone);
}

std::string DateTime(int64_t unix_ms, absl::TimeZone zone) {
  if (unix_ms == 0) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::FromUnixMillis(unix_ms),
                          zone);
}

// ERoom's processing time; for a room still running, how long it has run.
std::string ProcessingText(const v1::RoomRecord& room, absl::Time now) {
  if (room.status() == v1::ROOM_RUNNING && room.started_unix_ms() != 0) {
    return absl::StrCat(
        "running ",
        FormatAge(now - absl::FromUnixMillis(room.started_unix_ms())));
  }
  return FormatRoomDuration(room.processing_ms());
}

std::string WaitText(const v1::RoomRecord& room, absl::Time now) {
  if (room.status() == v1::ROOM_QUEUED && room.requested_unix_ms() != 0) {
    return absl::StrCat(
        "waiting ",
        FormatAge(now - absl::FromUnixMillis(room.requested_unix_ms())));
  }
  return FormatRoomDuration(room.queue_wait_ms());
}

std::string Milliseconds(double millis) {
  return FormatRoomDuration(static_cast<int64_t>(millis + 0.5));
}

std::string Rate(const v1::ReportFigures& figures) {
  if (figures.rooms_succeeded() + figures.rooms_failed() == 0) return "-";
  return FormatPercent(figures.success_rate() * 100);
}

std::string TopErrorsText(const v1::ReportFigures& figures) {
  std::vector<std::string> shapes;
  for (const v1::ErrorShapeCount& error : figures.top_errors()) {
    shapes.push_back(absl::StrCat(error.count(), "\u00d7", error.shape()));
  }
  return absl::StrJoin(shapes, " | ");
}

}  // namespace

std::string FormatRoomDuration(int64_t millis) {
  if (millis < 0) return "-";
  if (millis < 1000) return absl::StrCat(millis, " ms");
  const int64_t seconds = millis / 1000;
  if (seconds < 60) return absl::StrFormat("%.1fs", millis / 1000.0);
  if (seconds < 3600) {
    return absl::StrFormat("%dm%02ds", seconds / 60, seconds % 60);
  }
  return absl::StrFormat("%dh%02dm", seconds / 3600, seconds % 3600 / 60);
}

void RenderRooms(const v1::ListRoomsResponse& response,
                 const RenderContext& context, std::ostream& out) {
  if (response.rooms().empty()) {
    out << "No rooms in the selected range.\n";
    return;
  }
  Table table({"HOST", "RUID", "REQUESTED", "DEQUEUED", "STARTED", "FINISHED",
               "WAIT", "PROCESSING", "THEME", "STATUS", "OUTCOME"});
  table.SetAlign(6, Table::Align::kRight);
  table.SetAlign(7, Table::Align::kRight);
  for (const v1::RoomRecord& room : response.rooms()) {
    table.AddRow({room.agent_id(), room.ruid(),
                  DateTime(room.requested_unix_ms(), context.zone),
                  ClockTime(room.dequeued_unix_ms(), context.zone),
                  ClockTime(room.started_unix_ms(), context.zone),
                  ClockTime(room.finished_unix_ms(), context.zone),
                  WaitText(room, context.now),
                  ProcessingText(room, context.now),
                  room.theme().empty() ? "-" : room.theme(), StatusText(room),
                  room.outcome().empty() ? "-" : room.outcome()});
  }
  table.Render(out);
}

void RenderRoom(const v1::GetRoomResponse& response,
                const RenderContext& context, std::ostream& out) {
  const v1::RoomRecord& room = response.room();
  Table timeline({"ROOM", Printable(room.ruid())});
  timeline.AddRow({"host", room.agent_id()});
  timeline.AddRow({"status", StatusText(room)});
  timeline.AddRow({"theme", room.theme().empty() ? "-" : room.theme()});
  timeline.AddRow(
      {"requested", DateTime(room.requested_unix_ms(), context.zone)});
  timeline.AddRow(
      {"dequeued", DateTime(room.dequeued_unix_ms(), context.zone)});
  timeline.AddRow({"started", DateTime(room.started_unix_ms(), context.zone)});
  timeline.AddRow(
      {"finished", DateTime(room.finished_unix_ms(), context.zone)});
  timeline.AddRow({"queue wait", WaitText(room, context.now)});
  timeline.AddRow({"processing", ProcessingText(room, context.now)});
  timeline.AddRow({"outcome", room.outcome().empty() ? "-" : room.outcome()});
  timeline.Render(out);
  out << '\n';
  if (response.events().empty()) {
    out << "No log events of this room are stored.\n";
    return;
  }
  v1::QueryLogsResponse events;
  *events.mutable_events() = response.events();
  RenderLogs(events, context, LogRenderOptions{}, out);
}

void RenderDailyReport(const v1::DailyReportResponse& report,
                       const RenderContext& context, std::ostream& out) {
  const absl::Time start = absl::FromUnixMillis(report.day_start_unix_ms());
  out << "Daily report for "
      << absl::FormatTime("%Y-%m-%d", start, context.zone) << " ("
      << DateTime(report.day_start_unix_ms(), context.zone) << " to "
      << DateTime(report.day_end_unix_ms(), context.zone) << ")\n\n";
  std::vector<std::string> headers = {"FIGURE"};
  std::vector<const v1::ReportFigures*> columns;
  for (const v1::HostReport& host : report.hosts()) {
    headers.push_back(
        host.hostname().empty() || host.hostname() == host.agent_id()
            ? host.agent_id()
            : absl::StrCat(host.hostname(), " (", host.agent_id(), ")"));
    columns.push_back(&host.figures());
  }
  headers.push_back("TOTAL");
  columns.push_back(&report.total());
  Table table(headers);
  for (size_t column = 1; column < headers.size(); ++column) {
    table.SetAlign(column, Table::Align::kRight);
  }
  auto row = [&](const std::string& name, auto value_of) {
    std::vector<std::string> cells = {name};
    for (const v1::ReportFigures* figures : columns) {
      cells.push_back(value_of(*figures));
    }
    table.AddRow(std::move(cells));
  };
  using F = v1::ReportFigures;
  row("room requests",
      [](const F& f) { return absl::StrCat(f.room_requests()); });
  row("succeeded",
      [](const F& f) { return absl::StrCat(f.rooms_succeeded()); });
  row("failed", [](const F& f) { return absl::StrCat(f.rooms_failed()); });
  row("  request unseen",
      [](const F& f) { return absl::StrCat(f.rooms_ended_unrequested()); });
  row("success rate", [](const F& f) { return Rate(f); });
  row("processing avg",
      [](const F& f) { return Milliseconds(f.processing_avg_ms()); });
  row("processing p50",
      [](const F& f) { return Milliseconds(f.processing_p50_ms()); });
  row("processing p95",
      [](const F& f) { return Milliseconds(f.processing_p95_ms()); });
  row("processing max",
      [](const F& f) { return Milliseconds(f.processing_max_ms()); });
  row("queue wait avg",
      [](const F& f) { return Milliseconds(f.queue_wait_avg_ms()); });
  row("ERROR lines", [](const F& f) { return absl::StrCat(f.error_lines()); });
  row("WARN lines", [](const F& f) { return absl::StrCat(f.warn_lines()); });
  row("alerts fired",
      [](const F& f) { return absl::StrCat(f.alerts_fired()); });
  row("restarts", [](const F& f) { return absl::StrCat(f.restarts()); });
  table.Render(out);
  if (const int64_t unseen = report.total().rooms_ended_unrequested();
      unseen > 0) {
    out << "\n"
        << unseen << (unseen == 1 ? " room" : " rooms")
        << " ended without its request in the log (made before the agent "
           "watched ERoom): counted in succeeded or failed, not in room "
           "requests.\n";
  }
  if (report.total().top_errors().empty()) return;
  out << "\nTop errors (all hosts)\n";
  Table errors({"COUNT", "SHAPE"});
  errors.SetAlign(0, Table::Align::kRight);
  for (const v1::ErrorShapeCount& error : report.total().top_errors()) {
    errors.AddRow({absl::StrCat(error.count()), error.shape()});
  }
  errors.Render(out);
}

void RenderDailyReportCsv(const v1::DailyReportResponse& report,
                          std::ostream& out) {
  out << "day_start_unix_ms,agent_id,hostname,room_requests,rooms_succeeded,"
         "rooms_failed,rooms_ended_unrequested,success_rate,processing_avg_ms,"
         "processing_p50_ms,"
         "processing_p95_ms,processing_max_ms,queue_wait_avg_ms,error_lines,"
         "warn_lines,alerts_fired,restarts,top_errors\r\n";
  auto row = [&](const std::string& agent_id, const std::string& hostname,
                 const v1::ReportFigures& f) {
    out << report.day_start_unix_ms() << ',' << CsvField(agent_id) << ','
        << CsvField(hostname) << ',' << f.room_requests() << ','
        << f.rooms_succeeded() << ',' << f.rooms_failed() << ','
        << f.rooms_ended_unrequested() << ','
        << absl::StrFormat("%.6g", f.success_rate()) << ','
        << absl::StrFormat("%.10g,%.10g,%.10g,%.10g,%.10g",
                           f.processing_avg_ms(), f.processing_p50_ms(),
                           f.processing_p95_ms(), f.processing_max_ms(),
                           f.queue_wait_avg_ms())
        << ',' << f.error_lines() << ',' << f.warn_lines() << ','
        << f.alerts_fired() << ',' << f.restarts() << ','
        << CsvField(TopErrorsText(f)) << "\r\n";
  };
  for (const v1::HostReport& host : report.hosts()) {
    row(host.agent_id(), host.hostname(), host.figures());
  }
  row("*", "", report.total());
}

}  // namespace eroom::cli
