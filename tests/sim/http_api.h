#ifndef EROOM_TESTS_SIM_HTTP_API_H_
#define EROOM_TESTS_SIM_HTTP_API_H_

#include <functional>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "tests/sim/faults.h"
#include "tests/sim/log_writer.h"
#include "tests/sim/room_queue.h"

namespace eroom::sim {

// A response body as ERoom's Gson writes it: pretty-printed with a 2-space
// indent and HTML-safe, i.e. = ' < > & escaped as \u003d \u0027 \u003c
// \u003e \u0026.
std::string RenderJsonBody(const nlohmann::ordered_json& body);

// ERoom's HTTP API on cpp-httplib: the API-key filter in front of every path,
// the room endpoints, and the sim's own /_sim/fault and /_sim/state.
class HttpApi {
 public:
  // Applies a validated POST /_sim/fault switch.
  using FaultSwitch = std::function<void(Fault, bool)>;

  HttpApi(EventLog& log, RoomQueue& queue, FaultSet& faults,
          std::string api_key, FaultSwitch switch_fault);
  HttpApi(const HttpApi&) = delete;
  HttpApi& operator=(const HttpApi&) = delete;
  ~HttpApi();

  // Binds the listening socket; port 0 picks a free one. Returns the port.
  absl::StatusOr<int> Bind(const std::string& host, int port);
  // Serves on a background thread until Stop().
  void Start();
  // Stops serving once running handlers have answered (FaultSet::Shutdown
  // cuts their waits short).
  void Stop();

 private:
  httplib::Server::HandlerResponse Authorize(const httplib::Request& request,
                                             httplib::Response& response);
  void HandleHealth(httplib::Response& response);
  void HandleCreateRoom(const httplib::Request& request,
                        httplib::Response& response);
  void HandleRoomResult(const httplib::Request& request,
                        httplib::Response& response);
  void HandleSetFault(const httplib::Request& request,
                      httplib::Response& response);
  nlohmann::ordered_json QueueStatus() const;

  EventLog& log_;
  RoomQueue& queue_;
  FaultSet& faults_;
  const std::string api_key_;
  const FaultSwitch switch_fault_;
  httplib::Server server_;
  std::thread listener_;
};

}  // namespace eroom::sim

#endif  // EROOM_TESTS_SIM_HTTP_API_H_
