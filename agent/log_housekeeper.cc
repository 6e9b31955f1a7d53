#include "agent/log_housekeeper.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "agent/log_file_scanner.h"
#include "common/durable_file.h"
#include "common/status_macros.h"

namespace eroom::agent {
namespace {

namespace v1 = ::eroom::monitor::v1;

constexpr size_t kChunkBytes = 256 * 1024;
constexpr char kArchiveSuffix[] = ".gz";

// Closes a file descriptor when it goes out of scope.
class ScopedFd {
 public:
  explicit ScopedFd(int fd) : fd_(fd) {}
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  ~ScopedFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  // Closes now: false if that failed (a late write error shows here).
  bool Close() { return ::close(std::exchange(fd_, -1)) == 0; }

 private:
  int fd_;
};

// Where links may lead: the tailer's rule.
std::string ConfinementOf(const LogSourceOptions& logs) {
  return logs.follow_symlinks_outside ? "" : logs.eroom_dir;
}

int64_t OldestUnixMs(const std::vector<FoundLogFile>& files) {
  int64_t oldest = 0;
  for (const FoundLogFile& file : files) {
    const int64_t modified = absl::ToUnixMillis(file.modified);
    if (oldest == 0 || modified < oldest) oldest = modified;
  }
  return oldest;
}

absl::Status WriteAll(int fd, const std::string& path,
                      const unsigned char* data, size_t size) {
  while (size > 0) {
    const ssize_t written = ::write(fd, data, size);
    if (written < 0) {
      if (errno == EINTR) continue;
      return FileSystemError("cannot write", path);
    }
    data += written;
    size -= static_cast<size_t>(written);
  }
  return absl::OkStatus();
}

struct GzipSizes {
  uint64_t in = 0;
  uint64_t out = 0;
};

// Gzips what `in` holds into `out` (-1: only counts the bytes it would
// write), with `name` and `mtime` in the gzip header as gzip(1) does.
// Cancelled once `stopping` is set.
absl::StatusOr<GzipSizes> Gzip(int in, const std::string& in_path, int out,
                               const std::string& out_path, std::string name,
                               time_t mtime,
                               const std::atomic<bool>& stopping) {
  z_stream stream{};
  if (deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED,
                   /*windowBits=*/15 + 16 /* gzip */, /*memLevel=*/8,
                   Z_DEFAULT_STRATEGY) != Z_OK) {
    return absl::ResourceExhaustedError("zlib: cannot start compressing");
  }
  absl::Cleanup end_stream = [&stream] { deflateEnd(&stream); };
  gz_header header{};
  header.time = static_cast<uLong>(mtime);
  header.os = 3;  // Unix.
  header.name = reinterpret_cast<Bytef*>(name.data());
  deflateSetHeader(&stream, &header);

  std::vector<unsigned char> input(kChunkBytes);
  std::vector<unsigned char> output(kChunkBytes);
  GzipSizes sizes;
  for (bool finished = false; !finished;) {
    if (stopping.load(std::memory_order_relaxed)) {
      return absl::CancelledError("the agent is stopping");
    }
    const ssize_t read = ::read(in, input.data(), input.size());
    if (read < 0) {
      if (errno == EINTR) continue;
      return FileSystemError("cannot read", in_path);
    }
    finished = read == 0;
    sizes.in += static_cast<uint64_t>(read);
    stream.next_in = input.data();
    stream.avail_in = static_cast<uInt>(read);
    do {
      stream.next_out = output.data();
      stream.avail_out = static_cast<uInt>(output.size());
      deflate(&stream, finished ? Z_FINISH : Z_NO_FLUSH);
      const size_t produced = output.size() - stream.avail_out;
      if (out >= 0) {
        EROOM_RETURN_IF_ERROR(WriteAll(out, out_path, output.data(), produced));
      }
      sizes.out += produced;
    } while (stream.avail_out == 0);
  }
  return sizes;
}

bool SameFile(const struct stat& info, const FoundLogFile& file) {
  return static_cast<uint64_t>(info.st_dev) == file.device &&
         static_cast<uint64_t>(info.st_ino) == file.inode;
}

class LogHousekeeperImpl final : public LogHousekeeper {
 public:
  LogHousekeeperImpl(HousekeepingPolicy policy, const LogSourceOptions& logs,
                     TailedFiles tailed_files, const Clock& clock)
      : policy_(std::move(policy)),
        log_globs_(logs.paths),
        confine_to_(ConfinementOf(logs)),
        tailed_files_(std::move(tailed_files)),
        clock_(clock),
        oldest_log_unix_ms_(OldestLogUnixMs(logs)) {}

