#include "collector/metrics_http.h"

#include <arpa/inet.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/exclusive_listen.h"
#include "httplib.h"
#include "spdlog/spdlog.h"

namespace eroom::collector {
namespace {

constexpr size_t kMetricsHttpThreads = 4;

using BioPtr = std::unique_ptr<BIO, decltype(&BIO_free)>;

BioPtr MemoryBio(const std::string& pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())),
                &BIO_free);
}

// Splits "host:port" and "[v6]:port"; nullopt if it is neither.
std::optional<std::pair<std::string, int>> SplitHostPort(
    absl::string_view address) {
  const size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos || colon == 0) return std::nullopt;
  absl::string_view host = address.substr(0, colon);
  int port = 0;
  if (!absl::SimpleAtoi(address.substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    return std::nullopt;
  }
  if (absl::ConsumePrefix(&host, "[") && !absl::ConsumeSuffix(&host, "]")) {
    return std::nullopt;
  }
  if (host.empty()) return std::nullopt;
  return std::pair{std::string(host), port};
}

// The TLS of the gRPC port (collector/collector.cc): its certificate
// chain, key and, if configured, client certificate check.
bool ConfigureTls(SSL_CTX& context, const ServerSecurity& security) {
  SSL_CTX_set_min_proto_version(&context, TLS1_2_VERSION);
  BioPtr chain = MemoryBio(security.cert_pem);
  X509* leaf = PEM_read_bio_X509(chain.get(), nullptr, nullptr, nullptr);
  if (leaf == nullptr) return false;
  const bool leaf_used = SSL_CTX_use_certificate(&context, leaf) == 1;
  X509_free(leaf);
  if (!leaf_used) return false;
  while (X509* intermediate =
             PEM_read_bio_X509(chain.get(), nullptr, nullptr, nullptr)) {
    if (SSL_CTX_add_extra_chain_cert(&context, intermediate) != 1) {
      X509_free(intermediate);
      return false;
    }
  }
  BioPtr key_bio = MemoryBio(security.key_pem);
  EVP_PKEY* key =
      PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr);
  if (key == nullptr) return false;
  const bool key_used = SSL_CTX_use_PrivateKey(&context, key) == 1;
  EVP_PKEY_free(key);
  if (!key_used || SSL_CTX_check_private_key(&context) != 1) return false;
  if (security.client_ca_pem.empty()) return true;
  X509_STORE* store = SSL_CTX_get_cert_store(&context);
  BioPtr ca = MemoryBio(security.client_ca_pem);
  int loaded = 0;
  while (X509* cert = PEM_read_bio_X509(ca.get(), nullptr, nullptr, nullptr)) {
    loaded += X509_STORE_add_cert(store, cert) == 1 ? 1 : 0;
    X509_free(cert);
  }
  if (loaded == 0) return false;
  SSL_CTX_set_verify(
      &context,
      SSL_VERIFY_PEER |
          (security.require_client_cert ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
      nullptr);
  return true;
}

}  // namespace

const MethodAccessTable& MetricsScrapeAccess() {
  static const MethodAccessTable* table =
      new MethodAccessTable{{kMetricsPath, Access::kViewer}};
  return *table;
}

MetricsHttpConfig ParseMetricsHttpConfig(ConfigMap& section,
                                         const ServerSecurity& security) {
  MetricsHttpConfig config;
  config.enabled = true;
  config.listen = section.String("listen", "");
  if (config.listen.empty()) {
    section.AddProblem("listen", "required: host:port to serve /metrics on");
  } else if (!SplitHostPort(config.listen)) {
    section.AddProblem(
        "listen",
        absl::StrCat("'", config.listen, "' is not host:port (port 0-65535)"));
  } else if (security.insecure && !IsLoopbackAddress(config.listen)) {
    section.AddProblem(
        "listen",
        absl::StrCat("plaintext (tls.mode: insecure) refused on '",
                     config.listen,
                     "', which is not a loopback address: /metrics is "
                     "plaintext on loopback only; use TLS"));
  }
  config.allow = section.StringList("allow", {});
  if (absl::StatusOr<AddressAllowlist> allowlist =
          AddressAllowlist::Parse(config.allow);
      !allowlist.ok()) {
    section.AddProblem("allow", allowlist.status().message());
  }
  return config;
}

