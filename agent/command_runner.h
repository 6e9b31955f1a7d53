#ifndef EROOM_AGENT_COMMAND_RUNNER_H_
#define EROOM_AGENT_COMMAND_RUNNER_H_

#include <cstddef>
#include <deque>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "agent/command_policy.h"
#include "common/bounded_queue.h"
#include "common/clock.h"
#include "eroom/monitor/v1/monitor.pb.h"

namespace eroom::agent {

// Runs the commands the collector sends, one at a time, on a thread of its
// own ("commands"), and reports their progress. Each command is checked
// against the agent's CommandPolicy first: a malformed or disallowed one is
// REJECTED and nothing runs. Ping is ACCEPTED, then SUCCEEDED. The real
// actions (safe restart, log housekeeping) are not implemented yet: when
// allowed they are ACCEPTED, then FAILED.
//
// A command id seen before by this process is not run again: its last
// progress is reported again instead (the collector resends a command whose
// answer a broken stream lost).
//
// Submit (the stream's reader) and TakeProgress (the uplink's writer) never
// block and may be called from any thread.
class CommandRunner {
 public:
  CommandRunner(CommandPolicy policy, const Clock& clock);
  ~CommandRunner();

  // Starts the thread that runs the submitted commands.
  void Start();
  // Lets the commands already queued finish, then joins the thread.
  void Stop();

  // Queues `command` and returns at once. A command that finds the queue
  // full is REJECTED.
  void Submit(eroom::monitor::v1::Command command);

  // Up to `max` progress reports not taken yet, oldest first.
  std::vector<eroom::monitor::v1::CommandProgress> TakeProgress(size_t max);

  static constexpr size_t kMaxQueuedCommands = 64;
  static constexpr size_t kMaxQueuedProgress = 1024;
  // Command ids remembered for deduplication (the oldest are forgotten).
  static constexpr size_t kRememberedCommands = 1000;

 private:
  void Run(const eroom::monitor::v1::Command& command);
  // Queues progress of `command_id` (and remembers it as its last state,
  // when `remember`).
  void Report(const std::string& command_id,
              eroom::monitor::v1::CommandState state, std::string message,
              bool remember);
  void Queue(eroom::monitor::v1::CommandProgress progress);

  const CommandPolicy policy_;
  const Clock& clock_;
  BoundedQueue<eroom::monitor::v1::Command> commands_;
  BoundedQueue<eroom::monitor::v1::CommandProgress> progress_;
  std::thread thread_;
  // Owned by the thread running the commands.
  absl::flat_hash_map<std::string, eroom::monitor::v1::CommandProgress>
      last_progress_;
  std::deque<std::string> remembered_order_;
};

}  // namespace eroom::agent

#endif  // EROOM_AGENT_COMMAND_RUNNER_H_
