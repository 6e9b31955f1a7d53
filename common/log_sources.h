#ifndef EROOM_COMMON_LOG_SOURCES_H_
#define EROOM_COMMON_LOG_SOURCES_H_

#include "absl/status/status.h"
#include "eroom/monitor/v1/monitor.pb.h"

namespace eroom {

// Gives each log event of `batch` that refers to a source
// (Event.log_source) the file, logger and thread of that source
// (EventBatch.log_sources), then drops the sources: the batch is then as
// if its events had been sent whole. Both ends use it: the collector on
// every batch it receives, the agent on what it sends to a collector that
// does not read sources. InvalidArgument, naming the event or source, if
// an event refers to a source the batch does not define, or is no log
// event, or two sources share an id; `batch` is then partly resolved.
absl::Status ResolveLogSources(eroom::monitor::v1::EventBatch& batch);

}  // namespace eroom

#endif  // EROOM_COMMON_LOG_SOURCES_H_
