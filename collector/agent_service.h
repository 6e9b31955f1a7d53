#ifndef EROOM_COLLECTOR_AGENT_SERVICE_H_
#define EROOM_COLLECTOR_AGENT_SERVICE_H_

#include <cstddef>
#include <memory>

#include "collector/authorizer.h"
#include "collector/ingest.h"
#include "eroom/monitor/v1/monitor.grpc.pb.h"

namespace eroom::collector {

class ActiveStreams;

// AgentService.Connect on gRPC's callback API. Each stream's reactor only
// validates and queues work for the ingest thread and writes what it
// answers; it never blocks a gRPC thread.
class AgentServiceImpl final
    : public eroom::monitor::v1::AgentService::CallbackService {
 public:
  // `window_batches`: batches one stream may have waiting for storage before
  // the reactor stops reading from it (flow control back to that agent).
  // Streams are refused unless `authorizer` accepts their token and the
  // agent id of their hello.
  AgentServiceImpl(IngestPipeline& ingest, size_t window_batches,
                   Authorizer& authorizer);
  ~AgentServiceImpl() override;

  grpc::ServerBidiReactor<eroom::monitor::v1::AgentMessage,
                          eroom::monitor::v1::CollectorMessage>*
  Connect(grpc::CallbackServerContext* context) override;

 private:
  IngestPipeline& ingest_;
  const size_t window_batches_;
  Authorizer& authorizer_;
  std::unique_ptr<ActiveStreams> active_;
};

}  // namespace eroom::collector

#endif  // EROOM_COLLECTOR_AGENT_SERVICE_H_
