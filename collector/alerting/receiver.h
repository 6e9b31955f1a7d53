#ifndef EROOM_COLLECTOR_ALERTING_RECEIVER_H_
#define EROOM_COLLECTOR_ALERTING_RECEIVER_H_

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "collector/alerting/notification.h"
#include "collector/alerting/notification_config.h"

namespace eroom::collector::alerting {

// Where messages go: a webhook, Slack, an SMTP server or a local program.
// Each receiver is used by its own delivery thread, one Send at a time.
class Receiver {
 public:
  virtual ~Receiver() = default;

  // Delivers one message within the receiver's timeout. An error names
  // what failed (redacted URL, HTTP status, SMTP or exit status) and never
  // contains a secret.
  virtual absl::Status Send(const Notification& notification) = 0;

  // From any thread: a Send in progress and every later one return
  // Cancelled promptly (the collector is stopping).
  void Cancel() { canceled_.store(true); }

 protected:
  bool canceled() const { return canceled_.load(); }

 private:
  std::atomic<bool> canceled_{false};
};

// The receiver `config` describes. Needs curl_global_init() done (the
// dispatcher does it).
std::unique_ptr<Receiver> MakeReceiver(const ReceiverConfig& config);

// "https://hooks.slack.com/services/T0/B0/XX" -> "https://hooks.slack.com/
// <redacted>": the scheme, host and port only, without user info.
std::string RedactUrl(absl::string_view url);

// `text` with each secret of `config` (a URL also by its path, a password)
// replaced by "<redacted>": a last guard on every error recorded or logged.
std::string RedactSecrets(std::string text, const ReceiverConfig& config);

}  // namespace eroom::collector::alerting

#endif  // EROOM_COLLECTOR_ALERTING_RECEIVER_H_
