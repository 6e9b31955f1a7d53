// Alerting through the real binaries: eroom-sim's fault switches make
// ERoom misbehave, eroom-agent reports it, eroom-collector's rules fire and
// its notifications reach webhook receivers (and a hanging one) on
// loopback.
#include <signal.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "tests/integration/process_harness.h"
#include "tests/integration/webhook_sink.h"
#include "tests/unit/test_support/smtp_sink.h"

namespace eroom::testing {
namespace {

using ::nlohmann::json;

constexpr char kApiKey[] = "alerting-test-key";
constexpr absl::Duration kDeadline = absl::Seconds(60);

// The shipped rules' shapes with windows short enough for a test.
constexpr char kRules[] = R"(rules:
  - name: health_probe_failing
    kind: threshold
    metric: probe.health.ok
    aggregation: max
    samples: 3
    condition: "< 1"
    severity: critical
    summary: "/health failed 3 times in a row on {{host}}"
  - name: api_latency_max_critical
    kind: threshold
    metric: probe.health.latency_ms
    aggregation: max
    window: 3s
    condition: "> 500ms"
    recovery: "< 400ms"
    severity: critical
    summary: "/health answered {{host}} in {{value}} ms at worst"
  - name: room_stuck
    kind: room_duration
    measure: running
    condition: "> 1s"
    severity: warning
    summary: "room {{group}} on {{host}} still running after {{value}} ms"
  - name: host_down
    kind: absence
    after: 3s
    inhibits_host: true
    severity: critical
    summary: "{{host}} sent nothing for 3 s"
  - name: fatal_shutdown
    kind: log_match
    match: {event_types: [fatal_shutdown]}
    window: 10m
    severity: critical
    summary: "ERoom on {{host}} logged that it shuts itself down"
  - name: new_error_lines
    kind: log_match
    match: {levels: [ERROR]}
    window: 5m
    group_by: message_shape
    severity: warning
    summary: "{{count}} x on {{host}}: {{group}}"
)";

// One alert of one notification, as a webhook receiver got it.
struct Notified {
  std::string alertname;
  std::string status;  // "firing" or "resolved".
  json alert;
  absl::Time received;
};

std::vector<Notified> Notifications(const WebhookSink& sink) {
  std::vector<Notified> out;
  for (const WebhookSink::Request& request : sink.Requests()) {
    const json body = json::parse(request.body, nullptr, false);
    if (!body.is_object() || !body.contains("alerts")) continue;
    for (const json& alert : body["alerts"]) {
      out.push_back({alert["labels"].value("alertname", ""),
                     alert.value("status", ""), alert, request.received});
    }
  }
  return out;
}

std::vector<Notified> NotificationsOf(const WebhookSink& sink,
                                      const std::string& alertname,
                                      const std::string& status) {
  std::vector<Notified> out;
  for (Notified& notified : Notifications(sink)) {
    if (notified.alertname == alertname && notified.status == status) {
      out.push_back(std::move(notified));
    }
  }
  return out;
}

class AlertingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("alerting");
    sim_port_ = FreePort();
    collector_address_ = absl::StrCat("127.0.0.1:", FreePort());
    WriteFile(dir_ + "/hook.url", hook_.Url("/hook"));
    WriteFile(dir_ + "/hang.url", hanging_.Url("/hang"));
    WriteFile(dir_ + "/rules.yaml", kRules);
    WriteFile(dir_ + "/collector.yaml",
              absl::StrCat("listen: ", collector_address_, "\n",
                           "storage:\n  path: ", dir_, "/db/eroom.db\n",
                           kPlaintextCollectorConfig,
                           "rules_files: [rules.yaml]\n"
                           "notifications:\n"
                           "  group_by: [alertname, host]\n"
                           "  group_wait: 500ms\n"
                           "  group_interval: 1s\n"
                           "  repeat_interval: 1h\n"
                           "  timeout: 30s\n"
                           "  receivers:\n"
                           "    - {name: hook, type: webhook, url_file: "
                           "hook.url}\n"
                           "    - {name: hang, type: webhook, url_file: "
                           "hang.url}\n"
                           "    - {name: mail, type: email, smarthost: ",
                           mail_.smarthost(),
                           ", tls: none, from: eroom@example.test, to: "
                           "[ops@example.test]}\n"
                           "  routes:\n"
                           "    - {matchers: [alertname=fatal_shutdown], "
                           "receivers: [mail, hook]}\n"
                           "  default_receivers: [hang, hook]\n"));
    WriteFile(dir_ + "/agent.yaml",
              absl::StrCat("agent:\n  id: alert-host\n  state_dir: ", dir_,
                           "/agent-state\n", "eroom:\n  dir: ", dir_,
                           "/eroom\n", "  url: http://127.0.0.1:", sim_port_,
                           "\n", "logs:\n  start_at: beginning\n",
                           "resources:\n  interval: 200ms\n",
                           "probes:\n  interval: 200ms\n  timeout: 2s\n",
                           "collector:\n  address: ", collector_address_,
                           "\n  insecure: true\n",
                           "  reconnect_initial: 50ms\n"
                           "  reconnect_max: 500ms\n"));
    sim_ = StartSim(dir_, sim_port_, kApiKey,
                    {"--speed", "120", "--rooms-per-minute", "30",
                     "--failure-rate", "0", "--seed", "11"});
    collector_ = StartWithConfig(dir_, "collector");
    StartAgent();
  }

  void TearDown() override {
    StopChildren({agent_.get(), collector_.get(), sim_.get()});
    if (HasFailure()) {
      std::cerr << "--- collector log\n"
                << collector_->Log() << "--- agent log\n"
                << agent_->Log() << "--- notifications\n";
      for (const WebhookSink::Request& request : hook_.Requests()) {
        std::cerr << request.body << "\n";
      }
    }
  }

  void StartAgent() {
    agent_ = StartWithConfig(dir_, "agent", {{"EROOM_PRIVATE_KEY", kApiKey}});
  }

  // Once the agent is connected (the sim is up then too).
  void SetFault(const std::string& fault, bool enabled) {
    ASSERT_TRUE(PollUntil(kDeadline, [&] { return AgentConnected(); }));
    httplib::Client sim("127.0.0.1", sim_port_);
    sim.set_read_timeout(5, 0);
    const json body = {{"fault", fault}, {"enabled", enabled}};
    httplib::Result result =
        sim.Post("/_sim/fault", {{"Authorization", kApiKey}}, body.dump(),
                 "application/json");
    ASSERT_TRUE(result) << "sim unreachable";
    ASSERT_EQ(result->status, 200) << result->body;
  }

  bool AgentConnected() {
    const json hosts = Ctl({"hosts"});
    return hosts.is_object() && hosts.contains("hosts") &&
           !hosts["hosts"].empty() &&
           hosts["hosts"][0].value("connected", false);
  }

  // Waits until the hook got `count` notifications of `alertname` with
  // `status`.
  bool WaitForNotifications(const std::string& alertname,
                            const std::string& status, size_t count = 1) {
    return PollUntil(kDeadline, [&] {
      return NotificationsOf(hook_, alertname, status).size() >= count;
    });
  }

  // Waits until the collector stored `count` health probes taken from now
  // on: evidence that later input went through the rules and the
  // notification rounds (group_interval 1 s) that would have repeated an
  // alert, instead of a fixed sleep.
  bool ProbesStoredSinceNow(size_t count) {
    const int64_t from_ms = absl::ToUnixMillis(absl::Now());
    const std::string since = absl::FormatTime(
        absl::RFC3339_full, absl::FromUnixMillis(from_ms), absl::UTCTimeZone());
    return PollUntil(kDeadline, [&] {
      const json metrics =
          Ctl({"metrics", "probe.health.ok", "--since", since});
      if (!metrics.is_object() || !metrics.contains("series")) return false;
      size_t stored = 0;
      for (const json& series : metrics["series"]) {
        if (series.contains("points")) stored += series["points"].size();
      }
      return stored >= count;
    });
  }

  // eroomctl's answer as JSON, or null when it failed.
  json Ctl(std::vector<std::string> args) {
    args.insert(args.begin(), {"-o", "json"});
    const CommandResult result =
        RunCommand(EroomctlArgv(collector_address_, args));
    if (result.exit_code != 0) return nullptr;
    return json::parse(result.out, nullptr, false);
  }

  std::string dir_;
  int sim_port_ = 0;
  std::string collector_address_;
  WebhookSink hook_;
  WebhookSink hanging_{/*hang=*/true};
  test_support::SmtpSink mail_;
  std::unique_ptr<ChildProcess> sim_;
  std::unique_ptr<ChildProcess> collector_;
  std::unique_ptr<ChildProcess> agent_;
};

