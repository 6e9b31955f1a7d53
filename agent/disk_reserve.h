#ifndef EROOM_AGENT_DISK_RESERVE_H_
#define EROOM_AGENT_DISK_RESERVE_H_

#include <cstdint>
#include <string>

namespace eroom::agent {

// Space held on a file system, in a file of its own, to be given back when
// that file system fills up. The agent's spool needs it: SQLite writes a
// delete to its write-ahead log before the delete frees anything, so on a
// full disk the very deletes that would make room would fail.
//
// Not thread-safe.
class DiskReserve {
 public:
  DiskReserve(std::string path, uint64_t bytes);

  // Allocates the reserve unless it is held already; false when the file
  // system has no room for it (nothing is left allocated then).
  bool Acquire();

  // Gives the space back (removes the file).
  void Release();

  // What the file system holding the reserve has free for this process (0
  // when that cannot be read).
  uint64_t FileSystemFreeBytes() const;

  bool held() const { return held_; }
  uint64_t bytes() const { return bytes_; }
  const std::string& path() const { return path_; }

 private:
  const std::string path_;
  const uint64_t bytes_;
  bool held_ = false;
};

}  // namespace eroom::agent

#endif  // EROOM_AGENT_DISK_RESERVE_H_
