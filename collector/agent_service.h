#ifndef EROOM_COLLECTOR_AGENT_SERVICE_H_
#define EROOM_COLLECTOR_AGENT_SERVICE_H_

#include <cstddef>

#include "collector/agent_stream_registry.h"
#include "collector/authorizer.h"
#include "collector/ingest.h"
#include "eroom/monitor/v1/monitor.grpc.pb.h"

namespace eroom::collector {

// AgentService.Connect on gRPC's callback API. Each stream's reactor only
// validates and queues work for the ingest thread (batches, command
// progress) and writes what it answers and the commands `streams` sends
// it; it never blocks a gRPC thread.
class AgentServiceImpl final
    : public eroom::monitor::v1::AgentService::CallbackService {
 public:
  // `window_batches`: batches one stream may have waiting for storage before
  // the reactor stops reading from it (flow control back to that agent).
  // Streams are refused unless `authorizer` accepts their token and the
  // agent id of their hello; accepted ones are registered in `streams`.
  AgentServiceImpl(IngestPipeline& ingest, size_t window_batches,
                   Authorizer& authorizer, AgentStreamRegistry& streams);

  grpc::ServerBidiReactor<eroom::monitor::v1::AgentMessage,
                          eroom::monitor::v1::CollectorMessage>*
  Connect(grpc::CallbackServerContext* context) override;

 private:
  IngestPipeline& ingest_;
  const size_t window_batches_;
  Authorizer& authorizer_;
  AgentStreamRegistry& streams_;
};

}  // namespace eroom::collector

#endif  // EROOM_COLLECTOR_AGENT_SERVICE_H_
