#include "agent/agent.h"

#include <malloc.h>

#include "absl/strings/str_cat.h"
#include "agent/agent_state.h"
#include "agent/housekeeping_schedule.h"
#include "agent/issued_token.h"
#include "agent/log_resume.h"
#include "common/logging.h"
#include "common/metric_catalog.h"
#include "common/status_macros.h"
#include "spdlog/spdlog.h"

namespace eroom::agent {
namespace v1 = ::eroom::monitor::v1;
namespace {

// Turns the growth of a degradation counter (repaired, cut or unreadable
// input) into an AgentNotice, so it is visible at the collector, not only
// in this host's log. Owned by the thread that reads the counter.
class GrowthReporter {
 public:
  GrowthReporter(std::string kind, std::string what)
      : kind_(std::move(kind)), what_(std::move(what)) {}

  void Check(uint64_t total, absl::Time now, Spool& spool,
             absl::string_view detail = "") {
    if (total <= reported_) return;
    v1::Event event;
    v1::AgentNotice* notice = event.mutable_notice();
    notice->set_time_unix_ms(absl::ToUnixMillis(now));
    notice->set_kind(kind_);
    notice->set_count(static_cast<int64_t>(total - reported_));
    notice->set_message(absl::StrCat(total - reported_, " ", what_, " (", total,
                                     " since the agent started",
                                     detail.empty() ? "" : "; ", detail, ")"));
    // A notice the spool refuses is counted there and reported as a drop.
    spool.Append({std::move(event)}).IgnoreError();
    reported_ = total;
  }

 private:
  const std::string kind_;
  const std::string what_;
  uint64_t reported_ = 0;
};

// The commands' procedures on this host. The housekeeper is read at each
// run, so it may be set after this is made.
class AgentCommandActions final : public CommandActions {
 public:
  AgentCommandActions(agent::SafeRestart* safe_restart,
                      const std::unique_ptr<LogHousekeeper>& housekeeper)
      : safe_restart_(safe_restart), housekeeper_(housekeeper) {}

  v1::CommandProgress SafeRestart(const AllowedCommand& command,
                                  const StepReporter& report,
                                  const absl::Notification& canceled) override {
    if (safe_restart_ == nullptr) {
      return Failed("", "safe restart is not enabled in this agent's config");
    }
    return safe_restart_->Run(command, report, canceled);
  }

  v1::CommandProgress LogHousekeeping(const AllowedCommand& command,
                                      const StepReporter& report) override {
    if (housekeeper_ == nullptr) {
      return Failed("housekeeping",
                    "log housekeeping is not enabled in this agent's config");
    }
    v1::CommandProgress step;
    step.set_step("housekeeping");
    step.set_message(command.dry_run
                         ? "dry run: looking at the ERoom log files"
                         : "compressing and deleting old ERoom log files");
    report(step);
    absl::StatusOr<v1::HousekeepingReport> done =
        housekeeper_->Run(command.dry_run);
    if (!done.ok()) {
      return Failed("housekeeping", std::string(done.status().message()));
    }
    v1::CommandProgress succeeded;
    succeeded.set_state(v1::SUCCEEDED);
    succeeded.set_step("housekeeping");
    succeeded.set_message(SummarizeHousekeeping(*done).text);
    *succeeded.mutable_housekeeping() = *std::move(done);
    return succeeded;
  }

 private:
  static v1::CommandProgress Failed(std::string step, std::string message) {
    v1::CommandProgress failed;
    failed.set_state(v1::FAILED);
    failed.set_step(std::move(step));
    failed.set_message(std::move(message));
    return failed;
  }

