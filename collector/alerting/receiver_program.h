#ifndef EROOM_COLLECTOR_ALERTING_RECEIVER_PROGRAM_H_
#define EROOM_COLLECTOR_ALERTING_RECEIVER_PROGRAM_H_

#include <memory>

#include "collector/alerting/notification_config.h"
#include "collector/alerting/receiver.h"

namespace eroom::collector::alerting {

// Runs config.argv directly (posix_spawn, never a shell) for each message:
// the webhook JSON on its stdin, ProgramEnvironment() as its whole
// environment, stdout discarded, the end of stderr kept for the error. It
// must exit 0 within the timeout, or it is killed with its process group.
std::unique_ptr<Receiver> MakeProgramReceiver(const ReceiverConfig& config);

}  // namespace eroom::collector::alerting

#endif  // EROOM_COLLECTOR_ALERTING_RECEIVER_PROGRAM_H_
