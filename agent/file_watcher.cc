#include "agent/file_watcher.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "spdlog/spdlog.h"

namespace eroom::agent {
namespace {

constexpr uint32_t kWatchedEvents =
    IN_MODIFY | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM |
    IN_MOVED_TO | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;

std::string ErrnoText(int error) {
  return std::error_code(error, std::generic_category()).message();
}

// poll(2)'s timeout: rounded up, so a wait never ends early and spins.
int PollTimeoutMs(absl::Duration timeout) {
  if (timeout == absl::InfiniteDuration()) return -1;
  if (timeout <= absl::ZeroDuration()) return 0;
  const double ms = std::ceil(absl::ToDoubleMilliseconds(timeout));
  return ms >= INT32_MAX ? INT32_MAX : static_cast<int>(ms);
}

}  // namespace

absl::StatusOr<std::unique_ptr<FileWatcher>> FileWatcher::Create(
    bool use_inotify) {
  const int wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd < 0) {
    return absl::InternalError(
        absl::StrCat("eventfd failed: ", ErrnoText(errno)));
  }
  int inotify_fd = -1;
  if (use_inotify) {
    inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (inotify_fd < 0) {
      spdlog::info("inotify unavailable ({}): log files are polled",
                   ErrnoText(errno));
    }
  }
  return std::unique_ptr<FileWatcher>(new FileWatcher(wake_fd, inotify_fd));
}

FileWatcher::FileWatcher(int wake_fd, int inotify_fd)
    : wake_fd_(wake_fd), inotify_fd_(inotify_fd) {}

FileWatcher::~FileWatcher() {
  if (inotify_fd_ >= 0) close(inotify_fd_);
  close(wake_fd_);
}

void FileWatcher::Watch(const std::vector<std::string>& directories) {
  if (inotify_fd_ < 0) return;
  for (const std::string& directory : directories) {
    if (watches_.contains(directory)) continue;
    const int watch =
        inotify_add_watch(inotify_fd_, directory.c_str(), kWatchedEvents);
    // A missing directory may appear later; out of watches, polling covers.
    if (watch >= 0) watches_.emplace(directory, watch);
  }
}

void FileWatcher::WaitForChange(absl::Duration min_wait,
                                absl::Duration max_wait) {
  const absl::Time earliest = absl::Now() + min_wait;
  if (PollFor(max_wait, /*changes=*/true)) return;
  const absl::Duration early = earliest - absl::Now();
  if (early > absl::ZeroDuration()) PollFor(early, /*changes=*/false);
}

bool FileWatcher::PollFor(absl::Duration timeout, bool changes) {
  pollfd fds[2] = {{.fd = wake_fd_, .events = POLLIN, .revents = 0},
                   {.fd = inotify_fd_, .events = POLLIN, .revents = 0}};
  const nfds_t count = changes && inotify_fd_ >= 0 ? 2 : 1;
  // EINTR ends the wait early, which only makes the caller look sooner.
  if (poll(fds, count, PollTimeoutMs(timeout)) <= 0) return false;
  if ((fds[0].revents & POLLIN) == 0) return false;
  uint64_t wakes;
  while (read(wake_fd_, &wakes, sizeof(wakes)) < 0 && errno == EINTR) {
  }
  return true;
}

bool FileWatcher::TakeChanges() {
  if (inotify_fd_ < 0) return false;
  bool changed = false;
  alignas(inotify_event) char buffer[16 * 1024];
  for (;;) {
    const ssize_t n = read(inotify_fd_, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return changed;  // EAGAIN: drained.
    changed = true;
    for (ssize_t pos = 0; pos < n;) {
      const auto* event = reinterpret_cast<const inotify_event*>(buffer + pos);
      // The directory went away: forget its watch, so that Watch() adds
      // one again if it comes back.
      if (event->mask & IN_IGNORED) {
        absl::erase_if(watches_, [event](const auto& entry) {
          return entry.second == event->wd;
        });
      }
      pos += sizeof(inotify_event) + event->len;
    }
  }
}

void FileWatcher::Wake() {
  const uint64_t one = 1;
  while (write(wake_fd_, &one, sizeof(one)) < 0 && errno == EINTR) {
  }
}

}  // namespace eroom::agent
