// AgentService on a real in-process gRPC server, with storage faked.
#include "collector/agent_service.h"

#include <algorithm>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/unit/collector/fake_storage.h"
#include "tests/unit/test_support/fake_clock.h"
#include "tests/unit/test_support/loopback_grpc_server.h"
#include "tests/unit/test_support/poll_until.h"
#include "tests/unit/test_support/status_matchers.h"

namespace eroom::collector {
namespace {
namespace v1 = ::eroom::monitor::v1;

// Long enough for every test to send its hello, short enough to wait for.
constexpr absl::Duration kHelloTimeout = absl::Seconds(1);

using RawStream = grpc::ClientReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>;

// A stream to AgentService.Connect that sends bytes as they are, as a
// broken or hostile client would.
std::unique_ptr<RawStream> ConnectRaw(grpc::Channel& channel,
                                      grpc::ClientContext& context) {
  return std::unique_ptr<RawStream>(
      grpc::internal::
          ClientReaderWriterFactory<grpc::ByteBuffer, grpc::ByteBuffer>::Create(
              &channel,
              grpc::internal::RpcMethod(
                  kAgentConnectMethod,
                  grpc::internal::RpcMethod::BIDI_STREAMING),
              &context));
}

// Waits (polling: the server ends streams on its own threads) until no
// stream of `agent_ids` is live.
bool AwaitNoLiveStream(const AgentStreamRegistry& streams,
                       const std::vector<std::string>& agent_ids) {
  return PollUntil(
      [&] {
        return std::none_of(
            agent_ids.begin(), agent_ids.end(),
            [&](const std::string& id) { return streams.HasLive(id); });
      },
      absl::Seconds(30));
}

bool AwaitLive(const AgentStreamRegistry& streams,
               const std::string& agent_id) {
  return PollUntil([&] { return streams.HasLive(agent_id); },
                   absl::Seconds(30));
}

class AgentServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ingest_.Start();
    ASSERT_TRUE(server_.started());
    stub_ = v1::AgentService::NewStub(server_.NewChannel());
  }
  void TearDown() override {
    server_.Shutdown();
    ingest_.Stop();
  }

  using Stream =
      grpc::ClientReaderWriter<v1::AgentMessage, v1::CollectorMessage>;

  static v1::AgentMessage Hello(const std::string& agent_id) {
    v1::AgentMessage message;
    message.mutable_hello()->set_agent_id(agent_id);
    return message;
  }
  static v1::AgentMessage Batch(std::vector<uint64_t> sequences) {
    v1::AgentMessage message;
    for (uint64_t s : sequences) {
      v1::Event* event = message.mutable_batch()->add_events();
      event->set_sequence(s);
      event->mutable_notice()->set_kind("test");
    }
    return message;
  }

  FakeStorage storage_;
  FakeClock clock_;
  IngestPipeline ingest_{storage_, clock_, {}, {}};
  AgentEnrollments enrollments_;
  // Tokens are auth_test's business; here anyone may stream.
  RefusalLog refusals_{clock_, absl::Minutes(1), [](const std::string&) {}};
  Authorizer authorizer_{[] {
                           AuthConfig open;
                           open.tokens_required = false;
                           return open;
                         }(),
                         CollectorMethodAccess(), refusals_, enrollments_};
  AgentStreamRegistry streams_;
  AgentServiceImpl service_{ingest_, /*window_batches=*/2, authorizer_,
                            streams_, kHelloTimeout};
  test_support::LoopbackGrpcServer server_{service_};
  std::unique_ptr<v1::AgentService::Stub> stub_;
};

TEST_F(AgentServiceTest, HelloThenBatchesAreAcknowledgedAfterStorage) {
  storage_.SetStoredThrough("host-1", 10);
  grpc::ClientContext context;
  std::unique_ptr<Stream> stream = stub_->Connect(&context);
  ASSERT_TRUE(stream->Write(Hello("host-1")));
  v1::CollectorMessage reply;
  ASSERT_TRUE(stream->Read(&reply));
  EXPECT_EQ(reply.hello_ack().last_stored_sequence(), 10u);

  // More batches than the window: flow control pauses reading, never drops.
  for (uint64_t first = 11; first < 21; first += 2) {
    ASSERT_TRUE(stream->Write(Batch({first, first + 1})));
  }
  uint64_t acked = 0;
  while (acked < 20 && stream->Read(&reply)) {
    ASSERT_TRUE(reply.has_ack());
    EXPECT_GE(reply.ack().stored_through_sequence(), acked);
    acked = reply.ack().stored_through_sequence();
  }
  EXPECT_EQ(acked, 20u);
  EXPECT_EQ(storage_.events(), 10u);
  stream->WritesDone();
  // Batches stored in one transaction share one ack; Finish() must only
  // come once every message was read.
  while (stream->Read(&reply)) {
    EXPECT_EQ(reply.ack().stored_through_sequence(), 20u);
  }
  EXPECT_TRUE(stream->Finish().ok());
  EXPECT_THAT(storage_.registered(), ::testing::ElementsAre("host-1"));
}

