#include "agent/uplink.h"

#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "agent/command_runner.h"
#include "agent/issued_token.h"
#include "agent/spool.h"
#include "common/bounded_queue.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/test_support/fake_clock.h"
#include "tests/unit/test_support/poll_until.h"
#include "tests/unit/test_support/status_matchers.h"
#include "tests/unit/test_support/temp_dir.h"

namespace eroom::agent {
namespace {
namespace v1 = ::eroom::monitor::v1;

using test_support::IsOk;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// A stream that went wrong ends after this instead of hanging the test.
constexpr absl::Duration kReadTimeout = absl::Seconds(30);

std::vector<uint64_t> BatchSequences(const v1::AgentMessage& message) {
  std::vector<uint64_t> sequences;
  for (const v1::Event& event : message.batch().events()) {
    sequences.push_back(event.sequence());
  }
  return sequences;
}

// The collector's end of one stream, scripted by the test, which owns it.
class FakeStream {
 public:
  using Written = std::vector<v1::AgentMessage>;

  // What the collector does.
  bool answer_hello = true;
  uint64_t last_stored = 0;
  std::string issued_token;  // Sent in the hello answer.
  std::vector<v1::LogResumePoint> log_resume_points;  // In the hello answer.
  bool reads_log_sources = true;                      // In the hello answer.
  // Sent right after the hello answer.
  std::vector<v1::CollectorMessage> after_hello;
  bool ack_batches = true;
  // The collector ends the stream once what the agent wrote satisfies this.
  std::function<bool(const Written&)> end_when;
  // The stream breaks as the agent writes a message satisfying this (the
  // message is lost).
  std::function<bool(const v1::AgentMessage&)> break_at;

  bool Write(const v1::AgentMessage& message) {
    absl::MutexLock lock(&mu_);
    if (ended_) return false;
    if (break_at && break_at(message)) {
      EndLocked();
      return false;
    }
    written_.push_back(message);
    if (message.has_hello()) {
      if (!answer_hello) {
        EndLocked();
        return true;
      }
      v1::CollectorMessage answer;
      answer.mutable_hello_ack()->set_last_stored_sequence(last_stored);
      answer.mutable_hello_ack()->set_agent_token(issued_token);
      answer.mutable_hello_ack()->set_log_sources(reads_log_sources);
      answer.mutable_hello_ack()->mutable_log_resume_points()->Assign(
          log_resume_points.begin(), log_resume_points.end());
      inbound_.TryPush(answer);
      for (const v1::CollectorMessage& next : after_hello) {
        inbound_.TryPush(next);
      }
    } else if (message.has_batch() && ack_batches) {
      const auto& events = message.batch().events();
      v1::CollectorMessage ack;
      ack.mutable_ack()->set_stored_through_sequence(
          events[events.size() - 1].sequence());
      inbound_.TryPush(ack);
    }
    if (end_when && end_when(written_)) EndLocked();
    return true;
  }

  bool Read(v1::CollectorMessage* message) {
    std::optional<v1::CollectorMessage> next = inbound_.Pop(kReadTimeout);
    if (!next) return false;
    *message = *std::move(next);
    return true;
  }

  void End() {
    absl::MutexLock lock(&mu_);
    EndLocked();
  }

  // Sends `message` to the agent now.
  void Deliver(const v1::CollectorMessage& message) {
    inbound_.TryPush(message);
  }
  // Acknowledges the events through `sequence` (with ack_batches false).
  void Ack(uint64_t sequence) {
    v1::CollectorMessage ack;
    ack.mutable_ack()->set_stored_through_sequence(sequence);
    Deliver(ack);
  }

  // The events of each batch written, in order.
  std::vector<std::vector<uint64_t>> BatchesWritten() const {
    std::vector<std::vector<uint64_t>> batches;
    for (const v1::AgentMessage& message : written()) {
      if (message.has_batch()) batches.push_back(BatchSequences(message));
    }
    return batches;
  }

  Written written() const {
    absl::MutexLock lock(&mu_);
    return written_;
  }

 private:
  void EndLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ended_ = true;
    inbound_.Close();
  }

