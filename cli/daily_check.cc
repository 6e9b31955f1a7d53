#include "cli/daily_check.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/renderers.h"
#include "cli/table.h"
#include "cli/text_format.h"

namespace eroom::cli {
namespace v1 = ::eroom::monitor::v1;
namespace {

constexpr char kNoData[] = "no data";

// Collects the rows of one host.
class HostJudge {
 public:
  HostJudge(const v1::HostStatus& host, absl::Time now)
      : host_(host), now_(now) {}

  void Add(std::string check, CheckResult result, std::string detail) {
    rows_.push_back(CheckRow{host_.agent_id(), HostLabel(host_),
                             std::move(check), result, std::move(detail)});
  }
  std::string Ago(int64_t unix_ms) const {
    return absl::StrCat(FormatAge(now_ - absl::FromUnixMillis(unix_ms)),
                        " ago");
  }
  absl::Duration Age(double unix_ms) const {
    return now_ - absl::FromUnixMillis(static_cast<int64_t>(unix_ms));
  }
  std::vector<CheckRow> rows() && { return std::move(rows_); }

 private:
  const v1::HostStatus& host_;
  const absl::Time now_;
  std::vector<CheckRow> rows_;
};

CheckResult Worse(CheckResult a, CheckResult b) { return std::max(a, b); }

void JudgeConnected(const v1::HostStatus& host, HostJudge& judge) {
  if (host.connected() && !host.down()) {
    judge.Add("connected", CheckResult::kPass, "connected");
  } else if (host.last_seen_unix_ms() == 0) {
    judge.Add("connected", CheckResult::kFail, "never seen");
  } else {
    judge.Add(
        "connected", CheckResult::kFail,
        absl::StrCat(host.connected() ? "silent" : "not connected",
                     ", last seen ", judge.Ago(host.last_seen_unix_ms())));
  }
}

void JudgeHealth(const v1::HostStatus& host, HostJudge& judge) {
  if (!host.has_latest_health()) {
    judge.Add("health", CheckResult::kWarn, kNoData);
    return;
  }
  const v1::ProbeResult& health = host.latest_health();
  const std::string when = judge.Ago(health.time_unix_ms());
  if (!health.ok()) {
    judge.Add("health", CheckResult::kFail,
              absl::StrCat("failing: ", ProbeFailure(health), " (", when, ")"));
    return;
  }
  judge.Add("health", CheckResult::kPass,
            absl::StrCat(
                health.health_status().empty() ? "ok" : health.health_status(),
                " (", when, ")"));
}

void JudgeDisks(const v1::HostStatus& host, HostJudge& judge) {
  if (!host.has_latest_sample() || host.latest_sample().disks().empty()) {
    judge.Add("disk", CheckResult::kWarn, kNoData);
    return;
  }
  CheckResult result = CheckResult::kPass;
  std::vector<std::string> parts;
  for (const v1::DiskUsage& disk : host.latest_sample().disks()) {
    if (disk.total_bytes() == 0) continue;
    const double percent = 100.0 * static_cast<double>(disk.used_bytes()) /
                           static_cast<double>(disk.total_bytes());
    if (percent >= kDiskFailPercent) {
      result = Worse(result, CheckResult::kFail);
    } else if (percent >= kDiskWarnPercent) {
      result = Worse(result, CheckResult::kWarn);
    }
    parts.push_back(absl::StrCat(disk.mount(), " ", FormatPercent(percent)));
  }
  judge.Add("disk", result, absl::StrJoin(parts, ", "));
}

void JudgeHousekeeping(const HostCheckData& data, HostJudge& judge) {
  CheckResult result = CheckResult::kPass;
  std::vector<std::string> parts;
  if (!data.housekeeping_last_run_unix_ms.has_value()) {
    result = CheckResult::kWarn;
    parts.push_back("last run: no data");
  } else if (*data.housekeeping_last_run_unix_ms <= 0) {
    result = CheckResult::kWarn;
    parts.push_back("never run");
  } else {
    if (judge.Age(*data.housekeeping_last_run_unix_ms) > kHousekeepingMaxAge) {
      result = CheckResult::kWarn;
    }
    parts.push_back(absl::StrCat(
        "last run ",
        judge.Ago(static_cast<int64_t>(*data.housekeeping_last_run_unix_ms))));
  }
  if (!data.oldest_uncompressed_log_unix_ms.has_value()) {
    result = CheckResult::kWarn;
    parts.push_back("oldest uncompressed log: no data");
  } else if (*data.oldest_uncompressed_log_unix_ms > 0) {
    const absl::Duration age = judge.Age(*data.oldest_uncompressed_log_unix_ms);
    if (age > kUncompressedLogMaxAge) result = CheckResult::kWarn;
    parts.push_back(
        absl::StrCat("oldest uncompressed log ", FormatAge(age), " old"));
  }
  judge.Add("housekeeping", result, absl::StrJoin(parts, ", "));
}

void JudgeErrors(const HostCheckData& data, HostJudge& judge) {
  if (!data.errors_today.has_value()) {
    judge.Add("errors_today", CheckResult::kWarn, kNoData);
  } else if (*data.errors_today > kErrorsTodayThreshold) {
    judge.Add("errors_today", CheckResult::kWarn,
              absl::StrCat("more than ", kErrorsTodayThreshold,
                           " ERROR lines since midnight"));
  } else {
    judge.Add("errors_today", CheckResult::kPass,
              absl::StrCat(*data.errors_today, " ERROR lines since midnight"));
  }
}

void JudgeQueue(const v1::HostStatus& host, HostJudge& judge) {
  if (!host.has_latest_queue()) {
    judge.Add("queue", CheckResult::kWarn, kNoData);
    return;
  }
  const v1::ProbeResult& probe = host.latest_queue();
  if (!probe.ok() || !probe.has_queue()) {
    judge.Add("queue", CheckResult::kWarn,
              absl::StrCat("probe failed: ", ProbeFailure(probe)));
    return;
  }
  const v1::QueueStatus& queue = probe.queue();
  std::string detail =
      absl::StrCat(queue.queued(), " queued, ", queue.active(), " active");
  if (queue.queued() > kQueueBacklogThreshold) {
    absl::StrAppend(&detail, ": backlog (more than ", kQueueBacklogThreshold,
                    ")");
    judge.Add("queue", CheckResult::kWarn, std::move(detail));
    return;
  }
  judge.Add("queue", CheckResult::kPass, std::move(detail));
}

void JudgeProcess(const v1::HostStatus& host, HostJudge& judge) {
  if (!host.has_latest_sample()) {
    judge.Add("eroom_process", CheckResult::kWarn, kNoData);
    return;
  }
  const v1::ProcessState& eroom = host.latest_sample().eroom();
  if (!eroom.up()) {
    judge.Add("eroom_process", CheckResult::kFail, "process down");
  } else if (!eroom.port_listening()) {
    judge.Add(
        "eroom_process", CheckResult::kFail,
        absl::StrCat("up (pid ", eroom.pid(), ") but port not listening"));
  } else {
    judge.Add("eroom_process", CheckResult::kPass,
              absl::StrCat("up (pid ", eroom.pid(), "), port listening"));
  }
}

// Events dropped over the day: the counter's increases, where a decrease
// is the agent starting again from 0.
double DroppedToday(const std::vector<double>& totals) {
  double dropped = 0;
  for (size_t i = 1; i < totals.size(); ++i) {
    dropped +=
        totals[i] >= totals[i - 1] ? totals[i] - totals[i - 1] : totals[i];
  }
  return dropped;
}

void JudgeSpool(const HostCheckData& data, HostJudge& judge) {
  CheckResult result = CheckResult::kPass;
  std::vector<std::string> parts;
  if (!data.spool_events.has_value()) {
    result = CheckResult::kWarn;
    parts.push_back("backlog: no data");
  } else {
    if (*data.spool_events > kSpoolBacklogThreshold) {
      result = CheckResult::kWarn;
    }
    parts.push_back(absl::StrCat("backlog ", *data.spool_events, " events"));
  }
  if (data.events_dropped_total_today.empty()) {
    result = CheckResult::kWarn;
    parts.push_back("drops: no data");
  } else {
    const double dropped = DroppedToday(data.events_dropped_total_today);
    if (dropped > 0) result = CheckResult::kWarn;
    parts.push_back(absl::StrCat(dropped, " dropped today"));
  }
  judge.Add("agent_spool", result, absl::StrJoin(parts, ", "));
}

void JudgeAlerts(const v1::HostStatus& host, HostJudge& judge) {
  if (host.firing_alerts().empty()) {
    judge.Add("alerts", CheckResult::kPass, "none firing");
    return;
  }
  CheckResult result = CheckResult::kPass;
  std::vector<std::string> alerts;
  for (const v1::AlertRecord& alert : host.firing_alerts()) {
    std::string severity = "info";
    if (alert.severity() == v1::SEVERITY_CRITICAL) {
      result = Worse(result, CheckResult::kFail);
      severity = "critical";
    } else if (alert.severity() == v1::SEVERITY_WARNING) {
      result = Worse(result, CheckResult::kWarn);
      severity = "warning";
    }
    alerts.push_back(
        absl::StrCat(severity, " ", alert.rule(), " (#", alert.id(), ")"));
  }
  judge.Add(
      "alerts", result,
      absl::StrCat(alerts.size(), " firing: ", absl::StrJoin(alerts, ", ")));
}

}  // namespace

std::vector<CheckRow> JudgeHost(const HostCheckData& data, absl::Time now) {
  HostJudge judge(data.host, now);
  JudgeConnected(data.host, judge);
  JudgeHealth(data.host, judge);
  JudgeDisks(data.host, judge);
  JudgeHousekeeping(data, judge);
  JudgeErrors(data, judge);
  JudgeQueue(data.host, judge);
  JudgeProcess(data.host, judge);
  JudgeSpool(data, judge);
  JudgeAlerts(data.host, judge);
  return std::move(judge).rows();
}

int CheckExitCode(const std::vector<CheckRow>& rows) {
  CheckResult worst = CheckResult::kPass;
  for (const CheckRow& row : rows) worst = Worse(worst, row.result);
  switch (worst) {
    case CheckResult::kPass:
      return 0;
    case CheckResult::kWarn:
      return kExitCheckWarning;
    case CheckResult::kFail:
      return kExitCheckFailure;
  }
  return kExitCheckFailure;
}

std::string_view CheckResultName(CheckResult result) {
  switch (result) {
    case CheckResult::kPass:
      return "pass";
    case CheckResult::kWarn:
      return "warn";
    case CheckResult::kFail:
      return "fail";
  }
  return "fail";
}

void RenderCheckRows(const std::vector<CheckRow>& rows, std::ostream& out) {
  if (rows.empty()) {
    out << "No hosts have reported to the collector yet.\n";
    return;
  }
  Table table({"HOST", "CHECK", "RESULT", "DETAIL"});
  for (const CheckRow& row : rows) {
    table.AddRow({row.host, row.check, std::string(CheckResultName(row.result)),
                  row.detail});
  }
  table.Render(out);
}

}  // namespace eroom::cli
