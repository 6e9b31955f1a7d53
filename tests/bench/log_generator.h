#ifndef EROOM_TESTS_BENCH_LOG_GENERATOR_H_
#define EROOM_TESTS_BENCH_LOG_GENERATOR_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace eroom::bench {

struct LogGeneratorOptions {
  uint64_t lines = 1'000'000;
  // The same seed gives the same bytes.
  uint64_t seed = 1;
  absl::TimeZone time_zone = absl::UTCTimeZone();
};

// Realistic ERoom log text, as a busy host writes it: eroom-sim's rooms
// (submission blocks, Meshy polling noise every 3 s per model, scenario,
// script and model lines, business errors with their stack traces, model
// failures and timeouts, the queue manager's reports) replayed against a
// fake clock, with rooms arriving every few minutes, auth-failure WARNs from
// stray clients, and server restarts that alternate the two ERoom
// generations. Lines average about 150 bytes.
//
// Exactly `options.lines` lines, each ending in '\n' (a stack trace may be
// cut at the end).
std::string GenerateLog(const LogGeneratorOptions& options);

// Writes GenerateLog's text to `path` (replacing it), without holding it all
// in memory.
absl::Status WriteLogFile(const std::string& path,
                          const LogGeneratorOptions& options);

}  // namespace eroom::bench

#endif  // EROOM_TESTS_BENCH_LOG_GENERATOR_H_