  mutable absl::Mutex mu_;
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  Written written_ ABSL_GUARDED_BY(mu_);
  BoundedQueue<v1::CollectorMessage> inbound_{100};
};

class FakeCall final : public CollectorCall {
 public:
  explicit FakeCall(FakeStream& stream) : stream_(stream) {}
  // The collector reads the agent's encoding as AgentMessage: so does the
  // fake.
  bool Write(const v1::EncodedAgentMessage& message) override {
    v1::AgentMessage decoded;
    EXPECT_TRUE(decoded.ParseFromString(message.SerializeAsString()));
    return stream_.Write(decoded);
  }
  bool Read(v1::CollectorMessage* message) override {
    return stream_.Read(message);
  }
  void Cancel() override { stream_.End(); }
  grpc::Status Finish() override { return grpc::Status::OK; }

 private:
  FakeStream& stream_;
};

// Hands out the streams the test prepared, in order.
class FakeLink final : public CollectorLink {
 public:
  FakeLink(std::list<FakeStream>& streams, std::string& token)
      : streams_(streams), token_(token) {}
  std::unique_ptr<CollectorCall> Connect(const absl::Notification&) override {
    return std::make_unique<FakeCall>(streams_.front());
  }
  void UseToken(const std::string& token) override { token_ = token; }

 private:
  std::list<FakeStream>& streams_;
  std::string& token_;
};

v1::CollectorMessage Command(const std::string& id,
                             std::function<void(v1::Command&)> action) {
  v1::CollectorMessage message;
  message.mutable_command()->set_command_id(id);
  if (action) action(*message.mutable_command());
  return message;
}

v1::CollectorMessage Ping(const std::string& id) {
  return Command(id, [](v1::Command& c) { c.mutable_ping(); });
}

v1::CollectorMessage Housekeeping(const std::string& id) {
  return Command(id, [](v1::Command& c) { c.mutable_log_housekeeping(); });
}

std::vector<v1::CommandProgress> Progress(const FakeStream::Written& written) {
  std::vector<v1::CommandProgress> progress;
  for (const v1::AgentMessage& message : written) {
    if (message.has_command_progress()) {
      progress.push_back(message.command_progress());
    }
  }
  return progress;
}

std::vector<v1::CommandState> States(const FakeStream::Written& written) {
  std::vector<v1::CommandState> states;
  for (const v1::CommandProgress& p : Progress(written)) {
    states.push_back(p.state());
  }
  return states;
}

// Ends the stream once `count` progress reports in `state` were written.
std::function<bool(const FakeStream::Written&)> EndAfter(v1::CommandState state,
                                                         size_t count = 1) {
  return [state, count](const FakeStream::Written& written) {
    size_t seen = 0;
    for (const v1::CommandProgress& p : Progress(written)) {
      if (p.state() == state) ++seen;
    }
    return seen >= count;
  };
}

// What a spool at `path` finds when its file is damaged beyond reading.
void WriteDamagedFile(const std::string& path) {
  std::ofstream(path, std::ios::trunc) << std::string(8192, 'x');
  for (const char* suffix : {"-wal", "-shm"}) {
    std::filesystem::remove(path + suffix);
  }
}

v1::Event Notice(const std::string& kind) {
  v1::Event event;
  event.mutable_notice()->set_kind(kind);
  return event;
}

class UplinkTest : public test_support::TempDirTest {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<Spool>> spool =
        Spool::Open({.path = PathIn("agent-state.db")});
    ASSERT_THAT(spool, IsOk());
    spool_ = *std::move(spool);
  }

  void MakeUplink(CommandPolicy policy = {}) {
    commands_ = std::make_unique<CommandRunner>(policy, clock_);
    commands_->Start();
    UplinkOptions options;
    options.batch_max_events = 10;
    options.batch_max_delay = absl::Milliseconds(5);
    options.reconnect_initial = absl::Milliseconds(100);
    options.reconnect_max = absl::Seconds(1);
    options.issued_token_path = PathIn("agent-token");
    v1::AgentHello hello;
    hello.set_agent_id("web-1");
    uplink_ =
        std::make_unique<Uplink>(options, hello, *spool_, *commands_, clock_,
                                 std::make_unique<FakeLink>(streams_, token_));
  }

  // The next stream the uplink opens.
  FakeStream& NextStream() {
    streams_.emplace_front();
    return streams_.front();
  }

  bool RunConnection() {
    return uplink_->RunConnection(stop_, absl::Seconds(2));
  }

