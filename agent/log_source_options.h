#ifndef EROOM_AGENT_LOG_SOURCE_OPTIONS_H_
#define EROOM_AGENT_LOG_SOURCE_OPTIONS_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "agent/classifier.h"

namespace eroom::agent {

// The character encoding of the log files whose path matches `glob`.
struct LogFileEncoding {
  // fnmatch(3) pattern (FNM_PATHNAME) on the file's path as found by
  // `LogSourceOptions::paths`, e.g. "/srv/eroom/logs/legacy-*.log".
  std::string glob;
  // "utf-8", or any name iconv knows, e.g. "cp949".
  std::string encoding;
};

// A pending event is emitted once its file, read to its end after a
// complete line, has been quiet this long. logback writes an event and its
// stack trace in one write (two for one larger than its 8 KiB buffer, back
// to back), so a quiet end of file holds whole events, and the last event
// reaches the spool at once rather than after the multi-line timeout.
inline constexpr absl::Duration kEventEndQuietPeriod = absl::Milliseconds(50);

struct LogSourceOptions {
  // glob(3) patterns of the files to follow (absolute, or relative to the
  // working directory; braces allowed). Never followed: anything under an
  // `archive` directory, compressed files, anything but regular files.
  std::vector<std::string> paths;
  // The ERoom directory. A matched path that leads out of it through a
  // symbolic link (the file's, or a directory's on the way) is not read but
  // reported, unless `follow_symlinks_outside`: ERoom writes the logs
  // directory, which must not let it make the agent read other files. Empty:
  // links are followed anywhere.
  std::string eroom_dir;
  bool follow_symlinks_outside = false;
  // The first entry whose glob matches a file gives its encoding; files no
  // entry matches are UTF-8.
  std::vector<LogFileEncoding> encodings;
  // On the very first run (nothing ever committed to the store): read the
  // files that already exist from their start (true) or only what is
  // appended (false).
  // Files that appear later, and every file on later runs, are read from
  // their start unless a checkpoint says where to resume.
  bool start_at_beginning = false;
  // A last line still missing its newline (and the event it belongs to) is
  // emitted after its file received nothing for this long; a file no longer
  // matched by `paths` (deleted, renamed away) is released once read to its
  // end and idle for this long.
  absl::Duration multiline_timeout = absl::Seconds(1);
  // An event larger than this is cut and flagged `truncated`; so is a
  // longer line, of which no more than this is ever buffered.
  size_t max_event_bytes = 64 * 1024;
  // Time zone of the log timestamps (ERoom logs local time, no zone).
  absl::TimeZone time_zone = absl::LocalTimeZone();
  // How events get their event_type and fields.
  std::vector<ClassificationRule> classification_rules =
      DefaultClassificationRules();

  // The patterns are expanded again at least this often (and at once when
  // inotify reports a change), so a missed notification is harmless.
  absl::Duration rescan_interval = absl::Seconds(1);
  // inotify wakes WaitForChange when a log directory changes; without it
  // (false, or unavailable) the caller's polling interval is the latency.
  bool use_inotify = true;
  // WaitForChange returns no sooner than this after a change, so a busy log
  // is read, and committed, in batches rather than per write.
  absl::Duration min_poll_interval = absl::Milliseconds(50);
  // A file read to its end and unchanged for this long is closed and kept
  // as a checkpoint only; a scan reopens it when it changes.
  absl::Duration close_idle_after = absl::Minutes(1);
  // One commit holds at most about this many events or message bytes, so
  // catching up on a large file keeps memory small: the pending batch is
  // the agent's largest allocation while it reads at full speed (10,000
  // events took 13 MB more than 1,000, for the same CPU per line;
  // tests/bench/agent_memory.sh).
  size_t commit_max_events = 1000;
  size_t commit_max_bytes = 512 * 1024;
};

}  // namespace eroom::agent

#endif  // EROOM_AGENT_LOG_SOURCE_OPTIONS_H_
