#ifndef EROOM_AGENT_COMMAND_RUNNER_H_
#define EROOM_AGENT_COMMAND_RUNNER_H_

#include <atomic>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "agent/command_actions.h"
#include "agent/command_journal.h"
#include "agent/command_policy.h"
#include "common/bounded_queue.h"
#include "common/clock.h"
#include "eroom/monitor/v1/monitor.pb.h"

namespace eroom::agent {

// Runs the commands the collector sends, one at a time, on a thread of its
// own ("commands"), and reports their progress. Each command is checked
// against the agent's CommandPolicy first: a malformed or disallowed one is
// REJECTED and nothing runs. Ping is ACCEPTED, then SUCCEEDED; a safe
// restart and log housekeeping are ACCEPTED, then run by CommandActions.
//
// A cancel is answered in Submit, beside the command it targets, never
// queued behind it: if that command is the running safe restart and it is
// still draining, the restart is told to stop (it ends FAILED "canceled by
// the operator") and the cancel SUCCEEDS; otherwise the cancel FAILS.
//
// A command id seen before is not run again: its last progress is reported
// again instead (the collector resends a command whose answer a broken
// stream lost). With a CommandJournal this holds across agent restarts, and
// a command the journal shows unfinished (the agent died running it) is
// reported FAILED "the agent restarted during step X" at construction.
//
// Submit (the stream's reader) and TakeProgress (the uplink's writer) never
// block and may be called from any thread.
class CommandRunner {
 public:
  // Without `actions`, allowed safe restarts and housekeeping FAIL as not
  // available; without `journal`, ids are remembered by this process only.
  CommandRunner(CommandPolicy policy, const Clock& clock,
                CommandActions* actions = nullptr,
                CommandJournal* journal = nullptr);
  ~CommandRunner();

  // Work that must never overlap a command (the auto-restart policy): run
  // on the commands thread about every `every` while no command runs. Set
  // before Start.
  void SetIdleTask(std::function<void()> task, absl::Duration every);

  // Starts the thread that runs the submitted commands.
  void Start();
  // Ends the commands still queued REJECTED, lets the running one end (a
  // restart ends soon when its host is abandoned), then joins the thread.
  void Stop();

  // Queues `command` (a cancel is answered at once) and returns at once. A
  // command that finds the queue full is REJECTED.
  void Submit(eroom::monitor::v1::Command command);

  // Up to `max` progress reports not taken yet, oldest first.
  std::vector<eroom::monitor::v1::CommandProgress> TakeProgress(size_t max);

  static constexpr size_t kMaxQueuedCommands = 64;
  static constexpr size_t kMaxQueuedProgress = 1024;
  // Command ids remembered for deduplication (the oldest are forgotten).
  static constexpr size_t kRememberedCommands = 1000;

 private:
  // The safe restart running now, for a cancel.
  struct Running {
    std::string command_id;
    std::string step;
    absl::Notification canceled;
  };

  // Answers `command` again if it was seen before, REJECTED if it is not
  // allowed, else ACCEPTED: then returns it, to be run.
  std::optional<AllowedCommand> Accept(
      const eroom::monitor::v1::Command& command);
  void Run(const eroom::monitor::v1::Command& command);
  // Runs `command`'s action; returns its final progress.
  eroom::monitor::v1::CommandProgress RunAction(const AllowedCommand& command);
  void Cancel(const eroom::monitor::v1::Command& command);
  // Answers `command_id` again if it was seen before; whether it was.
  bool AnswerAgain(const std::string& command_id);
  // Reports the running command's intermediate `step`.
  void ReportStep(const std::string& command_id,
                  eroom::monitor::v1::CommandProgress step);
  // Queues progress of `command_id` (and remembers it as its last state,
  // when `remember`).
  void Report(const std::string& command_id,
              eroom::monitor::v1::CommandState state, std::string message,
              bool remember);
  // Stamps `progress`, queues it, and when `remember` keeps it (and
  // journals it) as its command's last state.
  void Publish(eroom::monitor::v1::CommandProgress progress, bool remember);
  void Remember(const eroom::monitor::v1::CommandProgress& progress)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Journal(const eroom::monitor::v1::CommandProgress& progress);
  // Reads the journal: remembers its commands, and ends unfinished ones.
  void Recover();

  const CommandPolicy policy_;
  const Clock& clock_;
  CommandActions* const actions_;
  CommandJournal* const journal_;
  BoundedQueue<eroom::monitor::v1::Command> commands_;
  BoundedQueue<eroom::monitor::v1::CommandProgress> progress_;
  std::function<void()> idle_task_;
  absl::Duration idle_every_ = absl::InfiniteDuration();
  std::atomic<bool> stopping_{false};
  std::thread thread_;

  // Shared by the commands thread and Submit (cancels).
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, eroom::monitor::v1::CommandProgress>
      last_progress_ ABSL_GUARDED_BY(mu_);
  std::deque<std::string> remembered_order_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<Running> running_ ABSL_GUARDED_BY(mu_);
  // Whether the last journal write failed (its error is logged once).
  std::atomic<bool> journal_failing_{false};
};

}  // namespace eroom::agent

#endif  // EROOM_AGENT_COMMAND_RUNNER_H_
