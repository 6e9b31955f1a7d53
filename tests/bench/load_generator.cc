// eroom-loadgen: N simulated agents streaming to one eroom-collector, to see
// how the collector holds up (tests/bench/collector_load.sh measures its CPU
// and memory meanwhile). Each agent has its own connection and stream,
// produces --rate events per second (logs, samples, probe results) numbered
// 1..n after what the collector already had, and resends what was not
// acknowledged after a reconnect. At the end it drains, closes, and checks
// the collector's ListHosts last_sequence of every agent against what the
// agent produced.
//
//   eroom-loadgen --collector 127.0.0.1:7443 --insecure --agents 1000
//       --rate 10 --duration 5m [--token T --query-token V] [--report F]
//
// Exit status 0 when nothing was lost or duplicated and no agent starved.

#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/transport_security.h"
#include "eroom/monitor/v1/monitor.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "tests/bench/load_fleet.h"
#include "tests/bench/load_window.h"
#include "tests/bench/log_event_corpus.h"

namespace eroom::bench {
namespace {

namespace v1 = ::eroom::monitor::v1;

// Generated lines the agents' log events are drawn from.
constexpr uint64_t kCorpusLines = 20'000;
// An agent is starved if, when production stops, more than this much of its
// production is still unacknowledged (a healthy one lags by about one send
// interval plus one ack latency: well under a second).
constexpr absl::Duration kStarvedBacklog = absl::Seconds(5);

struct Flags {
  std::string collector;
  bool insecure = false;
  bool gzip = false;
  std::string ca_file;
  std::string token;
  std::string query_token;
  int agents = 1000;
  double rate = 10;
  std::string duration = "5m";
  std::string send_interval = "250ms";
  std::string drain_timeout = "60s";
  std::string warmup = "10s";
  std::string progress_interval = "10s";
  std::string agent_prefix = "loadgen-";
  std::string report_file;
};

absl::StatusOr<ClientSecurity> SecurityFromFlags(const Flags& flags) {
  ClientSecurity security;
  security.insecure = flags.insecure;
  security.token = flags.token;
  if (flags.insecure) {
    if (absl::Status allowed = CheckPlaintextAllowed(flags.collector, false);
        !allowed.ok()) {
      return allowed;
    }
  }
  if (!flags.ca_file.empty()) {
    absl::StatusOr<std::string> ca =
        ReadPemFile(flags.ca_file, PemKind::kCertificates);
    if (!ca.ok()) return ca.status();
    security.ca_pem = *std::move(ca);
  }
  return security;
}

double CpuSeconds() {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) /
             1e6;
}

// agent_id -> the collector's last stored sequence; nullopt if ListHosts
// failed. Agent tokens may not query: `security` carries a user token.
std::optional<std::map<std::string, uint64_t>> StoredSequences(
    const std::string& collector, const ClientSecurity& security) {
  auto stub =
      v1::QueryService::NewStub(CreateSecureChannel(collector, security));
  grpc::ClientContext context;
  AddCallCredentials(security, &context);
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
  v1::ListHostsResponse response;
  const grpc::Status status =
      stub->ListHosts(&context, v1::ListHostsRequest(), &response);
  if (!status.ok()) {
    std::cerr << "eroom-loadgen: ListHosts failed: " << status.error_message()
              << "\n";
    return std::nullopt;
  }
  std::map<std::string, uint64_t> sequences;
  for (const v1::HostStatus& host : response.hosts()) {
    sequences[host.agent_id()] = host.last_sequence();
  }
  return sequences;
}

struct LoadRun {
  absl::Duration load;  // Producing.
  absl::Duration drain;
  bool drained = false;
  FleetProgress at_stop;
  double cpu_percent = 0;  // Of this process, of one core.
};

// Runs the fleet for `duration`, printing progress, then drains and closes.
LoadRun DriveLoad(LoadFleet& fleet, absl::Duration duration,
                  absl::Duration progress_interval,
                  absl::Duration drain_timeout) {
  const double cpu_start = CpuSeconds();
  const absl::Time start = absl::Now();
  PrintLoadEdge("start", start);
  fleet.Start();
  const absl::Time end = start + duration;
  uint64_t acked_before = 0;
  absl::Time before = start;
  for (absl::Time next = start + progress_interval; before < end;
       next += progress_interval) {
    absl::SleepFor(std::min(next, end) - absl::Now());
    const absl::Time now = absl::Now();
    const FleetProgress progress = fleet.Progress();
    std::printf(
        "  %6.0fs: %d connected, %llu produced, %llu acknowledged "
        "(%.0f/s), %llu stream failures\n",
        absl::ToDoubleSeconds(now - start), progress.connected,
        static_cast<unsigned long long>(progress.generated),
        static_cast<unsigned long long>(progress.acked),
        static_cast<double>(progress.acked - acked_before) /
            absl::ToDoubleSeconds(now - before),
        static_cast<unsigned long long>(progress.stream_failures));
    std::fflush(stdout);
    acked_before = progress.acked;
    before = now;
  }
  fleet.StopGenerating();
  LoadRun run;
  run.load = absl::Now() - start;
  run.at_stop = fleet.Progress();
  PrintLoadEdge("end", start + run.load);

  const absl::Time drain_start = absl::Now();
  run.drained = fleet.AwaitDelivered(drain_timeout);
  run.drain = absl::Now() - drain_start;
  fleet.Close(absl::Seconds(10));
  run.cpu_percent = 100.0 * (CpuSeconds() - cpu_start) /
                    absl::ToDoubleSeconds(absl::Now() - start);
  return run;
}

// Every agent's outcome against what the collector stored.
struct Tally {
  uint64_t generated = 0;
  uint64_t lost = 0;
  uint64_t extra = 0;
  uint64_t starved = 0;
  std::string first_starved;
  uint64_t never_answered = 0;
  uint64_t anomalies = 0;
  uint64_t stream_failures = 0;
  std::string failure_example;  // Agent and error of one failed stream.
  uint64_t min_delivered = 0;
  uint64_t max_delivered = 0;
  uint64_t min_acked_at_stop = 0;
};

Tally TallyAgents(const std::vector<AgentReport>& reports,
                  const std::map<std::string, uint64_t>& stored,
                  double events_per_second, std::ostream* csv) {
  const double starved_backlog =
      events_per_second * absl::ToDoubleSeconds(kStarvedBacklog);
  Tally tally;
  tally.min_delivered = tally.min_acked_at_stop = UINT64_MAX;
  if (csv != nullptr) {
    *csv << "agent_id,base,generated,acked,stored_last_sequence,"
            "stream_failures\n";
  }
  for (const AgentReport& report : reports) {
    tally.generated += report.generated;
    tally.anomalies += report.protocol_anomalies;
    tally.stream_failures += report.stream_failures;
    if (report.stream_failures > 0 && tally.failure_example.empty()) {
      tally.failure_example =
          absl::StrCat(report.agent_id, ": ", report.last_error);
    }
    if (report.streams_answered == 0) ++tally.never_answered;
    auto it = stored.find(report.agent_id);
    const uint64_t last = it == stored.end() ? 0 : it->second;
    const uint64_t expected = report.first_sequence_base + report.generated;
    if (last < expected) tally.lost += expected - last;
    if (last > expected) tally.extra += last - expected;
    const uint64_t delivered = last > report.first_sequence_base
                                   ? last - report.first_sequence_base
                                   : 0;
    tally.min_delivered = std::min(tally.min_delivered, delivered);
    tally.max_delivered = std::max(tally.max_delivered, delivered);
    tally.min_acked_at_stop =
        std::min(tally.min_acked_at_stop, report.acked_at_stop);
    if (report.streams_answered == 0 ||
        static_cast<double>(report.generated_at_stop - report.acked_at_stop) >
            starved_backlog) {
      if (tally.starved++ == 0) tally.first_starved = report.agent_id;
    }
    if (csv != nullptr) {
      *csv << report.agent_id << "," << report.first_sequence_base << ","
           << report.generated << "," << report.acked << "," << last << ","
           << report.stream_failures << "\n";
    }
  }
  if (reports.empty()) tally.min_delivered = tally.min_acked_at_stop = 0;
  return tally;
}

// Prints the summary; true if nothing was lost or duplicated and no agent
// starved.
bool Summarize(const Flags& flags, const LoadRun& run, const Tally& tally,
               bool listed, LoadFleet::Latencies& latencies) {
  const double load_seconds = absl::ToDoubleSeconds(run.load);
  // What ListHosts told, or that it could not be asked.
  auto stored_figure = [listed](const std::string& figure) {
    return listed ? figure : std::string("unknown (ListHosts failed)");
  };
  std::printf("\n=== eroom-loadgen summary ===\n");
  std::printf("agents                     %d (%d never answered)\n",
              flags.agents, static_cast<int>(tally.never_answered));
  std::printf("load                       %.1f s, then drained in %.1f s%s\n",
              load_seconds, absl::ToDoubleSeconds(run.drain),
              run.drained ? "" : " (DRAIN TIMED OUT)");
  std::printf("events produced            %s\n",
              absl::StrCat(tally.generated).c_str());
  std::printf(
      "events stored/s (load)     %.0f (acknowledged while producing)\n",
      static_cast<double>(run.at_stop.acked) / load_seconds);
  const std::string& warmup = flags.warmup;
  auto print_latencies = [](const char* label, LatencySamples& samples,
                            const std::string& what) {
    std::printf("%-26s p50 %.1f  p99 %.1f  max %.1f (%zu batches %s)\n", label,
                samples.QuantileMs(0.5), samples.QuantileMs(0.99),
                samples.MaxMs(), samples.size(), what.c_str());
  };
  print_latencies("ack latency ms", latencies.ack,
                  absl::StrCat("written after the first ", warmup));
  print_latencies("event age at ack ms", latencies.event_age,
                  "by their oldest event");
  print_latencies("warm-up ack latency ms", latencies.warmup_ack,
                  absl::StrCat("written in the first ", warmup));
  print_latencies("warm-up event age ms", latencies.warmup_event_age,
                  "by their oldest event");
  std::printf(
      "per-agent delivered        %s\n",
      stored_figure(absl::StrFormat("min %d  max %d (stored, final)",
                                    tally.min_delivered, tally.max_delivered))
          .c_str());
  std::printf("per-agent acked at stop    min %s (of ~%.0f produced each)\n",
              absl::StrCat(tally.min_acked_at_stop).c_str(),
              flags.rate * load_seconds);
  std::printf(
      "starved agents             %s\n",
      tally.starved == 0
          ? "0"
          : absl::StrCat(tally.starved, " (first: ", tally.first_starved, ")")
                .c_str());
  std::printf("lost events                %s\n",
              stored_figure(absl::StrCat(tally.lost)).c_str());
  std::printf("duplicated/extra events    %s\n",
              stored_figure(absl::StrCat(tally.extra)).c_str());
  std::printf("protocol anomalies         %s\n",
              absl::StrCat(tally.anomalies).c_str());
  std::printf("stream failures            %s\n",
              tally.stream_failures == 0
                  ? "0"
                  : absl::StrCat(tally.stream_failures, " (e.g. ",
                                 tally.failure_example, ")")
                        .c_str());
  std::printf("loadgen CPU                %.0f%% of one core\n",
              run.cpu_percent);
  const bool ok = listed && run.drained && tally.lost == 0 &&
                  tally.extra == 0 && tally.starved == 0 &&
                  tally.anomalies == 0;
  std::printf("RESULT                     %s\n", ok ? "OK" : "FAIL");
  return ok;
}

int Run(const Flags& flags) {
  absl::StatusOr<ClientSecurity> security = SecurityFromFlags(flags);
  absl::StatusOr<absl::Duration> duration =
      ParsePositiveDurationFlag("duration", flags.duration);
  absl::StatusOr<absl::Duration> send_interval =
      ParsePositiveDurationFlag("send-interval", flags.send_interval);
  absl::StatusOr<absl::Duration> drain_timeout =
      ParsePositiveDurationFlag("drain-timeout", flags.drain_timeout);
  absl::StatusOr<absl::Duration> progress_interval =
      ParsePositiveDurationFlag("progress-interval", flags.progress_interval);
  absl::StatusOr<absl::Duration> warmup =
      ParsePositiveDurationFlag("warmup", flags.warmup);
  for (const absl::Status& status :
       {security.status(), duration.status(), send_interval.status(),
        drain_timeout.status(), progress_interval.status(), warmup.status()}) {
    if (!status.ok()) {
      std::cerr << "eroom-loadgen: " << status.message() << "\n";
      return 2;
    }
  }

  FleetOptions options;
  options.collector_address = flags.collector;
  options.security = *security;
  options.gzip = flags.gzip;
  options.agents = flags.agents;
  options.agent_id_prefix = flags.agent_prefix;
  options.events_per_second = flags.rate;
  options.send_interval = *send_interval;
  options.warmup = *warmup;
  LoadFleet fleet(options, RealisticLogEvents(kCorpusLines));
  std::printf("eroom-loadgen: %d agents x %.1f events/s for %s to %s\n",
              flags.agents, flags.rate, absl::FormatDuration(*duration).c_str(),
              flags.collector.c_str());
  const LoadRun run =
      DriveLoad(fleet, *duration, *progress_interval, *drain_timeout);

  ClientSecurity query_security = *security;
  if (!flags.query_token.empty()) query_security.token = flags.query_token;
  const std::optional<std::map<std::string, uint64_t>> stored =
      StoredSequences(flags.collector, query_security);
  std::ofstream csv;
  if (!flags.report_file.empty()) csv.open(flags.report_file);
  const Tally tally = TallyAgents(
      fleet.Reports(), stored.value_or(std::map<std::string, uint64_t>()),
      flags.rate, csv.is_open() ? &csv : nullptr);
  LoadFleet::Latencies latencies = fleet.AckLatencies();
  return Summarize(flags, run, tally, stored.has_value(), latencies) ? 0 : 1;
}

}  // namespace
}  // namespace eroom::bench

