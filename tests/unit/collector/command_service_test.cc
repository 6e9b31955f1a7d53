// CommandService and AgentService on real in-process gRPC servers sharing
// one stream registry and one ingest thread, with storage faked.
#include "collector/command_service.h"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>

#include "SQLiteCpp/Database.h"
#include "SQLiteCpp/Transaction.h"
#include "absl/strings/escaping.h"
#include "absl/synchronization/mutex.h"
#include "collector/agent_service.h"
#include "collector/token_hash.h"
#include "common/ids.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "openssl/evp.h"
#include "tests/unit/collector/fake_storage.h"
#include "tests/unit/test_support/fake_clock.h"
#include "tests/unit/test_support/loopback_grpc_server.h"
#include "tests/unit/test_support/poll_until.h"
#include "tests/unit/test_support/temp_dir.h"

namespace eroom::collector {
namespace {
namespace v1 = ::eroom::monitor::v1;
using ::testing::HasSubstr;
using ::testing::SizeIs;
using ::testing::StartsWith;
using ::testing::UnorderedElementsAre;

constexpr char kAgentToken[] = "agent-token-0123456789";
constexpr char kViewerToken[] = "viewer-token-0123456789";
constexpr char kOperatorToken[] = "operator-token-0123456789";
constexpr char kAdminToken[] = "admin-token-0123456789";

AuthConfig Tokens() {
  AuthConfig config;
  config.agents = {{std::nullopt, TokenSha256Hex(kAgentToken)}};
  config.users = {{"vera", Role::kViewer, TokenSha256Hex(kViewerToken)},
                  {"oscar", Role::kOperator, TokenSha256Hex(kOperatorToken)},
                  {"ada", Role::kAdmin, TokenSha256Hex(kAdminToken)}};
  return config;
}

void Authenticate(grpc::ClientContext& context, const std::string& token) {
  context.AddMetadata("authorization", "Bearer " + token);
}

v1::CommandProgress Step(const std::string& command_id,
                         v1::CommandState state) {
  v1::CommandProgress progress;
  progress.set_command_id(command_id);
  progress.set_state(state);
  progress.set_message(v1::CommandState_Name(state));
  progress.set_time_unix_ms(1750000000000);
  return progress;
}

// Holds back ingest's announcement of stored command steps, for a test that
// needs a step stored but not yet announced.
class AnnouncementGate final : public IngestObserver {
 public:
  void Hold() {
    absl::MutexLock lock(&mu_);
    held_ = true;
  }
  void Release() {
    absl::MutexLock lock(&mu_);
    held_ = false;
  }
  void OnStored(const StoredBatch& batch) override {
    if (batch.command_progress.empty()) return;
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](bool* held) { return !*held; }, &held_));
  }

 private:
  absl::Mutex mu_;
  bool held_ ABSL_GUARDED_BY(mu_) = false;
};

class CommandServiceTest : public ::testing::Test {
 protected:
  using AgentStream =
      grpc::ClientReaderWriter<v1::AgentMessage, v1::CollectorMessage>;
  using Watcher = grpc::ClientReader<v1::CommandProgress>;

  // A connected agent, as its side of the stream sees it.
  struct Agent {
    grpc::ClientContext context;
    std::unique_ptr<AgentStream> stream;

    void Send(const v1::CommandProgress& progress) {
      v1::AgentMessage message;
      *message.mutable_command_progress() = progress;
      ASSERT_TRUE(stream->Write(message));
    }
    v1::Command ReadCommand() {
      v1::CollectorMessage message;
      EXPECT_TRUE(stream->Read(&message));
      EXPECT_TRUE(message.has_command()) << message.DebugString();
      return message.command();
    }
  };

  void SetUp() override {
    ingest_.Start();
    ASSERT_TRUE(agent_server_.started());
    ASSERT_TRUE(command_server_.started());
    agents_ = v1::AgentService::NewStub(agent_server_.NewChannel());
    commands_ = v1::CommandService::NewStub(command_server_.NewChannel());
  }
  void TearDown() override {
    announcements_.Release();
    command_server_.Shutdown();
    agent_server_.Shutdown();
    ingest_.Stop();
    workers_.Stop();
  }

  std::unique_ptr<Agent> Connect(const std::string& agent_id) {
    auto agent = std::make_unique<Agent>();
    // As an agent does: the enrollment token first, then the one issued.
    auto issued = issued_tokens_.find(agent_id);
    Authenticate(agent->context,
                 issued == issued_tokens_.end() ? kAgentToken : issued->second);
    agent->stream = agents_->Connect(&agent->context);
    v1::AgentMessage hello;
    hello.mutable_hello()->set_agent_id(agent_id);
    EXPECT_TRUE(agent->stream->Write(hello));
    v1::CollectorMessage reply;
    EXPECT_TRUE(agent->stream->Read(&reply));
    EXPECT_TRUE(reply.has_hello_ack());
    if (!reply.hello_ack().agent_token().empty()) {
      issued_tokens_[agent_id] = reply.hello_ack().agent_token();
    }
    return agent;
  }
  std::map<std::string, std::string> issued_tokens_;

