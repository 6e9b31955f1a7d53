#ifndef EROOM_TESTS_INTEGRATION_WEBHOOK_SINK_H_
#define EROOM_TESTS_INTEGRATION_WEBHOOK_SINK_H_

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace httplib {
class Server;
}

namespace eroom::testing {

// An HTTP server on 127.0.0.1 (an ephemeral port) that records every POST,
// standing in for a webhook or Slack receiver. `hang` makes every request
// wait until the sink is destroyed: a receiver that never answers.
class WebhookSink {
 public:
  struct Request {
    std::string path;
    std::string body;
    absl::Time received;
  };

  explicit WebhookSink(bool hang = false);
  ~WebhookSink();
  WebhookSink(const WebhookSink&) = delete;
  WebhookSink& operator=(const WebhookSink&) = delete;

  int port() const { return port_; }
  // "http://127.0.0.1:PORT/PATH".
  std::string Url(const std::string& path) const;

  std::vector<Request> Requests() const;
  // Waits until at least `count` requests arrived; whether they did.
  bool WaitForRequests(size_t count, absl::Duration timeout) const;

 private:
  std::unique_ptr<httplib::Server> server_;
  int port_ = 0;
  std::thread thread_;
  mutable absl::Mutex mu_;
  std::vector<Request> requests_ ABSL_GUARDED_BY(mu_);
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace eroom::testing

#endif  // EROOM_TESTS_INTEGRATION_WEBHOOK_SINK_H_
