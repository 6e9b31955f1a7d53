#ifndef EROOM_AGENT_HOUSEKEEPING_SCHEDULE_H_
#define EROOM_AGENT_HOUSEKEEPING_SCHEDULE_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/log_housekeeper.h"
#include "common/clock.h"
#include "eroom/monitor/v1/monitor.pb.h"

namespace eroom::agent {

// The first instant after `now` at which the time of day in `zone` is
// `daily_at` (from midnight): today's if it is still ahead, else
// tomorrow's. On a day whose clocks skip that time, the instant the
// skipped hour maps to; on one that repeats it, its first occurrence.
absl::Time NextDailyRun(absl::Time now, absl::Duration daily_at,
                        absl::TimeZone zone);

// What one run did, counted, and in words: "compressed N files, deleted M
// archives, freed X MB" ("would compress ..." for a dry run), followed by
// "; K failed, first PATH: WHY" when an action failed.
struct HousekeepingSummary {
  int compressed = 0;
  int deleted = 0;
  int failed = 0;
  std::string text;
};
HousekeepingSummary SummarizeHousekeeping(
    const eroom::monitor::v1::HousekeepingReport& report);

// The notice a scheduled run reports: "housekeeping_done" ("compressed N
// files, deleted M archives, freed X MB", counting the actions), or
// "housekeeping_failed" when the run could not start or an action failed
// (counting those, with the first error).
eroom::monitor::v1::Event HousekeepingNotice(
    const absl::StatusOr<eroom::monitor::v1::HousekeepingReport>& report,
    absl::Time now);

// The daily run of the log housekeeping, driven by the "housekeeping"
// thread calling Tick (every minute is enough), so that a wall clock set
// forward or back moves the run with it. A run missed (the agent was
// stopped) is not caught up: the next day's comes.
class DailyHousekeeping {
 public:
  DailyHousekeeping(LogHousekeeper& housekeeper, absl::Duration daily_at,
                    absl::TimeZone zone, const Clock& clock);

  // Runs the housekeeping if its time came since the last run (or since
  // construction), and returns its notice to spool.
  std::optional<eroom::monitor::v1::Event> Tick();

  absl::Time next_run() const { return next_run_; }

 private:
  LogHousekeeper& housekeeper_;
  const absl::Duration daily_at_;
  const absl::TimeZone zone_;
  const Clock& clock_;
  absl::Time next_run_;
};

}  // namespace eroom::agent

#endif  // EROOM_AGENT_HOUSEKEEPING_SCHEDULE_H_