TEST_F(AgentServiceTest, FirstMessageMustBeAHello) {
  grpc::ClientContext context;
  std::unique_ptr<Stream> stream = stub_->Connect(&context);
  stream->Write(Batch({1}));
  v1::CollectorMessage reply;
  EXPECT_FALSE(stream->Read(&reply));
  grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), ::testing::HasSubstr("hello"));
  EXPECT_EQ(storage_.events(), 0u);
}

TEST_F(AgentServiceTest, EmptyAgentIdIsRejected) {
  grpc::ClientContext context;
  std::unique_ptr<Stream> stream = stub_->Connect(&context);
  stream->Write(Hello(""));
  v1::CollectorMessage reply;
  EXPECT_FALSE(stream->Read(&reply));
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(AgentServiceTest, DecreasingSequencesAreRejected) {
  grpc::ClientContext context;
  std::unique_ptr<Stream> stream = stub_->Connect(&context);
  ASSERT_TRUE(stream->Write(Hello("host-1")));
  v1::CollectorMessage reply;
  ASSERT_TRUE(stream->Read(&reply));
  stream->Write(Batch({5, 4}));
  EXPECT_FALSE(stream->Read(&reply));
  grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(storage_.events(), 0u);
}

TEST_F(AgentServiceTest, InvalidFieldClosesTheStreamNamingIt) {
  grpc::ClientContext context;
  std::unique_ptr<Stream> stream = stub_->Connect(&context);
  ASSERT_TRUE(stream->Write(Hello("host-1")));
  v1::CollectorMessage reply;
  ASSERT_TRUE(stream->Read(&reply));
  v1::AgentMessage batch = Batch({1, 2});
  batch.mutable_batch()->mutable_events(1)->mutable_notice()->set_kind("a b");
  stream->Write(batch);
  EXPECT_FALSE(stream->Read(&reply));
  grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              ::testing::HasSubstr("batch.events[1].notice.kind"));
  EXPECT_EQ(storage_.events(), 0u);
}

// The collector says it reads log sources, and stores each event with the
// file, logger and thread of its source.
TEST_F(AgentServiceTest,
       LogEventsAreStoredWithTheirSourcesFileLoggerAndThread) {
  grpc::ClientContext context;
  std::unique_ptr<Stream> stream = stub_->Connect(&context);
  ASSERT_TRUE(stream->Write(Hello("host-1")));
  v1::CollectorMessage reply;
  ASSERT_TRUE(stream->Read(&reply));
  EXPECT_TRUE(reply.hello_ack().log_sources());
  v1::AgentMessage message;
  v1::LogSource& source = *message.mutable_batch()->add_log_sources();
  source.set_id(4);
  source.set_file("logs/server.log");
  source.set_logger("c.e.Api");
  source.set_thread("exec-1");
  v1::Event& event = *message.mutable_batch()->add_events();
  event.set_sequence(1);
  event.set_log_source(4);
  event.mutable_log()->set_message("m");
  ASSERT_TRUE(stream->Write(message));
  ASSERT_TRUE(stream->Read(&reply));
  EXPECT_EQ(reply.ack().stored_through_sequence(), 1u);
  std::vector<v1::LogEvent> logs = storage_.logs();
  ASSERT_EQ(logs.size(), 1u);
  EXPECT_EQ(logs[0].file(), "logs/server.log");
  EXPECT_EQ(logs[0].logger(), "c.e.Api");
  EXPECT_EQ(logs[0].thread(), "exec-1");

  event.set_sequence(2);
  event.set_log_source(5);
  stream->Write(message);
  EXPECT_FALSE(stream->Read(&reply));
  grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              ::testing::HasSubstr("batch.events[0].log_source: 5"));
  EXPECT_EQ(storage_.events(), 1u);
}

