#include "collector/log_follow.h"

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/collector/fake_storage.h"
#include "tests/unit/collector/storage_test_data.h"
#include "tests/unit/test_support/status_matchers.h"

namespace eroom::collector {
namespace {

namespace v1 = ::eroom::monitor::v1;
using namespace ::eroom::collector::storage_test;  // NOLINT: test data
using ::eroom::test_support::IsOk;
using ::eroom::test_support::StatusIs;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;

using Keys = std::vector<std::pair<std::string, uint64_t>>;

// A stream that records what it was sent; the test says when a send is
// over.
class RecordingStream final : public FollowStream {
 public:
  void Send(const v1::FollowLogsResponse* response) override {
    ASSERT_FALSE(in_flight_) << "a second send before the first was over";
    in_flight_ = true;
    Keys keys;
    for (const v1::StoredLogEvent& event : response->events()) {
      keys.emplace_back(event.agent_id(), event.sequence());
    }
    sent_.push_back(std::move(keys));
  }
  void End(const absl::Status& status) override {
    ASSERT_FALSE(ended_.has_value()) << "ended twice";
    ended_ = status;
  }

  bool in_flight() const { return in_flight_; }
  // Takes the send in progress as over.
  void Sent() { in_flight_ = false; }
  const std::vector<Keys>& sent() const { return sent_; }
  Keys all_sent() const {
    Keys all;
    for (const Keys& keys : sent_)
      all.insert(all.end(), keys.begin(), keys.end());
    return all;
  }
  const std::optional<absl::Status>& ended() const { return ended_; }

 private:
  bool in_flight_ = false;
  std::vector<Keys> sent_;
  std::optional<absl::Status> ended_;
};

class LogFollowTest : public ::testing::Test {
 protected:
  // Query workers that run only when the test says so.
  LogFollower::Submit Workers() {
    return [this](std::function<void()> work) {
      if (!workers_accept_) return false;
      queued_.push_back(std::move(work));
      return true;
    };
  }

  void RunWorkers() {
    while (!queued_.empty()) {
      std::function<void()> work = std::move(queued_.front());
      queued_.pop_front();
      work();
    }
  }

  void Store(std::vector<AgentBatch> batches,
             absl::Time received = storage_test::kNow) {
    ASSERT_THAT(
        storage_.Apply(BuildStoredBatch(std::move(batches), {}, received)),
        IsOk());
  }

  std::unique_ptr<LogFollower> Follow(v1::FollowLogsRequest request) {
    if (request.filter().limit() == 0) request.mutable_filter()->set_limit(100);
    absl::StatusOr<LogFilter> filter = ValidateFollowRequest(request);
    EXPECT_THAT(filter, IsOk());
    return std::make_unique<LogFollower>(storage_, Workers(), request,
                                         *std::move(filter), stream_);
  }

  // Acknowledges every send and runs the reads they lead to, until the
  // follower waits for more.
  void Drain(LogFollower& follower) {
    RunWorkers();
    while (stream_.in_flight()) {
      stream_.Sent();
      follower.OnSent(true);
      RunWorkers();
    }
  }

  static v1::LogPosition At(const std::string& agent_id, uint64_t sequence) {
    v1::LogPosition position;
    position.set_agent_id(agent_id);
    position.set_sequence(sequence);
    return position;
  }

