#include "agent/log_tailer.h"

#include <fnmatch.h>

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/file_watcher.h"
#include "agent/log_event_batch.h"
#include "agent/log_file_problems.h"
#include "agent/log_file_scanner.h"
#include "agent/log_file_tail.h"
#include "agent/log_header_parser.h"
#include "agent/text_decoder.h"
#include "spdlog/spdlog.h"

namespace eroom::agent {
namespace {

namespace v1 = ::eroom::monitor::v1;

// The read buffer stays allocated (and resident) for the agent's life; more
// than 64 KB a read only saves syscalls the reading does not notice.
constexpr size_t kReadChunkBytes = 64 * 1024;
// Bounds one poll's work per file (a large file read from its beginning),
// so the other files and the caller's shutdown checks are not starved; the
// rest is read on the next polls.
constexpr size_t kMaxBytesPerPoll = 8 * 1024 * 1024;
// Reads shrink with the batch on a store short of room, but not to a few
// bytes: a long line would take a read call for each.
constexpr size_t kSmallestRead = 128;
constexpr absl::Duration kCommitRetryDelay = absl::Seconds(1);
constexpr char kStoreSubject[] = "log checkpoint store";

std::string FileSubject(const std::string& path) {
  return absl::StrCat("log ", path);
}

struct TrackedFile {
  std::unique_ptr<LogFileTail> tail;
  // Found by the last complete scan (or not looked for yet).
  bool seen = true;
  // Gone and drained: left out of the checkpoints, and dropped once a
  // commit saved that.
  bool released = false;
  // Took over the previous content of a replaced file since the last
  // commit: a rollback forgets it (the original goes back to that content,
  // and hands it over again).
  bool continues_copy = false;
  // Not known yet to be a copy or not (Scan tells by its first bytes): not
  // read, not saved. A file found empty stays so until it has content: a
  // copy being made is empty at first.
  bool unclassified = true;
};

class LogTailerImpl final : public LogTailer {
 public:
  LogTailerImpl(LogSourceOptions options, Classifier classifier,
                std::vector<std::unique_ptr<TextDecoder>> decoders,
                std::unique_ptr<FileWatcher> watcher, const Clock& clock,
                LogCheckpointStore& store, const SavedLogState& saved)
      : options_(std::move(options)),
        parser_(options_.time_zone),
        classifier_(std::move(classifier)),
        decoders_(std::move(decoders)),
        watcher_(std::move(watcher)),
        clock_(clock),
        store_(store),
        read_buffer_(kReadChunkBytes, '\0'),
        context_{options_,       parser_,      classifier_,
                 read_problems_, read_buffer_, decode_buffer_},
        existing_files_at_end_(!saved.committed &&
                               !options_.start_at_beginning),
        run_recorded_(saved.committed),
        commit_events_limit_(options_.commit_max_events),
        commit_bytes_limit_(options_.commit_max_bytes) {
    absl::flat_hash_set<std::pair<uint64_t, uint64_t>> identities;
    for (const FileCheckpoint& checkpoint : saved.checkpoints) {
      if (!identities.emplace(checkpoint.device, checkpoint.inode).second) {
        continue;
      }
      files_.push_back({.tail = std::make_unique<LogFileTail>(
                            context_, checkpoint, DecoderFor(checkpoint.path)),
                        .unclassified = false});
    }
  }

