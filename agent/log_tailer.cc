#include "agent/log_tailer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "agent/log_event_assembler.h"
#include "agent/log_header_parser.h"
#include "agent/log_line_splitter.h"
#include "agent/room_tracker.h"
#include "spdlog/spdlog.h"

namespace eroom::agent {
namespace {

namespace v1 = ::eroom::monitor::v1;

constexpr size_t kReadChunkBytes = 64 * 1024;
// Bounds one poll's work per file (a large file read from its beginning),
// so the other files and the caller's shutdown checks are not starved; the
// rest is read on the next polls.
constexpr size_t kMaxBytesPerPoll = 8 * 1024 * 1024;

std::string ErrnoText(int error) {
  return std::error_code(error, std::generic_category()).message();
}

// What a poll shares across files.
struct Pipeline {
  const LogSourceOptions& options;
  const LogHeaderParser& parser;
  const Classifier& classifier;
  const LogTailer::Sink& sink;
  LogTailerStats& stats;
  std::string& read_buffer;
};

class ScopedFd {
 public:
  explicit ScopedFd(int fd = -1) : fd_(fd) {}
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  ScopedFd& operator=(ScopedFd&& other) {
    Reset();
    fd_ = std::exchange(other.fd_, -1);
    return *this;
  }
  ~ScopedFd() { Reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void Reset() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

// One configured path and the file it currently names.
class FollowedFile {
 public:
  FollowedFile(std::string path, const Pipeline& pipeline)
      : path_(std::move(path)),
        pipeline_(pipeline),
        splitter_(pipeline.options.max_event_bytes),
        assembler_(path_, pipeline.parser, pipeline.options.max_event_bytes),
        skip_existing_(!pipeline.options.start_at_beginning) {
    file_date_.named_day = DayFromLogFileName(path_);
  }

  void Poll(absl::Time now) {
    if (fd_.valid() || Open(now)) {
      // Learn whether the path still names this file before reading it to
      // the end, so that nothing written before a rotation is missed.
      const bool replaced_or_gone = !PathNamesOpenFile();
      if (ReadAvailable(now) && replaced_or_gone) {
        ++pipeline_.stats.rotations;
        Flush(now);
        fd_.Reset();
        if (Open(now)) ReadAvailable(now);
      }
    }
    if ((splitter_.has_partial() || assembler_.has_pending()) &&
        now - last_data_ >= pipeline_.options.multiline_timeout) {
      Flush(now);
    }
  }

  // Emits the partial last line and the pending event.
  void Flush(absl::Time now) {
    splitter_.FlushPartial([&](const LogLine& line) { AddLine(line, now); });
    assembler_.Flush([&](v1::LogEvent event) { Emit(std::move(event)); });
  }

  void AddCountersTo(LogTailerStats& stats) const {
    stats.truncated_lines += splitter_.truncated_lines();
    const LogEventAssembler::Counters& counters = assembler_.counters();
    stats.truncated_events += counters.truncated_events;
    stats.dropped_lines += counters.dropped_lines;
    stats.utf8_replacements += counters.utf8_replacements;
  }

 private:
  bool Open(absl::Time now) {
    const bool skip_existing = std::exchange(skip_existing_, false);
    // O_NONBLOCK: opening a FIFO put in the file's place must not hang.
    ScopedFd fd(open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
    if (!fd.valid()) {
      ReportProblem(errno == ENOENT ? "does not exist (yet)"
                                    : ErrnoText(errno));
      return false;
    }
    struct stat info;
    if (fstat(fd.get(), &info) != 0) {
      ReportProblem(ErrnoText(errno));
      return false;
    }
    if (!S_ISREG(info.st_mode)) {
      ReportProblem("is not a regular file");
      return false;
    }
    fd_ = std::move(fd);
    device_ = info.st_dev;
    inode_ = info.st_ino;
    splitter_.Reset(skip_existing ? info.st_size : 0);
    last_data_ = now;
    ClearProblem();
    return true;
  }

  // False when the path was removed or now names another file.
  bool PathNamesOpenFile() const {
    struct stat info;
    if (stat(path_.c_str(), &info) != 0) {
      // Only a definite "no such file" is a removal; anything else (a
      // transient permission problem on the directory) keeps the file.
      return errno != ENOENT && errno != ENOTDIR;
    }
    return info.st_dev == device_ && info.st_ino == inode_;
  }

  // Reads what is new in the open file. True once it read to the end.
  bool ReadAvailable(absl::Time now) {
    struct stat info;
    if (fstat(fd_.get(), &info) != 0) {
      ReportProblem(ErrnoText(errno));
      return false;
    }
    file_date_.modified = absl::TimeFromTimespec(info.st_mtim);
    if (static_cast<uint64_t>(info.st_size) < splitter_.end_offset()) {
      spdlog::info("log {}: shrank to {} bytes, reading it from the start",
                   path_, info.st_size);
      ++pipeline_.stats.truncations;
      Flush(now);
      splitter_.Reset(0);
    }
    std::string& buffer = pipeline_.read_buffer;
    for (size_t budget = kMaxBytesPerPoll; budget > 0;) {
      const ssize_t n =
          pread(fd_.get(), buffer.data(), std::min(buffer.size(), budget),
                static_cast<off_t>(splitter_.end_offset()));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        ReportProblem(absl::StrCat("read failed: ", ErrnoText(errno)));
        return false;
      }
      ClearProblem();
      if (n == 0) return true;
      budget -= n;
      pipeline_.stats.bytes_read += n;
      last_data_ = now;
      splitter_.Append(std::string_view(buffer.data(), n),
                       [&](const LogLine& line) { AddLine(line, now); });
    }
    return false;
  }

  void AddLine(const LogLine& line, absl::Time now) {
    assembler_.AddLine(line, file_date_, now,
                       [&](v1::LogEvent event) { Emit(std::move(event)); });
  }

  void Emit(v1::LogEvent event) {
    pipeline_.classifier.Classify(event);
    rooms_.Assign(event);
    ++pipeline_.stats.events_emitted;
    pipeline_.sink(std::move(event));
  }

  // Logs a failure once per streak (and again if it changes), not per poll.
  void ReportProblem(std::string problem) {
    if (problem == problem_) return;
    spdlog::warn("log {}: {}; retrying", path_, problem);
    problem_ = std::move(problem);
  }

  void ClearProblem() {
    if (problem_.empty()) return;
    spdlog::info("log {}: readable again", path_);
    problem_.clear();
  }

  const std::string path_;
  const Pipeline& pipeline_;
  LogLineSplitter splitter_;
  LogEventAssembler assembler_;
  RoomTracker rooms_;
  // Whether the first open starts at the end of the existing content.
  bool skip_existing_;
  ScopedFd fd_;
  dev_t device_ = 0;
  ino_t inode_ = 0;
  absl::Time last_data_;
  // Dates time-only headers; the modification time is that of the last read.
  LogFileDate file_date_;
  std::string problem_;  // Empty: no failure streak.
};

class LogTailerImpl final : public LogTailer {
 public:
  LogTailerImpl(LogSourceOptions options, Classifier classifier,
                const Clock& clock, Sink sink)
      : options_(std::move(options)),
        parser_(options_.time_zone),
        classifier_(std::move(classifier)),
        clock_(clock),
        sink_(std::move(sink)),
        read_buffer_(kReadChunkBytes, '\0'),
        pipeline_{options_, parser_, classifier_, sink_, stats_, read_buffer_} {
    for (const std::string& path : options_.paths) {
      files_.push_back(std::make_unique<FollowedFile>(path, pipeline_));
    }
  }

  void PollOnce() override {
    const absl::Time now = clock_.Now();
    for (auto& file : files_) file->Poll(now);
  }

  void FlushPending() override {
    const absl::Time now = clock_.Now();
    for (auto& file : files_) file->Flush(now);
  }

  LogTailerStats Stats() const override {
    LogTailerStats stats = stats_;
    for (const auto& file : files_) file->AddCountersTo(stats);
    return stats;
  }

 private:
  const LogSourceOptions options_;
  const LogHeaderParser parser_;
  const Classifier classifier_;
  const Clock& clock_;
  const Sink sink_;
  LogTailerStats stats_;
  std::string read_buffer_;
  const Pipeline pipeline_;
  std::vector<std::unique_ptr<FollowedFile>> files_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<LogTailer>> LogTailer::Create(
    LogSourceOptions options, const Clock& clock, Sink sink) {
  if (!sink) return absl::InvalidArgumentError("log tailer needs a sink");
  if (options.max_event_bytes == 0) {
    return absl::InvalidArgumentError("max_event_bytes must be positive");
  }
  if (options.multiline_timeout < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("multiline_timeout must not be negative");
  }
  absl::flat_hash_set<std::string> seen;
  for (const std::string& path : options.paths) {
    if (path.empty()) return absl::InvalidArgumentError("empty log path");
    if (!seen.insert(path).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("log path listed twice: ", path));
    }
  }
  absl::StatusOr<Classifier> classifier =
      Classifier::Create(options.classification_rules);
  if (!classifier.ok()) return classifier.status();
  return std::make_unique<LogTailerImpl>(
      std::move(options), std::move(*classifier), clock, std::move(sink));
}

}  // namespace eroom::agent
