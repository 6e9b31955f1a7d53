// eroomctl end to end: real arguments, a real gRPC channel, and a fake
// QueryService and CommandService on an ephemeral loopback port.
#include "cli/eroomctl.h"

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "cli/collector_client.h"
#include "cli/daily_check.h"
#include "common/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/unit/cli/test_protos.h"
#include "tests/unit/test_support/fake_clock.h"
#include "tests/unit/test_support/loopback_grpc_server.h"
#include "tests/unit/test_support/temp_dir.h"

namespace eroom::cli {
namespace {
namespace v1 = ::eroom::monitor::v1;
using ::eroom::cli::testing::ActiveAlerts;
using ::eroom::cli::testing::AlertHistory;
using ::eroom::cli::testing::AuditTrail;
using ::eroom::cli::testing::CpuMetrics;
using ::eroom::cli::testing::DrainingRestart;
using ::eroom::cli::testing::ErrorLogs;
using ::eroom::cli::testing::HousekeepingDone;
using ::eroom::cli::testing::kNowMs;
using ::eroom::cli::testing::RestartSteps;
using ::eroom::cli::testing::SucceededPing;
using ::eroom::cli::testing::TwoCommands;
using ::eroom::cli::testing::TwoHosts;
using ::eroom::cli::testing::TwoRules;
using ::eroom::cli::testing::TwoSilences;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;

constexpr char kKnownMetric[] = "host.cpu_percent";

// Whether the call carries the token the fakes take for a viewer's.
bool IsViewer(const grpc::ServerContext& context) {
  auto it = context.client_metadata().find("authorization");
  return it != context.client_metadata().end() && it->second == "Bearer viewer";
}

grpc::Status RefuseViewer() {
  return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                      "user 'vera' (viewer) may not call this method");
}

// Answers with canned responses and remembers what it was asked.
class FakeQueryService final : public v1::QueryService::Service {
 public:
  grpc::Status ListHosts(grpc::ServerContext* context,
                         const v1::ListHostsRequest*,
                         v1::ListHostsResponse* response) override {
    std::string authorization;
    if (auto it = context->client_metadata().find("authorization");
        it != context->client_metadata().end()) {
      authorization.assign(it->second.data(), it->second.size());
    }
    {
      absl::MutexLock lock(&mu_);
      authorizations_.push_back(authorization);
    }
    if (authorization == "Bearer wrong") {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "unknown token");
    }
    absl::MutexLock lock(&mu_);
    *response = hosts_;
    return grpc::Status::OK;
  }

  // Each FollowLogs call runs the next script given, in order.
  using FollowScript =
      std::function<grpc::Status(grpc::ServerWriter<v1::FollowLogsResponse>*)>;
  void AddFollowScript(FollowScript script) {
    absl::MutexLock lock(&mu_);
    follow_scripts_.push_back(std::move(script));
  }
  std::vector<v1::FollowLogsRequest> follow_requests() {
    absl::MutexLock lock(&mu_);
    return follow_requests_;
  }
  grpc::Status FollowLogs(
      grpc::ServerContext*, const v1::FollowLogsRequest* request,
      grpc::ServerWriter<v1::FollowLogsResponse>* writer) override {
    FollowScript script;
    {
      absl::MutexLock lock(&mu_);
      follow_requests_.push_back(*request);
      if (follow_scripts_.empty()) {
        return grpc::Status(grpc::StatusCode::INTERNAL, "no script left");
      }
      script = std::move(follow_scripts_.front());
      follow_scripts_.erase(follow_scripts_.begin());
    }
    return script(writer);
  }

  grpc::Status QueryLogs(grpc::ServerContext*,
                         const v1::QueryLogsRequest* request,
                         v1::QueryLogsResponse* response) override {
    absl::MutexLock lock(&mu_);
    logs_requests_.push_back(*request);
    if (request->agent_id().empty() || request->agent_id() == "a1b2c3") {
      *response = ErrorLogs();
    }
    // A page that others follow.
    if (request->limit() == 2) response->set_next_cursor("MTo1OjY");
    return grpc::Status::OK;
  }

  grpc::Status QueryMetrics(grpc::ServerContext*,
                            const v1::QueryMetricsRequest* request,
                            v1::QueryMetricsResponse* response) override {
    absl::MutexLock lock(&mu_);
    metrics_requests_.push_back(*request);
    if (auto known = metrics_.find(request->name()); known != metrics_.end()) {
      v1::MetricSeries* series = response->add_series();
      series->set_agent_id(request->agent_id());
      series->set_name(request->name());
      for (double value : known->second) {
        v1::MetricPoint* point = series->add_points();
        point->set_time_unix_ms(kNowMs);
        point->set_value(value);
      }
    } else if (request->name() == kKnownMetric) {
      *response = CpuMetrics();
    } else {
      response->add_known_names("host.cpu_percent");
      response->add_known_names("queue.queued");
    }
    return grpc::Status::OK;
  }

  grpc::Status ListAlerts(grpc::ServerContext*,
                          const v1::ListAlertsRequest* request,
                          v1::ListAlertsResponse* response) override {
    absl::MutexLock lock(&mu_);
    alerts_requests_.push_back(*request);
    *response = request->history() ? AlertHistory() : ActiveAlerts();
    return grpc::Status::OK;
  }

  grpc::Status AcknowledgeAlert(
      grpc::ServerContext* context, const v1::AcknowledgeAlertRequest* request,
      v1::AcknowledgeAlertResponse* response) override {
    if (IsViewer(*context)) return RefuseViewer();
    absl::MutexLock lock(&mu_);
    ack_requests_.push_back(*request);
    response->set_alert_id(request->alert_id());
    response->set_acknowledged_by("oscar");
    return grpc::Status::OK;
  }

  grpc::Status AddSilence(grpc::ServerContext* context,
                          const v1::AddSilenceRequest* request,
                          v1::SilenceRecord* response) override {
    if (IsViewer(*context)) return RefuseViewer();
    absl::MutexLock lock(&mu_);
    silence_requests_.push_back(*request);
    response->set_id(7);
    *response->mutable_matchers() = request->matchers();
    response->set_comment(request->comment());
    response->set_created_by("oscar");
    response->set_starts_unix_ms(kNowMs);
    response->set_ends_unix_ms(kNowMs + request->duration_ms());
    return grpc::Status::OK;
  }

  grpc::Status ListSilences(grpc::ServerContext*,
                            const v1::ListSilencesRequest* request,
                            v1::ListSilencesResponse* response) override {
    absl::MutexLock lock(&mu_);
    include_ended_.push_back(request->include_ended());
    *response = TwoSilences();
    return grpc::Status::OK;
  }

  grpc::Status ExpireSilence(grpc::ServerContext* context,
                             const v1::ExpireSilenceRequest* request,
                             v1::ExpireSilenceResponse* response) override {
    if (IsViewer(*context)) return RefuseViewer();
    if (request->silence_id() == 404) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND,
                          "no silence with id 404");
    }
    response->set_silence_id(request->silence_id());
    response->set_expired_by("oscar");
    return grpc::Status::OK;
  }

  grpc::Status ListRules(grpc::ServerContext*, const v1::ListRulesRequest*,
                         v1::ListRulesResponse* response) override {
    *response = TwoRules();
    return grpc::Status::OK;
  }

  std::vector<v1::ListAlertsRequest> alerts_requests() const {
    absl::MutexLock lock(&mu_);
    return alerts_requests_;
  }
  std::vector<v1::AcknowledgeAlertRequest> ack_requests() const {
    absl::MutexLock lock(&mu_);
    return ack_requests_;
  }
  std::vector<v1::AddSilenceRequest> silence_requests() const {
    absl::MutexLock lock(&mu_);
    return silence_requests_;
  }
  std::vector<bool> include_ended() const {
    absl::MutexLock lock(&mu_);
    return include_ended_;
  }

  // The "authorization" metadata of each ListHosts call ("" if none).
  std::vector<std::string> authorizations() const {
    absl::MutexLock lock(&mu_);
    return authorizations_;
  }
  std::vector<v1::QueryLogsRequest> logs_requests() const {
    absl::MutexLock lock(&mu_);
    return logs_requests_;
  }
  std::vector<v1::QueryMetricsRequest> metrics_requests() const {
    absl::MutexLock lock(&mu_);
    return metrics_requests_;
  }

  void set_hosts(v1::ListHostsResponse hosts) {
    absl::MutexLock lock(&mu_);
    hosts_ = std::move(hosts);
  }
  // Metric `name` has `values` for every host.
  void SetMetric(const std::string& name, std::vector<double> values) {
    absl::MutexLock lock(&mu_);
    metrics_[name] = std::move(values);
  }

 private:
  mutable absl::Mutex mu_;
  v1::ListHostsResponse hosts_ ABSL_GUARDED_BY(mu_) = TwoHosts();
  std::vector<std::string> authorizations_ ABSL_GUARDED_BY(mu_);
  std::vector<v1::QueryLogsRequest> logs_requests_ ABSL_GUARDED_BY(mu_);
  std::vector<FollowScript> follow_scripts_ ABSL_GUARDED_BY(mu_);
  std::vector<v1::FollowLogsRequest> follow_requests_ ABSL_GUARDED_BY(mu_);
  std::vector<v1::QueryMetricsRequest> metrics_requests_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::vector<double>> metrics_ ABSL_GUARDED_BY(mu_);
  std::vector<v1::ListAlertsRequest> alerts_requests_ ABSL_GUARDED_BY(mu_);
  std::vector<v1::AcknowledgeAlertRequest> ack_requests_ ABSL_GUARDED_BY(mu_);
  std::vector<v1::AddSilenceRequest> silence_requests_ ABSL_GUARDED_BY(mu_);
  std::vector<bool> include_ended_ ABSL_GUARDED_BY(mu_);
};

