#include "agent/http_prober.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "re2/re2.h"

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

// Why no connection could be made to `url`, found by resolving its host and
// connecting once more: cpp-httplib reports every such failure as one error
// code, while a refused port and a filtered one call for different fixes.
std::string ConnectFailure(const HttpUrl& url, absl::Duration timeout) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* addresses = nullptr;
  if (getaddrinfo(url.host.c_str(), std::to_string(url.port).c_str(), &hints,
                  &addresses) != 0 ||
      addresses == nullptr) {
    return "dns/resolve failure";
  }
  absl::Cleanup free_addresses = [addresses] { freeaddrinfo(addresses); };
  const int fd = socket(addresses->ai_family,
                        addresses->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                        addresses->ai_protocol);
  if (fd < 0) return absl::StrCat("cannot connect: ", std::strerror(errno));
  absl::Cleanup close_fd = [fd] { close(fd); };
  int error = 0;
  if (connect(fd, addresses->ai_addr, addresses->ai_addrlen) != 0) {
    error = errno;
    if (error == EINPROGRESS) {
      pollfd ready{.fd = fd, .events = POLLOUT, .revents = 0};
      const int waited =
          poll(&ready, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout)));
      if (waited == 0) return "timeout";
      socklen_t length = sizeof(error);
      if (waited < 0 ||
          getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) {
        error = errno;
      }
    }
  }
  if (error == ECONNREFUSED) return "connection refused";
  if (error != 0) return absl::StrCat("cannot connect: ", std::strerror(error));
  return "cannot connect";  // It accepts now: the failure has passed.
}

class HttplibProber final : public HttpProber {
 public:
  HttplibProber(ProbeOptions options, const Clock& clock)
      : options_(std::move(options)), clock_(clock) {
    absl::StatusOr<HttpUrl> url = ParseHttpUrl(options_.base_url);
    if (!url.ok()) {
      url_error_ = absl::StrCat("invalid URL: ", url.status().message());
      return;
    }
    url_ = *std::move(url);
    // A line break in the key would inject headers; such a key is refused
    // per probe rather than sent.
    key_has_line_break_ = absl::StrContains(options_.api_key, "\r") ||
                          absl::StrContains(options_.api_key, "\n");
    headers_.emplace("User-Agent", "eroom-agent/" EROOM_VERSION);
    // Without a key ERoom answers 401 "인증이 필요합니다", which is the
    // reason an operator should see.
    if (!options_.api_key.empty() && !key_has_line_break_) {
      headers_.emplace("Authorization", options_.api_key);
    }
    const std::string host = absl::StrContains(url_.host, ':')
                                 ? absl::StrCat("[", url_.host, "]")
                                 : url_.host;
    client_ = std::make_unique<httplib::Client>(
        absl::StrCat(url_.scheme, "://", host, ":", url_.port));
    const auto timeout = absl::ToChronoMicroseconds(
        std::max(options_.timeout, absl::Milliseconds(1)));
    client_->set_connection_timeout(timeout);
    client_->set_read_timeout(timeout);
    client_->set_write_timeout(timeout);
    // The body bound counts the bytes as sent: nothing is inflated.
    client_->set_decompress(false);
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
    if (client_ == nullptr) {
      result.set_error(url_error_);
      return result;
    }
    if (key_has_line_break_) {
      result.set_error("api key contains a line break; not sent");
      return result;
    }

    const absl::Time deadline = start + options_.timeout;
    int http_status = 0;
    std::string body;
    bool body_too_large = false;
    bool past_deadline = false;
    httplib::Result response = client_->Get(
        absl::StrCat(url_.path, path), headers_,
        [&](const httplib::Response& head) {
          http_status = head.status;
          return true;
        },
        [&](const char* data, size_t length) {
          if (body.size() + length > kMaxBodyBytes) {
            body_too_large = true;
            return false;
          }
          if (clock_.Now() > deadline) {
            past_deadline = true;
            return false;
          }
          body.append(data, length);
          return true;
        });
    const absl::Duration latency = clock_.Now() - start;
    result.set_latency_ms(absl::ToDoubleMilliseconds(latency));
    if (response.error() != httplib::Error::Success) {
      result.set_http_status(http_status);
      if (body_too_large) {
        result.set_error("body too large");
      } else if (past_deadline || latency >= options_.timeout) {
        result.set_error("timeout");
      } else {
        result.set_error(TransportError(response.error()));
      }
      return result;
    }
    InterpretProbeResponse(target, response->status, body, &result);
    return result;
  }

 private:
  std::string TransportError(httplib::Error error) const {
    switch (error) {
      case httplib::Error::ConnectionTimeout:
        return "timeout";
      case httplib::Error::Connection:
        return ConnectFailure(url_, options_.timeout);
      case httplib::Error::Read:
        return "connection closed before the response ended";
      case httplib::Error::SSLConnection:
        return "TLS handshake failed";
      case httplib::Error::SSLServerVerification:
        return "TLS certificate not trusted";
      default:
        return httplib::to_string(error);
    }
  }

  const ProbeOptions options_;
  const Clock& clock_;
  HttpUrl url_;
  std::string url_error_;  // Why client_ is null.
  bool key_has_line_break_ = false;
  httplib::Headers headers_;
  std::unique_ptr<httplib::Client> client_;
};

}  // namespace

absl::StatusOr<HttpUrl> ParseHttpUrl(std::string_view url) {
  // scheme://host[:port][/path], the host a name, an IPv4 address or a
  // bracketed IPv6 one.
  static const LazyRE2 kUrl = {R"(([A-Za-z][A-Za-z0-9+.-]*)://)"
                               R"((?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9._~%-]+)))"
                               R"((?::([0-9]{1,5}))?(/[^\s?#]*)?)"};
  HttpUrl parsed;
  std::string bracketed_host, port;
  if (!RE2::FullMatch(url, *kUrl, &parsed.scheme, &bracketed_host, &parsed.host,
                      &port, &parsed.path)) {
    return absl::InvalidArgumentError("is not a valid URL");
  }
  parsed.scheme = absl::AsciiStrToLower(parsed.scheme);
  if (parsed.scheme != "http" && parsed.scheme != "https") {
    return absl::InvalidArgumentError("must be http:// or https://");
  }
  if (!bracketed_host.empty()) parsed.host = bracketed_host;
  if (port.empty()) {
    parsed.port = parsed.scheme == "https" ? 443 : 80;
  } else if (!absl::SimpleAtoi(port, &parsed.port) || parsed.port < 1 ||
             parsed.port > 65535) {
    return absl::InvalidArgumentError("has a port outside 1-65535");
  }
  while (!parsed.path.empty() && parsed.path.back() == '/') {
    parsed.path.pop_back();
  }
  return parsed;
}

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
  return std::make_unique<HttplibProber>(std::move(options), clock);
}

}  // namespace eroom::agent
