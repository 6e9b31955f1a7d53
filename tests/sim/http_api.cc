#include "tests/sim/http_api.h"

#include <unistd.h>

#include <atomic>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "common/exclusive_listen.h"
#include "tests/sim/catalog.h"

namespace eroom::sim {
namespace {

constexpr char kJsonContentType[] = "application/json; charset=utf-8";
// ERoom's API-key filter writes its 401 bodies by hand, compact and without
// a charset.
constexpr char kFilterContentType[] = "application/json";
constexpr absl::Duration kSlowApiDelay = absl::Milliseconds(800);
constexpr absl::Duration kHealthHang = absl::Seconds(60);
// Enough workers that hung /health probes do not starve other requests.
constexpr size_t kWorkerThreads = 32;

// Undertow answers on its XNIO I/O threads; each httplib worker borrows one
// of their names.
const std::string& XnioThreadName() {
  static std::atomic<int> next_thread{0};
  thread_local const std::string name =
      absl::StrCat("XNIO-1 I/O-", next_thread++ % 8 + 1);
  return name;
}

void SendJson(httplib::Response& response, int status,
              const nlohmann::ordered_json& body) {
  response.status = status;
  response.set_content(RenderJsonBody(body), kJsonContentType);
}

void SendError(httplib::Response& response, int status,
               absl::string_view message) {
  nlohmann::ordered_json body;
  body["success"] = false;
  body["error"] = message;
  SendJson(response, status, body);
}

}  // namespace

std::string RenderJsonBody(const nlohmann::ordered_json& body) {
  // Invalid UTF-8 from a client must not make the dump throw.
  const std::string text =
      body.dump(2, ' ', /*ensure_ascii=*/false,
                nlohmann::ordered_json::error_handler_t::replace);
  // These characters only occur inside JSON strings, so a plain replacement
  // is exact.
  return absl::StrReplaceAll(text, {{"=", "\\u003d"},
                                    {"'", "\\u0027"},
                                    {"<", "\\u003c"},
                                    {">", "\\u003e"},
                                    {"&", "\\u0026"}});
}

HttpApi::HttpApi(EventLog& log, RoomQueue& queue, FaultSet& faults,
                 std::string api_key, FaultSwitch switch_fault)
    : log_(log),
      queue_(queue),
      faults_(faults),
      api_key_(std::move(api_key)),
      switch_fault_(std::move(switch_fault)) {
  server_.new_task_queue = [] {
    return new httplib::ThreadPool(kWorkerThreads);
  };
  // As the JVM does: a second server on the port fails to bind.
  ListenExclusively(server_);
  // An idle keep-alive connection holds a worker; keep that short so that a
  // stop is quick.
  server_.set_keep_alive_timeout(1);
  server_.set_pre_routing_handler(
      [this](const httplib::Request& request, httplib::Response& response) {
        return Authorize(request, response);
      });
  server_.Get("/", [](const httplib::Request&, httplib::Response& response) {
    nlohmann::ordered_json body;
    body["status"] = "online";
    body["message"] = "Eroom 서버가 작동 중입니다";
    body["success"] = true;
    SendJson(response, 200, body);
  });
  server_.Get("/health",
              [this](const httplib::Request&, httplib::Response& response) {
                HandleHealth(response);
              });
  server_.Get("/queue/status",
              [this](const httplib::Request&, httplib::Response& response) {
                SendJson(response, 200, QueueStatus());
              });
  server_.Post("/room/create", [this](const httplib::Request& request,
                                      httplib::Response& response) {
    HandleCreateRoom(request, response);
  });
  server_.Get("/room/result", [this](const httplib::Request& request,
                                     httplib::Response& response) {
    HandleRoomResult(request, response);
  });
  server_.Post("/_sim/fault", [this](const httplib::Request& request,
                                     httplib::Response& response) {
    HandleSetFault(request, response);
  });
  server_.Get("/_sim/state",
              [this](const httplib::Request&, httplib::Response& response) {
                nlohmann::ordered_json body;
                body["faults"] = faults_.Names();
                body["queue"] = QueueStatus();
                body["pid"] = getpid();
                SendJson(response, 200, body);
              });
}

HttpApi::~HttpApi() { Stop(); }

absl::StatusOr<int> HttpApi::Bind(const std::string& host, int port) {
  if (port == 0) {
    const int bound = server_.bind_to_any_port(host);
    if (bound < 0) {
      return absl::UnavailableError(
          absl::StrCat("java.net.BindException: cannot bind ", host));
    }
    return bound;
  }
  if (!server_.bind_to_port(host, port)) {
    return absl::UnavailableError(absl::StrCat(
        "java.net.BindException: Address already in use: ", host, ":", port));
  }
  return port;
}

void HttpApi::Start() {
  listener_ = std::thread([this] { server_.listen_after_bind(); });
  // httplib's stop() is a no-op until the listener has marked itself
  // running, and it offers no readiness signal: wait for the flag, which the
  // listener sets first thing.
  while (!server_.is_running()) absl::SleepFor(absl::Milliseconds(1));
}

void HttpApi::Stop() {
  server_.stop();
  if (listener_.joinable()) listener_.join();
}

httplib::Server::HandlerResponse HttpApi::Authorize(
    const httplib::Request& request, httplib::Response& response) {
  if (faults_.Has(Fault::kSlowApi)) faults_.Wait(kSlowApiDelay);
  const std::string key = request.get_header_value("Authorization");
  absl::string_view rejection;
  if (absl::StripAsciiWhitespace(key).empty()) {
    log_.Log(LogEvent{
        XnioThreadName(), LogLevel::kWarn, kAuthFilterLogger,
        absl::StrCat("Authorization 헤더가 요청에 없습니다: ", request.path)});
    rejection = "인증이 필요합니다";
  } else if (key != api_key_) {
    log_.Log(LogEvent{
        XnioThreadName(), LogLevel::kWarn, kAuthFilterLogger,
        absl::StrCat("잘못된 API 키가 제공되었습니다: ", request.path)});
    rejection = "인증 실패";
  } else {
    return httplib::Server::HandlerResponse::Unhandled;
  }
  response.status = 401;
  response.set_content(absl::StrCat("{\"error\":\"", rejection, "\"}"),
                       kFilterContentType);
  return httplib::Server::HandlerResponse::Handled;
}

void HttpApi::HandleHealth(httplib::Response& response) {
  if (faults_.Has(Fault::kHealthHang)) {
    faults_.Wait(kHealthHang, Fault::kHealthHang);
    // A hang cut short by the shutdown must not pass for a healthy answer.
    if (faults_.shutting_down()) {
      SendError(response, 503, "서버가 종료 중입니다");
      return;
    }
  }
  if (faults_.Has(Fault::kHealth500)) {
    SendError(response, 500, "서버 내부 오류가 발생했습니다");
    return;
  }
  nlohmann::ordered_json body;
  body["status"] = "healthy";
  body["queue"] = QueueStatus();
  body["success"] = true;
  SendJson(response, 200, body);
}

void HttpApi::HandleCreateRoom(const httplib::Request& request,
                               httplib::Response& response) {
  absl::StatusOr<RoomRequest> room = ParseRoomRequest(request.body);
  if (!room.ok()) {
    SendError(response, 400, room.status().message());
    return;
  }
  const std::string ruid = queue_.Submit(*room, XnioThreadName());
  nlohmann::ordered_json body;
  body["ruid"] = ruid;
  body["status"] = "대기중";
  body["message"] = absl::StrCat(
      "방 생성 요청이 수락되었습니다. 상태 확인을 위해 /room/result?ruid=",
      ruid, "를 폴링하세요.");
  body["success"] = true;
  SendJson(response, 202, body);
}

void HttpApi::HandleRoomResult(const httplib::Request& request,
                               httplib::Response& response) {
  const std::string ruid = request.get_param_value("ruid");
  if (absl::StripAsciiWhitespace(ruid).empty()) {
    SendError(response, 400, "쿼리 파라미터 'ruid'가 필요합니다.");
    return;
  }
  std::optional<RoomQueue::Result> result =
      queue_.TakeResult(ruid, XnioThreadName());
  if (!result.has_value()) {
    SendError(response, 404,
              absl::StrCat("ruid '", ruid,
                           "'에 해당하는 작업을 찾을 수 없습니다. 이미 "
                           "처리되었거나 존재하지 않는 작업입니다."));
    return;
  }
  SendJson(response, 200, result->body);
}

void HttpApi::HandleSetFault(const httplib::Request& request,
                             httplib::Response& response) {
  const nlohmann::json body = nlohmann::json::parse(
      request.body, /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (!body.is_object() || !body.contains("fault") ||
      !body["fault"].is_string() || !body.contains("enabled") ||
      !body["enabled"].is_boolean()) {
    SendError(response, 400,
              "expected {\"fault\": NAME, \"enabled\": true|false}");
    return;
  }
  const std::string name = body["fault"].get<std::string>();
  const std::optional<Fault> fault = ParseFault(name);
  if (!fault.has_value()) {
    SendError(response, 400,
              absl::StrCat("unknown fault '", name, "' (one of: ",
                           absl::StrJoin(AllFaultNames(), ", "), ")"));
    return;
  }
  switch_fault_(*fault, body["enabled"].get<bool>());
  nlohmann::ordered_json answer;
  answer["faults"] = faults_.Names();
  answer["success"] = true;
  SendJson(response, 200, answer);
}

nlohmann::ordered_json HttpApi::QueueStatus() const {
  const QueueCounts counts = queue_.Counts();
  nlohmann::ordered_json status;
  status["queued"] = counts.queued;
  status["active"] = counts.active;
  status["completed"] = counts.completed;
  status["maxConcurrent"] = counts.max_concurrent;
  return status;
}

}  // namespace eroom::sim
