#ifndef EROOM_TESTS_UNIT_COLLECTOR_FAKE_STORAGE_H_
#define EROOM_TESTS_UNIT_COLLECTOR_FAKE_STORAGE_H_

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "collector/alerting/message_shape.h"
#include "collector/log_filter.h"
#include "collector/log_page.h"
#include "collector/log_resume_point.h"
#include "collector/metric_rollups.h"
#include "collector/room_timeline.h"
#include "collector/storage.h"
#include "common/status_macros.h"

namespace eroom::collector {

// Storage in memory that keeps what it is given by the contract of
// collector/storage.h (the conformance suite holds it to that, like the
// SQLite backend), for tests of what sits above storage. It decides
// nothing ingest decides: it stores the events it is handed.
class FakeStorage final : public Storage {
 public:
  FakeStorage() : data_(std::make_shared<Data>()) {}

  // Another FakeStorage over the same data, as a restarted collector opens
  // its store: every host is disconnected.
  std::unique_ptr<FakeStorage> Reopen() const {
    return std::unique_ptr<FakeStorage>(new FakeStorage(data_));
  }

  // Every later write fails with `status` (OK: succeeds again).
  void FailWith(absl::Status status) {
    absl::MutexLock lock(&data_->mu);
    data_->fail_with = std::move(status);
  }
  // As if events through `sequence` of the agent had been stored.
  void SetStoredThrough(const std::string& agent_id, uint64_t sequence) {
    absl::MutexLock lock(&data_->mu);
    FindOrAddHost(agent_id, absl::UnixEpoch()).set_last_sequence(sequence);
  }
  // Stored batches applied, and the events they held.
  int transactions() const {
    absl::MutexLock lock(&data_->mu);
    return data_->transactions;
  }
  uint64_t events() const {
    absl::MutexLock lock(&data_->mu);
    return data_->events;
  }
  // The log events stored, in order.
  std::vector<eroom::monitor::v1::LogEvent> logs() const {
    absl::MutexLock lock(&data_->mu);
    std::vector<eroom::monitor::v1::LogEvent> logs;
    for (const StoredLog& log : data_->logs) logs.push_back(log.stored.event());
    return logs;
  }
  // Agents registered and marked disconnected, in call order.
  std::vector<std::string> registered() const {
    absl::MutexLock lock(&data_->mu);
    return data_->registered;
  }
  // RegisterAgents calls that recorded agents.
  int registrations() const {
    absl::MutexLock lock(&data_->mu);
    return data_->registrations;
  }
  // Every command recorded, in the order recorded, with its progress.
  std::vector<eroom::monitor::v1::CommandRecord> commands() const {
    absl::MutexLock lock(&data_->mu);
    return data_->commands;
  }
  // The ListCommands requests received, as the caller's policy left them.
  std::vector<eroom::monitor::v1::ListCommandsRequest> list_commands_requests()
      const {
    absl::MutexLock lock(&data_->mu);
    return data_->list_commands_requests;
  }
  std::vector<std::string> disconnected() const {
    absl::MutexLock lock(&data_->mu);
    return data_->disconnected;
  }
  // Every later QueryLogs runs `slow_part` with its check before it reads,
  // and stops if the check then says so: a query that takes time.
  void SetSlowLogQuery(std::function<void(const QueryCheck&)> slow_part) {
    absl::MutexLock lock(&data_->mu);
    data_->slow_log_query = std::move(slow_part);
  }

  absl::StatusOr<std::vector<uint64_t>> RegisterAgents(
      absl::Span<const eroom::monitor::v1::AgentHello* const> hellos,
      absl::Time now) override {
    for (const eroom::monitor::v1::AgentHello* hello : hellos) {
      if (hello->agent_id().empty()) {
        return absl::InvalidArgumentError("hello without agent_id");
      }
    }
    absl::MutexLock lock(&data_->mu);
    if (!data_->fail_with.ok()) return data_->fail_with;
    ++data_->registrations;
    std::vector<uint64_t> last;
    for (const eroom::monitor::v1::AgentHello* hello : hellos) {
      eroom::monitor::v1::HostStatus& host =
          FindOrAddHost(hello->agent_id(), now);
      host.set_hostname(hello->hostname());
      host.set_version(hello->version());
      *host.mutable_labels() = hello->labels();
      host.set_connected(true);
      host.set_last_seen_unix_ms(absl::ToUnixMillis(now));
      data_->registered.push_back(hello->agent_id());
      last.push_back(host.last_sequence());
    }
    return last;
  }