  absl::StatusOr<v1::HousekeepingReport> Run(bool dry_run) override {
    absl::MutexLock run_lock(&run_mu_);
    if (stopping_.load(std::memory_order_relaxed)) {
      return absl::CancelledError("the agent is stopping");
    }
    const absl::Time now = clock_.Now();
    EROOM_ASSIGN_OR_RETURN(const std::vector<LogFileStatus> tailed,
                           tailed_files_());
    EROOM_ASSIGN_OR_RETURN(const bool archive_dir_exists,
                           PrepareArchiveDir(dry_run));
    std::vector<Archive> archives;
    if (archive_dir_exists) {
      EROOM_ASSIGN_OR_RETURN(archives, ListArchiveDir());
    }

    v1::HousekeepingReport report;
    report.set_dry_run(dry_run);
    int64_t freed = 0;
    // Names a new archive may not take: what the directory keeps.
    absl::flat_hash_set<std::string> taken_names;
    for (const Archive& archive : archives) {
      if (archive.deletable &&
          now - archive.modified > policy_.delete_archives_after) {
        v1::HousekeepingAction& action = *report.add_actions();
        action = DeleteArchive(archive, dry_run);
        if (action.reason().empty()) {
          freed += static_cast<int64_t>(archive.size);
          continue;
        }
      }
      taken_names.insert(archive.name);
    }

    const LogFileScan scan = ScanLogFiles(log_globs_, confine_to_);
    for (const auto& [path, problem] : scan.problems) {
      v1::HousekeepingAction& skip = *report.add_skipped();
      skip.set_kind(v1::HousekeepingAction::SKIP);
      skip.set_path(path);
      skip.set_reason(problem);
    }
    absl::flat_hash_map<std::string, LogFileStatus> tailed_by_path;
    for (const LogFileStatus& status : tailed) {
      tailed_by_path.emplace(status.path, status);
    }
    std::vector<FoundLogFile> uncompressed;
    for (const FoundLogFile& file : scan.files) {
      const std::string why_kept = WhyKept(file, tailed_by_path, now);
      v1::HousekeepingAction& action =
          why_kept.empty() ? *report.add_actions() : *report.add_skipped();
      action.set_path(file.path);
      action.set_bytes_before(file.size);
      action.set_modified_unix_ms(absl::ToUnixMillis(file.modified));
      if (!why_kept.empty()) {
        action.set_kind(v1::HousekeepingAction::SKIP);
        action.set_reason(why_kept);
        uncompressed.push_back(file);
        continue;
      }
      action.set_kind(v1::HousekeepingAction::COMPRESS);
      action.set_target(TargetFor(file.path, taken_names));
      absl::StatusOr<uint64_t> archive_bytes =
          Compress(file, action.target(), dry_run);
      if (!archive_bytes.ok()) {
        action.set_reason(std::string(archive_bytes.status().message()));
        uncompressed.push_back(file);
        continue;
      }
      action.set_bytes_after(*archive_bytes);
      freed += static_cast<int64_t>(file.size) -
               static_cast<int64_t>(*archive_bytes);
      if (dry_run) uncompressed.push_back(file);
    }
    report.set_bytes_freed(static_cast<uint64_t>(std::max<int64_t>(freed, 0)));

    absl::MutexLock lock(&state_mu_);
    oldest_log_unix_ms_ = OldestUnixMs(uncompressed);
    if (!dry_run) last_run_unix_ms_ = absl::ToUnixMillis(now);
    return report;
  }

  void Stop() override { stopping_.store(true, std::memory_order_relaxed); }

  int64_t last_run_unix_ms() const override {
    absl::MutexLock lock(&state_mu_);
    return last_run_unix_ms_;
  }
  int64_t oldest_uncompressed_log_unix_ms() const override {
    absl::MutexLock lock(&state_mu_);
    return oldest_log_unix_ms_;
  }

 private:
  // A name in the archive directory.
  struct Archive {
    std::string name;
    bool deletable = false;  // A regular file named *.gz.
    uint64_t size = 0;
    absl::Time modified;
  };

