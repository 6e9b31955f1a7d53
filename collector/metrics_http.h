#ifndef EROOM_COLLECTOR_METRICS_HTTP_H_
#define EROOM_COLLECTOR_METRICS_HTTP_H_

// /metrics over HTTP(S) for Prometheus: the collector's `metrics_http:`
// section, who may scrape, and the server.

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "collector/authorizer.h"
#include "common/config_reader.h"
#include "common/transport_security.h"

namespace httplib {
class Server;
}

namespace eroom::collector {

// The path Prometheus scrapes, and its row in the scrape's access table.
inline constexpr char kMetricsPath[] = "/metrics";
const MethodAccessTable& MetricsScrapeAccess();

// The collector's `metrics_http:` section (absent: no /metrics):
//   listen: 127.0.0.1:9464   host:port; TLS with the `tls:` section's cert
//                            and key, plaintext (loopback only) when
//                            tls.mode is insecure
//   allow: [10.0.0.0/8]      addresses or CIDRs that may scrape without a
//                            token; everyone else sends a viewer (or
//                            higher) token as "Authorization: Bearer"
struct MetricsHttpConfig {
  bool enabled = false;
  std::string listen;
  std::vector<std::string> allow;
};

// Reads `metrics_http:` (present in the file) strictly; problems are
// recorded in `section` naming file and key. `security` is the collector's
// `tls:` section as read.
MetricsHttpConfig ParseMetricsHttpConfig(ConfigMap& section,
                                         const ServerSecurity& security);

// IPv4 and IPv6 networks; an IPv4-mapped IPv6 peer is its IPv4 address.
class AddressAllowlist {
 public:
  // Each entry an address ("10.1.2.3", "::1") or a CIDR ("10.0.0.0/8");
  // InvalidArgument naming the first bad one.
  static absl::StatusOr<AddressAllowlist> Parse(
      const std::vector<std::string>& entries);

  bool Allows(absl::string_view address) const;
  bool empty() const { return networks_.empty(); }

 private:
  struct Network {
    bool v6 = false;
    std::array<uint8_t, 16> bytes{};
    int prefix_bits = 0;
  };
  static std::optional<Network> ParseNetwork(absl::string_view entry);

  std::vector<Network> networks_;
};

// Whether a request may scrape: 200, or 401 (no or unknown token) or 403
// (a token whose role may not) with why. `peer` is the client's address,
// `authorization` its Authorization header if it sent one. Refusals by
// token are logged through the authorizer.
struct MetricsAccessVerdict {
  int http_status = 200;
  std::string reason;
};
MetricsAccessVerdict DecideMetricsAccess(
    const AddressAllowlist& allowlist, Authorizer& authorizer,
    std::optional<absl::string_view> authorization, absl::string_view peer);

// Serves GET /metrics on its own threads (cpp-httplib); every scrape calls
// `render` with the requests refused so far, by HTTP status (401, 403); it
// must not touch the ingest thread's work.
class MetricsHttpServer {
 public:
  using Render = std::function<absl::StatusOr<std::string>(
      const std::map<int, uint64_t>& refused)>;

  // Listens on config.listen (TLS unless security.insecure); `authorizer`
  // (with MetricsScrapeAccess()) outlives the server.
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(
      const MetricsHttpConfig& config, const ServerSecurity& security,
      Authorizer& authorizer, Render render);
  ~MetricsHttpServer();
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  int port() const { return port_; }
  // Stops listening and waits for the requests in progress.
  void Stop();

 private:
  MetricsHttpServer(AddressAllowlist allowlist, Authorizer& authorizer,
                    Render render, std::unique_ptr<httplib::Server> server);
  void CountRefusal(int status);
  std::map<int, uint64_t> Refused() const;

  const AddressAllowlist allowlist_;
  Authorizer& authorizer_;
  const Render render_;
  std::unique_ptr<httplib::Server> server_;
  int port_ = 0;
  std::thread thread_;
  absl::Notification listening_ended_;
  mutable absl::Mutex mu_;
  std::map<int, uint64_t> refused_ ABSL_GUARDED_BY(mu_);
};

}  // namespace eroom::collector

#endif  // EROOM_COLLECTOR_METRICS_HTTP_H_
