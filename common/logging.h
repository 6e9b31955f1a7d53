#ifndef EROOM_COMMON_LOGGING_H_
#define EROOM_COMMON_LOGGING_H_

#include <string>

#include "absl/status/status.h"

namespace eroom {

// Configures the process-wide spdlog logger: stderr, "[time] [program]
// [level] message". `level` is one of trace, debug, info, warn, error.
absl::Status SetupLogging(const std::string& program, const std::string& level);

// Names the calling thread (visible in top -H and gdb). At most 15 chars.
void SetThreadName(const char* name);

}  // namespace eroom

#endif  // EROOM_COMMON_LOGGING_H_
