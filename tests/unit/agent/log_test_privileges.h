#ifndef EROOM_TESTS_UNIT_AGENT_LOG_TEST_PRIVILEGES_H_
#define EROOM_TESTS_UNIT_AGENT_LOG_TEST_PRIVILEGES_H_

#include <grp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <functional>
#include <string>

namespace eroom::agent {

inline constexpr uid_t kNobody = 65534;

enum class ScenarioResult { kPassed, kFailed, kCannotDropPrivileges };

// Runs `scenario` in a child process that is not root (permission checks
// apply to it, as on a production host), e.g. when the tests run as root.
// The scenario returns what went wrong ("" if nothing); it is printed.
inline ScenarioResult RunAsNobody(
    const std::function<std::string()>& scenario) {
  std::fflush(nullptr);
  const pid_t child = fork();
  if (child < 0) return ScenarioResult::kFailed;
  if (child == 0) {
    if (setgroups(0, nullptr) != 0 || setgid(kNobody) != 0 ||
        setuid(kNobody) != 0) {
      _exit(2);
    }
    const std::string failure = scenario();
    if (!failure.empty()) std::fprintf(stderr, "%s\n", failure.c_str());
    _exit(failure.empty() ? 0 : 1);
  }
  int status;
  if (waitpid(child, &status, 0) != child || !WIFEXITED(status)) {
    return ScenarioResult::kFailed;
  }
  switch (WEXITSTATUS(status)) {
    case 0:
      return ScenarioResult::kPassed;
    case 2:
      return ScenarioResult::kCannotDropPrivileges;
    default:
      return ScenarioResult::kFailed;
  }
}

}  // namespace eroom::agent

#endif  // EROOM_TESTS_UNIT_AGENT_LOG_TEST_PRIVILEGES_H_
