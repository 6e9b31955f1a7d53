#include "collector/agent_stream_registry.h"

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/test_support/status_matchers.h"

namespace eroom::collector {
namespace {
namespace v1 = ::eroom::monitor::v1;
using ::eroom::test_support::IsOk;
using ::eroom::test_support::IsOkAndHolds;
using ::eroom::test_support::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class RecordingStream final : public AgentStreamRegistry::Stream {
 public:
  bool SendCommand(const v1::Command& command) override {
    if (closing) return false;
    sent.push_back(command.command_id());
    return true;
  }
  void Close(const grpc::Status&) override { closing = true; }

  bool closing = false;
  std::vector<std::string> sent;
};

v1::Command Ping(const std::string& command_id) {
  v1::Command command;
  command.set_command_id(command_id);
  command.mutable_ping();
  return command;
}

v1::CommandProgress Step(const std::string& command_id,
                         v1::CommandState state) {
  v1::CommandProgress progress;
  progress.set_command_id(command_id);
  progress.set_state(state);
  return progress;
}

class AgentStreamRegistryTest : public ::testing::Test {
 protected:
  // "agent_id command_id" of each command StreamEnded reported.
  std::vector<std::string> ended_;
  AgentStreamRegistry registry_{
      [this](const std::string& agent_id, const std::string& command_id) {
        ended_.push_back(agent_id + " " + command_id);
      }};
  void RegisterOk(const std::string& agent_id,
                  std::shared_ptr<RecordingStream> stream) {
    ASSERT_THAT(registry_.Register(agent_id, kCredential, std::move(stream)),
                IsOk());
  }

