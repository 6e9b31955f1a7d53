#ifndef EROOM_COMMON_SUBPROCESS_H_
#define EROOM_COMMON_SUBPROCESS_H_

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace eroom {

// A program run from configuration: never through a shell, never looked up
// in PATH. Each argument reaches the program as it is.
struct SubprocessOptions {
  // argv[0] is the program's path (absolute, or relative to working_dir).
  std::vector<std::string> argv = {};
  // "NAME=value" entries: the program's whole environment. nullopt: this
  // process's environment.
  std::optional<std::vector<std::string>> environment = {};
  // Where the program runs; empty: this process's working directory.
  std::string working_dir = {};
  // Written to the program's stdin, which then ends. A program that exits
  // without reading it is not an error.
  std::string stdin_bytes = {};
  // Whether stdout joins stderr in the kept output (else it is discarded).
  bool capture_stdout = true;
  // The last this many bytes of the output are kept, for the error.
  size_t output_tail_bytes = 4096;
  // The program and its process group are sent SIGTERM after this, and
  // SIGKILL kill_grace later.
  absl::Duration timeout = absl::Minutes(1);
  absl::Duration kill_grace = absl::Seconds(2);
  // Polled while the program runs: true stops it as a timeout would.
  std::function<bool()> stop_requested = {};
  // Called about every `still_running_every` while the program runs, with
  // how long it has run (for progress reports).
  std::function<void(absl::Duration running_for)> still_running = {};
  absl::Duration still_running_every = absl::Seconds(2);
};

// Runs the program in a process group of its own and waits for it. OK when
// it exits 0. Otherwise, each naming argv[0] and ending with the output tail
// (": <tail>") when there is one: FailedPrecondition "cannot run P: why"
// (it could not start), DeadlineExceeded "P timed out after D", Cancelled
// "P stopped: ..." (stop_requested), Unavailable "P exited with status N"
// or "P was killed by signal N". Descendants that outlive the program (a
// daemon it started) are left running, and their output is not waited for.
absl::Status RunSubprocess(const SubprocessOptions& options);

}  // namespace eroom

#endif  // EROOM_COMMON_SUBPROCESS_H_