  FakeStorage storage_;
  RecordingStream stream_;
  std::deque<std::function<void()>> queued_;
  bool workers_accept_ = true;
};

TEST_F(LogFollowTest, SendsTheNewestBacklogOldestFirstThenWaits) {
  Store({LogLines("a", 1, 5)});
  v1::FollowLogsRequest request;
  request.mutable_filter()->set_limit(3);
  auto follower = Follow(request);
  follower->Start();
  Drain(*follower);
  EXPECT_THAT(stream_.sent(), ElementsAre(ElementsAre(
                                  Pair("a", 3), Pair("a", 4), Pair("a", 5))));
  EXPECT_TRUE(queued_.empty());
  EXPECT_FALSE(stream_.ended().has_value());
}

TEST_F(LogFollowTest, SendsWhatIsStoredLaterOnceWoken) {
  Store({LogLines("a", 1, 2)});
  auto follower = Follow({});
  follower->Start();
  Drain(*follower);
  Store({LogLines("b", 1, 1), LogLines("a", 3, 4)});
  follower->OnStored();
  Drain(*follower);
  EXPECT_THAT(stream_.all_sent(),
              ElementsAre(Pair("a", 1), Pair("a", 2), Pair("b", 1),
                          Pair("a", 3), Pair("a", 4)));
}

TEST_F(LogFollowTest, EventsStoredDuringAReadAreReadNext) {
  auto follower = Follow({});
  follower->Start();
  // Stored and announced before the queued read ran: still read.
  Store({LogLines("a", 1, 1)});
  follower->OnStored();
  Drain(*follower);
  // Announced while the read runs, stored after it read: read again.
  follower->OnStored();
  ASSERT_EQ(queued_.size(), 1u);
  std::function<void()> read = std::move(queued_.front());
  queued_.pop_front();
  follower->OnStored();
  read();
  Store({LogLines("a", 2, 2)});
  Drain(*follower);
  EXPECT_THAT(stream_.all_sent(), ElementsAre(Pair("a", 1), Pair("a", 2)));
}

TEST_F(LogFollowTest, ASlowClientCatchesUpFromStorageInPages) {
  auto follower = Follow({});
  follower->Start();
  RunWorkers();
  ASSERT_TRUE(stream_.in_flight());
  Store({LogLines("a", 1, 1)});
  follower->OnStored();
  // The client does not read while much more is stored and announced:
  // nothing more is read or held for it.
  for (uint64_t first = 2; first <= 2402; first += 100) {
    Store({LogLines("a", first, first + 99)});
    follower->OnStored();
  }
  EXPECT_TRUE(queued_.empty());
  EXPECT_EQ(stream_.sent().size(), 1u);
  Drain(*follower);
  std::vector<size_t> page_sizes;
  for (const Keys& keys : stream_.sent()) page_sizes.push_back(keys.size());
  // The empty backlog, then pages as they were read.
  EXPECT_THAT(page_sizes, ElementsAre(0, kFollowPageEvents, kFollowPageEvents,
                                      2501 - 2 * kFollowPageEvents));
  const Keys all = stream_.all_sent();
  ASSERT_EQ(all.size(), 2501u);
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i].second, i + 1);
}

TEST_F(LogFollowTest, TheFilterAppliesToLiveEvents) {
  v1::FollowLogsRequest request;
  request.mutable_filter()->set_min_level(v1::ERROR);
  auto follower = Follow(request);
  follower->Start();
  Drain(*follower);
  Store({Batch("a", {LogEvent(1, kT0, v1::INFO, "fine"),
                     LogEvent(2, kT0, v1::ERROR, "broken"),
                     LogEvent(3, kT0, v1::WARN, "odd")})});
  follower->OnStored();
  Drain(*follower);
  EXPECT_THAT(stream_.all_sent(), ElementsAre(Pair("a", 2)));
}

TEST_F(LogFollowTest, RegexAndSeveralHostsFilterTheBacklogAndLiveEvents) {
  Store({Batch("a", {LogEvent(1, kT0, v1::INFO, "Scenario FAILED"),
                     LogEvent(2, kT0, v1::INFO, "fine")}),
         Batch("c", {LogEvent(1, kT0, v1::INFO, "FAILED on c")})});
  v1::FollowLogsRequest request;
  request.mutable_filter()->add_agent_ids("a");
  request.mutable_filter()->add_agent_ids("b");
  request.mutable_filter()->set_regex(R"(FAILED|status code: 5\d\d)");
  auto follower = Follow(request);
  follower->Start();
  Drain(*follower);
  Store({Batch("b", {LogEvent(1, kT0, v1::INFO, "status code: 502"),
                     LogEvent(2, kT0, v1::INFO, "status code: 200")}),
         Batch("c", {LogEvent(2, kT0, v1::ERROR, "status code: 503")}),
         Batch("a", {LogEvent(3, kT0, v1::INFO, "failed, in lower case"),
                     LogEvent(4, kT0, v1::INFO, "Upload FAILED")})});
  follower->OnStored();
  Drain(*follower);
  EXPECT_THAT(stream_.sent(),
              ElementsAre(ElementsAre(Pair("a", 1)),
                          ElementsAre(Pair("b", 1), Pair("a", 4))));
}

