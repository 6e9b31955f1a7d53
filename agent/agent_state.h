#ifndef EROOM_AGENT_AGENT_STATE_H_
#define EROOM_AGENT_AGENT_STATE_H_

#include <cstdint>

#include "agent/spool.h"
#include "eroom/monitor/v1/monitor.pb.h"

namespace eroom::agent {

// Where the log housekeeping stands (LogHousekeeper's getters; 0: unknown
// or none).
struct HousekeepingState {
  int64_t last_run_unix_ms = 0;
  int64_t oldest_uncompressed_log_unix_ms = 0;
};

// The agent's own state, carried by each ResourceSample for the daily
// check: what the spool holds undelivered, what it dropped since the agent
// started, and the housekeeping's state.
eroom::monitor::v1::AgentState MakeAgentState(
    const Spool::Stats& spool, const HousekeepingState& housekeeping);

}  // namespace eroom::agent

#endif  // EROOM_AGENT_AGENT_STATE_H_
