#include "tests/sim/log_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace eroom::sim {
namespace {

absl::string_view LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "DEBUG";
    case LogLevel::kInfo:
      return "INFO";
    case LogLevel::kWarn:
      return "WARN";
    case LogLevel::kError:
      return "ERROR";
  }
  return "INFO";
}

int OpenForAppend(const std::string& path) {
  return open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

}  // namespace

std::string AbbreviateLoggerName(absl::string_view name, size_t length) {
  if (name.size() < length) return std::string(name);
  const size_t last_dot = name.rfind('.');
  if (last_dot == absl::string_view::npos) return std::string(name);
  // Mirrors logback's TargetLengthBasedClassNameAbbreviator: the class name
  // itself is never shortened, packages lose letters until enough are gone.
  const size_t class_part = name.size() - last_dot;
  const size_t package_target = length > class_part ? length - class_part : 0;
  const size_t max_trim = last_dot - std::min(package_target, last_dot);
  std::string out;
  size_t trimmed = 0;
  bool at_segment_start = true;
  size_t i = 0;
  for (; i < last_dot; ++i) {
    const char c = name[i];
    if (c == '.') {
      if (trimmed >= max_trim) break;
      out.push_back(c);
      at_segment_start = true;
    } else if (at_segment_start) {
      out.push_back(c);
      at_segment_start = false;
    } else {
      ++trimmed;
    }
  }
  absl::StrAppend(&out, name.substr(i));
  return out;
}

std::string FormatLogLine(absl::Time time, absl::TimeZone zone,
                          const LogEvent& event) {
  return absl::StrFormat("%s [%s] %-5s %-40s : %s\n",
                         absl::FormatTime("%Y-%m-%d %H:%M:%E3S", time, zone),
                         event.thread, LevelName(event.level),
                         AbbreviateLoggerName(event.logger, 40), event.message);
}

absl::StatusOr<std::unique_ptr<LogFile>> LogFile::Open(std::string path) {
  const int fd = OpenForAppend(path);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  }
  return std::unique_ptr<LogFile>(new LogFile(std::move(path), fd));
}

LogFile::~LogFile() {
  absl::MutexLock lock(&mu_);
  if (fd_ >= 0) close(fd_);
}

void LogFile::ReopenIfRotated() {
  struct stat on_disk;
  struct stat open_file;
  const bool same_file = stat(path_.c_str(), &on_disk) == 0 && fd_ >= 0 &&
                         fstat(fd_, &open_file) == 0 &&
                         on_disk.st_ino == open_file.st_ino &&
                         on_disk.st_dev == open_file.st_dev;
  if (same_file) return;
  const int fd = OpenForAppend(path_);
  // If the directory vanished, keep writing to the old file rather than lose
  // the process's only output.
  if (fd < 0) return;
  if (fd_ >= 0) close(fd_);
  fd_ = fd;
}

void LogFile::Append(absl::string_view text) {
  absl::MutexLock lock(&mu_);
  ReopenIfRotated();
  while (!text.empty() && fd_ >= 0) {
    const ssize_t written = write(fd_, text.data(), text.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      return;  // Disk full or similar: ERoom keeps running without its log.
    }
    text.remove_prefix(static_cast<size_t>(written));
  }
}

void EventLog::Log(absl::Span<const LogEvent> events) {
  const absl::Time now = clock_.Now();
  std::string block;
  for (const LogEvent& event : events) {
    absl::StrAppend(&block, FormatLogLine(now, zone_, event));
  }
  sink_.Append(block);
}

}  // namespace eroom::sim
