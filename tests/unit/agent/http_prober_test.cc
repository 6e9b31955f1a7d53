#include "agent/http_prober.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <string>
#include <thread>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "tests/unit/test_support/fake_clock.h"
#include "tests/unit/test_support/status_matchers.h"

namespace eroom::agent {
namespace {

using ::eroom::monitor::v1::HEALTH;
using ::eroom::monitor::v1::PROBE_TARGET_UNSPECIFIED;
using ::eroom::monitor::v1::ProbeResult;
using ::eroom::monitor::v1::QUEUE_STATUS;
using ::eroom::test_support::IsOkAndHolds;
using ::eroom::test_support::StatusIs;
using ::testing::AllOf;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::Not;

// Bodies as ERoom sends them: pretty-printed, 2-space indent.
constexpr char kHealthyBody[] = R"({
  "status": "healthy",
  "queue": {
    "queued": 5,
    "active": 1,
    "completed": 142,
    "maxConcurrent": 1
  },
  "success": true
})";
constexpr char kQueueStatusBody[] = R"({
  "queued": 5,
  "active": 1,
  "completed": 142,
  "maxConcurrent": 1
})";
constexpr char kWrongKeyBody[] = "{\n  \"error\": \"인증 실패\"\n}";
constexpr char kMissingKeyBody[] = "{\n  \"error\": \"인증이 필요합니다\"\n}";

ProbeResult Interpret(eroom::monitor::v1::ProbeTarget target, long status,
                      std::string_view body) {
  ProbeResult result;
  InterpretProbeResponse(target, status, body, &result);
  return result;
}

void ExpectQueue(const ProbeResult& result) {
  ASSERT_TRUE(result.has_queue());
  EXPECT_EQ(result.queue().queued(), 5);
  EXPECT_EQ(result.queue().active(), 1);
  EXPECT_EQ(result.queue().completed(), 142);
  EXPECT_EQ(result.queue().max_concurrent(), 1);
}

TEST(InterpretProbeResponseTest, HealthyHealth) {
  ProbeResult result = Interpret(HEALTH, 200, kHealthyBody);
  EXPECT_TRUE(result.ok()) << result.error();
  EXPECT_EQ(result.http_status(), 200);
  EXPECT_EQ(result.error(), "");
  EXPECT_EQ(result.health_status(), "healthy");
  ExpectQueue(result);
}

TEST(InterpretProbeResponseTest, HealthWithoutQueueIsStillHealthy) {
  ProbeResult result = Interpret(HEALTH, 200, R"({"status": "healthy"})");
  EXPECT_TRUE(result.ok()) << result.error();
  EXPECT_FALSE(result.has_queue());
}

TEST(InterpretProbeResponseTest, UnhealthyStatusFails) {
  // Escapes as ERoom writes them (\u003d is '=') are decoded.
  ProbeResult result =
      Interpret(HEALTH, 200, R"({"status": "degraded \u003d slow"})");
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.health_status(), "degraded = slow");
  EXPECT_EQ(result.error(), "health status is \"degraded = slow\"");
}

TEST(InterpretProbeResponseTest, GoodQueueStatus) {
  ProbeResult result = Interpret(QUEUE_STATUS, 200, kQueueStatusBody);
  EXPECT_TRUE(result.ok()) << result.error();
  EXPECT_EQ(result.health_status(), "");
  ExpectQueue(result);
}

TEST(InterpretProbeResponseTest, UnauthorizedNamesServersReason) {
  ProbeResult wrong_key = Interpret(HEALTH, 401, kWrongKeyBody);
  EXPECT_FALSE(wrong_key.ok());
  EXPECT_EQ(wrong_key.http_status(), 401);
  EXPECT_EQ(wrong_key.error(), "401 unauthorized: 인증 실패");

  ProbeResult missing_key = Interpret(QUEUE_STATUS, 401, kMissingKeyBody);
  EXPECT_FALSE(missing_key.ok());
  EXPECT_EQ(missing_key.error(), "401 unauthorized: 인증이 필요합니다");

  EXPECT_EQ(Interpret(HEALTH, 401, "denied").error(), "401 unauthorized");
  EXPECT_EQ(Interpret(HEALTH, 401, R"({"error": 7})").error(),
            "401 unauthorized");
}

TEST(InterpretProbeResponseTest, LongServerTextIsCutOnACharacterBoundary) {
  std::string reason;
  for (int i = 0; i < 100; ++i) reason += "가";  // 3 bytes each.
  ProbeResult result =
      Interpret(HEALTH, 401, absl::StrCat(R"({"error": ")", reason, "\"}"));
  std::string kept;
  for (int i = 0; i < 66; ++i) kept += "가";  // 198 of at most 200 bytes.
  EXPECT_EQ(result.error(), absl::StrCat("401 unauthorized: ", kept, "..."));
}