std::vector<v1::CommandProgress> SucceededSteps() {
  const v1::CommandRecord ping = SucceededPing();
  return {ping.progress().begin(), ping.progress().end()};
}

// Starts every command as SucceededPing()'s id and streams `steps`, or
// for an agent given steps of its own, as "cmd-<agent id>" streaming those;
// refuses the token "viewer" as the collector refuses viewers.
class FakeCommandService final : public v1::CommandService::Service {
 public:
  grpc::Status StartCommand(grpc::ServerContext* context,
                            const v1::StartCommandRequest* request,
                            v1::CommandRecord* response) override {
    if (IsViewer(*context)) return RefuseViewer();
    absl::MutexLock lock(&mu_);
    start_requests_.push_back(*request);
    if (auto refusal = refusals_.find(request->agent_id());
        refusal != refusals_.end()) {
      return refusal->second;
    }
    *response = SucceededPing();
    response->set_agent_id(request->agent_id());
    *response->mutable_command() = request->command();
    if (agent_steps_.contains(request->agent_id())) {
      response->set_command_id("cmd-" + request->agent_id());
    }
    response->mutable_command()->set_command_id(response->command_id());
    response->set_state(v1::COMMAND_STATE_UNSPECIFIED);
    response->clear_progress();
    return grpc::Status::OK;
  }

  grpc::Status WatchCommand(
      grpc::ServerContext*, const v1::WatchCommandRequest* request,
      grpc::ServerWriter<v1::CommandProgress>* writer) override {
    std::vector<v1::CommandProgress> steps;
    {
      absl::MutexLock lock(&mu_);
      watched_.push_back(request->command_id());
      steps = steps_;
      for (const auto& [agent_id, agent_steps] : agent_steps_) {
        if (request->command_id() == "cmd-" + agent_id) steps = agent_steps;
      }
    }
    for (const v1::CommandProgress& step : steps) writer->Write(step);
    return grpc::Status::OK;
  }

  grpc::Status ListCommands(grpc::ServerContext*,
                            const v1::ListCommandsRequest* request,
                            v1::ListCommandsResponse* response) override {
    absl::MutexLock lock(&mu_);
    list_requests_.push_back(*request);
    *response = commands_;
    return grpc::Status::OK;
  }

  grpc::Status CancelCommand(grpc::ServerContext* context,
                             const v1::CancelCommandRequest* request,
                             v1::CommandRecord* response) override {
    if (IsViewer(*context)) return RefuseViewer();
    absl::MutexLock lock(&mu_);
    canceled_.push_back(request->command_id());
    if (request->command_id() != "c0ffee09") {
      return grpc::Status(grpc::StatusCode::NOT_FOUND,
                          "no command with id " + request->command_id());
    }
    *response = DrainingRestart();
    return grpc::Status::OK;
  }

  grpc::Status ListAudit(grpc::ServerContext*,
                         const v1::ListAuditRequest* request,
                         v1::ListAuditResponse* response) override {
    absl::MutexLock lock(&mu_);
    audit_requests_.push_back(*request);
    *response = AuditTrail();
    return grpc::Status::OK;
  }

  void SetSteps(std::vector<v1::CommandProgress> steps) {
    absl::MutexLock lock(&mu_);
    steps_ = std::move(steps);
  }
  void SetAgentSteps(const std::string& agent_id,
                     std::vector<v1::CommandProgress> steps) {
    absl::MutexLock lock(&mu_);
    agent_steps_[agent_id] = std::move(steps);
  }
  // StartCommand on `agent_id` answers `refusal`.
  void Refuse(const std::string& agent_id, grpc::Status refusal) {
    absl::MutexLock lock(&mu_);
    refusals_[agent_id] = std::move(refusal);
  }
  void SetCommands(v1::ListCommandsResponse commands) {
    absl::MutexLock lock(&mu_);
    commands_ = std::move(commands);
  }
  std::vector<v1::StartCommandRequest> start_requests() const {
    absl::MutexLock lock(&mu_);
    return start_requests_;
  }
  // The agent ids StartCommand was asked to run a command on, in order.
  std::vector<std::string> started_on() const {
    absl::MutexLock lock(&mu_);
    std::vector<std::string> agents;
    for (const auto& request : start_requests_) {
      agents.push_back(request.agent_id());
    }
    return agents;
  }
  std::vector<std::string> watched() const {
    absl::MutexLock lock(&mu_);
    return watched_;
  }
  std::vector<v1::ListCommandsRequest> list_requests() const {
    absl::MutexLock lock(&mu_);
    return list_requests_;
  }
  std::vector<std::string> canceled() const {
    absl::MutexLock lock(&mu_);
    return canceled_;
  }
  std::vector<v1::ListAuditRequest> audit_requests() const {
    absl::MutexLock lock(&mu_);
    return audit_requests_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<v1::CommandProgress> steps_ ABSL_GUARDED_BY(mu_) =
      SucceededSteps();
  std::map<std::string, std::vector<v1::CommandProgress>> agent_steps_
      ABSL_GUARDED_BY(mu_);
  std::map<std::string, grpc::Status> refusals_ ABSL_GUARDED_BY(mu_);
  v1::ListCommandsResponse commands_ ABSL_GUARDED_BY(mu_) = TwoCommands();
  std::vector<v1::StartCommandRequest> start_requests_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> watched_ ABSL_GUARDED_BY(mu_);
  std::vector<v1::ListCommandsRequest> list_requests_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> canceled_ ABSL_GUARDED_BY(mu_);
  std::vector<v1::ListAuditRequest> audit_requests_ ABSL_GUARDED_BY(mu_);
};

class EroomctlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.started());
    address_ = server_.address();

    environment_ = CliEnvironment::Real();
    environment_.clock = &clock_;
    environment_.time_zone = absl::UTCTimeZone();
    environment_.getenv =
        [this](const std::string& name) -> std::optional<std::string> {
      auto it = env_.find(name);
      if (it == env_.end()) return std::nullopt;
      return it->second;
    };
    env_["EROOMCTL_COLLECTOR"] = address_;
    environment_.confirm =
        [this](const std::string& question) -> std::optional<bool> {
      questions_.push_back(question);
      return answer_;
    };
  }

  // Runs eroomctl against the fake, plaintext collector.
  int Run(std::vector<std::string> args) {
    args.insert(args.begin(), {"eroomctl", "--insecure"});
    std::vector<const char*> argv;
    for (const std::string& arg : args) argv.push_back(arg.c_str());
    out_.str("");
    err_.str("");
    return RunEroomctl(static_cast<int>(argv.size()), argv.data(), out_, err_,
                       environment_);
  }

  nlohmann::json OutputJson() { return nlohmann::json::parse(out_.str()); }

  // Keeps what eroomctl asks to run on Ctrl-C, for PressCtrlC.
  void CatchCtrlC() {
    environment_.on_interrupt = [this](std::function<void()> action) {
      ctrl_c_ = std::move(action);
    };
  }
  // Runs eroomctl's Ctrl-C action on the calling thread (a fake handler's):
  // a copy, alive until it returns, though it ends the command under test
  // and the test may then end at once.
  void PressCtrlC() {
    const std::function<void()> action = ctrl_c_;
    action();
  }

  FakeQueryService service_;
  FakeCommandService commands_;
  test_support::LoopbackGrpcServer server_{{&service_, &commands_}};
  std::string address_;
  FakeClock clock_{absl::FromUnixMillis(kNowMs)};
  std::map<std::string, std::string> env_;
  CliEnvironment environment_;
  std::ostringstream out_;
  std::ostringstream err_;
  // The operator's answer to a confirmation; nullopt: stdin is not a
  // terminal.
  std::optional<bool> answer_;
  std::vector<std::string> questions_;
  std::function<void()> ctrl_c_;
};

TEST_F(EroomctlTest, HostsTable) {
  ASSERT_EQ(Run({"hosts"}), 0) << err_.str();
  EXPECT_THAT(out_.str(), StartsWith("HOST "));
  EXPECT_THAT(out_.str(), HasSubstr("eroom-prod-1 (a1b2c3)  connected"));
  EXPECT_THAT(out_.str(), HasSubstr("down 3m"));
  EXPECT_EQ(err_.str(), "");
}

TEST_F(EroomctlTest, HostsJson) {
  ASSERT_EQ(Run({"hosts", "-o", "json"}), 0) << err_.str();
  const nlohmann::json json = OutputJson();
  ASSERT_EQ(json["hosts"].size(), 2u);
  EXPECT_EQ(json["hosts"][0]["agent_id"], "a1b2c3");
  EXPECT_EQ(json["hosts"][0]["hostname"], "eroom-prod-1");
  EXPECT_EQ(json["hosts"][0]["latest_queue"]["queue"]["queued"], "12");
  EXPECT_EQ(json["hosts"][1]["connected"], false);
}

TEST_F(EroomctlTest, FlagAddressBeatsEnvironment) {
  env_["EROOMCTL_COLLECTOR"] = "127.0.0.1:1";
  EXPECT_EQ(Run({"--collector", address_, "hosts"}), 0) << err_.str();
}

