#include "agent/http_prober.h"

#include <curl/curl.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace eroom::agent {
namespace {

using ::eroom::monitor::v1::ProbeResult;
using ::eroom::monitor::v1::ProbeTarget;
using ::eroom::monitor::v1::QueueStatus;
using ::nlohmann::json;

constexpr size_t kMaxBodyBytes = 1 << 20;
// Text copied from a response into an error stays short: it is stored with
// every probe result.
constexpr size_t kMaxQuotedBytes = 200;

absl::string_view PathFor(ProbeTarget target) {
  switch (target) {
    case eroom::monitor::v1::HEALTH:
      return "/health";
    case eroom::monitor::v1::QUEUE_STATUS:
      return "/queue/status";
    default:
      return "";
  }
}

// `text` cut to kMaxQuotedBytes on a UTF-8 character boundary.
std::string Quoted(absl::string_view text) {
  if (text.size() <= kMaxQuotedBytes) return std::string(text);
  size_t end = kMaxQuotedBytes;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) {
    --end;
  }
  return absl::StrCat(text.substr(0, end), "...");
}

// Reads the count `name` of `object`; `where` prefixes it in errors.
absl::Status ReadCount(const json& object, const char* name,
                       absl::string_view where, int64_t* count) {
  auto it = object.find(name);
  if (it == object.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("missing field ", where, name));
  }
  // Non-negative JSON integers parse as unsigned; anything else is no count.
  if (!it->is_number_unsigned() ||
      it->get<uint64_t>() >
          static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return absl::InvalidArgumentError(
        absl::StrCat("field ", where, name, " is not a non-negative integer"));
  }
  *count = it->get<int64_t>();
  return absl::OkStatus();
}

// The queue numbers of /queue/status, or of /health's "queue" object.
absl::Status ReadQueue(const json& object, absl::string_view where,
                       QueueStatus* queue) {
  int64_t queued = 0, active = 0, completed = 0, max_concurrent = 0;
  for (auto [name, count] :
       {std::pair{"queued", &queued}, std::pair{"active", &active},
        std::pair{"completed", &completed},
        std::pair{"maxConcurrent", &max_concurrent}}) {
    if (absl::Status status = ReadCount(object, name, where, count);
        !status.ok()) {
      return status;
    }
  }
  queue->set_queued(queued);
  queue->set_active(active);
  queue->set_completed(completed);
  queue->set_max_concurrent(max_concurrent);
  return absl::OkStatus();
}

absl::Status InterpretHealth(const json& body, ProbeResult* result) {
  auto status = body.find("status");
  if (status == body.end()) {
    return absl::InvalidArgumentError("missing field status");
  }
  if (!status->is_string()) {
    return absl::InvalidArgumentError("field status is not a string");
  }
  result->set_health_status(Quoted(status->get<std::string>()));
  // Only the queue numbers are optional: health is what this probe is for.
  if (auto queue = body.find("queue"); queue != body.end()) {
    if (!queue->is_object()) {
      return absl::InvalidArgumentError("field queue is not an object");
    }
    QueueStatus numbers;
    if (absl::Status read = ReadQueue(*queue, "queue.", &numbers); !read.ok()) {
      return read;
    }
    *result->mutable_queue() = numbers;
  }
  if (result->health_status() != "healthy") {
    return absl::UnavailableError(
        absl::StrCat("health status is \"", result->health_status(), "\""));
  }
  return absl::OkStatus();
}

absl::Status InterpretQueueStatus(const json& body, ProbeResult* result) {
  QueueStatus numbers;
  if (absl::Status read = ReadQueue(body, "", &numbers); !read.ok()) {
    return read;
  }
  *result->mutable_queue() = numbers;
  return absl::OkStatus();
}

absl::Status Interpret(ProbeTarget target, long http_status,
                       std::string_view body_text, ProbeResult* result) {
  json body = json::parse(body_text, nullptr, /*allow_exceptions=*/false);
  if (http_status == 401) {
    // ERoom says why in {"error": ...}: missing header or wrong key.
    if (body.is_object()) {
      auto reason = body.find("error");
      if (reason != body.end() && reason->is_string()) {
        return absl::UnauthenticatedError(absl::StrCat(
            "401 unauthorized: ", Quoted(reason->get<std::string>())));
      }
    }
    return absl::UnauthenticatedError("401 unauthorized");
  }
  if (http_status != 200) {
    return absl::UnavailableError(absl::StrCat("HTTP ", http_status));
  }
  if (body.is_discarded()) {
    return absl::InvalidArgumentError("body is not JSON");
  }
  if (!body.is_object()) {
    return absl::InvalidArgumentError("body is not a JSON object");
  }
  switch (target) {
    case eroom::monitor::v1::HEALTH:
      return InterpretHealth(body, result);
    case eroom::monitor::v1::QUEUE_STATUS:
      return InterpretQueueStatus(body, result);
    default:
      return absl::InvalidArgumentError("unknown probe target");
  }
}

