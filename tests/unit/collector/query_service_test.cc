// QueryService on a real in-process gRPC server, with storage faked.
#include "collector/query_service.h"

#include <functional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "collector/alerting/alert_admin.h"
#include "collector/authorizer.h"
#include "collector/ingest_rules.h"
#include "collector/token_hash.h"
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
using ::testing::ElementsAre;
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
    followers_.Stop();
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
      v1::Event* event = batch.batch->add_events();
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
  // One follow at a time.
  LogFollowers followers_{storage_,
                          [this](std::function<void()> work) {
                            return workers_.TrySubmit(std::move(work));
                          },
                          /*max_follows=*/1};
  QueryServiceImpl service_{storage_,
                            workers_,
                            authorizer_,
                            liveness_,
                            clock_,
                            /*max_concurrent_log_queries=*/1,
                            /*alerts=*/nullptr,
                            &followers_};
  test_support::LoopbackGrpcServer server_{service_};
  std::unique_ptr<v1::QueryService::Stub> stub_;
};

std::vector<uint64_t> SequencesOf(const v1::FollowLogsResponse& response) {
  std::vector<uint64_t> sequences;
  for (const v1::StoredLogEvent& event : response.events()) {
    sequences.push_back(event.sequence());
  }
  return sequences;
}

TEST_F(QueryServiceTest, FollowLogsSendsTheBacklogThenWhatIsStored) {
  StoreLogs(3);
  grpc::ClientContext context;
  v1::FollowLogsRequest request;
  request.mutable_filter()->set_limit(2);
  auto reader = stub_->FollowLogs(&context, request);
  v1::FollowLogsResponse response;
  ASSERT_TRUE(reader->Read(&response));
  EXPECT_THAT(SequencesOf(response), ElementsAre(2, 3));
  AgentBatch batch;
  batch.agent_id = "a";
  batch.batch->add_events()->set_sequence(4);
  batch.batch->mutable_events(0)->mutable_log()->set_time_unix_ms(4000);
  const StoredBatch stored = BuildStoredBatch({batch}, {}, clock_.Now());
  ASSERT_THAT(storage_.Apply(stored), IsOk());
  followers_.OnStored(stored);
  ASSERT_TRUE(reader->Read(&response));
  EXPECT_THAT(SequencesOf(response), ElementsAre(4));
  // A stopping collector ends the follow for the client to resume.
  followers_.Stop();
  EXPECT_FALSE(reader->Read(&response));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(QueryServiceTest, FollowLogsRefusesABadOrOversizedRegexNamingIt) {
  v1::FollowLogsRequest bad;
  bad.mutable_filter()->set_regex("a(b");
  v1::FollowLogsRequest oversized;
  oversized.mutable_filter()->set_regex(
      std::string(kMaxLogRegexBytes + 1, 'a'));
  for (const v1::FollowLogsRequest& request : {bad, oversized}) {
    grpc::ClientContext context;
    auto refused = stub_->FollowLogs(&context, request);
    v1::FollowLogsResponse response;
    EXPECT_FALSE(refused->Read(&response));
    const grpc::Status status = refused->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), HasSubstr("regex"));
  }
}

TEST_F(QueryServiceTest, FollowLogsRefusesAnEndAndFollowsBeyondTheCap) {
  v1::FollowLogsRequest until;
  until.mutable_filter()->set_until_unix_ms(5000);
  grpc::ClientContext refused_context;
  auto refused = stub_->FollowLogs(&refused_context, until);
  v1::FollowLogsResponse response;
  EXPECT_FALSE(refused->Read(&response));
  const grpc::Status status = refused->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("until_unix_ms"));

  grpc::ClientContext first_context;
  auto first = stub_->FollowLogs(&first_context, {});
  ASSERT_TRUE(first->Read(&response));  // Established.
  grpc::ClientContext second_context;
  auto second = stub_->FollowLogs(&second_context, {});
  EXPECT_FALSE(second->Read(&response));
  EXPECT_EQ(second->Finish().error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  // A client that cancels ends its follow, which frees its place.
  first_context.TryCancel();
  EXPECT_FALSE(first->Read(&response));
  EXPECT_EQ(first->Finish().error_code(), grpc::StatusCode::CANCELLED);
  bool followed_again = false;
  for (int attempt = 0; attempt < 100 && !followed_again; ++attempt) {
    grpc::ClientContext again_context;
    auto again = stub_->FollowLogs(&again_context, {});
    followed_again = again->Read(&response);
    again_context.TryCancel();
    again->Finish();
  }
  EXPECT_TRUE(followed_again);
}

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