TEST(InterpretProbeResponseTest, OtherStatusCodes) {
  ProbeResult result = Interpret(HEALTH, 500, kHealthyBody);
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.http_status(), 500);
  EXPECT_EQ(result.error(), "HTTP 500");
  EXPECT_FALSE(result.has_queue());
  EXPECT_EQ(Interpret(QUEUE_STATUS, 404, "").error(), "HTTP 404");
}

TEST(InterpretProbeResponseTest, BodiesThatAreNotJson) {
  EXPECT_EQ(Interpret(HEALTH, 200, "").error(), "body is not JSON");
  EXPECT_EQ(Interpret(HEALTH, 200, "<html>ok</html>").error(),
            "body is not JSON");
  EXPECT_EQ(Interpret(QUEUE_STATUS, 200, R"({"queued": 5,)").error(),
            "body is not JSON");
  EXPECT_EQ(Interpret(QUEUE_STATUS, 200, "[5, 1, 142, 1]").error(),
            "body is not a JSON object");
  EXPECT_EQ(Interpret(HEALTH, 200, "\"healthy\"").error(),
            "body is not a JSON object");
}

TEST(InterpretProbeResponseTest, MissingOrMistypedFields) {
  EXPECT_EQ(Interpret(QUEUE_STATUS, 200, "{}").error(), "missing field queued");
  EXPECT_EQ(Interpret(QUEUE_STATUS, 200,
                      R"({"queued": 5, "active": 1, "completed": 142})")
                .error(),
            "missing field maxConcurrent");
  for (const char* queued : {R"("5")", "-1", "1.5", "null", "true", "[5]"}) {
    ProbeResult result = Interpret(
        QUEUE_STATUS, 200,
        absl::StrCat(
            R"({"queued": )", queued,
            R"(, "active": 1, "completed": 142, "maxConcurrent": 1})"));
    EXPECT_FALSE(result.ok()) << queued;
    EXPECT_EQ(result.error(), "field queued is not a non-negative integer")
        << queued;
    EXPECT_FALSE(result.has_queue()) << queued;
  }
  EXPECT_EQ(Interpret(HEALTH, 200, R"({"queue": {}})").error(),
            "missing field status");
  EXPECT_EQ(Interpret(HEALTH, 200, R"({"status": true})").error(),
            "field status is not a string");
  EXPECT_EQ(
      Interpret(HEALTH, 200, R"({"status": "healthy", "queue": 5})").error(),
      "field queue is not an object");
  EXPECT_EQ(
      Interpret(HEALTH, 200,
                R"({"status": "healthy", "queue": {"queued": 5, "active": 1}})")
          .error(),
      "missing field queue.completed");
}

TEST(InterpretProbeResponseTest, ReusedResultIsReset) {
  ProbeResult result;
  InterpretProbeResponse(HEALTH, 200, kHealthyBody, &result);
  ASSERT_TRUE(result.ok());
  InterpretProbeResponse(HEALTH, 503, "", &result);
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.health_status(), "");
  EXPECT_FALSE(result.has_queue());
}

auto UrlIs(std::string scheme, std::string host, int port, std::string path) {
  return AllOf(Field("scheme", &HttpUrl::scheme, scheme),
               Field("host", &HttpUrl::host, host),
               Field("port", &HttpUrl::port, port),
               Field("path", &HttpUrl::path, path));
}

TEST(ParseHttpUrlTest, PortsDefaultToTheSchemes) {
  EXPECT_THAT(ParseHttpUrl("http://127.0.0.1"),
              IsOkAndHolds(UrlIs("http", "127.0.0.1", 80, "")));
  EXPECT_THAT(ParseHttpUrl("HTTPS://eroom.example"),
              IsOkAndHolds(UrlIs("https", "eroom.example", 443, "")));
  EXPECT_THAT(ParseHttpUrl("http://localhost:8080"),
              IsOkAndHolds(UrlIs("http", "localhost", 8080, "")));
}

TEST(ParseHttpUrlTest, Ipv6AndPathPrefix) {
  EXPECT_THAT(ParseHttpUrl("http://[::1]:18080/eroom/api/"),
              IsOkAndHolds(UrlIs("http", "::1", 18080, "/eroom/api")));
}

