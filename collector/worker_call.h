#ifndef EROOM_COLLECTOR_WORKER_CALL_H_
#define EROOM_COLLECTOR_WORKER_CALL_H_

#include <type_traits>
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
// `method`, runs `work` (returning absl::StatusOr<Response>; given the
// Caller if it takes one) on `workers`, which finishes the call with its
// result; the gRPC thread returns at once. A full work queue answers
// RESOURCE_EXHAUSTED.
template <typename Response, typename Work>
grpc::ServerUnaryReactor* FinishOnWorkers(grpc::CallbackServerContext* context,
                                          absl::string_view method,
                                          Authorizer& authorizer,
                                          WorkQueue& workers,
                                          Response* response, Work work) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<Caller> caller = authorizer.Authorize(*context, method);
  if (!caller.ok()) {
    reactor->Finish(ToGrpcStatus(caller.status()));
    return reactor;
  }
  const bool queued =
      workers.TrySubmit([reactor, response, work = std::move(work),
                         caller = *std::move(caller)]() {
        absl::StatusOr<Response> result;
        if constexpr (std::is_invocable_v<const Work&, const Caller&>) {
          result = work(caller);
        } else {
          result = work();
        }
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
