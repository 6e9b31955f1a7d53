#include "common/transport_security.h"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "grpcpp/create_channel.h"

namespace eroom {
namespace {

using BioPtr = std::unique_ptr<BIO, decltype(&BIO_free)>;
using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;
using KeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

BioPtr MemoryBio(const std::string& pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())),
                &BIO_free);
}

// Without it OpenSSL would prompt on the terminal for an encrypted key's
// passphrase; a daemon must fail instead.
int NoPassphrase(char*, int, int, void*) { return 0; }

X509Ptr FirstCertificate(const std::string& pem) {
  BioPtr bio = MemoryBio(pem);
  return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr),
                 &X509_free);
}

KeyPtr PrivateKey(const std::string& pem) {
  BioPtr bio = MemoryBio(pem);
  return KeyPtr(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, &NoPassphrase, nullptr),
      &EVP_PKEY_free);
}

// The host part of a gRPC address: "h:p", "[v6]:p", optionally behind a
// "dns:///", "ipv4:" or "ipv6:" scheme.
std::string HostOf(absl::string_view address) {
  for (absl::string_view scheme : {"dns:///", "ipv4:", "ipv6:"}) {
    if (absl::ConsumePrefix(&address, scheme)) break;
  }
  if (absl::ConsumePrefix(&address, "[")) {
    return std::string(address.substr(0, address.find(']')));
  }
  const size_t colon = address.rfind(':');
  // Several colons without brackets: a bare IPv6 address, no port.
  if (colon == absl::string_view::npos || address.find(':') != colon) {
    return std::string(address);
  }
  return std::string(address.substr(0, colon));
}

// "2025-06-16 09:00:00 UTC" for an ASN.1 time; "?" if it cannot be read.
std::string FormatAsn1Time(const ASN1_TIME* time) {
  tm parts{};
  if (time == nullptr || ASN1_TIME_to_tm(time, &parts) != 1) return "?";
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC",
                          absl::FromTM(parts, absl::UTCTimeZone()),
                          absl::UTCTimeZone());
}

// Reads the PEM file at `path` (set by `key`), if any, recording problems
// under `key`, and certificates out of their dates in `date_warnings`.
std::string LoadPem(ConfigMap& section, const std::string& key,
                    const std::string& path, PemKind kind,
                    std::vector<std::string>& date_warnings) {
  if (path.empty()) return "";
  absl::StatusOr<std::string> pem = ReadPemFile(path, kind);
  if (!pem.ok()) {
    section.AddProblem(key, pem.status().message());
    return "";
  }
  if (kind == PemKind::kCertificates) {
    for (const std::string& problem :
         CertificateDateProblems(path, *pem, absl::Now())) {
      date_warnings.push_back(
          absl::StrCat(section.KeyPath(key), ": ", problem));
    }
  }
  return *pem;
}

// Records a problem for each of `keys` that is set although `mode` ignores it.
void RejectUnused(ConfigMap& section, std::initializer_list<const char*> keys,
                  absl::string_view mode) {
  for (const char* key : keys) {
    if (section.Has(key)) {
      section.AddProblem(key, absl::StrCat("not used with ", mode));
    }
  }
}

// Records a problem under `key_key` if the key does not match the
// certificate (both loaded without problems).
void CheckKeyPair(ConfigMap& section, const std::string& cert_key,
                  const std::string& cert_pem, const std::string& key_key,
                  const std::string& key_pem) {
  if (cert_pem.empty() || key_pem.empty()) return;
  X509Ptr cert = FirstCertificate(cert_pem);
  KeyPtr key = PrivateKey(key_pem);
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    section.AddProblem(
        key_key, absl::StrCat("is not the private key of the certificate in ",
                              section.KeyPath(cert_key)));
  }
}

}  // namespace

bool IsLoopbackAddress(absl::string_view address) {
  std::string host = absl::AsciiStrToLower(HostOf(address));
  if (host == "localhost" || host == "localhost.") return true;
  in_addr v4;
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
  }
  return false;
}

absl::Status CheckPlaintextAllowed(absl::string_view address,
                                   bool allow_insecure_remote) {
  if (allow_insecure_remote || IsLoopbackAddress(address)) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "plaintext refused on '", address,
      "', which is not a loopback address (127.0.0.0/8, ::1, localhost); use "
      "TLS, or set allow_insecure_remote: true to force it"));
}

absl::StatusOr<std::string> ReadPemFile(const std::string& path, PemKind kind) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot read ", path, ": ", std::strerror(errno)));
  }
  std::stringstream text;
  text << in.rdbuf();
  std::string pem = text.str();
  const bool readable = kind == PemKind::kCertificates
                            ? FirstCertificate(pem) != nullptr
                            : PrivateKey(pem) != nullptr;
  if (!readable) {
    return absl::InvalidArgumentError(absl::StrCat(
        path,
        kind == PemKind::kCertificates
            ? " holds no PEM certificate"
            : " holds no PEM private key (or it is passphrase-protected)"));
  }
  return pem;
}

std::vector<std::string> CertificateDateProblems(const std::string& path,
                                                 const std::string& pem,
                                                 absl::Time now) {
  std::vector<std::string> problems;
  BioPtr bio = MemoryBio(pem);
  time_t now_seconds = absl::ToTimeT(now);
  while (X509Ptr cert =
             X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr),
                     &X509_free)) {
    const ASN1_TIME* not_before = X509_get0_notBefore(cert.get());
    const ASN1_TIME* not_after = X509_get0_notAfter(cert.get());
    const char* state = nullptr;
    if (X509_cmp_time(not_before, &now_seconds) > 0) {
      state = "not valid yet";
    } else if (X509_cmp_time(not_after, &now_seconds) < 0) {
      state = "expired";
    }
    if (state == nullptr) continue;
    char subject[256] = "";
    X509_NAME_oneline(X509_get_subject_name(cert.get()), subject,
                      sizeof(subject));
    problems.push_back(absl::StrCat(
        "certificate ", subject, " in ", path, " is ", state, ": valid from ",
        FormatAsn1Time(not_before), " to ", FormatAsn1Time(not_after)));
  }
  return problems;
}

