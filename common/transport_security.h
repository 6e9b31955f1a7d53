#ifndef EROOM_COMMON_TRANSPORT_SECURITY_H_
#define EROOM_COMMON_TRANSPORT_SECURITY_H_

// TLS and bearer tokens on the gRPC links between eroom-agent, eroomctl and
// eroom-collector. TLS is the default everywhere; plaintext must be asked for
// and is refused on anything but loopback unless forced.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/config_reader.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/support/channel_arguments.h"

namespace eroom {

// The metadata key carrying "Bearer <token>".
inline constexpr char kAuthorizationMetadataKey[] = "authorization";

// True if `address` (host:port, [v6]:port) names a loopback host:
// 127.0.0.0/8, ::1 or localhost.
bool IsLoopbackAddress(absl::string_view address);

// OK if plaintext may be used on `address`: it is loopback, or the config
// forces it with allow_insecure_remote.
absl::Status CheckPlaintextAllowed(absl::string_view address,
                                   bool allow_insecure_remote);

enum class PemKind { kCertificates, kPrivateKey };

// The contents of a PEM file, checked to hold at least one certificate, or
// one unencrypted private key. Errors name the file.
absl::StatusOr<std::string> ReadPemFile(const std::string& path, PemKind kind);

// One line for each certificate in `pem` (read from `path`) that is expired
// or not valid yet at `now`, naming the file, the certificate's subject and
// its validity dates; empty if every one is valid.
std::vector<std::string> CertificateDateProblems(const std::string& path,
                                                 const std::string& pem,
                                                 absl::Time now);

// How eroom-collector listens. From its `tls:` section:
//   mode: tls | insecure          (default tls)
//   cert, key: PEM files          (required with tls)
//   client_ca: PEM file           (mutual TLS: clients present a certificate
//                                  it signed)
//   require_client_cert: bool     (default true; false verifies only the
//                                  certificates clients choose to present)
//   allow_insecure_remote: bool   (plaintext on a non-loopback address)
struct ServerSecurity {
  bool insecure = false;
  std::string cert_pem;
  std::string key_pem;
  std::string client_ca_pem;  // Empty: no client certificates asked for.
  bool require_client_cert = true;
  // "KEY: PROBLEM" for each configured certificate out of its validity
  // dates when the config was read: a problem for --check-config, a warning
  // for a daemon starting (it still serves, or spools, meanwhile).
  std::vector<std::string> certificate_warnings;
};

// Reads the `tls:` section strictly for a server listening on
// `listen_address`; problems are recorded in `tls` naming file and key.
ServerSecurity ParseServerSecurity(ConfigMap& tls,
                                   const std::string& listen_address);

std::shared_ptr<grpc::ServerCredentials> MakeServerCredentials(
    const ServerSecurity& security);

// How a client (eroom-agent, eroomctl) reaches the collector. Keys of the
// client's section (the agent's `collector:`, eroomctl's top level):
//   insecure: bool                (plaintext; default false)
//   allow_insecure_remote: bool   (plaintext to a non-loopback address)
//   ca: PEM file                  (default: the system's trusted roots)
//   cert, key: PEM files          (client certificate for mutual TLS)
//   server_name: name             (checked in the server certificate
//                                  instead of the address's host)
//   token: string                 (sent as "authorization: Bearer <token>")
struct ClientSecurity {
  bool insecure = false;
  std::string ca_pem;  // Empty: the system's trusted roots.
  std::string cert_pem;
  std::string key_pem;
  std::string server_name;
  std::string token;  // Empty: none sent.
  // As ServerSecurity::certificate_warnings, for ca and cert.
  std::vector<std::string> certificate_warnings;
};

// Reads the client keys of `section` strictly for a connection to `target`;
// problems are recorded in `section` naming file and key.
ClientSecurity ParseClientSecurity(ConfigMap& section,
                                   const std::string& target);

// OK if `token` can travel as gRPC metadata (printable ASCII, no spaces).
absl::Status ValidateToken(absl::string_view token);

std::shared_ptr<grpc::ChannelCredentials> MakeChannelCredentials(
    const ClientSecurity& security);

// A channel to `target` with `security`'s credentials (and server name
// override) on top of `arguments`.
std::shared_ptr<grpc::Channel> CreateSecureChannel(
    const std::string& target, const ClientSecurity& security,
    grpc::ChannelArguments arguments = {});

// Adds the bearer token, if any, to one call.
void AddCallCredentials(const ClientSecurity& security,
                        grpc::ClientContext* context);

}  // namespace eroom

#endif  // EROOM_COMMON_TRANSPORT_SECURITY_H_
