#include "collector/alerting/receiver.h"

#include <curl/curl.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "collector/alerting/notification_render.h"
#include "collector/alerting/receiver_program.h"

namespace eroom::collector::alerting {
namespace {

constexpr size_t kKeptResponseBytes = 200;

// The first bytes of a response: why a server refused.
size_t KeepResponse(char* data, size_t size, size_t count, void* user) {
  auto* kept = static_cast<std::string*>(user);
  const size_t bytes = size * count;
  if (kept->size() < kKeptResponseBytes) {
    kept->append(data, std::min(bytes, kKeptResponseBytes - kept->size()));
  }
  return bytes;
}

struct Upload {
  const std::string* data;
  size_t offset = 0;
};

size_t ReadUpload(char* buffer, size_t size, size_t count, void* user) {
  auto* upload = static_cast<Upload*>(user);
  const size_t n =
      std::min(size * count, upload->data->size() - upload->offset);
  std::copy_n(upload->data->data() + upload->offset, n, buffer);
  upload->offset += n;
  return n;
}

// A curl easy handle, kept across the sends of one delivery thread so
// connections are reused.
class CurlReceiver : public Receiver {
 public:
  explicit CurlReceiver(const ReceiverConfig& config)
      : config_(config), curl_(curl_easy_init()) {}
  ~CurlReceiver() override {
    if (curl_ != nullptr) curl_easy_cleanup(curl_);
  }

  absl::Status Send(const Notification& notification) override {
    if (canceled()) return absl::CancelledError("stopping");
    if (curl_ == nullptr) return absl::InternalError("curl_easy_init failed");
    curl_easy_reset(curl_);
    char error[CURL_ERROR_SIZE] = {0};
    std::string response;
    curl_easy_setopt(curl_, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(
        curl_, CURLOPT_CONNECTTIMEOUT_MS,
        static_cast<long>(absl::ToInt64Milliseconds(config_.connect_timeout)));
    curl_easy_setopt(
        curl_, CURLOPT_TIMEOUT_MS,
        static_cast<long>(absl::ToInt64Milliseconds(config_.timeout)));
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, KeepResponse);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &response);
    curl_easy_setopt(curl_, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl_, CURLOPT_XFERINFOFUNCTION, AbortWhenCanceled);
    curl_easy_setopt(curl_, CURLOPT_XFERINFODATA, this);
    absl::Status status = config_.type == ReceiverConfig::Type::kEmail
                              ? SendEmail(notification, error)
                              : Post(notification, error, response);
    if (canceled()) return absl::CancelledError("stopping");
    return status;
  }