TEST_F(EroomctlTest, AddressFromConfigFile) {
  env_.erase("EROOMCTL_COLLECTOR");
  const test_support::TempDir dir;
  const std::filesystem::path path = dir.path() / "eroomctl_e2e.yaml";
  std::ofstream(path) << "collector: " << address_ << "\n";
  EXPECT_EQ(Run({"--config", path.string(), "hosts"}), 0) << err_.str();
}

TEST_F(EroomctlTest, SendsTheTokenAsBearerMetadata) {
  ASSERT_EQ(Run({"hosts"}), 0) << err_.str();
  env_["EROOMCTL_TOKEN"] = "from-env";
  ASSERT_EQ(Run({"hosts"}), 0) << err_.str();
  ASSERT_EQ(Run({"hosts", "--token", "from-flag"}), 0) << err_.str();
  EXPECT_THAT(
      service_.authorizations(),
      ::testing::ElementsAre("", "Bearer from-env", "Bearer from-flag"));
}

TEST_F(EroomctlTest, RefusedTokenSaysWhereTokensComeFrom) {
  EXPECT_EQ(Run({"hosts", "--token", "wrong"}), 1);
  EXPECT_THAT(err_.str(), HasSubstr("UNAUTHENTICATED: unknown token"));
  EXPECT_THAT(err_.str(), HasSubstr("check --token, EROOMCTL_TOKEN"));
}

TEST_F(EroomctlTest, BadConfigKeyIsAUsageError) {
  const test_support::TempDir dir;
  const std::filesystem::path path = dir.path() / "eroomctl_typo.yaml";
  std::ofstream(path) << "colector: " << address_ << "\n";
  EXPECT_EQ(Run({"--config", path.string(), "hosts"}), 2);
  EXPECT_THAT(err_.str(), HasSubstr(path.string()));
  EXPECT_THAT(err_.str(), HasSubstr("colector: unknown key"));
}

TEST_F(EroomctlTest, StatusOfEveryHostIsAJsonArray) {
  ASSERT_EQ(Run({"status", "-o", "json"}), 0) << err_.str();
  const nlohmann::json json = OutputJson();
  ASSERT_TRUE(json.is_array());
  ASSERT_EQ(json.size(), 2u);
  EXPECT_EQ(json[0]["host"]["agent_id"], "a1b2c3");
  EXPECT_EQ(json[0]["recent_errors"].size(), 2u);
  EXPECT_EQ(json[1]["host"]["agent_id"], "d4e5f6");
  EXPECT_TRUE(json[1]["recent_errors"].empty());

  const std::vector<v1::QueryLogsRequest> requests = service_.logs_requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].agent_id(), "a1b2c3");
  EXPECT_EQ(requests[0].min_level(), v1::ERROR);
  EXPECT_EQ(requests[0].limit(), 5);
  EXPECT_EQ(requests[1].agent_id(), "d4e5f6");
}

TEST_F(EroomctlTest, StatusOfOneHostByHostnameIsAJsonObject) {
  ASSERT_EQ(Run({"status", "eroom-prod-1", "-o", "json"}), 0) << err_.str();
  const nlohmann::json json = OutputJson();
  ASSERT_TRUE(json.is_object());
  EXPECT_EQ(json["host"]["agent_id"], "a1b2c3");
  EXPECT_EQ(json["recent_errors"][0]["event"]["event_type"], "room_failed");
}

TEST_F(EroomctlTest, StatusTableByAgentId) {
  ASSERT_EQ(Run({"status", "d4e5f6"}), 0) << err_.str();
  EXPECT_THAT(out_.str(), StartsWith("== eroom-prod-2 (d4e5f6) =="));
  EXPECT_THAT(out_.str(), HasSubstr("Last errors: none"));
}

TEST_F(EroomctlTest, UnknownHostExitsOneNamingKnownHosts) {
  EXPECT_EQ(Run({"status", "nope"}), 1);
  EXPECT_THAT(err_.str(), HasSubstr("host 'nope' not found"));
  EXPECT_THAT(err_.str(), HasSubstr("eroom-prod-1 (a1b2c3)"));
  EXPECT_EQ(Run({"logs", "--host", "nope"}), 1);
  EXPECT_EQ(Run({"queue", "nope"}), 1);
}

TEST_F(EroomctlTest, ErrorsNamingHostsShowControlCharactersEscaped) {
  v1::ListHostsResponse hosts = TwoHosts();
  hosts.mutable_hosts(0)->set_hostname("prod\x1b]0;pwned\x07");
  service_.set_hosts(hosts);
  EXPECT_EQ(Run({"status", "nope"}), 1);
  EXPECT_THAT(err_.str(), Not(HasSubstr("\x1b")));
  EXPECT_THAT(err_.str(), HasSubstr("prod\\x1b]0;pwned\\x07 (a1b2c3)"));
}

TEST_F(EroomctlTest, StatusWatchRedrawsUntilStopped) {
  int waits = 0;
  environment_.wait_before_refresh = [&](absl::Duration interval) {
    EXPECT_EQ(interval, absl::Seconds(5));
    clock_.Advance(interval);
    return ++waits < 3;
  };
  ASSERT_EQ(Run({"status", "--watch"}), 0) << err_.str();
  EXPECT_EQ(waits, 3);
  const std::string& text = out_.str();
  size_t clears = 0;
  for (size_t at = text.find("\x1b[H\x1b[2J"); at != std::string::npos;
       at = text.find("\x1b[H\x1b[2J", at + 1)) {
    ++clears;
  }
  EXPECT_EQ(clears, 3u);
  EXPECT_THAT(text, HasSubstr("2025-06-15 15:06:50"));
}

TEST_F(EroomctlTest, LogsSendsFiltersAndPrintsOldestFirst) {
  ASSERT_EQ(Run({"logs", "--host", "eroom-prod-1", "--level", "error", "--type",
                 "room_failed", "--grep", "오류", "--ruid",
                 "room_3f9a1c2b7d4e8f60", "--since", "1h", "--limit", "7"}),
            0)
      << err_.str();
  const std::vector<v1::QueryLogsRequest> requests = service_.logs_requests();
  ASSERT_EQ(requests.size(), 1u);
  const v1::QueryLogsRequest& request = requests[0];
  EXPECT_THAT(request.agent_ids(), ElementsAre("a1b2c3"));
  EXPECT_EQ(request.min_level(), v1::ERROR);
  EXPECT_THAT(request.event_types(), ElementsAre("room_failed"));
  EXPECT_EQ(request.contains(), "오류");
  EXPECT_EQ(request.ruid(), "room_3f9a1c2b7d4e8f60");
  EXPECT_EQ(request.since_unix_ms(), kNowMs - 3600 * 1000);
  EXPECT_EQ(request.limit(), 7);
  const std::string& text = out_.str();
  EXPECT_LT(text.find("15:05:50.000"), text.find("15:06:30.344"));
  // The whole event: its stack trace below its row.
  EXPECT_THAT(text, HasSubstr("ruid=room_3f9a1c2b7d4e8f60\n"
                              "    java.lang.RuntimeException: boom\n"
                              "        at c.f.e.Foo.bar(Foo.java:12)\n"));
  EXPECT_THAT(err_.str(), IsEmpty());  // The only page.
}

TEST_F(EroomctlTest, LogsFiltersThatCombine) {
  ASSERT_EQ(Run({"logs", "--host", "eroom-prod-1", "--host", "d4e5f6", "--type",
                 "room_failed", "--type", "model_failed", "--regex",
                 "code: \\d+", "--until", "2025-06-15T15:00:00Z", "--before",
                 "MTo1OjY", "--context", "3", "--brief"}),
            0)
      << err_.str();
  const std::vector<v1::QueryLogsRequest> requests = service_.logs_requests();
  ASSERT_EQ(requests.size(), 1u);
  const v1::QueryLogsRequest& request = requests[0];
  EXPECT_THAT(request.agent_ids(), ElementsAre("a1b2c3", "d4e5f6"));
  EXPECT_THAT(request.event_types(),
              ElementsAre("room_failed", "model_failed"));
  EXPECT_EQ(request.regex(), "code: \\d+");
  EXPECT_EQ(request.until_unix_ms(), 1749999600000);
  EXPECT_EQ(request.before_cursor(), "MTo1OjY");
  EXPECT_EQ(request.context(), 3);
  // Brief: the first line, and how many more; hits marked as with context.
  EXPECT_THAT(out_.str(), HasSubstr("ruid=room_3f9a1c2b7d4e8f60 \u2026 2 more "
                                    "lines\n"));
  EXPECT_THAT(out_.str(), Not(HasSubstr("java.lang.RuntimeException")));
  EXPECT_THAT(out_.str(), HasSubstr("\n>  2025-06-15 15:05:50.000"));
}

TEST_F(EroomctlTest, AFullPageSaysHowToGetTheNextOnStderr) {
  ASSERT_EQ(Run({"logs", "--limit", "2", "--grep", "it's", "--before", "x"}), 0)
      << err_.str();
  EXPECT_EQ(err_.str(),
            "more: eroomctl --insecure logs --limit 2 --grep 'it'\\''s' "
            "--before MTo1OjY\n");
  EXPECT_THAT(out_.str(), Not(HasSubstr("more:")));
  ASSERT_EQ(Run({"-o", "json", "logs", "--limit", "2"}), 0) << err_.str();
  EXPECT_EQ(OutputJson()["next_cursor"], "MTo1OjY");
  EXPECT_THAT(err_.str(), IsEmpty());
}

