// The whole slice on loopback: eroom-sim writes logs and serves the API,
// eroom-agent tails, samples and probes it, eroom-collector stores, and
// eroomctl answers. Everything is checked through `eroomctl -o json`.
#include <signal.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/integration/process_harness.h"

namespace eroom::testing {
namespace {

using ::nlohmann::json;

constexpr char kApiKey[] = "integration-test-key";
constexpr absl::Duration kDeadline = absl::Seconds(60);

class EndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("e2e");
    sim_port_ = FreePort();
    collector_address_ = absl::StrCat("127.0.0.1:", FreePort());
    WriteFile(dir_ + "/collector.yaml",
              absl::StrCat("listen: ", collector_address_, "\n",
                           "stats_interval: 1s\n", "storage:\n  path: ", dir_,
                           "/db/eroom.db\n", kPlaintextCollectorConfig));
    WriteFile(
        dir_ + "/agent.yaml",
        absl::StrCat("agent:\n  id: e2e-host\n  state_dir: ", dir_,
                     "/agent-state\n  labels:\n    env: test\n",
                     "eroom:\n  dir: ", dir_, "/eroom\n",
                     "  url: http://127.0.0.1:", sim_port_, "\n",
                     "logs:\n  start_at: beginning\n  poll_interval: 50ms\n",
                     "resources:\n  interval: 200ms\n",
                     "probes:\n  interval: 200ms\n  timeout: 1s\n",
                     "collector:\n  address: ", collector_address_, "\n",
                     "  insecure: true\n",
                     "  reconnect_initial: 50ms\n  reconnect_max: 500ms\n",
                     "  batch_max_delay: 20ms\n",
                     // What a remote collector gets (auto sends loopback
                     // uncompressed): the whole stack sees gzip here.
                     "  compression: gzip\n"));
    sim_ = StartSim(dir_, sim_port_, kApiKey,
                    {"--speed", "120", "--rooms-per-minute", "60",
                     "--failure-rate", "0.5", "--seed", "7"});
    StartCollector();
    agent_ = StartWithConfig(dir_, "agent", {{"EROOM_PRIVATE_KEY", kApiKey}});
  }

  void TearDown() override {
    StopChildren({agent_.get(), collector_.get(), sim_.get()});
    if (HasFailure()) {
      std::cerr << "--- agent log\n"
                << agent_->Log() << "--- collector log\n"
                << collector_->Log() << "--- sim output\n"
                << sim_->Log();
    }
  }

  void StartCollector() { collector_ = StartWithConfig(dir_, "collector"); }

  // Runs eroomctl against the collector; the parsed JSON, or null when the
  // command failed or printed something else.
  json Ctl(std::vector<std::string> args) {
    args.insert(args.begin(), {"-o", "json"});
    CommandResult result = RunCommand(EroomctlArgv(collector_address_, args));
    last_ctl_ = result;
    if (result.exit_code != 0) return json();
    return json::parse(result.out, nullptr, /*allow_exceptions=*/false);
  }

  json Host() {
    json hosts = Ctl({"hosts"});
    if (!hosts.is_object() || !hosts.contains("hosts") ||
        hosts["hosts"].empty()) {
      return json();
    }
    return hosts["hosts"][0];
  }

  std::string dir_;
  int sim_port_ = 0;
  std::string collector_address_;
  std::unique_ptr<ChildProcess> sim_, collector_, agent_;
  CommandResult last_ctl_;
};