class CurlHttpProber final : public HttpProber {
 public:
  CurlHttpProber(ProbeOptions options, const Clock& clock)
      : options_(std::move(options)),
        clock_(clock),
        curl_(curl_easy_init(), &curl_easy_cleanup),
        headers_(nullptr, &curl_slist_free_all) {
    if (curl_ == nullptr) return;
    // A line break in the key would inject headers; such a key is refused
    // per probe rather than sent.
    key_has_line_break_ = absl::StrContains(options_.api_key, "\r") ||
                          absl::StrContains(options_.api_key, "\n");
    // Without a key ERoom answers 401 "인증이 필요합니다", which is the
    // reason an operator should see.
    if (!options_.api_key.empty() && !key_has_line_break_) {
      headers_.reset(curl_slist_append(
          nullptr, absl::StrCat("Authorization: ", options_.api_key).c_str()));
    }
    // curl treats 0 as "no timeout".
    const long timeout_ms =
        std::max<long>(1, absl::ToInt64Milliseconds(options_.timeout));
    CURL* curl = curl_.get();
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    // ERoom is probed directly: an environment proxy would also see the key.
    curl_easy_setopt(curl, CURLOPT_PROXY, "");
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "eroom-agent/" EROOM_VERSION);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers_.get());
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &CurlHttpProber::OnBody);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, this);
  }

  ProbeResult Probe(ProbeTarget target) override {
    ProbeResult result;
    result.set_target(target);
    const absl::Time start = clock_.Now();
    result.set_time_unix_ms(ToUnixMillis(start));
    absl::string_view path = PathFor(target);
    if (path.empty()) {
      result.set_error("unknown probe target");
      return result;
    }
    if (curl_ == nullptr) {
      result.set_error("libcurl initialization failed");
      return result;
    }
    if (key_has_line_break_) {
      result.set_error("api key contains a line break; not sent");
      return result;
    }

    body_.clear();
    body_too_large_ = false;
    const std::string url = absl::StrCat(options_.base_url, path);
    curl_easy_setopt(curl_.get(), CURLOPT_URL, url.c_str());
    const CURLcode code = curl_easy_perform(curl_.get());
    result.set_latency_ms(absl::ToDoubleMilliseconds(clock_.Now() - start));
    long http_status = 0;
    curl_easy_getinfo(curl_.get(), CURLINFO_RESPONSE_CODE, &http_status);
    if (code != CURLE_OK) {
      result.set_http_status(static_cast<int32_t>(http_status));
      result.set_error(TransportError(code));
      return result;
    }
    InterpretProbeResponse(target, http_status, body_, &result);
    return result;
  }

 private:
  static size_t OnBody(char* data, size_t size, size_t count, void* self_ptr) {
    auto* self = static_cast<CurlHttpProber*>(self_ptr);
    const size_t bytes = size * count;
    if (self->body_.size() + bytes > kMaxBodyBytes) {
      self->body_too_large_ = true;
      return 0;  // Anything but `bytes` aborts the transfer.
    }
    self->body_.append(data, bytes);
    return bytes;
  }

  std::string TransportError(CURLcode code) const {
    switch (code) {
      case CURLE_OPERATION_TIMEDOUT:
        return "timeout";
      case CURLE_COULDNT_RESOLVE_HOST:
        return "dns/resolve failure";
      case CURLE_COULDNT_CONNECT: {
        long os_errno = 0;
        curl_easy_getinfo(curl_.get(), CURLINFO_OS_ERRNO, &os_errno);
        if (os_errno == ECONNREFUSED) return "connection refused";
        if (os_errno != 0) {
          return absl::StrCat("cannot connect: ",
                              std::strerror(static_cast<int>(os_errno)));
        }
        break;
      }
      case CURLE_WRITE_ERROR:
        if (body_too_large_) return "body too large";
        break;
      default:
        break;
    }
    return curl_easy_strerror(code);
  }

  const ProbeOptions options_;
  const Clock& clock_;
  bool key_has_line_break_ = false;
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl_;
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers_;
  std::string body_;  // Of the transfer in progress.
  bool body_too_large_ = false;
};

}  // namespace

void InterpretProbeResponse(ProbeTarget target, long http_status,
                            std::string_view body, ProbeResult* result) {
  result->set_http_status(static_cast<int32_t>(http_status));
  result->clear_health_status();
  result->clear_queue();
  absl::Status verdict = Interpret(target, http_status, body, result);
  result->set_ok(verdict.ok());
  result->set_error(std::string(verdict.message()));
}

std::unique_ptr<HttpProber> HttpProber::Create(ProbeOptions options,
                                               const Clock& clock) {
  // Once per process, before any handle exists; curl_easy_init would do it
  // implicitly, but not thread-safely on every libcurl build.
  // A failure surfaces as curl_easy_init returning null.
  [[maybe_unused]] static const CURLcode global_init =
      curl_global_init(CURL_GLOBAL_DEFAULT);
  return std::make_unique<CurlHttpProber>(std::move(options), clock);
}

}  // namespace eroom::agent
