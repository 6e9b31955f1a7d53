#ifndef EROOM_TESTS_UNIT_COLLECTOR_ALERT_NOTIFICATION_TEST_SUPPORT_H_
#define EROOM_TESTS_UNIT_COLLECTOR_ALERT_NOTIFICATION_TEST_SUPPORT_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <deque>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "collector/alerting/alert_store.h"
#include "collector/alerting/notification.h"
#include "httplib.h"
#include "tests/unit/test_support/smtp_sink.h"

// Loopback servers and a store that records, for the notification tests.
namespace eroom::collector::alerting::test_support {

// A notification of one firing alert: room_error on web-01.
inline Notification FiringNotification(int64_t alert_id = 1) {
  Alert alert;
  alert.id = alert_id;
  alert.key =
      AlertKey{.rule = "room_error", .agent_id = "agent-1", .group = ""};
  alert.state = AlertState::kFiring;
  alert.severity = Severity::kCritical;
  alert.labels = {{"alertname", "room_error"},
                  {"host", "web-01"},
                  {"severity", "critical"}};
  alert.summary = "3 rooms failed on web-01";
  alert.value = 3;
  alert.count = 3;
  alert.firing_since = absl::FromUnixSeconds(1750000000);
  return Notification{
      .group_key = "0:{alertname=\"room_error\",host=\"web-01\"}",
      .group_labels = {{"alertname", "room_error"}, {"host", "web-01"}},
      .receivers = {"ops"},
      .alerts = {alert},
      .at = absl::FromUnixSeconds(1750000010)};
}

// An HTTP server on an ephemeral loopback port that records each POST and
// answers with the next of `statuses` (200 once they run out).
class RecordingHttpServer {
 public:
  explicit RecordingHttpServer(std::deque<int> statuses = {})
      : statuses_(std::move(statuses)) {
    server_.Post(".*", [this](const httplib::Request& request,
                              httplib::Response& response) {
      absl::MutexLock lock(&mu_);
      bodies_.push_back(request.body);
      content_types_.push_back(request.get_header_value("Content-Type"));
      paths_.push_back(request.path);
      response.status = 200;
      if (!statuses_.empty()) {
        response.status = statuses_.front();
        statuses_.pop_front();
      }
      response.set_content(response.status == 200 ? "ok" : "no_service",
                           "text/plain");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (port_ > 0 && !server_.is_running()) std::this_thread::yield();
  }
  ~RecordingHttpServer() {
    server_.stop();
    thread_.join();
  }
  std::string url(const std::string& path) const {
    return absl::StrCat("http://127.0.0.1:", port_, path);
  }
  std::vector<std::string> bodies() const {
    absl::MutexLock lock(&mu_);
    return bodies_;
  }
  std::vector<std::string> content_types() const {
    absl::MutexLock lock(&mu_);
    return content_types_;
  }
  std::vector<std::string> paths() const {
    absl::MutexLock lock(&mu_);
    return paths_;
  }
  // Waits up to `timeout` for `count` requests; false if they did not come.
  bool WaitForRequests(size_t count, absl::Duration timeout) const {
    absl::MutexLock lock(&mu_);
    auto enough = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return bodies_.size() >= count;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
  }

 private:
  httplib::Server server_;
  int port_ = -1;
  std::thread thread_;
  mutable absl::Mutex mu_;
  std::deque<int> statuses_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> bodies_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> content_types_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> paths_ ABSL_GUARDED_BY(mu_);
};

// A loopback port that accepts connections (the kernel does) and never
// answers: a receiver that hangs.
class SilentServer {
 public:
  SilentServer() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    listen(fd_, 16);
    socklen_t size = sizeof(address);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &size);
    port_ = ntohs(address.sin_port);
  }
  ~SilentServer() { close(fd_); }
  std::string url(const std::string& path) const {
    return absl::StrCat("http://127.0.0.1:", port_, path);
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};

using ::eroom::test_support::SmtpMessage;
using ::eroom::test_support::SmtpSink;
using ::eroom::test_support::SmtpSinkOptions;

// An AlertStore that only records deliveries.
class RecordingAlertStore : public AlertStore {
 public:
  absl::StatusOr<std::vector<Alert>> LoadActive() override {
    return std::vector<Alert>();
  }
  absl::StatusOr<int64_t> Save(const AlertEvent&) override { return 1; }
  absl::Status Acknowledge(int64_t, const std::string&, const std::string&,
                           absl::Time) override {
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<AlertEvent>> History(absl::Time, int,
                                                  const std::string&) override {
    return std::vector<AlertEvent>();
  }
  absl::StatusOr<int64_t> AddSilence(const Silence&) override { return 1; }
  absl::Status ExpireSilence(int64_t, const std::string&, absl::Time) override {
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<Silence>> Silences(absl::Time) override {
    return std::vector<Silence>();
  }
  absl::Status RecordDelivery(const DeliveryRecord& record) override {
    absl::MutexLock lock(&mu_);
    deliveries_.push_back(record);
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<DeliveryRecord>> Deliveries(int64_t) override {
    absl::MutexLock lock(&mu_);
    return deliveries_;
  }

  std::vector<DeliveryRecord> deliveries() const {
    absl::MutexLock lock(&mu_);
    return deliveries_;
  }
  // Waits up to `timeout` for `count` records; false if they did not come.
  bool WaitForDeliveries(size_t count, absl::Duration timeout) const {
    absl::MutexLock lock(&mu_);
    auto enough = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return deliveries_.size() >= count;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<DeliveryRecord> deliveries_ ABSL_GUARDED_BY(mu_);
};

}  // namespace eroom::collector::alerting::test_support

#endif  // EROOM_TESTS_UNIT_COLLECTOR_ALERT_NOTIFICATION_TEST_SUPPORT_H_