  static constexpr char kCredential[] = "digest-of-web-1-token";
  std::shared_ptr<RecordingStream> stream_ =
      std::make_shared<RecordingStream>();
};

TEST_F(AgentStreamRegistryTest, HostWithoutStreamIsUnavailable) {
  EXPECT_THAT(registry_.Reserve("web-1", "c1"),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("web-1")));
}

TEST_F(AgentStreamRegistryTest, ReservedCommandIsSentOnTheStream) {
  RegisterOk("web-1", stream_);
  ASSERT_THAT(registry_.Reserve("web-1", "c1"), IsOk());
  EXPECT_THAT(registry_.Send("web-1", Ping("c1")), IsOk());
  EXPECT_THAT(stream_->sent, ElementsAre("c1"));
}

TEST_F(AgentStreamRegistryTest, UnreservedCommandGoesBesideTheRunningOne) {
  EXPECT_THAT(registry_.SendUnreserved("web-1", Ping("cancel")),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("web-1")));
  RegisterOk("web-1", stream_);
  ASSERT_THAT(registry_.Reserve("web-1", "c1"), IsOk());
  ASSERT_THAT(registry_.Send("web-1", Ping("c1")), IsOk());
  EXPECT_THAT(registry_.SendUnreserved("web-1", Ping("cancel")), IsOk());
  EXPECT_THAT(stream_->sent, ElementsAre("c1", "cancel"));
  // The host is still c1's, until c1 ends; the other's end changes nothing.
  registry_.OnProgress("web-1", stream_.get(), Step("cancel", v1::SUCCEEDED));
  EXPECT_THAT(registry_.Reserve("web-1", "c2"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("c1")));
  stream_->closing = true;
  EXPECT_THAT(registry_.SendUnreserved("web-1", Ping("late")),
              StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(AgentStreamRegistryTest, OneCommandAtATimeUntilAFinalState) {
  RegisterOk("web-1", stream_);
  ASSERT_THAT(registry_.Reserve("web-1", "c1"), IsOk());
  ASSERT_THAT(registry_.Send("web-1", Ping("c1")), IsOk());
  EXPECT_THAT(registry_.Reserve("web-1", "c2"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("c1")));

  registry_.OnProgress("web-1", stream_.get(), Step("c1", v1::ACCEPTED));
  EXPECT_THAT(registry_.Reserve("web-1", "c2"),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  registry_.OnProgress("web-1", stream_.get(), Step("c1", v1::SUCCEEDED));
  EXPECT_THAT(registry_.Reserve("web-1", "c2"), IsOk());
  // Ended by its final state, not by its stream.
  EXPECT_THAT(ended_, IsEmpty());
}

TEST_F(AgentStreamRegistryTest, OtherHostsAreNotHeldUp) {
  RegisterOk("web-1", stream_);
  RegisterOk("web-2", std::make_shared<RecordingStream>());
  ASSERT_THAT(registry_.Reserve("web-1", "c1"), IsOk());
  EXPECT_THAT(registry_.Reserve("web-2", "c2"), IsOk());
}

TEST_F(AgentStreamRegistryTest, StreamEndEndsItsCommand) {
  RegisterOk("web-1", stream_);
  ASSERT_THAT(registry_.Reserve("web-1", "c1"), IsOk());
  ASSERT_THAT(registry_.Send("web-1", Ping("c1")), IsOk());
  EXPECT_TRUE(registry_.Unregister("web-1", stream_.get()));
  EXPECT_THAT(ended_, ElementsAre("web-1 c1"));
  EXPECT_THAT(registry_.Reserve("web-1", "c2"),
              StatusIs(absl::StatusCode::kUnavailable));
  RegisterOk("web-1", std::make_shared<RecordingStream>());
  EXPECT_THAT(registry_.Reserve("web-1", "c2"), IsOk());
}

TEST_F(AgentStreamRegistryTest, StreamEndEndsTheCommandsSentBesideToo) {
  RegisterOk("web-1", stream_);
  ASSERT_THAT(registry_.Reserve("web-1", "c1"), IsOk());
  ASSERT_THAT(registry_.Send("web-1", Ping("c1")), IsOk());
  ASSERT_THAT(registry_.SendUnreserved("web-1", Ping("answered")), IsOk());
  ASSERT_THAT(registry_.SendUnreserved("web-1", Ping("unanswered")), IsOk());
  registry_.OnProgress("web-1", stream_.get(), Step("answered", v1::FAILED));
  EXPECT_TRUE(registry_.Unregister("web-1", stream_.get()));
  EXPECT_THAT(ended_, ElementsAre("web-1 c1", "web-1 unanswered"));
}

TEST_F(AgentStreamRegistryTest, NewerStreamReplacesTheOlderAndItsCommand) {
  RegisterOk("web-1", stream_);
  ASSERT_THAT(registry_.Reserve("web-1", "c1"), IsOk());
  auto newer = std::make_shared<RecordingStream>();
  EXPECT_THAT(registry_.Register("web-1", kCredential, newer),
              IsOkAndHolds(stream_));
  EXPECT_THAT(ended_, ElementsAre("web-1 c1"));
  // The older stream ending later does not disconnect the host, and its
  // command ended already.
  EXPECT_FALSE(registry_.Unregister("web-1", stream_.get()));
  EXPECT_THAT(ended_, ElementsAre("web-1 c1"));

  // c1 was reserved on the replaced stream: it is not sent on the new one.
  EXPECT_THAT(registry_.Send("web-1", Ping("c1")),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(newer->sent, IsEmpty());
  ASSERT_THAT(registry_.Reserve("web-1", "c2"), IsOk());
  // A final step of a command from the replaced stream ends nothing here.
  registry_.OnProgress("web-1", stream_.get(), Step("c2", v1::SUCCEEDED));
  EXPECT_THAT(registry_.Reserve("web-1", "c3"),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(AgentStreamRegistryTest, StreamWithAnotherCredentialNeverReplaces) {
  RegisterOk("web-1", stream_);
  ASSERT_THAT(registry_.Reserve("web-1", "c1"), IsOk());
  EXPECT_THAT(registry_.Register("web-1", "digest-of-another-token",
                                 std::make_shared<RecordingStream>()),
              StatusIs(absl::StatusCode::kAlreadyExists,
                       HasSubstr("another credential")));
  // The live stream and its command go on.
  EXPECT_TRUE(registry_.IsLive("web-1", stream_.get()));
  EXPECT_THAT(registry_.Send("web-1", Ping("c1")), IsOk());
  EXPECT_THAT(stream_->sent, ElementsAre("c1"));
  EXPECT_THAT(ended_, IsEmpty());
}

TEST_F(AgentStreamRegistryTest, LivenessFollowsRegistration) {
  EXPECT_FALSE(registry_.HasLive("web-1"));
  RegisterOk("web-1", stream_);
  EXPECT_TRUE(registry_.HasLive("web-1"));
  EXPECT_TRUE(registry_.IsLive("web-1", stream_.get()));
  auto newer = std::make_shared<RecordingStream>();
  RegisterOk("web-1", newer);
  EXPECT_FALSE(registry_.IsLive("web-1", stream_.get()));
  EXPECT_TRUE(registry_.Unregister("web-1", newer.get()));
  EXPECT_FALSE(registry_.HasLive("web-1"));
}

TEST_F(AgentStreamRegistryTest, ClosingStreamRefusesTheCommandAndFreesTheHost) {
  RegisterOk("web-1", stream_);
  ASSERT_THAT(registry_.Reserve("web-1", "c1"), IsOk());
  stream_->closing = true;
  EXPECT_THAT(registry_.Send("web-1", Ping("c1")),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("c1")));
  stream_->closing = false;
  EXPECT_THAT(registry_.Reserve("web-1", "c2"), IsOk());
}

TEST_F(AgentStreamRegistryTest, ReleaseFreesTheHost) {
  RegisterOk("web-1", stream_);
  ASSERT_THAT(registry_.Reserve("web-1", "c1"), IsOk());
  registry_.Release("web-1", "c1");
  EXPECT_THAT(registry_.Reserve("web-1", "c2"), IsOk());
  EXPECT_THAT(stream_->sent, IsEmpty());
}

}  // namespace
}  // namespace eroom::collector