TEST_F(AlertingTest, FailingHealthFiresOnceAndResolvesOnce) {
  SetFault("health_500", true);
  ASSERT_TRUE(WaitForNotifications("health_probe_failing", "firing"));
  // Shown by eroomctl while it fires.
  const json alerts = Ctl({"alerts"});
  ASSERT_FALSE(alerts.is_null());
  EXPECT_NE(alerts.dump().find("health_probe_failing"), std::string::npos)
      << alerts.dump();

  SetFault("health_500", false);
  ASSERT_TRUE(WaitForNotifications("health_probe_failing", "resolved"));
  // Probes go on every 200 ms: nothing more is sent about it.
  ASSERT_TRUE(ProbesStoredSinceNow(10));
  EXPECT_THAT(NotificationsOf(hook_, "health_probe_failing", "firing"),
              ::testing::SizeIs(1));
  EXPECT_THAT(NotificationsOf(hook_, "health_probe_failing", "resolved"),
              ::testing::SizeIs(1));
}

TEST_F(AlertingTest, HangingReceiverDelaysNoOther) {
  // The hanging receiver holds its first request for the whole test; the
  // hook, listed after it, hears of every alert anyway.
  SetFault("health_500", true);
  ASSERT_TRUE(WaitForNotifications("health_probe_failing", "firing"));
  EXPECT_TRUE(hanging_.WaitForRequests(1, absl::Seconds(5)));
}