v1::StoredLogEvent Followed(const std::string& agent_id, uint64_t sequence,
                            int64_t received_unix_ms) {
  v1::StoredLogEvent event;
  event.set_agent_id(agent_id);
  event.set_sequence(sequence);
  event.set_received_unix_ms(received_unix_ms);
  event.mutable_event()->set_level(v1::ERROR);
  event.mutable_event()->set_message(
      absl::StrCat("event ", agent_id, sequence));
  return event;
}

TEST_F(EroomctlTest, LogsFollowResumesAfterALostCollectorPrintingEachOnce) {
  CatchCtrlC();
  service_.AddFollowScript([](grpc::ServerWriter<v1::FollowLogsResponse>* w) {
    v1::FollowLogsResponse backlog;
    *backlog.add_events() = Followed("a", 1, kNowMs - 5000);
    *backlog.add_events() = Followed("a", 2, kNowMs - 4000);
    w->Write(backlog);
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "collector stopping");
  });
  service_.AddFollowScript([&](grpc::ServerWriter<v1::FollowLogsResponse>* w) {
    v1::FollowLogsResponse resumed;
    *resumed.add_events() = Followed("a", 2, kNowMs - 4000);
    *resumed.add_events() = Followed("b", 7, kNowMs - 3000);
    *resumed.add_events() = Followed("a", 3, kNowMs - 2000);
    w->Write(resumed);
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "collector killed");
  });
  service_.AddFollowScript([&](grpc::ServerWriter<v1::FollowLogsResponse>*) {
    PressCtrlC();
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "connection refused");
  });
  ASSERT_EQ(Run({"-o", "json", "logs", "-f", "--level", "error"}), 0)
      << err_.str();

  const std::vector<v1::FollowLogsRequest> requests =
      service_.follow_requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].filter().min_level(), v1::ERROR);
  EXPECT_EQ(requests[0].filter().limit(), 100);
  EXPECT_TRUE(requests[0].resume_after().empty());
  EXPECT_EQ(requests[0].resume_received_unix_ms(), 0);
  EXPECT_EQ(requests[1].filter().min_level(), v1::ERROR);
  ASSERT_EQ(requests[1].resume_after_size(), 1);
  EXPECT_EQ(requests[1].resume_after(0).agent_id(), "a");
  EXPECT_EQ(requests[1].resume_after(0).sequence(), 2u);
  // A minute before the newest event printed.
  EXPECT_EQ(requests[1].resume_received_unix_ms(), kNowMs - 4000 - 60000);
  ASSERT_EQ(requests[2].resume_after_size(), 2);
  EXPECT_EQ(requests[2].resume_after(0).agent_id(), "a");
  EXPECT_EQ(requests[2].resume_after(0).sequence(), 3u);
  EXPECT_EQ(requests[2].resume_after(1).agent_id(), "b");
  EXPECT_EQ(requests[2].resume_after(1).sequence(), 7u);
  EXPECT_EQ(requests[2].resume_received_unix_ms(), kNowMs - 2000 - 60000);
  std::vector<std::string> printed;
  for (absl::string_view line : absl::StrSplit(out_.str(), '\n')) {
    if (line.empty()) continue;
    nlohmann::json event = nlohmann::json::parse(line);
    printed.push_back(event["event"]["message"]);
  }
  EXPECT_THAT(printed, ::testing::ElementsAre("event a1", "event a2",
                                              "event b7", "event a3"));
  // Said once, however often the collector went away.
  EXPECT_THAT(err_.str(), HasSubstr("lost the collector"));
  EXPECT_EQ(err_.str().find("lost"), err_.str().rfind("lost"));
}

TEST_F(EroomctlTest, LogsFollowSendsSeveralHostsTypesAndTheRegex) {
  CatchCtrlC();
  service_.AddFollowScript([&](grpc::ServerWriter<v1::FollowLogsResponse>* w) {
    v1::FollowLogsResponse backlog;
    *backlog.add_events() = Followed("a1b2c3", 1, kNowMs - 5000);
    w->Write(backlog);
    // The client reads what was written before the call's end.
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "collector stopping");
  });
  service_.AddFollowScript([&](grpc::ServerWriter<v1::FollowLogsResponse>*) {
    PressCtrlC();
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "collector stopping");
  });
  ASSERT_EQ(
      Run({"logs", "-f", "--host", "eroom-prod-1", "--host", "d4e5f6", "--type",
           "room_failed", "--type", "error", "--regex", "FAILED|5\\d\\d"}),
      0)
      << err_.str();
  const std::vector<v1::FollowLogsRequest> requests =
      service_.follow_requests();
  ASSERT_EQ(requests.size(), 2u);
  const v1::QueryLogsRequest& filter = requests[0].filter();
  EXPECT_THAT(filter.agent_ids(), ElementsAre("a1b2c3", "d4e5f6"));
  EXPECT_THAT(filter.event_types(), ElementsAre("room_failed", "error"));
  EXPECT_EQ(filter.regex(), "FAILED|5\\d\\d");
  EXPECT_THAT(out_.str(), HasSubstr("event a1b2c31"));
}

TEST_F(EroomctlTest, LogsJsonKeepsTheCollectorsOrder) {
  ASSERT_EQ(Run({"logs", "-o", "json"}), 0) << err_.str();
  const nlohmann::json json = OutputJson();
  ASSERT_EQ(json["events"].size(), 2u);
  EXPECT_EQ(json["events"][0]["sequence"], "4700");
  EXPECT_EQ(json["events"][0]["agent_id"], "a1b2c3");
}

TEST_F(EroomctlTest, MetricsTableWithSummary) {
  ASSERT_EQ(
      Run({"metrics", kKnownMetric, "--host", "a1b2c3", "--since", "30m"}), 0)
      << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("min 10.0%  avg 20.0%  max 30.0%"));
  const std::vector<v1::QueryMetricsRequest> requests =
      service_.metrics_requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].agent_id(), "a1b2c3");
  EXPECT_EQ(requests[0].since_unix_ms(), kNowMs - 30 * 60 * 1000);
}

TEST_F(EroomctlTest, MetricsJson) {
  ASSERT_EQ(Run({"metrics", kKnownMetric, "-o", "json"}), 0) << err_.str();
  const nlohmann::json json = OutputJson();
  EXPECT_EQ(json["series"][0]["name"], kKnownMetric);
  EXPECT_EQ(json["series"][0]["points"].size(), 3u);
  EXPECT_TRUE(json["known_names"].empty());
}

TEST_F(EroomctlTest, UnknownMetricExitsOneListingKnownNames) {
  EXPECT_EQ(Run({"metrics", "cpu"}), 1);
  EXPECT_THAT(err_.str(), HasSubstr("unknown metric 'cpu'"));
  EXPECT_THAT(err_.str(), HasSubstr("host.cpu_percent, queue.queued"));
  EXPECT_EQ(out_.str(), "");
}

TEST_F(EroomctlTest, QueueTableAndJson) {
  ASSERT_EQ(Run({"queue"}), 0) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("BACKLOG"));
  ASSERT_EQ(Run({"queue", "eroom-prod-2", "-o", "json"}), 0) << err_.str();
  const nlohmann::json json = OutputJson();
  ASSERT_EQ(json["hosts"].size(), 1u);
  EXPECT_EQ(json["hosts"][0]["agent_id"], "d4e5f6");
}

TEST_F(EroomctlTest, UsageErrorExitsTwoWithoutCallingTheCollector) {
  EXPECT_EQ(Run({"logs", "--since", "whenever"}), 2);
  EXPECT_THAT(err_.str(), HasSubstr("--since"));
  EXPECT_TRUE(service_.logs_requests().empty());
  EXPECT_EQ(Run({"hosts", "--frobnicate"}), 2);
  EXPECT_EQ(Run({"-o", "xml", "hosts"}), 2);
}

TEST_F(EroomctlTest, PingPrintsEachStepAndSucceeds) {
  ASSERT_EQ(Run({"ping", "eroom-prod-1"}), 0) << err_.str();
  ASSERT_EQ(commands_.start_requests().size(), 1u);
  EXPECT_EQ(commands_.start_requests()[0].agent_id(), "a1b2c3");
  EXPECT_TRUE(commands_.start_requests()[0].command().has_ping());
  EXPECT_THAT(commands_.watched(), ::testing::ElementsAre("c0ffee01"));
  EXPECT_EQ(out_.str(),
            "ping a1b2c3: command c0ffee01\n"
            "+3 ms    ACCEPTED\n"
            "+5 ms    SUCCEEDED pong\n");
  EXPECT_EQ(err_.str(), "");
}

TEST_F(EroomctlTest, PingJsonPrintsTheFinalRecord) {
  ASSERT_EQ(Run({"ping", "a1b2c3", "-o", "json"}), 0) << err_.str();
  const nlohmann::json json = OutputJson();
  EXPECT_EQ(json["command_id"], "c0ffee01");
  EXPECT_EQ(json["state"], "SUCCEEDED");
  ASSERT_EQ(json["progress"].size(), 2u);
  EXPECT_EQ(json["progress"][1]["message"], "pong");
}

TEST_F(EroomctlTest, PingThatDoesNotSucceedExitsOneSayingHowItEnded) {
  v1::CommandProgress rejected;
  rejected.set_command_id("c0ffee01");
  rejected.set_state(v1::REJECTED);
  rejected.set_message("\x1b[31mping is not allowed");
  commands_.SetSteps({rejected});
  EXPECT_EQ(Run({"ping", "a1b2c3"}), 1);
  EXPECT_THAT(out_.str(), HasSubstr("REJECTED"));
  EXPECT_THAT(err_.str(), HasSubstr("ended REJECTED"));
  EXPECT_THAT(err_.str(), HasSubstr("ping is not allowed"));
  EXPECT_THAT(out_.str() + err_.str(), Not(HasSubstr("\x1b")));
}

