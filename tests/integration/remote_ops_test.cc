// Remote operations end to end, with TLS and tokens as deployed: eroomctl ->
// eroom-collector -> the agent's stream -> eroom-agent, which drains, stops
// and starts an eroom-sim through the sim's own scripts/stop.sh and
// scripts/start.sh, then checks its health.
#include <signal.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <chrono>
#include <deque>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "tests/integration/process_harness.h"

namespace eroom::testing {
namespace {

using ::nlohmann::json;
using ::testing::HasSubstr;

constexpr char kApiKey[] = "integration-test-key";
constexpr char kAgentToken[] = "agent-token-for-ops-tests";
constexpr char kViewerToken[] = "viewer-token-for-ops-tests";
constexpr char kOperatorToken[] = "operator-token-for-ops-tests";
constexpr absl::Duration kDeadline = absl::Seconds(60);

// One managed ERoom host: an eroom-sim in its own directory and the agent
// that watches it and may restart it.
struct Host {
  std::string id;
  std::string eroom_dir;
  int port = 0;
  std::unique_ptr<ChildProcess> first_sim;  // Until the agent restarts it.
  std::unique_ptr<ChildProcess> agent;

  // The pid the sim reports, or nullopt while it does not answer.
  std::optional<int> SimPid() const {
    httplib::Client sim("127.0.0.1", port);
    sim.set_connection_timeout(1, 0);
    sim.set_read_timeout(2, 0);
    httplib::Result state =
        sim.Get("/_sim/state", {{"Authorization", kApiKey}});
    if (!state || state->status != 200) return std::nullopt;
    const json body = json::parse(state->body, nullptr, false);
    if (!body.is_object()) return std::nullopt;
    return body.value("pid", 0);
  }
  json Queue() const {
    httplib::Client sim("127.0.0.1", port);
    sim.set_read_timeout(2, 0);
    httplib::Result queue =
        sim.Get("/queue/status", {{"Authorization", kApiKey}});
    if (!queue || queue->status != 200) return nullptr;
    return json::parse(queue->body, nullptr, false);
  }
  // Submits one room; the sim at --speed 30 runs it for several seconds.
  bool SubmitRoom() const {
    httplib::Client sim("127.0.0.1", port);
    sim.set_read_timeout(5, 0);
    const json room = {{"uuid", "ops-test-user"},
                       {"theme", "우주 정거장"},
                       {"difficulty", "normal"},
                       {"room_prefab", "https://example.test/prefab"},
                       {"keywords", {"산소", "열쇠"}}};
    httplib::Result created =
        sim.Post("/room/create", {{"Authorization", kApiKey}}, room.dump(),
                 "application/json");
    return created && created->status == 202;
  }
};

class RemoteOpsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("remote-ops");
    const std::string tls = dir_ + "/tls";
    CommandResult certs = RunCommand(
        {absl::StrCat(EROOM_SOURCE_DIR, "/deploy/make-dev-certs.sh"), tls});
    ASSERT_EQ(certs.exit_code, 0) << certs.err;
    ca_path_ = tls + "/ca.crt";
    collector_address_ = absl::StrCat("127.0.0.1:", FreePort());
    WriteFile(dir_ + "/collector.yaml",
              absl::StrCat(
                  "listen: ", collector_address_, "\n", "storage:\n  path: ",
                  dir_, "/db/eroom.db\n", "rules_files: [", EROOM_SOURCE_DIR,
                  "/deploy/rules/*.yaml]\n", "tls:\n  cert: ", tls,
                  "/collector.crt\n", "  key: ", tls, "/collector.key\n",
                  "auth:\n  agents:\n    - enrollment: true\n",
                  "      token_sha256: ", TokenSha256(kAgentToken),
                  "\n  users:\n    - name: vera\n      role: viewer\n",
                  "      token_sha256: ", TokenSha256(kViewerToken),
                  "\n    - name: oscar\n      role: operator\n",
                  "      token_sha256: ", TokenSha256(kOperatorToken), "\n"));
    collector_ = StartWithConfig(dir_, "collector");
  }

