#include "collector/retention_policy.h"

#include "absl/strings/str_cat.h"

namespace eroom::collector {

RetentionCounts& RetentionCounts::operator+=(const RetentionCounts& other) {
  logs += other.logs;
  samples += other.samples;
  rollups += other.rollups;
  probes += other.probes;
  notices += other.notices;
  commands += other.commands;
  audit += other.audit;
  return *this;
}

RetentionCounts RetentionCounts::Since(const RetentionCounts& before) const {
  return RetentionCounts{.logs = logs - before.logs,
                         .samples = samples - before.samples,
                         .rollups = rollups - before.rollups,
                         .probes = probes - before.probes,
                         .notices = notices - before.notices,
                         .commands = commands - before.commands,
                         .audit = audit - before.audit};
}

std::string RetentionCounts::Describe() const {
  return absl::StrCat(logs, " log events, ", samples, " samples, ", rollups,
                      " metric rollups, ", probes, " probe results, ", notices,
                      " agent notices, ", commands, " commands, ", audit,
                      " audit records");
}

}  // namespace eroom::collector
