// A real Prometheus (Debian's `prometheus`) scrapes the collector's
// /metrics over TLS with a viewer token, using the shipped scrape config
// (deploy/prometheus/prometheus.yml); its HTTP API then answers with what
// the collector stored, and runs every query of the Grafana dashboard.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/transport_security.h"
#include "eroom/monitor/v1/monitor.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "tests/integration/process_harness.h"

namespace eroom::testing {
namespace {

namespace v1 = ::eroom::monitor::v1;
using ::nlohmann::json;

constexpr char kAgentId[] = "web-1";
constexpr char kHostname[] = "gpu-host-1";
constexpr char kAgentToken[] = "agent-token-for-prometheus-tests";
constexpr char kViewerToken[] = "viewer-token-for-prometheus-tests";
// Debian's package (deploy/install-deps.sh).
constexpr char kPrometheus[] = "/usr/bin/prometheus";
constexpr absl::Duration kDeadline = absl::Seconds(60);

// What the test's agent sends: one resource sample, both probes, and three
// finished rooms.
std::vector<v1::Event> HostEvents() {
  std::vector<v1::Event> events;
  const int64_t now_ms = absl::ToUnixMillis(absl::Now());
  v1::Event& sample_event = events.emplace_back();
  v1::ResourceSample& sample = *sample_event.mutable_sample();
  sample.set_time_unix_ms(now_ms);
  sample.set_cpu_percent(37.5);
  sample.set_memory_used_bytes(6'000'000'000);
  sample.set_memory_total_bytes(16'000'000'000);
  v1::DiskUsage& disk = *sample.add_disks();
  disk.set_mount("/");
  disk.set_used_bytes(123'456'789);
  disk.set_total_bytes(1'000'000'000);
  sample.mutable_eroom()->set_up(true);
  sample.mutable_eroom()->set_rss_bytes(2'147'483'648);
  sample.mutable_eroom()->set_port_listening(true);
  v1::Event& health_event = events.emplace_back();
  v1::ProbeResult& health = *health_event.mutable_probe();
  health.set_time_unix_ms(now_ms);
  health.set_target(v1::HEALTH);
  health.set_ok(true);
  health.set_http_status(200);
  health.set_latency_ms(12.5);
  v1::Event& queue_event = events.emplace_back();
  v1::ProbeResult& queue = *queue_event.mutable_probe();
  queue.set_time_unix_ms(now_ms);
  queue.set_target(v1::QUEUE_STATUS);
  queue.set_ok(true);
  queue.set_http_status(200);
  queue.mutable_queue()->set_queued(3);
  queue.mutable_queue()->set_active(1);
  queue.mutable_queue()->set_completed(57);
  queue.mutable_queue()->set_max_concurrent(1);
  for (const auto& [type, processing_ms, queue_wait_ms] :
       {std::tuple{"room_completed", "42000", "1500"},
        std::tuple{"room_completed", "700", "250"},
        std::tuple{"room_failed", "2000", "90000"}}) {
    v1::LogEvent& log = *events.emplace_back().mutable_log();
    log.set_time_unix_ms(now_ms);
    log.set_file("/opt/eroom/logs/server.log");
    log.set_has_header(true);
    log.set_level(type == std::string("room_failed") ? v1::ERROR : v1::INFO);
    log.set_message(absl::StrCat(type, " \"방\" \\ done"));
    log.set_event_type(type);
    log.set_ruid(absl::StrCat("room_", processing_ms));
    (*log.mutable_fields())["processing_ms"] = processing_ms;
    (*log.mutable_fields())["queue_wait_ms"] = queue_wait_ms;
  }
  for (size_t i = 0; i < events.size(); ++i) events[i].set_sequence(i + 1);
  return events;
}

class PrometheusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("prometheus");
    tls_dir_ = dir_ + "/tls";
    CommandResult certs =
        RunCommand({absl::StrCat(EROOM_SOURCE_DIR, "/deploy/make-dev-certs.sh"),
                    tls_dir_});
    ASSERT_EQ(certs.exit_code, 0) << certs.err;
    collector_address_ = absl::StrCat("127.0.0.1:", FreePort());
    metrics_port_ = FreePort();
    WriteFile(
        dir_ + "/collector.yaml",
        absl::StrCat("listen: ", collector_address_, "\n",
                     "storage:\n  path: ", dir_, "/db/eroom.db\n",
                     "tls:\n  cert: ", tls_dir_, "/collector.crt\n",
                     "  key: ", tls_dir_, "/collector.key\n",
                     "auth:\n  agents:\n    - id: ", kAgentId, "\n",
                     "      token_sha256: ", TokenSha256(kAgentToken),
                     "\n  users:\n    - name: prometheus\n      role: viewer\n",
                     "      token_sha256: ", TokenSha256(kViewerToken), "\n",
                     "metrics_http:\n  listen: 127.0.0.1:", metrics_port_, "\n",
                     "rules:\n  - {name: cpu_high, kind: threshold, metric: "
                     "host.cpu_percent, condition: '> 30', severity: critical, "
                     "labels: {team: eroom}}\n"));
    collector_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{BinaryPath("eroom-collector"), "--config",
                                 dir_ + "/collector.yaml"},
        dir_ + "/collector.out");
    ASSERT_TRUE(PollUntil(kDeadline, [&] {
      return collector_->Log().find("/metrics on") != std::string::npos;
    })) << collector_->Log();
  }

  void TearDown() override {
    if (stream_ != nullptr) {
      stream_->WritesDone();
      stream_context_.TryCancel();
      stream_->Finish().IgnoreError();
    }
    StopChildren({prometheus_.get(), collector_.get()});
    if (HasFailure()) {
      std::cerr << "--- collector log\n" << collector_->Log();
      if (prometheus_ != nullptr) {
        std::cerr << "--- prometheus log\n" << prometheus_->Log();
      }
    }
  }

  // Streams HostEvents() as agent kAgentId and leaves the stream open, so
  // the host stays connected.
  void SendHostEvents() {
    ClientSecurity security;
    security.ca_pem = ReadFile(tls_dir_ + "/ca.crt");
    security.token = kAgentToken;
    stub_ = v1::AgentService::NewStub(
        CreateSecureChannel(collector_address_, security));
    AddCallCredentials(security, &stream_context_);
    stream_ = stub_->Connect(&stream_context_);
    v1::AgentMessage hello;
    hello.mutable_hello()->set_agent_id(kAgentId);
    hello.mutable_hello()->set_hostname(kHostname);
    hello.mutable_hello()->set_version("test");
    ASSERT_TRUE(stream_->Write(hello));
    v1::CollectorMessage answer;
    ASSERT_TRUE(stream_->Read(&answer));
    ASSERT_TRUE(answer.has_hello_ack());
    v1::AgentMessage batch;
    for (v1::Event& event : HostEvents()) {
      *batch.mutable_batch()->add_events() = std::move(event);
    }
    const uint64_t last = batch.batch().events_size();
    ASSERT_TRUE(stream_->Write(batch));
    do {
      ASSERT_TRUE(stream_->Read(&answer));
    } while (!answer.has_ack() ||
             answer.ack().stored_through_sequence() < last);
  }

  httplib::Result ScrapeDirectly(const std::string& token) {
    httplib::SSLClient client("127.0.0.1", metrics_port_);
    client.set_ca_cert_path((tls_dir_ + "/ca.crt").c_str());
    client.enable_server_certificate_verification(true);
    httplib::Headers headers;
    if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
    return client.Get("/metrics", headers);
  }

  // Prometheus with the shipped scrape config pointed at this collector,
  // scraping every second.
  void StartPrometheus() {
    ASSERT_TRUE(std::filesystem::exists(kPrometheus))
        << kPrometheus << " is missing: run deploy/install-deps.sh";
    std::string config = ReadFile(
        absl::StrCat(EROOM_SOURCE_DIR, "/deploy/prometheus/prometheus.yml"));
    WriteFile(dir_ + "/viewer.token", kViewerToken);
    config = absl::StrReplaceAll(
        config, {{"/etc/prometheus/eroom/ca.crt", tls_dir_ + "/ca.crt"},
                 {"/etc/prometheus/eroom/viewer.token", dir_ + "/viewer.token"},
                 {"collector.example.com:9464",
                  absl::StrCat("127.0.0.1:", metrics_port_)},
                 {"scrape_interval: 15s", "scrape_interval: 1s"},
                 {"scrape_timeout: 10s", "scrape_timeout: 1s"}});
    WriteFile(dir_ + "/prometheus.yml", config);
    prometheus_port_ = FreePort();
    prometheus_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{
            kPrometheus,
            absl::StrCat("--config.file=", dir_, "/prometheus.yml"),
            absl::StrCat("--storage.tsdb.path=", dir_, "/tsdb"),
            absl::StrCat("--web.listen-address=127.0.0.1:", prometheus_port_)},
        dir_ + "/prometheus.out");
  }

  // Prometheus's answer to an instant query: its "data" on success.
  std::optional<json> Query(const std::string& promql) {
    httplib::Client client("127.0.0.1", prometheus_port_);
    client.set_read_timeout(5, 0);
    httplib::Result result =
        client.Get("/api/v1/query", httplib::Params{{"query", promql}},
                   httplib::Headers{});
    if (!result || result->status != 200) return std::nullopt;
    json body = json::parse(result->body, nullptr, /*allow_exceptions=*/false);
    if (!body.is_object() || body.value("status", "") != "success") {
      return std::nullopt;
    }
    return body["data"];
  }

  // The single value of an instant vector query, once Prometheus has one.
  std::optional<double> Value(const std::string& promql) {
    std::optional<json> data = Query(promql);
    if (!data || (*data)["result"].size() != 1) return std::nullopt;
    return std::stod((*data)["result"][0]["value"][1].get<std::string>());
  }

  // Waits until `promql` has a single value, then returns it.
  std::optional<double> WaitForValue(const std::string& promql) {
    std::optional<double> value;
    PollUntil(
        kDeadline, [&] { return (value = Value(promql)).has_value(); },
        absl::Milliseconds(250));
    return value;
  }

  std::string dir_;
  std::string tls_dir_;
  std::string collector_address_;
  int metrics_port_ = 0;
  int prometheus_port_ = 0;
  std::unique_ptr<ChildProcess> collector_;
  std::unique_ptr<ChildProcess> prometheus_;
  std::unique_ptr<v1::AgentService::Stub> stub_;
  grpc::ClientContext stream_context_;
  std::unique_ptr<
      grpc::ClientReaderWriter<v1::AgentMessage, v1::CollectorMessage>>
      stream_;
};

TEST_F(PrometheusTest,
       ScrapesOverTlsWithTokenAndAnswersWhatTheCollectorStored) {
  ASSERT_NO_FATAL_FAILURE(SendHostEvents());

  // Refused scrapes: no token, an agent's token; a viewer's is served.
  httplib::Result anonymous = ScrapeDirectly("");
  ASSERT_TRUE(anonymous) << httplib::to_string(anonymous.error());
  EXPECT_EQ(anonymous->status, 401);
  httplib::Result agent = ScrapeDirectly(kAgentToken);
  ASSERT_TRUE(agent);
  EXPECT_EQ(agent->status, 403);
  httplib::Result viewer = ScrapeDirectly(kViewerToken);
  ASSERT_TRUE(viewer);
  EXPECT_EQ(viewer->status, 200);
  EXPECT_THAT(
      viewer->body,
      ::testing::HasSubstr("# TYPE eroom_room_processing_seconds histogram"));

  ASSERT_NO_FATAL_FAILURE(StartPrometheus());
  const std::string host = absl::StrCat("{agent_id=\"", kAgentId,
                                        "\",hostname=\"", kHostname, "\"}");
  ASSERT_EQ(WaitForValue("up{job=\"eroom-collector\"}"), 1);
  // The host's latest values, as eroomctl reads them from storage.
  CommandResult hosts = RunCommand(
      {BinaryPath("eroomctl"), "--collector", collector_address_, "--ca",
       tls_dir_ + "/ca.crt", "--token", kViewerToken, "-o", "json", "hosts"});
  ASSERT_EQ(hosts.exit_code, 0) << hosts.err;
  const json stored = json::parse(hosts.out)["hosts"][0];
  EXPECT_EQ(WaitForValue("eroom_host_cpu_percent" + host),
            stored["latest_sample"]["cpu_percent"].get<double>());
  EXPECT_EQ(WaitForValue("eroom_host_cpu_percent" + host), 37.5);
  EXPECT_EQ(WaitForValue("eroom_host_up" + host), 1);
  EXPECT_EQ(WaitForValue("eroom_host_disk_used_bytes{mount=\"/\"}"), 123456789);
  EXPECT_EQ(WaitForValue("eroom_process_resident_memory_bytes" + host),
            2147483648.0);
  EXPECT_EQ(WaitForValue("eroom_probe_latency_seconds{target=\"health\"}"),
            0.0125);
  EXPECT_EQ(WaitForValue("eroom_queue_queued" + host), 3);
  EXPECT_EQ(WaitForValue("eroom_rooms_completed_total" + host), 2);
  EXPECT_EQ(WaitForValue("eroom_rooms_failed_total" + host), 1);
  EXPECT_EQ(WaitForValue("eroom_room_processing_seconds_count" + host), 3);
  EXPECT_EQ(WaitForValue("eroom_room_processing_seconds_bucket{le=\"1\"}"), 1);
  EXPECT_EQ(WaitForValue("eroom_room_processing_seconds_bucket{le=\"60\"}"), 3);
  EXPECT_NEAR(*WaitForValue("eroom_room_processing_seconds_sum" + host), 44.7,
              1e-9);
  EXPECT_EQ(WaitForValue("eroom_room_queue_wait_seconds_bucket{le=\"120\"}"),
            3);
  EXPECT_EQ(WaitForValue("eroom_room_queue_wait_seconds_bucket{le=\"60\"}"), 2);
  EXPECT_EQ(WaitForValue("eroom_collector_stored_events_total{kind=\"log\"}"),
            3);
  EXPECT_EQ(WaitForValue("eroom_collector_connected_agents"), 1);
  EXPECT_GE(WaitForValue("eroom_collector_metrics_refused_total{code=\"401\"}"),
            1);
  EXPECT_EQ(WaitForValue("eroom_collector_metrics_refused_total{code=\"403\"}"),
            1);
  EXPECT_GT(WaitForValue("sum(eroom_collector_database_size_bytes)"), 0);
  // The rule fired on the stored sample.
  EXPECT_EQ(WaitForValue("eroom_alerts_firing{alertname=\"cpu_high\","
                         "severity=\"critical\",team=\"eroom\"}"),
            1);

  // Every query of the dashboard is valid PromQL over these series.
  std::ifstream in(
      absl::StrCat(EROOM_SOURCE_DIR, "/deploy/grafana/eroom-dashboard.json"));
  const json dashboard = json::parse(in);
  int queries = 0;
  for (const json& panel : dashboard["panels"]) {
    if (!panel.contains("targets")) continue;
    for (const json& target : panel["targets"]) {
      const std::string promql = absl::StrReplaceAll(
          target["expr"].get<std::string>(),
          {{"$agent_id", ".*"}, {"$__rate_interval", "1m"}});
      EXPECT_TRUE(Query(promql).has_value()) << promql;
      ++queries;
    }
  }
  EXPECT_GT(queries, 20);
  EXPECT_TRUE(collector_->running());
}

}  // namespace
}  // namespace eroom::testing
