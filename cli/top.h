#ifndef EROOM_CLI_TOP_H_
#define EROOM_CLI_TOP_H_

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cli/arguments.h"
#include "cli/collector_client.h"
#include "cli/commands.h"
#include "cli/terminal.h"
#include "cli/top_frame.h"
#include "common/clock.h"

// `eroomctl top`: the live dashboard of every host.
namespace eroom::cli {

// The span and resolution of the sparklines: one point per step,
// averaged on the collector.
inline constexpr absl::Duration kTopTrendWindow = absl::Minutes(30);
inline constexpr absl::Duration kTopTrendStep = absl::Seconds(30);
// Columns of a frame printed off a terminal.
inline constexpr int kTopPlainWidth = 100;

// Everything one refresh asks the collector: the hosts (those `wanted`
// names by agent id or hostname; every host when empty), their trends
// since `now` - kTopTrendWindow, and the newest ERROR events among them.
absl::StatusOr<TopSnapshot> FetchTopSnapshot(
    CollectorClient& client, const std::vector<std::string>& wanted,
    absl::Time now);

using TopFetch = std::function<absl::StatusOr<TopSnapshot>(absl::Time now)>;

// Refreshes every `args.interval` and redraws in place (and at once when
// the window changes size) until q, Ctrl-C or `args.iterations` frames. A
// failed refresh keeps the last data on screen, marked stale, and is
// retried at the next interval.
absl::Status RunTopOnTerminal(const TopArgs& args, const TopFetch& fetch,
                              const TopFrameOptions& options,
                              const Clock& clock, Terminal& terminal);

// Prints `args.iterations` frames (at least one) as plain lines, waiting
// `args.interval` between them with `wait` (false stops). Returns the last
// refresh's error, if it failed.
absl::Status RunTopPlain(const TopArgs& args, const TopFetch& fetch,
                         const TopFrameOptions& options, const Clock& clock,
                         const std::function<bool(absl::Duration)>& wait,
                         std::ostream& out);

// On the terminal `context.open_terminal` gives, else plainly on
// `context.out`.
absl::Status RunTop(const TopArgs& args, const CommandContext& context);

}  // namespace eroom::cli

#endif  // EROOM_CLI_TOP_H_