  absl::Status MarkDisconnected(const std::string& agent_id,
                                absl::Time now) override {
    absl::MutexLock lock(&data_->mu);
    if (!data_->fail_with.ok()) return data_->fail_with;
    data_->disconnected.push_back(agent_id);
    auto it = data_->hosts.find(agent_id);
    if (it == data_->hosts.end()) return absl::OkStatus();
    it->second.set_connected(false);
    it->second.set_last_seen_unix_ms(absl::ToUnixMillis(now));
    return absl::OkStatus();
  }

  absl::StatusOr<uint64_t> LastStoredSequence(
      const std::string& agent_id) override {
    absl::MutexLock lock(&data_->mu);
    if (!data_->fail_with.ok()) return data_->fail_with;
    auto it = data_->hosts.find(agent_id);
    return it == data_->hosts.end() ? 0 : it->second.last_sequence();
  }

  absl::Status Apply(const StoredBatch& batch) override {
    absl::MutexLock lock(&data_->mu);
    if (!data_->fail_with.ok()) return data_->fail_with;
    // All checks first: a batch is stored whole or not at all.
    EROOM_RETURN_IF_ERROR(RequireAgentIds(batch));
    for (const StoredCommandProgress& progress : batch.command_progress) {
      if (!data_->command_index.contains(progress.progress.command_id())) {
        return absl::FailedPreconditionError(
            absl::StrCat("progress of unknown command '",
                         progress.progress.command_id(), "'"));
      }
    }
    ++data_->transactions;
    for (const HostProgress& progress : batch.hosts) {
      eroom::monitor::v1::HostStatus& host =
          FindOrAddHost(progress.agent_id, batch.received);
      host.set_last_sequence(progress.last_sequence);
      host.set_last_seen_unix_ms(absl::ToUnixMillis(progress.last_seen));
      if (progress.latest_sample) {
        *host.mutable_latest_sample() = *progress.latest_sample;
      }
      if (progress.latest_health) {
        *host.mutable_latest_health() = *progress.latest_health;
      }
      if (progress.latest_queue) {
        *host.mutable_latest_queue() = *progress.latest_queue;
      }
    }
    for (const AgentBatch& agent_batch : batch.batches) {
      for (const eroom::monitor::v1::Event& event :
           agent_batch.batch->events()) {
        ++data_->events;
        if (!event.has_log()) continue;
        StoredLog& log = data_->logs.emplace_back();
        log.id = ++data_->last_log_id;
        eroom::monitor::v1::StoredLogEvent& stored = log.stored;
        stored.set_agent_id(agent_batch.agent_id);
        stored.set_sequence(event.sequence());
        stored.set_received_unix_ms(absl::ToUnixMillis(batch.received));
        *stored.mutable_event() = event.log();
      }
    }
    for (const DerivedMetrics& metrics : batch.metrics) {
      for (const MetricValue& value : metrics.values) {
        const SeriesKey key{metrics.agent_id, value.name, value.labels};
        data_->series[key].push_back(
            Point{metrics.time_unix_ms, metrics.sequence, value.value});
        const Rollup point{1, value.value, value.value, value.value};
        auto [minute, added] = data_->rollups[key].try_emplace(
            RollupMinute(metrics.time_unix_ms), point);
        if (!added) minute->second.Add(point);
      }
    }
    for (const StoredCommandProgress& progress : batch.command_progress) {
      eroom::monitor::v1::CommandRecord& command =
          data_->commands[data_->command_index[progress.progress.command_id()]];
      *command.add_progress() = progress.progress;
      command.set_state(progress.progress.state());
    }
    // The contract's row bound is far beyond what tests write.
    data_->audit.insert(data_->audit.end(), batch.audit.begin(),
                        batch.audit.end());
    return absl::OkStatus();
  }

