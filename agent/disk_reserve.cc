#include "agent/disk_reserve.h"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <filesystem>
#include <utility>

namespace eroom::agent {

DiskReserve::DiskReserve(std::string path, uint64_t bytes)
    : path_(std::move(path)), bytes_(bytes) {}

bool DiskReserve::Acquire() {
  if (held_) return true;
  const int fd = open(path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  // Allocated blocks, not a sparse file: the space must really be there.
  held_ = posix_fallocate(fd, 0, static_cast<off_t>(bytes_)) == 0;
  close(fd);
  if (!held_) unlink(path_.c_str());
  return held_;
}

void DiskReserve::Release() {
  unlink(path_.c_str());
  held_ = false;
}

uint64_t DiskReserve::FileSystemFreeBytes() const {
  const std::string dir = std::filesystem::path(path_).parent_path().string();
  struct statvfs fs;
  if (statvfs(dir.empty() ? "." : dir.c_str(), &fs) != 0) return 0;
  return static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
}

}  // namespace eroom::agent