TEST_F(LogFollowTest, AResumeSendsExactlyWhatWasNotSeen) {
  const absl::Time t = storage_test::kNow;
  Store({LogLines("a", 1, 3), LogLines("b", 1, 2)}, t);
  Store({LogLines("a", 4, 5), LogLines("c", 1, 1)}, t + absl::Seconds(10));
  // Seen: a through 4 and b through 2; c never, last heard from at t + 5 s.
  v1::FollowLogsRequest request;
  *request.add_resume_after() = At("a", 4);
  *request.add_resume_after() = At("b", 2);
  request.set_resume_received_unix_ms(absl::ToUnixMillis(t + absl::Seconds(5)));
  auto follower = Follow(request);
  follower->Start();
  Drain(*follower);
  Store({LogLines("b", 3, 3)}, t - absl::Minutes(5));  // A clock stepped back.
  follower->OnStored();
  Drain(*follower);
  EXPECT_THAT(stream_.all_sent(),
              ElementsAre(Pair("a", 5), Pair("c", 1), Pair("b", 3)));
}

TEST_F(LogFollowTest, AResumeWithNothingMissedSendsOneEmptyResponse) {
  Store({LogLines("a", 1, 3)});
  v1::FollowLogsRequest request;
  *request.add_resume_after() = At("a", 3);
  request.set_resume_received_unix_ms(absl::ToUnixMillis(kNow) + 1);
  auto follower = Follow(request);
  follower->Start();
  Drain(*follower);
  EXPECT_THAT(stream_.sent(), ElementsAre(IsEmpty()));
}

TEST_F(LogFollowTest, StopEndsAnIdleFollowAtOnce) {
  auto follower = Follow({});
  follower->Start();
  Drain(*follower);
  follower->Stop(absl::UnavailableError("stopping"));
  EXPECT_THAT(*stream_.ended(), StatusIs(absl::StatusCode::kUnavailable));
  follower->OnStored();
  EXPECT_TRUE(queued_.empty());
}

