#include <string>
#include <vector>

#include "collector/alerting/label_matcher.h"
#include "collector/alerting/notification_planner.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/test_support/status_matchers.h"

namespace eroom::collector::alerting {
namespace {

using ::eroom::test_support::IsOk;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;

const absl::Time kT0 = absl::FromUnixSeconds(1750000000);

AlertEvent Event(AlertEvent::Kind kind, const std::string& rule,
                 const std::string& host, int64_t id, absl::Time at,
                 Severity severity = Severity::kWarning) {
  AlertEvent event;
  event.kind = kind;
  event.at = at;
  Alert& alert = event.alert;
  alert.id = id;
  alert.key = AlertKey{.rule = rule, .agent_id = host, .group = ""};
  alert.state = kind == AlertEvent::Kind::kResolved  ? AlertState::kResolved
                : kind == AlertEvent::Kind::kPending ? AlertState::kPending
                                                     : AlertState::kFiring;
  alert.severity = severity;
  alert.labels = {{"alertname", rule},
                  {"host", host},
                  {"severity", std::string(SeverityName(severity))}};
  alert.summary = rule + " on " + host;
  alert.firing_since = at;
  if (kind == AlertEvent::Kind::kResolved) alert.resolved_at = at;
  return event;
}

AlertEvent Firing(const std::string& rule, const std::string& host, int64_t id,
                  absl::Time at, Severity severity = Severity::kWarning) {
  return Event(AlertEvent::Kind::kFiring, rule, host, id, at, severity);
}

AlertEvent Resolved(const std::string& rule, const std::string& host,
                    int64_t id, absl::Time at) {
  return Event(AlertEvent::Kind::kResolved, rule, host, id, at);
}

NotificationConfig Config(absl::Duration group_wait,
                          absl::Duration group_interval,
                          absl::Duration repeat_interval) {
  NotificationConfig config;
  config.receivers.push_back(ReceiverConfig{.name = "ops"});
  config.default_receivers = {"ops"};
  config.timing.group_wait = group_wait;
  config.timing.group_interval = group_interval;
  config.timing.repeat_interval = repeat_interval;
  return config;
}

std::unique_ptr<NotificationPlanner> Planner(const NotificationConfig& config) {
  absl::StatusOr<std::unique_ptr<NotificationPlanner>> planner =
      NotificationPlanner::Create(config);
  EXPECT_THAT(planner, IsOk());
  return *std::move(planner);
}

std::vector<std::string> Rules(const Notification& notification) {
  std::vector<std::string> rules;
  for (const Alert& alert : notification.alerts) {
    rules.push_back(
        alert.key.rule + ":" +
        (alert.state == AlertState::kFiring ? "firing" : "resolved"));
  }
  return rules;
}

TEST(NotificationPlannerTest, FirstMessageWaitsGroupWaitAndGathersTheGroup) {
  auto planner =
      Planner(Config(absl::Seconds(10), absl::Minutes(1), absl::Hours(4)));
  AlertEvent first = Firing("room_error", "web-01", 1, kT0);
  first.alert.key.group = "shape-a";
  planner->Add(first, kT0);
  EXPECT_EQ(planner->NextDeadline(), kT0 + absl::Seconds(10));
  EXPECT_THAT(planner->Due(kT0 + absl::Seconds(9)), IsEmpty());

  AlertEvent second = Firing("room_error", "web-01", 2, kT0);
  second.alert.key.group = "shape-b";
  planner->Add(second, kT0 + absl::Seconds(3));
  std::vector<Notification> due = planner->Due(kT0 + absl::Seconds(10));
  ASSERT_THAT(due, SizeIs(1));
  EXPECT_THAT(due[0].alerts, SizeIs(2));
  EXPECT_THAT(due[0].receivers, ElementsAre("ops"));
  EXPECT_EQ(due[0].group_labels.at("alertname"), "room_error");
  EXPECT_EQ(due[0].group_labels.at("host"), "web-01");
  EXPECT_EQ(due[0].FiringCount(), 2);
}

TEST(NotificationPlannerTest, EachGroupIsItsOwnMessage) {
  auto planner =
      Planner(Config(absl::ZeroDuration(), absl::Minutes(1), absl::Hours(4)));
  planner->Add(Firing("room_error", "web-01", 1, kT0), kT0);
  planner->Add(Firing("room_error", "web-02", 2, kT0), kT0);
  planner->Add(Firing("disk_full", "web-01", 3, kT0), kT0);
  EXPECT_THAT(planner->Due(kT0), SizeIs(3));
}

TEST(NotificationPlannerTest, AChangedGroupWaitsGroupIntervalAfterItsLast) {
  auto planner =
      Planner(Config(absl::ZeroDuration(), absl::Minutes(1), absl::Hours(4)));
  planner->Add(Firing("room_error", "web-01", 1, kT0), kT0);
  ASSERT_THAT(planner->Due(kT0), SizeIs(1));

  AlertEvent second = Firing("room_error", "web-01", 2, kT0);
  second.alert.key.group = "another shape";
  planner->Add(second, kT0 + absl::Seconds(10));
  EXPECT_THAT(planner->Due(kT0 + absl::Seconds(10)), IsEmpty());
  EXPECT_EQ(planner->NextDeadline(), kT0 + absl::Minutes(1));
  std::vector<Notification> due = planner->Due(kT0 + absl::Minutes(1));
  ASSERT_THAT(due, SizeIs(1));
  EXPECT_THAT(due[0].alerts, SizeIs(2));
}

TEST(NotificationPlannerTest,
     AnUnchangedFiringGroupRepeatsEveryRepeatInterval) {
  auto planner =
      Planner(Config(absl::ZeroDuration(), absl::Minutes(1), absl::Hours(1)));
  planner->Add(Firing("room_error", "web-01", 1, kT0), kT0);
  ASSERT_THAT(planner->Due(kT0), SizeIs(1));
  // A new value is recorded, not sent at once.
  AlertEvent updated = Firing("room_error", "web-01", 1, kT0);
  updated.kind = AlertEvent::Kind::kUpdated;
  updated.alert.value = 42;
  planner->Add(updated, kT0 + absl::Minutes(5));
  EXPECT_THAT(planner->Due(kT0 + absl::Minutes(5)), IsEmpty());

  EXPECT_EQ(planner->NextDeadline(), kT0 + absl::Hours(1));
  EXPECT_THAT(planner->Due(kT0 + absl::Minutes(59)), IsEmpty());
  std::vector<Notification> repeat = planner->Due(kT0 + absl::Hours(1));
  ASSERT_THAT(repeat, SizeIs(1));
  EXPECT_EQ(repeat[0].alerts[0].value, 42);
  EXPECT_EQ(planner->NextDeadline(), kT0 + absl::Hours(2));
}

TEST(NotificationPlannerTest, AResolutionIsSentAfterTheFiring) {
  auto planner =
      Planner(Config(absl::ZeroDuration(), absl::Minutes(1), absl::Hours(4)));
  planner->Add(Firing("room_error", "web-01", 1, kT0), kT0);
  ASSERT_THAT(planner->Due(kT0), SizeIs(1));
  planner->Add(Resolved("room_error", "web-01", 1, kT0 + absl::Minutes(5)),
               kT0 + absl::Minutes(5));
  std::vector<Notification> due = planner->Due(kT0 + absl::Minutes(5));
  ASSERT_THAT(due, SizeIs(1));
  EXPECT_THAT(Rules(due[0]), ElementsAre("room_error:resolved"));
  EXPECT_EQ(due[0].FiringCount(), 0);
  EXPECT_EQ(planner->group_count(), 0u);
  EXPECT_EQ(planner->NextDeadline(), absl::InfiniteFuture());
}

TEST(NotificationPlannerTest, AResolutionWaitsGroupIntervalAfterTheFiring) {
  auto planner =
      Planner(Config(absl::ZeroDuration(), absl::Minutes(1), absl::Hours(4)));
  planner->Add(Firing("room_error", "web-01", 1, kT0), kT0);
  ASSERT_THAT(planner->Due(kT0), SizeIs(1));
  planner->Add(Resolved("room_error", "web-01", 1, kT0 + absl::Seconds(5)),
               kT0 + absl::Seconds(5));
  EXPECT_THAT(planner->Due(kT0 + absl::Seconds(5)), IsEmpty());
  EXPECT_THAT(planner->Due(kT0 + absl::Minutes(1)), SizeIs(1));
}

TEST(NotificationPlannerTest, AnAlertResolvedBeforeItWasSentIsNeverSent) {
  auto planner =
      Planner(Config(absl::Seconds(30), absl::Minutes(1), absl::Hours(4)));
  planner->Add(Firing("room_error", "web-01", 1, kT0), kT0);
  planner->Add(Resolved("room_error", "web-01", 1, kT0 + absl::Seconds(5)),
               kT0 + absl::Seconds(5));
  EXPECT_THAT(planner->Due(kT0 + absl::Minutes(10)), IsEmpty());
  EXPECT_EQ(planner->NextDeadline(), absl::InfiniteFuture());
}

TEST(NotificationPlannerTest, PendingChangesAreNotSent) {
  auto planner =
      Planner(Config(absl::ZeroDuration(), absl::Minutes(1), absl::Hours(4)));
  planner->Add(
      Event(AlertEvent::Kind::kPending, "room_error", "web-01", 1, kT0), kT0);
  EXPECT_THAT(planner->Due(kT0), IsEmpty());
  EXPECT_EQ(planner->group_count(), 0u);
}

TEST(NotificationPlannerTest, AcknowledgementStopsRepeatsButNotTheResolution) {
  auto planner =
      Planner(Config(absl::ZeroDuration(), absl::Minutes(1), absl::Hours(1)));
  planner->Add(Firing("room_error", "web-01", 7, kT0), kT0);
  ASSERT_THAT(planner->Due(kT0), SizeIs(1));
  planner->Acknowledge(7);
  EXPECT_EQ(planner->NextDeadline(), absl::InfiniteFuture());
  EXPECT_THAT(planner->Due(kT0 + absl::Hours(3)), IsEmpty());

  planner->Add(Resolved("room_error", "web-01", 7, kT0 + absl::Hours(3)),
               kT0 + absl::Hours(3));
  std::vector<Notification> due = planner->Due(kT0 + absl::Hours(3));
  ASSERT_THAT(due, SizeIs(1));
  EXPECT_THAT(Rules(due[0]), ElementsAre("room_error:resolved"));
}

TEST(NotificationPlannerTest, AnAcknowledgementLoadedWithTheAlertCounts) {
  auto planner =
      Planner(Config(absl::ZeroDuration(), absl::Minutes(1), absl::Hours(1)));
  AlertEvent event = Firing("room_error", "web-01", 7, kT0);
  event.alert.last_notified_at = kT0;
  event.alert.acknowledged_by = "kim";
  planner->Add(event, kT0 + absl::Minutes(1));
  EXPECT_THAT(planner->Due(kT0 + absl::Hours(5)), IsEmpty());
}

TEST(NotificationPlannerTest, AnAlertNotifiedBeforeARestartWaitsForItsRepeat) {
  auto planner =
      Planner(Config(absl::ZeroDuration(), absl::Minutes(1), absl::Hours(1)));
  AlertEvent resumed = Firing("room_error", "web-01", 1, kT0);
  resumed.alert.last_notified_at = kT0 + absl::Minutes(10);
  planner->Add(resumed, kT0 + absl::Minutes(20));
  EXPECT_THAT(planner->Due(kT0 + absl::Minutes(20)), IsEmpty());
  EXPECT_EQ(planner->NextDeadline(), kT0 + absl::Minutes(70));
}

TEST(NotificationPlannerTest, InhibitedChangesAreNotSent) {
  auto planner =
      Planner(Config(absl::ZeroDuration(), absl::Minutes(1), absl::Hours(1)));
  AlertEvent inhibited = Firing("process_down", "web-01", 1, kT0);
  inhibited.inhibited = true;
  planner->Add(inhibited, kT0);
  EXPECT_THAT(planner->Due(kT0), IsEmpty());
  EXPECT_EQ(planner->NextDeadline(), absl::InfiniteFuture());

  // Still firing once the host is back: now it is news.
  AlertEvent updated = Firing("process_down", "web-01", 1, kT0);
  updated.kind = AlertEvent::Kind::kUpdated;
  planner->Add(updated, kT0 + absl::Minutes(2));
  EXPECT_THAT(planner->Due(kT0 + absl::Minutes(2)), SizeIs(1));
}

TEST(NotificationPlannerTest, SilencedAlertsAreNotSentUntilTheSilenceEnds) {
  auto planner =
      Planner(Config(absl::ZeroDuration(), absl::Minutes(1), absl::Hours(4)));
  Silence silence;
  silence.id = 1;
  silence.matchers = {*ParseLabelMatcher("alertname=~room_.*"),
                      *ParseLabelMatcher("host!=web-02")};
  silence.starts_at = kT0;
  silence.ends_at = kT0 + absl::Hours(2);
  ASSERT_THAT(planner->SetSilences({silence}, kT0), IsOk());

  planner->Add(Firing("room_error", "web-01", 1, kT0), kT0);
  planner->Add(Firing("room_error", "web-02", 2, kT0), kT0);
  planner->Add(Firing("disk_full", "web-01", 3, kT0), kT0);
  std::vector<Notification> due = planner->Due(kT0);
  ASSERT_THAT(due, SizeIs(2));
  for (const Notification& notification : due) {
    EXPECT_NE(notification.group_key,
              "0:{alertname=\"room_error\","
              "host=\"web-01\"}");
  }

  EXPECT_EQ(planner->NextDeadline(), kT0 + absl::Hours(2));
  std::vector<Notification> after = planner->Due(kT0 + absl::Hours(2));
  ASSERT_THAT(after, SizeIs(1));
  EXPECT_EQ(after[0].group_labels.at("host"), "web-01");
  EXPECT_EQ(after[0].group_labels.at("alertname"), "room_error");
}

TEST(NotificationPlannerTest, AnExpiredSilenceNoLongerApplies) {
  auto planner =
      Planner(Config(absl::ZeroDuration(), absl::Minutes(1), absl::Hours(4)));
  Silence silence;
  silence.matchers = {*ParseLabelMatcher("host=web-01")};
  silence.starts_at = kT0 - absl::Hours(2);
  silence.ends_at = kT0 - absl::Hours(1);
  ASSERT_THAT(planner->SetSilences({silence}, kT0), IsOk());
  planner->Add(Firing("room_error", "web-01", 1, kT0), kT0);
  EXPECT_THAT(planner->Due(kT0), SizeIs(1));
}

TEST(NotificationPlannerTest, RoutesBySeverityAndLabelsWithContinue) {
  NotificationConfig config =
      Config(absl::ZeroDuration(), absl::Minutes(1), absl::Hours(4));
  config.receivers.push_back(ReceiverConfig{.name = "pager"});
  config.receivers.push_back(ReceiverConfig{.name = "slack"});
  config.routes.push_back(RouteConfig{.severities = {Severity::kCritical},
                                      .matchers = {},
                                      .receivers = {"pager"},
                                      .continue_matching = true,
                                      .timing = config.timing});
  config.routes.push_back(
      RouteConfig{.severities = {},
                  .matchers = {*ParseLabelMatcher("alertname=~room_.*")},
                  .receivers = {"slack"},
                  .continue_matching = false,
                  .timing = config.timing});
  auto planner = Planner(config);
  planner->Add(Firing("room_error", "web-01", 1, kT0, Severity::kCritical),
               kT0);
  planner->Add(Firing("disk_full", "web-01", 2, kT0, Severity::kCritical), kT0);
  planner->Add(Firing("room_slow", "web-01", 3, kT0, Severity::kWarning), kT0);
  planner->Add(Firing("cpu_high", "web-01", 4, kT0, Severity::kWarning), kT0);

  std::map<std::string, std::vector<std::string>> sent;
  for (const Notification& notification : planner->Due(kT0)) {
    for (const std::string& receiver : notification.receivers) {
      sent[receiver].push_back(notification.group_labels.at("alertname"));
    }
  }
  EXPECT_THAT(sent["pager"], ElementsAre("disk_full", "room_error"));
  EXPECT_THAT(sent["slack"], ElementsAre("room_error", "room_slow"));
  EXPECT_THAT(sent["ops"], ElementsAre("cpu_high"));
}

TEST(LabelMatcherTest, ParsesEveryOperator) {
  for (const char* text :
       {"host=web-01", "host!=web-01", "host=~web-.*", "host!~web-.*"}) {
    absl::StatusOr<LabelMatcher> matcher = ParseLabelMatcher(text);
    ASSERT_THAT(matcher, IsOk()) << text;
    EXPECT_EQ(FormatLabelMatcher(*matcher), text);
  }
  EXPECT_FALSE(ParseLabelMatcher("host").ok());
  EXPECT_FALSE(ParseLabelMatcher("=web").ok());
  EXPECT_FALSE(ParseLabelMatcher("host=~(").ok());
}

TEST(LabelMatcherTest, RegexesMatchTheWholeValue) {
  absl::StatusOr<LabelSelector> selector = LabelSelector::Create(
      {*ParseLabelMatcher("host=~web"), *ParseLabelMatcher("team!~ops|dev")});
  ASSERT_THAT(selector, IsOk());
  EXPECT_TRUE(selector->Matches({{"host", "web"}, {"team", "db"}}));
  EXPECT_FALSE(selector->Matches({{"host", "web-01"}, {"team", "db"}}));
  EXPECT_FALSE(selector->Matches({{"host", "web"}, {"team", "ops"}}));
  // A missing label is "": it matches != and !~ of anything else.
  EXPECT_TRUE(selector->Matches({{"host", "web"}}));
}

}  // namespace
}  // namespace eroom::collector::alerting