TEST_F(EroomctlTest, PingWithoutAnswerExitsOne) {
  commands_.SetSteps({});
  EXPECT_EQ(Run({"ping", "a1b2c3"}), 1);
  EXPECT_THAT(err_.str(), HasSubstr("without an answer"));
}

TEST_F(EroomctlTest, PingRefusedToAViewerExitsOne) {
  EXPECT_EQ(Run({"ping", "a1b2c3", "--token", "viewer"}), 1);
  EXPECT_THAT(err_.str(), HasSubstr("PERMISSION_DENIED"));
  EXPECT_TRUE(commands_.watched().empty());
}

TEST_F(EroomctlTest, PingNeedsAHost) {
  EXPECT_EQ(Run({"ping"}), 2);
  EXPECT_TRUE(commands_.start_requests().empty());
}

TEST_F(EroomctlTest, CommandsTableAndJson) {
  ASSERT_EQ(Run({"commands"}), 0) << err_.str();
  EXPECT_THAT(out_.str(), StartsWith("COMMAND "));
  EXPECT_THAT(out_.str(), HasSubstr("log_housekeeping"));
  ASSERT_EQ(Run({"commands", "eroom-prod-1", "--limit", "5", "-o", "json"}), 0)
      << err_.str();
  EXPECT_EQ(OutputJson()["commands"].size(), 2u);
  ASSERT_EQ(commands_.list_requests().size(), 2u);
  EXPECT_EQ(commands_.list_requests()[0].agent_id(), "");
  EXPECT_EQ(commands_.list_requests()[0].limit(), 0);
  EXPECT_EQ(commands_.list_requests()[1].agent_id(), "a1b2c3");
  EXPECT_EQ(commands_.list_requests()[1].limit(), 5);
}

TEST_F(EroomctlTest, AlertsTableEscapesWhatTheCollectorSent) {
  ASSERT_EQ(Run({"alerts"}), 0) << err_.str();
  EXPECT_THAT(out_.str(), StartsWith("ID  RULE "));
  EXPECT_THAT(out_.str(), HasSubstr("firing, acked by alice"));
  EXPECT_THAT(out_.str(), HasSubstr("\\x1b[31m/data"));
  EXPECT_THAT(out_.str(), Not(HasSubstr("\x1b")));
  ASSERT_EQ(service_.alerts_requests().size(), 1u);
  EXPECT_FALSE(service_.alerts_requests()[0].history());
  EXPECT_EQ(service_.alerts_requests()[0].agent_id(), "");
}

TEST_F(EroomctlTest, AlertsOfOneHostAsExactJson) {
  ASSERT_EQ(Run({"alerts", "--host", "eroom-prod-1", "-o", "json"}), 0)
      << err_.str();
  EXPECT_EQ(service_.alerts_requests().at(0).agent_id(), "a1b2c3");
  const nlohmann::json json = OutputJson();
  ASSERT_EQ(json["alerts"].size(), 2u);
  EXPECT_EQ(json["alerts"][0]["id"], "12");
  EXPECT_EQ(json["alerts"][0]["severity"], "SEVERITY_CRITICAL");
  EXPECT_EQ(json["alerts"][0]["state"], "ALERT_FIRING");
  EXPECT_EQ(json["alerts"][1]["summary"], "\x1b[31m/data 93.5% used");
}

TEST_F(EroomctlTest, AlertHistorySinceADayByDefault) {
  ASSERT_EQ(Run({"alerts", "--history"}), 0) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("firing (host down)"));
  ASSERT_EQ(Run({"alerts", "--history", "--since", "1h", "--limit", "5"}), 0)
      << err_.str();
  const std::vector<v1::ListAlertsRequest> requests =
      service_.alerts_requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_TRUE(requests[0].history());
  EXPECT_EQ(requests[0].since_unix_ms(), kNowMs - 24 * 3600 * 1000);
  EXPECT_EQ(requests[0].limit(), 0);
  EXPECT_EQ(requests[1].since_unix_ms(), kNowMs - 3600 * 1000);
  EXPECT_EQ(requests[1].limit(), 5);
}

TEST_F(EroomctlTest, AlertsSinceWithoutHistoryIsAUsageError) {
  EXPECT_EQ(Run({"alerts", "--since", "1h"}), 2);
  EXPECT_TRUE(service_.alerts_requests().empty());
}

TEST_F(EroomctlTest, AcknowledgeSendsTheComment) {
  ASSERT_EQ(Run({"alerts", "ack", "12", "--comment", "restarting ERoom"}), 0)
      << err_.str();
  EXPECT_EQ(out_.str(),
            "alert 12 acknowledged by oscar: no repeated notifications until "
            "it resolves\n");
  ASSERT_EQ(service_.ack_requests().size(), 1u);
  EXPECT_EQ(service_.ack_requests()[0].alert_id(), 12);
  EXPECT_EQ(service_.ack_requests()[0].comment(), "restarting ERoom");
  ASSERT_EQ(Run({"alerts", "ack", "12", "--comment", "x", "-o", "json"}), 0)
      << err_.str();
  EXPECT_EQ(OutputJson()["acknowledged_by"], "oscar");
}

TEST_F(EroomctlTest, AcknowledgeNeedsACommentAnIdAndAnOperator) {
  EXPECT_EQ(Run({"alerts", "ack", "12"}), 2);
  EXPECT_EQ(Run({"alerts", "ack", "--comment", "x"}), 2);
  EXPECT_EQ(Run({"alerts", "ack", "0", "--comment", "x"}), 2);
  EXPECT_TRUE(service_.ack_requests().empty());
  EXPECT_EQ(Run({"alerts", "ack", "12", "--comment", "x", "--token", "viewer"}),
            1);
  EXPECT_THAT(err_.str(), HasSubstr("PERMISSION_DENIED"));
}

TEST_F(EroomctlTest, SilenceAddSendsMatchersDurationAndComment) {
  ASSERT_EQ(Run({"silence", "add", "host=eroom-prod-1", "alertname=~disk.*",
                 "--for", "2h", "--comment", "disk swap"}),
            0)
      << err_.str();
  EXPECT_EQ(out_.str(),
            "silence 7 until 2025-06-15 17:06:40.000: host=eroom-prod-1 "
            "alertname=~disk.*\n");
  ASSERT_EQ(Run({"silence", "add", "severity!=info", "--for", "1d", "--comment",
                 "noisy", "-o", "json"}),
            0)
      << err_.str();
  EXPECT_EQ(OutputJson()["id"], "7");
  const std::vector<v1::AddSilenceRequest> requests =
      service_.silence_requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_THAT(requests[0].matchers(),
              ::testing::ElementsAre("host=eroom-prod-1", "alertname=~disk.*"));
  EXPECT_EQ(requests[0].duration_ms(), 2 * 3600 * 1000);
  EXPECT_EQ(requests[0].comment(), "disk swap");
  EXPECT_EQ(requests[1].duration_ms(), 24 * 3600 * 1000);
}

TEST_F(EroomctlTest, SilenceAddRefusesWhatCannotBeASilence) {
  EXPECT_EQ(Run({"silence", "add", "host=x", "--for", "0s", "--comment", "x"}),
            2);
  EXPECT_THAT(err_.str(), HasSubstr("--for"));
  EXPECT_EQ(
      Run({"silence", "add", "host=x", "--for", "soon", "--comment", "x"}), 2);
  EXPECT_EQ(Run({"silence", "add", "host=x", "--for", "1h"}), 2);
  EXPECT_EQ(Run({"silence", "add", "--for", "1h", "--comment", "x"}), 2);
  EXPECT_EQ(Run({"silence"}), 2);
  EXPECT_TRUE(service_.silence_requests().empty());
}

TEST_F(EroomctlTest, SilenceListAndExpire) {
  ASSERT_EQ(Run({"silence", "list"}), 0) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("host=eroom-prod-1 alertname=~disk.*"));
  ASSERT_EQ(Run({"silence", "list", "--all", "-o", "json"}), 0) << err_.str();
  EXPECT_EQ(OutputJson()["silences"].size(), 2u);
  EXPECT_THAT(service_.include_ended(), ::testing::ElementsAre(false, true));

  ASSERT_EQ(Run({"silence", "expire", "7"}), 0) << err_.str();
  EXPECT_EQ(out_.str(), "silence 7 expired by oscar\n");
  EXPECT_EQ(Run({"silence", "expire", "404"}), 1);
  EXPECT_THAT(err_.str(), HasSubstr("no silence with id 404"));
  EXPECT_EQ(Run({"silence", "expire", "7", "--token", "viewer"}), 1);
}

TEST_F(EroomctlTest, RulesTableAndJson) {
  ASSERT_EQ(Run({"rules"}), 0) << err_.str();
  EXPECT_THAT(out_.str(), StartsWith("RULE "));
  EXPECT_THAT(out_.str(), HasSubstr("a1b2c3 firing"));
  ASSERT_EQ(Run({"rules", "-o", "json"}), 0) << err_.str();
  const nlohmann::json json = OutputJson();
  ASSERT_EQ(json["rules"].size(), 2u);
  EXPECT_EQ(json["rules"][1]["last_error"], "no events yet");
}

