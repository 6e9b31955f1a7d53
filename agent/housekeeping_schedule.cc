#include "agent/housekeeping_schedule.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/metric_catalog.h"

namespace eroom::agent {

namespace v1 = ::eroom::monitor::v1;

absl::Time NextDailyRun(absl::Time now, absl::Duration daily_at,
                        absl::TimeZone zone) {
  const absl::CivilDay today = absl::ToCivilDay(now, zone);
  const int64_t seconds = absl::ToInt64Seconds(daily_at);
  for (absl::CivilDay day = today;; ++day) {
    const absl::Time run =
        absl::FromCivil(absl::CivilSecond(day) + seconds, zone);
    if (run > now) return run;
  }
}

HousekeepingSummary SummarizeHousekeeping(
    const v1::HousekeepingReport& report) {
  HousekeepingSummary summary;
  const v1::HousekeepingAction* first_failure = nullptr;
  for (const v1::HousekeepingAction& action : report.actions()) {
    if (!action.reason().empty()) {
      if (summary.failed++ == 0) first_failure = &action;
    } else if (action.kind() == v1::HousekeepingAction::COMPRESS) {
      ++summary.compressed;
    } else if (action.kind() == v1::HousekeepingAction::DELETE_ARCHIVE) {
      ++summary.deleted;
    }
  }
  const bool dry_run = report.dry_run();
  summary.text =
      absl::StrFormat("%s %d files, %s %d archives, %s %.1f MB",
                      dry_run ? "would compress" : "compressed",
                      summary.compressed, dry_run ? "delete" : "deleted",
                      summary.deleted, dry_run ? "free" : "freed",
                      static_cast<double>(report.bytes_freed()) / (1 << 20));
  if (first_failure != nullptr) {
    absl::StrAppend(&summary.text, "; ", summary.failed, " failed, first ",
                    first_failure->path(), ": ", first_failure->reason());
  }
  return summary;
}

v1::Event HousekeepingNotice(
    const absl::StatusOr<v1::HousekeepingReport>& report, absl::Time now) {
  v1::Event event;
  v1::AgentNotice& notice = *event.mutable_notice();
  notice.set_time_unix_ms(absl::ToUnixMillis(now));
  if (!report.ok()) {
    notice.set_kind(notice_kind::kHousekeepingFailed);
    notice.set_count(1);
    notice.set_message(absl::StrCat("log housekeeping could not run: ",
                                    report.status().message()));
    return event;
  }
  const HousekeepingSummary summary = SummarizeHousekeeping(*report);
  notice.set_kind(summary.failed == 0 ? notice_kind::kHousekeepingDone
                                      : notice_kind::kHousekeepingFailed);
  notice.set_count(summary.failed == 0 ? summary.compressed + summary.deleted
                                       : summary.failed);
  notice.set_message(summary.text);
  return event;
}

DailyHousekeeping::DailyHousekeeping(LogHousekeeper& housekeeper,
                                     absl::Duration daily_at,
                                     absl::TimeZone zone, const Clock& clock)
    : housekeeper_(housekeeper),
      daily_at_(daily_at),
      zone_(zone),
      clock_(clock),
      next_run_(NextDailyRun(clock.Now(), daily_at, zone)) {}

std::optional<v1::Event> DailyHousekeeping::Tick() {
  const absl::Time now = clock_.Now();
  if (now < next_run_) {
    // The clock went back: so does the run.
    next_run_ = std::min(next_run_, NextDailyRun(now, daily_at_, zone_));
    return std::nullopt;
  }
  absl::StatusOr<v1::HousekeepingReport> report = housekeeper_.Run(false);
  next_run_ = NextDailyRun(clock_.Now(), daily_at_, zone_);
  return HousekeepingNotice(report, clock_.Now());
}

}  // namespace eroom::agent