TEST_F(AgentServiceTest, StorageFailureClosesTheStreamUnavailable) {
  grpc::ClientContext context;
  std::unique_ptr<Stream> stream = stub_->Connect(&context);
  ASSERT_TRUE(stream->Write(Hello("host-1")));
  v1::CollectorMessage reply;
  ASSERT_TRUE(stream->Read(&reply));
  storage_.FailWith(absl::InternalError("disk I/O error"));
  stream->Write(Batch({1}));
  EXPECT_FALSE(stream->Read(&reply));
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(AgentServiceTest, DisconnectIsRecorded) {
  {
    grpc::ClientContext context;
    std::unique_ptr<Stream> stream = stub_->Connect(&context);
    ASSERT_TRUE(stream->Write(Hello("host-1")));
    v1::CollectorMessage reply;
    ASSERT_TRUE(stream->Read(&reply));
    stream->WritesDone();
    ASSERT_TRUE(stream->Finish().ok());
  }
  // The disconnect goes through the ingest queue; stopping drains it.
  server_.Shutdown();
  ingest_.Stop();
  EXPECT_THAT(storage_.disconnected(), ::testing::ElementsAre("host-1"));
}

TEST_F(AgentServiceTest, NewerStreamOfTheSameAgentWins) {
  grpc::ClientContext older_context;
  std::unique_ptr<Stream> older = stub_->Connect(&older_context);
  ASSERT_TRUE(older->Write(Hello("host-1")));
  v1::CollectorMessage reply;
  ASSERT_TRUE(older->Read(&reply));

  grpc::ClientContext newer_context;
  std::unique_ptr<Stream> newer = stub_->Connect(&newer_context);
  ASSERT_TRUE(newer->Write(Hello("host-1")));
  ASSERT_TRUE(newer->Read(&reply));

  // The older stream is closed cleanly, with a reason.
  EXPECT_FALSE(older->Read(&reply));
  grpc::Status closed = older->Finish();
  EXPECT_EQ(closed.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_THAT(closed.error_message(), ::testing::HasSubstr("newer connection"));

  // The newer one works on, and the host never counted as disconnected.
  ASSERT_TRUE(newer->Write(Batch({1})));
  ASSERT_TRUE(newer->Read(&reply));
  EXPECT_EQ(reply.ack().stored_through_sequence(), 1u);
  newer->WritesDone();
  ASSERT_TRUE(newer->Finish().ok());
  server_.Shutdown();
  ingest_.Stop();
  EXPECT_THAT(storage_.disconnected(), ::testing::ElementsAre("host-1"));
}

TEST_F(AgentServiceTest, UnparseableMessageIsInvalidArgument) {
  std::shared_ptr<grpc::Channel> channel = server_.NewChannel();
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  std::unique_ptr<RawStream> stream = ConnectRaw(*channel, context);
  // Field 1 (hello) says 5 bytes follow; only 2 do.
  grpc::Slice truncated(
      std::string("\x0a\x05"
                  "ab"));
  grpc::ByteBuffer bytes(&truncated, 1);
  ASSERT_TRUE(stream->Write(bytes));
  grpc::ByteBuffer reply;
  EXPECT_FALSE(stream->Read(&reply));
  grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), ::testing::HasSubstr("unparseable"));
}

TEST_F(AgentServiceTest, StreamWithoutHelloIsClosedAfterTheTimeout) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
  std::unique_ptr<Stream> stream = stub_->Connect(&context);
  v1::CollectorMessage reply;
  EXPECT_FALSE(stream->Read(&reply));
  grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_THAT(status.error_message(), ::testing::HasSubstr("no hello within"));
}