  void TearDown() override {
    for (Host& host : hosts_) {
      StopChildren({host.agent.get()});
      // A sim the agent started is nobody's child here: its own script
      // stops it.
      RunCommand({host.eroom_dir + "/scripts/stop.sh"});
      StopChildren({host.first_sim.get()});
    }
    StopChildren({collector_.get()});
    if (HasFailure()) {
      for (Host& host : hosts_) {
        std::cerr
            << "--- agent " << host.id << " log\n"
            << host.agent->Log() << "--- sim log\n"
            << ReadFile(host.eroom_dir + "/logs/server.log").substr(0, 4000);
      }
      std::cerr << "--- collector log\n" << collector_->Log();
    }
  }

  // The `commands:` section enabling safe restart through the sim's scripts.
  static std::string RestartAllowed(
      const std::string& start_command = "[scripts/start.sh]") {
    return absl::StrCat(
        "commands:\n  safe_restart:\n    enabled: true\n"
        "    stop_command: [scripts/stop.sh]\n    start_command: ",
        start_command,
        "\n    stop_grace: 5s\n    health_timeout: 20s\n"
        "    health_interval: 100ms\n");
  }

  // Starts a sim and its agent; `commands` is the agent's commands section.
  Host& AddHost(const std::string& id, const std::string& commands) {
    Host& host = hosts_.emplace_back();
    host.id = id;
    host.eroom_dir = absl::StrCat(dir_, "/", id, "/eroom");
    host.port = FreePort();
    std::filesystem::create_directories(absl::StrCat(dir_, "/", id));
    host.first_sim = std::make_unique<ChildProcess>(
        std::vector<std::string>{
            BinaryPath("eroom-sim"), "--dir", host.eroom_dir, "--port",
            std::to_string(host.port), "--speed", "30", "--rooms-per-minute",
            "0", "--failure-rate", "0", "--seed", "5"},
        absl::StrCat(dir_, "/", id, "/sim.out"),
        std::map<std::string, std::string>{{"EROOM_PRIVATE_KEY", kApiKey}});
    const std::string config = absl::StrCat(dir_, "/", id, "/agent.yaml");
    WriteFile(
        config,
        absl::StrCat("agent:\n  id: ", id, "\n  state_dir: ", dir_, "/", id,
                     "/agent-state\n", "eroom:\n  dir: ", host.eroom_dir,
                     "\n  url: http://127.0.0.1:", host.port, "\n",
                     "resources:\n  interval: 200ms\n",
                     "probes:\n  interval: 200ms\n",
                     "collector:\n  address: ", collector_address_, "\n",
                     "  ca: ", ca_path_, "\n", "  token: ", kAgentToken, "\n",
                     "  reconnect_initial: 50ms\n", "  reconnect_max: 500ms\n",
                     commands));
    host.agent = std::make_unique<ChildProcess>(
        std::vector<std::string>{BinaryPath("eroom-agent"), "--config", config},
        absl::StrCat(dir_, "/", id, "/agent.out"),
        std::map<std::string, std::string>{{"EROOM_PRIVATE_KEY", kApiKey}});
    EXPECT_TRUE(PollUntil(kDeadline, [&] { return Connected(id); }))
        << "agent " << id << " never connected: " << last_ctl_.err;
    EXPECT_TRUE(
        PollUntil(kDeadline, [&] { return host.SimPid().has_value(); }));
    return host;
  }

  CommandResult Ctl(const std::string& token, std::vector<std::string> args) {
    args.insert(args.begin(), {"--timeout", "120s"});
    last_ctl_ =
        RunCommand(EroomctlTlsArgv(collector_address_, ca_path_, token, args));
    return last_ctl_;
  }

  bool Connected(const std::string& id) {
    CommandResult hosts = Ctl(kViewerToken, {"-o", "json", "hosts"});
    if (hosts.exit_code != 0) return false;
    const json parsed = json::parse(hosts.out, nullptr, false);
    if (!parsed.is_object() || !parsed.contains("hosts")) return false;
    for (const json& host : parsed["hosts"]) {
      if (host.value("agent_id", "") == id && host.value("connected", false)) {
        return true;
      }
    }
    return false;
  }