  // Whether the archive directory exists (a real run creates it). Fails if
  // it is not a directory, or leads out of eroom.dir through a link.
  absl::StatusOr<bool> PrepareArchiveDir(bool dry_run) const {
    const std::string& dir = policy_.archive_dir;
    struct stat info;
    if (::stat(dir.c_str(), &info) != 0) {
      if (errno != ENOENT) return FileSystemError("cannot stat", dir);
      if (dry_run) return false;
      std::error_code error;
      std::filesystem::create_directories(dir, error);
      if (error) {
        return absl::InternalError(absl::StrCat(
            "cannot create archive directory ", dir, ": ", error.message()));
      }
    } else if (!S_ISDIR(info.st_mode)) {
      return absl::FailedPreconditionError(
          absl::StrCat("archive directory ", dir, " is not a directory"));
    }
    if (std::string refusal = ConfinementRefusal(dir, confine_to_);
        !refusal.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("archive directory ", dir, ": ", refusal));
    }
    return true;
  }

  // Every name in the archive directory (links not followed), sorted.
  absl::StatusOr<std::vector<Archive>> ListArchiveDir() const {
    const std::string& dir = policy_.archive_dir;
    DIR* listing = ::opendir(dir.c_str());
    if (listing == nullptr) return FileSystemError("cannot list", dir);
    absl::Cleanup close_listing = [listing] { ::closedir(listing); };
    std::vector<Archive> archives;
    while (const dirent* entry = ::readdir(listing)) {
      Archive archive{.name = entry->d_name};
      if (archive.name == "." || archive.name == "..") continue;
      struct stat info;
      if (::fstatat(::dirfd(listing), entry->d_name, &info,
                    AT_SYMLINK_NOFOLLOW) == 0 &&
          S_ISREG(info.st_mode) &&
          absl::EndsWith(archive.name, kArchiveSuffix)) {
        archive.deletable = true;
        archive.size = static_cast<uint64_t>(info.st_size);
        archive.modified = absl::TimeFromTimespec(info.st_mtim);
      }
      archives.push_back(std::move(archive));
    }
    std::sort(
        archives.begin(), archives.end(),
        [](const Archive& a, const Archive& b) { return a.name < b.name; });
    return archives;
  }

  std::string ArchivePath(const std::string& name) const {
    return (std::filesystem::path(policy_.archive_dir) / name).string();
  }

  v1::HousekeepingAction DeleteArchive(const Archive& archive,
                                       bool dry_run) const {
    v1::HousekeepingAction action;
    action.set_kind(v1::HousekeepingAction::DELETE_ARCHIVE);
    action.set_path(ArchivePath(archive.name));
    action.set_bytes_before(archive.size);
    action.set_modified_unix_ms(absl::ToUnixMillis(archive.modified));
    if (!dry_run && ::unlink(action.path().c_str()) != 0) {
      action.set_reason(std::string(
          FileSystemError("cannot delete", action.path()).message()));
    }
    return action;
  }

  // Why `file` is left alone, or "" to compress it.
  std::string WhyKept(
      const FoundLogFile& file,
      const absl::flat_hash_map<std::string, LogFileStatus>& tailed,
      absl::Time now) const {
    struct stat info;
    if (::lstat(file.path.c_str(), &info) == 0 && S_ISLNK(info.st_mode)) {
      return "a symbolic link: only the file it names is compressed, under "
             "its own name";
    }
    if (auto it = tailed.find(file.path); it != tailed.end()) {
      const LogFileStatus& status = it->second;
      const uint64_t size = std::max(status.size, file.size);
      if (status.offset < size) {
        return absl::StrCat("the tailer has read ", status.offset, " of its ",
                            size, " bytes");
      }
      if (status.open) return "the tailer has it open (the active log)";
    }
    const absl::Duration age = now - file.modified;
    if (age < policy_.compress_after) {
      return absl::StrCat(
          "modified ", absl::FormatDuration(absl::Trunc(age, absl::Minutes(1))),
          " ago, within compress_after (",
          absl::FormatDuration(policy_.compress_after), ")");
    }
    return "";
  }

  // archive_dir/<name of the log>.gz, or .1.gz, .2.gz... if that is taken.
  std::string TargetFor(const std::string& log_path,
                        absl::flat_hash_set<std::string>& taken_names) const {
    const std::string base = std::filesystem::path(log_path).filename();
    std::string name = base + kArchiveSuffix;
    for (int n = 1; taken_names.contains(name); ++n) {
      name = absl::StrCat(base, ".", n, kArchiveSuffix);
    }
    taken_names.insert(name);
    return ArchivePath(name);
  }

