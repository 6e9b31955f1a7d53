#include "tests/integration/webhook_sink.h"

#include "absl/strings/str_cat.h"
#include "httplib.h"

namespace eroom::testing {

WebhookSink::WebhookSink(bool hang)
    : server_(std::make_unique<httplib::Server>()) {
  server_->Post(".*", [this, hang](const httplib::Request& request,
                                   httplib::Response& response) {
    const absl::Time received = absl::Now();
    absl::MutexLock lock(&mu_);
    requests_.push_back({request.path, request.body, received});
    if (hang) {
      mu_.Await(absl::Condition(&closing_));
      return;
    }
    response.set_content("ok", "text/plain");
  });
  port_ = server_->bind_to_any_port("127.0.0.1");
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // Bound and listening already: connections queue until the loop runs.
}

WebhookSink::~WebhookSink() {
  {
    absl::MutexLock lock(&mu_);
    closing_ = true;
  }
  server_->stop();
  thread_.join();
}

std::string WebhookSink::Url(const std::string& path) const {
  return absl::StrCat("http://127.0.0.1:", port_, path);
}

std::vector<WebhookSink::Request> WebhookSink::Requests() const {
  absl::MutexLock lock(&mu_);
  return requests_;
}

bool WebhookSink::WaitForRequests(size_t count, absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto arrived = [this, count]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return requests_.size() >= count;
  };
  return mu_.AwaitWithTimeout(absl::Condition(&arrived), timeout);
}

}  // namespace eroom::testing