TEST_F(QueryServiceTest, AMetricStepIsZeroOrAtLeastASecond) {
  for (int64_t step : {int64_t{-1000}, int64_t{999}}) {
    grpc::ClientContext context;
    v1::QueryMetricsRequest request;
    request.set_name("host.cpu_percent");
    request.set_step_ms(step);
    v1::QueryMetricsResponse response;
    const grpc::Status status =
        stub_->QueryMetrics(&context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << step;
    EXPECT_THAT(status.error_message(), HasSubstr("step_ms")) << step;
  }
  grpc::ClientContext context;
  v1::QueryMetricsRequest request;
  request.set_name("host.cpu_percent");
  request.set_step_ms(kMinMetricStepMs);
  v1::QueryMetricsResponse response;
  EXPECT_TRUE(stub_->QueryMetrics(&context, request, &response).ok());
}

TEST_F(QueryServiceTest, KnownMetricIsReadWithTheDefaultLimit) {
  AgentBatch batch;
  batch.agent_id = "a";
  for (int i = 1; i <= 3; ++i) {
    v1::Event* event = batch.batch->add_events();
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

// A log query's status, through the stub, and its response in `response`.
grpc::Status QueryLogs(v1::QueryService::Stub& stub,
                       const v1::QueryLogsRequest& request,
                       v1::QueryLogsResponse* response = nullptr) {
  grpc::ClientContext context;
  v1::QueryLogsResponse ignored;
  return stub.QueryLogs(&context, request,
                        response != nullptr ? response : &ignored);
}

TEST_F(QueryServiceTest, RegexUpToTheLimitIsRunOverItRefusedNamingIt) {
  v1::QueryLogsRequest request;
  request.set_regex(std::string(kMaxLogRegexBytes, 'x'));
  EXPECT_TRUE(QueryLogs(*stub_, request).ok());
  request.set_regex(std::string(kMaxLogRegexBytes + 1, 'x'));
  grpc::Status status = QueryLogs(*stub_, request);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("regex: 1025 bytes"));
}

TEST_F(QueryServiceTest, BadRegexIsRefusedWithRe2sReason) {
  v1::QueryLogsRequest request;
  request.set_regex("room_(failed");
  grpc::Status status = QueryLogs(*stub_, request);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("regex: "));
  EXPECT_THAT(status.error_message(), HasSubstr("missing )"));
}

TEST_F(QueryServiceTest, MalformedCursorIsRefusedNamingIt) {
  v1::QueryLogsRequest request;
  for (const char* cursor : {"not a cursor", "MToxMjM", "Mjox OjE"}) {
    request.set_before_cursor(cursor);
    grpc::Status status = QueryLogs(*stub_, request);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << cursor;
    EXPECT_THAT(status.error_message(), HasSubstr("before_cursor: "));
  }
}

TEST_F(QueryServiceTest, NegativeContextIsRefusedLargeIsCapped) {
  StoreLogs(3 * kMaxLogContext);
  v1::QueryLogsRequest request;
  request.set_context(-1);
  grpc::Status status = QueryLogs(*stub_, request);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("context: "));

  // The one match in the middle, with as much context as may be shown.
  request.set_context(kMaxLogContext + 5);
  request.set_until_unix_ms(int64_t{1000} * (kMaxLogContext * 3 / 2));
  request.set_since_unix_ms(request.until_unix_ms());
  v1::QueryLogsResponse response;
  ASSERT_TRUE(QueryLogs(*stub_, request, &response).ok());
  EXPECT_EQ(response.events_size(), 2 * kMaxLogContext + 1);
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

TEST_F(QueryServiceTest, LogQueryStopsAtOnceWhenTheCollectorStops) {
  storage_.SetSlowLogQuery([&](const QueryCheck& check) {
    EXPECT_THAT(check(), IsOk());
    service_.StopQueries();
  });
  grpc::ClientContext context;
  v1::QueryLogsResponse response;
  grpc::Status status = stub_->QueryLogs(&context, {}, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(status.error_message(), HasSubstr("stopping"));
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

TEST_F(QueryServiceTest, AlertCallsSayAlertingIsOffAndHostsHaveNoAlerts) {
  Connect("a");
  grpc::ClientContext context;
  v1::ListAlertsResponse alerts;
  grpc::Status status = stub_->ListAlerts(&context, {}, &alerts);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("alerting is not configured"));
  grpc::ClientContext hosts_context;
  v1::ListHostsResponse hosts;
  ASSERT_TRUE(stub_->ListHosts(&hosts_context, {}, &hosts).ok());
  ASSERT_EQ(hosts.hosts_size(), 1);
  EXPECT_THAT(hosts.hosts(0).firing_alerts(), IsEmpty());
}

// Answers with what it was given and remembers what it was asked.
class FakeAlertAdmin final : public alerting::AlertAdmin {
 public:
  absl::StatusOr<std::vector<alerting::Alert>> ActiveAlerts(
      const std::string& agent_id) override {
    absl::MutexLock lock(&mu_);
    asked_agent_id = agent_id;
    std::vector<alerting::Alert> alerts;
    for (const alerting::Alert& alert : active) {
      if (agent_id.empty() || alert.key.agent_id == agent_id) {
        alerts.push_back(alert);
      }
    }
    return alerts;
  }
  absl::StatusOr<std::vector<alerting::AlertEvent>> History(
      absl::Time since, int limit, const std::string& agent_id) override {
    absl::MutexLock lock(&mu_);
    history_since = since;
    history_limit = limit;
    asked_agent_id = agent_id;
    return history;
  }
  absl::Status Acknowledge(int64_t alert_id, const std::string& by,
                           const std::string& comment) override {
    absl::MutexLock lock(&mu_);
    if (alert_id == 404) return absl::NotFoundError("no alert with id 404");
    acknowledged.push_back(absl::StrCat(alert_id, " ", by, " ", comment));
    return absl::OkStatus();
  }
  absl::StatusOr<alerting::Silence> AddSilence(
      alerting::Silence silence) override {
    absl::MutexLock lock(&mu_);
    silence.id = 7;
    added.push_back(silence);
    return silence;
  }
  absl::StatusOr<std::vector<alerting::Silence>> Silences(
      bool include_ended) override {
    absl::MutexLock lock(&mu_);
    asked_include_ended = include_ended;
    return added;
  }
  absl::Status ExpireSilence(int64_t silence_id,
                             const std::string& by) override {
    absl::MutexLock lock(&mu_);
    expired.push_back(absl::StrCat(silence_id, " ", by));
    return absl::OkStatus();
  }
  std::vector<alerting::RuleStatus> Rules() override {
    absl::MutexLock lock(&mu_);
    return rules;
  }

  absl::Mutex mu_;
  // Set before the calls, read after them.
  std::vector<alerting::Alert> active;
  std::vector<alerting::AlertEvent> history;
  std::vector<alerting::RuleStatus> rules;
  std::string asked_agent_id;
  absl::Time history_since;
  int history_limit = 0;
  bool asked_include_ended = false;
  std::vector<std::string> acknowledged;
  std::vector<alerting::Silence> added;
  std::vector<std::string> expired;
};

constexpr char kViewerToken[] = "viewer-token";
constexpr char kOperatorToken[] = "operator-token";

AuthConfig ViewerAndOperator() {
  AuthConfig config;
  config.tokens_required = true;
  config.users = {{"vera", Role::kViewer, TokenSha256Hex(kViewerToken)},
                  {"otto", Role::kOperator, TokenSha256Hex(kOperatorToken)}};
  return config;
}

alerting::Alert MakeAlert(int64_t id, const std::string& rule,
                          const std::string& agent_id,
                          alerting::Severity severity,
                          alerting::AlertState state) {
  alerting::Alert alert;
  alert.id = id;
  alert.key = {rule, agent_id, ""};
  alert.severity = severity;
  alert.state = state;
  alert.labels = {{"alertname", rule}};
  alert.summary = rule + " on " + agent_id;
  alert.value = 1.5;
  alert.pending_since = absl::FromUnixMillis(1000);
  if (state == alerting::AlertState::kFiring) {
    alert.firing_since = absl::FromUnixMillis(2000);
  }
  return alert;
}

// The alert calls with tokens (a viewer and an operator) and alerting on.
class QueryServiceAlertsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.started());
    stub_ = v1::QueryService::NewStub(server_.NewChannel());
    admin_.active = {
        MakeAlert(1, "disk_full", "a", alerting::Severity::kWarning,
                  alerting::AlertState::kFiring),
        MakeAlert(2, "health_down", "a", alerting::Severity::kCritical,
                  alerting::AlertState::kFiring),
        MakeAlert(3, "cpu_high", "a", alerting::Severity::kCritical,
                  alerting::AlertState::kPending),
        MakeAlert(4, "health_down", "b", alerting::Severity::kCritical,
                  alerting::AlertState::kFiring)};
  }
  void TearDown() override {
    server_.Shutdown();
    workers_.Stop();
  }

  // A client context carrying `token`.
  static std::unique_ptr<grpc::ClientContext> As(const char* token) {
    auto context = std::make_unique<grpc::ClientContext>();
    context->AddMetadata("authorization", absl::StrCat("Bearer ", token));
    return context;
  }

  grpc::Status Silence(const std::vector<std::string>& matchers,
                       int64_t duration_ms, const std::string& comment,
                       v1::SilenceRecord* response) {
    v1::AddSilenceRequest request;
    for (const std::string& matcher : matchers) request.add_matchers(matcher);
    request.set_duration_ms(duration_ms);
    request.set_comment(comment);
    return stub_->AddSilence(As(kOperatorToken).get(), request, response);
  }

  FakeAlertAdmin admin_;
  FakeStorage storage_;
  FakeClock clock_;
  HostLiveness liveness_{clock_, /*heartbeat_timeout=*/absl::Seconds(30)};
  WorkQueue workers_{"query", 2, 8};
  RefusalLog refusals_{clock_, absl::Minutes(1), [](const std::string&) {}};
  AgentEnrollments enrollments_;
  Authorizer authorizer_{ViewerAndOperator(), CollectorMethodAccess(),
                         refusals_, enrollments_};
  QueryServiceImpl service_{storage_, workers_, authorizer_, liveness_,
                            clock_,   1,        &admin_};
  test_support::LoopbackGrpcServer server_{service_};
  std::unique_ptr<v1::QueryService::Stub> stub_;
};

