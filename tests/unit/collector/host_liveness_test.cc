#include "collector/host_liveness.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/test_support/fake_clock.h"

namespace eroom::collector {
namespace {
namespace v1 = ::eroom::monitor::v1;

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::IsEmpty;

constexpr absl::Duration kTimeout = absl::Seconds(30);

class RecordingSubscriber final : public LivenessSubscriber {
 public:
  void OnLivenessChanged(const LivenessChange& change) override {
    absl::MutexLock lock(&mu_);
    changes_.push_back(change);
  }
  // The changes since the last call.
  std::vector<LivenessChange> Take() {
    absl::MutexLock lock(&mu_);
    return std::exchange(changes_, {});
  }

 private:
  absl::Mutex mu_;
  std::vector<LivenessChange> changes_ ABSL_GUARDED_BY(mu_);
};

auto Change(const std::string& agent_id, bool down, absl::Time since) {
  return AllOf(Field(&LivenessChange::agent_id, agent_id),
               Field(&LivenessChange::down, down),
               Field(&LivenessChange::since, since));
}

class HostLivenessTest : public ::testing::Test {
 protected:
  HostLivenessTest() { liveness_.Subscribe(&subscriber_); }

  void Hello(const std::string& agent_id) {
    v1::AgentHello hello;
    hello.set_agent_id(agent_id);
    liveness_.OnRegistered(hello, clock_.Now());
  }
  void Stored(const std::string& agent_id) {
    StoredBatch batch;
    batch.received = clock_.Now();
    HostProgress& host = batch.hosts.emplace_back();
    host.agent_id = agent_id;
    host.last_seen = clock_.Now();
    liveness_.OnStored(batch);
  }

  FakeClock clock_;
  HostLiveness liveness_{clock_, kTimeout};
  RecordingSubscriber subscriber_;
};

TEST_F(HostLivenessTest, AHostIsUpFromItsHelloAtTheNextTick) {
  const absl::Time hello_at = clock_.Now();
  Hello("a");
  EXPECT_FALSE(liveness_.IsDown("a"));
  clock_.Advance(absl::Seconds(1));
  liveness_.Tick();
  EXPECT_THAT(subscriber_.Take(), ElementsAre(Change("a", false, hello_at)));
  liveness_.Tick();
  EXPECT_THAT(subscriber_.Take(), IsEmpty());
}

TEST_F(HostLivenessTest, UnknownHostsAreDownAndNotPublished) {
  EXPECT_TRUE(liveness_.IsDown("never-seen"));
  liveness_.Tick();
  EXPECT_THAT(subscriber_.Take(), IsEmpty());
}

TEST_F(HostLivenessTest, SilencePastTheHeartbeatTimeoutIsDown) {
  Hello("a");
  liveness_.Tick();
  subscriber_.Take();
  clock_.Advance(absl::Seconds(20));
  const absl::Time last_heard = clock_.Now();
  Stored("a");
  clock_.Advance(kTimeout);
  liveness_.Tick();
  EXPECT_FALSE(liveness_.IsDown("a"));  // Exactly the timeout: not yet.
  EXPECT_THAT(subscriber_.Take(), IsEmpty());
  clock_.Advance(absl::Milliseconds(1));
  EXPECT_TRUE(liveness_.IsDown("a"));
  liveness_.Tick();
  EXPECT_THAT(subscriber_.Take(),
              ElementsAre(Change("a", true, last_heard + kTimeout)));
}

TEST_F(HostLivenessTest, AMessageAfterASilenceIsUpAgain) {
  Hello("a");
  clock_.Advance(absl::Minutes(5));
  liveness_.Tick();
  subscriber_.Take();
  const absl::Time heard_again = clock_.Now();
  Stored("a");
  liveness_.Tick();
  EXPECT_THAT(subscriber_.Take(), ElementsAre(Change("a", false, heard_again)));
}

TEST_F(HostLivenessTest, DisconnectIsDownAtOnce) {
  Hello("a");
  liveness_.Tick();
  subscriber_.Take();
  clock_.Advance(absl::Seconds(3));
  const absl::Time gone = clock_.Now();
  liveness_.OnDisconnected("a", gone);
  EXPECT_TRUE(liveness_.IsDown("a"));
  clock_.Advance(absl::Seconds(1));
  liveness_.Tick();
  EXPECT_THAT(subscriber_.Take(), ElementsAre(Change("a", true, gone)));
  // Reconnecting is a new up.
  const absl::Time back = clock_.Now();
  Hello("a");
  liveness_.Tick();
  EXPECT_THAT(subscriber_.Take(), ElementsAre(Change("a", false, back)));
}

TEST_F(HostLivenessTest, EventsWithoutAHelloDoNotMakeAHostUp) {
  Stored("stranger");
  liveness_.Tick();
  EXPECT_TRUE(liveness_.IsDown("stranger"));
  EXPECT_THAT(subscriber_.Take(), IsEmpty());
}

TEST_F(HostLivenessTest, ChangesBetweenTicksThatCancelOutAreNotPublished) {
  Hello("a");
  liveness_.OnDisconnected("a", clock_.Now());
  liveness_.Tick();
  EXPECT_THAT(subscriber_.Take(), IsEmpty());
}

TEST_F(HostLivenessTest, TheTickingThreadStopsPromptly) {
  liveness_.Start(absl::Hours(1));
  liveness_.Stop();
  liveness_.Stop();  // Stopping twice is harmless.
}

}  // namespace
}  // namespace eroom::collector
