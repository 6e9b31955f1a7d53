#include <map>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "collector/alerting/event_window.h"
#include "collector/alerting/message_shape.h"
#include "collector/alerting/metric_window.h"
#include "collector/alerting/rule_engine.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace eroom::collector::alerting {

void PrintTo(const AlertEvent& event, std::ostream* out) {
  constexpr const char* kKinds[] = {"pending", "firing", "resolved", "updated"};
  *out << kKinds[static_cast<int>(event.kind)] << " " << event.alert.key.rule
       << "/" << event.alert.key.agent_id << "/" << event.alert.key.group
       << " value=" << event.alert.value << " count=" << event.alert.count
       << (event.inhibited ? " inhibited" : "");
}

namespace {

namespace v1 = ::eroom::monitor::v1;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::SizeIs;
using ::testing::UnorderedElementsAre;

using Kind = AlertEvent::Kind;

const absl::Time kStart = absl::FromUnixSeconds(1750000000);

absl::Time At(absl::Duration offset) { return kStart + offset; }

Condition Above(double threshold) {
  return Condition{Condition::Op::kGreater, threshold};
}
Condition Below(double threshold) {
  return Condition{Condition::Op::kLess, threshold};
}

AlertRule Threshold(std::string name, std::string metric,
                    Aggregation aggregation, absl::Duration window,
                    Condition condition) {
  AlertRule rule;
  rule.name = std::move(name);
  ThresholdRule threshold;
  threshold.metric = std::move(metric);
  threshold.aggregation = aggregation;
  threshold.window = window;
  rule.kind = threshold;
  rule.condition = condition;
  return rule;
}

AlertRule HostDown(absl::Duration after) {
  AlertRule rule;
  rule.name = "host_down";
  rule.severity = Severity::kCritical;
  AbsenceRule absence;
  absence.after = after;
  rule.kind = absence;
  rule.inhibits_host = true;
  return rule;
}

AlertRule ErrorLines(bool group_by_shape) {
  AlertRule rule;
  rule.name = "error_lines";
  LogMatchRule log;
  log.match.levels = {v1::ERROR};
  log.window = absl::Minutes(1);
  log.group_by_message_shape = group_by_shape;
  rule.kind = log;
  rule.summary = "{{count}} x {{group}} on {{host}}";
  return rule;
}

AlertRule RoomDuration(std::string name, RoomDurationRule::Measure measure,
                       double threshold_ms) {
  AlertRule rule;
  rule.name = std::move(name);
  rule.kind = RoomDurationRule{.measure = measure};
  rule.condition = Above(threshold_ms);
  return rule;
}

RuleSet Rules(std::vector<AlertRule> rules) {
  return RuleSet{.rules = std::move(rules)};
}

v1::LogEvent Log(std::string type, v1::LogLevel level, std::string message,
                 std::map<std::string, std::string> fields = {},
                 std::string ruid = "") {
  v1::LogEvent event;
  event.set_event_type(std::move(type));
  event.set_level(level);
  event.set_message(std::move(message));
  for (auto& [name, value] : fields) (*event.mutable_fields())[name] = value;
  event.set_ruid(std::move(ruid));
  return event;
}

HostProgress Progress(const std::string& agent_id, absl::Time seen) {
  HostProgress progress;
  progress.agent_id = agent_id;
  progress.last_seen = seen;
  return progress;
}

StoredBatch Logs(const std::string& agent_id, absl::Time received,
                 const std::vector<v1::LogEvent>& logs) {
  StoredBatch batch;
  batch.received = received;
  AgentBatch agent_batch;
  agent_batch.agent_id = agent_id;
  for (const v1::LogEvent& log : logs) {
    *agent_batch.batch->add_events()->mutable_log() = log;
  }
  batch.batches.push_back(std::move(agent_batch));
  batch.hosts.push_back(Progress(agent_id, received));
  return batch;
}

StoredBatch Metric(const std::string& agent_id, absl::Time received,
                   const std::string& name, double value,
                   std::map<std::string, std::string> labels = {}) {
  StoredBatch batch;
  batch.received = received;
  DerivedMetrics metrics;
  metrics.agent_id = agent_id;
  metrics.values = {MetricValue{name, std::move(labels), value}};
  batch.metrics.push_back(std::move(metrics));
  batch.hosts.push_back(Progress(agent_id, received));
  return batch;
}

v1::AgentHello Hello(const std::string& agent_id, const std::string& hostname) {
  v1::AgentHello hello;
  hello.set_agent_id(agent_id);
  hello.set_hostname(hostname);
  return hello;
}

// Drives an engine and returns the changes of each call.
class Driver {
 public:
  explicit Driver(RuleSet rules) : engine_(std::move(rules)) {}

  RuleEngine& engine() { return engine_; }

  std::vector<AlertEvent> Store(const StoredBatch& batch) {
    std::vector<AlertEvent> events;
    engine_.OnStored(batch, &events);
    return events;
  }
  std::vector<AlertEvent> Tick(absl::Time now) {
    std::vector<AlertEvent> events;
    engine_.Tick(now, &events);
    return events;
  }
  std::vector<AlertEvent> Register(const v1::AgentHello& hello, absl::Time at) {
    std::vector<AlertEvent> events;
    engine_.OnHostRegistered(hello, at, &events);
    return events;
  }
  std::vector<AlertEvent> Reload(RuleSet rules, absl::Time now) {
    std::vector<AlertEvent> events;
    engine_.SetRules(std::move(rules), now, &events);
    return events;
  }
  // The alerts pending or firing, of every rule.
  std::vector<Alert> Active() const {
    std::vector<Alert> active;
    for (const RuleStatus& status : engine_.Status()) {
      active.insert(active.end(), status.active.begin(), status.active.end());
    }
    return active;
  }