TEST_F(QueryServiceAlertsTest, ActiveAlertsMostSevereFirstFiringFirst) {
  v1::ListAlertsRequest request;
  request.set_agent_id("a");
  v1::ListAlertsResponse response;
  ASSERT_TRUE(
      stub_->ListAlerts(As(kViewerToken).get(), request, &response).ok());
  EXPECT_EQ(admin_.asked_agent_id, "a");
  ASSERT_EQ(response.alerts_size(), 3);
  const v1::AlertRecord& first = response.alerts(0);
  EXPECT_EQ(first.id(), 2);
  EXPECT_EQ(first.rule(), "health_down");
  EXPECT_EQ(first.agent_id(), "a");
  EXPECT_EQ(first.state(), v1::ALERT_FIRING);
  EXPECT_EQ(first.severity(), v1::SEVERITY_CRITICAL);
  EXPECT_EQ(first.labels().at("alertname"), "health_down");
  EXPECT_EQ(first.summary(), "health_down on a");
  EXPECT_EQ(first.value(), 1.5);
  EXPECT_EQ(first.pending_since_unix_ms(), 1000);
  EXPECT_EQ(first.firing_since_unix_ms(), 2000);
  EXPECT_EQ(first.resolved_unix_ms(), 0);  // Not happened: 0.
  EXPECT_EQ(first.last_notified_unix_ms(), 0);
  EXPECT_EQ(response.alerts(1).id(), 3);
  EXPECT_EQ(response.alerts(1).state(), v1::ALERT_PENDING);
  EXPECT_EQ(response.alerts(2).id(), 1);
  EXPECT_THAT(response.history(), IsEmpty());
}

