#ifndef EROOM_COMMON_SHUTDOWN_SIGNAL_H_
#define EROOM_COMMON_SHUTDOWN_SIGNAL_H_

#include <csignal>
#include <functional>

namespace eroom {

// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread (and so in every
// thread it creates afterwards). Call first thing in main().
void BlockShutdownSignals();

// Waits until SIGTERM or SIGINT arrives; returns the signal number. Each
// SIGHUP meanwhile calls `on_reload` (if set) on the calling thread.
int WaitForShutdownSignal(const std::function<void()>& on_reload = {});

}  // namespace eroom

#endif  // EROOM_COMMON_SHUTDOWN_SIGNAL_H_