  void PollOnce() override {
    const absl::Time now = clock_.Now();
    if (watcher_->TakeChanges()) scan_due_ = true;
    if (now < retry_at_) return;
    backlog_ = false;
    const auto emit = [this](v1::LogEvent&& event) {
      batch_.Add(std::move(event));
    };
    // Truncations first: logrotate copies before it truncates, so the scan
    // finds the copy that continues a truncated file.
    for (TrackedFile& file : files_) {
      file.tail->CheckForTruncation();
      if (file.tail->replaced() ||
          (file.unclassified && !file.tail->fingerprint().empty())) {
        scan_due_ = true;
      }
    }
    if (scan_due_ || now >= next_scan_) Scan(now, emit);
    for (TrackedFile& file : files_) {
      LogFileTail& tail = *file.tail;
      if (!tail.is_open() || file.unclassified) continue;
      size_t budget = kMaxBytesPerPoll;
      while (budget > 0) {
        const size_t read = tail.Read(
            std::min(budget, std::max(commit_bytes_limit_, kSmallestRead)), now,
            emit);
        if (read == 0) break;
        budget -= read;
        stats_.bytes_read += read;
        // No file is released yet, so a commit here keeps files_ intact.
        if (BatchFull() && !Commit(now)) return;
      }
      if (budget == 0) backlog_ = true;
      tail.FlushIfDue(now, /*gone=*/!file.seen, emit);
    }
    next_flush_ = absl::InfiniteFuture();
    for (const TrackedFile& file : files_) {
      next_flush_ = std::min(next_flush_, file.tail->FlushDueAt());
    }
    for (TrackedFile& file : files_) {
      file.released =
          !file.seen &&
          (file.unclassified
               ? file.tail->fingerprint().empty()
               : file.tail->Drained(now, options_.multiline_timeout));
    }
    if (!Commit(now)) return;
    for (TrackedFile& file : files_) {
      if (file.tail->is_open() &&
          file.tail->Drained(now, options_.close_idle_after) &&
          file.tail->Committed()) {
        file.tail->Close();
      }
    }
  }

  void WaitForChange(absl::Duration max_wait) override {
    const absl::Duration paused = retry_at_ - clock_.Now();
    if (paused > absl::ZeroDuration()) {
      // Nothing is read before the retry: sleep until then.
      const absl::Duration wait = std::min(paused, max_wait);
      watcher_->WaitForChange(wait, wait);
      return;
    }
    if (backlog_) return;
    // A pending event is committed when due, not a poll interval later.
    max_wait = std::min(
        max_wait, std::max(next_flush_ - clock_.Now(), absl::ZeroDuration()));
    watcher_->WaitForChange(std::min(options_.min_poll_interval, max_wait),
                            max_wait);
  }

  void Wake() override { watcher_->Wake(); }

  void FlushPending() override {
    const absl::Time now = clock_.Now();
    const auto emit = [this](v1::LogEvent&& event) {
      batch_.Add(std::move(event));
    };
    for (TrackedFile& file : files_) file.tail->Flush(now, emit);
    Commit(now);
  }

  LogTailerStats Stats() const override {
    LogTailerStats stats = stats_;
    LogFileCounters counters = released_counters_;
    for (const TrackedFile& file : files_) {
      counters += file.tail->Counters();
      stats.files_open += file.tail->is_open();
      stats.bytes_behind += file.tail->bytes_behind();
    }
    stats.truncated_lines = counters.truncated_lines;
    stats.truncated_events = counters.truncated_events;
    stats.dropped_lines = counters.dropped_lines;
    stats.utf8_replacements = counters.utf8_replacements;
    stats.encoding_replacements = counters.encoding_replacements;
    stats.truncations = counters.truncations;
    stats.file_errors = scan_problems_.streaks() + read_problems_.streaks();
    stats.files_tracked = files_.size();
    return stats;
  }

  std::vector<LogFileStatus> Files() const override {
    std::vector<LogFileStatus> files;
    for (const TrackedFile& file : files_) {
      files.push_back(LogFileStatus{.path = file.tail->path(),
                                    .offset = file.tail->CheckpointOffset(),
                                    .size = file.tail->size(),
                                    .open = file.tail->is_open()});
    }
    return files;
  }

 private:
  bool BatchFull() const {
    return batch_.size() >= commit_events_limit_ ||
           batch_.message_bytes() >= commit_bytes_limit_;
  }