TEST_F(QueryServiceAlertsTest, HistoryWithSinceAndLimit) {
  alerting::AlertEvent resolved;
  resolved.kind = alerting::AlertEvent::Kind::kResolved;
  resolved.at = absl::FromUnixMillis(5000);
  resolved.inhibited = true;
  resolved.alert =
      MakeAlert(2, "health_down", "a", alerting::Severity::kCritical,
                alerting::AlertState::kResolved);
  admin_.history = {resolved};
  v1::ListAlertsRequest request;
  request.set_history(true);
  request.set_since_unix_ms(4000);
  v1::ListAlertsResponse response;
  ASSERT_TRUE(
      stub_->ListAlerts(As(kViewerToken).get(), request, &response).ok());
  EXPECT_EQ(admin_.history_since, absl::FromUnixMillis(4000));
  EXPECT_EQ(admin_.history_limit, kDefaultAlertHistoryLimit);
  ASSERT_EQ(response.history_size(), 1);
  EXPECT_EQ(response.history(0).time_unix_ms(), 5000);
  EXPECT_EQ(response.history(0).state(), v1::ALERT_RESOLVED);
  EXPECT_TRUE(response.history(0).inhibited());
  EXPECT_EQ(response.history(0).alert().id(), 2);
  EXPECT_THAT(response.alerts(), IsEmpty());

  request.set_since_unix_ms(0);
  request.set_limit(kMaxAlertHistoryLimit + 1);
  ASSERT_TRUE(
      stub_->ListAlerts(As(kViewerToken).get(), request, &response).ok());
  EXPECT_EQ(admin_.history_since, absl::InfinitePast());
  EXPECT_EQ(admin_.history_limit, kMaxAlertHistoryLimit);

  request.set_limit(-1);
  EXPECT_EQ(stub_->ListAlerts(As(kViewerToken).get(), request, &response)
                .error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(QueryServiceAlertsTest, HostsShowTheirFiringAlertsOnly) {
  ASSERT_THAT(storage_.RegisterAgent(Hello("a"), clock_.Now()), IsOk());
  ASSERT_THAT(storage_.RegisterAgent(Hello("c"), clock_.Now()), IsOk());
  v1::ListHostsResponse hosts;
  ASSERT_TRUE(stub_->ListHosts(As(kViewerToken).get(), {}, &hosts).ok());
  ASSERT_EQ(hosts.hosts_size(), 2);
  const v1::HostStatus& a = hosts.hosts(0);
  EXPECT_EQ(a.agent_id(), "a");
  ASSERT_EQ(a.firing_alerts_size(), 2);  // Not the pending one.
  EXPECT_EQ(a.firing_alerts(0).rule(), "health_down");
  EXPECT_EQ(a.firing_alerts(1).rule(), "disk_full");
  EXPECT_THAT(hosts.hosts(1).firing_alerts(), IsEmpty());
}

TEST_F(QueryServiceAlertsTest, AcknowledgeNeedsAnOperatorAndAComment) {
  v1::AcknowledgeAlertRequest request;
  request.set_alert_id(2);
  request.set_comment("restarting ERoom");
  v1::AcknowledgeAlertResponse response;
  EXPECT_EQ(stub_->AcknowledgeAlert(As(kViewerToken).get(), request, &response)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(
      stub_->AcknowledgeAlert(As(kOperatorToken).get(), request, &response)
          .ok());
  EXPECT_EQ(response.alert_id(), 2);
  EXPECT_EQ(response.acknowledged_by(), "otto");
  EXPECT_THAT(admin_.acknowledged, ElementsAre("2 otto restarting ERoom"));

  request.set_comment("  ");
  grpc::Status status =
      stub_->AcknowledgeAlert(As(kOperatorToken).get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("needs a comment"));
  request.set_comment(std::string(kMaxCommentBytes + 1, 'x'));
  EXPECT_EQ(
      stub_->AcknowledgeAlert(As(kOperatorToken).get(), request, &response)
          .error_code(),
      grpc::StatusCode::INVALID_ARGUMENT);
  request.set_comment("ok");
  request.set_alert_id(0);
  EXPECT_EQ(
      stub_->AcknowledgeAlert(As(kOperatorToken).get(), request, &response)
          .error_code(),
      grpc::StatusCode::INVALID_ARGUMENT);
  request.set_alert_id(404);
  EXPECT_EQ(
      stub_->AcknowledgeAlert(As(kOperatorToken).get(), request, &response)
          .error_code(),
      grpc::StatusCode::NOT_FOUND);
}

TEST_F(QueryServiceAlertsTest, AddSilenceRecordsWhoAndUntilWhen) {
  v1::SilenceRecord response;
  ASSERT_TRUE(Silence({"host=eroom-prod-1", "alertname=~disk.*"},
                      2 * 3600 * 1000, "disk swap", &response)
                  .ok());
  EXPECT_EQ(response.id(), 7);
  EXPECT_THAT(response.matchers(),
              ElementsAre("host=eroom-prod-1", "alertname=~disk.*"));
  EXPECT_EQ(response.created_by(), "otto");
  EXPECT_EQ(response.comment(), "disk swap");
  EXPECT_EQ(response.starts_unix_ms(), absl::ToUnixMillis(clock_.Now()));
  EXPECT_EQ(response.ends_unix_ms(),
            absl::ToUnixMillis(clock_.Now() + absl::Hours(2)));
  ASSERT_EQ(admin_.added.size(), 1u);
  EXPECT_EQ(admin_.added[0].matchers[1].op, alerting::LabelMatcher::Op::kRegex);

  v1::AddSilenceRequest request;
  request.add_matchers("host=x");
  request.set_duration_ms(1000);
  request.set_comment("x");
  EXPECT_EQ(stub_->AddSilence(As(kViewerToken).get(), request, &response)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(QueryServiceAlertsTest, AddSilenceRefusesBadRequestsSayingWhy) {
  v1::SilenceRecord response;
  const int64_t hour_ms = 3600 * 1000;
  struct Case {
    std::vector<std::string> matchers;
    int64_t duration_ms;
    std::string comment;
    std::string message;
  };
  for (const Case& bad : std::vector<Case>{
           {{}, hour_ms, "x", "at least one matcher"},
           {{"host"}, hour_ms, "x", "no operator"},
           {{"=x"}, hour_ms, "x", "label name"},
           {{"alertname=~(disk"}, hour_ms, "x", "bad regular expression"},
           {{"host=x"}, 0, "x", "at most 8760h"},
           {{"host=x"}, 366 * 24 * hour_ms, "x", "a year"},
           {{"host=x"}, hour_ms, "", "needs a comment"},
           {std::vector<std::string>(kMaxSilenceMatchers + 1, "host=x"),
            hour_ms, "x", "at most 16 matchers"},
       }) {
    grpc::Status status =
        Silence(bad.matchers, bad.duration_ms, bad.comment, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << bad.message;
    EXPECT_THAT(status.error_message(), HasSubstr(bad.message));
  }
  EXPECT_TRUE(admin_.added.empty());
}

TEST_F(QueryServiceAlertsTest, SilencesAreListedAndExpiredByOperators) {
  v1::SilenceRecord added;
  ASSERT_TRUE(Silence({"severity!=info"}, 60000, "noisy", &added).ok());
  v1::ListSilencesRequest request;
  request.set_include_ended(true);
  v1::ListSilencesResponse silences;
  ASSERT_TRUE(
      stub_->ListSilences(As(kViewerToken).get(), request, &silences).ok());
  EXPECT_TRUE(admin_.asked_include_ended);
  ASSERT_EQ(silences.silences_size(), 1);
  EXPECT_THAT(silences.silences(0).matchers(), ElementsAre("severity!=info"));

  v1::ExpireSilenceRequest expire;
  expire.set_silence_id(7);
  v1::ExpireSilenceResponse expired;
  EXPECT_EQ(stub_->ExpireSilence(As(kViewerToken).get(), expire, &expired)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(
      stub_->ExpireSilence(As(kOperatorToken).get(), expire, &expired).ok());
  EXPECT_EQ(expired.silence_id(), 7);
  EXPECT_EQ(expired.expired_by(), "otto");
  EXPECT_THAT(admin_.expired, ElementsAre("7 otto"));
  expire.set_silence_id(-1);
  EXPECT_EQ(stub_->ExpireSilence(As(kOperatorToken).get(), expire, &expired)
                .error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(QueryServiceAlertsTest, RulesWithTheirStateAndActiveAlerts) {
  alerting::RuleStatus rule;
  rule.rule = "health_down";
  rule.kind = "threshold";
  rule.severity = alerting::Severity::kCritical;
  rule.last_evaluated = absl::FromUnixMillis(9000);
  rule.last_error = "no data";
  rule.active = {admin_.active[1], admin_.active[3]};
  admin_.rules = {rule};
  v1::ListRulesResponse response;
  ASSERT_TRUE(stub_->ListRules(As(kViewerToken).get(), {}, &response).ok());
  ASSERT_EQ(response.rules_size(), 1);
  EXPECT_EQ(response.rules(0).name(), "health_down");
  EXPECT_EQ(response.rules(0).kind(), "threshold");
  EXPECT_EQ(response.rules(0).severity(), v1::SEVERITY_CRITICAL);
  EXPECT_EQ(response.rules(0).last_evaluated_unix_ms(), 9000);
  EXPECT_EQ(response.rules(0).last_error(), "no data");
  ASSERT_EQ(response.rules(0).active_size(), 2);
  EXPECT_EQ(response.rules(0).active(1).agent_id(), "b");
}

// --- Rooms and the daily report ---------------------------------------------

// A lifecycle event of agent "a" at `time`.
v1::Event RoomEventAt(uint64_t sequence, absl::Time time,
                      const std::string& type, const std::string& ruid) {
  v1::Event event;
  event.set_sequence(sequence);
  v1::LogEvent* log = event.mutable_log();
  log->set_time_unix_ms(absl::ToUnixMillis(time));
  log->set_level(v1::INFO);
  log->set_event_type(type);
  log->set_ruid(ruid);
  return event;
}

class QueryServiceRoomsTest : public QueryServiceTest {
 protected:
  // room_old completed an hour ago; room_run started 11 minutes ago.
  void StoreRooms() {
    const absl::Time now = clock_.Now();
    AgentBatch batch;
    batch.agent_id = "a";
    *batch.batch->add_events() =
        RoomEventAt(1, now - absl::Hours(1), "room_started", "room_old");
    *batch.batch->add_events() =
        RoomEventAt(2, now - absl::Hours(1) + absl::Minutes(5),
                    "room_completed", "room_old");
    *batch.batch->add_events() =
        RoomEventAt(3, now - absl::Minutes(11), "room_started", "room_run");
    ASSERT_THAT(storage_.Apply(BuildStoredBatch({batch}, {}, now)), IsOk());
  }

  grpc::Status ListRooms(const v1::ListRoomsRequest& request,
                         v1::ListRoomsResponse* response) {
    grpc::ClientContext context;
    return stub_->ListRooms(&context, request, response);
  }
};

TEST_F(QueryServiceRoomsTest, RunningRoomsAreSlowAsOfNow) {
  StoreRooms();
  v1::ListRoomsResponse response;
  ASSERT_TRUE(ListRooms({}, &response).ok());
  ASSERT_EQ(response.rooms_size(), 2);
  EXPECT_EQ(response.rooms(0).ruid(), "room_run");
  EXPECT_TRUE(response.rooms(0).slow());
  v1::ListRoomsRequest slow;
  slow.set_slow_only(true);
  ASSERT_TRUE(ListRooms(slow, &response).ok());
  ASSERT_EQ(response.rooms_size(), 1);
  // Ten minutes earlier it was not slow yet.
  clock_.Advance(-absl::Minutes(10));
  ASSERT_TRUE(ListRooms(slow, &response).ok());
  EXPECT_EQ(response.rooms_size(), 0);
}

TEST_F(QueryServiceRoomsTest, BadRoomRequestsNameTheField) {
  struct Case {
    v1::ListRoomsRequest request;
    std::string field;
  };
  std::vector<Case> cases(5);
  cases[0].request.set_limit(-1), cases[0].field = "limit";
  cases[1].request.set_since_unix_ms(-5), cases[1].field = "since_unix_ms";
  cases[2].request.set_since_unix_ms(10), cases[2].request.set_until_unix_ms(5),
      cases[2].field = "until_unix_ms";
  cases[3].request.set_status(static_cast<v1::RoomStatus>(42)),
      cases[3].field = "status";
  cases[4].request.add_agent_ids(""), cases[4].field = "agent_ids";
  for (const Case& bad : cases) {
    v1::ListRoomsResponse response;
    grpc::Status status = ListRooms(bad.request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << bad.field;
    EXPECT_THAT(status.error_message(), HasSubstr(bad.field));
  }
}

TEST_F(QueryServiceRoomsTest, GetRoom) {
  StoreRooms();
  grpc::ClientContext context;
  v1::GetRoomRequest request;
  request.set_ruid("room_old");
  v1::GetRoomResponse response;
  ASSERT_TRUE(stub_->GetRoom(&context, request, &response).ok());
  EXPECT_EQ(response.room().status(), v1::ROOM_COMPLETED);
  EXPECT_EQ(response.events_size(), 2);

  grpc::ClientContext unknown_context;
  request.set_ruid("room_none");
  EXPECT_EQ(stub_->GetRoom(&unknown_context, request, &response).error_code(),
            grpc::StatusCode::NOT_FOUND);
  grpc::ClientContext empty_context;
  request.clear_ruid();
  grpc::Status status = stub_->GetRoom(&empty_context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("ruid"));
}

TEST_F(QueryServiceRoomsTest, DailyReportOfADate) {
  StoreRooms();
  const std::string today =
      absl::FormatTime("%Y-%m-%d", clock_.Now(), absl::UTCTimeZone());
  grpc::ClientContext context;
  v1::DailyReportRequest request;
  request.set_date(today);
  v1::DailyReportResponse response;
  ASSERT_TRUE(stub_->DailyReport(&context, request, &response).ok());
  ASSERT_EQ(response.hosts_size(), 1);
  EXPECT_EQ(response.total().rooms_succeeded(), 1);
  EXPECT_EQ(response.total().alerts_fired(), 0);  // No alerting here.

  for (auto [date, offset, field] :
       {std::tuple{"2025-13-01", 0, "date"}, std::tuple{"yesterday", 0, "date"},
        std::tuple{"2025-06-16", 24 * 60, "utc_offset_minutes"}}) {
    grpc::ClientContext bad_context;
    request.set_date(date);
    request.set_utc_offset_minutes(offset);
    grpc::Status status = stub_->DailyReport(&bad_context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << date;
    EXPECT_THAT(status.error_message(), HasSubstr(field));
  }
}

TEST_F(QueryServiceAlertsTest, DailyReportCountsTheAlertsFiredThatDay) {
  const absl::Time start =
      absl::FromCivil(absl::CivilDay(2025, 6, 16), absl::UTCTimeZone());
  alerting::AlertEvent fired;
  fired.kind = alerting::AlertEvent::Kind::kFiring;
  fired.alert.key.agent_id = "a";
  fired.at = start + absl::Hours(3);
  alerting::AlertEvent next_day = fired;
  next_day.at = start + absl::Hours(25);
  alerting::AlertEvent resolved = fired;
  resolved.kind = alerting::AlertEvent::Kind::kResolved;
  admin_.history = {next_day, resolved, fired};
  v1::DailyReportRequest request;
  request.set_date("2025-06-16");
  v1::DailyReportResponse response;
  ASSERT_TRUE(
      stub_->DailyReport(As(kViewerToken).get(), request, &response).ok());
  EXPECT_EQ(admin_.history_since, start);
  EXPECT_EQ(response.total().alerts_fired(), 1);
  ASSERT_EQ(response.hosts_size(), 1);
  EXPECT_EQ(response.hosts(0).agent_id(), "a");
  EXPECT_EQ(response.hosts(0).figures().alerts_fired(), 1);
}

}  // namespace
}  // namespace eroom::collector