TEST_F(AgentServiceTest, StreamWithItsHelloOutlivesTheTimeout) {
  grpc::ClientContext context;
  std::unique_ptr<Stream> stream = stub_->Connect(&context);
  ASSERT_TRUE(stream->Write(Hello("host-1")));
  v1::CollectorMessage reply;
  ASSERT_TRUE(stream->Read(&reply));
  absl::SleepFor(kHelloTimeout + absl::Milliseconds(500));
  ASSERT_TRUE(stream->Write(Batch({1})));
  ASSERT_TRUE(stream->Read(&reply));
  EXPECT_EQ(reply.ack().stored_through_sequence(), 1u);
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(AgentServiceTest, BatchNotAfterThePreviousOneIsRejected) {
  grpc::ClientContext context;
  std::unique_ptr<Stream> stream = stub_->Connect(&context);
  ASSERT_TRUE(stream->Write(Hello("host-1")));
  v1::CollectorMessage reply;
  ASSERT_TRUE(stream->Read(&reply));
  ASSERT_TRUE(stream->Write(Batch({5, 6})));
  ASSERT_TRUE(stream->Read(&reply));
  stream->Write(Batch({6, 7}));
  EXPECT_FALSE(stream->Read(&reply));
  grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              ::testing::HasSubstr("batch.events[0].sequence: 6 after 6"));
  EXPECT_EQ(storage_.events(), 2u);
}

TEST_F(AgentServiceTest, AbsurdSequenceIsRejected) {
  grpc::ClientContext context;
  std::unique_ptr<Stream> stream = stub_->Connect(&context);
  ASSERT_TRUE(stream->Write(Hello("host-1")));
  v1::CollectorMessage reply;
  ASSERT_TRUE(stream->Read(&reply));
  stream->Write(Batch({uint64_t{std::numeric_limits<int64_t>::max()}}));
  EXPECT_FALSE(stream->Read(&reply));
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(storage_.events(), 0u);
}

// An AgentService that anyone may stream to, over an ingest queue of
// `queue_capacity` items that the test starts when it wants.
struct ServiceBeforeIngest {
  explicit ServiceBeforeIngest(size_t queue_capacity)
      : ingest(storage, clock, {.queue_capacity = queue_capacity}, {}) {}
  ~ServiceBeforeIngest() {
    server.Shutdown();
    ingest.Stop();
  }
  static AuthConfig Open() {
    AuthConfig open;
    open.tokens_required = false;
    return open;
  }

  FakeStorage storage;
  FakeClock clock;
  IngestPipeline ingest;
  RefusalLog refusals{clock, absl::Minutes(1), [](const std::string&) {}};
  AgentEnrollments enrollments;
  Authorizer authorizer{Open(), CollectorMethodAccess(), refusals, enrollments};
  AgentStreamRegistry streams;
  AgentServiceImpl service{ingest, /*window_batches=*/2, authorizer, streams};
  test_support::LoopbackGrpcServer server{service};
  std::unique_ptr<v1::AgentService::Stub> stub =
      v1::AgentService::NewStub(server.NewChannel());
};

// More streams than the ingest queue has room for, while ingest is
// stopped: they wait (flow control) instead of failing, and once ingest
// runs every stream's every batch is stored and acknowledged.
TEST(AgentServiceFlowControlTest, AFullIngestQueueSlowsStreamsDown) {
  constexpr int kAgents = 12;
  constexpr uint64_t kBatches = 4;
  ServiceBeforeIngest collector(/*queue_capacity=*/2);
  ASSERT_TRUE(collector.server.started());
  IngestPipeline& ingest = collector.ingest;
  AgentStreamRegistry& streams = collector.streams;

  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<
      grpc::ClientReaderWriter<v1::AgentMessage, v1::CollectorMessage>>>
      agents;
  for (int a = 0; a < kAgents; ++a) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    agents.push_back(collector.stub->Connect(contexts.back().get()));
    v1::AgentMessage message;
    message.mutable_hello()->set_agent_id(absl::StrCat("host-", a));
    ASSERT_TRUE(agents.back()->Write(message));
    for (uint64_t sequence = 1; sequence <= kBatches; ++sequence) {
      message.Clear();
      v1::Event* event = message.mutable_batch()->add_events();
      event->set_sequence(sequence);
      event->mutable_notice()->set_kind("test");
      ASSERT_TRUE(agents.back()->Write(message));
    }
  }
  // Each stream waits with one item, but one whose window the queue's two
  // items may fill. A stream registers once its hello is read, which may
  // come after the others are waiting.
  const auto every_host_live = [&] {
    for (int a = 0; a < kAgents; ++a) {
      if (!streams.HasLive(absl::StrCat("host-", a))) return false;
    }
    return true;
  };
  PollUntil(
      [&] {
        return ingest.waiting_for_room() >= kAgents - 1u && every_host_live();
      },
      absl::Seconds(30));
  EXPECT_EQ(ingest.queue_depth(), 2u);
  EXPECT_GE(ingest.waiting_for_room(), kAgents - 1u);
  for (int a = 0; a < kAgents; ++a) {
    EXPECT_TRUE(streams.HasLive(absl::StrCat("host-", a))) << a;
  }

  ingest.Start();
  for (auto& agent : agents) {
    v1::CollectorMessage reply;
    ASSERT_TRUE(agent->Read(&reply));
    ASSERT_TRUE(reply.has_hello_ack());
    uint64_t acked = 0;
    while (acked < kBatches && agent->Read(&reply)) {
      ASSERT_TRUE(reply.has_ack());
      acked = reply.ack().stored_through_sequence();
    }
    EXPECT_EQ(acked, kBatches);
    agent->WritesDone();
    while (agent->Read(&reply)) {
    }
    EXPECT_TRUE(agent->Finish().ok());
  }
  EXPECT_EQ(collector.storage.events(), kAgents * kBatches);
}