  // Gzips `file` into `target` and removes it; the archive's size. A dry run
  // only compresses into nothing.
  absl::StatusOr<uint64_t> Compress(const FoundLogFile& file,
                                    const std::string& target,
                                    bool dry_run) const {
    ScopedFd in(::open(file.path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (in.get() < 0) return FileSystemError("cannot open", file.path);
    struct stat before;
    if (::fstat(in.get(), &before) != 0) {
      return FileSystemError("cannot stat", file.path);
    }
    if (!SameFile(before, file)) {
      return absl::AbortedError(
          absl::StrCat(file.path, " was replaced since it was found"));
    }
    const std::string name = std::filesystem::path(file.path).filename();
    if (dry_run) {
      EROOM_ASSIGN_OR_RETURN(GzipSizes sizes,
                             Gzip(in.get(), file.path, -1, target, name,
                                  before.st_mtime, stopping_));
      return sizes.out;
    }

    // A crash leaves at most a hidden temporary file, never a partial
    // archive under an archive's name.
    std::string temporary = ArchivePath(absl::StrCat(
        ".", std::filesystem::path(target).filename().string(), ".XXXXXX"));
    ScopedFd out(::mkostemp(temporary.data(), O_CLOEXEC));
    if (out.get() < 0) return FileSystemError("cannot create", temporary);
    bool named = false;
    absl::Cleanup remove_temporary = [&temporary, &named] {
      if (!named) ::unlink(temporary.c_str());
    };
    EROOM_ASSIGN_OR_RETURN(GzipSizes sizes,
                           Gzip(in.get(), file.path, out.get(), temporary, name,
                                before.st_mtime, stopping_));
    struct stat after;
    if (::fstat(in.get(), &after) != 0) {
      return FileSystemError("cannot stat", file.path);
    }
    if (sizes.in != static_cast<uint64_t>(before.st_size) ||
        after.st_size != before.st_size ||
        after.st_mtim.tv_sec != before.st_mtim.tv_sec ||
        after.st_mtim.tv_nsec != before.st_mtim.tv_nsec) {
      return absl::AbortedError(
          absl::StrCat(file.path, " changed while being compressed"));
    }
    // The archive ages from the log's time, not from today.
    const struct timespec times[2] = {before.st_atim, before.st_mtim};
    if (::fchmod(out.get(), before.st_mode & 0777) != 0 ||
        ::futimens(out.get(), times) != 0) {
      return FileSystemError("cannot set the attributes of", temporary);
    }
    if (::fsync(out.get()) != 0 || !out.Close()) {
      return FileSystemError("cannot write", temporary);
    }
    // link(2), unlike rename(2), never replaces an archive already there.
    if (::link(temporary.c_str(), target.c_str()) != 0) {
      return FileSystemError("cannot create", target);
    }
    named = true;
    ::unlink(temporary.c_str());
    EROOM_RETURN_IF_ERROR(SyncParentDirectory(target));

    // Only the file compressed is removed, not one renamed to its name since.
    struct stat current;
    if (::lstat(file.path.c_str(), &current) != 0 || !SameFile(current, file)) {
      return absl::AbortedError(absl::StrCat(
          file.path, " was renamed or replaced after it was compressed to ",
          target, "; left in place"));
    }
    if (::unlink(file.path.c_str()) != 0) {
      return FileSystemError(
          absl::StrCat("compressed to ", target, " but cannot remove"),
          file.path);
    }
    EROOM_RETURN_IF_ERROR(SyncParentDirectory(file.path));
    return sizes.out;
  }

  const HousekeepingPolicy policy_;
  const std::vector<std::string> log_globs_;
  const std::string confine_to_;
  const TailedFiles tailed_files_;
  const Clock& clock_;

  std::atomic<bool> stopping_ = false;
  absl::Mutex run_mu_;
  mutable absl::Mutex state_mu_;
  int64_t last_run_unix_ms_ ABSL_GUARDED_BY(state_mu_) = 0;
  int64_t oldest_log_unix_ms_ ABSL_GUARDED_BY(state_mu_);
};

}  // namespace

int64_t OldestLogUnixMs(const LogSourceOptions& logs) {
  return OldestUnixMs(ScanLogFiles(logs.paths, ConfinementOf(logs)).files);
}

std::unique_ptr<LogHousekeeper> LogHousekeeper::Create(
    HousekeepingPolicy policy, const LogSourceOptions& logs,
    TailedFiles tailed_files, const Clock& clock) {
  return std::make_unique<LogHousekeeperImpl>(std::move(policy), logs,
                                              std::move(tailed_files), clock);
}

}  // namespace eroom::agent