TEST(ParseHttpUrlTest, RefusesWhatIsNoUsableUrl) {
  for (const char* url :
       {"", "not a url", "127.0.0.1:8080", "http://", "http://:8080",
        "http://user:pw@host", "http://host/health?x=1", "http://host/#top",
        "http://host:port", "http://ho st"}) {
    EXPECT_THAT(ParseHttpUrl(url), StatusIs(absl::StatusCode::kInvalidArgument,
                                            HasSubstr("is not a valid URL")))
        << url;
  }
  EXPECT_THAT(ParseHttpUrl("ftp://host/"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "must be http:// or https://"));
  EXPECT_THAT(ParseHttpUrl("http://host:0"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("port outside 1-65535")));
  EXPECT_THAT(ParseHttpUrl("http://host:65536"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("port outside 1-65535")));
}

// A cpp-httplib server on an ephemeral loopback port, run on its own thread
// for the lifetime of the object.
class TestServer {
 public:
  explicit TestServer(const std::function<void(httplib::Server&)>& routes) {
    routes(server_);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() is a no-op until the accept loop runs: wait for it to start.
    while (port_ > 0 && !server_.is_running()) std::this_thread::yield();
  }
  ~TestServer() {
    server_.stop();
    thread_.join();
  }
  int port() const { return port_; }
  std::string url() const { return absl::StrCat("http://127.0.0.1:", port_); }

 private:
  httplib::Server server_;
  int port_ = -1;
  std::thread thread_;
};

constexpr char kKey[] = "s3cret=key";

// Routes that behave like ERoom's API-key filter and record what they saw.
struct FakeEroom {
  void Install(httplib::Server& server) {
    auto guarded = [this](const char* body) {
      return [this, body](const httplib::Request& request,
                          httplib::Response& response) {
        absl::MutexLock lock(&mu);
        ++requests;
        if (!request.has_header("Authorization")) {
          response.status = 401;
          response.set_content(kMissingKeyBody, "application/json");
          return;
        }
        last_authorization = request.get_header_value("Authorization");
        if (last_authorization != kKey) {
          response.status = 401;
          response.set_content(kWrongKeyBody, "application/json");
          return;
        }
        response.set_content(body, "application/json");
      };
    };
    server.Get("/health", guarded(kHealthyBody));
    server.Get("/queue/status", guarded(kQueueStatusBody));
  }

  absl::Mutex mu;
  int requests ABSL_GUARDED_BY(mu) = 0;
  std::string last_authorization ABSL_GUARDED_BY(mu);
};

ProbeOptions OptionsFor(const TestServer& server, std::string key = kKey) {
  ProbeOptions options;
  options.base_url = server.url();
  options.api_key = std::move(key);
  return options;
}

TEST(HttpProberTest, ProbesHealthAndQueueWithOneHandle) {
  FakeEroom eroom;
  TestServer server([&](httplib::Server& s) { eroom.Install(s); });
  ASSERT_GT(server.port(), 0);
  FakeClock clock;
  auto prober = HttpProber::Create(OptionsFor(server), clock);

  ProbeResult health = prober->Probe(HEALTH);
  EXPECT_TRUE(health.ok()) << health.error();
  EXPECT_EQ(health.target(), HEALTH);
  EXPECT_EQ(health.http_status(), 200);
  EXPECT_EQ(health.time_unix_ms(), ToUnixMillis(clock.Now()));
  EXPECT_EQ(health.health_status(), "healthy");
  ExpectQueue(health);

  ProbeResult queue = prober->Probe(QUEUE_STATUS);
  EXPECT_TRUE(queue.ok()) << queue.error();
  EXPECT_EQ(queue.target(), QUEUE_STATUS);
  ExpectQueue(queue);

  absl::MutexLock lock(&eroom.mu);
  EXPECT_EQ(eroom.requests, 2);
  EXPECT_EQ(eroom.last_authorization, kKey);  // Exactly the key, no Bearer.
}

TEST(HttpProberTest, WrongKeyReportsServersReason) {
  FakeEroom eroom;
  TestServer server([&](httplib::Server& s) { eroom.Install(s); });
  FakeClock clock;
  ProbeResult result =
      HttpProber::Create(OptionsFor(server, "wrong"), clock)->Probe(HEALTH);
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.http_status(), 401);
  EXPECT_EQ(result.error(), "401 unauthorized: 인증 실패");
}

TEST(HttpProberTest, MissingKeySendsNoHeader) {
  FakeEroom eroom;
  TestServer server([&](httplib::Server& s) { eroom.Install(s); });
  FakeClock clock;
  ProbeResult result =
      HttpProber::Create(OptionsFor(server, ""), clock)->Probe(QUEUE_STATUS);
  EXPECT_EQ(result.error(), "401 unauthorized: 인증이 필요합니다");
}