TEST_F(EroomctlTest, HostsAndStatusShowFiringAlerts) {
  v1::ListHostsResponse hosts = TwoHosts();
  *hosts.mutable_hosts(0)->add_firing_alerts() = ActiveAlerts().alerts(0);
  service_.set_hosts(hosts);
  ASSERT_EQ(Run({"hosts"}), 0) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("1 critical"));
  ASSERT_EQ(Run({"status", "eroom-prod-1"}), 0) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("Alerts  critical health_down for 5m"));
  ASSERT_EQ(Run({"status", "eroom-prod-1", "-o", "json"}), 0) << err_.str();
  EXPECT_EQ(OutputJson()["host"]["firing_alerts"][0]["rule"], "health_down");
}

// A restart that stops ERoom, then fails to start it again; its message and
// log excerpt try to drive the terminal.
std::vector<v1::CommandProgress> FailedAtStart() {
  std::vector<v1::CommandProgress> steps = RestartSteps();
  steps.resize(4);  // Up to "stop".
  v1::CommandProgress failed;
  failed.set_state(v1::FAILED);
  failed.set_step("start");
  failed.set_message("scripts/start.sh exited 1\x1b[2J");
  failed.set_time_unix_ms(1749999955000);
  failed.add_log_excerpt("2025-06-15 15:05:59.100 INFO Starting ERoom");
  failed.add_log_excerpt(
      "2025-06-15 15:06:00.200 ERROR Port 8080 in use\x1b]0;pwned\x07");
  steps.push_back(failed);
  return steps;
}

// Listed out of order: prod-2 and staging-1 first. prod-1 and prod-2 are
// env=prod, prod-2 also role=batch; staging-1 env=staging.
v1::ListHostsResponse ThreeHosts() {
  const v1::ListHostsResponse two = TwoHosts();
  v1::ListHostsResponse hosts;
  v1::HostStatus* prod2 = hosts.add_hosts();
  *prod2 = two.hosts(1);
  (*prod2->mutable_labels())["env"] = "prod";
  (*prod2->mutable_labels())["role"] = "batch";
  v1::HostStatus* staging = hosts.add_hosts();
  *staging = two.hosts(0);
  staging->set_agent_id("g7h8i9");
  staging->set_hostname("eroom-staging-1");
  (*staging->mutable_labels())["env"] = "staging";
  *hosts.add_hosts() = two.hosts(0);
  return hosts;
}

TEST_F(EroomctlTest, RestartShowsEachStepWithItsElapsedTimeAndSucceeds) {
  commands_.SetAgentSteps("a1b2c3", RestartSteps());
  ASSERT_EQ(Run({"restart", "eroom-prod-1", "--yes"}), 0) << err_.str();
  EXPECT_EQ(out_.str(),
            "restart eroom-prod-1 (a1b2c3): command cmd-a1b2c3\n"
            "[  0.0s]           ACCEPTED\n"
            "[  0.1s] queue     RUNNING  active 1, queued 0\n"
            "[ 12.3s] drain     RUNNING  drained\n"
            "[ 13.0s] stop      RUNNING  stopped pid 4242\n"
            "[ 14.0s] start     RUNNING  started\n"
            "[ 18.5s] health    SUCCEEDED healthy, port listening\n");
  EXPECT_EQ(err_.str(), "");
  EXPECT_TRUE(questions_.empty());
  ASSERT_EQ(commands_.start_requests().size(), 1u);
  const v1::StartCommandRequest request = commands_.start_requests()[0];
  EXPECT_EQ(request.agent_id(), "a1b2c3");
  ASSERT_TRUE(request.command().has_safe_restart());
  EXPECT_EQ(request.command().safe_restart().drain_timeout_ms(), 600000);
  EXPECT_FALSE(request.command().safe_restart().force());
  EXPECT_THAT(commands_.watched(), ::testing::ElementsAre("cmd-a1b2c3"));
}

TEST_F(EroomctlTest, RestartSendsTheDrainTimeoutAndForce) {
  ASSERT_EQ(
      Run({"restart", "a1b2c3", "--drain-timeout", "2m", "--force", "--yes"}),
      0)
      << err_.str();
  ASSERT_EQ(commands_.start_requests().size(), 1u);
  const v1::SafeRestart restart =
      commands_.start_requests()[0].command().safe_restart();
  EXPECT_EQ(restart.drain_timeout_ms(), 120000);
  EXPECT_TRUE(restart.force());
}

TEST_F(EroomctlTest, RestartArgumentsOutsideTheirRangeAreUsageErrors) {
  EXPECT_EQ(Run({"restart", "a1b2c3", "--drain-timeout", "0s", "--yes"}), 2);
  EXPECT_THAT(err_.str(), HasSubstr("--drain-timeout"));
  EXPECT_EQ(Run({"restart", "a1b2c3", "--drain-timeout", "2h", "--yes"}), 2);
  EXPECT_EQ(Run({"restart", "--yes"}), 2);
  EXPECT_THAT(err_.str(), HasSubstr("exactly one of HOST, --all or --label"));
  EXPECT_EQ(Run({"restart", "a1b2c3", "--all", "--yes"}), 2);
  EXPECT_EQ(Run({"restart", "--all", "--label", "env=prod", "--yes"}), 2);
  EXPECT_EQ(Run({"restart", "--label", "env=prod", "a1b2c3", "--yes"}), 2);
  EXPECT_EQ(Run({"restart", "--label", "env", "--yes"}), 2);
  EXPECT_THAT(err_.str(), HasSubstr("KEY=VALUE"));
  EXPECT_TRUE(commands_.start_requests().empty());
}

TEST_F(EroomctlTest, RestartFailureShowsTheStepItsMessageAndTheLogExcerpt) {
  commands_.SetAgentSteps("a1b2c3", FailedAtStart());
  EXPECT_EQ(Run({"restart", "a1b2c3", "--yes"}), 1);
  EXPECT_THAT(out_.str(),
              HasSubstr("[ 15.0s] start     FAILED   scripts/start.sh exited "
                        "1\\x1b[2J\n"
                        "failed at step start: scripts/start.sh exited "
                        "1\\x1b[2J\n"
                        "ERoom log around the failure:\n"
                        "  2025-06-15 15:05:59.100 INFO Starting ERoom\n"
                        "  2025-06-15 15:06:00.200 ERROR Port 8080 in "
                        "use\\x1b]0;pwned\\x07\n"));
  EXPECT_THAT(err_.str(),
              HasSubstr("restart of host 'a1b2c3' ended FAILED: [start] "
                        "scripts/start.sh exited 1\\x1b[2J"));
  EXPECT_THAT(out_.str() + err_.str(), Not(HasSubstr("\x1b")));
  EXPECT_THAT(out_.str() + err_.str(), Not(HasSubstr("\x07")));
}

TEST_F(EroomctlTest, RestartOfABusyHostNamesTheRunningCommand) {
  commands_.Refuse("a1b2c3",
                   grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                                "command 'c0ffee09' is still running on host "
                                "'a1b2c3'"));
  v1::ListCommandsResponse recent = TwoCommands();
  *recent.add_commands() = DrainingRestart();
  commands_.SetCommands(recent);
  EXPECT_EQ(Run({"restart", "a1b2c3", "--yes"}), 1);
  EXPECT_THAT(err_.str(), HasSubstr("FAILED_PRECONDITION"));
  EXPECT_THAT(err_.str(),
              HasSubstr("running: command c0ffee09 (safe_restart on a1b2c3, "
                        "requested by alice): RUNNING [drain] active 1, "
                        "queued 0"));
  EXPECT_EQ(commands_.list_requests().at(0).agent_id(), "a1b2c3");
  EXPECT_TRUE(commands_.watched().empty());
  EXPECT_EQ(out_.str(), "");
}

TEST_F(EroomctlTest, RestartOffATerminalNeedsYes) {
  EXPECT_EQ(Run({"restart", "a1b2c3"}), 1);
  EXPECT_THAT(err_.str(), HasSubstr("stdin is not a terminal"));
  EXPECT_THAT(err_.str(), HasSubstr("--yes"));
  EXPECT_TRUE(commands_.start_requests().empty());
}

TEST_F(EroomctlTest, RestartAsksOnATerminal) {
  answer_ = false;
  EXPECT_EQ(Run({"restart", "eroom-prod-1"}), 1);
  EXPECT_THAT(err_.str(), HasSubstr("not confirmed"));
  EXPECT_TRUE(commands_.start_requests().empty());
  ASSERT_EQ(questions_.size(), 1u);
  EXPECT_EQ(questions_[0],
            "Restart ERoom on eroom-prod-1 (a1b2c3)? Running rooms are waited "
            "for up to 10m; if they do not end, nothing is restarted.");

  answer_ = true;
  EXPECT_EQ(Run({"restart", "eroom-prod-1", "--force"}), 0) << err_.str();
  EXPECT_THAT(questions_[1], HasSubstr("then it restarts anyway"));
  EXPECT_EQ(commands_.start_requests().size(), 1u);
}

TEST_F(EroomctlTest, RestartJsonPrintsTheFinalRecord) {
  commands_.SetAgentSteps("a1b2c3", FailedAtStart());
  EXPECT_EQ(Run({"restart", "a1b2c3", "--yes", "-o", "json"}), 1);
  const nlohmann::json json = OutputJson();
  ASSERT_TRUE(json.is_object());
  EXPECT_EQ(json["command_id"], "cmd-a1b2c3");
  EXPECT_EQ(json["state"], "FAILED");
  EXPECT_EQ(json["command"]["safe_restart"]["drain_timeout_ms"], "600000");
  ASSERT_EQ(json["progress"].size(), 5u);
  EXPECT_EQ(json["progress"][4]["step"], "start");
  EXPECT_EQ(json["progress"][4]["log_excerpt"].size(), 2u);
}