  // Keeps no probes or notices, so never removes any.
  absl::StatusOr<RetentionCounts> DeleteExpired(const RetentionPolicy& policy,
                                                absl::Time now,
                                                int64_t max_rows) override {
    if (max_rows <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("max_rows must be positive, got ", max_rows));
    }
    absl::MutexLock lock(&data_->mu);
    if (!data_->fail_with.ok()) return data_->fail_with;
    auto before = [now](absl::Duration kept) {
      return absl::ToUnixMillis(now - kept);
    };
    int64_t budget = max_rows;
    RetentionCounts counts;
    if (!data_->logs.empty()) {
      StoredLog newest = std::move(data_->logs.back());
      data_->logs.pop_back();
      counts.logs = EraseOldest(data_->logs, before(policy.logs), budget,
                                [](const StoredLog& log) {
                                  return log.stored.event().time_unix_ms();
                                });
      data_->logs.push_back(std::move(newest));
    }
    for (auto& entry : data_->series) {
      counts.samples +=
          EraseOldest(entry.second, before(policy.samples), budget,
                      [](const Point& point) { return point.time_ms; });
    }
    for (auto& [key, minutes] : data_->rollups) {
      while (budget > 0 && !minutes.empty() &&
             minutes.begin()->first < before(policy.rollups)) {
        minutes.erase(minutes.begin());
        --budget;
        ++counts.rollups;
      }
    }
    counts.commands =
        EraseOldest(data_->commands, before(policy.commands), budget,
                    [](const eroom::monitor::v1::CommandRecord& command) {
                      return command.requested_unix_ms();
                    });
    data_->command_index.clear();
    for (size_t i = 0; i < data_->commands.size(); ++i) {
      data_->command_index[data_->commands[i].command_id()] = i;
    }
    counts.audit =
        EraseOldest(data_->audit, before(policy.audit), budget,
                    [](const eroom::monitor::v1::AuditRecord& record) {
                      return record.time_unix_ms();
                    });
    return counts;
  }

  absl::Status RecordCommand(
      const eroom::monitor::v1::CommandRecord& command) override {
    if (command.command_id().empty() || command.agent_id().empty()) {
      return absl::InvalidArgumentError(
          "command without command_id or agent_id");
    }
    absl::MutexLock lock(&data_->mu);
    if (!data_->fail_with.ok()) return data_->fail_with;
    if (!data_->command_index
             .try_emplace(command.command_id(), data_->commands.size())
             .second) {
      return absl::AlreadyExistsError(absl::StrCat(
          "command '", command.command_id(), "' is already recorded"));
    }
    data_->commands.push_back(command);
    data_->commands.back().clear_progress();
    return absl::OkStatus();
  }

  absl::StatusOr<eroom::monitor::v1::CommandRecord> RecordedCommand(
      const std::string& command_id) override {
    absl::MutexLock lock(&data_->mu);
    if (!data_->fail_with.ok()) return data_->fail_with;
    auto it = data_->command_index.find(command_id);
    if (it == data_->command_index.end()) return UnknownCommand(command_id);
    eroom::monitor::v1::CommandRecord record = data_->commands[it->second];
    record.clear_progress();
    return record;
  }

  absl::StatusOr<eroom::monitor::v1::ListHostsResponse> ListHosts(
      const eroom::monitor::v1::ListHostsRequest& request) override {
    absl::MutexLock lock(&data_->mu);
    eroom::monitor::v1::ListHostsResponse response;
    for (const auto& [agent_id, host] : data_->hosts) {
      if (request.agent_id().empty() || request.agent_id() == agent_id) {
        *response.add_hosts() = host;
      }
    }
    return response;
  }

  absl::StatusOr<eroom::monitor::v1::QueryLogsResponse> QueryLogs(
      const eroom::monitor::v1::QueryLogsRequest& request,
      const QueryCheck& check) override {
    if (absl::Status limit = CheckLimit(request.limit()); !limit.ok()) {
      return limit;
    }
    std::function<void(const QueryCheck&)> slow_part;
    {
      absl::MutexLock lock(&data_->mu);
      slow_part = data_->slow_log_query;
    }
    if (slow_part) {
      slow_part(check);
      if (check) EROOM_RETURN_IF_ERROR(check());
    }
    EROOM_ASSIGN_OR_RETURN(const LogFilter filter, LogFilter::Compile(request));
    absl::MutexLock lock(&data_->mu);
    // (position, index into logs) of the matching events.
    std::vector<std::pair<LogCursor, size_t>> matching;
    for (size_t i = 0; i < data_->logs.size(); ++i) {
      const auto& [id, stored] = data_->logs[i];
      const LogCursor position{stored.event().time_unix_ms(), id};
      if (filter.Matches(stored) &&
          (!filter.before() || position.IsAfter(*filter.before()))) {
        matching.emplace_back(position, i);
      }
    }
    std::sort(
        matching.begin(), matching.end(),
        [](const auto& a, const auto& b) { return b.first.IsAfter(a.first); });
    LogPageBuilder page(request.limit(), request.context(),
                        [&](const eroom::monitor::v1::StoredLogEvent& match,
                            int count, bool older)
                            ABSL_NO_THREAD_SAFETY_ANALYSIS {
                              return LogContext(match, count, older);
                            });
    for (const auto& [position, index] : matching) {
      if (!page.Add(data_->logs[index].stored, position)) break;
    }
    return std::move(page).Finish();
  }

