#ifndef EROOM_TESTS_BENCH_TIMED_LINES_H_
#define EROOM_TESTS_BENCH_TIMED_LINES_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace eroom::bench {

// A command whose standard output is read line by line on a thread, each
// line stamped with when it arrived: `tail -n0 -F FILE` for the reference
// of a latency, or a client whose output is measured.
class TimedLines {
 public:
  explicit TimedLines(const std::vector<std::string>& argv);
  // SIGTERMs the command and waits for it.
  ~TimedLines();
  TimedLines(const TimedLines&) = delete;
  TimedLines& operator=(const TimedLines&) = delete;

  // The first line holding `text` and when it arrived, waiting up to
  // `timeout` for it.
  std::optional<std::pair<std::string, absl::Time>> WaitFor(
      const std::string& text, absl::Duration timeout);

 private:
  pid_t pid_ = -1;
  std::thread reader_;
  absl::Mutex mu_;
  std::vector<std::pair<std::string, absl::Time>> lines_ ABSL_GUARDED_BY(mu_);
};

}  // namespace eroom::bench

#endif  // EROOM_TESTS_BENCH_TIMED_LINES_H_
