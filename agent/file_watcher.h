#ifndef EROOM_AGENT_FILE_WATCHER_H_
#define EROOM_AGENT_FILE_WATCHER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace eroom::agent {

// Lets the tail thread sleep until something happens in the log
// directories: a file written, created, renamed, removed or its permissions
// changed (inotify on the directories, which also covers the files in
// them), or Wake() (shutdown). Without inotify (unavailable, out of
// watches, or disabled) waits only time out, and the caller relies on
// polling; notifications are only ever a hint to look sooner.
class FileWatcher {
 public:
  // Internal only if the wake-up channel (an eventfd) cannot be made.
  static absl::StatusOr<std::unique_ptr<FileWatcher>> Create(bool use_inotify);
  ~FileWatcher();
  FileWatcher(const FileWatcher&) = delete;
  FileWatcher& operator=(const FileWatcher&) = delete;

  // Adds a watch for each of `directories` not watched yet. One that cannot
  // be watched now (missing) is simply tried again on the next call.
  void Watch(const std::vector<std::string>& directories);

  // Blocks until a watched directory changed, Wake() was called, or
  // `max_wait` passed. A change seen before `min_wait` passed returns only
  // at `min_wait`, so a busy file is read in batches, not per write; Wake()
  // always returns at once. Changes are not consumed: see TakeChanges.
  void WaitForChange(absl::Duration min_wait, absl::Duration max_wait);

  // Consumes the pending notifications; whether there were any. Always
  // false without inotify.
  bool TakeChanges();

  // Makes the current or the next WaitForChange return at once. Thread-safe.
  void Wake();

  bool uses_inotify() const { return inotify_fd_ >= 0; }

 private:
  FileWatcher(int wake_fd, int inotify_fd);

  // Blocks in poll(2) on the wake channel, and on inotify if `changes`;
  // true if woken by Wake().
  bool PollFor(absl::Duration timeout, bool changes);

  const int wake_fd_;
  const int inotify_fd_;  // -1 without inotify.
  // Watched directory -> watch descriptor.
  absl::flat_hash_map<std::string, int> watches_;
};

}  // namespace eroom::agent

#endif  // EROOM_AGENT_FILE_WATCHER_H_
