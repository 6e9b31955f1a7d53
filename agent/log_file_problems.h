#ifndef EROOM_AGENT_LOG_FILE_PROBLEMS_H_
#define EROOM_AGENT_LOG_FILE_PROBLEMS_H_

#include <cstdint>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"

namespace eroom::agent {

// Logs a recurring condition (a file that cannot be read, a failing commit)
// once when it starts or changes and once when it ends, not on every retry.
// Each subject ("log /var/eroom/logs/server.log") has at most one problem.
class ProblemLog {
 public:
  // Warns unless `subject` already has exactly this problem.
  void Report(const std::string& subject, const std::string& problem);

  // Logs the recovery if `subject` had a problem.
  void Resolve(const std::string& subject);

  // Resolves the subjects not reported since the last call (problems that
  // a periodic check found no more).
  void ResolveUnreported();

  // Problems started (warnings logged) so far.
  uint64_t streaks() const { return streaks_; }

 private:
  absl::flat_hash_map<std::string, std::string> problems_;
  absl::flat_hash_set<std::string> reported_;
  uint64_t streaks_ = 0;
};

}  // namespace eroom::agent

#endif  // EROOM_AGENT_LOG_FILE_PROBLEMS_H_
