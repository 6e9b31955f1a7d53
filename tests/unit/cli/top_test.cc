// `eroomctl top`'s loop with a fake terminal and a fake clock, and the
// whole command against a fake collector on a loopback port.
#include "cli/top.h"

#include <deque>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "cli/eroomctl.h"
#include "cli/table.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/cli/test_protos.h"
#include "tests/unit/test_support/fake_clock.h"
#include "tests/unit/test_support/loopback_grpc_server.h"

namespace eroom::cli {
namespace {
namespace v1 = ::eroom::monitor::v1;
using ::eroom::cli::testing::CpuMetrics;
using ::eroom::cli::testing::ErrorLogs;
using ::eroom::cli::testing::kNowMs;
using ::eroom::cli::testing::TwoHosts;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

const absl::Time kNow = absl::FromUnixMillis(kNowMs);

// A terminal whose keys and resizes are scripted. A wait with nothing
// scripted lasts its whole timeout on the fake clock; with the script
// used up, it reports an interrupt so that a test cannot hang.
class FakeTerminal final : public Terminal {
 public:
  explicit FakeTerminal(FakeClock& clock) : clock_(clock) {}

  TerminalSize Size() override { return size; }
  void Write(absl::string_view bytes) override {
    written.append(bytes.data(), bytes.size());
    if (transcript != nullptr) transcript->append(bytes.data(), bytes.size());
  }
  TerminalEvent Wait(absl::Duration timeout) override {
    waits.push_back(timeout);
    if (script.empty()) return TerminalEvent{TerminalEvent::Kind::kInterrupt};
    const Step step = script.front();
    script.pop_front();
    if (step.before) step.before();
    if (step.event.kind == TerminalEvent::Kind::kTimeout) {
      clock_.Advance(timeout);
    }
    return step.event;
  }

  struct Step {
    TerminalEvent event;
    std::function<void()> before;  // E.g. the window changes size.
  };
  static Step Timeout() { return Step{TerminalEvent{}, nullptr}; }
  static Step Key(char key) {
    return Step{TerminalEvent{TerminalEvent::Kind::kKey, key}, nullptr};
  }

  TerminalSize size{100, 40};
  std::deque<Step> script;
  std::vector<absl::Duration> waits;
  std::string written;
  std::string* transcript = nullptr;  // Also gets what is written.

 private:
  FakeClock& clock_;
};

// The frames drawn: what follows each cursor-home, lines without their
// clear-to-end-of-line.
std::vector<std::vector<std::string>> Frames(const std::string& written) {
  std::vector<std::vector<std::string>> frames;
  for (absl::string_view frame : absl::StrSplit(written, "\x1b[H")) {
    if (frame.empty()) continue;
    EXPECT_TRUE(absl::ConsumeSuffix(&frame, "\x1b[J")) << frame;
    std::vector<std::string> lines;
    for (absl::string_view line : absl::StrSplit(frame, "\r\n")) {
      EXPECT_TRUE(absl::ConsumeSuffix(&line, "\x1b[K")) << line;
      lines.emplace_back(line);
    }
    frames.push_back(std::move(lines));
  }
  return frames;
}

TopSnapshot OneHost() {
  TopSnapshot snapshot;
  const v1::ListHostsResponse hosts = TwoHosts();
  snapshot.hosts = {hosts.hosts(0)};
  return snapshot;
}

class TopLoopTest : public ::testing::Test {
 protected:
  TopLoopTest() {
    options_.zone = absl::UTCTimeZone();
    options_.collector = "127.0.0.1:17443";
    options_.interval = args_.interval;
    options_.interactive = true;
  }

  absl::Status Run() {
    return RunTopOnTerminal(args_, fetch_, options_, clock_, terminal_);
  }

