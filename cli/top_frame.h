#ifndef EROOM_CLI_TOP_FRAME_H_
#define EROOM_CLI_TOP_FRAME_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "eroom/monitor/v1/monitor.pb.h"

// `eroomctl top`'s screen, drawn from what the collector said: a pure
// function of the data, the terminal's size and the time.
namespace eroom::cli {

// How many of the newest ERROR events the dashboard shows.
inline constexpr int kTopErrorCount = 5;

// One host's recent values of each trend, oldest first.
struct HostTrends {
  std::vector<double> cpu_percent;
  std::vector<double> memory_used_bytes;
  std::map<std::string, std::vector<double>> disk_used_percent;  // By mount.
};

// One refresh's answers.
struct TopSnapshot {
  absl::Time fetched;
  // The hosts shown, in the collector's order.
  std::vector<eroom::monitor::v1::HostStatus> hosts;
  // --host names that no host answers to (yet).
  std::vector<std::string> unmatched_hosts;
  std::map<std::string, HostTrends> trends;  // By agent id.
  // Across the hosts shown, newest first, at most kTopErrorCount.
  std::vector<eroom::monitor::v1::StoredLogEvent> recent_errors;
};

// What the dashboard knows: the last snapshot it got, and whether the
// refreshes since failed.
struct TopView {
  std::optional<TopSnapshot> snapshot;
  absl::Status last_refresh;  // Not OK: the snapshot (if any) is stale.
  absl::Time failing_since;   // The first of the failed refreshes.
};

struct TopFrameOptions {
  int width = 80;  // Columns: no line is wider.
  int height = 0;  // Rows the frame may use; 0: as many as it needs.
  absl::Time now;
  absl::TimeZone zone;
  std::string collector;  // Its address, for the title.
  absl::Duration interval;
  bool interactive = false;  // Says how to quit.
};

// The frame's lines, without line ends. Text from the network is shown
// through Printable(): a hostname or log line cannot drive the terminal.
std::vector<std::string> RenderTopFrame(const TopView& view,
                                        const TopFrameOptions& options);

}  // namespace eroom::cli

#endif  // EROOM_CLI_TOP_FRAME_H_