TEST_F(EndToEndTest, SamplesAndProbesReachTheCollector) {
  json host;
  ASSERT_TRUE(PollUntil(
      kDeadline,
      [&] {
        host = Host();
        return host.is_object() && host.value("connected", false) &&
               host.contains("latest_sample") &&
               host["latest_sample"]["eroom"].value("up", false) &&
               host["latest_sample"]["eroom"].value("port_listening", false) &&
               host.contains("latest_health") &&
               host["latest_health"].value("ok", false) &&
               host.contains("latest_queue") &&
               host["latest_queue"].value("ok", false);
      }))
      << host.dump(2) << last_ctl_.err;
  EXPECT_EQ(host["agent_id"], "e2e-host");
  EXPECT_EQ(host["labels"]["env"], "test");
  EXPECT_EQ(host["latest_health"]["health_status"], "healthy");
  EXPECT_EQ(host["latest_queue"]["queue"]["max_concurrent"], "1");
  EXPECT_GT(
      std::stod(host["latest_sample"]["eroom"]["rss_bytes"].get<std::string>()),
      0);
  EXPECT_GT(
      std::stod(host["latest_sample"]["memory_total_bytes"].get<std::string>()),
      0);

  json metrics;
  ASSERT_TRUE(PollUntil(kDeadline,
                        [&] {
                          metrics = Ctl({"metrics", "probe.health.latency_ms",
                                         "--host", "e2e-host"});
                          return metrics.is_object() &&
                                 metrics.contains("series") &&
                                 !metrics["series"].empty() &&
                                 metrics["series"][0]["points"].size() >= 2;
                        }))
      << metrics.dump(2) << last_ctl_.err;

  json queue = Ctl({"queue"});
  ASSERT_TRUE(queue.is_object()) << last_ctl_.err;
  EXPECT_EQ(queue["hosts"][0]["latest_queue"]["target"], "QUEUE_STATUS");
}

TEST_F(EndToEndTest, LogLinesTheSimWroteAreStoredAndTyped) {
  json logs;
  ASSERT_TRUE(PollUntil(
      kDeadline,
      [&] {
        logs = Ctl({"logs", "--grep", "서버가 성공적으로 시작되었습니다"});
        return logs.is_object() && logs.contains("events") &&
               !logs["events"].empty();
      }))
      << logs.dump(2) << last_ctl_.err;
  EXPECT_EQ(logs["events"][0]["event"]["event_type"], "server_started");
  EXPECT_EQ(logs["events"][0]["event"]["level"], "INFO");

  // Rooms run through their lifecycle; typed events carry their fields.
  json completed;
  ASSERT_TRUE(PollUntil(kDeadline,
                        [&] {
                          completed = Ctl({"logs", "--type", "room_completed"});
                          return completed.is_object() &&
                                 completed.contains("events") &&
                                 !completed["events"].empty();
                        }))
      << completed.dump(2) << last_ctl_.err;
  const json& event = completed["events"][0]["event"];
  EXPECT_THAT(event["ruid"].get<std::string>(), ::testing::StartsWith("room_"));
  EXPECT_EQ(event["fields"]["ruid"], event["ruid"]);

  // A failed room's stack trace is one event with every frame.
  json failed;
  ASSERT_TRUE(PollUntil(kDeadline,
                        [&] {
                          failed = Ctl({"logs", "--type", "room_failed"});
                          return failed.is_object() &&
                                 failed.contains("events") &&
                                 !failed["events"].empty();
                        }))
      << failed.dump(2) << last_ctl_.err;
  std::string message = failed["events"][0]["event"]["message"];
  EXPECT_THAT(message, ::testing::HasSubstr("\n\tat "));
  EXPECT_EQ(failed["events"][0]["event"]["level"], "ERROR");

  // The dashboard's last errors come from the same store.
  CommandResult status =
      RunCommand(EroomctlArgv(collector_address_, {"status", "e2e-host"}));
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_THAT(status.out, ::testing::HasSubstr("e2e-host"));
}

TEST_F(EndToEndTest, AgentReconnectsAfterCollectorRestart) {
  ASSERT_TRUE(PollUntil(kDeadline, [&] {
    json host = Host();
    return host.is_object() && host.value("connected", false);
  })) << last_ctl_.err;

  collector_->Signal(SIGTERM);
  std::optional<int> exit_code = collector_->Wait(absl::Seconds(5));
  ASSERT_TRUE(exit_code.has_value()) << "collector did not stop within 5 s";
  EXPECT_EQ(*exit_code, 0);
  int64_t last_seen_before = 0;
  StartCollector();
  json host;
  ASSERT_TRUE(PollUntil(
      kDeadline,
      [&] {
        host = Host();
        if (!host.is_object()) return false;
        if (last_seen_before == 0) {
          last_seen_before =
              std::stoll(host["last_seen_unix_ms"].get<std::string>());
        }
        return host.value("connected", false) &&
               std::stoll(host["last_seen_unix_ms"].get<std::string>()) >
                   last_seen_before;
      }))
      << host.dump(2) << last_ctl_.err;
  EXPECT_TRUE(agent_->running());
}

}  // namespace
}  // namespace eroom::testing