  FakeClock clock_{kNow};
  FakeTerminal terminal_{clock_};
  TopArgs args_;
  TopFrameOptions options_;
  std::vector<absl::Time> fetched_at_;
  // Answers with OneHost() unless a test says otherwise.
  std::function<absl::StatusOr<TopSnapshot>(int call)> answer_ =
      [](int) -> absl::StatusOr<TopSnapshot> { return OneHost(); };
  TopFetch fetch_ = [this](absl::Time now) {
    fetched_at_.push_back(now);
    absl::StatusOr<TopSnapshot> snapshot =
        answer_(static_cast<int>(fetched_at_.size()));
    if (snapshot.ok()) snapshot->fetched = now;
    return snapshot;
  };
};

TEST_F(TopLoopTest, RefreshesEveryIntervalUntilQ) {
  terminal_.script = {FakeTerminal::Timeout(), FakeTerminal::Key('x'),
                      FakeTerminal::Timeout(), FakeTerminal::Key('q')};
  ASSERT_TRUE(Run().ok());
  // A key that means nothing does not refresh early: the wait goes on for
  // what is left of the interval.
  EXPECT_THAT(fetched_at_, ElementsAre(kNow, kNow + absl::Seconds(5),
                                       kNow + absl::Seconds(10)));
  EXPECT_THAT(terminal_.waits, ElementsAre(absl::Seconds(5), absl::Seconds(5),
                                           absl::Seconds(5), absl::Seconds(5)));
  const auto frames = Frames(terminal_.written);
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_THAT(frames[2][0], HasSubstr("2025-06-15 15:06:50"));
  EXPECT_THAT(frames[2][0], HasSubstr("q quits"));
  EXPECT_THAT(frames[2][2], HasSubstr("eroom-prod-1 (a1b2c3)  connected"));
}

TEST_F(TopLoopTest, InterruptEndsTheLoopCleanly) {
  terminal_.script = {FakeTerminal::Step{
      TerminalEvent{TerminalEvent::Kind::kInterrupt}, nullptr}};
  EXPECT_TRUE(Run().ok());
  EXPECT_EQ(fetched_at_.size(), 1u);
}

TEST_F(TopLoopTest, ResizeRedrawsAtTheNewWidthWithoutAskingAgain) {
  terminal_.size = TerminalSize{160, 40};
  terminal_.script = {
      FakeTerminal::Step{TerminalEvent{TerminalEvent::Kind::kResize},
                         [this] {
                           terminal_.size = TerminalSize{30, 5};
                         }},
      FakeTerminal::Key('Q')};
  ASSERT_TRUE(Run().ok());
  EXPECT_EQ(fetched_at_.size(), 1u);
  const auto frames = Frames(terminal_.written);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_GT(DisplayWidth(frames[0][2]), 30);
  ASSERT_EQ(frames[1].size(), 5u);  // The terminal's height.
  for (const std::string& line : frames[1]) {
    // One column short of the edge, so that nothing wraps.
    EXPECT_LE(DisplayWidth(line), 29) << line;
  }
}

TEST_F(TopLoopTest, UnreachableCollectorIsShownStaleAndRetried) {
  answer_ = [](int call) -> absl::StatusOr<TopSnapshot> {
    if (call == 2 || call == 3) {
      return absl::UnavailableError(
          "cannot reach the collector at 127.0.0.1:17443");
    }
    return OneHost();
  };
  terminal_.script = {FakeTerminal::Timeout(), FakeTerminal::Timeout(),
                      FakeTerminal::Timeout(), FakeTerminal::Key('q')};
  ASSERT_TRUE(Run().ok());
  const auto frames = Frames(terminal_.written);
  ASSERT_EQ(frames.size(), 4u);
  EXPECT_THAT(frames[0][1], Not(HasSubstr("STALE")));
  EXPECT_THAT(frames[1][1],
              HasSubstr("STALE: no answer for 0s, retrying every 5s; showing "
                        "data from 15:06:40: cannot reach the collector"));
  EXPECT_THAT(frames[1][3], HasSubstr("eroom-prod-1"));  // The old data.
  EXPECT_THAT(frames[2][1], HasSubstr("STALE: no answer for 5s"));
  EXPECT_THAT(frames[3][1], Not(HasSubstr("STALE")));
}

TEST_F(TopLoopTest, StopsAfterTheIterationsAskedFor) {
  args_.iterations = 2;
  terminal_.script = {FakeTerminal::Timeout(), FakeTerminal::Timeout()};
  ASSERT_TRUE(Run().ok());
  EXPECT_EQ(fetched_at_.size(), 2u);
  EXPECT_EQ(terminal_.script.size(), 1u);
}

TEST_F(TopLoopTest, PlainFramesHaveNoEscapesAndWaitBetween) {
  args_.iterations = 3;
  options_.interactive = false;
  options_.width = kTopPlainWidth;
  std::vector<absl::Duration> waits;
  std::ostringstream out;
  const absl::Status status = RunTopPlain(
      args_, fetch_, options_, clock_,
      [&](absl::Duration interval) {
        waits.push_back(interval);
        clock_.Advance(interval);
        return true;
      },
      out);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_THAT(waits, ElementsAre(absl::Seconds(5), absl::Seconds(5)));
  EXPECT_THAT(out.str(), Not(HasSubstr("\x1b")));
  EXPECT_THAT(out.str(), Not(HasSubstr("q quits")));
  EXPECT_THAT(out.str(), HasSubstr("15:06:40"));
  EXPECT_THAT(out.str(), HasSubstr("\n\neroomctl top  127.0.0.1:17443  "
                                   "2025-06-15 15:06:50"));
}

TEST_F(TopLoopTest, PlainFrameOfAnUnreachableCollectorIsAnError) {
  answer_ = [](int) -> absl::StatusOr<TopSnapshot> {
    return absl::UnavailableError("cannot reach the collector");
  };
  std::ostringstream out;
  const absl::Status status = RunTopPlain(
      args_, fetch_, options_, clock_, [](absl::Duration) { return true; },
      out);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(out.str(), HasSubstr("STALE: no answer for 0s"));
}

// Answers with TwoHosts, ErrorLogs and per-metric series, and remembers
// what it was asked.
class FakeQueryService final : public v1::QueryService::Service {
 public:
  grpc::Status ListHosts(grpc::ServerContext*, const v1::ListHostsRequest*,
                         v1::ListHostsResponse* response) override {
    *response = TwoHosts();
    return grpc::Status::OK;
  }
  grpc::Status QueryLogs(grpc::ServerContext*,
                         const v1::QueryLogsRequest* request,
                         v1::QueryLogsResponse* response) override {
    absl::MutexLock lock(&mu_);
    logs_requests_.push_back(*request);
    if (request->agent_id().empty() || request->agent_id() == "a1b2c3") {
      *response = ErrorLogs();
    }
    return grpc::Status::OK;
  }
  grpc::Status QueryMetrics(grpc::ServerContext*,
                            const v1::QueryMetricsRequest* request,
                            v1::QueryMetricsResponse* response) override {
    absl::MutexLock lock(&mu_);
    metrics_requests_.push_back(*request);
    *response = CpuMetrics();
    for (v1::MetricSeries& series : *response->mutable_series()) {
      series.set_name(request->name());
      if (request->name() == "disk.used_percent") {
        (*series.mutable_labels())["mount"] = "/data";
      }
    }
    return grpc::Status::OK;
  }