std::optional<AddressAllowlist::Network> AddressAllowlist::ParseNetwork(
    absl::string_view entry) {
  absl::string_view address = entry;
  std::optional<int> prefix;
  if (const size_t slash = entry.find('/'); slash != absl::string_view::npos) {
    address = entry.substr(0, slash);
    int bits = 0;
    if (!absl::SimpleAtoi(entry.substr(slash + 1), &bits)) return std::nullopt;
    prefix = bits;
  }
  const std::string text(address);
  Network network;
  in_addr v4;
  in6_addr v6;
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    std::memcpy(network.bytes.data(), &v4, 4);
    network.prefix_bits = prefix.value_or(32);
    if (network.prefix_bits < 0 || network.prefix_bits > 32) {
      return std::nullopt;
    }
  } else if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
    network.v6 = true;
    std::memcpy(network.bytes.data(), &v6, 16);
    network.prefix_bits = prefix.value_or(128);
    if (network.prefix_bits < 0 || network.prefix_bits > 128) {
      return std::nullopt;
    }
    if (IN6_IS_ADDR_V4MAPPED(&v6) && network.prefix_bits >= 96) {
      network.v6 = false;
      std::memmove(network.bytes.data(), network.bytes.data() + 12, 4);
      network.prefix_bits -= 96;
    }
  } else {
    return std::nullopt;
  }
  return network;
}

absl::StatusOr<AddressAllowlist> AddressAllowlist::Parse(
    const std::vector<std::string>& entries) {
  AddressAllowlist allowlist;
  for (const std::string& entry : entries) {
    std::optional<Network> network = ParseNetwork(entry);
    if (!network) {
      return absl::InvalidArgumentError(absl::StrCat(
          "'", entry,
          "' is not an IP address or CIDR (e.g. 10.0.0.0/8, fd00::/8)"));
    }
    allowlist.networks_.push_back(*network);
  }
  return allowlist;
}

bool AddressAllowlist::Allows(absl::string_view address) const {
  std::optional<Network> peer = ParseNetwork(address);
  if (!peer || address.find('/') != absl::string_view::npos) return false;
  for (const Network& network : networks_) {
    if (network.v6 != peer->v6) continue;
    const int full_bytes = network.prefix_bits / 8;
    const int rest_bits = network.prefix_bits % 8;
    if (std::memcmp(network.bytes.data(), peer->bytes.data(), full_bytes) != 0)
      continue;
    if (rest_bits != 0) {
      const uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest_bits));
      if ((network.bytes[full_bytes] & mask) !=
          (peer->bytes[full_bytes] & mask)) {
        continue;
      }
    }
    return true;
  }
  return false;
}

MetricsAccessVerdict DecideMetricsAccess(
    const AddressAllowlist& allowlist, Authorizer& authorizer,
    std::optional<absl::string_view> authorization, absl::string_view peer) {
  if (allowlist.Allows(peer)) return {};
  absl::StatusOr<Caller> caller =
      authorizer.Check(authorization, kMetricsPath, peer);
  if (caller.ok()) return {};
  return MetricsAccessVerdict{
      .http_status = absl::IsPermissionDenied(caller.status()) ? 403 : 401,
      .reason = std::string(caller.status().message())};
}

