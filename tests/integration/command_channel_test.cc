// The command channel end to end, with TLS and tokens as deployed:
// eroomctl (or a CommandService client) -> eroom-collector -> the agent's
// live stream -> eroom-agent, and its progress back the same way.
#include <signal.h>

#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/transport_security.h"
#include "eroom/monitor/v1/monitor.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/integration/process_harness.h"

namespace eroom::testing {
namespace {

namespace v1 = ::eroom::monitor::v1;
using ::nlohmann::json;
using ::testing::HasSubstr;

constexpr char kApiKey[] = "integration-test-key";
constexpr char kAgentId[] = "cmd-host";
constexpr char kAgentToken[] = "agent-token-for-command-tests";
constexpr char kViewerToken[] = "viewer-token-for-command-tests";
constexpr char kOperatorToken[] = "operator-token-for-command-tests";
constexpr absl::Duration kDeadline = absl::Seconds(60);

class CommandChannelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("commands");
    const std::string tls = dir_ + "/tls";
    CommandResult certs = RunCommand(
        {absl::StrCat(EROOM_SOURCE_DIR, "/deploy/make-dev-certs.sh"), tls});
    ASSERT_EQ(certs.exit_code, 0) << certs.err;
    ca_path_ = tls + "/ca.crt";
    sim_port_ = FreePort();
    collector_address_ = absl::StrCat("127.0.0.1:", FreePort());
    WriteFile(dir_ + "/collector.yaml",
              absl::StrCat("listen: ", collector_address_, "\n",
                           "storage:\n  path: ", dir_, "/db/eroom.db\n",
                           "tls:\n  cert: ", tls, "/collector.crt\n",
                           "  key: ", tls, "/collector.key\n",
                           "auth:\n  agents:\n    - enrollment: true\n",
                           "      token_sha256: ", TokenSha256(kAgentToken),
                           "\n  users:\n    - name: vera\n      role: viewer\n",
                           "      token_sha256: ", TokenSha256(kViewerToken),
                           "\n    - name: oscar\n      role: operator\n",
                           "      token_sha256: ", TokenSha256(kOperatorToken),
                           "\n"));
    // No command policy: ping only, as an agent is configured by default.
    WriteFile(dir_ + "/agent.yaml",
              absl::StrCat(
                  "agent:\n  id: ", kAgentId, "\n  state_dir: ", dir_,
                  "/agent-state\n", "eroom:\n  dir: ", dir_, "/eroom\n",
                  "  url: http://127.0.0.1:", sim_port_, "\n",
                  "collector:\n  address: ", collector_address_, "\n",
                  "  ca: ", ca_path_, "\n", "  token: ", kAgentToken, "\n",
                  "  reconnect_initial: 50ms\n", "  reconnect_max: 500ms\n"));
    sim_ = StartSim(dir_, sim_port_, kApiKey, {});
    collector_ = StartWithConfig(dir_, "collector");
    agent_ = StartWithConfig(dir_, "agent", {{"EROOM_PRIVATE_KEY", kApiKey}});
    ASSERT_TRUE(PollUntil(kDeadline, [&] { return AgentConnected(); }))
        << "the agent never connected; last eroomctl: " << last_ctl_.err;
  }

  void TearDown() override {
    StopChildren({agent_.get(), collector_.get(), sim_.get()});
    if (HasFailure()) {
      std::cerr << "--- agent log\n"
                << agent_->Log() << "--- collector log\n"
                << collector_->Log();
    }
  }

  // eroomctl over TLS with `token`.
  CommandResult Ctl(const std::string& token, std::vector<std::string> args) {
    args.insert(args.begin(), {"--timeout", "20s"});
    last_ctl_ =
        RunCommand(EroomctlTlsArgv(collector_address_, ca_path_, token, args));
    return last_ctl_;
  }

  bool AgentConnected() {
    CommandResult hosts = Ctl(kViewerToken, {"-o", "json", "hosts"});
    if (hosts.exit_code != 0) return false;
    json parsed = json::parse(hosts.out, nullptr, /*allow_exceptions=*/false);
    if (!parsed.is_object() || !parsed.contains("hosts")) return false;
    for (const json& host : parsed["hosts"]) {
      if (host["agent_id"] == kAgentId && host["connected"] == true) {
        return true;
      }
    }
    return false;
  }

  // A CommandService client as eroomctl's operator.
  std::unique_ptr<v1::CommandService::Stub> OperatorStub() {
    security_.ca_pem = ReadFile(ca_path_);
    security_.token = kOperatorToken;
    return v1::CommandService::NewStub(
        CreateSecureChannel(collector_address_, security_));
  }
  void Prepare(grpc::ClientContext& context) {
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
    AddCallCredentials(security_, &context);
  }

  std::string dir_;
  std::string ca_path_;
  int sim_port_ = 0;
  std::string collector_address_;
  ClientSecurity security_;
  std::unique_ptr<ChildProcess> sim_, collector_, agent_;
  CommandResult last_ctl_;
};

TEST_F(CommandChannelTest, OperatorPingIsAcceptedAndSucceeds) {
  CommandResult ping = Ctl(kOperatorToken, {"ping", kAgentId});
  EXPECT_EQ(ping.exit_code, 0) << ping.out << ping.err;
  EXPECT_THAT(ping.out, HasSubstr("ACCEPTED"));
  EXPECT_THAT(ping.out, HasSubstr("SUCCEEDED"));

  CommandResult listed = Ctl(kViewerToken, {"-o", "json", "commands"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  json commands = json::parse(listed.out, nullptr, false)["commands"];
  ASSERT_EQ(commands.size(), 1u) << listed.out;
  EXPECT_EQ(commands[0]["state"], "SUCCEEDED");
  EXPECT_EQ(commands[0]["requested_by"], "oscar");
}

TEST_F(CommandChannelTest, ViewerMayNotPing) {
  CommandResult ping = Ctl(kViewerToken, {"ping", kAgentId});
  EXPECT_EQ(ping.exit_code, 1) << ping.out << ping.err;
  EXPECT_THAT(ping.err, HasSubstr("PERMISSION_DENIED"));
}

TEST_F(CommandChannelTest, AgentRejectsAnActionItsConfigDoesNotEnable) {
  std::unique_ptr<v1::CommandService::Stub> stub = OperatorStub();
  v1::StartCommandRequest request;
  request.set_agent_id(kAgentId);
  request.mutable_command()->mutable_log_housekeeping();
  v1::CommandRecord record;
  {
    grpc::ClientContext context;
    Prepare(context);
    grpc::Status started = stub->StartCommand(&context, request, &record);
    ASSERT_TRUE(started.ok()) << started.error_message();
  }

  grpc::ClientContext context;
  Prepare(context);
  v1::WatchCommandRequest watch;
  watch.set_command_id(record.command_id());
  std::unique_ptr<grpc::ClientReader<v1::CommandProgress>> reader =
      stub->WatchCommand(&context, watch);
  std::vector<v1::CommandProgress> steps;
  v1::CommandProgress step;
  while (reader->Read(&step)) steps.push_back(step);
  grpc::Status finished = reader->Finish();
  ASSERT_TRUE(finished.ok()) << finished.error_message();
  ASSERT_FALSE(steps.empty());
  EXPECT_EQ(steps.back().state(), v1::REJECTED);
  for (const v1::CommandProgress& each : steps) {
    EXPECT_NE(each.state(), v1::SUCCEEDED);
  }
}

}  // namespace
}  // namespace eroom::testing
