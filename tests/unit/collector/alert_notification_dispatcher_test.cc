#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "collector/alerting/notification_dispatcher.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/unit/collector/alert_notification_test_support.h"
#include "tests/unit/test_support/fake_clock.h"
#include "tests/unit/test_support/status_matchers.h"

namespace eroom::collector::alerting {
namespace {

using ::eroom::collector::alerting::test_support::FiringNotification;
using ::eroom::collector::alerting::test_support::RecordingAlertStore;
using ::eroom::collector::alerting::test_support::RecordingHttpServer;
using ::eroom::collector::alerting::test_support::SilentServer;
using ::eroom::test_support::IsOk;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::SizeIs;

constexpr char kSecretPath[] = "/hook/s3cretToken";

ReceiverConfig Webhook(const std::string& name, const std::string& url) {
  ReceiverConfig config;
  config.name = name;
  config.type = ReceiverConfig::Type::kWebhook;
  config.url = url;
  config.retry.attempts = 1;
  return config;
}

// Every alert to every receiver at once.
NotificationConfig SendAtOnce(std::vector<ReceiverConfig> receivers) {
  NotificationConfig config;
  for (const ReceiverConfig& receiver : receivers) {
    config.default_receivers.push_back(receiver.name);
  }
  config.receivers = std::move(receivers);
  config.timing.group_wait = absl::ZeroDuration();
  return config;
}

AlertEvent FiringEvent(int64_t id) {
  const Notification sample = FiringNotification(id);
  return AlertEvent{.kind = AlertEvent::Kind::kFiring,
                    .alert = sample.alerts[0],
                    .at = sample.at,
                    .inhibited = false};
}

std::unique_ptr<NotificationDispatcher> Dispatcher(
    const NotificationConfig& config, AlertStore& store, const Clock& clock) {
  absl::StatusOr<std::unique_ptr<NotificationDispatcher>> dispatcher =
      NotificationDispatcher::Create(config, store, clock);
  EXPECT_THAT(dispatcher, IsOk());
  return *std::move(dispatcher);
}

TEST(NotificationDispatcherTest, AHangingReceiverDelaysNoOther) {
  SilentServer hanging;
  RecordingHttpServer working;
  ReceiverConfig stuck = Webhook("stuck", hanging.url("/hook"));
  stuck.timeout = absl::Seconds(60);
  RecordingAlertStore store;
  auto dispatcher =
      Dispatcher(SendAtOnce({stuck, Webhook("working", working.url("/hook"))}),
                 store, RealClock::Get());
  dispatcher->Start();

  // Two messages: the second, too, gets through while "stuck" hangs on the
  // first.
  dispatcher->Notify(FiringEvent(1));
  AlertEvent other = FiringEvent(2);
  other.alert.key.rule = "disk_full";
  other.alert.labels["alertname"] = "disk_full";
  dispatcher->Notify(other);
  EXPECT_TRUE(working.WaitForRequests(2, absl::Seconds(10)));

  // And stopping cancels the hanging delivery at once.
  const absl::Time stop_started = absl::Now();
  dispatcher->Stop();
  EXPECT_LT(absl::Now() - stop_started, absl::Seconds(2));
}

TEST(NotificationDispatcherTest, FailedAttemptsAreRetriedAndRecorded) {
  RecordingHttpServer server({500, 503});
  ReceiverConfig receiver = Webhook("ops", server.url(kSecretPath));
  receiver.retry = RetryPolicy{.attempts = 4,
                               .backoff = absl::Milliseconds(20),
                               .max_backoff = absl::Seconds(1)};
  RecordingAlertStore store;
  auto dispatcher = Dispatcher(SendAtOnce({receiver}), store, RealClock::Get());
  dispatcher->Start();
  dispatcher->Notify(FiringEvent(5));

  ASSERT_TRUE(store.WaitForDeliveries(3, absl::Seconds(10)));
  dispatcher->Stop();
  const std::vector<DeliveryRecord> records = store.deliveries();
  ASSERT_THAT(records, SizeIs(3));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(records[i].alert_id, 5);
    EXPECT_EQ(records[i].receiver, "ops");
    EXPECT_EQ(records[i].kind, AlertEvent::Kind::kFiring);
    EXPECT_EQ(records[i].attempt, i + 1);
    EXPECT_THAT(records[i].error, Not(HasSubstr("s3cretToken")));
  }
  EXPECT_FALSE(records[0].ok);
  EXPECT_THAT(records[0].error, HasSubstr("HTTP 500"));
  EXPECT_FALSE(records[1].ok);
  EXPECT_THAT(records[1].error, HasSubstr("HTTP 503"));
  EXPECT_TRUE(records[2].ok);
  EXPECT_EQ(records[2].error, "");
  // Backoff: 20 ms, then 40 ms.
  EXPECT_GE(records[1].at - records[0].at, absl::Milliseconds(20));
  EXPECT_GE(records[2].at - records[1].at, absl::Milliseconds(40));
  EXPECT_THAT(server.bodies(), SizeIs(3));
  EXPECT_EQ(dispatcher->counters().delivered, 1);
}

TEST(NotificationDispatcherTest, GivesUpAfterTheLastAttempt) {
  RecordingHttpServer server({500, 500});
  ReceiverConfig receiver = Webhook("ops", server.url(kSecretPath));
  receiver.retry = RetryPolicy{.attempts = 2,
                               .backoff = absl::Milliseconds(1),
                               .max_backoff = absl::Milliseconds(1)};
  RecordingAlertStore store;
  auto dispatcher = Dispatcher(SendAtOnce({receiver}), store, RealClock::Get());
  dispatcher->Start();
  dispatcher->Notify(FiringEvent(5));
  ASSERT_TRUE(store.WaitForDeliveries(2, absl::Seconds(10)));
  dispatcher->Stop();
  EXPECT_THAT(store.deliveries(), SizeIs(2));
  EXPECT_EQ(dispatcher->counters().failed, 1);
}

TEST(NotificationDispatcherTest, ResolutionsSkipReceiversThatDoNotWantThem) {
  RecordingHttpServer wants, ignores;
  ReceiverConfig quiet = Webhook("quiet", ignores.url("/hook"));
  quiet.send_resolved = false;
  NotificationConfig config =
      SendAtOnce({Webhook("loud", wants.url("/hook")), quiet});
  config.timing.group_interval = absl::ZeroDuration();
  RecordingAlertStore store;
  auto dispatcher = Dispatcher(config, store, RealClock::Get());
  dispatcher->Start();
  dispatcher->Notify(FiringEvent(3));
  ASSERT_TRUE(wants.WaitForRequests(1, absl::Seconds(10)));
  ASSERT_TRUE(ignores.WaitForRequests(1, absl::Seconds(10)));

  AlertEvent resolved = FiringEvent(3);
  resolved.kind = AlertEvent::Kind::kResolved;
  resolved.alert.state = AlertState::kResolved;
  dispatcher->Notify(resolved);
  ASSERT_TRUE(wants.WaitForRequests(2, absl::Seconds(10)));
  dispatcher->Stop();
  EXPECT_EQ(nlohmann::json::parse(wants.bodies()[1])["status"], "resolved");
  EXPECT_THAT(ignores.bodies(), SizeIs(1));
}

TEST(NotificationDispatcherTest, NotifyNeverBlocksAndCountsWhatItDrops) {
  RecordingHttpServer server;
  NotificationConfig config = SendAtOnce({Webhook("ops", server.url("/"))});
  config.queue_capacity = 2;
  RecordingAlertStore store;
  FakeClock clock;
  // Not started: nothing drains the queue.
  auto dispatcher = Dispatcher(config, store, clock);
  for (int i = 0; i < 5; ++i) dispatcher->Notify(FiringEvent(i));
  EXPECT_EQ(dispatcher->counters().dropped_changes, 3);
}

TEST(NotificationDispatcherTest, SilencesReachThePlanner) {
  RecordingHttpServer server;
  NotificationConfig config = SendAtOnce({Webhook("ops", server.url("/"))});
  RecordingAlertStore store;
  FakeClock clock;
  auto dispatcher = Dispatcher(config, store, clock);
  Silence silence;
  silence.matchers = {LabelMatcher{.label = "alertname",
                                   .op = LabelMatcher::Op::kEqual,
                                   .value = "room_error"}};
  silence.starts_at = clock.Now() - absl::Hours(1);
  silence.ends_at = clock.Now() + absl::Hours(1);
  dispatcher->SetSilences({silence});
  dispatcher->Start();
  dispatcher->Notify(FiringEvent(1));
  AlertEvent other = FiringEvent(2);
  other.alert.key.rule = "disk_full";
  other.alert.labels["alertname"] = "disk_full";
  dispatcher->Notify(other);
  ASSERT_TRUE(server.WaitForRequests(1, absl::Seconds(10)));
  dispatcher->Stop();
  ASSERT_THAT(server.bodies(), SizeIs(1));
  EXPECT_EQ(
      nlohmann::json::parse(server.bodies()[0])["groupLabels"]["alertname"],
      "disk_full");
}

}  // namespace
}  // namespace eroom::collector::alerting