  absl::StatusOr<LogEventPage> StoredLogEvents(
      const LogFilter& filter, const LogEventRange& range,
      const QueryCheck& check) override {
    EROOM_RETURN_IF_ERROR(CheckLimit(range.limit));
    if (check) EROOM_RETURN_IF_ERROR(check());
    absl::MutexLock lock(&data_->mu);
    LogEventPage page;
    page.through = std::min(range.through, data_->last_log_id);
    std::vector<const StoredLog*> matching;
    for (const StoredLog& log : data_->logs) {
      if (log.id > range.after && log.id <= page.through &&
          filter.Matches(log.stored)) {
        matching.push_back(&log);
      }
    }
    const size_t limit = static_cast<size_t>(range.limit);
    if (matching.size() > limit) {
      if (range.newest) {
        matching.erase(matching.begin(), matching.end() - limit);
      } else {
        matching.resize(limit);
        page.through = matching.back()->id;
      }
    }
    for (const StoredLog* log : matching) page.events.push_back(log->stored);
    return page;
  }

  absl::StatusOr<LogResume> FollowResume(
      const std::vector<eroom::monitor::v1::LogPosition>& hosts,
      int64_t received_unix_ms, const QueryCheck& check) override {
    if (check) EROOM_RETURN_IF_ERROR(check());
    absl::MutexLock lock(&data_->mu);
    std::map<std::string, uint64_t> after;
    for (const eroom::monitor::v1::LogPosition& host : hosts) {
      after[host.agent_id()] = host.sequence();
    }
    LogResume resume{.after = data_->last_log_id, .newest = data_->last_log_id};
    for (const auto& [id, stored] : data_->logs) {
      auto host = after.find(stored.agent_id());
      if (host == after.end() ? stored.received_unix_ms() >= received_unix_ms
                              : stored.sequence() > host->second) {
        resume.after = std::min(resume.after, id - 1);
      }
    }
    return resume;
  }

  absl::StatusOr<eroom::monitor::v1::QueryMetricsResponse> QueryMetrics(
      const eroom::monitor::v1::QueryMetricsRequest& request) override {
    if (absl::Status limit = CheckLimit(request.limit()); !limit.ok()) {
      return limit;
    }
    absl::MutexLock lock(&data_->mu);
    const int64_t since = request.since_unix_ms() != 0
                              ? request.since_unix_ms()
                              : std::numeric_limits<int64_t>::min();
    const int64_t until = request.until_unix_ms() != 0
                              ? request.until_unix_ms()
                              : std::numeric_limits<int64_t>::max();
    const int64_t step = request.step_ms();
    eroom::monitor::v1::QueryMetricsResponse response;
    for (const auto& [key, stored_points] : data_->series) {
      const auto& [agent_id, name, labels] = key;
      if (name != request.name() ||
          (!request.agent_id().empty() && agent_id != request.agent_id())) {
        continue;
      }
      std::optional<int64_t> oldest_point;
      for (const Point& point : stored_points) {
        if (!oldest_point.has_value() || point.time_ms < *oldest_point) {
          oldest_point = point.time_ms;
        }
      }
      const MetricSources sources =
          ChooseMetricSources(since, until, step, oldest_point);
      // Points and rolled-up minutes alike, a minute before its points.
      struct Entry {
        int64_t time_ms;
        int64_t sequence;
        Rollup rollup;
        bool rolled_up;
      };
      std::vector<Entry> entries;
      for (const Point& point : stored_points) {
        if ((point.time_ms >= since &&
             point.time_ms <= sources.points_head_until) ||
            (point.time_ms >= sources.points_tail_from &&
             point.time_ms <= until)) {
          entries.push_back(
              Entry{point.time_ms, static_cast<int64_t>(point.sequence),
                    Rollup{1, point.value, point.value, point.value}, false});
        }
      }
      for (const auto& [minute, rollup] : data_->rollups[key]) {
        if (minute >= sources.rollups_from && minute < sources.rollups_until) {
          entries.push_back(Entry{minute, -1, rollup, true});
        }
      }
      if (entries.empty()) continue;
      std::sort(entries.begin(), entries.end(),
                [](const Entry& a, const Entry& b) {
                  return std::tie(a.time_ms, a.sequence) <
                         std::tie(b.time_ms, b.sequence);
                });
      std::vector<eroom::monitor::v1::MetricPoint> out;
      std::vector<Rollup> totals;  // Of each point of `out`.
      for (const Entry& entry : entries) {
        const int64_t time =
            step > 0 ? entry.time_ms / step * step : entry.time_ms;
        if (step > 0 && !out.empty() && out.back().time_unix_ms() == time) {
          totals.back().Add(entry.rollup);
          continue;
        }
        out.emplace_back().set_time_unix_ms(time);
        totals.push_back(entry.rollup);
        if (step == 0 && !entry.rolled_up) totals.back().count = 0;
      }
      const size_t keep = std::min(out.size(), size_t(request.limit()));
      eroom::monitor::v1::MetricSeries* series = response.add_series();
      series->set_agent_id(agent_id);
      series->set_name(name);
      series->mutable_labels()->insert(labels.begin(), labels.end());
      for (size_t i = out.size() - keep; i < out.size(); ++i) {
        const Rollup& total = totals[i];
        if (total.count == 0) {  // A point as stored.
          out[i].set_value(total.sum);
        } else {
          out[i].set_value(total.sum / total.count);
          out[i].set_count(total.count);
          out[i].set_min(total.min);
          out[i].set_max(total.max);
        }
        *series->add_points() = std::move(out[i]);
      }
    }
    return response;
  }

