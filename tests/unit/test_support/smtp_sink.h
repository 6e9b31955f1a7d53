#ifndef EROOM_TESTS_UNIT_TEST_SUPPORT_SMTP_SINK_H_
#define EROOM_TESTS_UNIT_TEST_SUPPORT_SMTP_SINK_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tests/unit/test_support/test_certificate.h"

namespace eroom::test_support {

// One message as an SMTP server received it.
struct SmtpMessage {
  std::string auth;  // The AUTH PLAIN credentials, base64.
  std::string from;
  std::vector<std::string> to;
  std::string data;       // Headers and body, as sent.
  bool over_tls = false;  // Everything from AUTH on travelled encrypted.
};

struct SmtpSinkOptions {
  enum class Tls {
    kNone,
    kStartTls,  // Plain at first; MAIL and AUTH only after STARTTLS.
    kSmtps,     // TLS from the first byte.
  };
  bool reject_recipients = false;  // Every RCPT TO is refused with 550.
  Tls tls = Tls::kNone;
};

// A loopback SMTP server that speaks just enough SMTP (EHLO, STARTTLS, AUTH
// PLAIN, MAIL, RCPT, DATA, QUIT) to accept messages, one connection at a
// time. With TLS it presents a self-signed certificate for "localhost"
// (`cert_pem()`, for the client's CA file).
class SmtpSink {
 public:
  explicit SmtpSink(SmtpSinkOptions options = {}) : options_(options) {
    if (options_.tls != SmtpSinkOptions::Tls::kNone) MakeTlsContext();
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    listen(listen_fd_, 4);
    socklen_t size = sizeof(address);
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &size);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~SmtpSink() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    thread_.join();
    close(listen_fd_);
  }
  // The certificate's name is "localhost": reach a TLS sink by that name.
  std::string smarthost() const {
    return absl::StrCat(options_.tls == SmtpSinkOptions::Tls::kNone
                            ? "127.0.0.1:"
                            : "localhost:",
                        port_);
  }
  const std::string& cert_pem() const { return certificate_.cert_pem; }