TEST_F(EroomctlTest, RollingRestartStopsAtTheFirstFailure) {
  service_.set_hosts(ThreeHosts());
  commands_.SetAgentSteps("a1b2c3", RestartSteps());
  commands_.SetAgentSteps("d4e5f6", FailedAtStart());
  EXPECT_EQ(Run({"restart", "--all", "--yes"}), 1);
  // One at a time in hostname order, and staging-1 is never asked.
  EXPECT_THAT(commands_.started_on(),
              ::testing::ElementsAre("a1b2c3", "d4e5f6"));
  EXPECT_THAT(commands_.watched(),
              ::testing::ElementsAre("cmd-a1b2c3", "cmd-d4e5f6"));
  EXPECT_THAT(out_.str(),
              StartsWith("[1/3] restart eroom-prod-1 (a1b2c3): command "
                         "cmd-a1b2c3\n"));
  EXPECT_THAT(out_.str(),
              HasSubstr("\n[2/3] restart eroom-prod-2 (d4e5f6): command "
                        "cmd-d4e5f6\n"));
  EXPECT_THAT(out_.str(), HasSubstr("failed at step start"));
  const std::string summary =
      "restarted: eroom-prod-1 (a1b2c3); failed: eroom-prod-2 (d4e5f6); not "
      "attempted: eroom-staging-1 (g7h8i9)";
  EXPECT_THAT(out_.str(), HasSubstr("\n" + summary + "\n"));
  EXPECT_THAT(err_.str(), HasSubstr(summary));
  EXPECT_THAT(err_.str(), HasSubstr("ended FAILED: [start]"));
}

TEST_F(EroomctlTest, RollingRestartAsksOnceNamingEveryHost) {
  service_.set_hosts(ThreeHosts());
  answer_ = true;
  ASSERT_EQ(Run({"restart", "--all"}), 0) << err_.str();
  ASSERT_EQ(questions_.size(), 1u);
  EXPECT_THAT(questions_[0],
              StartsWith("Restart ERoom on 3 hosts, one at a time: "
                         "eroom-prod-1 (a1b2c3), eroom-prod-2 (d4e5f6), "
                         "eroom-staging-1 (g7h8i9)?"));
  EXPECT_THAT(commands_.started_on(),
              ::testing::ElementsAre("a1b2c3", "d4e5f6", "g7h8i9"));
  EXPECT_THAT(out_.str(), HasSubstr("\nrestarted 3 hosts: "));
}

TEST_F(EroomctlTest, RollingRestartCountsAHostWithoutAStreamAsAFailure) {
  service_.set_hosts(ThreeHosts());
  commands_.Refuse("a1b2c3",
                   grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                "host 'a1b2c3' has no live agent stream (not "
                                "connected)"));
  EXPECT_EQ(Run({"restart", "--all", "--yes"}), 1);
  EXPECT_THAT(commands_.started_on(), ::testing::ElementsAre("a1b2c3"));
  EXPECT_TRUE(commands_.watched().empty());
  EXPECT_THAT(out_.str(),
              StartsWith("[1/3] restart eroom-prod-1 (a1b2c3): not started: "
                         "the collector at "));
  EXPECT_THAT(out_.str(),
              HasSubstr("StartCommand failed: UNAVAILABLE: host 'a1b2c3' has "
                        "no live agent stream (not connected)\n"));
  EXPECT_THAT(err_.str(), HasSubstr("no live agent stream"));
  EXPECT_THAT(err_.str(),
              HasSubstr("restarted: none; failed: eroom-prod-1 (a1b2c3); not "
                        "attempted: eroom-prod-2 (d4e5f6), eroom-staging-1 "
                        "(g7h8i9)"));
}

TEST_F(EroomctlTest, RestartByLabelSelectsTheHostsWithEveryLabel) {
  service_.set_hosts(ThreeHosts());
  ASSERT_EQ(Run({"restart", "--label", "env=prod", "--yes"}), 0) << err_.str();
  EXPECT_THAT(commands_.started_on(),
              ::testing::ElementsAre("a1b2c3", "d4e5f6"));
  ASSERT_EQ(
      Run({"restart", "--label", "env=prod", "--label", "role=batch", "--yes"}),
      0)
      << err_.str();
  EXPECT_THAT(commands_.started_on(),
              ::testing::ElementsAre("a1b2c3", "d4e5f6", "d4e5f6"));
  EXPECT_EQ(Run({"restart", "--label", "env=dev", "--yes"}), 1);
  EXPECT_THAT(err_.str(), HasSubstr("no host has the labels env=dev"));
  EXPECT_EQ(commands_.started_on().size(), 3u);
}

TEST_F(EroomctlTest, RollingRestartJsonIsAnArrayOfRecords) {
  service_.set_hosts(ThreeHosts());
  commands_.SetAgentSteps("d4e5f6", FailedAtStart());
  EXPECT_EQ(Run({"restart", "--all", "--yes", "-o", "json"}), 1);
  const nlohmann::json json = OutputJson();
  ASSERT_TRUE(json.is_array());
  ASSERT_EQ(json.size(), 2u);
  EXPECT_EQ(json[0]["agent_id"], "a1b2c3");
  EXPECT_EQ(json[0]["state"], "SUCCEEDED");
  EXPECT_EQ(json[1]["agent_id"], "d4e5f6");
  EXPECT_EQ(json[1]["state"], "FAILED");

  // A host the collector refused has a record saying why.
  commands_.Refuse("a1b2c3", grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                          "no live agent stream"));
  EXPECT_EQ(Run({"restart", "--all", "--yes", "-o", "json"}), 1);
  const nlohmann::json refused = OutputJson();
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0]["command_id"], "");
  EXPECT_EQ(refused[0]["state"], "FAILED");
  EXPECT_EQ(refused[0]["progress"][0]["step"], "request");
  EXPECT_THAT(refused[0]["progress"][0]["message"].get<std::string>(),
              HasSubstr("no live agent stream"));
}

TEST_F(EroomctlTest, CancelPrintsTheTargetsState) {
  ASSERT_EQ(Run({"cancel", "c0ffee09"}), 0) << err_.str();
  EXPECT_EQ(out_.str(),
            "cancel sent to command c0ffee09 (safe_restart on a1b2c3, "
            "requested by alice): RUNNING [drain] active 1, queued 0\n");
  ASSERT_EQ(Run({"cancel", "c0ffee09", "-o", "json"}), 0) << err_.str();
  EXPECT_EQ(OutputJson()["state"], "RUNNING");
  EXPECT_EQ(Run({"cancel", "nope"}), 1);
  EXPECT_THAT(err_.str(), HasSubstr("no command with id nope"));
  EXPECT_EQ(Run({"cancel", "c0ffee09", "--token", "viewer"}), 1);
  EXPECT_THAT(err_.str(), HasSubstr("PERMISSION_DENIED"));
  EXPECT_EQ(Run({"cancel"}), 2);
  EXPECT_THAT(commands_.canceled(),
              ::testing::ElementsAre("c0ffee09", "c0ffee09", "nope"));
}

TEST_F(EroomctlTest, HousekeepPrintsTheReportAsATable) {
  commands_.SetSteps({RestartSteps()[0], HousekeepingDone()});
  ASSERT_EQ(Run({"housekeep", "eroom-prod-1"}), 0) << err_.str();
  ASSERT_EQ(commands_.start_requests().size(), 1u);
  ASSERT_TRUE(commands_.start_requests()[0].command().has_log_housekeeping());
  EXPECT_FALSE(
      commands_.start_requests()[0].command().log_housekeeping().dry_run());
  EXPECT_EQ(out_.str(),
            "housekeep a1b2c3: command c0ffee01\n"
            "[  0.0s]           ACCEPTED\n"
            "[  0.8s] done      SUCCEEDED 1 compressed, 1 deleted\n"
            "\n"
            "ACTION    FILE                                   BEFORE    "
            "AFTER  REASON\n"
            "compress  logs/eroom.log.2025-06-01             1.0 MiB  "
            "128 KiB  to logs/archive/eroom.log.2025-06-01.gz\n"
            "delete    logs/archive/eroom.log.2025-05-01.gz  256 KiB        "
            "-  older than 30d\n"
            "skip      logs/eroom.log                            0 B        "
            "-  active file\n"
            "freed 1.1 MiB\n");
}

TEST_F(EroomctlTest, HousekeepDryRunSaysNothingChanged) {
  v1::CommandProgress done = HousekeepingDone();
  done.mutable_housekeeping()->set_dry_run(true);
  commands_.SetSteps({done});
  ASSERT_EQ(Run({"housekeep", "a1b2c3", "--dry-run"}), 0) << err_.str();
  EXPECT_TRUE(
      commands_.start_requests()[0].command().log_housekeeping().dry_run());
  EXPECT_THAT(out_.str(), HasSubstr("housekeep a1b2c3 (dry run)"));
  EXPECT_THAT(out_.str(),
              HasSubstr("would free 1.1 MiB (dry run: nothing changed)\n"));
  ASSERT_EQ(Run({"housekeep", "a1b2c3", "--dry-run", "-o", "json"}), 0);
  EXPECT_EQ(OutputJson()["progress"][0]["housekeeping"]["bytes_freed"],
            "1179648");
}