  absl::StatusOr<eroom::monitor::v1::CommandRecord> GetCommand(
      const std::string& command_id) override {
    absl::MutexLock lock(&data_->mu);
    auto it = data_->command_index.find(command_id);
    if (it == data_->command_index.end()) return UnknownCommand(command_id);
    return data_->commands[it->second];
  }

  absl::StatusOr<eroom::monitor::v1::ListCommandsResponse> ListCommands(
      const eroom::monitor::v1::ListCommandsRequest& request) override {
    if (absl::Status limit = CheckLimit(request.limit()); !limit.ok()) {
      return limit;
    }
    absl::MutexLock lock(&data_->mu);
    data_->list_commands_requests.push_back(request);
    // (request time, index into commands) of the matching commands.
    std::vector<std::pair<int64_t, size_t>> matching;
    for (size_t i = 0; i < data_->commands.size(); ++i) {
      if (request.agent_id().empty() ||
          data_->commands[i].agent_id() == request.agent_id()) {
        matching.emplace_back(data_->commands[i].requested_unix_ms(), i);
      }
    }
    // Newest requested first, then the newest recorded first.
    std::sort(matching.begin(), matching.end(), std::greater<>());
    eroom::monitor::v1::ListCommandsResponse response;
    for (size_t i = 0;
         i < matching.size() && i < static_cast<size_t>(request.limit()); ++i) {
      *response.add_commands() = data_->commands[matching[i].second];
    }
    return response;
  }

  absl::StatusOr<std::vector<eroom::monitor::v1::CommandRecord>>
  UnfinishedCommands() override {
    absl::MutexLock lock(&data_->mu);
    std::vector<eroom::monitor::v1::CommandRecord> unfinished;
    for (const eroom::monitor::v1::CommandRecord& command : data_->commands) {
      const eroom::monitor::v1::CommandState state = command.state();
      if (state == eroom::monitor::v1::SUCCEEDED ||
          state == eroom::monitor::v1::FAILED ||
          state == eroom::monitor::v1::REJECTED) {
        continue;
      }
      unfinished.push_back(command);
      unfinished.back().clear_progress();
    }
    std::stable_sort(unfinished.begin(), unfinished.end(),
                     [](const auto& a, const auto& b) {
                       return a.requested_unix_ms() < b.requested_unix_ms();
                     });
    return unfinished;
  }

  absl::StatusOr<eroom::monitor::v1::ListAuditResponse> ListAudit(
      const eroom::monitor::v1::ListAuditRequest& request) override {
    if (absl::Status limit = CheckLimit(request.limit()); !limit.ok()) {
      return limit;
    }
    absl::MutexLock lock(&data_->mu);
    // (time, index into audit) of the matching records.
    std::vector<std::pair<int64_t, size_t>> matching;
    for (size_t i = 0; i < data_->audit.size(); ++i) {
      const eroom::monitor::v1::AuditRecord& record = data_->audit[i];
      if ((request.agent_id().empty() ||
           record.agent_id() == request.agent_id()) &&
          record.time_unix_ms() >= request.since_unix_ms()) {
        matching.emplace_back(record.time_unix_ms(), i);
      }
    }
    // Newest first, then the newest stored first.
    std::sort(matching.begin(), matching.end(), std::greater<>());
    eroom::monitor::v1::ListAuditResponse response;
    for (size_t i = 0;
         i < matching.size() && i < static_cast<size_t>(request.limit()); ++i) {
      *response.add_records() = data_->audit[matching[i].second];
    }
    return response;
  }

