// QueryService on a real in-process gRPC server, with storage faked.
#include "collector/query_service.h"

#include <string>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "collector/authorizer.h"
#include "collector/ingest_rules.h"
#include "common/metric_catalog.h"
#include "gmock/gmock.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/unit/collector/fake_storage.h"
#include "tests/unit/test_support/fake_clock.h"
#include "tests/unit/test_support/loopback_grpc_server.h"
#include "tests/unit/test_support/status_matchers.h"

namespace eroom::collector {
namespace {
namespace v1 = ::eroom::monitor::v1;

using ::eroom::test_support::IsOk;
using ::eroom::test_support::IsOkAndHolds;
using ::eroom::test_support::StatusIs;
using ::testing::AnyOf;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

AuthConfig OpenAccess() {
  AuthConfig config;
  config.tokens_required = false;
  return config;
}

v1::AgentHello Hello(const std::string& agent_id) {
  v1::AgentHello hello;
  hello.set_agent_id(agent_id);
  return hello;
}

TEST(EffectiveLimitTest, ZeroIsTheDefaultLargeIsCappedNegativeIsRefused) {
  EXPECT_THAT(EffectiveLimit(0, 100, 1000), IsOkAndHolds(100));
  EXPECT_THAT(EffectiveLimit(7, 100, 1000), IsOkAndHolds(7));
  EXPECT_THAT(EffectiveLimit(1001, 100, 1000), IsOkAndHolds(1000));
  EXPECT_THAT(EffectiveLimit(-1, 100, 1000),
              StatusIs(absl::StatusCode::kInvalidArgument));
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

  // Registers the agent with storage and liveness, as ingest does.
  void Connect(const std::string& agent_id) {
    ASSERT_THAT(storage_.RegisterAgent(Hello(agent_id), clock_.Now()), IsOk());
    liveness_.OnRegistered(Hello(agent_id), clock_.Now());
  }

  // Stores `count` log events of agent "a", one a second.
  void StoreLogs(int count) {
    AgentBatch batch;
    batch.agent_id = "a";
    for (int i = 1; i <= count; ++i) {
      v1::Event* event = batch.batch.add_events();
      event->set_sequence(i);
      event->mutable_log()->set_time_unix_ms(i * 1000);
    }
    ASSERT_THAT(storage_.Apply(BuildStoredBatch({batch}, {}, clock_.Now())),
                IsOk());
  }

  FakeStorage storage_;
  FakeClock clock_;
  HostLiveness liveness_{clock_, /*heartbeat_timeout=*/absl::Seconds(30)};
  // One log query at a time, and a worker left for the other queries.
  WorkQueue workers_{"query", 2, 8};
  RefusalLog refusals_{clock_, absl::Minutes(1), [](const std::string&) {}};
  AgentEnrollments enrollments_;
  Authorizer authorizer_{OpenAccess(), CollectorMethodAccess(), refusals_,
                         enrollments_};
  QueryServiceImpl service_{storage_,
                            workers_,
                            authorizer_,
                            liveness_,
                            clock_,
                            /*max_concurrent_log_queries=*/1};
  test_support::LoopbackGrpcServer server_{service_};
  std::unique_ptr<v1::QueryService::Stub> stub_;
};

TEST_F(QueryServiceTest, HostsAreDownAsTheCollectorKnowsThem) {
  Connect("hung");
  clock_.Advance(absl::Seconds(25));
  Connect("fresh");
  Connect("gone");
  liveness_.OnDisconnected("gone", clock_.Now());
  ASSERT_THAT(storage_.MarkDisconnected("gone", clock_.Now()), IsOk());
  clock_.Advance(absl::Seconds(6));  // "hung" is silent for 31 s.

  grpc::ClientContext context;
  v1::ListHostsResponse response;
  ASSERT_TRUE(stub_->ListHosts(&context, {}, &response).ok());
  ASSERT_EQ(response.hosts_size(), 3);
  EXPECT_EQ(response.hosts(0).agent_id(), "fresh");
  EXPECT_FALSE(response.hosts(0).down());
  EXPECT_TRUE(response.hosts(1).down());  // gone
  EXPECT_TRUE(response.hosts(2).down());  // hung
}

TEST_F(QueryServiceTest, LogLimitDefaultsAndCaps) {
  StoreLogs(kDefaultLogLimit + 20);
  {
    grpc::ClientContext context;
    v1::QueryLogsResponse response;
    ASSERT_TRUE(stub_->QueryLogs(&context, {}, &response).ok());
    EXPECT_EQ(response.events_size(), kDefaultLogLimit);
    EXPECT_EQ(response.events(0).sequence(), uint64_t{kDefaultLogLimit + 20});
  }
  {
    grpc::ClientContext context;
    v1::QueryLogsRequest request;
    request.set_limit(kMaxLogLimit + 1);
    v1::QueryLogsResponse response;
    ASSERT_TRUE(stub_->QueryLogs(&context, request, &response).ok());
    EXPECT_EQ(response.events_size(), kDefaultLogLimit + 20);
  }
  grpc::ClientContext context;
  v1::QueryLogsRequest request;
  request.set_limit(-1);
  v1::QueryLogsResponse response;
  EXPECT_EQ(stub_->QueryLogs(&context, request, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(QueryServiceTest, UnknownMetricNameListsKnownNames) {
  grpc::ClientContext context;
  v1::QueryMetricsRequest request;
  request.set_name("host.cpu");
  v1::QueryMetricsResponse response;
  ASSERT_TRUE(stub_->QueryMetrics(&context, request, &response).ok());
  EXPECT_THAT(response.series(), IsEmpty());
  EXPECT_THAT(response.known_names(), ElementsAreArray(KnownMetricNames()));
}

TEST_F(QueryServiceTest, MetricNameIsRequiredAndLimitNotNegative) {
  {
    grpc::ClientContext context;
    v1::QueryMetricsResponse response;
    EXPECT_EQ(stub_->QueryMetrics(&context, {}, &response).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
  grpc::ClientContext context;
  v1::QueryMetricsRequest request;
  request.set_name("host.cpu_percent");
  request.set_limit(-5);
  v1::QueryMetricsResponse response;
  EXPECT_EQ(stub_->QueryMetrics(&context, request, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(QueryServiceTest, KnownMetricIsReadWithTheDefaultLimit) {
  AgentBatch batch;
  batch.agent_id = "a";
  for (int i = 1; i <= 3; ++i) {
    v1::Event* event = batch.batch.add_events();
    event->set_sequence(i);
    event->mutable_sample()->set_time_unix_ms(i);
    event->mutable_sample()->set_cpu_percent(i);
  }
  ASSERT_THAT(storage_.Apply(BuildStoredBatch({batch}, {}, clock_.Now())),
              IsOk());
  grpc::ClientContext context;
  v1::QueryMetricsRequest request;
  request.set_name("host.cpu_percent");
  v1::QueryMetricsResponse response;
  ASSERT_TRUE(stub_->QueryMetrics(&context, request, &response).ok());
  ASSERT_EQ(response.series_size(), 1);
  EXPECT_EQ(response.series(0).points_size(), 3);
  EXPECT_THAT(response.known_names(), IsEmpty());
}

// A search's status and message, through the stub.
grpc::Status Search(v1::QueryService::Stub& stub, const std::string& text) {
  grpc::ClientContext context;
  v1::QueryLogsRequest request;
  request.set_contains(text);
  v1::QueryLogsResponse response;
  return stub.QueryLogs(&context, request, &response);
}

TEST_F(QueryServiceTest, SearchTextUpToTheLimitIsSearched) {
  EXPECT_TRUE(Search(*stub_, std::string(kMaxSearchTextBytes, 'x')).ok());
}

TEST_F(QueryServiceTest, SearchTextOverTheLimitIsRefusedNamingIt) {
  grpc::Status status = Search(*stub_, std::string(1025, 'x'));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("1024 bytes"));
}

TEST_F(QueryServiceTest, SearchTextWithNulIsRefusedInOurWords) {
  grpc::Status status = Search(*stub_, std::string("a\0bc", 4));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(),
            "search text must not contain NUL characters");
}

// As an independent client sends it, whatever its library checks: field 4
// (contains) holding bytes that are not UTF-8.
TEST_F(QueryServiceTest, SearchTextThatIsNotUtf8IsRefusedSayingSo) {
  const std::string not_utf8 = "caf\xC3(";
  std::string wire = {0x22, static_cast<char>(not_utf8.size())};
  wire += not_utf8;
  grpc::Slice slice(wire);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  grpc::GenericStub stub(server_.NewChannel());
  grpc::ClientContext context;
  absl::Notification done;
  grpc::Status status;
  stub.UnaryCall(&context, "/eroom.monitor.v1.QueryService/QueryLogs", {},
                 &request, &response, [&](grpc::Status result) {
                   status = std::move(result);
                   done.Notify();
                 });
  done.WaitForNotification();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("not valid UTF-8"));
}

TEST_F(QueryServiceTest, LogQueryStopsWhenItsCallerGivesUp) {
  absl::Notification stopped;
  absl::Status stopped_with;
  storage_.SetSlowLogQuery([&](const QueryCheck& check) {
    // Runs until told to stop, or fails the test after a while.
    const absl::Time give_up = absl::Now() + absl::Seconds(20);
    while (absl::Now() < give_up) {
      if (absl::Status status = check(); !status.ok()) {
        stopped_with = status;
        stopped.Notify();
        return;
      }
      absl::SleepFor(absl::Milliseconds(5));
    }
  });
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
  v1::QueryLogsResponse response;
  EXPECT_EQ(stub_->QueryLogs(&context, {}, &response).error_code(),
            grpc::StatusCode::DEADLINE_EXCEEDED);
  ASSERT_TRUE(stopped.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_THAT(stopped_with,
              AnyOf(StatusIs(absl::StatusCode::kCancelled),
                    StatusIs(absl::StatusCode::kDeadlineExceeded)));
}

TEST_F(QueryServiceTest, LogQueryStopsAtTheServersTimeLimitWithoutADeadline) {
  storage_.SetSlowLogQuery([&](const QueryCheck& check) {
    clock_.Advance(kMaxQueryTime - absl::Milliseconds(1));
    EXPECT_THAT(check(), IsOk());
    clock_.Advance(absl::Milliseconds(1));
  });
  grpc::ClientContext context;
  v1::QueryLogsResponse response;
  grpc::Status status = stub_->QueryLogs(&context, {}, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_THAT(status.error_message(), HasSubstr("30s"));
}

TEST_F(QueryServiceTest, HostsAreAnsweredWhileLogQueriesRunAndMoreAreRefused) {
  absl::Notification running, finish;
  storage_.SetSlowLogQuery([&](const QueryCheck&) {
    running.Notify();
    finish.WaitForNotificationWithTimeout(absl::Seconds(20));
  });
  grpc::ClientContext slow_context;
  const v1::QueryLogsRequest slow_request;
  v1::QueryLogsResponse slow_response;
  absl::Notification slow_done;
  grpc::Status slow_status;
  stub_->async()->QueryLogs(&slow_context, &slow_request, &slow_response,
                            [&](grpc::Status status) {
                              slow_status = std::move(status);
                              slow_done.Notify();
                            });
  ASSERT_TRUE(running.WaitForNotificationWithTimeout(absl::Seconds(10)));

  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  v1::QueryLogsResponse response;
  grpc::Status refused = stub_->QueryLogs(&context, {}, &response);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused.error_message(), HasSubstr("log queries"));

  grpc::ClientContext hosts_context;
  hosts_context.set_deadline(
      absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  v1::ListHostsResponse hosts;
  EXPECT_TRUE(stub_->ListHosts(&hosts_context, {}, &hosts).ok());

  finish.Notify();
  ASSERT_TRUE(slow_done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_TRUE(slow_status.ok()) << slow_status.error_message();
  // The slot is free again.
  storage_.SetSlowLogQuery(nullptr);
  EXPECT_TRUE(Search(*stub_, "").ok());
}

}  // namespace
}  // namespace eroom::collector