  std::optional<SmtpMessage> WaitForMessage(absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto received = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return !messages_.empty();
    };
    if (!mu_.AwaitWithTimeout(absl::Condition(&received), timeout)) {
      return std::nullopt;
    }
    return messages_.front();
  }

 private:
  using SslContext = std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)>;
  using Ssl = std::unique_ptr<SSL, decltype(&SSL_free)>;

  // One client connection, plain or (after StartTls) encrypted.
  struct Connection {
    int fd;
    Ssl ssl{nullptr, &SSL_free};
    std::string buffer = {};
  };

  void MakeTlsContext() {
    certificate_ =
        MakeTestCertificate("localhost", absl::Now() - absl::Hours(1),
                            absl::Now() + absl::Hours(1));
    context_.reset(SSL_CTX_new(TLS_server_method()));
    auto read_pem = [](const std::string& pem, auto read) {
      std::unique_ptr<BIO, decltype(&BIO_free)> bio(
          BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
      return read(bio.get());
    };
    X509* cert = read_pem(certificate_.cert_pem, [](BIO* bio) {
      return PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    });
    EVP_PKEY* key = read_pem(certificate_.key_pem, [](BIO* bio) {
      return PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
    });
    SSL_CTX_use_certificate(context_.get(), cert);
    SSL_CTX_use_PrivateKey(context_.get(), key);
    X509_free(cert);
    EVP_PKEY_free(key);
  }

  bool Stopping() {
    absl::MutexLock lock(&mu_);
    return stopping_;
  }

  void Serve() {
    while (!Stopping()) {
      pollfd ready{.fd = listen_fd_, .events = POLLIN, .revents = 0};
      if (poll(&ready, 1, 20) <= 0) continue;
      const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      Connection connection{.fd = fd};
      if (options_.tls != SmtpSinkOptions::Tls::kSmtps ||
          StartTls(connection)) {
        Converse(connection);
      }
      close(fd);
    }
  }

  bool StartTls(Connection& connection) {
    connection.buffer.clear();  // Nothing sent in plain text carries over.
    connection.ssl.reset(SSL_new(context_.get()));
    SSL_set_fd(connection.ssl.get(), connection.fd);
    return SSL_accept(connection.ssl.get()) == 1;
  }

  // A line without its CRLF; nullopt when the peer is gone or we stop.
  std::optional<std::string> ReadLine(Connection& connection) {
    std::string& buffer = connection.buffer;
    while (true) {
      const size_t end = buffer.find("\r\n");
      if (end != std::string::npos) {
        std::string line = buffer.substr(0, end);
        buffer.erase(0, end + 2);
        return line;
      }
      const bool decrypted_waiting =
          connection.ssl != nullptr && SSL_pending(connection.ssl.get()) > 0;
      pollfd ready{.fd = connection.fd, .events = POLLIN, .revents = 0};
      if (!decrypted_waiting && poll(&ready, 1, 20) == 0) {
        if (Stopping()) return std::nullopt;
        continue;
      }
      char chunk[4096];
      const ssize_t n =
          connection.ssl != nullptr
              ? SSL_read(connection.ssl.get(), chunk, sizeof(chunk))
              : recv(connection.fd, chunk, sizeof(chunk), 0);
      if (n <= 0) return std::nullopt;
      buffer.append(chunk, static_cast<size_t>(n));
    }
  }

  static void Reply(Connection& connection, const std::string& text) {
    if (connection.ssl != nullptr) {
      SSL_write(connection.ssl.get(), text.data(),
                static_cast<int>(text.size()));
    } else {
      send(connection.fd, text.data(), text.size(), MSG_NOSIGNAL);
    }
  }

  void Converse(Connection& connection) {
    SmtpMessage message;
    const bool starttls_offered =
        options_.tls == SmtpSinkOptions::Tls::kStartTls;
    Reply(connection, "220 sink ESMTP\r\n");
    while (std::optional<std::string> line = ReadLine(connection)) {
      const std::string upper = absl::AsciiStrToUpper(*line);
      const bool encrypted = connection.ssl != nullptr;
      if (starttls_offered && !encrypted && !absl::StartsWith(upper, "EHLO") &&
          upper != "STARTTLS" && upper != "QUIT") {
        Reply(connection, "530 5.7.0 Must issue a STARTTLS command first\r\n");
      } else if (absl::StartsWith(upper, "EHLO")) {
        Reply(connection, starttls_offered && !encrypted
                              ? "250-sink\r\n250 STARTTLS\r\n"
                              : "250-sink\r\n250-AUTH PLAIN\r\n250 OK\r\n");
      } else if (absl::StartsWith(upper, "HELO")) {
        Reply(connection, "250 sink\r\n");
      } else if (upper == "STARTTLS" && starttls_offered && !encrypted) {
        Reply(connection, "220 2.0.0 Ready to start TLS\r\n");
        if (!StartTls(connection)) return;
      } else if (absl::StartsWith(upper, "AUTH PLAIN")) {
        message.auth = line->size() > 11 ? line->substr(11) : "";
        if (message.auth.empty()) {
          Reply(connection, "334 \r\n");
          message.auth = ReadLine(connection).value_or("");
        }
        message.over_tls = encrypted;
        Reply(connection, "235 2.7.0 Authentication successful\r\n");
      } else if (absl::StartsWith(upper, "MAIL FROM:")) {
        message.from = line->substr(10);
        message.over_tls = encrypted;
        Reply(connection, "250 OK\r\n");
      } else if (absl::StartsWith(upper, "RCPT TO:")) {
        message.to.push_back(line->substr(8));
        Reply(connection, options_.reject_recipients ? "550 no such user\r\n"
                                                     : "250 OK\r\n");
      } else if (upper == "DATA") {
        Reply(connection, "354 go ahead\r\n");
        while (std::optional<std::string> data = ReadLine(connection)) {
          if (*data == ".") break;
          absl::StrAppend(&message.data, *data, "\r\n");
        }
        Reply(connection, "250 OK queued\r\n");
        absl::MutexLock lock(&mu_);
        messages_.push_back(message);
      } else if (upper == "QUIT") {
        Reply(connection, "221 bye\r\n");
        return;
      } else {
        Reply(connection, "250 OK\r\n");
      }
    }
  }

  const SmtpSinkOptions options_;
  TestCertificate certificate_;
  SslContext context_{nullptr, &SSL_CTX_free};
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<SmtpMessage> messages_ ABSL_GUARDED_BY(mu_);
};

}  // namespace eroom::test_support

#endif  // EROOM_TESTS_UNIT_TEST_SUPPORT_SMTP_SINK_H_
