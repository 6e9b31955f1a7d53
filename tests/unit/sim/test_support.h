#ifndef EROOM_TESTS_UNIT_SIM_TEST_SUPPORT_H_
#define EROOM_TESTS_UNIT_SIM_TEST_SUPPORT_H_

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "re2/re2.h"
#include "tests/sim/log_writer.h"
#include "tests/unit/test_support/poll_until.h"

namespace eroom::sim {

// Collects what the sim logs, for assertions.
class MemorySink final : public LogSink {
 public:
  void Append(absl::string_view text) override {
    absl::MutexLock lock(&mu_);
    text_.append(text.data(), text.size());
  }
  std::string Text() const {
    absl::MutexLock lock(&mu_);
    return text_;
  }
  std::vector<std::string> Lines() const {
    std::vector<std::string> lines = absl::StrSplit(Text(), '\n');
    if (!lines.empty() && lines.back().empty()) lines.pop_back();
    return lines;
  }
  int Count(absl::string_view needle) const {
    int count = 0;
    for (const std::string& line : Lines()) {
      if (absl::StrContains(line, needle)) ++count;
    }
    return count;
  }
  bool Contains(absl::string_view needle) const {
    return absl::StrContains(Text(), needle);
  }

 private:
  mutable absl::Mutex mu_;
  std::string text_ ABSL_GUARDED_BY(mu_);
};

// True for a line ERoom's logback pattern writes: a header line, or a line
// continuing a stack trace.
inline bool IsLogbackLine(const std::string& line) {
  static const RE2 kHeader(
      R"(^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3} \[[^\]]+\] )"
      R"((TRACE|DEBUG|INFO|WARN|ERROR) +\S+ +: )");
  static const RE2 kContinuation(
      R"(^(\tat |Caused by: |\t\.\.\. \d+ common frames omitted$))");
  static const RE2 kExceptionClass(R"(^[a-z][\w$]*(\.[\w$]+)+: )");
  return RE2::PartialMatch(line, kHeader) ||
         RE2::PartialMatch(line, kContinuation) ||
         RE2::PartialMatch(line, kExceptionClass);
}

}  // namespace eroom::sim

#endif  // EROOM_TESTS_UNIT_SIM_TEST_SUPPORT_H_
