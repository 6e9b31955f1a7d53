#ifndef EROOM_AGENT_COMMAND_JOURNAL_H_
#define EROOM_AGENT_COMMAND_JOURNAL_H_

#include <cstddef>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "eroom/monitor/v1/monitor.pb.h"

namespace eroom::agent {

// Where CommandRunner keeps the last state of each command it answered,
// across agent restarts: a command the collector sends again is answered,
// not run again, and one that was running when the agent died is reported
// as such. The agent's Spool keeps it in agent-state.db.
class CommandJournal {
 public:
  virtual ~CommandJournal() = default;

  // Records `last` (its command_id, state, step, message) as the command's
  // last state, replacing the one before; keeps the latest `keep` commands.
  virtual absl::Status SaveCommandState(
      const eroom::monitor::v1::CommandProgress& last, size_t keep) = 0;

  // The recorded commands, the least recently saved first.
  virtual absl::StatusOr<std::vector<eroom::monitor::v1::CommandProgress>>
  LoadCommandStates() = 0;
};

}  // namespace eroom::agent

#endif  // EROOM_AGENT_COMMAND_JOURNAL_H_
