#ifndef EROOM_COLLECTOR_AGENT_SERVICE_H_
#define EROOM_COLLECTOR_AGENT_SERVICE_H_

#include <cstddef>

#include "absl/time/time.h"
#include "collector/agent_stream_registry.h"
#include "collector/authorizer.h"
#include "collector/ingest.h"
#include "eroom/monitor/v1/monitor.grpc.pb.h"

namespace eroom::collector {

// How long a stream may stay open without its hello. An agent sends it
// first thing; a stream that does not holds a connection and a reactor for
// nothing.
inline constexpr absl::Duration kDefaultHelloTimeout = absl::Seconds(10);

// AgentService.Connect on gRPC's callback API. Each stream's reactor only
// validates and queues work for the ingest thread (batches, command
// progress) and writes what it answers and the commands `streams` sends
// it; it never blocks a gRPC thread. It parses the messages itself (the
// method is registered raw), so that an unparseable one is refused
// INVALID_ARGUMENT rather than taken for the agent closing its side.
class AgentServiceImpl final
    : public eroom::monitor::v1::AgentService::WithRawCallbackMethod_Connect<
          eroom::monitor::v1::AgentService::Service> {
 public:
  // `window_batches`: batches one stream may have waiting for storage before
  // the reactor stops reading from it (flow control back to that agent). A
  // stream also stops reading while its item waits for room in the ingest
  // queue (IngestPipeline::SubmitOrWait): a collector behind slows its
  // agents down, whose spools hold the rest, rather than failing streams.
  // Streams are refused unless `authorizer` admits their token and the
  // agent id of their hello; admitted ones are registered in `streams`.
  // A stream without a hello after `hello_timeout` ends DEADLINE_EXCEEDED.
  AgentServiceImpl(IngestPipeline& ingest, size_t window_batches,
                   Authorizer& authorizer, AgentStreamRegistry& streams,
                   absl::Duration hello_timeout = kDefaultHelloTimeout);

  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* Connect(
      grpc::CallbackServerContext* context) override;

 private:
  IngestPipeline& ingest_;
  const size_t window_batches_;
  Authorizer& authorizer_;
  AgentStreamRegistry& streams_;
  const absl::Duration hello_timeout_;
};

}  // namespace eroom::collector

#endif  // EROOM_COLLECTOR_AGENT_SERVICE_H_
