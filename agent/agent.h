#ifndef EROOM_AGENT_AGENT_H_
#define EROOM_AGENT_AGENT_H_

#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"
#include "agent/agent_config.h"
#include "agent/auto_restart.h"
#include "agent/command_actions.h"
#include "agent/command_runner.h"
#include "agent/http_prober.h"
#include "agent/log_housekeeper.h"
#include "agent/log_tailer.h"
#include "agent/resource_sampler.h"
#include "agent/restart_host.h"
#include "agent/safe_restart.h"
#include "agent/spool.h"
#include "agent/uplink.h"
#include "common/clock.h"

namespace eroom::agent {

// eroom-agent: named threads joined by the durable spool.
//   logs     follows the ERoom logs       -> LogEvents (with checkpoints)
//   sampler  reads procfs every interval  -> ResourceSamples
//   prober   probes the HTTP API          -> ProbeResults
//   uplink   streams the spool to the collector, and command progress;
//            its reader (uplink-rx) takes acks and commands
//   commands runs the collector's commands the config allows, and between
//            them the auto-restart policy
//   housekeeping  the daily log housekeeping, when scheduled
class Agent {
 public:
  static absl::StatusOr<std::unique_ptr<Agent>> Create(AgentConfig config,
                                                       const Clock& clock);
  ~Agent();

  void Start();
  // Stops the producers, flushes pending log events and delivers what is
  // queued for up to kFlushTimeout, then joins every thread. Together they
  // fit the 5 s a daemon has after SIGTERM.
  void Stop();

  static constexpr absl::Duration kFlushTimeout = absl::Seconds(2);

  Uplink::Stats uplink_stats() const { return uplink_->stats(); }

 private:
  Agent(AgentConfig config, const Clock& clock);

  // On the logs thread, after the spool was replaced: waits for the
  // collector's answer to where the logs resume (until stopped), saves it
  // and creates the tailer. False if log reading cannot start.
  bool ResumeLogs();

  // What the spool and the log housekeeping say now, for each sample.
  eroom::monitor::v1::AgentState CurrentAgentState() const;

  // Runs `tick` every `interval` on a thread named `name` until stopped.
  void StartPeriodic(const char* name, absl::Duration interval,
                     std::function<void()> tick);

  const AgentConfig config_;
  const Clock& clock_;
  std::unique_ptr<Spool> spool_;
  // The restart procedures, when commands.safe_restart is enabled.
  std::unique_ptr<RestartHost> restart_host_;
  std::unique_ptr<SafeRestart> safe_restart_;
  std::unique_ptr<AutoRestart> auto_restart_;
  // Set when commands.log_housekeeping is enabled; else the oldest log's
  // time as found at start.
  std::unique_ptr<LogHousekeeper> housekeeper_;
  int64_t oldest_log_at_start_unix_ms_ = 0;
  std::unique_ptr<CommandActions> actions_;
  std::unique_ptr<CommandRunner> commands_;
  std::unique_ptr<Uplink> uplink_;
  // Set by Create, or later on the logs thread (ResumeLogs); Stop wakes it
  // from another thread.
  absl::Mutex tailer_mu_;
  std::unique_ptr<LogTailer> tailer_;
  std::unique_ptr<ResourceSampler> sampler_;
  std::unique_ptr<HttpProber> prober_;
  // The tailer's files as of its last poll, for the housekeeper (the tailer
  // is driven by the logs thread alone); nullopt until log reading started.
  mutable absl::Mutex tailed_files_mu_;
  std::optional<std::vector<LogFileStatus>> tailed_files_
      ABSL_GUARDED_BY(tailed_files_mu_);

  absl::Notification producers_stop_;
  absl::Notification uplink_stop_;
  absl::Notification uplink_exited_;
  std::vector<std::thread> producers_;
  std::thread uplink_thread_;
};

}  // namespace eroom::agent

#endif  // EROOM_AGENT_AGENT_H_
