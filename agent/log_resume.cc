#include "agent/log_resume.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>

#include "agent/log_file_scanner.h"
#include "agent/log_header_parser.h"
#include "agent/log_utf8.h"
#include "agent/text_decoder.h"
#include "spdlog/spdlog.h"

namespace eroom::agent {
namespace {
namespace v1 = ::eroom::monitor::v1;

// Enough of a line for any header and the first line of a message as the
// collector keeps it (256 bytes).
constexpr size_t kLineBytes = 8192;
constexpr int64_t kDayMs = 24 * 60 * 60 * 1000;

// The line of `path` starting at `offset` (up to kLineBytes), as UTF-8;
// nullopt if it cannot be read or is not there.
std::optional<std::string> ReadLineAt(const LogSourceOptions& options,
                                      const std::string& path,
                                      uint64_t offset) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string bytes(kLineBytes, '\0');
  const ssize_t read = pread(fd, bytes.data(), bytes.size(), offset);
  close(fd);
  if (read <= 0) return std::nullopt;
  bytes.resize(read);
  const size_t end = bytes.find('\n');
  const bool cut = end == std::string::npos;
  if (!cut) bytes.resize(end);
  if (!bytes.empty() && bytes.back() == '\r') bytes.pop_back();
  for (const LogFileEncoding& encoding : options.encodings) {
    if (fnmatch(encoding.glob.c_str(), path.c_str(), FNM_PATHNAME) != 0) {
      continue;
    }
    if (IsUtf8EncodingName(encoding.encoding)) break;
    absl::StatusOr<std::unique_ptr<TextDecoder>> decoder =
        TextDecoder::Create(encoding.encoding);
    if (!decoder.ok()) return std::nullopt;
    std::string text;
    (*decoder)->Decode(bytes, cut, text);
    return text;
  }
  RepairUtf8(bytes);
  return bytes;
}

// Whether `file` holds the event of `point` at its offset.
bool Holds(const LogSourceOptions& options, const LogHeaderParser& parser,
           const FoundLogFile& file, const v1::LogResumePoint& point) {
  if (point.file_offset() >= file.size) return false;
  std::optional<std::string> line =
      ReadLineAt(options, file.path, point.file_offset());
  if (!line.has_value()) return false;
  std::optional<LogHeader> header = parser.Parse(
      *line, LogFileDate{.named_day = DayFromLogFileName(file.path),
                         .modified = file.modified});
  if (!point.has_header()) {
    return !header.has_value() && line->starts_with(point.first_line());
  }
  // A time-only header is dated from the file's name or modification time,
  // which may have moved on by a day since.
  return header.has_value() &&
         (header->time_unix_ms - point.time_unix_ms()) % kDayMs == 0 &&
         header->message.starts_with(point.first_line());
}

}  // namespace

LogResumePlan PlanLogResume(const LogSourceOptions& options,
                            const std::vector<v1::LogResumePoint>& points) {
  const LogHeaderParser parser(options.time_zone);
  std::optional<int64_t> newest_stored_ms;
  for (const v1::LogResumePoint& point : points) {
    newest_stored_ms = std::max(newest_stored_ms.value_or(point.time_unix_ms()),
                                point.time_unix_ms());
  }
  LogResumePlan plan;
  for (const FoundLogFile& file : ScanLogFiles(options.paths).files) {
    FileCheckpoint checkpoint{.device = file.device,
                              .inode = file.inode,
                              .fingerprint = "",
                              .path = file.path,
                              .offset = 0};
    const v1::LogResumePoint* furthest = nullptr;
    for (const v1::LogResumePoint& point : points) {
      if ((furthest == nullptr ||
           point.file_offset() > furthest->file_offset()) &&
          Holds(options, parser, file, point)) {
        furthest = &point;
      }
    }
    if (furthest != nullptr) {
      checkpoint.offset = furthest->file_offset();
      plan.stored_event_starts.push_back(checkpoint);
      spdlog::info("log {}: resumes after the event at byte {} (stored as {})",
                   file.path, checkpoint.offset, furthest->file());
    } else if (newest_stored_ms.has_value() &&
               absl::ToUnixMillis(file.modified) < *newest_stored_ms) {
      checkpoint.offset = file.size;
      spdlog::info(
          "log {}: unchanged since the last stored event; resumes at "
          "its end",
          file.path);
    } else {
      spdlog::info("log {}: nothing of it stored; read from its start",
                   file.path);
    }
    plan.checkpoints.push_back(std::move(checkpoint));
  }
  return plan;
}

}  // namespace eroom::agent
