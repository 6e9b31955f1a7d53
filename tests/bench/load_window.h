#ifndef EROOM_TESTS_BENCH_LOAD_WINDOW_H_
#define EROOM_TESTS_BENCH_LOAD_WINDOW_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

// What the load tools (eroom-loadgen, eroom-syslog-fleet) share with each
// other and with collector_load.sh, which reads their output.
namespace eroom::bench {

// The value `text` of flag --`name` as a positive duration (e.g. 250ms,
// 1m), or an error naming the flag.
absl::StatusOr<absl::Duration> ParsePositiveDurationFlag(
    const std::string& name, const std::string& text);

// Prints "load `edge` unix_ms=..." ("start" or "end") and flushes it:
// collector_load.sh measures the processes under load between the two.
void PrintLoadEdge(absl::string_view edge, absl::Time time);

}  // namespace eroom::bench

#endif  // EROOM_TESTS_BENCH_LOAD_WINDOW_H_