TEST_F(AlertingTest, SlowApiFiresTheLatencyRule) {
  SetFault("slow_api", true);
  ASSERT_TRUE(WaitForNotifications("api_latency_max_critical", "firing"));
  const std::vector<Notified> fired =
      NotificationsOf(hook_, "api_latency_max_critical", "firing");
  EXPECT_NE(fired.front().alert.dump().find("/health answered"),
            std::string::npos)
      << fired.front().alert.dump();
  SetFault("slow_api", false);
  EXPECT_TRUE(WaitForNotifications("api_latency_max_critical", "resolved"));
}

TEST_F(AlertingTest, StuckRoomFiresWhileRunningAndResolvesAtItsEnd) {
  ASSERT_TRUE(WaitForNotifications("room_stuck", "firing"));
  ASSERT_TRUE(WaitForNotifications("room_stuck", "resolved"));
  const Notified fired = NotificationsOf(hook_, "room_stuck", "firing").front();
  const Notified resolved =
      NotificationsOf(hook_, "room_stuck", "resolved").front();
  EXPECT_LT(fired.received, resolved.received);
}

TEST_F(AlertingTest, FatalShutdownFiresAtOnceAndIsMailed) {
  ASSERT_TRUE(PollUntil(kDeadline, [&] { return AgentConnected(); }));
  SetFault("fatal", true);
  ASSERT_TRUE(WaitForNotifications("fatal_shutdown", "firing"));
  EXPECT_EQ(NotificationsOf(hook_, "fatal_shutdown", "firing")
                .front()
                .alert["labels"]
                .value("severity", ""),
            "critical");
  const std::optional<test_support::SmtpMessage> mail =
      mail_.WaitForMessage(kDeadline);
  ASSERT_TRUE(mail.has_value());
  EXPECT_THAT(mail->to, ::testing::ElementsAre("<ops@example.test>"));
  EXPECT_THAT(mail->data,
              ::testing::HasSubstr("Subject: [FIRING:1] fatal_shutdown"));
  EXPECT_THAT(mail->data,
              ::testing::HasSubstr("logged that it shuts itself down"));
}

