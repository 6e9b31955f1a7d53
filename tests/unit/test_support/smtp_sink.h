#ifndef EROOM_TESTS_UNIT_TEST_SUPPORT_SMTP_SINK_H_
#define EROOM_TESTS_UNIT_TEST_SUPPORT_SMTP_SINK_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace eroom::test_support {

// One message as an SMTP server received it.
struct SmtpMessage {
  std::string auth;  // The AUTH PLAIN credentials, base64.
  std::string from;
  std::vector<std::string> to;
  std::string data;  // Headers and body, as sent.
};

// A loopback SMTP server that speaks just enough SMTP (EHLO, AUTH PLAIN,
// MAIL, RCPT, DATA, QUIT) to accept messages, one connection at a time.
class SmtpSink {
 public:
  // With `reject_recipients`, every RCPT TO is refused with 550.
  explicit SmtpSink(bool reject_recipients = false)
      : reject_recipients_(reject_recipients) {
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
  std::string smarthost() const { return absl::StrCat("127.0.0.1:", port_); }

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
      Converse(fd);
      close(fd);
    }
  }

  // A line without its CRLF; nullopt when the peer is gone or we stop.
  std::optional<std::string> ReadLine(int fd, std::string& buffer) {
    while (true) {
      const size_t end = buffer.find("\r\n");
      if (end != std::string::npos) {
        std::string line = buffer.substr(0, end);
        buffer.erase(0, end + 2);
        return line;
      }
      pollfd ready{.fd = fd, .events = POLLIN, .revents = 0};
      if (poll(&ready, 1, 20) == 0) {
        if (Stopping()) return std::nullopt;
        continue;
      }
      char chunk[4096];
      const ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
      if (n <= 0) return std::nullopt;
      buffer.append(chunk, static_cast<size_t>(n));
    }
  }

  static void Reply(int fd, const std::string& text) {
    send(fd, text.data(), text.size(), MSG_NOSIGNAL);
  }

  void Converse(int fd) {
    std::string buffer;
    SmtpMessage message;
    Reply(fd, "220 sink ESMTP\r\n");
    while (std::optional<std::string> line = ReadLine(fd, buffer)) {
      const std::string upper = absl::AsciiStrToUpper(*line);
      if (absl::StartsWith(upper, "EHLO")) {
        Reply(fd, "250-sink\r\n250-AUTH PLAIN\r\n250 OK\r\n");
      } else if (absl::StartsWith(upper, "HELO")) {
        Reply(fd, "250 sink\r\n");
      } else if (absl::StartsWith(upper, "AUTH PLAIN")) {
        message.auth = line->size() > 11 ? line->substr(11) : "";
        if (message.auth.empty()) {
          Reply(fd, "334 \r\n");
          message.auth = ReadLine(fd, buffer).value_or("");
        }
        Reply(fd, "235 2.7.0 Authentication successful\r\n");
      } else if (absl::StartsWith(upper, "MAIL FROM:")) {
        message.from = line->substr(10);
        Reply(fd, "250 OK\r\n");
      } else if (absl::StartsWith(upper, "RCPT TO:")) {
        message.to.push_back(line->substr(8));
        Reply(fd, reject_recipients_ ? "550 no such user\r\n" : "250 OK\r\n");
      } else if (upper == "DATA") {
        Reply(fd, "354 go ahead\r\n");
        while (std::optional<std::string> data = ReadLine(fd, buffer)) {
          if (*data == ".") break;
          absl::StrAppend(&message.data, *data, "\r\n");
        }
        Reply(fd, "250 OK queued\r\n");
        absl::MutexLock lock(&mu_);
        messages_.push_back(message);
      } else if (upper == "QUIT") {
        Reply(fd, "221 bye\r\n");
        return;
      } else {
        Reply(fd, "250 OK\r\n");
      }
    }
  }

  const bool reject_recipients_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<SmtpMessage> messages_ ABSL_GUARDED_BY(mu_);
};

}  // namespace eroom::test_support

#endif  // EROOM_TESTS_UNIT_TEST_SUPPORT_SMTP_SINK_H_