TEST_F(LogFollowTest, StopDuringASendEndsWhenItIsOver) {
  Store({LogLines("a", 1, 1)});
  auto follower = Follow({});
  follower->Start();
  RunWorkers();
  ASSERT_TRUE(stream_.in_flight());
  follower->Stop(absl::UnavailableError("stopping"));
  EXPECT_FALSE(stream_.ended().has_value());
  follower->OnSent(true);
  EXPECT_THAT(*stream_.ended(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_TRUE(queued_.empty());
}

TEST_F(LogFollowTest, StopDuringAReadEndsWhenItIsOver) {
  Store({LogLines("a", 1, 1)});
  auto follower = Follow({});
  follower->Start();
  follower->Stop(absl::CancelledError("client cancelled"));
  RunWorkers();
  EXPECT_THAT(*stream_.ended(), StatusIs(absl::StatusCode::kCancelled));
  EXPECT_THAT(stream_.sent(), IsEmpty());
}

TEST_F(LogFollowTest, ABrokenStreamEnds) {
  Store({LogLines("a", 1, 1)});
  auto follower = Follow({});
  follower->Start();
  RunWorkers();
  follower->OnSent(false);
  EXPECT_THAT(*stream_.ended(), StatusIs(absl::StatusCode::kCancelled));
}

TEST_F(LogFollowTest, BusyWorkersEndTheFollowForTheClientToResume) {
  auto follower = Follow({});
  follower->Start();
  Drain(*follower);
  workers_accept_ = false;
  follower->OnStored();
  EXPECT_THAT(*stream_.ended(), StatusIs(absl::StatusCode::kUnavailable));
}

TEST(ValidateFollowRequestTest, RefusesWhatAFollowCannotDoNamingTheField) {
  v1::FollowLogsRequest until;
  until.mutable_filter()->set_until_unix_ms(5);
  EXPECT_THAT(ValidateFollowRequest(until),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::HasSubstr("until_unix_ms")));
  v1::FollowLogsRequest cursor;
  cursor.mutable_filter()->set_before_cursor("x");
  EXPECT_THAT(ValidateFollowRequest(cursor),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::HasSubstr("before_cursor")));
  v1::FollowLogsRequest context;
  context.mutable_filter()->set_context(2);
  EXPECT_THAT(ValidateFollowRequest(context),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::HasSubstr("context")));
  v1::FollowLogsRequest no_host;
  no_host.add_resume_after()->set_sequence(3);
  EXPECT_THAT(ValidateFollowRequest(no_host),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::HasSubstr("resume_after[0].agent_id")));
  v1::FollowLogsRequest regex;
  regex.mutable_filter()->set_regex("a(b");
  EXPECT_THAT(ValidateFollowRequest(regex),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::HasSubstr("filter.regex: not a valid RE2")));
  v1::FollowLogsRequest empty_host;
  empty_host.mutable_filter()->add_agent_ids("");
  EXPECT_THAT(ValidateFollowRequest(empty_host),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::HasSubstr("filter.agent_ids[0] is empty")));
  EXPECT_THAT(ValidateFollowRequest({}), IsOk());
}

class LogFollowersTest : public LogFollowTest {};

TEST_F(LogFollowersTest, CapsFollowsAndStopsThemAll) {
  LogFollowers followers(storage_, Workers(), 2);
  v1::FollowLogsRequest request;
  request.mutable_filter()->set_limit(10);
  RecordingStream second_stream, third_stream;
  auto first = followers.Add(request, stream_);
  ASSERT_THAT(first, IsOk());
  auto second = followers.Add(request, second_stream);
  ASSERT_THAT(second, IsOk());
  EXPECT_THAT(followers.Add(request, third_stream),
              StatusIs(absl::StatusCode::kResourceExhausted));
  followers.Remove(second->get());
  EXPECT_THAT(followers.Add(request, third_stream), IsOk());
  (*first)->Start();
  Drain(**first);
  followers.Stop();
  ASSERT_TRUE(stream_.ended().has_value());
  EXPECT_THAT(*stream_.ended(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(followers.Add(request, third_stream),
              StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(LogFollowersTest, RefusesARequestValidationRefuses) {
  LogFollowers followers(storage_, Workers(), 2);
  v1::FollowLogsRequest request;
  request.mutable_filter()->set_limit(10);
  request.mutable_filter()->set_regex("(");
  EXPECT_THAT(followers.Add(request, stream_),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::HasSubstr("filter.regex")));
}

TEST_F(LogFollowersTest, StoredLogEventsWakeFollowers) {
  LogFollowers followers(storage_, Workers(), 2);
  v1::FollowLogsRequest request;
  request.mutable_filter()->set_limit(10);
  auto follower = followers.Add(request, stream_);
  ASSERT_THAT(follower, IsOk());
  (*follower)->Start();
  Drain(**follower);
  // A batch without log events wakes no one.
  followers.OnStored(
      BuildStoredBatch({Batch("a", {SampleEvent(1, kT0, 5)})}, {}, kNow));
  EXPECT_TRUE(queued_.empty());
  const StoredBatch logs = BuildStoredBatch({LogLines("a", 2, 3)}, {}, kNow);
  ASSERT_THAT(storage_.Apply(logs), IsOk());
  followers.OnStored(logs);
  Drain(**follower);
  EXPECT_THAT(stream_.all_sent(), ElementsAre(Pair("a", 2), Pair("a", 3)));
}

}  // namespace
}  // namespace eroom::collector