  absl::StatusOr<std::vector<eroom::monitor::v1::LogResumePoint>>
  LogResumePoints(const std::string& agent_id) override {
    absl::MutexLock lock(&data_->mu);
    std::map<std::string, const eroom::monitor::v1::StoredLogEvent*> last;
    for (const auto& [id, stored] : data_->logs) {
      if (stored.agent_id() != agent_id) continue;
      const eroom::monitor::v1::StoredLogEvent*& file_last =
          last[stored.event().file()];
      if (file_last == nullptr || stored.sequence() > file_last->sequence()) {
        file_last = &stored;
      }
    }
    std::vector<eroom::monitor::v1::LogResumePoint> points;
    for (const auto& [file, stored] : last) {
      points.push_back(LogResumePointOf(stored->event()));
    }
    return points;
  }

  absl::StatusOr<eroom::monitor::v1::ListRoomsResponse> ListRooms(
      const eroom::monitor::v1::ListRoomsRequest& request,
      absl::Time now) override {
    EROOM_RETURN_IF_ERROR(CheckLimit(request.limit()));
    const int64_t until_ms = request.until_unix_ms() != 0
                                 ? request.until_unix_ms()
                                 : absl::ToUnixMillis(now);
    std::vector<eroom::monitor::v1::RoomRecord> rooms;
    {
      absl::MutexLock lock(&data_->mu);
      for (auto& [key, room] : Rooms()) {
        DecideSlow(now, room);
        if (RoomMatches(request, until_ms, room)) rooms.push_back(room);
      }
    }
    std::sort(rooms.begin(), rooms.end(), NewerRoomFirst);
    eroom::monitor::v1::ListRoomsResponse response;
    for (size_t i = 0;
         i < rooms.size() && i < static_cast<size_t>(request.limit()); ++i) {
      *response.add_rooms() = rooms[i];
    }
    return response;
  }

  absl::StatusOr<eroom::monitor::v1::GetRoomResponse> GetRoom(
      const eroom::monitor::v1::GetRoomRequest& request, int32_t event_limit,
      absl::Time now) override {
    EROOM_RETURN_IF_ERROR(CheckLimit(event_limit));
    eroom::monitor::v1::QueryLogsRequest naming;
    naming.set_agent_id(request.agent_id());
    naming.set_ruid(request.ruid());
    naming.set_limit(1);
    if (request.ruid().empty()) return UnknownRoom(request);
    EROOM_ASSIGN_OR_RETURN(eroom::monitor::v1::QueryLogsResponse newest,
                           QueryLogs(naming, {}));
    if (newest.events().empty()) return UnknownRoom(request);
    const std::string agent_id = newest.events(0).agent_id();
    eroom::monitor::v1::GetRoomResponse response;
    {
      absl::MutexLock lock(&data_->mu);
      std::map<std::pair<std::string, std::string>,
               eroom::monitor::v1::RoomRecord>
          rooms = Rooms();
      auto it = rooms.find({agent_id, request.ruid()});
      if (it != rooms.end()) {
        *response.mutable_room() = it->second;
        DecideSlow(now, *response.mutable_room());
      } else {
        response.mutable_room()->set_agent_id(agent_id);
        response.mutable_room()->set_ruid(request.ruid());
      }
    }
    naming.set_agent_id(agent_id);
    naming.set_limit(event_limit);
    EROOM_ASSIGN_OR_RETURN(eroom::monitor::v1::QueryLogsResponse events,
                           QueryLogs(naming, {}));
    for (auto it = events.events().rbegin(); it != events.events().rend();
         ++it) {
      *response.add_events() = *it;
    }
    return response;
  }