  // RunConnection on a thread of its own, on the next stream, which
  // acknowledges batches only when told (FakeStream::Ack). Ending it ends
  // the stream and joins the thread, so a failed assertion ends the uplink.
  class BackgroundConnection {
   public:
    explicit BackgroundConnection(UplinkTest& test)
        : stream_(test.NextStream()) {
      stream_.ack_batches = false;
      uplink_ = std::thread([&test] { test.RunConnection(); });
    }
    ~BackgroundConnection() {
      stream_.End();
      Join();
    }
    FakeStream& stream() { return stream_; }
    // Waits until `count` batches were written.
    bool BatchesWritten(size_t count) {
      return PollUntil(
          [this, count] { return stream_.BatchesWritten().size() == count; });
    }
    void Join() {
      if (uplink_.joinable()) uplink_.join();
    }

   private:
    FakeStream& stream_;
    std::thread uplink_;
  };

  FakeClock clock_;
  std::list<FakeStream> streams_;
  std::string token_;  // The token the link uses, once one was issued.
  std::unique_ptr<Spool> spool_;
  std::unique_ptr<CommandRunner> commands_;
  std::unique_ptr<Uplink> uplink_;
  absl::Notification stop_;
};

TEST_F(UplinkTest, SendsTheHelloFirstAndResumesAfterWhatTheCollectorStored) {
  ASSERT_THAT(spool_->Append({Notice("a"), Notice("b"), Notice("c")}), IsOk());
  MakeUplink();
  FakeStream& stream = NextStream();
  stream.last_stored = 1;
  stop_.Notify();  // Deliver what is spooled, then return.
  EXPECT_TRUE(RunConnection());
  FakeStream::Written written = stream.written();
  ASSERT_EQ(written.size(), 2u);
  EXPECT_EQ(written[0].hello().agent_id(), "web-1");
  EXPECT_THAT(BatchSequences(written[1]), ElementsAre(2, 3));
  // The acks freed the spool.
  EXPECT_EQ(spool_->stats().events, 0u);
  EXPECT_EQ(uplink_->stats().last_acked_sequence, 3u);
  EXPECT_FALSE(uplink_->stats().connected);
}

TEST_F(UplinkTest, FollowsACollectorThatStoredMoreThanThisAgentNumbered) {
  ASSERT_THAT(spool_->Append({Notice("a"), Notice("b")}), IsOk());
  MakeUplink();
  FakeStream& stream = NextStream();
  stream.last_stored = 40;
  stop_.Notify();
  EXPECT_TRUE(RunConnection());
  FakeStream::Written written = stream.written();
  ASSERT_EQ(written.size(), 2u);
  EXPECT_THAT(BatchSequences(written[1]), ElementsAre(41, 42));
}

// A collector older than log sources gets each event's file, logger and
// thread; a newer one gets them once a batch.
TEST_F(UplinkTest, LogEventsGoWholeToACollectorThatDoesNotReadSources) {
  v1::LogEvent log;
  log.set_file("logs/server.log");
  log.set_logger("c.e.Api");
  log.set_thread("exec-1");
  log.set_message("m");
  std::vector<v1::LogEvent> logs = {log, log};
  ASSERT_THAT(spool_->Commit(absl::MakeSpan(logs), {}), IsOk());
  MakeUplink();
  FakeStream& older = NextStream();
  older.reads_log_sources = false;
  stop_.Notify();
  EXPECT_TRUE(RunConnection());
  ASSERT_EQ(older.written().size(), 2u);
  const v1::EventBatch whole = older.written()[1].batch();
  EXPECT_EQ(whole.log_sources_size(), 0);
  ASSERT_EQ(whole.events_size(), 2);
  for (const v1::Event& event : whole.events()) {
    EXPECT_EQ(event.log().SerializeAsString(), log.SerializeAsString());
  }

  logs = {log, log};
  ASSERT_THAT(spool_->Commit(absl::MakeSpan(logs), {}), IsOk());
  FakeStream& newer = NextStream();
  EXPECT_TRUE(RunConnection());
  ASSERT_EQ(newer.written().size(), 2u);
  const v1::EventBatch referring = newer.written()[1].batch();
  EXPECT_EQ(referring.log_sources_size(), 1);
  ASSERT_EQ(referring.events_size(), 2);
  EXPECT_FALSE(referring.events(0).log().has_file());
  EXPECT_EQ(referring.events(0).log_source(), referring.log_sources(0).id());
}