  // Finds the files the patterns match now: known ones (by identity) learn
  // their current name, new ones are opened. A new file that begins as a
  // known one does is a copy of it (logrotate's copytruncate, or copy): of
  // content replaced since, it reads on where the replaced file stopped;
  // of content still in the file, it is not read at all. Files replaced
  // and not continued by a copy then read their new content: after a scan,
  // no file is replaced().
  void Scan(absl::Time now, LogFileTail::EmitFn emit) {
    scan_due_ = false;
    next_scan_ = now + options_.rescan_interval;
    LogFileScan scan = ScanLogFiles(
        options_.paths,
        options_.follow_symlinks_outside ? "" : options_.eroom_dir);
    watcher_->Watch(scan.directories);
    for (const auto& [path, problem] : scan.problems) {
      scan_problems_.Report(FileSubject(path), problem);
    }
    // After an incomplete scan, a file not found may only be unreadable.
    if (scan.complete) {
      for (TrackedFile& file : files_) file.seen = false;
    }
    std::vector<const FoundLogFile*> new_files;
    for (const FoundLogFile& found : scan.files) {
      TrackedFile* file = Find(found.device, found.inode);
      if (file == nullptr) {
        new_files.push_back(&found);
        continue;
      }
      file->seen = true;
      if (file->tail->path() != found.path) {
        spdlog::info("log {}: renamed to {}", file->tail->path(), found.path);
        ++stats_.rotations;
      }
      const absl::Status status = file->tail->Found(found, now);
      if (!status.ok()) {
        scan_problems_.Report(FileSubject(found.path),
                              std::string(status.message()));
      }
    }
    for (const FoundLogFile* found : new_files) {
      absl::StatusOr<std::unique_ptr<LogFileTail>> tail =
          LogFileTail::Open(context_, *found, existing_files_at_end_,
                            DecoderFor(found->path), now);
      if (!tail.ok()) {
        if (!absl::IsAborted(tail.status())) {
          scan_problems_.Report(FileSubject(found->path),
                                std::string(tail.status().message()));
        }
        continue;
      }
      files_.push_back({.tail = std::move(*tail)});
    }
    // Originals are files classified before this scan (of two new files
    // that begin alike, neither can tell which is the copy).
    std::vector<std::pair<TrackedFile*, LogFileTail*>> classified;
    for (TrackedFile& file : files_) {
      if (file.unclassified && !file.tail->fingerprint().empty()) {
        classified.emplace_back(&file, OriginalOf(*file.tail));
      }
    }
    absl::flat_hash_set<const LogFileTail*> copies_not_read;
    for (auto [file, original] : classified) {
      file->unclassified = false;
      if (original == nullptr) continue;
      if (original->replaced()) {
        file->tail->ContinueCopyOf(*original, now, emit);
        file->continues_copy = true;
      } else {
        copies_not_read.insert(file->tail.get());
      }
    }
    // Found again, and left out again, by the next scans.
    std::erase_if(files_, [&](const TrackedFile& file) {
      return copies_not_read.contains(file.tail.get());
    });
    for (TrackedFile& file : files_) {
      if (file.tail->replaced()) file.tail->FinishReplacement(now, emit);
    }
    existing_files_at_end_ = false;
    scanned_ = true;
    if (scan.files.empty() && scan.problems.empty() &&
        !options_.paths.empty()) {
      scan_problems_.Report("log paths",
                            absl::StrCat("no file matches ",
                                         absl::StrJoin(options_.paths, ", ")));
    }
    scan_problems_.ResolveUnreported();
  }

  // The followed file of which `copy` is a copy: a replaced one first (the
  // copy continues it), else one that still holds that content (the copy is
  // not read). Null if none.
  LogFileTail* OriginalOf(const LogFileTail& copy) {
    LogFileTail* original = nullptr;
    for (TrackedFile& file : files_) {
      LogFileTail& tail = *file.tail;
      if (file.unclassified || !tail.IsCopiedIn(copy.fingerprint())) continue;
      if (tail.replaced()) return &tail;
      if (original == nullptr) original = &tail;
    }
    return original;
  }

