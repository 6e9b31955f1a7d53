#ifndef EROOM_AGENT_CLASSIFICATION_CONFIG_H_
#define EROOM_AGENT_CLASSIFICATION_CONFIG_H_

#include <vector>

#include "agent/classifier.h"
#include "common/config_reader.h"

namespace eroom::agent {

// Reads the classification rules from the `classification` key of `logs`,
// the `logs` section of the agent's config:
//
//   logs:
//     classification:
//       use_defaults: true  # DefaultClassificationRules() after these
//       rules:              # tried in order; the first that matches wins
//         - type: room_started                # LogEvent.event_type
//           level: INFO                       # optional: TRACE ... ERROR
//           logger: RoomServiceImpl           # optional: the class, or
//                                             # service.room.RoomServiceImpl
//           pattern: '방 생성 시작 - ruid: (?P<ruid>room_[0-9a-f]+)'
//           fields: {queue_wait_ms: duration_ms}  # named groups' types
//           fixed_fields: {kind: business}    # set on every match
//
// `pattern` is RE2 syntax, searched in an event's first line; '' matches
// every event (of the level and logger). `logger` matches the end of the
// logger as printed, at a dot (logback abbreviates packages, never the
// class). Field types are string (the default for a named group not
// listed), int, float, bool and duration_ms (see FieldType). Without the
// section: the defaults.
//
// Problems are added to `logs`' problem list, a bad rule's naming it, e.g.
//   agent.yaml: logs.classification.rules[2] (room_started): invalid regex:
//   missing ): ...
// and the rules they concern are left out.
std::vector<ClassificationRule> ParseClassificationConfig(ConfigMap& logs);

}  // namespace eroom::agent

#endif  // EROOM_AGENT_CLASSIFICATION_CONFIG_H_
