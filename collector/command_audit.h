#ifndef EROOM_COLLECTOR_COMMAND_AUDIT_H_
#define EROOM_COLLECTOR_COMMAND_AUDIT_H_

#include <string>

#include "absl/time/time.h"
#include "eroom/monitor/v1/monitor.pb.h"

namespace eroom::collector {

// The audit trail's text: what people read in `eroomctl audit`, written
// once and never parsed back.

// Who the audit names for a step the agent reported.
inline constexpr char kAgentActor[] = "agent";
// ...and for a step the collector decided (the agent's stream ended, the
// collector restarted).
inline constexpr char kCollectorActor[] = "collector";

// The typed parameters of `command`, e.g. "drain_timeout=10m force=false";
// empty for an action without any.
std::string CommandParameters(const eroom::monitor::v1::Command& command);

// A request for `command` on `agent_id` by `actor` at `at`, with what became
// of it: "requested", or "refused: <why>".
eroom::monitor::v1::AuditRecord RequestAudit(
    absl::Time at, const std::string& actor, const std::string& agent_id,
    const std::string& command_id, const eroom::monitor::v1::Command& command,
    const std::string& result);

// A step of the recorded `command` stored as reported by `actor`: its
// result is "<STATE> <step>: <message>". Timed by the step, or by `received`
// when the step has no time.
eroom::monitor::v1::AuditRecord StepAudit(
    const eroom::monitor::v1::CommandRecord& command,
    const eroom::monitor::v1::CommandProgress& step, const std::string& actor,
    absl::Time received);

}  // namespace eroom::collector

#endif  // EROOM_COLLECTOR_COMMAND_AUDIT_H_