TEST_F(EroomctlTest, HousekeepThatFailsExitsOne) {
  v1::CommandProgress rejected;
  rejected.set_state(v1::REJECTED);
  rejected.set_step("policy");
  rejected.set_message("log_housekeeping is not enabled");
  commands_.SetSteps({rejected});
  EXPECT_EQ(Run({"housekeep", "a1b2c3"}), 1);
  EXPECT_THAT(out_.str(), HasSubstr("failed at step policy"));
  EXPECT_THAT(err_.str(),
              HasSubstr("housekeeping of host 'a1b2c3' ended REJECTED: "
                        "[policy] log_housekeeping is not enabled"));
  EXPECT_EQ(Run({"housekeep"}), 2);
}

TEST_F(EroomctlTest, AuditTableOldestFirstSinceADayByDefault) {
  ASSERT_EQ(Run({"audit"}), 0) << err_.str();
  EXPECT_EQ(out_.str(),
            "TIME                     ACTOR  HOST    ACTION        "
            "PARAMETERS                     RESULT\n"
            "2025-06-15 15:06:10.000  alice  a1b2c3  safe_restart  "
            "drain_timeout=10m force=false  requested\n"
            "2025-06-15 15:06:22.300  agent  a1b2c3  safe_restart  "
            "drain_timeout=10m force=false  RUNNING: [drain] active 1, "
            "queued 0\n");
  ASSERT_EQ(Run({"audit", "--since", "1h", "--host", "eroom-prod-1", "--limit",
                 "5", "-o", "json"}),
            0)
      << err_.str();
  EXPECT_EQ(OutputJson()["records"][0]["actor"], "agent");
  const std::vector<v1::ListAuditRequest> requests = commands_.audit_requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].since_unix_ms(), kNowMs - 24 * 3600 * 1000);
  EXPECT_EQ(requests[0].agent_id(), "");
  EXPECT_EQ(requests[0].limit(), 0);
  EXPECT_EQ(requests[1].since_unix_ms(), kNowMs - 3600 * 1000);
  EXPECT_EQ(requests[1].agent_id(), "a1b2c3");
  EXPECT_EQ(requests[1].limit(), 5);
}

class EroomctlCheckTest : public EroomctlTest {
 protected:
  // The agent metrics of a host in order: housekeeping ran an hour ago,
  // nothing old left uncompressed, an empty spool, no drops.
  void SetHealthyAgentMetrics() {
    service_.SetMetric("agent.housekeeping_last_run_unix_ms",
                       {kNowMs - 3600.0 * 1000});
    service_.SetMetric("agent.oldest_uncompressed_log_unix_ms",
                       {kNowMs - 24 * 3600.0 * 1000});
    service_.SetMetric("agent.spool_events", {0});
    service_.SetMetric("agent.events_dropped_total", {5, 5});
  }
  // prod-1 with no backlog and its disks below 80%.
  void SetHealthyProd1() {
    v1::ListHostsResponse hosts = TwoHosts();
    v1::HostStatus* prod1 = hosts.mutable_hosts(0);
    prod1->mutable_latest_queue()->mutable_queue()->set_queued(0);
    prod1->mutable_latest_sample()->mutable_disks(1)->set_used_bytes(1 << 30);
    service_.set_hosts(hosts);
  }
};

TEST_F(EroomctlCheckTest, AllPassExitsZero) {
  SetHealthyAgentMetrics();
  SetHealthyProd1();
  EXPECT_EQ(Run({"check", "eroom-prod-1"}), 0) << out_.str() << err_.str();
  EXPECT_THAT(out_.str(), StartsWith("HOST                   CHECK"));
  EXPECT_THAT(out_.str(), Not(HasSubstr("warn")));
  EXPECT_THAT(out_.str(), HasSubstr("2 ERROR lines since midnight"));
  EXPECT_EQ(err_.str(), "");

  // Today's errors since local midnight; each agent metric of this host.
  const std::vector<v1::QueryLogsRequest> logs = service_.logs_requests();
  ASSERT_EQ(logs.size(), 1u);
  EXPECT_EQ(logs[0].agent_id(), "a1b2c3");
  EXPECT_EQ(logs[0].min_level(), v1::ERROR);
  EXPECT_EQ(logs[0].since_unix_ms(), 1749945600000);  // 2025-06-15 00:00 UTC
  std::vector<std::string> metrics;
  for (const v1::QueryMetricsRequest& request : service_.metrics_requests()) {
    EXPECT_EQ(request.agent_id(), "a1b2c3");
    metrics.push_back(request.name());
    if (request.name() == "agent.events_dropped_total") {
      EXPECT_EQ(request.since_unix_ms(), 1749945600000);
    }
  }
  EXPECT_THAT(metrics,
              ::testing::UnorderedElementsAre(
                  "agent.spool_events", "agent.housekeeping_last_run_unix_ms",
                  "agent.oldest_uncompressed_log_unix_ms",
                  "agent.events_dropped_total"));
}

TEST_F(EroomctlCheckTest, AWarningExitsOne) {
  SetHealthyAgentMetrics();
  // prod-1 as canned: a queue backlog of 12, /data at 81%.
  EXPECT_EQ(Run({"check", "eroom-prod-1"}), 1);
  EXPECT_THAT(out_.str(), HasSubstr("queue          warn"));
  EXPECT_THAT(out_.str(),
              HasSubstr("disk           warn    / 45.0%, /data 81.0%"));
  EXPECT_EQ(err_.str(), "");
}

TEST_F(EroomctlCheckTest, MissingAgentMetricsAreUnknownWarnings) {
  SetHealthyProd1();
  EXPECT_EQ(Run({"check", "eroom-prod-1"}), 1);
  EXPECT_THAT(out_.str(), HasSubstr("last run: no data"));
  EXPECT_THAT(out_.str(), HasSubstr("backlog: no data, drops: no data"));
}

TEST_F(EroomctlCheckTest, AFailureExitsTwoAndJsonHasTheSameRows) {
  SetHealthyAgentMetrics();
  EXPECT_EQ(Run({"check", "--all"}), 2);
  EXPECT_THAT(out_.str(), HasSubstr("eroom-prod-2 (d4e5f6)  connected"));
  EXPECT_THAT(out_.str(), HasSubstr("fail    not connected, last seen 3m ago"));

  EXPECT_EQ(Run({"check", "-o", "json"}), 2);
  const nlohmann::json json = OutputJson();
  ASSERT_TRUE(json.is_array());
  ASSERT_EQ(json.size(), 18u);  // Nine checks for each of two hosts.
  EXPECT_EQ(json[0], nlohmann::json({{"agent_id", "a1b2c3"},
                                     {"host", "eroom-prod-1 (a1b2c3)"},
                                     {"check", "connected"},
                                     {"result", "pass"},
                                     {"detail", "connected"}}));
  EXPECT_EQ(json[9]["agent_id"], "d4e5f6");
  EXPECT_EQ(json[9]["check"], "connected");
  EXPECT_EQ(json[9]["result"], "fail");
  // JSON carries the text exactly, the table shows it escaped.
  EXPECT_EQ(json[14]["check"], "queue");
  EXPECT_EQ(json[14]["detail"], "probe failed: 401 인증 실패");

  EXPECT_EQ(Run({"check", "eroom-prod-1", "--all"}), 2);
  EXPECT_THAT(err_.str(), HasSubstr("not both"));
}

TEST_F(EroomctlCheckTest, CheckShowsControlCharactersEscaped) {
  SetHealthyAgentMetrics();
  v1::ListHostsResponse hosts = TwoHosts();
  hosts.mutable_hosts(1)->mutable_latest_health()->set_error(
      "\x1b[2Jrefused\r\n");
  service_.set_hosts(hosts);
  EXPECT_EQ(Run({"check"}), 2);
  EXPECT_THAT(out_.str(), HasSubstr("\\x1b[2Jrefused\\r\\n"));
  EXPECT_THAT(out_.str(), Not(HasSubstr("\x1b")));
}

TEST(EroomctlUnreachableTest, ExitsOneNamingAddressAndStatus) {
  CliEnvironment environment = CliEnvironment::Real();
  environment.getenv = [](const std::string&) { return std::nullopt; };
  // Port 1 on loopback: nothing listens there, so the connection is refused.
  const std::vector<std::string> args = {
      "eroomctl", "--collector", "127.0.0.1:1", "--timeout", "2s", "hosts"};
  std::vector<const char*> argv;
  for (const std::string& arg : args) argv.push_back(arg.c_str());
  std::ostringstream out;
  std::ostringstream err;
  const absl::Time start = absl::Now();
  EXPECT_EQ(RunEroomctl(static_cast<int>(argv.size()), argv.data(), out, err,
                        environment),
            1);
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  EXPECT_THAT(err.str(),
              HasSubstr("cannot reach the collector at 127.0.0.1:1"));
  EXPECT_THAT(err.str(), HasSubstr("UNAVAILABLE"));
  EXPECT_EQ(out.str(), "");
}

TEST(EroomctlUnreachableTest, CheckThatCannotBeMadeIsAFailureForCron) {
  CliEnvironment environment = CliEnvironment::Real();
  environment.getenv = [](const std::string&) { return std::nullopt; };
  const std::vector<std::string> args = {
      "eroomctl", "--collector", "127.0.0.1:1", "--timeout", "2s", "check"};
  std::vector<const char*> argv;
  for (const std::string& arg : args) argv.push_back(arg.c_str());
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(RunEroomctl(static_cast<int>(argv.size()), argv.data(), out, err,
                        environment),
            kExitCheckFailure);
  EXPECT_THAT(err.str(), HasSubstr("cannot reach the collector"));
}

}  // namespace
}  // namespace eroom::cli