  TrackedFile* Find(uint64_t device, uint64_t inode) {
    for (TrackedFile& file : files_) {
      if (file.tail->device() == device && file.tail->inode() == inode) {
        return &file;
      }
    }
    return nullptr;
  }

  TextDecoder* DecoderFor(const std::string& path) const {
    for (size_t i = 0; i < options_.encodings.size(); ++i) {
      if (fnmatch(options_.encodings[i].glob.c_str(), path.c_str(),
                  FNM_PATHNAME) == 0) {
        return decoders_[i].get();
      }
    }
    return nullptr;
  }

  // Commits the batch with every file's checkpoint (nothing if nothing
  // changed). On failure everything goes back to the last commit.
  bool Commit(absl::Time now) {
    if (batch_.empty() && (run_recorded_ || !scanned_) &&
        std::all_of(files_.begin(), files_.end(), [](const TrackedFile& file) {
          return !file.released && file.tail->Committed();
        })) {
      return true;
    }
    std::vector<FileCheckpoint> checkpoints;
    checkpoints.reserve(files_.size());
    for (const TrackedFile& file : files_) {
      if (!file.released && !file.unclassified) {
        checkpoints.push_back(file.tail->Checkpoint());
      }
    }
    const size_t events = batch_.size();
    const size_t bytes = batch_.message_bytes();
    const absl::Status status =
        store_.Commit(batch_.mutable_events(), checkpoints);
    batch_.Clear();
    if (!status.ok()) {
      if (absl::IsResourceExhausted(status)) {
        commit_events_limit_ = std::max<size_t>(1, events / 2);
        commit_bytes_limit_ = std::max<size_t>(1, bytes / 2);
      }
      RollBack(status, now);
      return false;
    }
    commit_events_limit_ =
        std::min(options_.commit_max_events, 2 * commit_events_limit_);
    commit_bytes_limit_ =
        std::min(options_.commit_max_bytes, 2 * commit_bytes_limit_);
    store_problems_.Resolve(kStoreSubject);
    run_recorded_ = true;
    stats_.events_emitted += events;
    for (TrackedFile& file : files_) {
      file.tail->MarkCommitted();
      file.continues_copy = false;
    }
    std::erase_if(files_, [this](const TrackedFile& file) {
      if (!file.released) return false;
      spdlog::info("log {}: gone; no longer followed", file.tail->path());
      released_counters_ += file.tail->Counters();
      ++stats_.files_released;
      return true;
    });
    return true;
  }

  void RollBack(const absl::Status& status, absl::Time now) {
    ++stats_.commit_failures;
    store_problems_.Report(
        kStoreSubject,
        status.code() == absl::StatusCode::kResourceExhausted
            ? absl::StrCat("full (", status.message(), "); log reading paused")
            : absl::StrCat("commit failed: ", status.message()));
    std::erase_if(files_,
                  [](const TrackedFile& file) { return file.continues_copy; });
    for (TrackedFile& file : files_) {
      file.released = false;
      file.tail->Rollback(now);
    }
    retry_at_ = now + kCommitRetryDelay;
    backlog_ = false;
  }

