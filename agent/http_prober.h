#ifndef EROOM_AGENT_HTTP_PROBER_H_
#define EROOM_AGENT_HTTP_PROBER_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "eroom/monitor/v1/monitor.pb.h"

namespace eroom::agent {

// An http:// or https:// URL as the prober uses it.
struct HttpUrl {
  std::string scheme;  // "http" or "https"
  std::string host;    // A name or an address; IPv6 without brackets.
  int port = 0;        // Explicit, or the scheme's default.
  std::string path;    // Prefix of the probed paths: empty or "/...".
};

// Parses scheme://host[:port][/path]. InvalidArgument "is not a valid URL"
// (no user info, query or fragment either) or "must be http:// or https://".
absl::StatusOr<HttpUrl> ParseHttpUrl(std::string_view url);

struct ProbeOptions {
  std::string base_url = "http://127.0.0.1:8080";  // No trailing slash.
  std::string api_key;  // Sent as `Authorization: <key>`; never logged.
  absl::Duration timeout = absl::Seconds(2);
};

// Fills the result fields that depend on the HTTP answer (ok, http_status,
// error, health_status, queue) from a status code and body. Pure, so every
// body shape is unit-tested without a server.
void InterpretProbeResponse(eroom::monitor::v1::ProbeTarget target,
                            long http_status, std::string_view body,
                            eroom::monitor::v1::ProbeResult* result);

// Probes ERoom's /health and /queue/status over HTTP or HTTPS with
// Boost.Beast (header-only, so the agent maps no HTTP library; the footprint
// goal needs no shared library in it but glibc). The server's certificate is
// checked against the system's roots; one connection per probe, no proxy, no
// redirect. Connecting, sending and reading the answer together take at most
// the timeout; resolving the host name is outside it, as with getaddrinfo(). A
// refused connection, a timeout, a 401 or a body that is not the expected JSON
// is a failed probe with a reason, never an error of the caller. Reasons
// include "timeout", "connection refused", "cannot connect: <errno text>",
// "dns/resolve failure", "body too large" (over 1 MiB), "connection closed
// before the response ended", "TLS failure: <why>", "401 unauthorized:
// <ERoom's error text>", "HTTP <code>", "body is not JSON", "missing field
// <name>", "health status is \"<status>\"" and "invalid URL: <why>".
// Not thread-safe: owned by the agent's prober thread.
class HttpProber {
 public:
  static std::unique_ptr<HttpProber> Create(ProbeOptions options,
                                            const Clock& clock);
  virtual ~HttpProber() = default;
  virtual eroom::monitor::v1::ProbeResult Probe(
      eroom::monitor::v1::ProbeTarget target) = 0;
};

}  // namespace eroom::agent

#endif  // EROOM_AGENT_HTTP_PROBER_H_