TEST(HttpProberTest, KeyWithLineBreakIsNotSent) {
  FakeEroom eroom;
  TestServer server([&](httplib::Server& s) { eroom.Install(s); });
  FakeClock clock;
  ProbeResult result =
      HttpProber::Create(OptionsFor(server, "key\r\nX-Injected: 1"), clock)
          ->Probe(HEALTH);
  EXPECT_FALSE(result.ok());
  EXPECT_THAT(result.error(), HasSubstr("line break"));
  EXPECT_THAT(result.error(), Not(HasSubstr("key\r")));
  absl::MutexLock lock(&eroom.mu);
  EXPECT_EQ(eroom.requests, 0);
}

// A loopback port that refuses connections: bound, so nobody else takes it,
// but not listening.
class RefusingPort {
 public:
  RefusingPort() : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    auto* generic = reinterpret_cast<sockaddr*>(&address);
    if (bind(fd_, generic, length) == 0 &&
        getsockname(fd_, generic, &length) == 0) {
      port_ = ntohs(address.sin_port);
    }
  }
  ~RefusingPort() { close(fd_); }
  int port() const { return port_; }

 private:
  int fd_;
  int port_ = 0;
};

TEST(HttpProberTest, ConnectionRefused) {
  RefusingPort refusing;
  ASSERT_NE(refusing.port(), 0);
  ProbeOptions options;
  options.base_url = absl::StrCat("http://127.0.0.1:", refusing.port());
  options.api_key = kKey;
  FakeClock clock;
  ProbeResult result = HttpProber::Create(options, clock)->Probe(HEALTH);
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.http_status(), 0);
  EXPECT_EQ(result.error(), "connection refused");
}

TEST(HttpProberTest, SlowServerTimesOut) {
  absl::Notification release;
  TestServer server([&](httplib::Server& s) {
    s.Get("/health", [&](const httplib::Request&, httplib::Response& response) {
      // Held until the test ends; the bound only protects a failing test.
      release.WaitForNotificationWithTimeout(absl::Seconds(30));
      response.set_content(kHealthyBody, "application/json");
    });
  });
  absl::Cleanup release_handler = [&] { release.Notify(); };
  ProbeOptions options = OptionsFor(server);
  options.timeout = absl::Milliseconds(200);
  ProbeResult result =
      HttpProber::Create(options, RealClock::Get())->Probe(HEALTH);
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.http_status(), 0);
  EXPECT_EQ(result.error(), "timeout");
  EXPECT_GE(result.latency_ms(), 190);
  EXPECT_LT(result.latency_ms(), 10000);
}

TEST(HttpProberTest, OversizedBodyFails) {
  TestServer server([](httplib::Server& s) {
    s.Get("/queue/status",
          [](const httplib::Request&, httplib::Response& response) {
            response.set_content(std::string(2 << 20, ' '), "application/json");
          });
  });
  FakeClock clock;
  ProbeResult result =
      HttpProber::Create(OptionsFor(server), clock)->Probe(QUEUE_STATUS);
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.http_status(), 200);
  EXPECT_EQ(result.error(), "body too large");
}

TEST(HttpProberTest, BaseUrlPathPrefixesTheProbedPaths) {
  TestServer server([](httplib::Server& s) {
    s.Get("/eroom/health",
          [](const httplib::Request& request, httplib::Response& response) {
            response.set_content(request.get_header_value("User-Agent") ==
                                         "eroom-agent/" EROOM_VERSION
                                     ? kHealthyBody
                                     : "{}",
                                 "application/json");
          });
  });
  ProbeOptions options = OptionsFor(server);
  options.base_url = server.url() + "/eroom";
  FakeClock clock;
  ProbeResult result = HttpProber::Create(options, clock)->Probe(HEALTH);
  EXPECT_TRUE(result.ok()) << result.error();
}

TEST(HttpProberTest, InvalidUrlFailsEveryProbeWithItsReason) {
  ProbeOptions options;
  options.base_url = "ftp://127.0.0.1";
  FakeClock clock;
  ProbeResult result = HttpProber::Create(options, clock)->Probe(HEALTH);
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.error(), "invalid URL: must be http:// or https://");
}

TEST(HttpProberTest, UnknownTargetFailsWithoutRequest) {
  FakeClock clock;
  ProbeResult result = HttpProber::Create(ProbeOptions(), clock)
                           ->Probe(PROBE_TARGET_UNSPECIFIED);
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.error(), "unknown probe target");
}

}  // namespace
}  // namespace eroom::agent