int main(int argc, char** argv) {
  eroom::bench::Flags flags;
  CLI::App app{
      "eroom-loadgen: N simulated agents streaming to one eroom-collector"};
  app.add_option("--collector", flags.collector, "collector address host:port")
      ->required();
  app.add_flag("--insecure", flags.insecure, "plaintext (loopback only)");
  app.add_flag("--gzip", flags.gzip,
               "gzip every message, as agents off the collector's host do");
  app.add_option("--ca", flags.ca_file, "CA certificate (PEM) for TLS");
  app.add_option("--token", flags.token,
                 "agent token (an enrollment token: any agent id)");
  app.add_option("--query-token", flags.query_token,
                 "viewer token for the final ListHosts (default: --token)");
  app.add_option("--agents", flags.agents, "simulated agents")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--rate", flags.rate, "events per second per agent")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--duration", flags.duration, "how long to produce")
      ->capture_default_str();
  app.add_option("--send-interval", flags.send_interval,
                 "how often an agent sends what it produced")
      ->capture_default_str();
  app.add_option("--warmup", flags.warmup,
                 "batches written this long after the start (connections, "
                 "first contact) are reported apart from the rest")
      ->capture_default_str();
  app.add_option("--drain-timeout", flags.drain_timeout,
                 "how long to wait for the last acks")
      ->capture_default_str();
  app.add_option("--progress-interval", flags.progress_interval,
                 "how often to print progress")
      ->capture_default_str();
  app.add_option("--agent-prefix", flags.agent_prefix,
                 "agent ids are this prefix and a number")
      ->capture_default_str();
  app.add_option("--report", flags.report_file,
                 "write per-agent figures (CSV) to this file");
  CLI11_PARSE(app, argc, argv);
  return eroom::bench::Run(flags);
}