  // A restart's final record from `eroomctl -o json restart ...`.
  static json Record(const CommandResult& result) {
    const json parsed = json::parse(result.out, nullptr, false);
    return parsed.is_array() && !parsed.empty() ? parsed.back() : parsed;
  }
  static std::optional<json> StepNamed(const json& record,
                                       const std::string& step) {
    if (!record.is_object() || !record.contains("progress"))
      return std::nullopt;
    std::optional<json> last;
    for (const json& progress : record["progress"]) {
      if (progress.value("step", "") == step) last = progress;
    }
    return last;
  }
  static std::string FinalStep(const json& record) {
    if (!record.is_object() || !record.contains("progress") ||
        record["progress"].empty()) {
      return "";
    }
    return record["progress"].back().value("step", "");
  }

  // Submits a room and, once it runs, `eroomctl restart` in the background
  // (its text output in restart.out); returns when the restart reports that
  // it is draining, nullptr (and a failure) if it never does.
  std::unique_ptr<ChildProcess> RestartWhileARoomRuns(const Host& host) {
    if (!RunARoom(host)) {
      ADD_FAILURE() << "the room was not accepted or never ran";
      return nullptr;
    }
    auto restart = std::make_unique<ChildProcess>(
        std::vector<std::string>{BinaryPath("eroomctl"), "--collector",
                                 collector_address_, "--ca", ca_path_,
                                 "--token", kOperatorToken, "restart", host.id,
                                 "--yes", "--drain-timeout", "5m"},
        dir_ + "/restart.out");
    if (!PollUntil(kDeadline, [&] {
          return ReadFile(dir_ + "/restart.out").find("draining") !=
                 std::string::npos;
        })) {
      ADD_FAILURE() << "no draining reported: "
                    << ReadFile(dir_ + "/restart.out");
      return nullptr;
    }
    return restart;
  }

  bool RoomRunning(const Host& host) {
    const json queue = host.Queue();
    return queue.is_object() && queue.value("active", 0) == 1;
  }
  // Submits a room; whether it runs within the deadline.
  bool RunARoom(const Host& host) {
    return host.SubmitRoom() &&
           PollUntil(kDeadline, [&] { return RoomRunning(host); });
  }

  std::string dir_;
  std::string ca_path_;
  std::string collector_address_;
  std::unique_ptr<ChildProcess> collector_;
  std::deque<Host> hosts_;  // Stable references as hosts are added.
  CommandResult last_ctl_;
};

TEST_F(RemoteOpsTest, RestartWaitsForTheRunningRoomThenComesBackHealthy) {
  Host& host = AddHost("ops-a", RestartAllowed());
  const std::optional<int> before = host.SimPid();
  ASSERT_TRUE(RunARoom(host));

  const CommandResult restart =
      Ctl(kOperatorToken,
          {"-o", "json", "restart", host.id, "--yes", "--drain-timeout", "2m"});
  ASSERT_EQ(restart.exit_code, 0) << restart.out << restart.err;
  const json record = Record(restart);
  EXPECT_EQ(record.value("state", ""), "SUCCEEDED") << record.dump(2);
  // It drained first: the room finished before the server was stopped.
  for (const char* step : {"queue", "drain", "stop", "start", "health"}) {
    EXPECT_TRUE(StepNamed(record, step).has_value())
        << step << " missing in " << record.dump(2);
  }
  EXPECT_THAT(ReadFile(host.eroom_dir + "/logs/server.log"),
              HasSubstr("서버가 중지되었습니다"));
  const json queue = host.Queue();
  ASSERT_TRUE(queue.is_object());
  EXPECT_EQ(queue.value("active", -1), 0);
  const std::optional<int> after = host.SimPid();
  ASSERT_TRUE(after.has_value());
  EXPECT_NE(after, before);
}

TEST_F(RemoteOpsTest, DrainTimeoutRefusesAndLeavesTheServerRunning) {
  Host& host = AddHost("ops-a", RestartAllowed());
  const std::optional<int> before = host.SimPid();
  ASSERT_TRUE(RunARoom(host));

  const CommandResult restart =
      Ctl(kOperatorToken,
          {"-o", "json", "restart", host.id, "--yes", "--drain-timeout", "1s"});
  EXPECT_EQ(restart.exit_code, 1) << restart.out << restart.err;
  const json record = Record(restart);
  EXPECT_EQ(record.value("state", ""), "FAILED") << record.dump(2);
  EXPECT_EQ(FinalStep(record), "drain") << record.dump(2);
  EXPECT_EQ(host.SimPid(), before);
}

