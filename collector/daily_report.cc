#include "collector/daily_report.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"

namespace eroom::collector {
namespace {
namespace v1 = ::eroom::monitor::v1;

double Mean(const std::vector<int64_t>& values) {
  if (values.empty()) return 0;
  double sum = 0;
  for (int64_t value : values) sum += static_cast<double>(value);
  return sum / static_cast<double>(values.size());
}

// The figures of the hosts' activities, `alerts_fired` given.
v1::ReportFigures FiguresOf(const std::vector<const HostDayActivity*>& hosts,
                            int64_t alerts_fired) {
  v1::ReportFigures figures;
  std::vector<int64_t> processing;
  std::vector<int64_t> waits;
  // By shape: how many, and the least example.
  std::map<std::string, HostDayActivity::ErrorShape> shapes;
  for (const HostDayActivity* host : hosts) {
    figures.set_room_requests(figures.room_requests() + host->room_requests);
    for (const v1::RoomRecord& room : host->ended_rooms) {
      if (room.status() == v1::ROOM_COMPLETED) {
        figures.set_rooms_succeeded(figures.rooms_succeeded() + 1);
      } else {
        figures.set_rooms_failed(figures.rooms_failed() + 1);
      }
      if (room.requested_unix_ms() == 0) {
        figures.set_rooms_ended_unrequested(figures.rooms_ended_unrequested() +
                                            1);
      }
      if (room.processing_ms() >= 0) processing.push_back(room.processing_ms());
      if (room.queue_wait_ms() >= 0) waits.push_back(room.queue_wait_ms());
    }
    figures.set_error_lines(figures.error_lines() + host->error_lines);
    figures.set_warn_lines(figures.warn_lines() + host->warn_lines);
    for (const HostDayActivity::ErrorShape& error : host->error_shapes) {
      HostDayActivity::ErrorShape& merged = shapes[error.shape];
      if (merged.count == 0 || error.example < merged.example) {
        merged.example = error.example;
      }
      merged.count += error.count;
    }
    figures.set_restarts(figures.restarts() + host->server_starts);
  }
  const int64_t ended = figures.rooms_succeeded() + figures.rooms_failed();
  figures.set_success_rate(
      ended == 0 ? 0
                 : static_cast<double>(figures.rooms_succeeded()) /
                       static_cast<double>(ended));
  std::sort(processing.begin(), processing.end());
  figures.set_processing_avg_ms(Mean(processing));
  figures.set_processing_p50_ms(NearestRankPercentile(processing, 50));
  figures.set_processing_p95_ms(NearestRankPercentile(processing, 95));
  figures.set_processing_max_ms(processing.empty() ? 0 : processing.back());
  figures.set_queue_wait_avg_ms(Mean(waits));

  std::vector<v1::ErrorShapeCount> top;
  for (const auto& [shape, counted] : shapes) {
    v1::ErrorShapeCount& entry = top.emplace_back();
    entry.set_shape(shape);
    entry.set_count(counted.count);
    entry.set_example(counted.example);
  }
  std::sort(top.begin(), top.end(),
            [](const v1::ErrorShapeCount& a, const v1::ErrorShapeCount& b) {
              return a.count() != b.count() ? a.count() > b.count()
                                            : a.shape() < b.shape();
            });
  if (top.size() > kTopErrorShapes) top.resize(kTopErrorShapes);
  for (v1::ErrorShapeCount& entry : top) {
    *figures.add_top_errors() = std::move(entry);
  }
  figures.set_alerts_fired(alerts_fired);
  return figures;
}

bool Covers(const std::vector<std::string>& agent_ids,
            const std::string& agent_id) {
  return agent_ids.empty() || std::find(agent_ids.begin(), agent_ids.end(),
                                        agent_id) != agent_ids.end();
}

}  // namespace

absl::StatusOr<ReportDay> DayOf(const std::string& date, int utc_offset_minutes,
                                absl::Time now) {
  if (utc_offset_minutes < kMinUtcOffsetMinutes ||
      utc_offset_minutes > kMaxUtcOffsetMinutes) {
    return absl::InvalidArgumentError(
        absl::StrCat("utc_offset_minutes: ", utc_offset_minutes,
                     " is not from ", kMinUtcOffsetMinutes, " to ",
                     kMaxUtcOffsetMinutes, " (UTC-12 to +14)"));
  }
  const absl::TimeZone zone = absl::FixedTimeZone(utc_offset_minutes * 60);
  absl::CivilDay day = absl::ToCivilDay(now, zone);
  if (!date.empty()) {
    // ParseCivilTime normalizes 2025-02-30 to March: a date must print back
    // as it was given.
    if (!absl::ParseCivilTime(date, &day) ||
        absl::FormatCivilTime(day) != date) {
      return absl::InvalidArgumentError(
          absl::StrCat("date: '", date, "' is not a date written YYYY-MM-DD"));
    }
  }
  return ReportDay{absl::FromCivil(day, zone), absl::FromCivil(day + 1, zone)};
}

int64_t NearestRankPercentile(const std::vector<int64_t>& sorted,
                              double percent) {
  if (sorted.empty()) return 0;
  const double rank =
      std::ceil(percent / 100.0 * static_cast<double>(sorted.size()));
  const size_t index = static_cast<size_t>(std::max(rank, 1.0)) - 1;
  return sorted[std::min(index, sorted.size() - 1)];
}

v1::DailyReportResponse BuildDailyReport(
    const ReportDay& day, std::vector<HostDayActivity> activities,
    const std::vector<alerting::AlertEvent>& alert_changes,
    const std::vector<std::string>& agent_ids) {
  std::map<std::string, int64_t> fired_by_host;
  int64_t fired = 0;
  for (const alerting::AlertEvent& change : alert_changes) {
    if (change.kind != alerting::AlertEvent::Kind::kFiring ||
        change.at < day.start || change.at >= day.end) {
      continue;
    }
    const std::string& agent_id = change.alert.key.agent_id;
    if (!agent_id.empty() && !Covers(agent_ids, agent_id)) continue;
    if (agent_id.empty() && !agent_ids.empty()) continue;
    ++fired;
    if (!agent_id.empty()) ++fired_by_host[agent_id];
  }
  for (const auto& host_fired : fired_by_host) {
    const std::string& agent_id = host_fired.first;
    const bool listed = std::any_of(
        activities.begin(), activities.end(),
        [&](const HostDayActivity& a) { return a.agent_id == agent_id; });
    if (!listed) activities.emplace_back().agent_id = agent_id;
  }
  std::sort(activities.begin(), activities.end(),
            [](const HostDayActivity& a, const HostDayActivity& b) {
              return a.agent_id < b.agent_id;
            });

  v1::DailyReportResponse response;
  response.set_day_start_unix_ms(absl::ToUnixMillis(day.start));
  response.set_day_end_unix_ms(absl::ToUnixMillis(day.end));
  std::vector<const HostDayActivity*> all;
  for (const HostDayActivity& activity : activities) {
    all.push_back(&activity);
    v1::HostReport* host = response.add_hosts();
    host->set_agent_id(activity.agent_id);
    host->set_hostname(activity.hostname);
    auto it = fired_by_host.find(activity.agent_id);
    *host->mutable_figures() =
        FiguresOf({&activity}, it == fired_by_host.end() ? 0 : it->second);
  }
  *response.mutable_total() = FiguresOf(all, fired);
  return response;
}

}  // namespace eroom::collector