  grpc::Status StartPing(const std::string& agent_id, v1::CommandRecord* record,
                         const std::string& token = kOperatorToken) {
    grpc::ClientContext context;
    Authenticate(context, token);
    v1::StartCommandRequest request;
    request.set_agent_id(agent_id);
    request.mutable_command()->mutable_ping();
    return commands_->StartCommand(&context, request, record);
  }

  // A ping started on a newly connected agent, and received by it.
  struct SentPing {
    std::unique_ptr<Agent> agent;
    v1::CommandRecord record;
  };
  SentPing PingSentTo(const std::string& agent_id) {
    SentPing sent{Connect(agent_id), {}};
    EXPECT_TRUE(StartPing(agent_id, &sent.record).ok());
    EXPECT_EQ(sent.agent->ReadCommand().command_id(), sent.record.command_id());
    return sent;
  }

  grpc::Status Cancel(const std::string& command_id, v1::CommandRecord* target,
                      const std::string& token = kOperatorToken) {
    grpc::ClientContext context;
    Authenticate(context, token);
    v1::CancelCommandRequest request;
    request.set_command_id(command_id);
    return commands_->CancelCommand(&context, request, target);
  }

  // The audit trail, once ingest stored everything submitted so far (it
  // stops: call last).
  std::vector<v1::AuditRecord> AuditOnceStored() {
    ingest_.Stop();
    v1::ListAuditRequest request;
    request.set_limit(100);
    absl::StatusOr<v1::ListAuditResponse> audit = storage_.ListAudit(request);
    EXPECT_TRUE(audit.ok()) << audit.status();
    if (!audit.ok()) return {};
    return {audit->records().begin(), audit->records().end()};
  }

  // Whether everything `agent` sent so far is stored: ingest takes a
  // stream's messages in order, and this event's ack comes after them.
  void WaitUntilStored(Agent& agent) {
    v1::AgentMessage batch;
    v1::Event* event = batch.mutable_batch()->add_events();
    event->set_sequence(++sequence_);
    event->mutable_notice()->set_kind("test");
    ASSERT_TRUE(agent.stream->Write(batch));
    v1::CollectorMessage reply;
    ASSERT_TRUE(agent.stream->Read(&reply));
    ASSERT_EQ(reply.ack().stored_through_sequence(), sequence_);
  }
  uint64_t sequence_ = 0;

  std::unique_ptr<Watcher> Watch(grpc::ClientContext& context,
                                 const std::string& command_id) {
    Authenticate(context, kViewerToken);
    v1::WatchCommandRequest request;
    request.set_command_id(command_id);
    return commands_->WatchCommand(&context, request);
  }

  static v1::CommandState ReadState(Watcher& watcher) {
    v1::CommandProgress step;
    if (!watcher.Read(&step)) return v1::COMMAND_STATE_UNSPECIFIED;
    return step.state();
  }

  FakeStorage storage_;
  FakeClock clock_;
  AgentStreamRegistry streams_{
      [this](const std::string& agent_id, const std::string& command_id) {
        service_.OnStreamEnded(agent_id, command_id);
      }};
  WorkQueue workers_{"query", 1, 8};
  RefusalLog refusals_{clock_, absl::Minutes(1), [](const std::string&) {}};
  AgentEnrollments enrollments_;
  Authorizer authorizer_{Tokens(), CollectorMethodAccess(), refusals_,
                         enrollments_};
  // What Backup copies: a small SQLite database of its own (storage is
  // faked).
  test_support::TempDir backup_dir_;
  const std::string database_path_ = backup_dir_.PathIn("collector.db");
  WorkQueue backup_workers_{"backup", 1, 4};
  std::atomic<bool> backup_busy_ = false;
  CommandServiceImpl service_{ingest_,
                              storage_,
                              workers_,
                              authorizer_,
                              clock_,
                              streams_,
                              BackupSource{.database_path = database_path_,
                                           .copy_dir = "",
                                           .workers = &backup_workers_,
                                           .busy = &backup_busy_}};
  AnnouncementGate announcements_;
  IngestPipeline ingest_{storage_, clock_, {}, {&announcements_, &service_}};
  AgentServiceImpl agent_service_{ingest_, /*window_batches=*/4, authorizer_,
                                  streams_};
  test_support::LoopbackGrpcServer agent_server_{agent_service_};
  test_support::LoopbackGrpcServer command_server_{service_};
  std::unique_ptr<v1::AgentService::Stub> agents_;
  std::unique_ptr<v1::CommandService::Stub> commands_;
};