  std::vector<v1::QueryLogsRequest> logs_requests() const {
    absl::MutexLock lock(&mu_);
    return logs_requests_;
  }
  std::vector<v1::QueryMetricsRequest> metrics_requests() const {
    absl::MutexLock lock(&mu_);
    return metrics_requests_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<v1::QueryLogsRequest> logs_requests_ ABSL_GUARDED_BY(mu_);
  std::vector<v1::QueryMetricsRequest> metrics_requests_ ABSL_GUARDED_BY(mu_);
};

class TopCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.started());
    environment_ = CliEnvironment::Real();
    environment_.clock = &clock_;
    environment_.time_zone = absl::UTCTimeZone();
    environment_.getenv = [](const std::string&) { return std::nullopt; };
    // Not a terminal, whatever runs the test.
    environment_.open_terminal =
        []() -> absl::StatusOr<std::unique_ptr<Terminal>> { return nullptr; };
  }

  int Run(std::vector<std::string> args,
          std::string collector = std::string()) {
    if (collector.empty()) collector = server_.address();
    args.insert(args.begin(),
                {"eroomctl", "--insecure", "--collector", collector});
    std::vector<const char*> argv;
    for (const std::string& arg : args) argv.push_back(arg.c_str());
    out_.str("");
    err_.str("");
    return RunEroomctl(static_cast<int>(argv.size()), argv.data(), out_, err_,
                       environment_);
  }