ServerSecurity ParseServerSecurity(ConfigMap& tls,
                                   const std::string& listen_address) {
  ServerSecurity security;
  security.insecure =
      tls.Choice("mode", "tls", {"tls", "insecure"}) == "insecure";
  const bool allow_insecure_remote = tls.Bool("allow_insecure_remote", false);
  const std::string cert = tls.String("cert", "");
  const std::string key = tls.String("key", "");
  const std::string client_ca = tls.String("client_ca", "");
  security.require_client_cert = tls.Bool("require_client_cert", true);
  if (security.insecure) {
    RejectUnused(tls, {"cert", "key", "client_ca", "require_client_cert"},
                 "mode: insecure");
    if (absl::Status allowed =
            CheckPlaintextAllowed(listen_address, allow_insecure_remote);
        !allowed.ok()) {
      tls.AddProblem("mode", allowed.message());
    }
    return security;
  }
  RejectUnused(tls, {"allow_insecure_remote"}, "mode: tls");
  for (const char* required : {"cert", "key"}) {
    if (!tls.Has(required)) {
      tls.AddProblem(required,
                     "required: the collector serves TLS unless tls.mode is "
                     "insecure (plaintext, loopback only)");
    }
  }
  std::vector<std::string>& dates = security.certificate_warnings;
  security.cert_pem = LoadPem(tls, "cert", cert, PemKind::kCertificates, dates);
  security.key_pem = LoadPem(tls, "key", key, PemKind::kPrivateKey, dates);
  CheckKeyPair(tls, "cert", security.cert_pem, "key", security.key_pem);
  security.client_ca_pem =
      LoadPem(tls, "client_ca", client_ca, PemKind::kCertificates, dates);
  if (tls.Has("require_client_cert") && !tls.Has("client_ca")) {
    tls.AddProblem("require_client_cert", "needs tls.client_ca");
  }
  return security;
}

std::shared_ptr<grpc::ServerCredentials> MakeServerCredentials(
    const ServerSecurity& security) {
  if (security.insecure) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions options(
      GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  options.pem_key_cert_pairs.push_back({security.key_pem, security.cert_pem});
  if (!security.client_ca_pem.empty()) {
    options.pem_root_certs = security.client_ca_pem;
    options.client_certificate_request =
        security.require_client_cert
            ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
            : GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(options);
}

absl::Status ValidateToken(absl::string_view token) {
  for (char c : token) {
    if (c <= ' ' || c > '~') {
      return absl::InvalidArgumentError(
          "a token must be printable ASCII without spaces");
    }
  }
  return absl::OkStatus();
}

ClientSecurity ParseClientSecurity(ConfigMap& section,
                                   const std::string& target) {
  ClientSecurity security;
  security.insecure = section.Bool("insecure", false);
  const bool allow_insecure_remote =
      section.Bool("allow_insecure_remote", false);
  const std::string ca = section.String("ca", "");
  const std::string cert = section.String("cert", "");
  const std::string key = section.String("key", "");
  security.server_name = section.String("server_name", "");
  security.token = section.String("token", "");
  if (absl::Status valid = ValidateToken(security.token); !valid.ok()) {
    section.AddProblem("token", valid.message());
  }
  if (security.insecure) {
    RejectUnused(section, {"ca", "cert", "key", "server_name"},
                 "insecure: true");
    if (absl::Status allowed =
            CheckPlaintextAllowed(target, allow_insecure_remote);
        !allowed.ok()) {
      section.AddProblem("insecure", allowed.message());
    }
    return security;
  }
  RejectUnused(section, {"allow_insecure_remote"}, "TLS");
  std::vector<std::string>& dates = security.certificate_warnings;
  security.ca_pem = LoadPem(section, "ca", ca, PemKind::kCertificates, dates);
  security.cert_pem =
      LoadPem(section, "cert", cert, PemKind::kCertificates, dates);
  security.key_pem = LoadPem(section, "key", key, PemKind::kPrivateKey, dates);
  if (cert.empty() != key.empty()) {
    section.AddProblem(cert.empty() ? "cert" : "key",
                       "cert and key go together (mutual TLS)");
  }
  CheckKeyPair(section, "cert", security.cert_pem, "key", security.key_pem);
  return security;
}

std::shared_ptr<grpc::ChannelCredentials> MakeChannelCredentials(
    const ClientSecurity& security) {
  if (security.insecure) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = security.ca_pem;
  options.pem_private_key = security.key_pem;
  options.pem_cert_chain = security.cert_pem;
  return grpc::SslCredentials(options);
}

std::shared_ptr<grpc::Channel> CreateSecureChannel(
    const std::string& target, const ClientSecurity& security,
    grpc::ChannelArguments arguments) {
  if (!security.insecure && !security.server_name.empty()) {
    arguments.SetSslTargetNameOverride(security.server_name);
  }
  return grpc::CreateCustomChannel(target, MakeChannelCredentials(security),
                                   arguments);
}

void AddCallCredentials(const ClientSecurity& security,
                        grpc::ClientContext* context) {
  // Plain metadata rather than grpc::AccessTokenCredentials: gRPC drops call
  // credentials on plaintext channels, and loopback plaintext is allowed.
  if (security.token.empty()) return;
  context->AddMetadata(kAuthorizationMetadataKey,
                       absl::StrCat("Bearer ", security.token));
}

}  // namespace eroom
