// QueryService on a real in-process gRPC server, with storage faked.
#include "collector/query_service.h"

#include "collector/authorizer.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/unit/collector/fake_storage.h"
#include "tests/unit/test_support/fake_clock.h"
#include "tests/unit/test_support/loopback_grpc_server.h"

namespace eroom::collector {
namespace {
namespace v1 = ::eroom::monitor::v1;

AuthConfig OpenAccess() {
  AuthConfig config;
  config.tokens_required = false;
  return config;
}

class QueryServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.started());
    stub_ = v1::QueryService::NewStub(server_.NewChannel());
  }
  void TearDown() override {
    server_.Shutdown();
    workers_.Stop();
  }

  v1::HostStatus* AddHost(v1::ListHostsResponse& hosts, const std::string& id,
                          bool connected, absl::Duration silent_for) {
    v1::HostStatus* host = hosts.add_hosts();
    host->set_agent_id(id);
    host->set_connected(connected);
    host->set_last_seen_unix_ms(absl::ToUnixMillis(clock_.Now() - silent_for));
    return host;
  }

  FakeStorage storage_;
  FakeClock clock_;
  WorkQueue workers_{"query", 1, 8};
  RefusalLog refusals_{clock_, absl::Minutes(1), [](const std::string&) {}};
  Authorizer authorizer_{OpenAccess(), CollectorMethodAccess(), refusals_};
  QueryServiceImpl service_{storage_, workers_, authorizer_, clock_,
                            /*heartbeat_timeout=*/absl::Seconds(30)};
  test_support::LoopbackGrpcServer server_{service_};
  std::unique_ptr<v1::QueryService::Stub> stub_;
};

TEST_F(QueryServiceTest, HostsSilentPastTheHeartbeatTimeoutAreDown) {
  v1::ListHostsResponse hosts;
  AddHost(hosts, "fresh", /*connected=*/true, absl::Seconds(5));
  AddHost(hosts, "hung", /*connected=*/true, absl::Seconds(31));
  AddHost(hosts, "gone", /*connected=*/false, absl::Seconds(1));
  storage_.SetHosts(hosts);

  grpc::ClientContext context;
  v1::ListHostsResponse response;
  ASSERT_TRUE(stub_->ListHosts(&context, {}, &response).ok());
  ASSERT_EQ(response.hosts_size(), 3);
  EXPECT_FALSE(response.hosts(0).down());
  EXPECT_TRUE(response.hosts(1).down());
  EXPECT_TRUE(response.hosts(2).down());
}

}  // namespace
}  // namespace eroom::collector