  FakeQueryService service_;
  test_support::LoopbackGrpcServer server_{service_};
  FakeClock clock_{kNow};
  CliEnvironment environment_;
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(TopCommandTest, OffATerminalPrintsOneFrameOfEveryHost) {
  ASSERT_EQ(Run({"top"}), 0) << err_.str();
  const std::string& out = out_.str();
  EXPECT_THAT(out, Not(HasSubstr("\x1b")));
  EXPECT_THAT(out, HasSubstr("eroom-prod-1 (a1b2c3)  connected  ERoom up"));
  EXPECT_THAT(out, HasSubstr("eroom-prod-2 (d4e5f6)  down 3m"));
  EXPECT_THAT(out, HasSubstr("cpu 12.5% ▁█▅"));
  EXPECT_THAT(out, HasSubstr("disk /data 81.0% ▁█▅"));
  EXPECT_THAT(out, HasSubstr("room_failed"));
  for (absl::string_view line : absl::StrSplit(out, '\n')) {
    EXPECT_LE(DisplayWidth(line), kTopPlainWidth) << line;
  }

  // Trends of every host at once, stepped on the collector.
  const std::vector<v1::QueryMetricsRequest> metrics =
      service_.metrics_requests();
  ASSERT_EQ(metrics.size(), 3u);
  EXPECT_EQ(metrics[0].name(), "host.cpu_percent");
  EXPECT_EQ(metrics[1].name(), "host.memory_used_bytes");
  EXPECT_EQ(metrics[2].name(), "disk.used_percent");
  for (const v1::QueryMetricsRequest& request : metrics) {
    EXPECT_EQ(request.agent_id(), "");
    EXPECT_EQ(request.step_ms(), 30000);
    EXPECT_EQ(request.since_unix_ms(), kNowMs - 30 * 60 * 1000);
  }
  const std::vector<v1::QueryLogsRequest> logs = service_.logs_requests();
  ASSERT_EQ(logs.size(), 1u);
  EXPECT_EQ(logs[0].agent_id(), "");
  EXPECT_EQ(logs[0].min_level(), v1::ERROR);
  EXPECT_EQ(logs[0].limit(), 5);
}

TEST_F(TopCommandTest, HostsNamedAreTheOnlyOnesShown) {
  ASSERT_EQ(Run({"top", "--host", "eroom-prod-2", "--host", "nope"}), 0)
      << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("eroom-prod-2 (d4e5f6)"));
  EXPECT_THAT(out_.str(), Not(HasSubstr("a1b2c3")));
  EXPECT_THAT(out_.str(), HasSubstr("no host named 'nope' has reported"));
  EXPECT_THAT(out_.str(), HasSubstr("Last errors: none"));
  const std::vector<v1::QueryMetricsRequest> metrics =
      service_.metrics_requests();
  ASSERT_EQ(metrics.size(), 3u);
  EXPECT_EQ(metrics[0].agent_id(), "d4e5f6");
  const std::vector<v1::QueryLogsRequest> logs = service_.logs_requests();
  ASSERT_EQ(logs.size(), 1u);
  EXPECT_EQ(logs[0].agent_id(), "d4e5f6");
}

TEST_F(TopCommandTest, IterationsPrintFramesWithWaitsBetween) {
  int waits = 0;
  environment_.wait_before_refresh = [&](absl::Duration interval) {
    EXPECT_EQ(interval, absl::Seconds(2));
    clock_.Advance(interval);
    ++waits;
    return true;
  };
  ASSERT_EQ(Run({"top", "--iterations", "3", "--interval", "2s"}), 0)
      << err_.str();
  EXPECT_EQ(waits, 2);
  EXPECT_THAT(out_.str(), HasSubstr("2025-06-15 15:06:44"));
}

TEST_F(TopCommandTest, UnreachableCollectorPrintsAStaleFrameAndFails) {
  EXPECT_EQ(Run({"top", "--timeout", "1s"}, "127.0.0.1:1"), 1);
  EXPECT_THAT(out_.str(), HasSubstr("STALE"));
  EXPECT_THAT(err_.str(), HasSubstr("127.0.0.1:1"));
}

TEST_F(TopCommandTest, DrawsOnTheTerminalItIsGiven) {
  // The terminal is closed when top returns: what it was shown is kept
  // as it is written.
  std::string shown;
  environment_.open_terminal =
      [&]() -> absl::StatusOr<std::unique_ptr<Terminal>> {
    auto fake = std::make_unique<FakeTerminal>(clock_);
    fake->script = {FakeTerminal::Key('q')};
    fake->transcript = &shown;
    return std::unique_ptr<Terminal>(std::move(fake));
  };
  ASSERT_EQ(Run({"top"}), 0) << err_.str();
  EXPECT_EQ(out_.str(), "");
  const auto frames = Frames(shown);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_THAT(frames[0][0], HasSubstr("q quits"));
  EXPECT_THAT(frames[0][2], HasSubstr("eroom-prod-1 (a1b2c3)"));
}

TEST_F(TopCommandTest, BadArgumentsAreUsageErrors) {
  EXPECT_EQ(Run({"top", "-o", "json"}), 2);
  EXPECT_THAT(err_.str(), HasSubstr("top works with -o table only"));
  EXPECT_EQ(Run({"top", "--interval", "500ms"}), 2);
  EXPECT_THAT(err_.str(), HasSubstr("--interval: '500ms'"));
  EXPECT_EQ(Run({"top", "--iterations", "-1"}), 2);
}

}  // namespace
}  // namespace eroom::cli