 private:
  absl::Status Post(const Notification& notification, const char* error,
                    const std::string& response) {
    const std::string body =
        config_.type == ReceiverConfig::Type::kSlack
            ? RenderSlackJson(notification)
            : RenderWebhookJson(notification, config_.name);
    curl_slist* headers =
        curl_slist_append(nullptr, "Content-Type: application/json");
    curl_easy_setopt(curl_, CURLOPT_URL, config_.url.c_str());
    curl_easy_setopt(curl_, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl_, CURLOPT_USERAGENT,
                     "eroom-collector/" EROOM_VERSION);
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(body.size()));
    const CURLcode rc = curl_easy_perform(curl_);
    curl_slist_free_all(headers);
    const std::string where = absl::StrCat("POST to ", RedactUrl(config_.url));
    if (rc != CURLE_OK) return Failure(where, rc, error);
    long code = 0;
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &code);
    if (code < 200 || code > 299) {
      return absl::UnavailableError(
          RedactSecrets(absl::StrCat(where, ": HTTP ", code,
                                     response.empty() ? "" : ": ", response),
                        config_));
    }
    return absl::OkStatus();
  }

  absl::Status SendEmail(const Notification& notification, const char* error) {
    const std::string message =
        RenderEmailMessage(notification, config_.from, config_.to);
    const std::string url = absl::StrCat(
        config_.tls == ReceiverConfig::SmtpTls::kSmtps ? "smtps://" : "smtp://",
        config_.smarthost);
    curl_slist* recipients = nullptr;
    for (const std::string& to : config_.to) {
      recipients =
          curl_slist_append(recipients, absl::StrCat("<", to, ">").c_str());
    }
    const std::string from = absl::StrCat("<", config_.from, ">");
    Upload upload{.data = &message};
    curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl_, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(curl_, CURLOPT_USE_SSL,
                     config_.tls == ReceiverConfig::SmtpTls::kNone
                         ? static_cast<long>(CURLUSESSL_NONE)
                         : static_cast<long>(CURLUSESSL_ALL));
    if (!config_.ca_file.empty()) {
      curl_easy_setopt(curl_, CURLOPT_CAINFO, config_.ca_file.c_str());
    }
    if (!config_.username.empty()) {
      curl_easy_setopt(curl_, CURLOPT_USERNAME, config_.username.c_str());
      curl_easy_setopt(curl_, CURLOPT_PASSWORD, config_.password.c_str());
    }
    curl_easy_setopt(curl_, CURLOPT_MAIL_FROM, from.c_str());
    curl_easy_setopt(curl_, CURLOPT_MAIL_RCPT, recipients);
    curl_easy_setopt(curl_, CURLOPT_READFUNCTION, ReadUpload);
    curl_easy_setopt(curl_, CURLOPT_READDATA, &upload);
    curl_easy_setopt(curl_, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl_, CURLOPT_INFILESIZE_LARGE,
                     static_cast<curl_off_t>(message.size()));
    const CURLcode rc = curl_easy_perform(curl_);
    curl_slist_free_all(recipients);
    if (rc != CURLE_OK) {
      return Failure(absl::StrCat("SMTP to ", config_.smarthost), rc, error);
    }
    return absl::OkStatus();
  }

  absl::Status Failure(const std::string& where, CURLcode rc,
                       const char* error) {
    const std::string detail =
        error[0] != '\0' ? std::string(error) : curl_easy_strerror(rc);
    const std::string text =
        RedactSecrets(absl::StrCat(where, ": ", detail), config_);
    return rc == CURLE_OPERATION_TIMEDOUT ? absl::DeadlineExceededError(text)
                                          : absl::UnavailableError(text);
  }

  // curl's progress callback, called often during a transfer.
  static int AbortWhenCanceled(void* user, curl_off_t, curl_off_t, curl_off_t,
                               curl_off_t) {
    return static_cast<const CurlReceiver*>(user)->canceled() ? 1 : 0;
  }

  const ReceiverConfig config_;
  CURL* const curl_;
};

}  // namespace

std::unique_ptr<Receiver> MakeReceiver(const ReceiverConfig& config) {
  if (config.type == ReceiverConfig::Type::kProgram) {
    return MakeProgramReceiver(config);
  }
  return std::make_unique<CurlReceiver>(config);
}

std::string RedactUrl(absl::string_view url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == absl::string_view::npos) return "<redacted>";
  const size_t host_start = scheme_end + 3;
  size_t host_end = url.find_first_of("/?#", host_start);
  if (host_end == absl::string_view::npos) host_end = url.size();
  absl::string_view authority = url.substr(host_start, host_end - host_start);
  if (const size_t at = authority.rfind('@'); at != absl::string_view::npos) {
    authority.remove_prefix(at + 1);
  }
  return absl::StrCat(url.substr(0, host_start), authority, "/<redacted>");
}

std::string RedactSecrets(std::string text, const ReceiverConfig& config) {
  std::vector<std::string> secrets = {config.url, config.password};
  if (const size_t scheme_end = config.url.find("://");
      scheme_end != std::string::npos) {
    const size_t path = config.url.find_first_of("/?#", scheme_end + 3);
    if (path != std::string::npos && path + 1 < config.url.size()) {
      secrets.push_back(config.url.substr(path));
    }
    const size_t at = config.url.find('@', scheme_end + 3);
    if (at != std::string::npos && (path == std::string::npos || at < path)) {
      secrets.push_back(config.url.substr(scheme_end + 3, at - scheme_end - 3));
    }
  }
  // Longest first, so a URL is replaced whole before its path is.
  std::sort(secrets.begin(), secrets.end(),
            [](const std::string& a, const std::string& b) {
              return a.size() > b.size();
            });
  for (const std::string& secret : secrets) {
    if (secret.empty()) continue;
    absl::StrReplaceAll({{secret, "<redacted>"}}, &text);
  }
  return text;
}

}  // namespace eroom::collector::alerting