MetricsHttpServer::MetricsHttpServer(AddressAllowlist allowlist,
                                     Authorizer& authorizer, Render render,
                                     std::unique_ptr<httplib::Server> server)
    : allowlist_(std::move(allowlist)),
      authorizer_(authorizer),
      render_(std::move(render)),
      server_(std::move(server)) {}

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    const MetricsHttpConfig& config, const ServerSecurity& security,
    Authorizer& authorizer, Render render) {
  std::optional<std::pair<std::string, int>> host_port =
      SplitHostPort(config.listen);
  if (!host_port) {
    return absl::InvalidArgumentError(absl::StrCat(
        "metrics_http.listen: '", config.listen, "' is not host:port"));
  }
  absl::StatusOr<AddressAllowlist> allowlist =
      AddressAllowlist::Parse(config.allow);
  if (!allowlist.ok()) return allowlist.status();
  std::unique_ptr<httplib::Server> server;
  if (security.insecure) {
    server = std::make_unique<httplib::Server>();
  } else {
    server =
        std::make_unique<httplib::SSLServer>([&security](SSL_CTX& context) {
          return ConfigureTls(context, security);
        });
  }
  if (!server->is_valid()) {
    return absl::InvalidArgumentError(
        "metrics_http: the tls certificate and key cannot serve HTTPS");
  }
  // Scrapes are few: a small pool, and a slow client is dropped after the
  // read timeout rather than holding a thread.
  server->new_task_queue = [] {
    return new httplib::ThreadPool(kMetricsHttpThreads);
  };
  ListenExclusively(*server);
  server->set_read_timeout(5, 0);
  server->set_write_timeout(10, 0);
  server->set_payload_max_length(64 * 1024);
  std::unique_ptr<MetricsHttpServer> metrics(new MetricsHttpServer(
      *std::move(allowlist), authorizer, std::move(render), std::move(server)));
  MetricsHttpServer* self = metrics.get();
  self->server_->Get(kMetricsPath, [self](const httplib::Request& request,
                                          httplib::Response& response) {
    const std::string header = request.get_header_value("Authorization");
    std::optional<absl::string_view> authorization;
    if (request.has_header("Authorization")) authorization = header;
    const MetricsAccessVerdict verdict =
        DecideMetricsAccess(self->allowlist_, self->authorizer_, authorization,
                            request.remote_addr);
    if (verdict.http_status != 200) {
      self->CountRefusal(verdict.http_status);
      response.status = verdict.http_status;
      if (verdict.http_status == 401) {
        response.set_header("WWW-Authenticate", "Bearer");
      }
      response.set_content(absl::StrCat(verdict.reason, "\n"), "text/plain");
      return;
    }
    absl::StatusOr<std::string> text = self->render_(self->Refused());
    if (!text.ok()) {
      spdlog::warn("/metrics for {}: {}", request.remote_addr,
                   text.status().ToString());
      response.status = 503;
      response.set_content(absl::StrCat(text.status().message(), "\n"),
                           "text/plain");
      return;
    }
    response.set_content(*std::move(text),
                         "text/plain; version=0.0.4; charset=utf-8");
  });
  const auto& [host, port] = *host_port;
  self->port_ = port == 0
                    ? self->server_->bind_to_any_port(host)
                    : (self->server_->bind_to_port(host, port) ? port : -1);
  if (self->port_ <= 0) {
    return absl::UnavailableError(
        absl::StrCat("metrics_http: cannot listen on ", config.listen,
                     " (address in use or not local?)"));
  }
  self->thread_ = std::thread([self] {
    self->server_->listen_after_bind();
    self->listening_ended_.Notify();
  });
  return metrics;
}

MetricsHttpServer::~MetricsHttpServer() { Stop(); }

void MetricsHttpServer::Stop() {
  if (!thread_.joinable()) return;
  // httplib stops only a server already listening: the thread may not have
  // got there yet.
  while (!listening_ended_.WaitForNotificationWithTimeout(
      absl::Milliseconds(10))) {
    server_->stop();
  }
  thread_.join();
}

void MetricsHttpServer::CountRefusal(int status) {
  absl::MutexLock lock(&mu_);
  ++refused_[status];
}

std::map<int, uint64_t> MetricsHttpServer::Refused() const {
  absl::MutexLock lock(&mu_);
  return refused_;
}

}  // namespace eroom::collector
