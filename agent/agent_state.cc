#include "agent/agent_state.h"

namespace eroom::agent {

eroom::monitor::v1::AgentState MakeAgentState(
    const Spool::Stats& spool, const HousekeepingState& housekeeping) {
  eroom::monitor::v1::AgentState state;
  state.set_spool_events(spool.events);
  state.set_spool_bytes(spool.bytes);
  state.set_events_dropped_total(spool.dropped);
  state.set_housekeeping_last_run_unix_ms(housekeeping.last_run_unix_ms);
  state.set_oldest_uncompressed_log_unix_ms(
      housekeeping.oldest_uncompressed_log_unix_ms);
  return state;
}

}  // namespace eroom::agent
