#ifndef EROOM_COLLECTOR_STORAGE_H_
#define EROOM_COLLECTOR_STORAGE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "eroom/monitor/v1/monitor.pb.h"

namespace eroom::collector {

// Events one agent sent in one message.
struct AgentBatch {
  std::string agent_id;
  eroom::monitor::v1::EventBatch batch;
};

// Everything the collector keeps. SQLite is the embedded implementation; a
// PostgreSQL one will follow, so nothing above this interface may depend on
// how an implementation stores things.
//
// Threading: the write methods (RegisterAgent, MarkDisconnected,
// StoreBatches) are called from one thread, the ingest thread. The read
// methods may be called from any number of threads concurrently with it and
// never wait for a write transaction.
class Storage {
 public:
  virtual ~Storage() = default;

  // Records the agent (creating it on first contact) as connected, updates
  // hostname/version/labels, and returns the highest sequence stored for it
  // (0 if none).
  virtual absl::StatusOr<uint64_t> RegisterAgent(
      const eroom::monitor::v1::AgentHello& hello, absl::Time now) = 0;

  // Records the agent as disconnected at `now`. An agent never registered
  // has nothing to record: OK, no effect.
  virtual absl::Status MarkDisconnected(const std::string& agent_id,
                                        absl::Time now) = 0;

  // Stores all batches in one transaction. Events whose sequence is not
  // above the agent's stored sequence are skipped (idempotent redelivery).
  // Returns, per agent in `batches`, the highest sequence durably stored
  // once the transaction has committed.
  virtual absl::StatusOr<absl::flat_hash_map<std::string, uint64_t>>
  StoreBatches(const std::vector<AgentBatch>& batches, absl::Time now) = 0;

  // Records a command as requested. AlreadyExists if its id is taken.
  virtual absl::Status RecordCommand(
      const eroom::monitor::v1::CommandRecord& record) = 0;
  // Appends `progress` to its command and sets the command's state to the
  // progress's; NotFound unless the command exists and belongs to
  // `agent_id`.
  virtual absl::Status StoreCommandProgress(
      const std::string& agent_id,
      const eroom::monitor::v1::CommandProgress& progress) = 0;

  // Every host ordered by agent_id, or only request.agent_id's.
  virtual absl::StatusOr<eroom::monitor::v1::ListHostsResponse> ListHosts(
      const eroom::monitor::v1::ListHostsRequest& request) = 0;
  // Log events matching every filter given, newest first by the event's own
  // time; since/until bounds are inclusive. `contains` matches a substring
  // of the message literally, ignoring ASCII case (Korean has none). A
  // negative limit is InvalidArgument.
  virtual absl::StatusOr<eroom::monitor::v1::QueryLogsResponse> QueryLogs(
      const eroom::monitor::v1::QueryLogsRequest& request) = 0;
  // One series per (agent, labels) of metric request.name that has points
  // in [since, until], ordered by agent_id then labels; each holds its
  // newest `limit` points, oldest first. An empty name is InvalidArgument;
  // an unknown one is not an error: the response lists the known names.
  virtual absl::StatusOr<eroom::monitor::v1::QueryMetricsResponse> QueryMetrics(
      const eroom::monitor::v1::QueryMetricsRequest& request) = 0;
  // The command with all its progress, oldest first; NotFound if unknown.
  virtual absl::StatusOr<eroom::monitor::v1::CommandRecord> GetCommand(
      const std::string& command_id) = 0;
  // Commands newest first, every host's or only request.agent_id's, at most
  // request.limit (positive: the caller applied its policy).
  virtual absl::StatusOr<eroom::monitor::v1::ListCommandsResponse> ListCommands(
      const eroom::monitor::v1::ListCommandsRequest& request) = 0;
};

// Query limits every implementation applies: a request's limit of 0 means
// the default, larger ones are capped at the maximum.
inline constexpr int kDefaultLogLimit = 100;
inline constexpr int kMaxLogLimit = 10000;
inline constexpr int kDefaultMetricPointLimit = 10000;  // Per series.
inline constexpr int kMaxMetricPointLimit = 100000;

struct SqliteOptions {
  std::string path;  // Database file; created with its directory if missing.
  // How long a few new log events may wait to be indexed together with
  // more (searches scan them meanwhile): each index round has a fixed cost.
  absl::Duration search_index_delay = absl::Seconds(1);
};

// Opens (creating or migrating) the SQLite store. Every host is marked
// disconnected on open, since no stream survives a collector restart.
absl::StatusOr<std::unique_ptr<Storage>> OpenSqliteStorage(
    const SqliteOptions& options);

}  // namespace eroom::collector

#endif  // EROOM_COLLECTOR_STORAGE_H_