  absl::StatusOr<std::vector<HostDayActivity>> DayActivity(
      const std::vector<std::string>& agent_ids, absl::Time start,
      absl::Time end) override {
    const int64_t start_ms = absl::ToUnixMillis(start);
    const int64_t end_ms = absl::ToUnixMillis(end);
    auto in_day = [&](int64_t time) {
      return time != 0 && time >= start_ms && time < end_ms;
    };
    absl::MutexLock lock(&data_->mu);
    std::map<std::string, HostDayActivity> hosts;
    auto host = [&](const std::string& agent_id) -> HostDayActivity* {
      if (!agent_ids.empty() && std::find(agent_ids.begin(), agent_ids.end(),
                                          agent_id) == agent_ids.end()) {
        return nullptr;
      }
      HostDayActivity& activity = hosts[agent_id];
      activity.agent_id = agent_id;
      return &activity;
    };
    for (const auto& [key, room] : Rooms()) {
      if (in_day(room.requested_unix_ms())) {
        if (HostDayActivity* activity = host(room.agent_id())) {
          ++activity->room_requests;
        }
      }
      if (in_day(room.finished_unix_ms())) {
        if (HostDayActivity* activity = host(room.agent_id())) {
          activity->ended_rooms.push_back(room);  // Rooms() is by ruid.
        }
      }
    }
    std::map<std::pair<std::string, std::string>, HostDayActivity::ErrorShape>
        shapes;
    for (const auto& [id, stored] : data_->logs) {
      const eroom::monitor::v1::LogEvent& log = stored.event();
      if (!in_day(log.time_unix_ms())) continue;
      const bool error = log.level() == eroom::monitor::v1::ERROR;
      const bool warn = log.level() == eroom::monitor::v1::WARN;
      if (!error && !warn && !IsServerStart(log)) continue;
      HostDayActivity* activity = host(stored.agent_id());
      if (activity == nullptr) continue;
      if (error) {
        ++activity->error_lines;
        const std::string shape = alerting::MessageShape(log.message());
        const std::string line =
            log.message().substr(0, log.message().find('\n'));
        HostDayActivity::ErrorShape& error = shapes[{stored.agent_id(), shape}];
        if (error.count == 0 || line < error.example) error.example = line;
        error.shape = shape;
        ++error.count;
      }
      if (warn) ++activity->warn_lines;
      if (IsServerStart(log)) ++activity->server_starts;
    }
    for (const auto& [key, error] : shapes) {
      hosts[key.first].error_shapes.push_back(error);
    }
    for (const auto& [agent_id, status] : data_->hosts) {
      const bool seen = status.first_seen_unix_ms() < end_ms &&
                        status.last_seen_unix_ms() >= start_ms;
      if (!seen && !hosts.contains(agent_id)) continue;
      if (HostDayActivity* activity = host(agent_id)) {
        activity->hostname = status.hostname();
      }
    }
    std::vector<HostDayActivity> activities;
    for (auto& [agent_id, activity] : hosts) {
      activities.push_back(std::move(activity));
    }
    return activities;
  }

 private:
  using SeriesKey =
      std::tuple<std::string, std::string, std::map<std::string, std::string>>;
  struct Point {
    int64_t time_ms;
    uint64_t sequence;
    double value;
  };
  // A log event with its place in the storing order (LogCursor::id).
  struct StoredLog {
    int64_t id = 0;
    eroom::monitor::v1::StoredLogEvent stored;
  };
  struct Rollup {
    int64_t count;
    double sum;
    double min;
    double max;
    void Add(const Rollup& other) {
      count += other.count;
      sum += other.sum;
      min = std::min(min, other.min);
      max = std::max(max, other.max);
    }
  };
  struct Data {
    mutable absl::Mutex mu;
    absl::Status fail_with ABSL_GUARDED_BY(mu);
    std::map<std::string, eroom::monitor::v1::HostStatus> hosts
        ABSL_GUARDED_BY(mu);
    std::vector<StoredLog> logs ABSL_GUARDED_BY(mu);  // In storing order.
    int64_t last_log_id ABSL_GUARDED_BY(mu) = 0;
    std::map<SeriesKey, std::vector<Point>> series ABSL_GUARDED_BY(mu);
    // By minute.
    std::map<SeriesKey, std::map<int64_t, Rollup>> rollups ABSL_GUARDED_BY(mu);
    std::vector<eroom::monitor::v1::CommandRecord> commands ABSL_GUARDED_BY(mu);
    absl::flat_hash_map<std::string, size_t> command_index ABSL_GUARDED_BY(mu);
    std::vector<eroom::monitor::v1::AuditRecord> audit ABSL_GUARDED_BY(mu);
    int transactions ABSL_GUARDED_BY(mu) = 0;
    uint64_t events ABSL_GUARDED_BY(mu) = 0;
    std::vector<std::string> registered ABSL_GUARDED_BY(mu);
    int registrations ABSL_GUARDED_BY(mu) = 0;
    std::vector<std::string> disconnected ABSL_GUARDED_BY(mu);
    std::vector<eroom::monitor::v1::ListCommandsRequest> list_commands_requests
        ABSL_GUARDED_BY(mu);
    std::function<void(const QueryCheck&)> slow_log_query ABSL_GUARDED_BY(mu);
  };

