// eroom-syslog-fleet: the peer's side of collector_load.sh. N TCP
// connections to a syslog receiver (rsyslog's imtcp), each sending
// realistic ERoom log lines as syslog messages at --rate lines per second,
// every --send-interval, as eroom-loadgen's agents do to the collector. The
// receiver's CPU under it, measured in the same run, is the reference the
// collector's CPU under as many agents is compared with.
//
//   eroom-syslog-fleet --target 127.0.0.1:PORT --connections 1000
//       --rate 10 --duration 1m
//
// Prints the load window ("load start/end unix_ms=", as eroom-loadgen does)
// and the lines sent. A connection the receiver does not keep up with keeps
// its unsent bytes and sends them first: nothing is dropped, and the lines
// still unsent at the end are reported. Exit status 0 when every line left.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tests/bench/load_window.h"
#include "tests/bench/log_generator.h"

namespace eroom::bench {
namespace {

// Distinct lines the connections draw from, each from its own offset.
constexpr uint64_t kCorpusLines = 20'000;

struct Flags {
  std::string target;
  int connections = 1000;
  double rate = 10;
  std::string duration = "1m";
  std::string send_interval = "250ms";
};

struct Connection {
  int fd = -1;
  size_t next_line = 0;
  double owed_lines = 0;  // Produced but not yet formatted, fractional.
  std::string unsent;     // Formatted, not yet taken by the socket.
  uint64_t lines = 0;     // Formatted so far.
};

absl::StatusOr<sockaddr_in> ParseTarget(const std::string& target) {
  std::pair<std::string, std::string> parts = absl::StrSplit(target, ':');
  sockaddr_in address{};
  address.sin_family = AF_INET;
  int port = 0;
  if (inet_pton(AF_INET, parts.first.c_str(), &address.sin_addr) != 1 ||
      !absl::SimpleAtoi(parts.second, &port) || port <= 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("--target '", target, "' is not IPv4:PORT"));
  }
  address.sin_port = htons(static_cast<uint16_t>(port));
  return address;
}

absl::StatusOr<int> Connect(const sockaddr_in& address) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(std::strerror(errno));
  // On loopback the connection is up at once; a send before it is would
  // only wait for the next round, like a full socket.
  if (connect(fd, reinterpret_cast<const sockaddr*>(&address),
              sizeof(address)) != 0 &&
      errno != EINPROGRESS) {
    const std::string error = std::strerror(errno);
    close(fd);
    return absl::UnavailableError(absl::StrCat("connect: ", error));
  }
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

// Writes what the socket takes now; keeps the rest for later.
void Flush(Connection& connection) {
  while (!connection.unsent.empty()) {
    const ssize_t written = send(connection.fd, connection.unsent.data(),
                                 connection.unsent.size(), MSG_NOSIGNAL);
    if (written <= 0) return;  // Full (or connecting): next round.
    connection.unsent.erase(0, static_cast<size_t>(written));
  }
}

int Run(const Flags& flags) {
  const absl::StatusOr<sockaddr_in> address = ParseTarget(flags.target);
  const absl::StatusOr<absl::Duration> duration =
      ParsePositiveDurationFlag("duration", flags.duration);
  const absl::StatusOr<absl::Duration> send_interval =
      ParsePositiveDurationFlag("send-interval", flags.send_interval);
  for (const absl::Status& status :
       {address.status(), duration.status(), send_interval.status()}) {
    if (!status.ok()) {
      std::cerr << "eroom-syslog-fleet: " << status.message() << "\n";
      return 2;
    }
  }
  rlimit files;
  if (getrlimit(RLIMIT_NOFILE, &files) == 0) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }

  LogGeneratorOptions corpus_options;
  corpus_options.lines = kCorpusLines;
  const std::string corpus = GenerateLog(corpus_options);
  const std::vector<absl::string_view> lines =
      absl::StrSplit(corpus, '\n', absl::SkipEmpty());
  // RFC 3164 framing, as rsyslog's omfwd sends it: priority user.info, a
  // fixed timestamp (the receiver parses it all the same), host, tag.
  const std::string stamp =
      absl::FormatTime("%b %e %H:%M:%S", absl::Now(), absl::LocalTimeZone());

  std::vector<Connection> connections(static_cast<size_t>(flags.connections));
  for (size_t i = 0; i < connections.size(); ++i) {
    absl::StatusOr<int> fd = Connect(*address);
    if (!fd.ok()) {
      std::cerr << "eroom-syslog-fleet: connection " << i << ": "
                << fd.status().message() << "\n";
      return 1;
    }
    connections[i].fd = *fd;
    connections[i].next_line = (i * 7919) % lines.size();
  }

  const absl::Time start = absl::Now();
  PrintLoadEdge("start", start);
  const absl::Time end = start + *duration;
  const double lines_per_send =
      flags.rate * absl::ToDoubleSeconds(*send_interval);
  // Connection i sends at start + k * send_interval + its share of one
  // interval, so sends are spread evenly, as the agents' are.
  const absl::Duration stagger = *send_interval / flags.connections;
  for (int64_t round = 0;; ++round) {
    const absl::Time round_start = start + round * *send_interval;
    if (round_start >= end) break;
    for (size_t i = 0; i < connections.size(); ++i) {
      const absl::Time due = round_start + static_cast<int64_t>(i) * stagger;
      if (due >= end) break;
      const absl::Duration wait = due - absl::Now();
      if (wait > absl::ZeroDuration()) absl::SleepFor(wait);
      Connection& connection = connections[i];
      connection.owed_lines += lines_per_send;
      for (; connection.owed_lines >= 1; connection.owed_lines -= 1) {
        absl::StrAppend(&connection.unsent, "<14>", stamp, " syslog-", i,
                        " eroom: ", lines[connection.next_line], "\n");
        connection.next_line = (connection.next_line + 1) % lines.size();
        ++connection.lines;
      }
      Flush(connection);
    }
  }
  const absl::Time load_end = absl::Now();
  PrintLoadEdge("end", load_end);

  // What the receiver did not take during the load, it gets now.
  const absl::Time drain_deadline = absl::Now() + absl::Seconds(30);
  uint64_t sent = 0, unsent_bytes = 0;
  for (Connection& connection : connections) {
    while (!connection.unsent.empty() && absl::Now() < drain_deadline) {
      Flush(connection);
      if (!connection.unsent.empty()) absl::SleepFor(absl::Milliseconds(1));
    }
    sent += connection.lines;
    unsent_bytes += connection.unsent.size();
    close(connection.fd);
  }
  std::printf(
      "lines sent %llu over %d connections in %.1f s; unsent bytes "
      "%llu\n",
      static_cast<unsigned long long>(sent), flags.connections,
      absl::ToDoubleSeconds(load_end - start),
      static_cast<unsigned long long>(unsent_bytes));
  return unsent_bytes == 0 ? 0 : 1;
}

}  // namespace
}  // namespace eroom::bench

int main(int argc, char** argv) {
  eroom::bench::Flags flags;
  CLI::App app{
      "eroom-syslog-fleet: N TCP connections sending ERoom log lines "
      "as syslog messages"};
  app.add_option("--target", flags.target, "receiver IPv4:port")->required();
  app.add_option("--connections", flags.connections, "TCP connections")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--rate", flags.rate, "lines per second per connection")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--duration", flags.duration, "how long to send")
      ->capture_default_str();
  app.add_option("--send-interval", flags.send_interval,
                 "how often a connection sends what it produced")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  return eroom::bench::Run(flags);
}