TEST_F(CommandServiceTest, ViewerMayNotStartCommands) {
  std::unique_ptr<Agent> agent = Connect("web-1");
  v1::CommandRecord record;
  grpc::Status status = StartPing("web-1", &record, kViewerToken);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(storage_.commands(), SizeIs(0));

  const std::vector<v1::AuditRecord> audit = AuditOnceStored();
  ASSERT_THAT(audit, SizeIs(1));
  EXPECT_EQ(audit[0].actor(), "vera");
  EXPECT_EQ(audit[0].agent_id(), "web-1");
  EXPECT_EQ(audit[0].action(), "ping");
  EXPECT_THAT(audit[0].result(), StartsWith("refused: "));
  EXPECT_THAT(audit[0].result(), HasSubstr("operator"));
  EXPECT_EQ(audit[0].command_id(), "");
}

TEST_F(CommandServiceTest, UnknownTokenIsAuditedAsUnauthenticated) {
  v1::CommandRecord record;
  EXPECT_EQ(StartPing("web-1", &record, "no-such-token").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  const std::vector<v1::AuditRecord> audit = AuditOnceStored();
  ASSERT_THAT(audit, SizeIs(1));
  EXPECT_EQ(audit[0].actor(), "unauthenticated");
}

TEST_F(CommandServiceTest, EveryRequestAndStepIsAudited) {
  std::unique_ptr<Agent> agent = Connect("web-1");
  grpc::ClientContext context;
  Authenticate(context, kOperatorToken);
  v1::StartCommandRequest request;
  request.set_agent_id("web-1");
  request.mutable_command()->mutable_safe_restart()->set_drain_timeout_ms(
      absl::ToInt64Milliseconds(absl::Minutes(10)));
  v1::CommandRecord record;
  ASSERT_TRUE(commands_->StartCommand(&context, request, &record).ok());
  v1::CommandRecord busy;
  ASSERT_EQ(StartPing("web-1", &busy).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  request.mutable_command()->mutable_safe_restart()->set_drain_timeout_ms(-1);
  grpc::ClientContext invalid_context;
  Authenticate(invalid_context, kOperatorToken);
  ASSERT_EQ(
      commands_->StartCommand(&invalid_context, request, &busy).error_code(),
      grpc::StatusCode::INVALID_ARGUMENT);
  agent->ReadCommand();
  v1::CommandProgress drain = Step(record.command_id(), v1::RUNNING);
  drain.set_step("drain");
  drain.set_message("waiting for 1 room");
  agent->Send(drain);
  agent->Send(Step(record.command_id(), v1::SUCCEEDED));
  WaitUntilStored(*agent);

  const std::vector<v1::AuditRecord> audit = AuditOnceStored();
  ASSERT_THAT(audit, SizeIs(5));
  std::vector<std::string> results;
  for (const v1::AuditRecord& each : audit) results.push_back(each.result());
  EXPECT_THAT(
      results,
      UnorderedElementsAre(
          "requested",
          absl::StrCat("refused: command '", record.command_id(),
                       "' is still running on host 'web-1'"),
          StartsWith("refused: command.safe_restart.drain_timeout_ms: -1"),
          "RUNNING drain: waiting for 1 room", "SUCCEEDED: SUCCEEDED"));
  for (const v1::AuditRecord& each : audit) {
    EXPECT_EQ(each.agent_id(), "web-1");
    if (each.result() == "requested") {
      EXPECT_EQ(each.actor(), "oscar");
      EXPECT_EQ(each.action(), "safe_restart");
      EXPECT_EQ(each.parameters(), "drain_timeout=10m force=false");
      EXPECT_EQ(each.command_id(), record.command_id());
    } else if (each.result().starts_with("RUNNING") ||
               each.result().starts_with("SUCCEEDED")) {
      EXPECT_EQ(each.actor(), "agent");
      EXPECT_EQ(each.action(), "safe_restart");
      EXPECT_EQ(each.command_id(), record.command_id());
    } else {
      EXPECT_EQ(each.actor(), "oscar");
    }
  }
}

TEST_F(CommandServiceTest, CancelIsSentBesideTheRunningCommand) {
  auto [agent, record] = PingSentTo("web-1");
  v1::CommandRecord target;
  ASSERT_TRUE(Cancel(record.command_id(), &target).ok());
  EXPECT_EQ(target.command_id(), record.command_id());
  EXPECT_TRUE(target.command().has_ping());

  const v1::Command cancel = agent->ReadCommand();
  EXPECT_NE(cancel.command_id(), record.command_id());
  EXPECT_THAT(cancel.command_id(), SizeIs(32));
  EXPECT_EQ(cancel.cancel().target_command_id(), record.command_id());
  // The cancel is a command of its own, and did not take the host.
  ASSERT_THAT(storage_.commands(), SizeIs(2));
  EXPECT_EQ(storage_.commands()[1].command_id(), cancel.command_id());
  EXPECT_EQ(storage_.commands()[1].requested_by(), "oscar");
  v1::CommandRecord busy;
  grpc::Status refused = StartPing("web-1", &busy);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(refused.error_message(), HasSubstr(record.command_id()));

  // Its progress is stored and audited like any command's.
  agent->Send(Step(cancel.command_id(), v1::SUCCEEDED));
  WaitUntilStored(*agent);
  EXPECT_EQ(storage_.commands()[1].state(), v1::SUCCEEDED);
  bool requested = false;
  bool succeeded = false;
  for (const v1::AuditRecord& each : AuditOnceStored()) {
    if (each.command_id() != cancel.command_id()) continue;
    EXPECT_EQ(each.action(), "cancel");
    EXPECT_EQ(each.parameters(), "target=" + record.command_id());
    requested = requested || each.result() == "requested";
    succeeded = succeeded || each.result().starts_with("SUCCEEDED");
  }
  EXPECT_TRUE(requested);
  EXPECT_TRUE(succeeded);
}

TEST_F(CommandServiceTest, CancelOfAnUnknownCommandIsNotFound) {
  v1::CommandRecord target;
  EXPECT_EQ(Cancel("no-such-command", &target).error_code(),
            grpc::StatusCode::NOT_FOUND);
  const std::vector<v1::AuditRecord> audit = AuditOnceStored();
  ASSERT_THAT(audit, SizeIs(1));
  EXPECT_EQ(audit[0].action(), "cancel");
  EXPECT_EQ(audit[0].parameters(), "target=no-such-command");
  EXPECT_THAT(audit[0].result(), StartsWith("refused: "));
}

TEST_F(CommandServiceTest, CancelOfAnEndedCommandIsAFailedPrecondition) {
  auto [agent, record] = PingSentTo("web-1");
  agent->Send(Step(record.command_id(), v1::SUCCEEDED));
  WaitUntilStored(*agent);
  v1::CommandRecord target;
  grpc::Status status = Cancel(record.command_id(), &target);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("SUCCEEDED"));
}

TEST_F(CommandServiceTest, CancelWithoutALiveStreamIsUnavailable) {
  v1::CommandRecord running;
  running.set_command_id("c1");
  running.set_agent_id("web-9");
  running.mutable_command()->mutable_ping();
  ASSERT_TRUE(storage_.RecordCommand(running).ok());
  v1::CommandRecord target;
  grpc::Status status = Cancel("c1", &target);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(status.error_message(), HasSubstr("web-9"));
  EXPECT_THAT(storage_.commands(), SizeIs(1));
}

TEST_F(CommandServiceTest, ViewerMayNotCancel) {
  auto [agent, record] = PingSentTo("web-1");
  v1::CommandRecord target;
  EXPECT_EQ(Cancel(record.command_id(), &target, kViewerToken).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  bool audited = false;
  for (const v1::AuditRecord& each : AuditOnceStored()) {
    if (each.action() != "cancel") continue;
    audited = true;
    EXPECT_EQ(each.actor(), "vera");
    EXPECT_THAT(each.result(), StartsWith("refused: "));
  }
  EXPECT_TRUE(audited);
}

TEST_F(CommandServiceTest, ListAuditNeedsAViewerAndAppliesTheLimitPolicy) {
  v1::CommandRecord record;
  ASSERT_EQ(StartPing("web-9", &record).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  ASSERT_THAT(AuditOnceStored(), SizeIs(1));

  grpc::ClientContext context;
  Authenticate(context, kViewerToken);
  v1::ListAuditResponse response;
  ASSERT_TRUE(commands_->ListAudit(&context, {}, &response).ok());
  ASSERT_THAT(response.records(), SizeIs(1));
  EXPECT_EQ(response.records(0).agent_id(), "web-9");
  EXPECT_THAT(response.records(0).result(), HasSubstr("no live agent stream"));

  grpc::ClientContext other_host;
  Authenticate(other_host, kViewerToken);
  v1::ListAuditRequest request;
  request.set_agent_id("web-1");
  request.set_limit(1000000);
  ASSERT_TRUE(commands_->ListAudit(&other_host, request, &response).ok());
  EXPECT_THAT(response.records(), SizeIs(0));

  grpc::ClientContext negative;
  Authenticate(negative, kViewerToken);
  request.set_limit(-1);
  EXPECT_EQ(commands_->ListAudit(&negative, request, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  grpc::ClientContext anonymous;
  EXPECT_EQ(commands_->ListAudit(&anonymous, {}, &response).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(CommandServiceTest, CommandsLeftRunningByARestartEndFailed) {
  v1::CommandRecord running;
  running.set_command_id("running");
  running.set_agent_id("web-1");
  running.mutable_command()->mutable_ping();
  ASSERT_TRUE(storage_.RecordCommand(running).ok());
  v1::CommandRecord done = running;
  done.set_command_id("done");
  ASSERT_TRUE(storage_.RecordCommand(done).ok());
  StoredBatch before;
  before.received = clock_.Now();
  before.command_progress = {
      {"web-1", Step("running", v1::RUNNING)},
      {"web-1", Step("done", v1::SUCCEEDED)},
  };
  ASSERT_TRUE(storage_.Apply(before).ok());

  ASSERT_TRUE(service_.EndCommandsLeftByARestart().ok());
  // A late step of the agent is still stored after the collector's end.
  std::unique_ptr<Agent> agent = Connect("web-1");
  agent->Send(Step("running", v1::SUCCEEDED));
  WaitUntilStored(*agent);

  const v1::CommandRecord ended = storage_.commands()[0];
  ASSERT_THAT(ended.progress(), SizeIs(3));
  EXPECT_EQ(ended.progress(1).state(), v1::FAILED);
  EXPECT_EQ(ended.progress(1).message(),
            "the collector restarted while it ran");
  EXPECT_EQ(ended.progress(2).state(), v1::SUCCEEDED);
  EXPECT_THAT(storage_.commands()[1].progress(), SizeIs(1));
  const std::vector<v1::AuditRecord> audit = AuditOnceStored();
  ASSERT_THAT(audit, SizeIs(2));
  std::vector<std::string> actors;
  for (const v1::AuditRecord& each : audit) actors.push_back(each.actor());
  EXPECT_THAT(actors, UnorderedElementsAre("collector", "agent"));
}

TEST_F(CommandServiceTest, HostWithoutLiveStreamIsUnavailable) {
  v1::CommandRecord record;
  grpc::Status status = StartPing("web-9", &record);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(status.error_message(), HasSubstr("web-9"));
  EXPECT_THAT(storage_.commands(), SizeIs(0));
}

TEST_F(CommandServiceTest, RequestWithoutActionIsInvalid) {
  std::unique_ptr<Agent> agent = Connect("web-1");
  grpc::ClientContext context;
  Authenticate(context, kOperatorToken);
  v1::StartCommandRequest request;
  request.set_agent_id("web-1");
  v1::CommandRecord record;
  grpc::Status status = commands_->StartCommand(&context, request, &record);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("no action"));
}

TEST_F(CommandServiceTest, DrainTimeoutOutOfRangeIsInvalid) {
  std::unique_ptr<Agent> agent = Connect("web-1");
  grpc::ClientContext context;
  Authenticate(context, kOperatorToken);
  v1::StartCommandRequest request;
  request.set_agent_id("web-1");
  request.mutable_command()->mutable_safe_restart()->set_drain_timeout_ms(-5);
  v1::CommandRecord record;
  grpc::Status status = commands_->StartCommand(&context, request, &record);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("drain_timeout_ms"));
}

TEST_F(CommandServiceTest, CommandIsRecordedThenReachesTheAgentStream) {
  std::unique_ptr<Agent> agent = Connect("web-1");
  v1::CommandRecord record;
  ASSERT_TRUE(StartPing("web-1", &record).ok());
  EXPECT_THAT(record.command_id(), SizeIs(32));
  EXPECT_EQ(record.command_id().find_first_not_of(kIdBytes), std::string::npos);
  EXPECT_EQ(record.agent_id(), "web-1");
  EXPECT_EQ(record.requested_by(), "oscar");
  EXPECT_EQ(record.requested_unix_ms(), absl::ToUnixMillis(clock_.Now()));
  EXPECT_EQ(record.state(), v1::COMMAND_STATE_UNSPECIFIED);
  ASSERT_THAT(storage_.commands(), SizeIs(1));
  EXPECT_EQ(storage_.commands()[0].command_id(), record.command_id());

  v1::Command sent = agent->ReadCommand();
  EXPECT_EQ(sent.command_id(), record.command_id());
  EXPECT_TRUE(sent.has_ping());
}

TEST_F(CommandServiceTest, SecondCommandWhileOneRunsIsRefusedNamingIt) {
  std::unique_ptr<Agent> agent = Connect("web-1");
  v1::CommandRecord first;
  ASSERT_TRUE(StartPing("web-1", &first).ok());
  v1::CommandRecord second;
  grpc::Status refused = StartPing("web-1", &second);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(refused.error_message(), HasSubstr(first.command_id()));

  // Once the first ended (its final step stored, so also seen), the host
  // takes the next.
  agent->ReadCommand();
  grpc::ClientContext context;
  std::unique_ptr<Watcher> watcher = Watch(context, first.command_id());
  agent->Send(Step(first.command_id(), v1::SUCCEEDED));
  EXPECT_EQ(ReadState(*watcher), v1::SUCCEEDED);
  EXPECT_TRUE(watcher->Finish().ok());
  EXPECT_TRUE(StartPing("web-1", &second).ok());
}

TEST_F(CommandServiceTest, ReconnectedAgentIsFreeForTheNextCommand) {
  std::unique_ptr<Agent> older = Connect("web-1");
  v1::CommandRecord record;
  ASSERT_TRUE(StartPing("web-1", &record).ok());
  std::unique_ptr<Agent> newer = Connect("web-1");
  EXPECT_TRUE(StartPing("web-1", &record).ok());
  EXPECT_EQ(newer->ReadCommand().command_id(), record.command_id());
}

TEST_F(CommandServiceTest, ProgressFromTheStreamIsStored) {
  auto [agent, record] = PingSentTo("web-1");
  grpc::ClientContext context;
  std::unique_ptr<Watcher> watcher = Watch(context, record.command_id());
  agent->Send(Step(record.command_id(), v1::ACCEPTED));
  agent->Send(Step(record.command_id(), v1::SUCCEEDED));
  EXPECT_EQ(ReadState(*watcher), v1::ACCEPTED);
  EXPECT_EQ(ReadState(*watcher), v1::SUCCEEDED);
  EXPECT_TRUE(watcher->Finish().ok());

  ASSERT_THAT(storage_.commands(), SizeIs(1));
  const v1::CommandRecord stored = storage_.commands()[0];
  EXPECT_EQ(stored.state(), v1::SUCCEEDED);
  ASSERT_THAT(stored.progress(), SizeIs(2));
  EXPECT_EQ(stored.progress(0).message(), "ACCEPTED");
}

TEST_F(CommandServiceTest, ProgressOfAnUnknownCommandLeavesTheStreamOpen) {
  std::unique_ptr<Agent> agent = Connect("web-1");
  agent->Send(Step("no-such-command", v1::SUCCEEDED));
  v1::AgentMessage batch;
  v1::Event* event = batch.mutable_batch()->add_events();
  event->set_sequence(1);
  event->mutable_notice()->set_kind("test");
  ASSERT_TRUE(agent->stream->Write(batch));
  v1::CollectorMessage reply;
  ASSERT_TRUE(agent->stream->Read(&reply));
  EXPECT_EQ(reply.ack().stored_through_sequence(), 1u);
}

TEST_F(CommandServiceTest, WatchReplaysThenStreamsThenEndsOnTheFinalState) {
  auto [agent, record] = PingSentTo("web-1");
  // The first watcher seeing ACCEPTED means it is stored.
  grpc::ClientContext first_context;
  std::unique_ptr<Watcher> first = Watch(first_context, record.command_id());
  agent->Send(Step(record.command_id(), v1::ACCEPTED));
  ASSERT_EQ(ReadState(*first), v1::ACCEPTED);

  grpc::ClientContext context;
  std::unique_ptr<Watcher> watcher = Watch(context, record.command_id());
  EXPECT_EQ(ReadState(*watcher), v1::ACCEPTED);  // Replayed.
  agent->Send(Step(record.command_id(), v1::RUNNING));
  EXPECT_EQ(ReadState(*watcher), v1::RUNNING);
  agent->Send(Step(record.command_id(), v1::SUCCEEDED));
  EXPECT_EQ(ReadState(*watcher), v1::SUCCEEDED);
  v1::CommandProgress none;
  EXPECT_FALSE(watcher->Read(&none));
  EXPECT_TRUE(watcher->Finish().ok());

  // A watch of a finished command replays it whole and ends.
  grpc::ClientContext late_context;
  std::unique_ptr<Watcher> late = Watch(late_context, record.command_id());
  EXPECT_EQ(ReadState(*late), v1::ACCEPTED);
  EXPECT_EQ(ReadState(*late), v1::RUNNING);
  EXPECT_EQ(ReadState(*late), v1::SUCCEEDED);
  EXPECT_FALSE(late->Read(&none));
  EXPECT_TRUE(late->Finish().ok());
}

TEST_F(CommandServiceTest,
       AStepStoredBeforeTheReplayAndAnnouncedAfterIsWrittenOnce) {
  auto [agent, record] = PingSentTo("web-1");
  announcements_.Hold();
  agent->Send(Step(record.command_id(), v1::ACCEPTED));
  ASSERT_TRUE(
      PollUntil([&] { return storage_.commands()[0].progress_size() == 1; }));
  grpc::ClientContext context;
  std::unique_ptr<Watcher> watcher = Watch(context, record.command_id());
  ASSERT_EQ(ReadState(*watcher), v1::ACCEPTED);

  announcements_.Release();
  agent->Send(Step(record.command_id(), v1::SUCCEEDED));
  EXPECT_EQ(ReadState(*watcher), v1::SUCCEEDED);
  v1::CommandProgress none;
  EXPECT_FALSE(watcher->Read(&none));
  EXPECT_TRUE(watcher->Finish().ok());
}

TEST_F(CommandServiceTest, ClientCancelEndsTheWatch) {
  auto [agent, record] = PingSentTo("web-1");
  grpc::ClientContext context;
  std::unique_ptr<Watcher> watcher = Watch(context, record.command_id());
  agent->Send(Step(record.command_id(), v1::ACCEPTED));
  ASSERT_EQ(ReadState(*watcher), v1::ACCEPTED);
  context.TryCancel();
  v1::CommandProgress none;
  EXPECT_FALSE(watcher->Read(&none));
  EXPECT_EQ(watcher->Finish().error_code(), grpc::StatusCode::CANCELLED);
  // Steps after the watcher left go nowhere, harmlessly.
  agent->Send(Step(record.command_id(), v1::SUCCEEDED));
  grpc::ClientContext again;
  std::unique_ptr<Watcher> next = Watch(again, record.command_id());
  EXPECT_EQ(ReadState(*next), v1::ACCEPTED);
  EXPECT_EQ(ReadState(*next), v1::SUCCEEDED);
  EXPECT_TRUE(next->Finish().ok());
}

TEST_F(CommandServiceTest, AgentGoneMidCommandEndsTheWatchAndTheCommand) {
  auto [agent, record] = PingSentTo("web-1");
  grpc::ClientContext context;
  std::unique_ptr<Watcher> watcher = Watch(context, record.command_id());
  agent->Send(Step(record.command_id(), v1::ACCEPTED));
  ASSERT_EQ(ReadState(*watcher), v1::ACCEPTED);

  agent->stream->WritesDone();
  EXPECT_TRUE(agent->stream->Finish().ok());
  v1::CommandProgress none;
  EXPECT_FALSE(watcher->Read(&none));
  const grpc::Status ended = watcher->Finish();
  EXPECT_EQ(ended.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(ended.error_message(), HasSubstr("'web-1'"));

  // The end is stored as the final step: a later watch replays it and ends.
  grpc::ClientContext late_context;
  std::unique_ptr<Watcher> late = Watch(late_context, record.command_id());
  EXPECT_EQ(ReadState(*late), v1::ACCEPTED);
  v1::CommandProgress last;
  ASSERT_TRUE(late->Read(&last));
  EXPECT_EQ(last.state(), v1::FAILED);
  EXPECT_EQ(last.step(), "");
  EXPECT_THAT(last.message(), HasSubstr("stream of agent 'web-1' ended"));
  EXPECT_TRUE(late->Finish().ok());
  ASSERT_THAT(storage_.commands(), SizeIs(1));
  EXPECT_EQ(storage_.commands()[0].state(), v1::FAILED);
}

TEST_F(CommandServiceTest, WatchOfAnUnknownCommandIsNotFound) {
  grpc::ClientContext context;
  std::unique_ptr<Watcher> watcher = Watch(context, "no-such-command");
  v1::CommandProgress none;
  EXPECT_FALSE(watcher->Read(&none));
  EXPECT_EQ(watcher->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(CommandServiceTest, ListCommandsAppliesTheLimitPolicy) {
  for (int requested : {0, 5, 1000000}) {
    grpc::ClientContext context;
    Authenticate(context, kViewerToken);
    v1::ListCommandsRequest request;
    request.set_limit(requested);
    v1::ListCommandsResponse response;
    ASSERT_TRUE(commands_->ListCommands(&context, request, &response).ok());
  }
  ASSERT_THAT(storage_.list_commands_requests(), SizeIs(3));
  EXPECT_EQ(storage_.list_commands_requests()[0].limit(),
            kDefaultCommandListLimit);
  EXPECT_EQ(storage_.list_commands_requests()[1].limit(), 5);
  EXPECT_EQ(storage_.list_commands_requests()[2].limit(), kMaxCommandListLimit);

  grpc::ClientContext context;
  Authenticate(context, kViewerToken);
  v1::ListCommandsRequest negative;
  negative.set_limit(-1);
  v1::ListCommandsResponse response;
  EXPECT_EQ(commands_->ListCommands(&context, negative, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(CommandServiceTest, ListCommandsShowsNewestFirst) {
  std::unique_ptr<Agent> agent = Connect("web-1");
  v1::CommandRecord record;
  ASSERT_TRUE(StartPing("web-1", &record).ok());
  grpc::ClientContext context;
  Authenticate(context, kViewerToken);
  v1::ListCommandsResponse response;
  ASSERT_TRUE(commands_->ListCommands(&context, {}, &response).ok());
  ASSERT_THAT(response.commands(), SizeIs(1));
  EXPECT_EQ(response.commands(0).command_id(), record.command_id());
}

// --- Backup ----------------------------------------------------------------

class BackupTest : public CommandServiceTest {
 protected:
  void MakeDatabase(int rows) {
    SQLite::Database db(database_path_,
                        SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, text TEXT)");
    SQLite::Transaction transaction(db);
    SQLite::Statement insert(db, "INSERT INTO t (text) VALUES (?1)");
    for (int i = 0; i < rows; ++i) {
      insert.reset();
      insert.bind(1, std::string(200, 'a' + i % 26));
      insert.exec();
    }
    transaction.commit();
  }

  // The chunks of one Backup call, and how it ended.
  grpc::Status Backup(const std::string& token,
                      std::vector<v1::BackupChunk>& chunks) {
    grpc::ClientContext context;
    Authenticate(context, token);
    std::unique_ptr<grpc::ClientReader<v1::BackupChunk>> reader =
        commands_->Backup(&context, v1::BackupRequest());
    v1::BackupChunk chunk;
    while (reader->Read(&chunk)) chunks.push_back(chunk);
    return reader->Finish();
  }

  // Nothing but the database and its WAL files in its directory.
  std::vector<std::string> Leftovers() {
    std::vector<std::string> out;
    for (const auto& entry :
         std::filesystem::directory_iterator(backup_dir_.path())) {
      const std::string name = entry.path().filename().string();
      if (name.rfind("collector.db", 0) == 0 && name != "collector.db" &&
          name != "collector.db-wal" && name != "collector.db-shm") {
        out.push_back(name);
      }
    }
    return out;
  }
};

std::string Sha256Hex(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<char*>(digest), length));
}

TEST_F(BackupTest, AdminGetsACopyInChunksWithItsSizeAndDigest) {
  MakeDatabase(10'000);  // About 2 MiB: several chunks.
  std::vector<v1::BackupChunk> chunks;
  ASSERT_TRUE(Backup(kAdminToken, chunks).ok());
  ASSERT_GE(chunks.size(), 2u);
  std::string copy;
  for (const v1::BackupChunk& chunk : chunks) {
    EXPECT_LE(chunk.data().size(), kBackupChunkBytes);
    copy += chunk.data();
  }
  for (size_t i = 0; i + 1 < chunks.size(); ++i) {
    EXPECT_EQ(chunks[i].total_bytes(), 0u);
    EXPECT_TRUE(chunks[i].sha256().empty());
  }
  EXPECT_EQ(chunks.back().total_bytes(), copy.size());
  EXPECT_EQ(chunks.back().sha256(), Sha256Hex(copy));

  const std::string restored = backup_dir_.PathIn("restored.db");
  {
    std::ofstream out(restored, std::ios::binary);
    out << copy;
  }
  SQLite::Database db(restored);
  EXPECT_EQ(db.execAndGet("SELECT count(*) FROM t").getInt(), 10'000);
  EXPECT_EQ(db.execAndGet("PRAGMA integrity_check").getString(), "ok");
  // The temporary copy is gone with the call.
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!Leftovers().empty() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_THAT(Leftovers(), ::testing::IsEmpty());
}

TEST_F(BackupTest, ViewersAndOperatorsMayNot) {
  MakeDatabase(10);
  for (const char* token : {kViewerToken, kOperatorToken}) {
    std::vector<v1::BackupChunk> chunks;
    EXPECT_EQ(Backup(token, chunks).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_THAT(chunks, ::testing::IsEmpty());
  }
}

TEST_F(BackupTest, AMissingDatabaseFailsTheCall) {
  std::vector<v1::BackupChunk> chunks;
  const grpc::Status status = Backup(kAdminToken, chunks);
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(chunks, ::testing::IsEmpty());
  EXPECT_THAT(Leftovers(), ::testing::IsEmpty());
}

}  // namespace
}  // namespace eroom::collector