  explicit FakeStorage(std::shared_ptr<Data> data) : data_(std::move(data)) {
    absl::MutexLock lock(&data_->mu);
    for (auto& [agent_id, host] : data_->hosts) host.set_connected(false);
  }

  // Erases the oldest rows of `rows` whose time is before `before_ms`, at
  // most `budget` of them, and takes their number off `budget`.
  template <typename Row, typename TimeOf>
  static int64_t EraseOldest(std::vector<Row>& rows, int64_t before_ms,
                             int64_t& budget, TimeOf time_of) {
    std::vector<size_t> expired;
    for (size_t i = 0; i < rows.size(); ++i) {
      if (time_of(rows[i]) < before_ms) expired.push_back(i);
    }
    std::stable_sort(expired.begin(), expired.end(), [&](size_t a, size_t b) {
      return time_of(rows[a]) < time_of(rows[b]);
    });
    if (static_cast<int64_t>(expired.size()) > budget) expired.resize(budget);
    std::vector<bool> erase(rows.size(), false);
    for (size_t i : expired) erase[i] = true;
    std::vector<Row> kept;
    for (size_t i = 0; i < rows.size(); ++i) {
      if (!erase[i]) kept.push_back(std::move(rows[i]));
    }
    rows = std::move(kept);
    budget -= static_cast<int64_t>(expired.size());
    return static_cast<int64_t>(expired.size());
  }

  // LogContextReader: walks the host's events by sequence.
  std::vector<eroom::monitor::v1::StoredLogEvent> LogContext(
      const eroom::monitor::v1::StoredLogEvent& match, int count, bool older)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(data_->mu) {
    // The host's events on that side of the match, nearest first.
    std::vector<const eroom::monitor::v1::StoredLogEvent*> side;
    for (const auto& [id, stored] : data_->logs) {
      if (stored.agent_id() == match.agent_id() &&
          (older ? stored.sequence() < match.sequence()
                 : stored.sequence() > match.sequence())) {
        side.push_back(&stored);
      }
    }
    std::sort(side.begin(), side.end(), [&](const auto* a, const auto* b) {
      return older ? a->sequence() > b->sequence()
                   : a->sequence() < b->sequence();
    });
    if (side.size() > static_cast<size_t>(kLogContextReach)) {
      side.resize(kLogContextReach);
    }
    std::vector<eroom::monitor::v1::StoredLogEvent> context;
    for (const eroom::monitor::v1::StoredLogEvent* stored : side) {
      if (context.size() == static_cast<size_t>(count)) break;
      if (stored->event().file() == match.event().file()) {
        context.push_back(*stored);
      }
    }
    return context;
  }

  // Every room the stored log events make, by (agent, ruid), as
  // collector/room_timeline.h builds them in the order stored.
  std::map<std::pair<std::string, std::string>, eroom::monitor::v1::RoomRecord>
  Rooms() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(data_->mu) {
    std::map<std::pair<std::string, std::string>,
             eroom::monitor::v1::RoomRecord>
        rooms;
    for (const auto& [id, stored] : data_->logs) {
      const eroom::monitor::v1::LogEvent& log = stored.event();
      if (IsRoomLifecycleEvent(log)) {
        auto [it, added] = rooms.try_emplace({stored.agent_id(), log.ruid()});
        if (added) it->second = NewRoom(stored.agent_id(), log.ruid());
        AddRoomEvent(log, it->second);
      } else if (IsServerStart(log)) {
        for (auto& [key, room] : rooms) {
          if (key.first == stored.agent_id()) {
            EndByRestart(log.time_unix_ms(), room);
          }
        }
      }
    }
    return rooms;
  }

  static absl::Status CheckLimit(int32_t limit) {
    if (limit > 0) return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat("limit must be positive, got ", limit));
  }

  static absl::Status UnknownCommand(const std::string& command_id) {
    return absl::NotFoundError(
        absl::StrCat("no command with id '", command_id, "'"));
  }

  eroom::monitor::v1::HostStatus& FindOrAddHost(const std::string& agent_id,
                                                absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(data_->mu) {
    auto [it, added] = data_->hosts.try_emplace(agent_id);
    if (added) {
      it->second.set_agent_id(agent_id);
      it->second.set_first_seen_unix_ms(absl::ToUnixMillis(now));
      it->second.set_last_seen_unix_ms(absl::ToUnixMillis(now));
    }
    return it->second;
  }

  std::shared_ptr<Data> data_;
};

}  // namespace eroom::collector

#endif  // EROOM_TESTS_UNIT_COLLECTOR_FAKE_STORAGE_H_