  const LogSourceOptions options_;
  const LogHeaderParser parser_;
  const Classifier classifier_;
  // Parallel to options_.encodings; null for UTF-8.
  const std::vector<std::unique_ptr<TextDecoder>> decoders_;
  const std::unique_ptr<FileWatcher> watcher_;
  const Clock& clock_;
  LogCheckpointStore& store_;
  std::string read_buffer_;
  std::string decode_buffer_;
  ProblemLog read_problems_;
  ProblemLog scan_problems_;
  ProblemLog store_problems_;
  const LogFileContext context_;
  // Only on the very first run: files found by the first scan start at
  // their end.
  bool existing_files_at_end_;
  // The store knows the tailer ran. Until it does, the first commit after
  // a scan is made even with nothing else to save (no file found), or the
  // next start would again be taken for the very first run.
  bool run_recorded_;
  bool scanned_ = false;
  std::vector<TrackedFile> files_;  // In the order they were found.
  LogEventBatch batch_;
  // The batch's size, which each read stays within: halved from the size
  // of a batch the store had no room for, down to one event or byte, and
  // doubled by each commit that succeeds, up to the options' limits. A
  // store short of room (a nearly full disk) then takes what fits rather
  // than wait, perhaps for good, for room for a whole batch.
  size_t commit_events_limit_;
  size_t commit_bytes_limit_;
  bool scan_due_ = true;
  absl::Time next_scan_ = absl::InfinitePast();
  // After a failed commit, nothing is read before this.
  absl::Time retry_at_ = absl::InfinitePast();
  // The last poll stopped at its budget: more is waiting to be read.
  bool backlog_ = false;
  // When the earliest pending event is due (as of the last poll).
  absl::Time next_flush_ = absl::InfiniteFuture();
  LogTailerStats stats_;
  LogFileCounters released_counters_;
};

absl::Status ValidateOptions(const LogSourceOptions& options) {
  absl::flat_hash_set<std::string> seen;
  for (const std::string& path : options.paths) {
    if (path.empty()) return absl::InvalidArgumentError("empty log path");
    if (!seen.insert(path).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("log path listed twice: ", path));
    }
  }
  for (const LogFileEncoding& encoding : options.encodings) {
    if (encoding.glob.empty()) {
      return absl::InvalidArgumentError("log encoding with an empty glob");
    }
  }
  if (options.max_event_bytes == 0) {
    return absl::InvalidArgumentError("max_event_bytes must be positive");
  }
  if (options.commit_max_events == 0 || options.commit_max_bytes == 0) {
    return absl::InvalidArgumentError("commit limits must be positive");
  }
  for (const auto& [name, duration] :
       {std::pair{"multiline_timeout", options.multiline_timeout},
        std::pair{"rescan_interval", options.rescan_interval},
        std::pair{"min_poll_interval", options.min_poll_interval},
        std::pair{"close_idle_after", options.close_idle_after}}) {
    if (duration < absl::ZeroDuration()) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, " must not be negative"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<LogTailer>> LogTailer::Create(
    LogSourceOptions options, const Clock& clock, LogCheckpointStore& store) {
  if (absl::Status status = ValidateOptions(options); !status.ok()) {
    return status;
  }
  std::vector<std::unique_ptr<TextDecoder>> decoders;
  for (const LogFileEncoding& encoding : options.encodings) {
    if (IsUtf8EncodingName(encoding.encoding)) {
      decoders.push_back(nullptr);
      continue;
    }
    absl::StatusOr<std::unique_ptr<TextDecoder>> decoder =
        TextDecoder::Create(encoding.encoding);
    if (!decoder.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("log encoding for ", encoding.glob, ": ",
                       decoder.status().message()));
    }
    decoders.push_back(std::move(*decoder));
  }
  absl::StatusOr<Classifier> classifier =
      Classifier::Create(options.classification_rules);
  if (!classifier.ok()) return classifier.status();
  absl::StatusOr<std::unique_ptr<FileWatcher>> watcher =
      FileWatcher::Create(options.use_inotify);
  if (!watcher.ok()) return watcher.status();
  absl::StatusOr<SavedLogState> saved = store.Load();
  if (!saved.ok()) {
    return absl::Status(saved.status().code(),
                        absl::StrCat("loading the log checkpoints: ",
                                     saved.status().message()));
  }
  return std::make_unique<LogTailerImpl>(
      std::move(options), std::move(*classifier), std::move(decoders),
      std::move(*watcher), clock, store, *saved);
}

}  // namespace eroom::agent