 private:
  RuleEngine engine_;
};

auto IsChange(Kind kind, const std::string& rule, const std::string& agent_id,
              const std::string& group = "") {
  return ::testing::AllOf(
      Field("kind", &AlertEvent::kind, kind),
      Field(
          "alert", &AlertEvent::alert,
          Field("key", &Alert::key,
                AlertKey{.rule = rule, .agent_id = agent_id, .group = group})));
}

// --- threshold -------------------------------------------------------------

TEST(RuleEngineThresholdTest, PendsForItsForThenFiresThenResolves) {
  AlertRule rule = Threshold("api_latency", "probe.health.latency_ms",
                             Aggregation::kMax, absl::Minutes(1), Above(500));
  rule.for_duration = absl::Seconds(30);
  Driver driver(Rules({rule}));

  EXPECT_THAT(driver.Store(Metric("a1", At(absl::ZeroDuration()),
                                  "probe.health.latency_ms", 600)),
              ElementsAre(IsChange(Kind::kPending, "api_latency", "a1")));
  EXPECT_THAT(driver.Store(Metric("a1", At(absl::Seconds(10)),
                                  "probe.health.latency_ms", 700)),
              IsEmpty());
  EXPECT_THAT(driver.Tick(At(absl::Seconds(29))), IsEmpty());
  const std::vector<AlertEvent> firing = driver.Tick(At(absl::Seconds(30)));
  ASSERT_THAT(firing,
              ElementsAre(IsChange(Kind::kFiring, "api_latency", "a1")));
  EXPECT_EQ(firing[0].alert.value, 700);
  EXPECT_EQ(firing[0].alert.summary, "api_latency on a1: 700");
  EXPECT_EQ(firing[0].alert.pending_since, At(absl::ZeroDuration()));
  EXPECT_EQ(firing[0].alert.firing_since, At(absl::Seconds(30)));

  // The max over the minute holds while 700 is in it.
  EXPECT_THAT(driver.Store(Metric("a1", At(absl::Seconds(60)),
                                  "probe.health.latency_ms", 80)),
              IsEmpty());
  const std::vector<AlertEvent> resolved = driver.Store(
      Metric("a1", At(absl::Seconds(75)), "probe.health.latency_ms", 90));
  ASSERT_THAT(resolved,
              ElementsAre(IsChange(Kind::kResolved, "api_latency", "a1")));
  EXPECT_EQ(resolved[0].alert.state, AlertState::kResolved);
  EXPECT_EQ(resolved[0].alert.firing_since, At(absl::Seconds(30)));
  EXPECT_EQ(resolved[0].alert.resolved_at, At(absl::Seconds(75)));
  EXPECT_THAT(driver.Active(), IsEmpty());
}

TEST(RuleEngineThresholdTest, PendingWhoseConditionClearsResolvesSilently) {
  AlertRule rule = Threshold("cpu", "host.cpu_percent", Aggregation::kLast,
                             absl::ZeroDuration(), Above(90));
  rule.for_duration = absl::Minutes(5);
  Driver driver(Rules({rule}));

  driver.Store(Metric("a1", At(absl::ZeroDuration()), "host.cpu_percent", 95));
  const std::vector<AlertEvent> events =
      driver.Store(Metric("a1", At(absl::Minutes(1)), "host.cpu_percent", 40));
  ASSERT_THAT(events, ElementsAre(IsChange(Kind::kResolved, "cpu", "a1")));
  EXPECT_EQ(events[0].alert.firing_since, absl::InfinitePast());
  EXPECT_THAT(driver.Tick(At(absl::Minutes(6))), IsEmpty());
}

TEST(RuleEngineThresholdTest, RecoveryConditionKeepsItFromFlapping) {
  AlertRule rule = Threshold("cpu", "host.cpu_percent", Aggregation::kLast,
                             absl::ZeroDuration(), Above(90));
  rule.recovery = Below(80);
  Driver driver(Rules({rule}));

  std::vector<AlertEvent> all;
  int second = 0;
  for (double value : {95.0, 85.0, 92.0, 88.0, 91.0, 85.0}) {
    for (AlertEvent& event :
         driver.Store(Metric("a1", At(absl::Seconds(10 * second++)),
                             "host.cpu_percent", value))) {
      all.push_back(std::move(event));
    }
  }
  // Around the threshold: one firing, then only updates of its value.
  ASSERT_THAT(all, SizeIs(6));
  EXPECT_EQ(all[0].kind, Kind::kFiring);
  for (size_t i = 1; i < all.size(); ++i) {
    EXPECT_EQ(all[i].kind, Kind::kUpdated) << i;
  }
  EXPECT_EQ(all.back().alert.value, 85);

  EXPECT_THAT(
      driver.Store(Metric("a1", At(absl::Minutes(2)), "host.cpu_percent", 79)),
      ElementsAre(IsChange(Kind::kResolved, "cpu", "a1")));
}

TEST(RuleEngineThresholdTest, AtMostOneUpdatePerCall) {
  Driver driver(Rules({Threshold("cpu", "host.cpu_percent", Aggregation::kLast,
                                 absl::ZeroDuration(), Above(90))}));
  driver.Store(Metric("a1", At(absl::ZeroDuration()), "host.cpu_percent", 95));
  StoredBatch batch =
      Metric("a1", At(absl::Seconds(10)), "host.cpu_percent", 96);
  batch.metrics.push_back(batch.metrics[0]);
  batch.metrics.back().values[0].value = 97.5;
  const std::vector<AlertEvent> events = driver.Store(batch);
  ASSERT_THAT(events, ElementsAre(IsChange(Kind::kUpdated, "cpu", "a1")));
  EXPECT_EQ(events[0].alert.value, 97.5);
}

TEST(RuleEngineThresholdTest, KeepFiringForHoldsAResolution) {
  AlertRule rule = Threshold("cpu", "host.cpu_percent", Aggregation::kLast,
                             absl::ZeroDuration(), Above(90));
  rule.keep_firing_for = absl::Minutes(2);
  Driver driver(Rules({rule}));

  driver.Store(Metric("a1", At(absl::ZeroDuration()), "host.cpu_percent", 95));
  EXPECT_THAT(
      driver.Store(Metric("a1", At(absl::Seconds(10)), "host.cpu_percent", 50)),
      ElementsAre(IsChange(Kind::kUpdated, "cpu", "a1")));
  EXPECT_THAT(driver.Tick(At(absl::Seconds(129))), IsEmpty());
  // Back above before it ran out: the countdown starts over.
  driver.Store(Metric("a1", At(absl::Seconds(100)), "host.cpu_percent", 97));
  driver.Store(Metric("a1", At(absl::Seconds(110)), "host.cpu_percent", 40));
  EXPECT_THAT(driver.Tick(At(absl::Seconds(229))), IsEmpty());
  EXPECT_THAT(driver.Tick(At(absl::Seconds(230))),
              ElementsAre(IsChange(Kind::kResolved, "cpu", "a1")));
}

TEST(RuleEngineThresholdTest, SamplesInARowNeedThatManySamples) {
  AlertRule rule;
  rule.name = "health_failing";
  ThresholdRule threshold;
  threshold.metric = "probe.health.ok";
  threshold.aggregation = Aggregation::kMax;
  threshold.samples = 3;
  rule.kind = threshold;
  rule.condition = Below(1);
  Driver driver(Rules({rule}));

  driver.Store(Metric("a1", At(absl::Seconds(0)), "probe.health.ok", 1));
  EXPECT_THAT(
      driver.Store(Metric("a1", At(absl::Seconds(5)), "probe.health.ok", 0)),
      IsEmpty());
  EXPECT_THAT(
      driver.Store(Metric("a1", At(absl::Seconds(10)), "probe.health.ok", 0)),
      IsEmpty());
  EXPECT_THAT(
      driver.Store(Metric("a1", At(absl::Seconds(15)), "probe.health.ok", 0)),
      ElementsAre(IsChange(Kind::kFiring, "health_failing", "a1")));
  EXPECT_THAT(
      driver.Store(Metric("a1", At(absl::Seconds(20)), "probe.health.ok", 1)),
      ElementsAre(IsChange(Kind::kResolved, "health_failing", "a1")));
}

TEST(RuleEngineThresholdTest, PercentileOverTheWindow) {
  Driver driver(
      Rules({Threshold("api_p95", "probe.health.latency_ms", Aggregation::kP95,
                       absl::Minutes(5), Above(500))}));
  std::vector<AlertEvent> events;
  for (int i = 1; i <= 20; ++i) {
    // 19 of 20 fast probes and one slow: p95 is the 19th, 190 ms.
    events = driver.Store(Metric("a1", At(absl::Seconds(i)),
                                 "probe.health.latency_ms",
                                 i == 20 ? 5000 : 10.0 * i));
    EXPECT_THAT(events, IsEmpty()) << i;
  }
  // 2 of 21 slow: the 20th of 21 is.
  events = driver.Store(
      Metric("a1", At(absl::Seconds(21)), "probe.health.latency_ms", 900));
  ASSERT_THAT(events, ElementsAre(IsChange(Kind::kFiring, "api_p95", "a1")));
  EXPECT_EQ(events[0].alert.value, 900);
}

TEST(RuleEngineThresholdTest, OneAlertPerSeriesWithItsLabels) {
  AlertRule rule =
      Threshold("disk_full", "disk.used_percent", Aggregation::kLast,
                absl::ZeroDuration(), Above(90));
  rule.summary = "{{labels.mount}} on {{host}} is {{value}} % full";
  Driver driver(Rules({rule}));

  StoredBatch batch =
      Metric("a1", At(absl::ZeroDuration()), "disk.used_percent", 95.123456789,
             {{"mount", "/"}});
  batch.metrics[0].values.push_back(
      {"disk.used_percent", {{"mount", "/data"}}, 50});
  batch.metrics[0].values.push_back(
      {"disk.used_percent", {{"mount", "/var"}}, 99});
  const std::vector<AlertEvent> events = driver.Store(batch);
  ASSERT_THAT(
      events,
      ElementsAre(IsChange(Kind::kFiring, "disk_full", "a1", "mount=/"),
                  IsChange(Kind::kFiring, "disk_full", "a1", "mount=/var")));
  EXPECT_EQ(events[0].alert.summary, "/ on a1 is 95.12 % full");
  EXPECT_THAT(
      events[0].alert.labels,
      ElementsAre(Pair("agent_id", "a1"), Pair("alertname", "disk_full"),
                  Pair("group", "mount=/"), Pair("host", "a1"),
                  Pair("mount", "/"), Pair("severity", "warning")));
}

TEST(RuleEngineThresholdTest, LabelMatchSelectsSeries) {
  AlertRule rule =
      Threshold("root_full", "disk.used_percent", Aggregation::kLast,
                absl::ZeroDuration(), Above(90));
  std::get<ThresholdRule>(rule.kind).label_match = {{"mount", "/"}};
  Driver driver(Rules({rule}));
  EXPECT_THAT(
      driver.Store(Metric("a1", At(absl::ZeroDuration()), "disk.used_percent",
                          99, {{"mount", "/data"}})),
      IsEmpty());
  EXPECT_THAT(
      driver.Store(Metric("a1", At(absl::Seconds(1)), "disk.used_percent", 99,
                          {{"mount", "/"}})),
      ElementsAre(IsChange(Kind::kFiring, "root_full", "a1", "mount=/")));
}

TEST(RuleEngineThresholdTest, SeriesThatFallsSilentResolves) {
  // eroom.rss_bytes is only reported while ERoom is up.
  Driver driver(Rules({Threshold("rss", "eroom.rss_bytes", Aggregation::kLast,
                                 absl::ZeroDuration(), Above(2e9))}));
  driver.Store(Metric("a1", At(absl::ZeroDuration()), "eroom.rss_bytes", 3e9));
  EXPECT_THAT(driver.Tick(At(absl::Minutes(4))), IsEmpty());
  EXPECT_THAT(driver.Tick(At(absl::Minutes(5))),
              ElementsAre(IsChange(Kind::kResolved, "rss", "a1")));
}

// --- ratio -----------------------------------------------------------------

TEST(RuleEngineRatioTest, NotEvaluatedBelowMinDenominator) {
  AlertRule rule;
  rule.name = "error_rate";
  RatioRule ratio;
  ratio.numerator.event_types = {"room_failed"};
  ratio.denominator.event_types = {"room_completed", "room_failed"};
  ratio.window = absl::Hours(1);
  ratio.min_denominator = 10;
  rule.kind = ratio;
  rule.condition = Above(5);
  rule.summary = "{{value}} % of rooms failed";
  Driver driver(Rules({rule}));

  const v1::LogEvent failed = Log("room_failed", v1::ERROR, "failed");
  const v1::LogEvent completed = Log("room_completed", v1::INFO, "done");
  // 2 of 5 failed: 40 %, but too few rooms to say.
  EXPECT_THAT(
      driver.Store(Logs("a1", At(absl::Minutes(1)),
                        {failed, failed, completed, completed, completed})),
      IsEmpty());
  const std::vector<AlertEvent> events = driver.Store(
      Logs("a1", At(absl::Minutes(2)),
           {completed, completed, completed, completed, completed}));
  ASSERT_THAT(events, ElementsAre(IsChange(Kind::kFiring, "error_rate", "a1")));
  EXPECT_EQ(events[0].alert.value, 20);
  EXPECT_EQ(events[0].alert.summary, "20 % of rooms failed");

  // An hour later the window is empty: not evaluated, so it stays firing.
  EXPECT_THAT(driver.Tick(At(absl::Hours(2))), IsEmpty());
  std::vector<v1::LogEvent> healthy(20, completed);
  EXPECT_THAT(driver.Store(Logs("a1", At(absl::Hours(2)), healthy)),
              ElementsAre(IsChange(Kind::kResolved, "error_rate", "a1")));
}

// --- absence ---------------------------------------------------------------

TEST(RuleEngineAbsenceTest, HostDownFiresFromTickAndResolvesOnData) {
  AlertRule rule = HostDown(absl::Seconds(30));
  rule.summary = "{{host}} silent for {{value}} s";
  Driver driver(Rules({rule}));

  driver.Register(Hello("a1", "web-1"), At(absl::ZeroDuration()));
  driver.Store(Metric("a1", At(absl::Seconds(5)), "host.cpu_percent", 1));
  EXPECT_THAT(driver.Tick(At(absl::Seconds(34))), IsEmpty());
  const std::vector<AlertEvent> firing = driver.Tick(At(absl::Seconds(35)));
  ASSERT_THAT(firing, ElementsAre(IsChange(Kind::kFiring, "host_down", "a1")));
  EXPECT_FALSE(firing[0].inhibited);
  EXPECT_EQ(firing[0].alert.summary, "web-1 silent for 30 s");
  EXPECT_EQ(firing[0].alert.labels.at("host"), "web-1");
  // Time alone changes nothing to report.
  EXPECT_THAT(driver.Tick(At(absl::Seconds(60))), IsEmpty());

  EXPECT_THAT(driver.Register(Hello("a1", "web-1"), At(absl::Seconds(90))),
              ElementsAre(IsChange(Kind::kResolved, "host_down", "a1")));
}

TEST(RuleEngineAbsenceTest, StreamEndIsNoSignOfLife) {
  Driver driver(Rules({HostDown(absl::Seconds(30))}));
  driver.Store(Metric("a1", At(absl::ZeroDuration()), "host.cpu_percent", 1));
  EXPECT_THAT(driver.Tick(At(absl::Seconds(30))), SizeIs(1));
  std::vector<AlertEvent> events;
  driver.engine().OnHostDisconnected("a1", At(absl::Seconds(40)), &events);
  EXPECT_THAT(events, IsEmpty());
  EXPECT_THAT(driver.Tick(At(absl::Seconds(41))), IsEmpty());
  EXPECT_THAT(driver.Active(), SizeIs(1));
}

TEST(RuleEngineAbsenceTest, RestartedCollectorWaitsForHostsToComeBack) {
  Driver driver(Rules({HostDown(absl::Seconds(30))}));
  Alert cpu;
  cpu.key = AlertKey{"cpu", "a1", ""};
  cpu.state = AlertState::kFiring;
  // Rule cpu is gone: its alert resolves; a1 gets its `after` to return.
  driver.engine().Restore({cpu});
  EXPECT_THAT(driver.Tick(At(absl::ZeroDuration())),
              ElementsAre(IsChange(Kind::kResolved, "cpu", "a1")));
  EXPECT_THAT(driver.Tick(At(absl::Seconds(29))), IsEmpty());
  EXPECT_THAT(driver.Tick(At(absl::Seconds(30))),
              ElementsAre(IsChange(Kind::kFiring, "host_down", "a1")));
}

TEST(RuleEngineAbsenceTest, MetricAndEventAbsence) {
  AlertRule no_probe;
  no_probe.name = "no_probe";
  no_probe.kind =
      AbsenceRule{"probe.health.ok", std::nullopt, absl::Minutes(1)};
  AlertRule no_rooms;
  no_rooms.name = "no_rooms";
  no_rooms.kind = AbsenceRule{"", EventMatch{{"room_started"}, {}, "", {}},
                              absl::Minutes(2)};
  Driver driver(Rules({no_probe, no_rooms}));

  driver.Store(Metric("a1", At(absl::ZeroDuration()), "probe.health.ok", 1));
  driver.Store(Metric("a1", At(absl::Seconds(50)), "host.cpu_percent", 1));
  EXPECT_THAT(driver.Tick(At(absl::Seconds(59))), IsEmpty());
  EXPECT_THAT(driver.Tick(At(absl::Seconds(60))),
              ElementsAre(IsChange(Kind::kFiring, "no_probe", "a1")));
  EXPECT_THAT(driver.Store(Logs("a1", At(absl::Seconds(90)),
                                {Log("room_started", v1::INFO, "start", {},
                                     "room_0123abcd")})),
              IsEmpty());
  EXPECT_THAT(driver.Tick(At(absl::Seconds(209))), IsEmpty());
  EXPECT_THAT(driver.Tick(At(absl::Seconds(210))),
              ElementsAre(IsChange(Kind::kFiring, "no_rooms", "a1")));
  EXPECT_THAT(
      driver.Store(Metric("a1", At(absl::Seconds(211)), "probe.health.ok", 1)),
      ElementsAre(IsChange(Kind::kResolved, "no_probe", "a1")));
}

// --- log match -------------------------------------------------------------

TEST(RuleEngineLogMatchTest, BurstOfOneShapeIsOneAlertWithItsCount) {
  Driver driver(Rules({ErrorLines(/*group_by_shape=*/true)}));
  driver.Register(Hello("a1", "web-1"), At(absl::ZeroDuration()));

  std::vector<v1::LogEvent> burst;
  for (int i = 0; i < 500; ++i) {
    burst.push_back(Log(
        "error", v1::ERROR,
        absl::StrCat("Meshy request failed after ", 3000 + i, " ms for room_",
                     10000000 + i, "ab\n\tat com.example.Meshy.call")));
  }
  burst.push_back(Log("error", v1::ERROR, "Disk write failed"));
  burst.push_back(Log("room_started", v1::INFO, "not an error"));
  const std::vector<AlertEvent> events =
      driver.Store(Logs("a1", At(absl::Seconds(1)), burst));
  const std::string shape = "Meshy request failed after <n> ms for <ruid>";
  ASSERT_THAT(events,
              ElementsAre(IsChange(Kind::kFiring, "error_lines", "a1",
                                   "Disk write failed"),
                          IsChange(Kind::kFiring, "error_lines", "a1", shape)));
  EXPECT_EQ(events[1].alert.count, 500);
  EXPECT_EQ(events[1].alert.summary,
            absl::StrCat("500 x ", shape, " on web-1"));
  EXPECT_EQ(events[1].alert.labels.at("group"), shape);

  // More of it: one update, counting on.
  const std::vector<AlertEvent> more = driver.Store(
      Logs("a1", At(absl::Seconds(30)), {burst[0], burst[1], burst[2]}));
  ASSERT_THAT(
      more, ElementsAre(IsChange(Kind::kUpdated, "error_lines", "a1", shape)));
  EXPECT_EQ(more[0].alert.count, 503);

  // The window slides past them.
  EXPECT_THAT(driver.Tick(At(absl::Seconds(62))),
              ElementsAre(IsChange(Kind::kResolved, "error_lines", "a1",
                                   "Disk write failed")));
  const std::vector<AlertEvent> over = driver.Tick(At(absl::Seconds(92)));
  ASSERT_THAT(
      over, ElementsAre(IsChange(Kind::kResolved, "error_lines", "a1", shape)));
  EXPECT_EQ(over[0].alert.count, 503);
}

TEST(RuleEngineLogMatchTest, AtMost256ShapesPerHostAndRule) {
  Driver driver(Rules({ErrorLines(/*group_by_shape=*/true)}));
  std::vector<v1::LogEvent> errors;
  for (int i = 0; i < 257; ++i) {
    errors.push_back(
        Log("error", v1::ERROR,
            absl::StrCat("error kind ", std::string(i % 26 + 1, 'a'),
                         std::string(i / 26 + 1, 'b'))));
  }
  EXPECT_THAT(driver.Store(Logs("a1", At(absl::ZeroDuration()), errors)),
              SizeIs(256));
  EXPECT_EQ(driver.engine().dropped().shape_events, 1);
  // Once they left the window, new shapes have room again.
  driver.Tick(At(absl::Minutes(2)));
  EXPECT_THAT(driver.Store(Logs("a1", At(absl::Minutes(3)), {errors.back()})),
              SizeIs(1));
}

TEST(RuleEngineLogMatchTest, MatchesTypeLevelRegexAndFields) {
  AlertRule rule;
  rule.name = "key_missing";
  rule.severity = Severity::kCritical;
  LogMatchRule log;
  log.match = EventMatch{{"config_problem"},
                         {v1::ERROR},
                         "MESHY_KEY|ANTHROPIC_KEY",
                         {{"setting", "MESHY_KEY"}}};
  rule.kind = log;
  Driver driver(Rules({rule}));

  const v1::LogEvent match = Log("config_problem", v1::ERROR,
                                 "MESHY_KEY 환경 변수가 설정되지 않았습니다",
                                 {{"setting", "MESHY_KEY"}});
  v1::LogEvent other_type = match;
  other_type.set_event_type("error");
  v1::LogEvent other_level = match;
  other_level.set_level(v1::WARN);
  v1::LogEvent other_message = match;
  other_message.set_message("port");
  v1::LogEvent other_field = match;
  (*other_field.mutable_fields())["setting"] = "ANTHROPIC_KEY";
  EXPECT_THAT(
      driver.Store(Logs("a1", At(absl::Seconds(1)),
                        {other_type, other_level, other_message, other_field})),
      IsEmpty());
  const std::vector<AlertEvent> events =
      driver.Store(Logs("a1", At(absl::Seconds(2)), {match}));
  ASSERT_THAT(events,
              ElementsAre(IsChange(Kind::kFiring, "key_missing", "a1")));
  EXPECT_EQ(events[0].alert.severity, Severity::kCritical);
  EXPECT_EQ(events[0].alert.labels.at("severity"), "critical");
}

TEST(RuleEngineLogMatchTest, ConditionOnTheCountWithFor) {
  AlertRule rule = ErrorLines(/*group_by_shape=*/false);
  rule.condition = Condition{Condition::Op::kGreaterOrEqual, 10};
  rule.for_duration = absl::Seconds(20);
  Driver driver(Rules({rule}));

  const v1::LogEvent error = Log("error", v1::ERROR, "boom");
  EXPECT_THAT(driver.Store(Logs("a1", At(absl::Seconds(1)),
                                std::vector<v1::LogEvent>(9, error))),
              IsEmpty());
  EXPECT_THAT(driver.Store(Logs("a1", At(absl::Seconds(2)), {error})),
              ElementsAre(IsChange(Kind::kPending, "error_lines", "a1")));
  driver.Store(Logs("a1", At(absl::Seconds(10)), {error, error}));
  const std::vector<AlertEvent> firing = driver.Tick(At(absl::Seconds(22)));
  ASSERT_THAT(firing,
              ElementsAre(IsChange(Kind::kFiring, "error_lines", "a1")));
  EXPECT_EQ(firing[0].alert.count, 12);
  EXPECT_EQ(firing[0].alert.value, 12);
}

// --- room duration ---------------------------------------------------------

TEST(RuleEngineRoomTest, StuckRoomFiresWhileRunningAndResolvesAtItsOutcome) {
  AlertRule rule =
      RoomDuration("room_stuck", RoomDurationRule::Measure::kRunning, 600000);
  rule.summary = "{{group}} running for {{value}} ms";
  Driver driver(Rules({rule}));

  driver.Store(
      Logs("a1", At(absl::ZeroDuration()),
           {Log("room_started", v1::INFO, "start", {}, "room_aaaa0001"),
            Log("room_started", v1::INFO, "start", {}, "room_aaaa0002")}));
  driver.Store(Logs("a1", At(absl::Minutes(3)),
                    {Log("room_completed", v1::INFO, "done",
                         {{"outcome", "success"}}, "room_aaaa0002")}));
  EXPECT_THAT(driver.Tick(At(absl::Minutes(9))), IsEmpty());
  const std::vector<AlertEvent> firing =
      driver.Tick(At(absl::Minutes(10)) + absl::Milliseconds(1));
  ASSERT_THAT(firing, ElementsAre(IsChange(Kind::kFiring, "room_stuck", "a1",
                                           "room_aaaa0001")));
  EXPECT_EQ(firing[0].alert.summary, "room_aaaa0001 running for 600001 ms");
  EXPECT_THAT(driver.Tick(At(absl::Minutes(11))), IsEmpty());

  EXPECT_THAT(
      driver.Store(Logs("a1", At(absl::Minutes(12)),
                        {Log("room_failed", v1::ERROR, "failed",
                             {{"outcome", "failure"}}, "room_aaaa0001")})),
      ElementsAre(
          IsChange(Kind::kResolved, "room_stuck", "a1", "room_aaaa0001")));
  EXPECT_THAT(driver.Tick(At(absl::Minutes(30))), IsEmpty());
}

TEST(RuleEngineRoomTest, ERoomRestartEndsRunningRooms) {
  Driver driver(Rules({RoomDuration(
      "room_stuck", RoomDurationRule::Measure::kRunning, 600000)}));
  driver.Store(
      Logs("a1", At(absl::ZeroDuration()),
           {Log("room_started", v1::INFO, "start", {}, "room_aaaa0001")}));
  EXPECT_THAT(driver.Tick(At(absl::Minutes(11))), SizeIs(1));
  EXPECT_THAT(driver.Store(Logs("a1", At(absl::Minutes(12)),
                                {Log("server_started", v1::INFO, "up")})),
              ElementsAre(IsChange(Kind::kResolved, "room_stuck", "a1",
                                   "room_aaaa0001")));
}

TEST(RuleEngineRoomTest, ProcessingAndQueueWaitFireOncePerRoom) {
  AlertRule processing =
      RoomDuration("room_slow", RoomDurationRule::Measure::kProcessing, 600000);
  processing.keep_firing_for = absl::Minutes(10);
  AlertRule queue_wait =
      RoomDuration("queue_wait", RoomDurationRule::Measure::kQueueWait, 120000);
  Driver driver(Rules({processing, queue_wait}));

  const std::vector<AlertEvent> dequeued =
      driver.Store(Logs("a1", At(absl::ZeroDuration()),
                        {Log("room_dequeued", v1::INFO, "dequeued",
                             {{"queue_wait_ms", "150000"}}, "room_bbbb0001"),
                         Log("room_dequeued", v1::INFO, "dequeued",
                             {{"queue_wait_ms", "1000"}}, "room_bbbb0002")}));
  ASSERT_THAT(dequeued, ElementsAre(IsChange(Kind::kFiring, "queue_wait", "a1",
                                             "room_bbbb0001")));
  EXPECT_EQ(dequeued[0].alert.value, 150000);
  EXPECT_THAT(driver.Tick(At(absl::Seconds(1))),
              ElementsAre(IsChange(Kind::kResolved, "queue_wait", "a1",
                                   "room_bbbb0001")));

  // The outcome repeats the wait: the room alerted already.
  const std::vector<AlertEvent> outcome = driver.Store(
      Logs("a1", At(absl::Minutes(12)),
           {Log("room_completed", v1::INFO, "done",
                {{"queue_wait_ms", "150000"}, {"processing_ms", "700000"}},
                "room_bbbb0001"),
            Log("room_completed", v1::INFO, "done",
                {{"processing_ms", "300000"}}, "room_bbbb0002")}));
  ASSERT_THAT(outcome, ElementsAre(IsChange(Kind::kFiring, "room_slow", "a1",
                                            "room_bbbb0001")));
  EXPECT_THAT(driver.Tick(At(absl::Minutes(21))), IsEmpty());
  EXPECT_THAT(driver.Tick(At(absl::Minutes(22))),
              ElementsAre(IsChange(Kind::kResolved, "room_slow", "a1",
                                   "room_bbbb0001")));
}

TEST(RuleEngineRoomTest, TracksAtMostSixtyFourRunningRoomsPerHost) {
  Driver driver(Rules({RoomDuration(
      "room_stuck", RoomDurationRule::Measure::kRunning, 600000)}));
  std::vector<v1::LogEvent> starts;
  for (int i = 0; i < 65; ++i) {
    starts.push_back(Log("room_started", v1::INFO, "start", {},
                         absl::StrCat("room_cccc", 1000 + i)));
  }
  driver.Store(Logs("a1", At(absl::ZeroDuration()), starts));
  EXPECT_EQ(driver.engine().dropped().rooms, 1);
  EXPECT_THAT(driver.Tick(At(absl::Minutes(11))), SizeIs(64));
}

// --- overrides and inhibition ----------------------------------------------

TEST(RuleEngineOverrideTest, ByAgentIdOrHostname) {
  AlertRule rule = Threshold("cpu", "host.cpu_percent", Aggregation::kLast,
                             absl::ZeroDuration(), Above(90));
  rule.overrides = {
      HostOverride{"batch-1", true, std::nullopt, std::nullopt, std::nullopt},
      HostOverride{"a2", false, Above(99), std::nullopt, std::nullopt},
      HostOverride{"a3", false, std::nullopt, std::nullopt, absl::Minutes(1)}};
  Driver driver(Rules({rule}));
  driver.Register(Hello("a1", "batch-1"), At(absl::ZeroDuration()));

  EXPECT_THAT(
      driver.Store(Metric("a1", At(absl::Seconds(1)), "host.cpu_percent", 100)),
      IsEmpty());
  EXPECT_THAT(
      driver.Store(Metric("a2", At(absl::Seconds(1)), "host.cpu_percent", 95)),
      IsEmpty());
  EXPECT_THAT(driver.Store(
                  Metric("a2", At(absl::Seconds(2)), "host.cpu_percent", 99.5)),
              ElementsAre(IsChange(Kind::kFiring, "cpu", "a2")));
  EXPECT_THAT(
      driver.Store(Metric("a3", At(absl::Seconds(1)), "host.cpu_percent", 95)),
      ElementsAre(IsChange(Kind::kPending, "cpu", "a3")));
  EXPECT_THAT(
      driver.Store(Metric("a4", At(absl::Seconds(1)), "host.cpu_percent", 95)),
      ElementsAre(IsChange(Kind::kFiring, "cpu", "a4")));
}

TEST(RuleEngineInhibitionTest, HostDownInhibitsItsOtherAlerts) {
  Driver driver(Rules(
      {HostDown(absl::Seconds(30)), ErrorLines(/*group_by_shape=*/false)}));
  driver.Store(
      Logs("a1", At(absl::ZeroDuration()), {Log("error", v1::ERROR, "boom")}));
  driver.Store(Metric("a2", At(absl::Seconds(50)), "host.cpu_percent", 1));

  const std::vector<AlertEvent> down = driver.Tick(At(absl::Seconds(30)));
  ASSERT_THAT(down, ElementsAre(IsChange(Kind::kFiring, "host_down", "a1")));
  EXPECT_FALSE(down[0].inhibited);
  // a1's error alert resolves while a1 is down: not notified.
  const std::vector<AlertEvent> resolved = driver.Tick(At(absl::Seconds(61)));
  ASSERT_THAT(resolved,
              ElementsAre(IsChange(Kind::kResolved, "error_lines", "a1")));
  EXPECT_TRUE(resolved[0].inhibited);
  // a2 is up: its alerts notify.
  const std::vector<AlertEvent> other = driver.Store(
      Logs("a2", At(absl::Seconds(62)), {Log("error", v1::ERROR, "boom")}));
  ASSERT_THAT(other, ElementsAre(IsChange(Kind::kFiring, "error_lines", "a2")));
  EXPECT_FALSE(other[0].inhibited);

  // a1 comes back: host_down resolves, and a1's alerts notify again.
  const std::vector<AlertEvent> back = driver.Store(
      Logs("a1", At(absl::Seconds(70)), {Log("error", v1::ERROR, "boom")}));
  ASSERT_THAT(back, ElementsAre(IsChange(Kind::kResolved, "host_down", "a1"),
                                IsChange(Kind::kFiring, "error_lines", "a1")));
  EXPECT_FALSE(back[0].inhibited);
  EXPECT_FALSE(back[1].inhibited);
}

// --- agent notices and a host's own restart --------------------------------

StoredBatch Notices(const std::string& agent_id, absl::Time received,
                    const std::vector<std::string>& kinds) {
  StoredBatch batch;
  batch.received = received;
  AgentBatch agent_batch;
  agent_batch.agent_id = agent_id;
  for (const std::string& kind : kinds) {
    v1::AgentNotice* notice = agent_batch.batch->add_events()->mutable_notice();
    notice->set_kind(kind);
    notice->set_message(kind + " on " + agent_id);
  }
  batch.batches.push_back(std::move(agent_batch));
  batch.hosts.push_back(Progress(agent_id, received));
  return batch;
}

AlertRule NoticeMatch(std::string name, std::vector<std::string> event_types,
                      std::vector<v1::LogLevel> levels) {
  AlertRule rule;
  rule.name = std::move(name);
  LogMatchRule log;
  log.match.event_types = std::move(event_types);
  log.match.levels = std::move(levels);
  log.window = absl::Minutes(10);
  rule.kind = log;
  return rule;
}

TEST(RuleEngineNoticeTest, OperationNoticesAreEventsOfTheirKind) {
  Driver driver(Rules({
      NoticeMatch("restart_failed", {"restart_failed"}, {}),
      NoticeMatch("warnings", {}, {v1::WARN}),
      NoticeMatch("infos", {}, {v1::INFO}),
  }));
  // Other notices are no events: events_dropped stays a metric.
  EXPECT_THAT(
      driver.Store(Notices("a1", At(absl::ZeroDuration()), {"events_dropped"})),
      IsEmpty());
  EXPECT_THAT(
      driver.Store(Notices("a1", At(absl::Seconds(1)), {"housekeeping_done"})),
      ElementsAre(IsChange(Kind::kFiring, "infos", "a1")));
  const std::vector<AlertEvent> failed = driver.Store(Notices(
      "a1", At(absl::Seconds(2)),
      {"restart_started", "restart_failed", "auto_restart_limit_reached"}));
  ASSERT_THAT(failed, UnorderedElementsAre(
                          IsChange(Kind::kFiring, "warnings", "a1"),
                          IsChange(Kind::kUpdated, "infos", "a1"),
                          IsChange(Kind::kFiring, "restart_failed", "a1")));
  for (const AlertEvent& change : failed) {
    // Both failures are WARN; restart_failed matches one of them.
    if (change.alert.key.rule == "warnings") {
      EXPECT_EQ(change.alert.count, 2);
    }
    if (change.alert.key.rule == "restart_failed") {
      EXPECT_EQ(change.alert.count, 1);
    }
  }
}

AlertRule QuietDuringRestart(AlertRule rule) {
  rule.quiet_during_restart = true;
  return rule;
}

TEST(RuleEngineRestartTest, QuietAlertsDoNotNotifyDuringTheHostsOwnRestart) {
  Driver driver(Rules({
      QuietDuringRestart(Threshold("eroom_down", "eroom.up", Aggregation::kLast,
                                   absl::ZeroDuration(), Below(1))),
      Threshold("cpu", "host.cpu_percent", Aggregation::kLast,
                absl::ZeroDuration(), Above(90)),
  }));
  EXPECT_THAT(driver.Store(
                  Notices("a1", At(absl::ZeroDuration()), {"restart_started"})),
              IsEmpty());

  // Recorded, not notified: inhibited.
  const std::vector<AlertEvent> down =
      driver.Store(Metric("a1", At(absl::Seconds(5)), "eroom.up", 0));
  ASSERT_THAT(down, ElementsAre(IsChange(Kind::kFiring, "eroom_down", "a1")));
  EXPECT_TRUE(down[0].inhibited);
  // A rule that is not quiet notifies as always...
  const std::vector<AlertEvent> cpu =
      driver.Store(Metric("a1", At(absl::Seconds(6)), "host.cpu_percent", 95));
  ASSERT_THAT(cpu, ElementsAre(IsChange(Kind::kFiring, "cpu", "a1")));
  EXPECT_FALSE(cpu[0].inhibited);
  // ...and so does another host.
  const std::vector<AlertEvent> other =
      driver.Store(Metric("a2", At(absl::Seconds(7)), "eroom.up", 0));
  ASSERT_THAT(other, ElementsAre(IsChange(Kind::kFiring, "eroom_down", "a2")));
  EXPECT_FALSE(other[0].inhibited);

  // The restart failed and ERoom is still down: it notifies now.
  const std::vector<AlertEvent> ended =
      driver.Store(Notices("a1", At(absl::Seconds(60)), {"restart_failed"}));
  ASSERT_THAT(ended, ElementsAre(IsChange(Kind::kUpdated, "eroom_down", "a1")));
  EXPECT_FALSE(ended[0].inhibited);
  EXPECT_EQ(ended[0].alert.state, AlertState::kFiring);
}

TEST(RuleEngineRestartTest, AlertThatClearsWithinTheRestartNeverNotifies) {
  Driver driver(Rules({QuietDuringRestart(
      Threshold("eroom_down", "eroom.up", Aggregation::kLast,
                absl::ZeroDuration(), Below(1)))}));
  driver.Store(
      Notices("a1", At(absl::ZeroDuration()), {"auto_restart_attempt"}));
  const std::vector<AlertEvent> down =
      driver.Store(Metric("a1", At(absl::Seconds(5)), "eroom.up", 0));
  ASSERT_THAT(down, ElementsAre(IsChange(Kind::kFiring, "eroom_down", "a1")));
  EXPECT_TRUE(down[0].inhibited);
  EXPECT_THAT(driver.Store(Metric("a1", At(absl::Seconds(20)), "eroom.up", 1)),
              ElementsAre(IsChange(Kind::kResolved, "eroom_down", "a1")));
  // Nothing left to notify when the restart ends.
  EXPECT_THAT(driver.Store(Notices("a1", At(absl::Seconds(21)),
                                   {"auto_restart_succeeded"})),
              IsEmpty());
}

TEST(RuleEngineRestartTest, QuietEndsAfterThirtyMinutesWithoutAnEnd) {
  Driver driver(Rules({QuietDuringRestart(
      Threshold("eroom_down", "eroom.up", Aggregation::kLast,
                absl::ZeroDuration(), Below(1)))}));
  driver.Store(Notices("a1", At(absl::ZeroDuration()), {"restart_started"}));
  const std::vector<AlertEvent> down =
      driver.Store(Metric("a1", At(absl::Seconds(5)), "eroom.up", 0));
  ASSERT_THAT(down, SizeIs(1));
  EXPECT_TRUE(down[0].inhibited);
  driver.Store(Metric("a1", At(absl::Minutes(29)), "eroom.up", 0));
  EXPECT_THAT(driver.Tick(At(absl::Minutes(29) + absl::Seconds(59))),
              IsEmpty());
  const std::vector<AlertEvent> ended = driver.Tick(At(kMaxRestartQuiet));
  ASSERT_THAT(ended, ElementsAre(IsChange(Kind::kUpdated, "eroom_down", "a1")));
  EXPECT_FALSE(ended[0].inhibited);
  // Later changes notify as usual.
  const std::vector<AlertEvent> later =
      driver.Store(Metric("a1", At(absl::Minutes(31)), "eroom.up", 1));
  ASSERT_THAT(later,
              ElementsAre(IsChange(Kind::kResolved, "eroom_down", "a1")));
  EXPECT_FALSE(later[0].inhibited);
}

// --- restart and reload ----------------------------------------------------

TEST(RuleEngineRestoreTest, RestoredAlertsCarryOnWithoutBeingReportedAgain) {
  AlertRule cpu = Threshold("cpu", "host.cpu_percent", Aggregation::kLast,
                            absl::ZeroDuration(), Above(90));
  AlertRule disk = Threshold("disk", "disk.used_percent", Aggregation::kLast,
                             absl::ZeroDuration(), Above(90));
  AlertRule slow =
      Threshold("slow", "probe.health.latency_ms", Aggregation::kLast,
                absl::ZeroDuration(), Above(500));
  slow.for_duration = absl::Minutes(1);
  Driver before(Rules({cpu, disk, slow, HostDown(absl::Seconds(30))}));
  before.Register(Hello("a1", "web-1"), At(absl::ZeroDuration()));
  before.Store(Metric("a1", At(absl::Seconds(1)), "host.cpu_percent", 95));
  before.Store(Metric("a1", At(absl::Seconds(1)), "disk.used_percent", 95));
  before.Store(
      Metric("a1", At(absl::Seconds(1)), "probe.health.latency_ms", 900));
  before.Tick(At(absl::Seconds(40)));
  std::vector<Alert> active = before.Active();
  ASSERT_THAT(active, SizeIs(4));
  for (Alert& alert : active) alert.id = 7;

  Driver after(Rules({cpu, disk, slow, HostDown(absl::Seconds(30))}));
  after.engine().Restore(active);
  // Until the host is back, host_down stays firing, unreported.
  EXPECT_THAT(after.Tick(At(absl::Minutes(2))), IsEmpty());
  EXPECT_THAT(after.Register(Hello("a1", "web-1"), At(absl::Minutes(2))),
              ElementsAre(IsChange(Kind::kResolved, "host_down", "a1")));

  StoredBatch batch =
      Metric("a1", At(absl::Minutes(2)), "host.cpu_percent", 95);
  batch.metrics[0].values.push_back({"disk.used_percent", {}, 20});
  batch.metrics[0].values.push_back({"probe.health.latency_ms", {}, 900});
  const std::vector<AlertEvent> events = after.Store(batch);
  // cpu still holds: no new firing. disk is gone: resolved as usual. slow
  // was pending since second 1: firing now, without a second pending.
  ASSERT_THAT(events, ElementsAre(IsChange(Kind::kResolved, "disk", "a1"),
                                  IsChange(Kind::kFiring, "slow", "a1")));
  EXPECT_EQ(events[0].alert.id, 7);
  EXPECT_EQ(events[0].alert.firing_since, At(absl::Seconds(1)));
  EXPECT_EQ(events[1].alert.pending_since, At(absl::Seconds(1)));
  EXPECT_THAT(after.Active(), SizeIs(2));
}

TEST(RuleEngineRestoreTest, RestoredLogMatchKeepsItsCountUntilTheWindowEnds) {
  Driver before(Rules({ErrorLines(/*group_by_shape=*/false)}));
  before.Store(
      Logs("a1", At(absl::Seconds(1)),
           std::vector<v1::LogEvent>(4, Log("error", v1::ERROR, "boom"))));
  Driver after(Rules({ErrorLines(/*group_by_shape=*/false)}));
  after.engine().Restore(before.Active());
  EXPECT_THAT(after.Tick(At(absl::Seconds(30))), IsEmpty());
  const std::vector<AlertEvent> more = after.Store(
      Logs("a1", At(absl::Seconds(40)), {Log("error", v1::ERROR, "boom")}));
  ASSERT_THAT(more, ElementsAre(IsChange(Kind::kUpdated, "error_lines", "a1")));
  EXPECT_EQ(more[0].alert.count, 5);
  EXPECT_THAT(after.Tick(At(absl::Seconds(102))),
              ElementsAre(IsChange(Kind::kResolved, "error_lines", "a1")));
}

TEST(RuleEngineReloadTest, KeptRulesCarryOnAndRemovedRulesResolve) {
  AlertRule cpu = Threshold("cpu", "host.cpu_percent", Aggregation::kLast,
                            absl::ZeroDuration(), Above(90));
  AlertRule errors = ErrorLines(/*group_by_shape=*/false);
  Driver driver(Rules({cpu, errors}));
  driver.Store(Metric("a1", At(absl::Seconds(1)), "host.cpu_percent", 95));
  driver.Store(
      Logs("a1", At(absl::Seconds(1)), {Log("error", v1::ERROR, "boom")}));

  AlertRule stricter = cpu;
  stricter.condition = Above(80);
  stricter.severity = Severity::kCritical;
  const std::vector<AlertEvent> reloaded =
      driver.Reload(Rules({stricter}), At(absl::Seconds(2)));
  ASSERT_THAT(reloaded,
              ElementsAre(IsChange(Kind::kResolved, "error_lines", "a1")));
  EXPECT_EQ(reloaded[0].alert.firing_since, At(absl::Seconds(1)));

  EXPECT_THAT(driver.Tick(At(absl::Seconds(3))), IsEmpty());
  const std::vector<AlertEvent> updated =
      driver.Store(Metric("a1", At(absl::Seconds(4)), "host.cpu_percent", 85));
  ASSERT_THAT(updated, ElementsAre(IsChange(Kind::kUpdated, "cpu", "a1")));
  EXPECT_EQ(updated[0].alert.severity, Severity::kCritical);
  EXPECT_EQ(updated[0].alert.firing_since, At(absl::Seconds(1)));
}

// --- status ------------------------------------------------------------------

TEST(RuleEngineStatusTest, EachRuleWithItsKindErrorsAndActiveAlerts) {
  AlertRule bad = ErrorLines(/*group_by_shape=*/false);
  bad.name = "bad_regex";
  std::get<LogMatchRule>(bad.kind).match.message_regex = "(";
  Driver driver(Rules({bad, HostDown(absl::Seconds(30))}));
  driver.Store(
      Logs("a1", At(absl::ZeroDuration()), {Log("error", v1::ERROR, "(")}));
  driver.Tick(At(absl::Seconds(31)));
  driver.engine().SetAlertId(AlertKey{"host_down", "a1", ""}, 42);

  const std::vector<RuleStatus> statuses = driver.engine().Status();
  ASSERT_THAT(statuses, SizeIs(2));
  EXPECT_EQ(statuses[0].rule, "bad_regex");
  EXPECT_EQ(statuses[0].kind, "log_match");
  EXPECT_THAT(statuses[0].last_error, ::testing::HasSubstr("message_regex"));
  EXPECT_THAT(statuses[0].active, IsEmpty());
  EXPECT_EQ(statuses[1].kind, "absence");
  EXPECT_EQ(statuses[1].severity, Severity::kCritical);
  EXPECT_EQ(statuses[1].last_evaluated, At(absl::Seconds(31)));
  ASSERT_THAT(statuses[1].active, SizeIs(1));
  EXPECT_EQ(statuses[1].active[0].id, 42);
  EXPECT_EQ(statuses[1].active[0].state, AlertState::kFiring);
}

// --- windows -----------------------------------------------------------------

TEST(EventWindowTest, CountsTheWindowInSixtiethsOfIt) {
  EventWindow window(absl::Minutes(1));
  window.Add(At(absl::ZeroDuration()), 3);
  window.Add(At(absl::Seconds(30)));
  EXPECT_EQ(window.Count(At(absl::Seconds(60))), 4);
  EXPECT_EQ(window.Count(At(absl::Seconds(61))), 1);
  EXPECT_EQ(window.Count(At(absl::Seconds(91))), 0);
}

TEST(MetricWindowTest, TrimKeepsTheWindowAndTheLastSamples) {
  MetricWindow series;
  for (int i = 0; i < 10; ++i) series.Add(At(absl::Seconds(i)), i);
  series.Trim(At(absl::Seconds(100)), absl::Seconds(5), 3);
  EXPECT_EQ(series.Aggregate(Aggregation::kCount, At(absl::Seconds(100)),
                             absl::ZeroDuration(), 3),
            3);
  EXPECT_EQ(series.Aggregate(Aggregation::kSum, At(absl::Seconds(100)),
                             absl::ZeroDuration(), 3),
            7 + 8 + 9);
  EXPECT_EQ(series.Aggregate(Aggregation::kMin, At(absl::Seconds(100)),
                             absl::ZeroDuration(), 4),
            std::nullopt);
  // After 10 s - 3 s: the points of 8 s and 9 s.
  EXPECT_EQ(series.Aggregate(Aggregation::kAvg, At(absl::Seconds(10)),
                             absl::Seconds(3), 0),
            8.5);
  EXPECT_EQ(series.last_at(), At(absl::Seconds(9)));
}

// --- message shape -----------------------------------------------------------

TEST(MessageShapeTest, MasksWhatVaries) {
  EXPECT_EQ(MessageShape("Timeout after 3012 ms for room_1a2b3c4d5e (try 2)\n"
                         "\tat x.Y(Z.java:10)"),
            "Timeout after <n> ms for <ruid> (try <n>)");
  EXPECT_EQ(MessageShape("user 123e4567-e89b-12d3-a456-426614174000 at "
                         "0x7ffd1234 id deadbeef01 thread pool-2-thread-1"),
            "user <uuid> at <hex> id <hex> thread pool-<n>-thread-<n>");
  EXPECT_EQ(MessageShape("방 생성 실패 - 코드 500"), "방 생성 실패 - 코드 <n>");
  EXPECT_EQ(MessageShape(std::string(300, 'x')).size(), 200);
}

}  // namespace
}  // namespace eroom::collector::alerting
