#ifndef EROOM_COLLECTOR_COMMAND_SERVICE_H_
#define EROOM_COLLECTOR_COMMAND_SERVICE_H_

#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "collector/agent_stream_registry.h"
#include "collector/authorizer.h"
#include "collector/backup_stream.h"
#include "collector/ingest.h"
#include "collector/storage.h"
#include "collector/work_queue.h"
#include "common/clock.h"
#include "eroom/monitor/v1/monitor.grpc.pb.h"

namespace eroom::collector {

// ListCommands limits: 0 asks for the default, more than the maximum gets
// the maximum.
inline constexpr int kDefaultCommandListLimit = 20;
inline constexpr int kMaxCommandListLimit = 1000;
// ListAudit limits, likewise.
inline constexpr int kDefaultAuditListLimit = 100;
inline constexpr int kMaxAuditListLimit = 10000;

// CommandService on gRPC's callback API, for eroomctl.
//
// StartCommand records the command through ingest, then sends it on the
// host's live agent stream (`streams`), one command per host at a time.
// WatchCommand replays the stored progress, then streams each step as ingest
// stores it (this class observes ingest: register it as an IngestObserver)
// until the final one, or until the agent's stream ends (wire
// OnStreamEnded to the registry). CancelCommand sends a cancel beside the
// running command, outside the host's one-command reservation. Every
// StartCommand and CancelCommand request, refused ones too, is audited
// through ingest, as ingest audits every step it stores. ListCommands and
// ListAudit read on the query workers. Backup streams an online copy of
// the database made on `backups.workers` (StartBackupStream). No handler
// blocks a gRPC thread.
class CommandServiceImpl final
    : public eroom::monitor::v1::CommandService::CallbackService,
      public IngestObserver {
 public:
  CommandServiceImpl(IngestPipeline& ingest, Storage& storage,
                     WorkQueue& workers, Authorizer& authorizer,
                     const Clock& clock, AgentStreamRegistry& streams,
                     const BackupSource& backups);
  ~CommandServiceImpl() override;

  grpc::ServerUnaryReactor* StartCommand(
      grpc::CallbackServerContext* context,
      const eroom::monitor::v1::StartCommandRequest* request,
      eroom::monitor::v1::CommandRecord* response) override;
  grpc::ServerWriteReactor<eroom::monitor::v1::CommandProgress>* WatchCommand(
      grpc::CallbackServerContext* context,
      const eroom::monitor::v1::WatchCommandRequest* request) override;
  grpc::ServerUnaryReactor* ListCommands(
      grpc::CallbackServerContext* context,
      const eroom::monitor::v1::ListCommandsRequest* request,
      eroom::monitor::v1::ListCommandsResponse* response) override;
  grpc::ServerUnaryReactor* CancelCommand(
      grpc::CallbackServerContext* context,
      const eroom::monitor::v1::CancelCommandRequest* request,
      eroom::monitor::v1::CommandRecord* response) override;
  grpc::ServerUnaryReactor* ListAudit(
      grpc::CallbackServerContext* context,
      const eroom::monitor::v1::ListAuditRequest* request,
      eroom::monitor::v1::ListAuditResponse* response) override;
  grpc::ServerWriteReactor<eroom::monitor::v1::BackupChunk>* Backup(
      grpc::CallbackServerContext* context,
      const eroom::monitor::v1::BackupRequest* request) override;

  // Ends, with a FAILED step stored and audited through ingest, every
  // stored command that is not in a final state: no command survives a
  // collector restart, since the stream it was sent on did not. For
  // startup, once ingest runs and before agents connect; blocks on storage.
  absl::Status EndCommandsLeftByARestart();

  // Hands each stored step to the watches of its command.
  void OnStored(const StoredBatch& stored) override;

  // Command `command_id` was running on a stream of `agent_id` that ended
  // (AgentStreamRegistry's StreamEnded): ends its watches with UNAVAILABLE
  // and stores a final FAILED step through ingest. Never blocks.
  void OnStreamEnded(const std::string& agent_id,
                     const std::string& command_id);

  // One WatchCommand call, as the ingest thread and the query workers reach
  // it (defined in the .cc).
  class Watch;

 private:
  std::string NewCommandId();
  // Records `command` (its id assigned) for `agent_id` as requested by
  // `caller`, then sends it: on the host's reservation, or, `unreserved`,
  // beside whatever runs there. Audits the outcome and calls `done` with
  // the record or why it was refused, on the ingest thread.
  void RecordAndSend(
      const Caller& caller, const std::string& agent_id,
      const eroom::monitor::v1::Command& command, bool unreserved,
      std::function<void(absl::StatusOr<eroom::monitor::v1::CommandRecord>)>
          done);
  // Appends `record` to the audit trail through ingest.
  void Audit(eroom::monitor::v1::AuditRecord record);
  // Audits a refused request for `command` and returns `why`.
  absl::Status Refused(const std::string& actor, const std::string& agent_id,
                       const eroom::monitor::v1::Command& command,
                       absl::Status why);
  // Stores a final FAILED step of `command_id`, decided by the collector.
  void EndCommand(const std::string& agent_id, const std::string& command_id,
                  const std::string& why);
  void AddWatch(const std::string& command_id, std::shared_ptr<Watch> watch);
  void RemoveWatch(const std::string& command_id, const Watch* watch);
  std::vector<std::shared_ptr<Watch>> Watching(const std::string& command_id);

  IngestPipeline& ingest_;
  Storage& storage_;
  WorkQueue& workers_;
  Authorizer& authorizer_;
  const Clock& clock_;
  AgentStreamRegistry& streams_;
  const BackupSource backups_;

  absl::Mutex mu_;
  std::random_device random_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::vector<std::shared_ptr<Watch>>> watches_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace eroom::collector

#endif  // EROOM_COLLECTOR_COMMAND_SERVICE_H_