std::vector<uint64_t> SpooledSequences(Spool& spool) {
  std::vector<uint64_t> sequences;
  std::string encoded;
  EXPECT_THAT(spool.ReadAfter(0, 100, 1 << 20, encoded), IsOk());
  v1::EventBatch batch;
  EXPECT_TRUE(batch.ParseFromString(encoded));
  for (const v1::Event& event : batch.events()) {
    sequences.push_back(event.sequence());
  }
  return sequences;
}

TEST_F(UplinkTest, HelloAnswerBeyondAnySequenceEndsTheStreamAndKeepsTheSpool) {
  ASSERT_THAT(spool_->Append({Notice("a"), Notice("b")}), IsOk());
  MakeUplink();
  FakeStream& stream = NextStream();
  stream.last_stored = std::numeric_limits<int64_t>::max();
  EXPECT_FALSE(RunConnection());
  // Nothing renumbered, nothing sent: the next connection starts over.
  EXPECT_THAT(SpooledSequences(*spool_), ElementsAre(1, 2));
  EXPECT_EQ(stream.written().size(), 1u);
  EXPECT_FALSE(uplink_->stats().connected);

  FakeStream& next = NextStream();
  stop_.Notify();
  EXPECT_TRUE(RunConnection());
  ASSERT_EQ(next.written().size(), 2u);
  EXPECT_THAT(BatchSequences(next.written()[1]), ElementsAre(1, 2));
}

TEST_F(UplinkTest, AckBeyondWhatWasSentEndsTheStreamAndKeepsTheSpool) {
  ASSERT_THAT(spool_->Append({Notice("a"), Notice("b")}), IsOk());
  MakeUplink();
  FakeStream& stream = NextStream();
  stream.ack_batches = false;
  v1::CollectorMessage ack;
  ack.mutable_ack()->set_stored_through_sequence(1000);
  stream.after_hello.push_back(ack);
  RunConnection();
  EXPECT_THAT(SpooledSequences(*spool_), ElementsAre(1, 2));
  EXPECT_EQ(uplink_->stats().last_acked_sequence, 0u);
}