TEST_F(AlertingTest, KilledAgentIsHostDown) {
  ASSERT_TRUE(PollUntil(kDeadline, [&] { return AgentConnected(); }));
  agent_->Signal(SIGKILL);
  agent_->Wait(absl::Seconds(5));
  ASSERT_TRUE(WaitForNotifications("host_down", "firing"));
  StartAgent();
  EXPECT_TRUE(WaitForNotifications("host_down", "resolved"));
}

TEST_F(AlertingTest, ErrorBurstIsOneNotificationWithItsCount) {
  // The burst: 50 ERROR lines at once, of two message shapes (25 each),
  // gathered by message shape in one message.
  SetFault("error_burst", true);
  const auto burst_posts = [&] {
    std::vector<json> posts;
    for (const WebhookSink::Request& request : hook_.Requests()) {
      const json body = json::parse(request.body, nullptr, false);
      if (body.is_object() && body.contains("alerts") &&
          request.body.find("Too many requests") != std::string::npos) {
        posts.push_back(body);
      }
    }
    return posts;
  };
  ASSERT_TRUE(PollUntil(kDeadline, [&] { return !burst_posts().empty(); }));
  ASSERT_TRUE(ProbesStoredSinceNow(10));
  const std::vector<json> posts = burst_posts();
  ASSERT_THAT(posts, ::testing::SizeIs(1));
  std::vector<int> counts;
  for (const json& alert : posts.front()["alerts"]) {
    EXPECT_EQ(alert["labels"].value("alertname", ""), "new_error_lines");
    counts.push_back(alert.value("count", 0));
  }
  EXPECT_THAT(counts, ::testing::ElementsAre(25, 25));
}

TEST_F(AlertingTest, SighupReloadsTheRulesAndKeepsTheStreams) {
  ASSERT_TRUE(PollUntil(kDeadline, [&] { return AgentConnected(); }));
  WriteFile(dir_ + "/rules.yaml",
            absl::StrCat(kRules, R"(  - name: queue_backlog
    kind: threshold
    metric: queue.queued
    condition: "> 10"
    severity: warning
)"));
  collector_->Signal(SIGHUP);
  ASSERT_TRUE(PollUntil(kDeadline, [&] {
    return Ctl({"rules"}).dump().find("queue_backlog") != std::string::npos;
  }));

  // A bad file: the rules in force stay.
  WriteFile(dir_ + "/rules.yaml",
            "rules:\n  - {name: broken, kind: threshold, metric: no.such}\n");
  collector_->Signal(SIGHUP);
  ASSERT_TRUE(PollUntil(kDeadline, [&] {
    return collector_->Log().find("rules in force stay") != std::string::npos;
  }));
  const std::string rules = Ctl({"rules"}).dump();
  EXPECT_NE(rules.find("queue_backlog"), std::string::npos) << rules;
  EXPECT_EQ(rules.find("broken"), std::string::npos) << rules;
  EXPECT_NE(collector_->Log().find("metric"), std::string::npos);
  // The agent's stream was never dropped.
  EXPECT_EQ(collector_->Log().find("disconnected"), std::string::npos);
  EXPECT_TRUE(AgentConnected());
}

}  // namespace
}  // namespace eroom::testing
