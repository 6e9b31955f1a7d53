#include "agent/http_prober.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "boost/asio/connect.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/ssl.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "boost/beast/ssl.hpp"
#include "common/utf8.h"
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
  return absl::StrCat(Utf8Prefix(text, kMaxQuotedBytes), "...");
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

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using ErrorCode = boost::system::error_code;

// The transport failure `error` as a probe's reason.
std::string TransportError(const ErrorCode& error) {
  if (error == beast::error::timeout) return "timeout";
  if (error == asio::error::connection_refused) return "connection refused";
  if (error == http::error::body_limit) return "body too large";
  if (error == http::error::end_of_stream || error == asio::error::eof ||
      error == http::error::partial_message ||
      error == asio::error::connection_reset) {
    return "connection closed before the response ended";
  }
  if (error.category() == asio::error::get_ssl_category()) {
    return absl::StrCat("TLS failure: ", error.message());
  }
  return absl::StrCat("cannot connect: ", error.message());
}

// Boost.Beast, header-only over Boost.Asio, rather than libcurl or Debian's
// cpp-httplib: both are shared libraries with more shared libraries behind
// them (brotli, gnutls, krb5 ...), and the agent's memory goal needs an
// executable that maps no shared library but glibc. TLS goes through the
// OpenSSL that gRPC already links.
class BeastProber final : public HttpProber {
 public:
  BeastProber(ProbeOptions options, const Clock& clock)
      : options_(std::move(options)),
        clock_(clock),
        tls_(asio::ssl::context::tls_client) {
    absl::StatusOr<HttpUrl> url = ParseHttpUrl(options_.base_url);
    if (!url.ok()) {
      url_error_ = absl::StrCat("invalid URL: ", url.status().message());
      return;
    }
    url_ = *std::move(url);
    const std::string host = absl::StrContains(url_.host, ':')
                                 ? absl::StrCat("[", url_.host, "]")
                                 : url_.host;
    host_header_ = absl::StrCat(host, ":", url_.port);
    if (url_.scheme == "https") {
      ErrorCode error;
      tls_.set_default_verify_paths(error);
      tls_.set_verify_mode(asio::ssl::verify_peer);
      tls_.set_verify_callback(asio::ssl::host_name_verification(url_.host));
    }
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
    if (!url_error_.empty()) {
      result.set_error(url_error_);
      return result;
    }
    // A line break in the key would inject headers; such a key is refused
    // per probe rather than sent.
    if (absl::StrContains(options_.api_key, "\r") ||
        absl::StrContains(options_.api_key, "\n")) {
      result.set_error("api key contains a line break; not sent");
      return result;
    }

    http::request<http::empty_body> request(http::verb::get,
                                            absl::StrCat(url_.path, path), 11);
    request.set(http::field::host, host_header_);
    request.set(http::field::user_agent, "eroom-agent/" EROOM_VERSION);
    // Without a key ERoom answers 401 "인증이 필요합니다", which is the
    // reason an operator should see.
    if (!options_.api_key.empty()) {
      request.set(http::field::authorization, options_.api_key);
    }
    http::response_parser<http::string_body> response;
    // The bound counts the bytes as sent: nothing is inflated.
    response.body_limit(kMaxBodyBytes);

    const absl::Status exchanged = Exchange(request, response);
    result.set_latency_ms(absl::ToDoubleMilliseconds(clock_.Now() - start));
    if (!exchanged.ok()) {
      if (response.is_header_done()) {
        result.set_http_status(response.get().result_int());
      }
      result.set_error(std::string(exchanged.message()));
      return result;
    }
    InterpretProbeResponse(target, response.get().result_int(),
                           response.get().body(), &result);
    return result;
  }

 private:
  // Resolves, connects, sends `request` and reads `response`, all within
  // one timeout; the failure's message is the probe's reason.
  absl::Status Exchange(const http::request<http::empty_body>& request,
                        http::response_parser<http::string_body>& response) {
    // Resolution blocks without the deadline, as getaddrinfo() does, but
    // starts no resolver thread.
    asio::ip::tcp::resolver resolver(io_);
    ErrorCode error;
    const auto endpoints =
        resolver.resolve(url_.host, std::to_string(url_.port), error);
    if (error) return absl::UnavailableError("dns/resolve failure");

    beast::tcp_stream tcp(io_);
    // tcp_stream applies the expiry to every operation started after it.
    tcp.expires_after(std::chrono::microseconds(absl::ToInt64Microseconds(
        std::max(options_.timeout, absl::Milliseconds(1)))));
    error = Run([&](auto done) { tcp.async_connect(endpoints, done); });
    if (error) return absl::UnavailableError(TransportError(error));
    if (url_.scheme != "https") return Send(tcp, request, response);

    beast::ssl_stream<beast::tcp_stream&> tls(tcp, tls_);
    if (!SSL_set_tlsext_host_name(tls.native_handle(), url_.host.c_str())) {
      return absl::UnavailableError("TLS failure: cannot set the server name");
    }
    error = Run([&](auto done) {
      tls.async_handshake(asio::ssl::stream_base::client, done);
    });
    if (error) return absl::UnavailableError(TransportError(error));
    return Send(tls, request, response);
  }

  template <typename Stream>
  absl::Status Send(Stream& stream,
                    const http::request<http::empty_body>& request,
                    http::response_parser<http::string_body>& response) {
    ErrorCode error =
        Run([&](auto done) { http::async_write(stream, request, done); });
    beast::flat_buffer buffer;
    if (!error) {
      error = Run([&](auto done) {
        http::async_read_header(stream, buffer, response, done);
      });
    }
    // A declared length over the bound fails before the body is read;
    // body_limit alone let such a body through in some reads.
    if (!error && response.content_length().value_or(0) > kMaxBodyBytes) {
      error = http::error::body_limit;
    }
    if (!error && !response.is_done()) {
      error = Run(
          [&](auto done) { http::async_read(stream, buffer, response, done); });
    }
    if (error) return absl::UnavailableError(TransportError(error));
    return absl::OkStatus();
  }

  // Starts one asynchronous operation and runs it to completion on this
  // thread; `start` is given the completion handler.
  template <typename Start>
  ErrorCode Run(Start start) {
    ErrorCode outcome;
    start([&outcome](const ErrorCode& error, auto&&...) { outcome = error; });
    io_.restart();
    io_.run();
    return outcome;
  }

  const ProbeOptions options_;
  const Clock& clock_;
  HttpUrl url_;
  std::string url_error_;  // Set when the base URL is unusable.
  std::string host_header_;
  asio::io_context io_{1};
  asio::ssl::context tls_;
};

}  // namespace

absl::StatusOr<HttpUrl> ParseHttpUrl(std::string_view url) {
  // scheme://host[:port][/path], the host a name, an IPv4 address or a
  // bracketed IPv6 one.
  static const RE2& kUrl =
      *new RE2(R"(([A-Za-z][A-Za-z0-9+.-]*)://)"
               R"((?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9._~%-]+)))"
               R"((?::([0-9]{1,5}))?(/[^\s?#]*)?)");
  HttpUrl parsed;
  std::string bracketed_host, port;
  if (!RE2::FullMatch(url, kUrl, &parsed.scheme, &bracketed_host, &parsed.host,
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
  return std::make_unique<BeastProber>(std::move(options), clock);
}

}  // namespace eroom::agent