// A flood of streams, several per agent id, all ending while ingest is
// behind: every host ends disconnected, whatever was queued or dropped.
TEST(AgentServiceFloodTest, EveryClosedStreamLeavesItsHostDisconnected) {
  constexpr int kHosts = 20;
  constexpr int kStreamsPerHost = 10;
  // Room for one hello per host, far less than the flood, and not drained
  // until every stream ended: later hellos find it full, and every
  // disconnect arrives at a full queue.
  ServiceBeforeIngest collector(/*queue_capacity=*/2 * kHosts);
  ASSERT_TRUE(collector.server.started());
  FakeStorage& storage = collector.storage;
  FakeClock& clock = collector.clock;
  IngestPipeline& ingest = collector.ingest;
  AgentStreamRegistry& streams = collector.streams;
  std::unique_ptr<v1::AgentService::Stub>& stub = collector.stub;

  std::vector<std::string> agent_ids;
  for (int h = 0; h < kHosts; ++h) {
    agent_ids.push_back(absl::StrCat("host-", h));
    // Connected before the flood, as far as storage knows.
    v1::AgentHello hello;
    hello.set_agent_id(agent_ids.back());
    ASSERT_THAT(storage.RegisterAgent(hello, clock.Now()),
                test_support::IsOk());
  }
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<
      grpc::ClientReaderWriter<v1::AgentMessage, v1::CollectorMessage>>>
      open_streams;
  const auto open_stream = [&](const std::string& agent_id) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    open_streams.push_back(stub->Connect(contexts.back().get()));
    v1::AgentMessage hello;
    hello.mutable_hello()->set_agent_id(agent_id);
    open_streams.back()->Write(hello);
  };
  // The collector has read a hello of every host before the flood: a host
  // it never heard of on any stream would rightly stay as storage knew it.
  for (const std::string& agent_id : agent_ids) {
    open_stream(agent_id);
    ASSERT_TRUE(AwaitLive(streams, agent_id)) << agent_id;
  }
  for (int round = 1; round < kStreamsPerHost; ++round) {
    for (const std::string& agent_id : agent_ids) open_stream(agent_id);
  }
  for (auto& context : contexts) context->TryCancel();
  for (auto& stream : open_streams) stream->Finish();
  // Streams whose hello waits in the stopped ingest end too.
  ASSERT_TRUE(AwaitNoLiveStream(streams, agent_ids));

  // A stream leaves the registry just before it queues its disconnect, so
  // the last disconnects may still be on their way: ingest runs until they
  // are stored.
  ingest.Start();
  const auto connected_hosts = [&] {
    absl::StatusOr<v1::ListHostsResponse> hosts =
        storage.ListHosts(v1::ListHostsRequest());
    std::vector<std::string> connected;
    if (!hosts.ok()) return std::vector<std::string>{hosts.status().ToString()};
    EXPECT_EQ(hosts->hosts_size(), kHosts);
    for (const v1::HostStatus& host : hosts->hosts()) {
      if (host.connected()) connected.push_back(host.agent_id());
    }
    return connected;
  };
  EXPECT_TRUE(
      PollUntil([&] { return connected_hosts().empty(); }, absl::Seconds(30)))
      << "still connected: " << absl::StrJoin(connected_hosts(), ", ");
  ingest.Stop();
}

}  // namespace
}  // namespace eroom::collector
