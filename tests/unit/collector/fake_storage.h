#ifndef EROOM_TESTS_UNIT_COLLECTOR_FAKE_STORAGE_H_
#define EROOM_TESTS_UNIT_COLLECTOR_FAKE_STORAGE_H_

#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "collector/storage.h"

namespace eroom::collector {

// Storage that remembers what it was asked to do, in memory.
class FakeStorage final : public Storage {
 public:
  absl::StatusOr<uint64_t> RegisterAgent(
      const eroom::monitor::v1::AgentHello& hello, absl::Time) override {
    absl::MutexLock lock(&mu_);
    registered_.push_back(hello.agent_id());
    return stored_through_[hello.agent_id()];
  }
  absl::Status MarkDisconnected(const std::string& agent_id,
                                absl::Time) override {
    absl::MutexLock lock(&mu_);
    disconnected_.push_back(agent_id);
    return absl::OkStatus();
  }
  absl::StatusOr<absl::flat_hash_map<std::string, uint64_t>> StoreBatches(
      const std::vector<AgentBatch>& batches, absl::Time) override {
    absl::MutexLock lock(&mu_);
    if (!fail_with_.ok()) return fail_with_;
    ++transactions_;
    absl::flat_hash_map<std::string, uint64_t> result;
    for (const AgentBatch& batch : batches) {
      uint64_t& through = stored_through_[batch.agent_id];
      for (const auto& event : batch.batch.events()) {
        if (event.sequence() <= through) continue;
        through = event.sequence();
        ++events_;
      }
      result[batch.agent_id] = through;
    }
    return result;
  }
  absl::Status RecordCommand(
      const eroom::monitor::v1::CommandRecord& record) override {
    absl::MutexLock lock(&mu_);
    if (!fail_with_.ok()) return fail_with_;
    for (const auto& command : commands_) {
      if (command.command_id() == record.command_id()) {
        return absl::AlreadyExistsError(record.command_id());
      }
    }
    commands_.push_back(record);
    return absl::OkStatus();
  }
  absl::Status StoreCommandProgress(
      const std::string& agent_id,
      const eroom::monitor::v1::CommandProgress& progress) override {
    absl::MutexLock lock(&mu_);
    for (auto& command : commands_) {
      if (command.command_id() == progress.command_id() &&
          command.agent_id() == agent_id) {
        command.set_state(progress.state());
        *command.add_progress() = progress;
        return absl::OkStatus();
      }
    }
    return absl::NotFoundError(progress.command_id());
  }
  absl::StatusOr<eroom::monitor::v1::ListHostsResponse> ListHosts(
      const eroom::monitor::v1::ListHostsRequest&) override {
    absl::MutexLock lock(&mu_);
    return hosts_;
  }
  absl::StatusOr<eroom::monitor::v1::QueryLogsResponse> QueryLogs(
      const eroom::monitor::v1::QueryLogsRequest&) override {
    return eroom::monitor::v1::QueryLogsResponse();
  }
  absl::StatusOr<eroom::monitor::v1::QueryMetricsResponse> QueryMetrics(
      const eroom::monitor::v1::QueryMetricsRequest&) override {
    return eroom::monitor::v1::QueryMetricsResponse();
  }
  absl::StatusOr<eroom::monitor::v1::CommandRecord> GetCommand(
      const std::string& command_id) override {
    absl::MutexLock lock(&mu_);
    for (const auto& command : commands_) {
      if (command.command_id() == command_id) return command;
    }
    return absl::NotFoundError(command_id);
  }
  // Newest first is the reverse of recording order here.
  absl::StatusOr<eroom::monitor::v1::ListCommandsResponse> ListCommands(
      const eroom::monitor::v1::ListCommandsRequest& request) override {
    absl::MutexLock lock(&mu_);
    list_commands_requests_.push_back(request);
    eroom::monitor::v1::ListCommandsResponse response;
    for (auto it = commands_.rbegin();
         it != commands_.rend() && response.commands_size() < request.limit();
         ++it) {
      if (request.agent_id().empty() || it->agent_id() == request.agent_id()) {
        *response.add_commands() = *it;
      }
    }
    return response;
  }

  void SetHosts(eroom::monitor::v1::ListHostsResponse hosts) {
    absl::MutexLock lock(&mu_);
    hosts_ = std::move(hosts);
  }
  void FailWith(absl::Status status) {
    absl::MutexLock lock(&mu_);
    fail_with_ = std::move(status);
  }
  void SetStoredThrough(const std::string& agent_id, uint64_t sequence) {
    absl::MutexLock lock(&mu_);
    stored_through_[agent_id] = sequence;
  }
  int transactions() const {
    absl::MutexLock lock(&mu_);
    return transactions_;
  }
  uint64_t events() const {
    absl::MutexLock lock(&mu_);
    return events_;
  }
  std::vector<std::string> registered() const {
    absl::MutexLock lock(&mu_);
    return registered_;
  }
  std::vector<std::string> disconnected() const {
    absl::MutexLock lock(&mu_);
    return disconnected_;
  }
  std::vector<eroom::monitor::v1::CommandRecord> commands() const {
    absl::MutexLock lock(&mu_);
    return commands_;
  }
  std::vector<eroom::monitor::v1::ListCommandsRequest> list_commands_requests()
      const {
    absl::MutexLock lock(&mu_);
    return list_commands_requests_;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Status fail_with_ ABSL_GUARDED_BY(mu_);
  eroom::monitor::v1::ListHostsResponse hosts_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, uint64_t> stored_through_
      ABSL_GUARDED_BY(mu_);
  int transactions_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t events_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::string> registered_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> disconnected_ ABSL_GUARDED_BY(mu_);
  std::vector<eroom::monitor::v1::CommandRecord> commands_ ABSL_GUARDED_BY(mu_);
  std::vector<eroom::monitor::v1::ListCommandsRequest> list_commands_requests_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace eroom::collector

#endif  // EROOM_TESTS_UNIT_COLLECTOR_FAKE_STORAGE_H_