  agent::SafeRestart* const safe_restart_;
  const std::unique_ptr<LogHousekeeper>& housekeeper_;
};

}  // namespace

Agent::Agent(AgentConfig config, const Clock& clock)
    : config_(std::move(config)), clock_(clock) {}

absl::StatusOr<std::unique_ptr<Agent>> Agent::Create(AgentConfig config,
                                                     const Clock& clock) {
  std::unique_ptr<Agent> agent(new Agent(std::move(config), clock));
  v1::AgentHello hello;
  hello.set_agent_id(agent->config_.agent_id);
  hello.set_hostname(agent->config_.hostname);
  hello.set_version(EROOM_VERSION);
  hello.mutable_labels()->insert(agent->config_.labels.begin(),
                                 agent->config_.labels.end());
  hello.set_started_unix_ms(absl::ToUnixMillis(clock.Now()));
  absl::StatusOr<std::unique_ptr<Spool>> spool =
      Spool::Open({.path = agent->config_.state_dir + "/agent-state.db",
                   .max_spool_bytes = agent->config_.spool_max_bytes});
  if (!spool.ok()) return spool.status();
  agent->spool_ = std::move(*spool);
  const CommandPolicy& commands = agent->config_.commands;
  if (commands.safe_restart.enabled) {
    NoticeSink notices = [spool = agent->spool_.get()](v1::AgentNotice notice) {
      v1::Event event;
      *event.mutable_notice() = std::move(notice);
      // A notice the spool refuses is counted there and reported as a drop.
      spool->Append({std::move(event)}).IgnoreError();
    };
    agent->restart_host_ = CreateRealRestartHost(agent->config_, clock);
    agent->safe_restart_ = std::make_unique<SafeRestart>(
        commands.safe_restart, *agent->restart_host_, notices, clock);
    if (commands.auto_restart.enabled) {
      agent->auto_restart_ = std::make_unique<AutoRestart>(
          commands.auto_restart, *agent->safe_restart_, *agent->restart_host_,
          notices, clock);
    }
  }
  agent->actions_ = std::make_unique<AgentCommandActions>(
      agent->safe_restart_.get(), agent->housekeeper_);
  agent->commands_ = std::make_unique<CommandRunner>(
      commands, clock, agent->actions_.get(), agent->spool_.get());
  if (agent->auto_restart_ != nullptr) {
    // On the commands thread: an attempt never overlaps a remote command.
    agent->commands_->SetIdleTask(
        [auto_restart = agent->auto_restart_.get()] { auto_restart->Check(); },
        agent->config_.sample_interval);
  }
  UplinkOptions uplink = agent->config_.uplink;
  uplink.issued_token_path = agent->config_.state_dir + "/agent-token";
  absl::StatusOr<std::optional<std::string>> issued =
      LoadIssuedToken(uplink.issued_token_path);
  if (!issued.ok()) return issued.status();
  // Once enrolled, the agent is known by the token the collector issued.
  if (issued->has_value()) uplink.security.token = **issued;
  agent->uplink_ =
      std::make_unique<Uplink>(std::move(uplink), std::move(hello),
                               *agent->spool_, *agent->commands_, clock);
  if (!agent->spool_->moved_aside().empty()) {
    v1::Event event;
    v1::AgentNotice* notice = event.mutable_notice();
    notice->set_time_unix_ms(absl::ToUnixMillis(clock.Now()));
    notice->set_kind(notice_kind::kSpoolReplaced);
    notice->set_message(absl::StrCat(
        "the agent's state database was damaged; moved to ",
        agent->spool_->moved_aside(),
        ", undelivered samples, probe results and notices in it are lost; "
        "logs resume after what the collector stored"));
    agent->spool_->Append({std::move(event)}).IgnoreError();
  }

  // Otherwise the logs thread creates it once the collector said where the
  // logs resume.
  if (!agent->spool_->log_resume_pending()) {
    absl::StatusOr<std::unique_ptr<LogTailer>> tailer =
        LogTailer::Create(agent->config_.logs, clock, *agent->spool_);
    if (!tailer.ok()) return tailer.status();
    agent->tailer_ = std::move(*tailer);
  }
  agent->sampler_ = ResourceSampler::Create(agent->config_.resources, clock);
  agent->prober_ = HttpProber::Create(agent->config_.probes, clock);
  if (agent->config_.commands.log_housekeeping.enabled) {
    Agent* self = agent.get();
    agent->housekeeper_ = LogHousekeeper::Create(
        agent->config_.commands.log_housekeeping, agent->config_.logs,
        [self]() -> absl::StatusOr<std::vector<LogFileStatus>> {
          absl::MutexLock lock(&self->tailed_files_mu_);
          if (!self->tailed_files_.has_value()) {
            return absl::UnavailableError(
                "log reading has not started: what the tailer read is "
                "unknown");
          }
          return *self->tailed_files_;
        },
        clock);
  } else {
    agent->oldest_log_at_start_unix_ms_ = OldestLogUnixMs(agent->config_.logs);
  }
  return agent;
}

Agent::~Agent() { Stop(); }

v1::AgentState Agent::CurrentAgentState() const {
  HousekeepingState housekeeping{.oldest_uncompressed_log_unix_ms =
                                     oldest_log_at_start_unix_ms_};
  if (housekeeper_ != nullptr) {
    housekeeping = {.last_run_unix_ms = housekeeper_->last_run_unix_ms(),
                    .oldest_uncompressed_log_unix_ms =
                        housekeeper_->oldest_uncompressed_log_unix_ms()};
  }
  return MakeAgentState(spool_->stats(), housekeeping);
}

void Agent::StartPeriodic(const char* name, absl::Duration interval,
                          std::function<void()> tick) {
  producers_.emplace_back([this, name, interval, tick = std::move(tick)] {
    SetThreadName(name);
    do {
      tick();
    } while (!producers_stop_.WaitForNotificationWithTimeout(interval));
  });
}

bool Agent::ResumeLogs() {
  std::optional<std::vector<v1::LogResumePoint>> points;
  while (!points.has_value()) {
    if (producers_stop_.HasBeenNotified()) return false;
    points = spool_->AwaitLogResumePoints(config_.log_poll_interval);
  }
  absl::StatusOr<std::unique_ptr<LogTailer>> tailer =
      [&]() -> absl::StatusOr<std::unique_ptr<LogTailer>> {
    EROOM_RETURN_IF_ERROR(
        spool_->ResumeLogs(PlanLogResume(config_.logs, *points)));
    return LogTailer::Create(config_.logs, clock_, *spool_);
  }();
  if (!tailer.ok()) {
    spdlog::error("log reading cannot resume: {}", tailer.status().ToString());
    return false;
  }
  absl::MutexLock lock(&tailer_mu_);
  tailer_ = std::move(*tailer);
  return true;
}

void Agent::Start() {
  commands_->Start();
  uplink_thread_ = std::thread([this] {
    SetThreadName("uplink");
    uplink_->Run(uplink_stop_, kFlushTimeout);
    uplink_exited_.Notify();
  });
  producers_.emplace_back([this] {
    SetThreadName("logs");
    GrowthReporter truncated(notice_kind::kLogLinesTruncated,
                             "log lines or events cut at the size limit");
    GrowthReporter dropped(notice_kind::kLogLinesDropped,
                           "continuation lines dropped after a cut event");
    GrowthReporter repaired(notice_kind::kLogUtf8Repaired,
                            "invalid UTF-8 sequences replaced by U+FFFD");
    GrowthReporter undecodable(notice_kind::kLogBytesUndecodable,
                               "bytes the file's encoding could not decode");
    GrowthReporter unreadable(notice_kind::kLogFileProblems,
                              "log file warnings (unreadable, not a file)");
    GrowthReporter paused(notice_kind::kLogReadingPaused,
                          "times log events could not be spooled (spool full "
                          "or failing): reading paused, the files buffer");
    if (tailer_ == nullptr && !ResumeLogs()) return;
    while (!producers_stop_.HasBeenNotified()) {
      tailer_->PollOnce();
      {
        absl::MutexLock lock(&tailed_files_mu_);
        tailed_files_ = tailer_->Files();
      }
      LogTailerStats stats = tailer_->Stats();
      absl::Time now = clock_.Now();
      truncated.Check(stats.truncated_lines + stats.truncated_events, now,
                      *spool_);
      dropped.Check(stats.dropped_lines, now, *spool_);
      repaired.Check(stats.utf8_replacements, now, *spool_);
      undecodable.Check(stats.encoding_replacements, now, *spool_);
      unreadable.Check(stats.file_errors, now, *spool_);
      paused.Check(
          stats.commit_failures, now, *spool_,
          absl::StrCat(stats.bytes_behind, " bytes of log not read yet"));
      tailer_->WaitForChange(config_.log_poll_interval);
    }
  });
  StartPeriodic(
      "sampler", config_.sample_interval,
      [this,
       failures = GrowthReporter(notice_kind::kSamplerReadFailures,
                                 "procfs or disk reads failed")]() mutable {
        v1::Event event;
        *event.mutable_sample() = sampler_->Sample();
        *event.mutable_sample()->mutable_agent() = CurrentAgentState();
        spool_->Append({std::move(event)}).IgnoreError();
        failures.Check(sampler_->failed_reads(), clock_.Now(), *spool_);
        // glibc returns only the top of a heap to the kernel by itself: the
        // megabytes a burst (a log backlog, a reconnect) freed in the middle
        // would stay resident for good.
        malloc_trim(0);
      });
  StartPeriodic("prober", config_.probe_interval, [this] {
    for (v1::ProbeTarget target : {v1::HEALTH, v1::QUEUE_STATUS}) {
      v1::Event event;
      *event.mutable_probe() = prober_->Probe(target);
      spool_->Append({std::move(event)}).IgnoreError();
    }
  });
  const HousekeepingPolicy& housekeeping = config_.commands.log_housekeeping;
  if (housekeeper_ != nullptr && housekeeping.daily_at.has_value()) {
    StartPeriodic("housekeeping", absl::Minutes(1),
                  [this, schedule = DailyHousekeeping(
                             *housekeeper_, *housekeeping.daily_at,
                             absl::LocalTimeZone(), clock_)]() mutable {
                    if (std::optional<v1::Event> notice = schedule.Tick()) {
                      spool_->Append({std::move(*notice)}).IgnoreError();
                    }
                  });
  }
}

void Agent::Stop() {
  if (!uplink_thread_.joinable()) return;
  producers_stop_.Notify();
  if (housekeeper_ != nullptr) housekeeper_->Stop();
  // A restart in progress ends at its next check, FAILED; its final state
  // and notice go out with the flush below.
  if (restart_host_ != nullptr) restart_host_->Abandon();
  commands_->Stop();
  {
    absl::MutexLock lock(&tailer_mu_);
    if (tailer_ != nullptr) tailer_->Wake();
  }
  for (std::thread& producer : producers_) producer.join();
  producers_.clear();
  // The last multi-line event of each file is complete now: nothing follows.
  if (tailer_ != nullptr) tailer_->FlushPending();
  uplink_stop_.Notify();
  if (!uplink_exited_.WaitForNotificationWithTimeout(kFlushTimeout +
                                                     absl::Milliseconds(500))) {
    uplink_->Abort();
  }
  uplink_thread_.join();
  Uplink::Stats stats = uplink_->stats();
  spdlog::info(
      "stopped: acknowledged through sequence {}, {} events left "
      "unsent, {} dropped in total",
      stats.last_acked_sequence, stats.spooled_events, stats.dropped_events);
}

}  // namespace eroom::agent
