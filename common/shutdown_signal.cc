#include "common/shutdown_signal.h"

#include <pthread.h>

namespace eroom {
namespace {

sigset_t ShutdownSet() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}

}  // namespace

void BlockShutdownSignals() {
  sigset_t set = ShutdownSet();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  // A closed collector connection or probe socket must not kill the daemon.
  signal(SIGPIPE, SIG_IGN);
}

int WaitForShutdownSignal(const std::function<void()>& on_reload) {
  sigset_t set = ShutdownSet();
  while (true) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    if (sig == SIGTERM || sig == SIGINT) return sig;
    if (sig == SIGHUP && on_reload) on_reload();
  }
}

}  // namespace eroom
