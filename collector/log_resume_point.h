#ifndef EROOM_COLLECTOR_LOG_RESUME_POINT_H_
#define EROOM_COLLECTOR_LOG_RESUME_POINT_H_

#include <cstddef>

#include "absl/strings/string_view.h"
#include "common/utf8.h"
#include "eroom/monitor/v1/monitor.pb.h"

namespace eroom::collector {

// The longest LogResumePoint::first_line: enough to tell two events apart.
inline constexpr size_t kResumeFirstLineBytes = 256;

// The resume point of stored log event `event`, as every storage backend
// answers StorageReader::LogResumePoints. `event.message` is valid UTF-8;
// its first line is cut at a character boundary.
inline eroom::monitor::v1::LogResumePoint LogResumePointOf(
    const eroom::monitor::v1::LogEvent& event) {
  eroom::monitor::v1::LogResumePoint point;
  point.set_file(event.file());
  point.set_file_offset(event.file_offset());
  point.set_time_unix_ms(event.time_unix_ms());
  point.set_has_header(event.has_header());
  absl::string_view line = event.message();
  line = line.substr(0, line.find('\n'));
  point.set_first_line(std::string(Utf8Prefix(line, kResumeFirstLineBytes)));
  return point;
}

}  // namespace eroom::collector

#endif  // EROOM_COLLECTOR_LOG_RESUME_POINT_H_
