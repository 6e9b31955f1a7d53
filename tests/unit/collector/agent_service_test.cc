// AgentService on a real in-process gRPC server, with storage faked.
#include "collector/agent_service.h"

#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/unit/collector/fake_storage.h"
#include "tests/unit/test_support/fake_clock.h"
#include "tests/unit/test_support/loopback_grpc_server.h"

namespace eroom::collector {
namespace {
namespace v1 = ::eroom::monitor::v1;

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
  // Tokens are auth_test's business; here anyone may stream.
  RefusalLog refusals_{clock_, absl::Minutes(1), [](const std::string&) {}};
  Authorizer authorizer_{[] {
                           AuthConfig open;
                           open.tokens_required = false;
                           return open;
                         }(),
                         CollectorMethodAccess(), refusals_};
  AgentStreamRegistry streams_;
  AgentServiceImpl service_{ingest_, /*window_batches=*/2, authorizer_,
                            streams_};
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
  // Batches stored in one transaction each get an ack with the same
  // sequence; Finish() must only come once every message was read.
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

}  // namespace
}  // namespace eroom::collector
