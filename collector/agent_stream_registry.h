#ifndef EROOM_COLLECTOR_AGENT_STREAM_REGISTRY_H_
#define EROOM_COLLECTOR_AGENT_STREAM_REGISTRY_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "eroom/monitor/v1/monitor.pb.h"
#include "grpcpp/support/status.h"

namespace eroom::collector {

// SUCCEEDED, FAILED and REJECTED: no step follows.
bool IsFinalCommandState(eroom::monitor::v1::CommandState state);

// The one live stream of each agent id, and the command running on each
// host. A command runs from its request until a final state arrives on the
// stream it was sent on, or that stream ends: one at a time per host. The
// commands sent beside it (cancels) are followed the same way, so that
// none is left without a final state when its stream ends.
//
// Thread-safe; no method blocks (streams queue what they are given).
class AgentStreamRegistry {
 public:
  // One agent's live stream, as the agent service implements it.
  class Stream {
   public:
    virtual ~Stream() = default;
    // Queues `command` behind whatever the stream is writing; false if the
    // stream is closing.
    virtual bool SendCommand(const eroom::monitor::v1::Command& command) = 0;
    // Ends the stream with `status`.
    virtual void Close(const grpc::Status& status) = 0;
  };

  // Told of each command (reserved or sent beside) whose stream ended (or
  // was replaced) before its final state arrived; called without the registry's
  // lock on the thread that ended the stream, a gRPC thread: must not block.
  using StreamEnded = std::function<void(const std::string& agent_id,
                                         const std::string& command_id)>;

  explicit AgentStreamRegistry(StreamEnded stream_ended = nullptr);

  // Makes `stream`, authenticated by `credential` (Caller::credential),
  // the live one of `agent_id` and returns the one it replaces, if any, for
  // the caller to close. A newer connection with the same credential wins:
  // the agent reconnected and the old stream is a leftover. One with
  // another credential is AlreadyExists and the live stream keeps running.
  absl::StatusOr<std::shared_ptr<Stream>> Register(
      const std::string& agent_id, const std::string& credential,
      std::shared_ptr<Stream> stream);
  // Forgets `stream` (ended) if it is still the one of `agent_id`; true if
  // it was, i.e. the host is now disconnected.
  bool Unregister(const std::string& agent_id, const Stream* stream);

  // Whether `stream` is the live one of `agent_id`.
  bool IsLive(const std::string& agent_id, const Stream* stream) const;
  // Whether `agent_id` has a live stream.
  bool HasLive(const std::string& agent_id) const;

  // Claims the host for command `command_id`: UNAVAILABLE if `agent_id` has
  // no live stream, FAILED_PRECONDITION naming the running command if one
  // runs there. Follow with Send() or Release().
  absl::Status Reserve(const std::string& agent_id,
                       const std::string& command_id);
  // Sends the reserved `command` on the stream it was reserved on;
  // UNAVAILABLE (and the reservation ends) if that stream is gone.
  absl::Status Send(const std::string& agent_id,
                    const eroom::monitor::v1::Command& command);
  // Sends `command` on the live stream of `agent_id` beside the command
  // running there, without reserving the host (a cancel runs beside the
  // command it cancels); UNAVAILABLE if the host has no live stream or it
  // is closing.
  absl::Status SendUnreserved(const std::string& agent_id,
                              const eroom::monitor::v1::Command& command);
  // Ends the reservation of `command_id` that will not be sent.
  void Release(const std::string& agent_id, const std::string& command_id);

  // Notes a step received on `stream` of `agent_id`: a final state ends its
  // command.
  void OnProgress(const std::string& agent_id, const Stream* stream,
                  const eroom::monitor::v1::CommandProgress& progress);

 private:
  struct Live {
    std::string credential;
    std::shared_ptr<Stream> stream;
  };
  struct Running {
    std::string command_id;
    const Stream* stream;  // The stream it was reserved on; never read.
  };

  // Forgets `command_id` sent on `stream` (its final state arrived, or it
  // could not be sent).
  void Forget(const std::string& agent_id, const Stream* stream,
              const std::string& command_id) ABSL_LOCKS_EXCLUDED(mu_);
  // Ends the commands running on `stream` and returns their ids.
  std::vector<std::string> EndRunningOn(const std::string& agent_id,
                                        const Stream* stream)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReportEnded(const std::string& agent_id,
                   const std::vector<std::string>& command_ids) const;

  const StreamEnded stream_ended_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Live> streams_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Running> running_ ABSL_GUARDED_BY(mu_);
  // Per host, the commands sent beside the running one, until final.
  absl::flat_hash_map<std::string, std::vector<Running>> beside_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace eroom::collector

#endif  // EROOM_COLLECTOR_AGENT_STREAM_REGISTRY_H_
