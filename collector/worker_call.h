#ifndef EROOM_COLLECTOR_WORKER_CALL_H_
#define EROOM_COLLECTOR_WORKER_CALL_H_

#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "collector/authorizer.h"
#include "collector/grpc_status.h"
#include "collector/work_queue.h"
#include "grpcpp/grpcpp.h"
#include "spdlog/spdlog.h"

namespace eroom::collector {

// A unary call whose work blocks (reads storage): if the caller may call
// `method`, runs `work` (returning absl::StatusOr<Response>) on `workers`,
// which finishes the call with its result; the gRPC thread returns at once.
// A full work queue answers RESOURCE_EXHAUSTED.
template <typename Response, typename Work>
grpc::ServerUnaryReactor* FinishOnWorkers(grpc::CallbackServerContext* context,
                                          absl::string_view method,
                                          Authorizer& authorizer,
                                          WorkQueue& workers,
                                          Response* response, Work work) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (absl::StatusOr<Caller> caller = authorizer.Authorize(*context, method);
      !caller.ok()) {
    reactor->Finish(ToGrpcStatus(caller.status()));
    return reactor;
  }
  const bool queued =
      workers.TrySubmit([reactor, response, work = std::move(work)]() {
        absl::StatusOr<Response> result = work();
        if (!result.ok()) {
          spdlog::error("query failed: {}", result.status().ToString());
          reactor->Finish(ToGrpcStatus(result.status()));
          return;
        }
        *response = *std::move(result);
        reactor->Finish(grpc::Status::OK);
      });
  if (!queued) {
    reactor->Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                 "too many queries in progress; retry"));
  }
  return reactor;
}

}  // namespace eroom::collector

#endif  // EROOM_COLLECTOR_WORKER_CALL_H_
