#include "agent/log_file_tail.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"

namespace eroom::agent {
namespace {

namespace v1 = ::eroom::monitor::v1;

std::string ErrnoText(int error) {
  return std::error_code(error, std::generic_category()).message();
}

// Opens `path` for reading if it is a regular file, and stats it.
absl::StatusOr<int> OpenRegularFile(const std::string& path,
                                    struct stat& info) {
  // O_NONBLOCK: opening a FIFO put in the file's place must not hang.
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return absl::UnavailableError(ErrnoText(errno));
  if (fstat(fd, &info) != 0) {
    const int error = errno;
    close(fd);
    return absl::UnavailableError(ErrnoText(error));
  }
  if (!S_ISREG(info.st_mode)) {
    close(fd);
    return absl::FailedPreconditionError("is not a regular file (skipped)");
  }
  return fd;
}

// The file's first bytes, up to kFingerprintBytes.
absl::StatusOr<std::string> ReadFingerprint(int fd) {
  std::string bytes(kFingerprintBytes, '\0');
  ssize_t n;
  do {
    n = pread(fd, bytes.data(), bytes.size(), 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    return absl::UnavailableError(
        absl::StrCat("read failed: ", ErrnoText(errno)));
  }
  bytes.resize(n);
  return bytes;
}

bool SameFile(const struct stat& info, uint64_t device, uint64_t inode) {
  return info.st_dev == device && info.st_ino == inode;
}

}  // namespace

LogFileCounters& LogFileCounters::operator+=(const LogFileCounters& other) {
  truncated_lines += other.truncated_lines;
  truncated_events += other.truncated_events;
  dropped_lines += other.dropped_lines;
  utf8_replacements += other.utf8_replacements;
  encoding_replacements += other.encoding_replacements;
  truncations += other.truncations;
  return *this;
}

LogFileTail::Reading::Reading(const std::string& path,
                              const LogFileContext& context, uint64_t offset)
    : splitter(context.options.max_event_bytes),
      assembler(path, context.parser, context.options.max_event_bytes),
      unfinished_line_start(offset),
      consumed(offset) {
  splitter.Reset(offset);
}

absl::StatusOr<std::unique_ptr<LogFileTail>> LogFileTail::Open(
    const LogFileContext& context, const FoundLogFile& found, bool at_end,
    TextDecoder* decoder, absl::Time now) {
  struct stat info;
  absl::StatusOr<int> fd = OpenRegularFile(found.path, info);
  if (!fd.ok()) return fd.status();
  std::unique_ptr<LogFileTail> tail(
      new LogFileTail(context, found.path, found.device, found.inode, decoder));
  tail->fd_ = *fd;  // Closed by the tail from here on.
  if (!SameFile(info, found.device, found.inode)) {
    return absl::AbortedError("replaced while being opened");
  }
  absl::StatusOr<std::string> fingerprint = ReadFingerprint(*fd);
  if (!fingerprint.ok()) return fingerprint.status();
  tail->fingerprint_ = std::move(*fingerprint);
  tail->size_ = info.st_size;
  tail->modified_ = absl::TimeFromTimespec(info.st_mtim);
  tail->file_date_.modified = tail->modified_;
  tail->StartReading(at_end ? info.st_size : 0, now, /*keep_counters=*/true);
  tail->SetCommittedState();
  return tail;
}

LogFileTail::LogFileTail(const LogFileContext& context,
                         const FileCheckpoint& checkpoint, TextDecoder* decoder)
    : LogFileTail(context, checkpoint.path, checkpoint.device, checkpoint.inode,
                  decoder) {
  fingerprint_ = checkpoint.fingerprint;
  closed_offset_ = checkpoint.offset;
  MarkCommitted();
}

LogFileTail::LogFileTail(const LogFileContext& context, std::string path,
                         uint64_t device, uint64_t inode, TextDecoder* decoder)
    : context_(context), decoder_(decoder), device_(device), inode_(inode) {
  SetPath(std::move(path));
}

LogFileTail::~LogFileTail() {
  if (fd_ >= 0) close(fd_);
}

absl::Status LogFileTail::Found(const FoundLogFile& found, absl::Time now) {
  if (found.path != path_) SetPath(found.path);
  if (is_open() || (found.size == size_ && found.modified == modified_)) {
    return absl::OkStatus();
  }
  struct stat info;
  absl::StatusOr<int> fd = OpenRegularFile(path_, info);
  if (!fd.ok()) return fd.status();
  if (!SameFile(info, device_, inode_)) {
    close(*fd);  // Renamed meanwhile: the next scan finds it.
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> first_bytes = ReadFingerprint(*fd);
  if (!first_bytes.ok()) {
    close(*fd);
    return first_bytes.status();
  }
  fd_ = *fd;
  size_ = info.st_size;
  modified_ = absl::TimeFromTimespec(info.st_mtim);
  file_date_.modified = modified_;
  StartReading(closed_offset_, now, /*keep_counters=*/true);
  if (!absl::StartsWith(*first_bytes, fingerprint_)) {
    MarkReplaced("not the content its checkpoint refers to");
  } else if (size_ < closed_offset_) {
    MarkReplaced(absl::StrCat("shrank to ", size_, " bytes"));
  } else {
    fingerprint_ = std::move(*first_bytes);
  }
  return absl::OkStatus();
}

void LogFileTail::CheckForTruncation() {
  if (!is_open()) return;
  struct stat info;
  if (fstat(fd_, &info) != 0) return;  // Then the read fails and says why.
  const absl::Time modified = absl::TimeFromTimespec(info.st_mtim);
  const uint64_t size = info.st_size;
  const bool changed =
      size != size_ || modified != modified_ || !fingerprint_checked_;
  size_ = size;
  modified_ = modified;
  file_date_.modified = modified;
  if (size < reading_->splitter.end_offset()) {
    MarkReplaced(absl::StrCat("shrank to ", size, " bytes"));
    return;
  }
  if (!changed) return;
  // Truncated and written again past the offset since the last look: the
  // first bytes tell.
  absl::StatusOr<std::string> first_bytes = ReadFingerprint(fd_);
  if (!first_bytes.ok()) return;
  fingerprint_checked_ = true;
  if (!absl::StartsWith(*first_bytes, fingerprint_)) {
    MarkReplaced("its first bytes changed");
  } else if (first_bytes->size() > fingerprint_.size()) {
    fingerprint_ = std::move(*first_bytes);
  }
}

void LogFileTail::MarkReplaced(const std::string& why) {
  spdlog::info("log {}: {}; reading it from the start", path_, why);
  ++counters_.truncations;
  replaced_ = true;
}

void LogFileTail::FinishReplacement(absl::Time now, EmitFn emit) {
  Flush(now, emit);  // What was pending is real content of the old file.
  absl::StatusOr<std::string> first_bytes = ReadFingerprint(fd_);
  // Unreadable now: an empty fingerprint matches, and grows on later polls.
  fingerprint_ = first_bytes.ok() ? std::move(*first_bytes) : "";
  StartReading(0, now, /*keep_counters=*/true);
}

bool LogFileTail::IsCopiedIn(std::string_view first_bytes) const {
  std::string_view beginning = fingerprint_;
  // Of a file still written, a line being written may go on otherwise than
  // in another file ("line 5", then "line 57"): only complete lines count.
  // A replaced file's fingerprint holds all that was read of it (or its
  // first 1 KiB): whatever begins with it continues what was read.
  if (!replaced_ && beginning.size() < kFingerprintBytes) {
    beginning = beginning.substr(0, beginning.rfind('\n') + 1);
  }
  return !beginning.empty() && first_bytes.starts_with(beginning);
}

void LogFileTail::ContinueCopyOf(LogFileTail& original, absl::Time now,
                                 EmitFn emit) {
  const uint64_t read_end = original.reading_->splitter.end_offset();
  if (size_ >= read_end) {
    reading_.emplace(std::move(*original.reading_));
    original.reading_.reset();
    rooms_ = original.rooms_;
  } else {
    // The original was read past the copy's end (written to between the
    // copy and the truncation): the copy holds nothing new.
    original.Flush(now, emit);
    StartReading(size_, now, /*keep_counters=*/true);
  }
  spdlog::info(
      "log {}: a copy of {} before it was truncated (copytruncate); read "
      "from byte {}",
      path_, original.path_, reading_->splitter.end_offset());
  original.FinishReplacement(now, emit);
}

size_t LogFileTail::Read(size_t max_bytes, absl::Time now, EmitFn emit) {
  if (!is_open()) return 0;
  std::string& buffer = context_.read_buffer;
  const uint64_t offset = reading_->splitter.end_offset();
  ssize_t n;
  do {
    n = pread(fd_, buffer.data(), std::min(buffer.size(), max_bytes),
              static_cast<off_t>(offset));
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    read_failing_ = true;
    context_.read_problems.Report(
        Subject(), absl::StrCat("read failed: ", ErrnoText(errno)));
    return 0;
  }
  if (read_failing_) {
    read_failing_ = false;
    context_.read_problems.Resolve(Subject());
  }
  at_end_ = n == 0;
  if (n == 0) return 0;
  last_data_ = now;
  Feed(std::string_view(buffer.data(), n), now, emit);
  return n;
}

void LogFileTail::Feed(std::string_view bytes, absl::Time now, EmitFn emit) {
  Reading& reading = *reading_;
  const uint64_t bytes_offset = reading.splitter.end_offset();
  // The fingerprint follows what is read of the first bytes: a copy of the
  // file is known by it.
  if (fingerprint_.size() < kFingerprintBytes &&
      bytes_offset <= fingerprint_.size() &&
      bytes_offset + bytes.size() > fingerprint_.size()) {
    fingerprint_.append(bytes.substr(fingerprint_.size() - bytes_offset,
                                     kFingerprintBytes - fingerprint_.size()));
  }
  reading.splitter.Append(
      bytes, [&](const LogLine& line) { AddLine(line, now, emit); });
  if (const void* newline = memrchr(bytes.data(), '\n', bytes.size())) {
    reading.unfinished_line_start =
        bytes_offset + (static_cast<const char*>(newline) - bytes.data()) + 1;
  }
  // A cut line was handed over when it was cut; the rest of it, up to its
  // newline, is skipped: consumed as it is read.
  reading.consumed = reading.cut_line_start == reading.unfinished_line_start
                         ? reading.splitter.end_offset()
                         : reading.unfinished_line_start;
}

void LogFileTail::AddLine(const LogLine& line, absl::Time now, EmitFn emit) {
  Reading& reading = *reading_;
  if (line.truncated) reading.cut_line_start = line.offset;
  LogLine text = line;
  if (decoder_ != nullptr) {
    counters_.encoding_replacements +=
        decoder_->Decode(line.text, line.truncated, context_.decode_buffer);
    text.text = context_.decode_buffer;
  }
  const bool had_pending = reading.assembler.has_pending();
  bool emitted = false;
  reading.assembler.AddLine(text, file_date_, now, [&](v1::LogEvent&& event) {
    emitted = true;
    Emit(std::move(event), emit);
  });
  // A pending event that survived an emission, or appeared, starts here.
  if (reading.assembler.has_pending() && (emitted || !had_pending)) {
    reading.pending_start = line.offset;
  }
}

void LogFileTail::Emit(v1::LogEvent&& event, EmitFn emit) {
  if (event.file() != path_) event.set_file(path_);  // Renamed meanwhile.
  context_.classifier.Classify(event);
  rooms_.Assign(event);
  emit(std::move(event));
}

absl::Time LogFileTail::FlushDueAt() const {
  if (!reading_) return absl::InfiniteFuture();
  if (reading_->splitter.has_partial()) {
    return last_data_ + context_.options.multiline_timeout;
  }
  if (reading_->assembler.has_pending()) {
    return last_data_ + kEventEndQuietPeriod;
  }
  return absl::InfiniteFuture();
}

void LogFileTail::FlushIfDue(absl::Time now, bool gone, EmitFn emit) {
  if ((gone && at_end_) || now >= FlushDueAt()) Flush(now, emit);
}

void LogFileTail::Flush(absl::Time now, EmitFn emit) {
  if (!reading_) return;
  Reading& reading = *reading_;
  if (reading.splitter.has_partial()) {
    reading.splitter.FlushPartial(
        [&](const LogLine& line) { AddLine(line, now, emit); });
    reading.unfinished_line_start = reading.splitter.end_offset();
    reading.consumed = reading.unfinished_line_start;
  }
  reading.assembler.Flush(
      [&](v1::LogEvent&& event) { Emit(std::move(event), emit); });
}

uint64_t LogFileTail::CheckpointOffset() const {
  if (!reading_) return closed_offset_;
  return reading_->assembler.has_pending() ? reading_->pending_start
                                           : reading_->consumed;
}

FileCheckpoint LogFileTail::Checkpoint() const {
  return FileCheckpoint{.device = device_,
                        .inode = inode_,
                        .fingerprint = fingerprint_,
                        .path = path_,
                        .offset = CheckpointOffset()};
}

void LogFileTail::MarkCommitted() {
  SetCommittedState();
  in_store_ = true;
}

void LogFileTail::SetCommittedState() {
  committed_ = CommittedState{.offset = CheckpointOffset(),
                              .fingerprint = fingerprint_,
                              .path = path_,
                              .rooms = rooms_,
                              .counters = Counters()};
}

void LogFileTail::Rollback(absl::Time now) {
  counters_ = committed_.counters;
  rooms_ = committed_.rooms;
  fingerprint_ = committed_.fingerprint;
  if (is_open()) {
    StartReading(committed_.offset, now, /*keep_counters=*/false);
  } else {
    closed_offset_ = committed_.offset;
  }
}

bool LogFileTail::Drained(absl::Time now, absl::Duration idle) const {
  return !reading_ ||
         (at_end_ && !reading_->splitter.has_partial() &&
          !reading_->assembler.has_pending() && now - last_data_ >= idle);
}

bool LogFileTail::Committed() const {
  return in_store_ && CheckpointOffset() == committed_.offset &&
         fingerprint_ == committed_.fingerprint && path_ == committed_.path;
}

void LogFileTail::Close() {
  if (!is_open()) return;
  counters_ = Counters();
  closed_offset_ = CheckpointOffset();
  reading_.reset();
  close(fd_);
  fd_ = -1;
}

uint64_t LogFileTail::bytes_behind() const {
  const uint64_t offset = CheckpointOffset();
  return size_ > offset ? size_ - offset : 0;
}

LogFileCounters LogFileTail::Counters() const {
  LogFileCounters counters = counters_;
  if (reading_) {
    const LogEventAssembler::Counters& assembled =
        reading_->assembler.counters();
    counters.truncated_lines += reading_->splitter.truncated_lines();
    counters.truncated_events += assembled.truncated_events;
    counters.dropped_lines += assembled.dropped_lines;
    counters.utf8_replacements += assembled.utf8_replacements;
  }
  return counters;
}

void LogFileTail::StartReading(uint64_t offset, absl::Time now,
                               bool keep_counters) {
  if (keep_counters) counters_ = Counters();
  reading_.reset();
  reading_.emplace(path_, context_, offset);
  last_data_ = now;
  at_end_ = false;
  fingerprint_checked_ = false;
  replaced_ = false;
}

void LogFileTail::SetPath(std::string path) {
  path_ = std::move(path);
  file_date_.named_day = DayFromLogFileName(path_);
}

std::string LogFileTail::Subject() const { return absl::StrCat("log ", path_); }

}  // namespace eroom::agent