TEST_F(UplinkTest, IssuedTokenIsUsedFromThenOnAndKept) {
  MakeUplink();
  FakeStream& stream = NextStream();
  const std::string issued(64, 'a');
  stream.issued_token = issued;
  stop_.Notify();
  EXPECT_TRUE(RunConnection());
  EXPECT_EQ(token_, issued);
  EXPECT_THAT(LoadIssuedToken(PathIn("agent-token")),
              test_support::IsOkAndHolds(std::optional<std::string>(issued)));
  EXPECT_EQ(
      std::filesystem::status(PathIn("agent-token")).permissions(),
      std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

TEST_F(UplinkTest, NoTokenIsKeptWhenNoneWasIssued) {
  MakeUplink();
  NextStream();
  stop_.Notify();
  EXPECT_TRUE(RunConnection());
  EXPECT_EQ(token_, "");
  EXPECT_THAT(LoadIssuedToken(PathIn("agent-token")),
              test_support::IsOkAndHolds(std::nullopt));
}

TEST_F(UplinkTest, AReplacedSpoolAsksWhereTheLogsResumeAndRenumbers) {
  spool_.reset();
  WriteDamagedFile(PathIn("agent-state.db"));
  absl::StatusOr<std::unique_ptr<Spool>> replaced =
      Spool::Open({.path = PathIn("agent-state.db")});
  ASSERT_THAT(replaced, IsOk());
  spool_ = *std::move(replaced);
  ASSERT_THAT(
      spool_->Append({Notice("spool_replaced"), Notice("b"), Notice("c")}),
      IsOk());
  MakeUplink();
  FakeStream& stream = NextStream();
  // Fewer than this spool numbered: still other events than its own.
  stream.last_stored = 2;
  v1::LogResumePoint point;
  point.set_file("/logs/server.log");
  point.set_file_offset(100);
  stream.log_resume_points = {point};
  stop_.Notify();
  EXPECT_TRUE(RunConnection());
  FakeStream::Written written = stream.written();
  ASSERT_EQ(written.size(), 2u);
  EXPECT_TRUE(written[0].hello().spool_replaced());
  EXPECT_THAT(BatchSequences(written[1]), ElementsAre(3, 4, 5));
  EXPECT_EQ(written[1].batch().events(0).notice().kind(), "spool_replaced");
  std::optional<std::vector<v1::LogResumePoint>> offered =
      spool_->AwaitLogResumePoints(absl::ZeroDuration());
  ASSERT_TRUE(offered.has_value());
  ASSERT_EQ(offered->size(), 1u);
  EXPECT_EQ((*offered)[0].file_offset(), 100u);

  // Once the logs resumed, a hello no longer asks.
  ASSERT_THAT(spool_->ResumeLogs({}), IsOk());
  FakeStream& next = NextStream();
  next.last_stored = 5;
  EXPECT_TRUE(RunConnection());
  ASSERT_FALSE(next.written().empty());
  EXPECT_FALSE(next.written()[0].hello().spool_replaced());
}

TEST_F(UplinkTest, AnUnansweredHelloIsNoConnection) {
  ASSERT_THAT(spool_->Append({Notice("a")}), IsOk());
  MakeUplink();
  FakeStream& stream = NextStream();
  stream.answer_hello = false;
  EXPECT_FALSE(RunConnection());
  FakeStream::Written written = stream.written();
  ASSERT_EQ(written.size(), 1u);
  EXPECT_TRUE(written[0].has_hello());
  EXPECT_EQ(spool_->stats().events, 1u);
}

TEST_F(UplinkTest, PingIsAcceptedThenSucceeds) {
  MakeUplink();
  FakeStream& stream = NextStream();
  stream.after_hello = {Ping("cmd-1")};
  stream.end_when = EndAfter(v1::SUCCEEDED);
  EXPECT_TRUE(RunConnection());
  std::vector<v1::CommandProgress> progress = Progress(stream.written());
  EXPECT_THAT(States(stream.written()),
              ElementsAre(v1::ACCEPTED, v1::SUCCEEDED));
  for (const v1::CommandProgress& p : progress) {
    EXPECT_EQ(p.command_id(), "cmd-1");
    EXPECT_EQ(p.time_unix_ms(), absl::ToUnixMillis(clock_.Now()));
  }
}

TEST_F(UplinkTest, ADisallowedActionIsRejectedAndNotRun) {
  MakeUplink();  // The default policy allows nothing but ping.
  FakeStream& stream = NextStream();
  stream.after_hello = {Housekeeping("cmd-2")};
  stream.end_when = EndAfter(v1::REJECTED);
  EXPECT_TRUE(RunConnection());
  std::vector<v1::CommandProgress> progress = Progress(stream.written());
  ASSERT_EQ(progress.size(), 1u);
  EXPECT_EQ(progress[0].command_id(), "cmd-2");
  EXPECT_EQ(progress[0].state(), v1::REJECTED);
  EXPECT_THAT(progress[0].message(),
              HasSubstr("log_housekeeping: not allowed"));
}

TEST_F(UplinkTest, AnAllowedActionWithoutItsProcedureFails) {
  MakeUplink({.log_housekeeping = {.enabled = true}});
  FakeStream& stream = NextStream();
  stream.after_hello = {Housekeeping("cmd-3")};
  stream.end_when = EndAfter(v1::FAILED);
  EXPECT_TRUE(RunConnection());
  std::vector<v1::CommandProgress> progress = Progress(stream.written());
  EXPECT_THAT(States(stream.written()), ElementsAre(v1::ACCEPTED, v1::FAILED));
  EXPECT_EQ(progress.back().message(), "not available in this agent");
}

TEST_F(UplinkTest, AMalformedCommandIsRejected) {
  MakeUplink();
  FakeStream& stream = NextStream();
  stream.after_hello = {Command("cmd-4", nullptr)};  // No action.
  stream.end_when = EndAfter(v1::REJECTED);
  EXPECT_TRUE(RunConnection());
  std::vector<v1::CommandProgress> progress = Progress(stream.written());
  ASSERT_EQ(progress.size(), 1u);
  EXPECT_EQ(progress[0].state(), v1::REJECTED);
  EXPECT_THAT(progress[0].message(), HasSubstr("action"));
}

TEST_F(UplinkTest, ACommandIdSeenBeforeIsAnsweredWithoutRunningAgain) {
  MakeUplink();
  FakeStream& stream = NextStream();
  stream.after_hello = {Ping("cmd-5"), Ping("cmd-5")};
  stream.end_when = EndAfter(v1::SUCCEEDED, 2);
  EXPECT_TRUE(RunConnection());
  // Accepted once: run once, its last state told twice.
  EXPECT_THAT(States(stream.written()),
              ElementsAre(v1::ACCEPTED, v1::SUCCEEDED, v1::SUCCEEDED));
}

// The uplink answers a command at every turn: once a second ping delivered
// after the first was answered is answered too, a whole turn went by.
bool AWholeTurnWentBy(FakeStream& stream, const std::string& name) {
  for (const std::string& id : {name + "-1", name + "-2"}) {
    stream.Deliver(Ping(id));
    if (!PollUntil([&stream, &id] {
          for (const v1::CommandProgress& p : Progress(stream.written())) {
            if (p.command_id() == id && p.state() == v1::SUCCEEDED) {
              return true;
            }
          }
          return false;
        })) {
      return false;
    }
  }
  return true;
}

TEST_F(UplinkTest, ABatchThatIsNotFullWaitsUntilEverythingSentIsAcknowledged) {
  MakeUplink();  // Batches of at most 10 events.
  BackgroundConnection connection(*this);
  FakeStream& stream = connection.stream();
  ASSERT_THAT(spool_->Append({Notice("a")}), IsOk());
  ASSERT_TRUE(connection.BatchesWritten(1));

  // Event 2 waits while event 1 is not acknowledged.
  ASSERT_THAT(spool_->Append({Notice("b")}), IsOk());
  ASSERT_TRUE(AWholeTurnWentBy(stream, "ping"));
  EXPECT_THAT(stream.BatchesWritten(), ElementsAre(ElementsAre(1)));

  // A full batch goes at once, the rest once everything is acknowledged.
  ASSERT_THAT(spool_->Append(std::vector<v1::Event>(9, Notice("c"))), IsOk());
  ASSERT_TRUE(connection.BatchesWritten(2));
  ASSERT_THAT(spool_->Append({Notice("d")}), IsOk());
  stream.Ack(11);
  ASSERT_TRUE(connection.BatchesWritten(3));
  stream.Ack(12);
  stop_.Notify();
  connection.Join();
  EXPECT_THAT(
      stream.BatchesWritten(),
      ElementsAre(ElementsAre(1), ElementsAre(2, 3, 4, 5, 6, 7, 8, 9, 10, 11),
                  ElementsAre(12)));
}

TEST_F(UplinkTest, ABatchThatIsNotFullKeepsTheCollectorsPacing) {
  MakeUplink();  // Batches of at most 10 events.
  BackgroundConnection connection(*this);
  FakeStream& stream = connection.stream();
  auto ack_with_pacing = [&stream](uint64_t sequence) {
    v1::CollectorMessage ack;
    ack.mutable_ack()->set_stored_through_sequence(sequence);
    ack.mutable_ack()->set_batch_interval_ms(1000);
    stream.Deliver(ack);
  };
  ASSERT_THAT(spool_->Append({Notice("a")}), IsOk());
  ASSERT_TRUE(connection.BatchesWritten(1));
  ack_with_pacing(1);

  // Everything is acknowledged, but event 2 waits out the second asked for,
  // drawn from half of it to one and a half.
  ASSERT_THAT(spool_->Append({Notice("b")}), IsOk());
  ASSERT_TRUE(AWholeTurnWentBy(stream, "early"));
  EXPECT_THAT(stream.BatchesWritten(), ElementsAre(ElementsAre(1)));
  clock_.Advance(absl::Milliseconds(499));
  ASSERT_TRUE(AWholeTurnWentBy(stream, "still-early"));
  EXPECT_THAT(stream.BatchesWritten(), ElementsAre(ElementsAre(1)));
  clock_.Advance(absl::Milliseconds(1001));
  ASSERT_TRUE(connection.BatchesWritten(2));
  ack_with_pacing(2);

  // A full batch is not held back.
  ASSERT_THAT(spool_->Append(std::vector<v1::Event>(10, Notice("c"))), IsOk());
  ASSERT_TRUE(connection.BatchesWritten(3));
  ack_with_pacing(12);
  // While stopping, what is left goes at once.
  ASSERT_THAT(spool_->Append({Notice("d")}), IsOk());
  ASSERT_TRUE(AWholeTurnWentBy(stream, "before-stop"));
  EXPECT_EQ(stream.BatchesWritten().size(), 3u);
  stop_.Notify();
  ASSERT_TRUE(connection.BatchesWritten(4));
  stream.Ack(13);
  connection.Join();
  EXPECT_THAT(stream.BatchesWritten(),
              ElementsAre(ElementsAre(1), ElementsAre(2),
                          ElementsAre(3, 4, 5, 6, 7, 8, 9, 10, 11, 12),
                          ElementsAre(13)));
}

TEST_F(UplinkTest, ProgressABrokenStreamLostGoesOnTheNext) {
  MakeUplink();
  FakeStream& first = NextStream();
  first.after_hello = {Ping("cmd-6")};
  first.break_at = [](const v1::AgentMessage& message) {
    return message.has_command_progress();
  };
  EXPECT_TRUE(RunConnection());
  EXPECT_THAT(Progress(first.written()), IsEmpty());

  FakeStream& second = NextStream();
  second.end_when = EndAfter(v1::SUCCEEDED);
  EXPECT_TRUE(RunConnection());
  FakeStream::Written written = second.written();
  ASSERT_FALSE(written.empty());
  EXPECT_TRUE(written[0].has_hello());
  EXPECT_THAT(States(written), ElementsAre(v1::ACCEPTED, v1::SUCCEEDED));
}

TEST_F(UplinkTest, CommandsAndEventsShareTheStream) {
  ASSERT_THAT(spool_->Append({Notice("a")}), IsOk());
  MakeUplink();
  FakeStream& stream = NextStream();
  stream.after_hello = {Ping("cmd-7")};
  stream.end_when = [](const FakeStream::Written& written) {
    bool batch = false;
    for (const v1::AgentMessage& m : written) batch |= m.has_batch();
    return batch && EndAfter(v1::SUCCEEDED)(written);
  };
  EXPECT_TRUE(RunConnection());
  EXPECT_THAT(States(stream.written()),
              ElementsAre(v1::ACCEPTED, v1::SUCCEEDED));
  EXPECT_EQ(spool_->stats().events, 0u);  // Acknowledged.
}

TEST_F(UplinkTest, BackoffGrowsToItsMaximumAndResetsAfterAHealthyStream) {
  MakeUplink();
  auto within = [](absl::Duration wait, absl::Duration full) {
    return wait >= full / 2 && wait <= full;
  };
  EXPECT_TRUE(within(uplink_->NextBackoff(false), absl::Milliseconds(100)));
  EXPECT_TRUE(within(uplink_->NextBackoff(false), absl::Milliseconds(200)));
  EXPECT_TRUE(within(uplink_->NextBackoff(false), absl::Milliseconds(400)));
  EXPECT_TRUE(within(uplink_->NextBackoff(false), absl::Milliseconds(800)));
  EXPECT_TRUE(within(uplink_->NextBackoff(false), absl::Seconds(1)));
  EXPECT_TRUE(within(uplink_->NextBackoff(false), absl::Seconds(1)));
  EXPECT_TRUE(within(uplink_->NextBackoff(true), absl::Milliseconds(100)));
}

TEST_F(UplinkTest, DropsAreReportedOnceAsANotice) {
  // A spool too small for any sample: each is dropped, and counted there.
  spool_.reset();
  absl::StatusOr<std::unique_ptr<Spool>> small =
      Spool::Open({.path = PathIn("small.db"), .max_spool_bytes = 1});
  ASSERT_THAT(small, IsOk());
  spool_ = *std::move(small);
  v1::Event sample;
  sample.mutable_sample()->set_cpu_percent(50);
  ASSERT_THAT(spool_->Append({sample, sample}), IsOk());
  MakeUplink();
  FakeStream& stream = NextStream();
  stop_.Notify();
  EXPECT_TRUE(RunConnection());
  std::vector<v1::Event> notices;
  for (const v1::AgentMessage& message : stream.written()) {
    for (const v1::Event& event : message.batch().events()) {
      notices.push_back(event);
    }
  }
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_EQ(notices[0].notice().count(), 2);
  EXPECT_EQ(uplink_->stats().dropped_events, 2u);
}

}  // namespace
}  // namespace eroom::agent
