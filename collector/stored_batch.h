#ifndef EROOM_COLLECTOR_STORED_BATCH_H_
#define EROOM_COLLECTOR_STORED_BATCH_H_

#include <string>
#include <vector>

#include "collector/storage.h"
#include "eroom/monitor/v1/monitor.pb.h"

namespace eroom::collector {

// One step of a command as stored, with the agent whose stream it came on.
struct StoredCommandProgress {
  std::string agent_id;
  eroom::monitor::v1::CommandProgress progress;
};

// Exactly what one commit stored, as observers see it.
struct StoredBatch {
  std::vector<AgentBatch> batches;
  std::vector<StoredCommandProgress> command_progress;  // In order.
};

}  // namespace eroom::collector

#endif  // EROOM_COLLECTOR_STORED_BATCH_H_
