#ifndef EROOM_COMMON_SHUTDOWN_SIGNAL_H_
#define EROOM_COMMON_SHUTDOWN_SIGNAL_H_

#include <csignal>

namespace eroom {

// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread (and so in every
// thread it creates afterwards). Call first thing in main().
void BlockShutdownSignals();

// Waits until SIGTERM or SIGINT arrives; returns the signal number. SIGHUP is
// swallowed for now (reload comes later).
int WaitForShutdownSignal();

}  // namespace eroom

#endif  // EROOM_COMMON_SHUTDOWN_SIGNAL_H_