TEST_F(RemoteOpsTest, ForceRestartsDespiteTheRunningRoom) {
  Host& host = AddHost("ops-a", RestartAllowed());
  const std::optional<int> before = host.SimPid();
  ASSERT_TRUE(RunARoom(host));

  const CommandResult restart =
      Ctl(kOperatorToken, {"-o", "json", "restart", host.id, "--yes",
                           "--drain-timeout", "1s", "--force"});
  ASSERT_EQ(restart.exit_code, 0) << restart.out << restart.err;
  EXPECT_EQ(Record(restart).value("state", ""), "SUCCEEDED");
  const std::optional<int> after = host.SimPid();
  ASSERT_TRUE(after.has_value());
  EXPECT_NE(after, before);
}

TEST_F(RemoteOpsTest, FailingStartScriptFailsAtStartWithTheLogExcerpt) {
  Host& host = AddHost("ops-a", RestartAllowed("[scripts/broken-start.sh]"));
  WriteFile(host.eroom_dir + "/scripts/broken-start.sh",
            "#!/bin/sh\necho 'Error: Unable to access jarfile' >&2\nexit 3\n");
  chmod((host.eroom_dir + "/scripts/broken-start.sh").c_str(), 0755);

  const CommandResult restart =
      Ctl(kOperatorToken, {"-o", "json", "restart", host.id, "--yes"});
  EXPECT_EQ(restart.exit_code, 1) << restart.out << restart.err;
  const json record = Record(restart);
  EXPECT_EQ(record.value("state", ""), "FAILED") << record.dump(2);
  EXPECT_EQ(FinalStep(record), "start") << record.dump(2);
  const json& final_step = record["progress"].back();
  EXPECT_THAT(final_step.dump(), HasSubstr("Unable to access jarfile"));
  ASSERT_TRUE(final_step.contains("log_excerpt")) << final_step.dump(2);
  EXPECT_FALSE(final_step["log_excerpt"].empty());
}

