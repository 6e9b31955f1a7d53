#ifndef EROOM_TESTS_UNIT_TEST_SUPPORT_LOOPBACK_GRPC_SERVER_H_
#define EROOM_TESTS_UNIT_TEST_SUPPORT_LOOPBACK_GRPC_SERVER_H_

#include <initializer_list>
#include <memory>
#include <string>

#include "grpcpp/grpcpp.h"

namespace eroom::test_support {

// A real in-process gRPC server, plaintext, on a loopback port the kernel
// picks (so tests can run in parallel), serving the services given.
class LoopbackGrpcServer {
 public:
  // The services must outlive the server.
  explicit LoopbackGrpcServer(grpc::Service& service)
      : LoopbackGrpcServer({&service}) {}
  explicit LoopbackGrpcServer(std::initializer_list<grpc::Service*> services) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port_);
    for (grpc::Service* service : services) builder.RegisterService(service);
    server_ = builder.BuildAndStart();
  }
  LoopbackGrpcServer(const LoopbackGrpcServer&) = delete;
  LoopbackGrpcServer& operator=(const LoopbackGrpcServer&) = delete;
  ~LoopbackGrpcServer() { Shutdown(); }

  // Whether it is serving: check it (ASSERT_TRUE) before using it.
  bool started() const { return server_ != nullptr && port_ != 0; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::shared_ptr<grpc::Channel> NewChannel() const {
    return grpc::CreateChannel(address(), grpc::InsecureChannelCredentials());
  }

  // Ends every call and stops serving, e.g. so a test can check what the
  // service did when its clients went away; again later does nothing.
  void Shutdown() {
    if (server_) server_->Shutdown();
  }

 private:
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace eroom::test_support

#endif  // EROOM_TESTS_UNIT_TEST_SUPPORT_LOOPBACK_GRPC_SERVER_H_
