#ifndef EROOM_COLLECTOR_GRPC_STATUS_H_
#define EROOM_COLLECTOR_GRPC_STATUS_H_

#include <string>

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace eroom::collector {

// gRPC and absl share status code numbering.
inline grpc::Status ToGrpcStatus(const absl::Status& status) {
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

}  // namespace eroom::collector

#endif  // EROOM_COLLECTOR_GRPC_STATUS_H_