TEST_F(RemoteOpsTest, RollingRestartStopsAtTheFirstFailure) {
  Host& broken = AddHost("ops-a", RestartAllowed("[scripts/broken-start.sh]"));
  WriteFile(broken.eroom_dir + "/scripts/broken-start.sh",
            "#!/bin/sh\nexit 1\n");
  chmod((broken.eroom_dir + "/scripts/broken-start.sh").c_str(), 0755);
  Host& healthy = AddHost("ops-b", RestartAllowed());
  const std::optional<int> untouched = healthy.SimPid();

  const CommandResult rolling =
      Ctl(kOperatorToken, {"restart", "--all", "--yes"});
  EXPECT_NE(rolling.exit_code, 0) << rolling.out << rolling.err;
  EXPECT_THAT(rolling.out + rolling.err, HasSubstr("ops-a"));
  // ops-b comes after ops-a and is never touched.
  EXPECT_EQ(healthy.SimPid(), untouched);
  const CommandResult listed =
      Ctl(kViewerToken, {"-o", "json", "commands", "ops-b"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_TRUE(json::parse(listed.out, nullptr, false)["commands"].empty())
      << listed.out;
}

TEST_F(RemoteOpsTest, ViewerIsRefusedAndTheRefusalIsAudited) {
  Host& host = AddHost("ops-a", RestartAllowed());
  const std::optional<int> before = host.SimPid();
  const CommandResult restart =
      Ctl(kViewerToken, {"restart", host.id, "--yes"});
  EXPECT_EQ(restart.exit_code, 1) << restart.out << restart.err;
  EXPECT_THAT(restart.err, HasSubstr("PERMISSION_DENIED"));
  EXPECT_EQ(host.SimPid(), before);

  // The refusal is stored with the next ingest transaction.
  CommandResult audit;
  EXPECT_TRUE(PollUntil(kDeadline,
                        [&] {
                          audit = Ctl(kViewerToken, {"-o", "json", "audit"});
                          return audit.exit_code == 0 &&
                                 audit.out.find("refused") != std::string::npos;
                        }))
      << audit.out << audit.err;
  EXPECT_THAT(audit.out, HasSubstr("vera"));
}

TEST_F(RemoteOpsTest, AgentRefusesARestartItsConfigDoesNotEnable) {
  Host& host = AddHost("ops-a", "");
  const std::optional<int> before = host.SimPid();
  const CommandResult restart =
      Ctl(kOperatorToken, {"-o", "json", "restart", host.id, "--yes"});
  EXPECT_EQ(restart.exit_code, 1) << restart.out << restart.err;
  EXPECT_EQ(Record(restart).value("state", ""), "REJECTED") << restart.out;
  EXPECT_EQ(host.SimPid(), before);
}

TEST_F(RemoteOpsTest, ShellMetacharactersAreInert) {
  Host& host = AddHost("ops-a", RestartAllowed());
  const std::string marker = dir_ + "/pwned";
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{
           {"restart", absl::StrCat(host.id, "; touch ", marker), "--yes"},
           {"restart", host.id, "--yes", "--drain-timeout",
            absl::StrCat("1s$(touch ", marker, ")")},
           {"housekeep", absl::StrCat("`touch ", marker, "`")}}) {
    const CommandResult refused = Ctl(kOperatorToken, args);
    EXPECT_NE(refused.exit_code, 0) << refused.out;
  }
  EXPECT_FALSE(std::filesystem::exists(marker));
}

TEST_F(RemoteOpsTest, ASecondRestartIsRefusedAndACancelEndsTheDrain) {
  Host& host = AddHost("ops-a", RestartAllowed());
  const std::optional<int> before = host.SimPid();
  std::unique_ptr<ChildProcess> restart = RestartWhileARoomRuns(host);
  ASSERT_NE(restart, nullptr);
  const CommandResult listed =
      Ctl(kViewerToken, {"-o", "json", "commands", host.id});
  const json commands = json::parse(listed.out, nullptr, false);
  ASSERT_TRUE(commands.is_object() && !commands["commands"].empty())
      << listed.out;
  const std::string running = commands["commands"][0].value("command_id", "");
  ASSERT_FALSE(running.empty());

  const CommandResult second =
      Ctl(kOperatorToken, {"restart", host.id, "--yes"});
  EXPECT_NE(second.exit_code, 0) << second.out;
  EXPECT_THAT(second.err, HasSubstr(running));

  const CommandResult cancel = Ctl(kOperatorToken, {"cancel", running});
  EXPECT_EQ(cancel.exit_code, 0) << cancel.out << cancel.err;
  const std::optional<int> restart_exit = restart->Wait(kDeadline);
  ASSERT_TRUE(restart_exit.has_value());
  EXPECT_NE(*restart_exit, 0);
  EXPECT_THAT(ReadFile(dir_ + "/restart.out"),
              HasSubstr("canceled by the operator"));
  EXPECT_EQ(host.SimPid(), before);
  EXPECT_TRUE(RoomRunning(host));
}

TEST_F(RemoteOpsTest, AgentKilledMidRestartLeavesAFinalStateAndNoRerun) {
  Host& host = AddHost("ops-a", RestartAllowed());
  const std::optional<int> before = host.SimPid();
  // The restart drains (the room runs on) while the agent dies.
  std::unique_ptr<ChildProcess> restart = RestartWhileARoomRuns(host);
  ASSERT_NE(restart, nullptr);
  host.agent->Signal(SIGKILL);
  host.agent->Wait(absl::Seconds(5));
  const std::optional<int> ctl_exit = restart->Wait(kDeadline);
  ASSERT_TRUE(ctl_exit.has_value());
  EXPECT_NE(*ctl_exit, 0);

  const auto command_state = [&]() -> std::string {
    const CommandResult listed =
        Ctl(kViewerToken, {"-o", "json", "commands", host.id});
    const json parsed = json::parse(listed.out, nullptr, false);
    if (!parsed.is_object() || parsed["commands"].empty()) return "";
    return parsed["commands"][0].value("state", "");
  };
  EXPECT_EQ(command_state(), "FAILED");

  // The agent comes back: the command stays ended and is not run again.
  host.agent = std::make_unique<ChildProcess>(
      std::vector<std::string>{BinaryPath("eroom-agent"), "--config",
                               dir_ + "/ops-a/agent.yaml"},
      dir_ + "/ops-a/agent-2.out",
      std::map<std::string, std::string>{{"EROOM_PRIVATE_KEY", kApiKey}});
  ASSERT_TRUE(PollUntil(kDeadline, [&] { return Connected(host.id); }));
  ASSERT_TRUE(PollUntil(kDeadline, [&] { return !RoomRunning(host); }));
  EXPECT_EQ(command_state(), "FAILED");
  EXPECT_EQ(host.SimPid(), before);
}

TEST_F(RemoteOpsTest, AgentStoppedMidRestartStopsWithinFiveSecondsAndSaysSo) {
  Host& host = AddHost("ops-a", RestartAllowed());
  const std::optional<int> before = host.SimPid();
  std::unique_ptr<ChildProcess> restart = RestartWhileARoomRuns(host);
  ASSERT_NE(restart, nullptr);
  // Monotonic: the wall clock may be stepped meanwhile.
  const auto signaled = std::chrono::steady_clock::now();
  host.agent->Signal(SIGTERM);
  ASSERT_TRUE(host.agent->Wait(absl::Seconds(5)).has_value())
      << "the agent did not stop within 5 s of SIGTERM";
  EXPECT_LE(std::chrono::steady_clock::now() - signaled,
            std::chrono::seconds(5));
  ASSERT_TRUE(restart->Wait(kDeadline).has_value());

  // The final state went out with the agent's last flush.
  const CommandResult listed =
      Ctl(kViewerToken, {"-o", "json", "commands", host.id});
  const json parsed = json::parse(listed.out, nullptr, false);
  ASSERT_TRUE(parsed.is_object() && !parsed["commands"].empty()) << listed.out;
  const json& record = parsed["commands"][0];
  EXPECT_EQ(record.value("state", ""), "FAILED") << record.dump(2);
  EXPECT_THAT(record.dump(), HasSubstr("the agent stopped during step drain"));
  EXPECT_EQ(host.SimPid(), before);
  EXPECT_TRUE(RoomRunning(host));
}

TEST_F(RemoteOpsTest, AutoRestartStartsADownServerAndItsLimitRaisesAnAlert) {
  Host& host = AddHost(
      "ops-a", absl::StrCat(RestartAllowed("[scripts/maybe-start.sh]"),
                            "  auto_restart:\n    enabled: true\n"
                            "    down_for: 1s\n    backoff_initial: 1s\n"
                            "    backoff_max: 1s\n"
                            "    max_attempts_per_hour: 2\n"));
  // down_for lets the stop script finish (it removes server.pid last).
  // The start command: the server's own script, until a file named
  // `broken` exists.
  const std::string start = host.eroom_dir + "/scripts/maybe-start.sh";
  WriteFile(start,
            "#!/bin/sh\n[ -e broken ] && { echo 'port in use' >&2; exit 1; }\n"
            "exec scripts/start.sh\n");
  chmod(start.c_str(), 0755);
  const std::optional<int> first = host.SimPid();

  // Each attempt and its outcome reach the collector as the agent's notices
  // (here counted as metrics).
  const auto notices = [&](const std::string& kind) {
    const CommandResult points =
        Ctl(kViewerToken, {"-o", "json", "metrics", "agent." + kind, "--host",
                           host.id, "--since", "1h"});
    return points.out.find("value") != std::string::npos;
  };
  ASSERT_EQ(RunCommand({host.eroom_dir + "/scripts/stop.sh"}).exit_code, 0);
  ASSERT_TRUE(PollUntil(kDeadline, [&] {
    return notices("auto_restart_succeeded");
  })) << host.agent->Log();
  const std::optional<int> second = host.SimPid();
  ASSERT_TRUE(second.has_value());
  EXPECT_NE(second, first);

  WriteFile(host.eroom_dir + "/broken", "");
  const CommandResult stopped =
      RunCommand({host.eroom_dir + "/scripts/stop.sh"});
  ASSERT_EQ(stopped.exit_code, 0) << stopped.out << stopped.err;
  ASSERT_TRUE(PollUntil(kDeadline,
                        [&] {
                          const CommandResult alerts =
                              Ctl(kViewerToken, {"-o", "json", "alerts"});
                          return alerts.out.find(
                                     "auto_restart_limit_reached") !=
                                 std::string::npos;
                        }))
      << last_ctl_.out << host.agent->Log();
  EXPECT_TRUE(notices("auto_restart_attempt"));
  EXPECT_TRUE(notices("auto_restart_failed"));
  EXPECT_FALSE(host.SimPid().has_value());
}

// Sets `path`'s modification time `age` ago.
void Age(const std::string& path, absl::Duration age) {
  const timeval when = absl::ToTimeval(absl::Now() - age);
  const timeval times[2] = {when, when};
  ASSERT_EQ(utimes(path.c_str(), times), 0) << path;
}

TEST_F(RemoteOpsTest, HousekeepingArchivesOldLogsAndDryRunChangesNothing) {
  Host& host =
      AddHost("ops-a",
              "commands:\n  log_housekeeping:\n    enabled: true\n"
              "    compress_after: 7d\n    delete_archives_after: 30d\n"
              "logs:\n  close_idle_after: 1s\n");
  const std::string logs = host.eroom_dir + "/logs";
  const std::string old_log = logs + "/server.2026-10-01.log";
  const std::string recent_log = logs + "/server.2026-12-01.log";
  const std::string stale_archive = logs + "/archive/server.2026-09-01.log.gz";
  std::string old_lines;
  for (int i = 0; i < 1000; ++i) {
    old_lines += absl::StrCat(
        "2026-10-01 10:00:00.", 100 + i % 900,
        " [main] INFO  com.febrie.eroom.server.UndertowServer   : line ", i,
        "\n");
  }
  WriteFile(old_log, old_lines);
  WriteFile(recent_log, "recent\n");
  std::filesystem::create_directories(logs + "/archive");
  WriteFile(stale_archive, "old archive");
  Age(old_log, absl::Hours(24 * 10));
  Age(recent_log, absl::Hours(24));
  Age(stale_archive, absl::Hours(24 * 40));

  // A log is compressed only once the tailer has read it to its end and
  // closed it, idle.
  CommandResult dry;
  ASSERT_TRUE(PollUntil(kDeadline,
                        [&] {
                          dry = Ctl(kOperatorToken, {"-o", "json", "housekeep",
                                                     host.id, "--dry-run"});
                          return dry.exit_code == 0 &&
                                 dry.out.find("would compress 1 files") !=
                                     std::string::npos;
                        }))
      << dry.out << dry.err;
  EXPECT_THAT(dry.out, HasSubstr("server.2026-10-01.log.gz"));
  EXPECT_TRUE(std::filesystem::exists(old_log));
  EXPECT_TRUE(std::filesystem::exists(stale_archive));

  const CommandResult done =
      Ctl(kOperatorToken, {"-o", "json", "housekeep", host.id});
  ASSERT_EQ(done.exit_code, 0) << done.out << done.err;
  EXPECT_FALSE(std::filesystem::exists(old_log)) << done.out;
  EXPECT_TRUE(
      std::filesystem::exists(logs + "/archive/server.2026-10-01.log.gz"));
  EXPECT_FALSE(std::filesystem::exists(stale_archive));
  EXPECT_TRUE(std::filesystem::exists(recent_log));
  EXPECT_TRUE(std::filesystem::exists(logs + "/server.log"));
}

TEST_F(RemoteOpsTest, DailyCheckFailsWhenTheServerIsDown) {
  Host& host = AddHost("ops-a", RestartAllowed());
  const auto check = [&] {
    return Ctl(kViewerToken, {"-o", "json", "check", host.id});
  };
  // Samples every 200 ms: up, then down once stopped.
  ASSERT_TRUE(PollUntil(kDeadline, [&] { return check().exit_code != 2; }))
      << last_ctl_.out << last_ctl_.err;
  EXPECT_THAT(last_ctl_.out, HasSubstr("health"));

  ASSERT_EQ(RunCommand({host.eroom_dir + "/scripts/stop.sh"}).exit_code, 0);
  ASSERT_TRUE(PollUntil(kDeadline, [&] { return check().exit_code == 2; }))
      << last_ctl_.out << last_ctl_.err;
  EXPECT_THAT(last_ctl_.out, HasSubstr("fail"));
}

}  // namespace
}  // namespace eroom::testing
