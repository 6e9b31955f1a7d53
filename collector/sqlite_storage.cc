// SQLite implementation of Storage: one write connection owned by the
// ingest thread, a small pool of read-only connections for queries. WAL
// journaling lets the readers see the last committed state without ever
// waiting for the writer.

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "SQLiteCpp/Database.h"
#include "SQLiteCpp/Statement.h"
#include "SQLiteCpp/Transaction.h"
#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/mutex.h"
#include "collector/schema.h"
#include "collector/search_index.h"
#include "collector/storage.h"
#include "common/metric_catalog.h"
#include "common/sqlite_setup.h"
#include "nlohmann/json.hpp"
#include "spdlog/spdlog.h"

namespace eroom::collector {
namespace {

namespace v1 = ::eroom::monitor::v1;

// Connections kept open for later queries; more are opened when more
// queries run at once, and closed when they finish.
constexpr size_t kMaxIdleReaders = 4;

// SQLite integers are signed 64-bit; unsigned proto values are stored
// bit-for-bit so that they read back unchanged.
int64_t ToDb(uint64_t value) { return static_cast<int64_t>(value); }
uint64_t FromDb(int64_t value) { return static_cast<uint64_t>(value); }

// A JSON object of the string map, keys sorted (the canonical form metric
// labels are compared in). Invalid UTF-8 is replaced rather than thrown on.
template <typename StringMap>
std::string ToJsonObject(const StringMap& map) {
  if (map.empty()) return "{}";
  nlohmann::json object = nlohmann::json::object();
  for (const auto& [key, value] : map) object[key] = value;
  return object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// The string members of a JSON object written by ToJsonObject; anything
// else (which only a hand-edited database could hold) is skipped.
void FromJsonObject(const char* text,
                    google::protobuf::Map<std::string, std::string>* out) {
  nlohmann::json object = nlohmann::json::parse(text, nullptr, false);
  if (!object.is_object()) return;
  for (const auto& [key, value] : object.items()) {
    if (value.is_string()) (*out)[key] = value.get<std::string>();
  }
}

// A LIKE pattern matching `text` anywhere, with '\' as the escape character.
std::string LikeSubstringPattern(const std::string& text) {
  return absl::StrCat(
      "%",
      absl::StrReplaceAll(text, {{"\\", "\\\\"}, {"%", "\\%"}, {"_", "\\_"}}),
      "%");
}

// Conditions ANDed into a WHERE clause, with their parameters in order.
class SqlConditions {
 public:
  void Add(std::string condition, std::variant<int64_t, std::string> param) {
    conditions_.push_back(std::move(condition));
    params_.push_back(std::move(param));
  }
  std::string Where() const {
    return conditions_.empty()
               ? ""
               : absl::StrCat(" WHERE ", absl::StrJoin(conditions_, " AND "));
  }
  // Binds the parameters from index 1; returns the next free index.
  int Bind(SQLite::Statement& statement) const {
    int index = 1;
    for (const auto& param : params_) {
      std::visit([&](const auto& value) { statement.bind(index, value); },
                 param);
      ++index;
    }
    return index;
  }

 private:
  std::vector<std::string> conditions_;
  std::vector<std::variant<int64_t, std::string>> params_;
};

// Restricts log events to those whose message contains `text`, ignoring
// ASCII case (LIKE's folding) like grep -i. With the search index the exact
// test runs on its candidates only; without it, or for text too short to
// have a trigram, on every event the other conditions leave.
void AddContains(const std::string& text, bool search_index_attached,
                 SqlConditions& conditions) {
  if (search_index_attached) {
    if (std::optional<std::string> match = TrigramMatchExpression(text)) {
      conditions.Add(kSearchCondition, *std::move(match));
    }
  }
  conditions.Add("message LIKE ? ESCAPE '\\'", LikeSubstringPattern(text));
}

absl::StatusOr<int> EffectiveLimit(int32_t requested, int default_limit,
                                   int max_limit) {
  if (requested < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("limit must not be negative, got ", requested));
  }
  if (requested == 0) return default_limit;
  return std::min<int>(requested, max_limit);
}

// Read-only connections shared by the query threads, with the search index
// attached when there is one.
class ReaderPool {
 public:
  ReaderPool(std::string path, bool search_index_attached)
      : path_(std::move(path)), search_index_attached_(search_index_attached) {}

  bool search_index_attached() const { return search_index_attached_; }

  // A connection for one query, back in the pool when the lease ends.
  class Lease {
   public:
    Lease(ReaderPool& pool, std::unique_ptr<SQLite::Database> db)
        : pool_(pool), db_(std::move(db)) {}
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() { pool_.Release(std::move(db_)); }
    SQLite::Database& db() { return *db_; }

   private:
    ReaderPool& pool_;
    std::unique_ptr<SQLite::Database> db_;
  };

  // Throws SQLite::Exception when a new connection cannot be opened.
  Lease Acquire() {
    {
      absl::MutexLock lock(&mu_);
      if (!idle_.empty()) {
        std::unique_ptr<SQLite::Database> db = std::move(idle_.back());
        idle_.pop_back();
        return Lease(*this, std::move(db));
      }
    }
    auto db = std::make_unique<SQLite::Database>(
        path_, SQLite::OPEN_READONLY | SQLite::OPEN_NOMUTEX, kBusyTimeoutMs);
    if (search_index_attached_) AttachSearchIndex(*db, path_);
    return Lease(*this, std::move(db));
  }

 private:
  void Release(std::unique_ptr<SQLite::Database> db) {
    absl::MutexLock lock(&mu_);
    if (idle_.size() < kMaxIdleReaders) idle_.push_back(std::move(db));
  }

  const std::string path_;
  const bool search_index_attached_;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<SQLite::Database>> idle_ ABSL_GUARDED_BY(mu_);
};

// What one StoreBatches call learns about one agent.
struct AgentProgress {
  uint64_t stored_sequence = 0;  // Highest stored, including this call's.
  bool host_created = false;     // Events arrived before any RegisterAgent.
  const v1::ResourceSample* latest_sample = nullptr;
  const v1::ProbeResult* latest_health = nullptr;
  const v1::ProbeResult* latest_queue = nullptr;
  uint64_t gaps = 0;
  uint64_t first_gap_expected = 0;  // Sequence expected at the first gap...
  uint64_t first_gap_received = 0;  // ...and the one that arrived instead.
  uint64_t unknown_payloads = 0;    // Events of a kind this code predates.
  int64_t log_events = 0;           // Log events stored.
};

// The write connection with the statements the ingest path reuses. Every
// method throws SQLite::Exception; the caller owns the transaction.
class Writer {
 public:
  explicit Writer(SQLite::Database db) : db_(std::move(db)) {}

  SQLite::Database& db() { return db_; }

  uint64_t RegisterAgent(const v1::AgentHello& hello, int64_t now_ms) {
    SQLite::Statement& s = upsert_host_;
    s.reset();
    s.bindNoCopy(1, hello.agent_id());
    s.bindNoCopy(2, hello.hostname());
    s.bindNoCopy(3, hello.version());
    s.bind(4, ToJsonObject(hello.labels()));
    s.bind(5, now_ms);
    s.executeStep();  // RETURNING yields the single row.
    uint64_t last_sequence = FromDb(s.getColumn(0).getInt64());
    s.reset();
    return last_sequence;
  }

  void MarkDisconnected(const std::string& agent_id, int64_t now_ms) {
    SQLite::Statement& s = disconnect_host_;
    s.reset();
    s.bindNoCopy(1, agent_id);
    s.bind(2, now_ms);
    s.exec();
  }

  // Starts `progress` from the stored host row, creating the row for an
  // agent that never registered so that its events are not lost.
  AgentProgress LoadProgress(const std::string& agent_id, int64_t now_ms) {
    AgentProgress progress;
    SQLite::Statement& find = find_host_sequence_;
    find.reset();
    find.bindNoCopy(1, agent_id);
    if (find.executeStep()) {
      progress.stored_sequence = FromDb(find.getColumn(0).getInt64());
      find.reset();
      return progress;
    }
    find.reset();
    SQLite::Statement& insert = insert_host_;
    insert.reset();
    insert.bindNoCopy(1, agent_id);
    insert.bind(2, now_ms);
    insert.exec();
    progress.host_created = true;
    return progress;
  }

  void SaveProgress(const std::string& agent_id, const AgentProgress& progress,
                    int64_t now_ms) {
    SQLite::Statement& s = update_host_progress_;
    s.reset();
    s.bindNoCopy(1, agent_id);
    s.bind(2, ToDb(progress.stored_sequence));
    s.bind(3, now_ms);
    BindSerialized(s, 4, progress.latest_sample);
    BindSerialized(s, 5, progress.latest_health);
    BindSerialized(s, 6, progress.latest_queue);
    s.exec();
  }

  void InsertLog(const std::string& agent_id, uint64_t sequence,
                 const v1::LogEvent& log, int64_t received_ms) {
    SQLite::Statement& s = insert_log_;
    const std::string fields = ToJsonObject(log.fields());
    s.reset();
    s.bindNoCopy(1, agent_id);
    s.bind(2, ToDb(sequence));
    s.bind(3, log.time_unix_ms());
    s.bind(4, received_ms);
    s.bindNoCopy(5, log.file());
    s.bind(6, ToDb(log.file_offset()));
    s.bind(7, static_cast<int32_t>(log.level()));
    s.bindNoCopy(8, log.logger());
    s.bindNoCopy(9, log.thread());
    s.bindNoCopy(10, log.message());
    s.bindNoCopy(11, log.event_type());
    s.bindNoCopy(12, fields);
    s.bindNoCopy(13, log.ruid());
    s.bind(14, log.truncated() ? 1 : 0);
    s.bind(15, log.has_header() ? 1 : 0);
    s.exec();
  }

  void InsertProbe(const std::string& agent_id, uint64_t sequence,
                   const v1::ProbeResult& probe) {
    SQLite::Statement& s = insert_probe_;
    s.reset();
    s.bindNoCopy(1, agent_id);
    s.bind(2, ToDb(sequence));
    s.bind(3, probe.time_unix_ms());
    s.bind(4, static_cast<int32_t>(probe.target()));
    s.bind(5, probe.ok() ? 1 : 0);
    s.bind(6, probe.http_status());
    s.bind(7, probe.latency_ms());
    s.bindNoCopy(8, probe.error());
    s.bindNoCopy(9, probe.health_status());
    if (probe.has_queue()) {
      s.bind(10, probe.queue().queued());
      s.bind(11, probe.queue().active());
      s.bind(12, probe.queue().completed());
      s.bind(13, probe.queue().max_concurrent());
    } else {
      for (int index = 10; index <= 13; ++index) s.bind(index);
    }
    s.exec();
  }

  void InsertNotice(const std::string& agent_id, uint64_t sequence,
                    const v1::AgentNotice& notice) {
    SQLite::Statement& s = insert_notice_;
    s.reset();
    s.bindNoCopy(1, agent_id);
    s.bind(2, ToDb(sequence));
    s.bind(3, notice.time_unix_ms());
    s.bindNoCopy(4, notice.kind());
    s.bindNoCopy(5, notice.message());
    s.bind(6, notice.count());
    s.exec();
  }

  void InsertMetrics(const std::string& agent_id, uint64_t sequence,
                     int64_t time_ms, const std::vector<MetricValue>& metrics) {
    SQLite::Statement& s = insert_point_;
    for (const MetricValue& metric : metrics) {
      int64_t series_id =
          SeriesId(agent_id, metric.name, ToJsonObject(metric.labels));
      s.reset();
      s.bind(1, series_id);
      s.bind(2, time_ms);
      s.bind(3, ToDb(sequence));
      s.bind(4, metric.value);
      s.exec();
    }
  }

  // Makes the writer usable again after a statement failed and its
  // transaction rolled back.
  void RecoverFromFailure() {
    // SQLite reports a failed step again at the statement's next reset.
    for (SQLite::Statement* statement :
         {&upsert_host_, &disconnect_host_, &find_host_sequence_, &insert_host_,
          &update_host_progress_, &insert_log_, &insert_probe_, &insert_notice_,
          &upsert_series_, &insert_point_}) {
      statement->tryReset();
    }
    // Series created by the rolled-back transaction are gone with it.
    series_ids_.clear();
  }

 private:
  using SeriesKey = std::tuple<std::string, std::string, std::string>;

  int64_t SeriesId(const std::string& agent_id, const std::string& name,
                   std::string labels) {
    SeriesKey key(agent_id, name, std::move(labels));
    if (auto it = series_ids_.find(key); it != series_ids_.end()) {
      return it->second;
    }
    SQLite::Statement& s = upsert_series_;
    s.reset();
    s.bindNoCopy(1, std::get<0>(key));
    s.bindNoCopy(2, std::get<1>(key));
    s.bindNoCopy(3, std::get<2>(key));
    s.executeStep();  // RETURNING yields the id, new or existing.
    int64_t id = s.getColumn(0).getInt64();
    s.reset();
    series_ids_.emplace(std::move(key), id);
    return id;
  }

  template <typename Message>
  static void BindSerialized(SQLite::Statement& s, int index,
                             const Message* message) {
    if (message == nullptr) {
      s.bind(index);  // NULL: keep the stored one.
      return;
    }
    const std::string bytes = message->SerializeAsString();
    s.bind(index, bytes.data(), static_cast<int>(bytes.size()));
  }

  SQLite::Database db_;
  SQLite::Statement upsert_host_{db_, R"sql(
      INSERT INTO hosts (agent_id, hostname, version, labels, connected,
                         first_seen_ms, last_seen_ms)
      VALUES (?1, ?2, ?3, ?4, 1, ?5, ?5)
      ON CONFLICT (agent_id) DO UPDATE SET
        hostname = excluded.hostname, version = excluded.version,
        labels = excluded.labels, connected = 1,
        last_seen_ms = excluded.last_seen_ms
      RETURNING last_sequence)sql"};
  SQLite::Statement disconnect_host_{db_, R"sql(
      UPDATE hosts SET connected = 0, last_seen_ms = ?2
      WHERE agent_id = ?1)sql"};
  SQLite::Statement find_host_sequence_{
      db_, "SELECT last_sequence FROM hosts WHERE agent_id = ?1"};
  SQLite::Statement insert_host_{db_, R"sql(
      INSERT INTO hosts (agent_id, first_seen_ms, last_seen_ms)
      VALUES (?1, ?2, ?2))sql"};
  SQLite::Statement update_host_progress_{db_, R"sql(
      UPDATE hosts SET
        last_sequence = ?2, last_seen_ms = ?3,
        latest_sample = coalesce(?4, latest_sample),
        latest_health = coalesce(?5, latest_health),
        latest_queue = coalesce(?6, latest_queue)
      WHERE agent_id = ?1)sql"};
  SQLite::Statement insert_log_{db_, R"sql(
      INSERT INTO log_events (agent_id, sequence, time_ms, received_ms, file,
        file_offset, level, logger, thread, message, event_type, fields,
        ruid, truncated, has_header)
      VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,
              ?15))sql"};
  SQLite::Statement insert_probe_{db_, R"sql(
      INSERT INTO probes (agent_id, sequence, time_ms, target, ok,
        http_status, latency_ms, error, health_status, queued, active,
        completed, max_concurrent)
      VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13))sql"};
  SQLite::Statement insert_notice_{db_, R"sql(
      INSERT INTO agent_notices (agent_id, sequence, time_ms, kind, message,
                                 count)
      VALUES (?1, ?2, ?3, ?4, ?5, ?6))sql"};
  // The no-op update makes RETURNING report the existing row's id too.
  SQLite::Statement upsert_series_{db_, R"sql(
      INSERT INTO metric_series (agent_id, name, labels) VALUES (?1, ?2, ?3)
      ON CONFLICT (name, agent_id, labels) DO UPDATE SET name = excluded.name
      RETURNING id)sql"};
  SQLite::Statement insert_point_{db_, R"sql(
      INSERT INTO metric_points (series_id, time_ms, sequence, value)
      VALUES (?1, ?2, ?3, ?4))sql"};

  absl::flat_hash_map<SeriesKey, int64_t> series_ids_;
};

// Sets up the connection the ingest thread writes through.
absl::Status ConfigureWriteConnection(SQLite::Database& db) {
  UseLargePagesIfNew(db);
  std::string mode = db.execAndGet("PRAGMA journal_mode = WAL").getString();
  if (mode != "wal") {
    return absl::FailedPreconditionError(
        absl::StrCat(db.getFilename(), ": WAL journaling unavailable (got '",
                     mode, "'); the collector needs a database file"));
  }
  // An Ack tells the agent it may forget the acknowledged events, so a
  // commit must survive power loss, not only a crash of the collector.
  // Under WAL, NORMAL syncs only at checkpoints: the last transactions could
  // roll back after power loss. FULL syncs the WAL at every commit; the
  // ingest thread commits whole batches, so that is one sync per batch.
  db.exec("PRAGMA synchronous = FULL");
  db.exec("PRAGMA foreign_keys = ON");
  // A large transaction grows the WAL file; once checkpointed, shrink it
  // back to this size rather than keep the disk space.
  db.exec("PRAGMA journal_size_limit = 67108864");
  return absl::OkStatus();
}

void LogProgress(const std::string& agent_id, const AgentProgress& progress) {
  if (progress.host_created) {
    spdlog::warn("events from unregistered agent '{}'; created its host",
                 agent_id);
  }
  if (progress.gaps > 0) {
    spdlog::warn(
        "agent '{}': {} sequence gap(s); first expected {} but got {} "
        "(the agent lost events before sending them)",
        agent_id, progress.gaps, progress.first_gap_expected,
        progress.first_gap_received);
  }
  if (progress.unknown_payloads > 0) {
    spdlog::warn(
        "agent '{}': skipped {} event(s) of a kind this collector does not "
        "know (newer agent?)",
        agent_id, progress.unknown_payloads);
  }
}

absl::Status CommandsNotStored() {
  return absl::UnimplementedError("this collector does not store commands");
}

class SqliteStorage final : public Storage {
 public:
  // Without a search index (it could not be opened), searches scan.
  SqliteStorage(std::unique_ptr<Writer> writer, const SqliteOptions& options,
                std::unique_ptr<SearchIndex> search_index)
      : writer_(std::move(writer)),
        readers_(options.path, search_index != nullptr),
        indexer_(search_index
                     ? std::make_unique<SearchIndexer>(
                           std::move(search_index), options.search_index_delay)
                     : nullptr) {}

  absl::StatusOr<uint64_t> RegisterAgent(const v1::AgentHello& hello,
                                         absl::Time now) override {
    if (hello.agent_id().empty()) {
      return absl::InvalidArgumentError("hello without agent_id");
    }
    absl::MutexLock lock(&write_mu_);
    try {
      return writer_->RegisterAgent(hello, absl::ToUnixMillis(now));
    } catch (const SQLite::Exception& e) {
      writer_->RecoverFromFailure();
      return SqliteErrorStatus(
          absl::StrCat("register agent '", hello.agent_id(), "'"), e,
          kDatabaseKind);
    }
  }

  absl::Status MarkDisconnected(const std::string& agent_id,
                                absl::Time now) override {
    absl::MutexLock lock(&write_mu_);
    try {
      writer_->MarkDisconnected(agent_id, absl::ToUnixMillis(now));
      return absl::OkStatus();
    } catch (const SQLite::Exception& e) {
      writer_->RecoverFromFailure();
      return SqliteErrorStatus(
          absl::StrCat("mark agent '", agent_id, "' disconnected"), e,
          kDatabaseKind);
    }
  }

  absl::StatusOr<absl::flat_hash_map<std::string, uint64_t>> StoreBatches(
      const std::vector<AgentBatch>& batches, absl::Time now) override {
    for (const AgentBatch& batch : batches) {
      if (batch.agent_id.empty()) {
        return absl::InvalidArgumentError("event batch without agent_id");
      }
    }
    const int64_t now_ms = absl::ToUnixMillis(now);
    absl::flat_hash_map<std::string, AgentProgress> progress;
    absl::MutexLock lock(&write_mu_);
    try {
      SQLite::Transaction txn(writer_->db(),
                              SQLite::TransactionBehavior::IMMEDIATE);
      for (const AgentBatch& batch : batches) {
        auto it = progress.find(batch.agent_id);
        if (it == progress.end()) {
          it = progress
                   .emplace(batch.agent_id,
                            writer_->LoadProgress(batch.agent_id, now_ms))
                   .first;
        }
        StoreEvents(batch, now_ms, it->second);
      }
      for (const auto& [agent_id, agent_progress] : progress) {
        writer_->SaveProgress(agent_id, agent_progress, now_ms);
      }
      txn.commit();
    } catch (const SQLite::Exception& e) {
      writer_->RecoverFromFailure();
      return SqliteErrorStatus("store event batches", e, kDatabaseKind);
    }
    if (indexer_ != nullptr) {
      int64_t log_events = 0;
      for (const auto& [agent_id, agent_progress] : progress) {
        log_events += agent_progress.log_events;
      }
      indexer_->Notify(log_events);
    }
    absl::flat_hash_map<std::string, uint64_t> stored;
    for (const auto& [agent_id, agent_progress] : progress) {
      LogProgress(agent_id, agent_progress);
      stored[agent_id] = agent_progress.stored_sequence;
    }
    return stored;
  }

  absl::StatusOr<v1::ListHostsResponse> ListHosts(
      const v1::ListHostsRequest& request) override {
    try {
      ReaderPool::Lease reader = readers_.Acquire();
      SqlConditions conditions;
      if (!request.agent_id().empty()) {
        conditions.Add("agent_id = ?", request.agent_id());
      }
      SQLite::Statement query(
          reader.db(),
          absl::StrCat("SELECT agent_id, hostname, version, labels, "
                       "connected, first_seen_ms, last_seen_ms, "
                       "last_sequence, latest_sample, latest_health, "
                       "latest_queue FROM hosts",
                       conditions.Where(), " ORDER BY agent_id"));
      conditions.Bind(query);
      v1::ListHostsResponse response;
      while (query.executeStep()) {
        v1::HostStatus* host = response.add_hosts();
        host->set_agent_id(query.getColumn(0).getString());
        host->set_hostname(query.getColumn(1).getString());
        host->set_version(query.getColumn(2).getString());
        FromJsonObject(query.getColumn(3).getText(), host->mutable_labels());
        host->set_connected(query.getColumn(4).getInt() != 0);
        host->set_first_seen_unix_ms(query.getColumn(5).getInt64());
        host->set_last_seen_unix_ms(query.getColumn(6).getInt64());
        host->set_last_sequence(FromDb(query.getColumn(7).getInt64()));
        ParseLatest(query.getColumn(8), *host, host->mutable_latest_sample(),
                    &v1::HostStatus::clear_latest_sample);
        ParseLatest(query.getColumn(9), *host, host->mutable_latest_health(),
                    &v1::HostStatus::clear_latest_health);
        ParseLatest(query.getColumn(10), *host, host->mutable_latest_queue(),
                    &v1::HostStatus::clear_latest_queue);
      }
      return response;
    } catch (const SQLite::Exception& e) {
      return SqliteErrorStatus("list hosts", e, kDatabaseKind);
    }
  }

  absl::StatusOr<v1::QueryLogsResponse> QueryLogs(
      const v1::QueryLogsRequest& request) override {
    absl::StatusOr<int> limit =
        EffectiveLimit(request.limit(), kDefaultLogLimit, kMaxLogLimit);
    if (!limit.ok()) return limit.status();
    SqlConditions conditions;
    if (!request.agent_id().empty()) {
      conditions.Add("agent_id = ?", request.agent_id());
    }
    if (request.min_level() != v1::LOG_LEVEL_UNSPECIFIED) {
      conditions.Add("level >= ?", static_cast<int64_t>(request.min_level()));
    }
    if (!request.event_type().empty()) {
      // The repeated condition lets SQLite use the partial index.
      conditions.Add("event_type = ? AND event_type <> ''",
                     request.event_type());
    }
    if (!request.ruid().empty()) {
      conditions.Add("ruid = ? AND ruid <> ''", request.ruid());
    }
    if (request.since_unix_ms() != 0) {
      conditions.Add("time_ms >= ?", request.since_unix_ms());
    }
    if (request.until_unix_ms() != 0) {
      conditions.Add("time_ms <= ?", request.until_unix_ms());
    }
    if (!request.contains().empty()) {
      AddContains(request.contains(), readers_.search_index_attached(),
                  conditions);
    }
    try {
      ReaderPool::Lease reader = readers_.Acquire();
      SQLite::Statement query(
          reader.db(),
          absl::StrCat("SELECT agent_id, sequence, time_ms, received_ms, "
                       "file, file_offset, level, logger, thread, message, "
                       "event_type, fields, ruid, truncated, has_header "
                       "FROM log_events",
                       conditions.Where(),
                       " ORDER BY time_ms DESC, id DESC LIMIT ?"));
      query.bind(conditions.Bind(query), *limit);
      v1::QueryLogsResponse response;
      while (query.executeStep()) {
        v1::StoredLogEvent* stored = response.add_events();
        stored->set_agent_id(query.getColumn(0).getString());
        stored->set_sequence(FromDb(query.getColumn(1).getInt64()));
        stored->set_received_unix_ms(query.getColumn(3).getInt64());
        v1::LogEvent* log = stored->mutable_event();
        log->set_time_unix_ms(query.getColumn(2).getInt64());
        log->set_file(query.getColumn(4).getString());
        log->set_file_offset(FromDb(query.getColumn(5).getInt64()));
        log->set_level(static_cast<v1::LogLevel>(query.getColumn(6).getInt()));
        log->set_logger(query.getColumn(7).getString());
        log->set_thread(query.getColumn(8).getString());
        log->set_message(query.getColumn(9).getString());
        log->set_event_type(query.getColumn(10).getString());
        FromJsonObject(query.getColumn(11).getText(), log->mutable_fields());
        log->set_ruid(query.getColumn(12).getString());
        log->set_truncated(query.getColumn(13).getInt() != 0);
        log->set_has_header(query.getColumn(14).getInt() != 0);
      }
      return response;
    } catch (const SQLite::Exception& e) {
      return SqliteErrorStatus("query logs", e, kDatabaseKind);
    }
  }

  absl::StatusOr<v1::QueryMetricsResponse> QueryMetrics(
      const v1::QueryMetricsRequest& request) override {
    if (request.name().empty()) {
      return absl::InvalidArgumentError("metric name is required");
    }
    absl::StatusOr<int> limit = EffectiveLimit(
        request.limit(), kDefaultMetricPointLimit, kMaxMetricPointLimit);
    if (!limit.ok()) return limit.status();
    v1::QueryMetricsResponse response;
    const std::vector<std::string>& known = KnownMetricNames();
    if (!std::binary_search(known.begin(), known.end(), request.name())) {
      for (const std::string& name : known) response.add_known_names(name);
      return response;
    }
    SqlConditions series_conditions;
    series_conditions.Add("name = ?", request.name());
    if (!request.agent_id().empty()) {
      series_conditions.Add("agent_id = ?", request.agent_id());
    }
    const int64_t since = request.since_unix_ms() != 0
                              ? request.since_unix_ms()
                              : std::numeric_limits<int64_t>::min();
    const int64_t until = request.until_unix_ms() != 0
                              ? request.until_unix_ms()
                              : std::numeric_limits<int64_t>::max();
    try {
      ReaderPool::Lease reader = readers_.Acquire();
      // One snapshot for the series list and all their points.
      SQLite::Transaction snapshot(reader.db());
      SQLite::Statement series(
          reader.db(),
          absl::StrCat("SELECT id, agent_id, labels FROM metric_series",
                       series_conditions.Where(),
                       " ORDER BY agent_id, labels"));
      series_conditions.Bind(series);
      // The newest `limit` points of the window, returned oldest first.
      SQLite::Statement points(reader.db(), R"sql(
          SELECT time_ms, value FROM (
            SELECT time_ms, sequence, value FROM metric_points
            WHERE series_id = ?1 AND time_ms BETWEEN ?2 AND ?3
            ORDER BY time_ms DESC, sequence DESC LIMIT ?4)
          ORDER BY time_ms, sequence)sql");
      while (series.executeStep()) {
        points.reset();
        points.bind(1, series.getColumn(0).getInt64());
        points.bind(2, since);
        points.bind(3, until);
        points.bind(4, *limit);
        v1::MetricSeries out;
        while (points.executeStep()) {
          v1::MetricPoint* point = out.add_points();
          point->set_time_unix_ms(points.getColumn(0).getInt64());
          point->set_value(points.getColumn(1).getDouble());
        }
        if (out.points().empty()) continue;
        out.set_agent_id(series.getColumn(1).getString());
        out.set_name(request.name());
        FromJsonObject(series.getColumn(2).getText(), out.mutable_labels());
        *response.add_series() = std::move(out);
      }
      return response;
    } catch (const SQLite::Exception& e) {
      return SqliteErrorStatus(
          absl::StrCat("query metric '", request.name(), "'"), e,
          kDatabaseKind);
    }
  }

  // Commands are not kept in SQLite yet.
  absl::Status RecordCommand(const v1::CommandRecord&) override {
    return CommandsNotStored();
  }
  absl::Status StoreCommandProgress(const std::string&,
                                    const v1::CommandProgress&) override {
    return CommandsNotStored();
  }
  absl::StatusOr<v1::CommandRecord> GetCommand(const std::string&) override {
    return CommandsNotStored();
  }
  absl::StatusOr<v1::ListCommandsResponse> ListCommands(
      const v1::ListCommandsRequest&) override {
    return CommandsNotStored();
  }

 private:
  void StoreEvents(const AgentBatch& batch, int64_t now_ms,
                   AgentProgress& progress)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_) {
    const std::string& agent_id = batch.agent_id;
    for (const v1::Event& event : batch.batch.events()) {
      const uint64_t sequence = event.sequence();
      if (sequence <= progress.stored_sequence) continue;  // Redelivered.
      if (sequence != progress.stored_sequence + 1) {
        if (progress.gaps++ == 0) {
          progress.first_gap_expected = progress.stored_sequence + 1;
          progress.first_gap_received = sequence;
        }
      }
      switch (event.payload_case()) {
        case v1::Event::kLog:
          writer_->InsertLog(agent_id, sequence, event.log(), now_ms);
          ++progress.log_events;
          break;
        case v1::Event::kSample:
          writer_->InsertMetrics(agent_id, sequence,
                                 event.sample().time_unix_ms(),
                                 MetricsFromSample(event.sample()));
          progress.latest_sample = &event.sample();
          break;
        case v1::Event::kProbe:
          writer_->InsertProbe(agent_id, sequence, event.probe());
          writer_->InsertMetrics(agent_id, sequence,
                                 event.probe().time_unix_ms(),
                                 MetricsFromProbe(event.probe()));
          if (event.probe().target() == v1::HEALTH) {
            progress.latest_health = &event.probe();
          } else if (event.probe().target() == v1::QUEUE_STATUS) {
            progress.latest_queue = &event.probe();
          }
          break;
        case v1::Event::kNotice:
          writer_->InsertNotice(agent_id, sequence, event.notice());
          writer_->InsertMetrics(agent_id, sequence,
                                 event.notice().time_unix_ms(),
                                 MetricsFromNotice(event.notice()));
          break;
        case v1::Event::PAYLOAD_NOT_SET:
          // Still counts as received: the agent must not resend it forever.
          ++progress.unknown_payloads;
          break;
      }
      progress.stored_sequence = sequence;
    }
  }

  // Fills a latest_* field of `host` from its blob; a blob that does not
  // parse (a damaged row) leaves the field unset instead of failing the
  // whole listing.
  template <typename Message>
  static void ParseLatest(const SQLite::Column& column, v1::HostStatus& host,
                          Message* field, void (v1::HostStatus::*clear)()) {
    if (column.isNull()) {
      (host.*clear)();
      return;
    }
    if (!field->ParseFromArray(column.getBlob(), column.getBytes())) {
      spdlog::warn("host '{}': unreadable {} in the database; left out",
                   host.agent_id(), column.getName());
      (host.*clear)();
    }
  }

  absl::Mutex write_mu_;  // Uncontended: the ingest thread is the only writer.
  std::unique_ptr<Writer> writer_ ABSL_GUARDED_BY(write_mu_);
  ReaderPool readers_;
  std::unique_ptr<SearchIndexer> indexer_;  // Null without a search index.
};

}  // namespace

absl::StatusOr<std::unique_ptr<Storage>> OpenSqliteStorage(
    const SqliteOptions& options) {
  if (options.path.empty()) {
    return absl::InvalidArgumentError("SQLite database path is empty");
  }
  const std::filesystem::path path(options.path);
  if (path.has_parent_path()) {
    std::error_code error;
    std::filesystem::create_directories(path.parent_path(), error);
    if (error) {
      return absl::FailedPreconditionError(
          absl::StrCat("create directory ", path.parent_path().string(),
                       " for the database: ", error.message()));
    }
  }
  ConfigureSqlite();
  try {
    SQLite::Database db(
        options.path,
        SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_NOMUTEX,
        kBusyTimeoutMs);
    if (absl::Status status = ConfigureWriteConnection(db); !status.ok()) {
      return status;
    }
    if (absl::Status status = MigrateSchema(db, CollectorSchema());
        !status.ok())
      return status;
    db.exec("UPDATE hosts SET connected = 0");
    absl::StatusOr<std::unique_ptr<SearchIndex>> search_index =
        SearchIndex::Open(options.path);
    if (!search_index.ok()) {
      // Searches still work, by scanning; everything else is unaffected.
      spdlog::error("{}; searches scan every event instead",
                    search_index.status().ToString());
    }
    return std::make_unique<SqliteStorage>(
        std::make_unique<Writer>(std::move(db)), options,
        search_index.ok() ? *std::move(search_index) : nullptr);
  } catch (const SQLite::Exception& e) {
    return SqliteErrorStatus(absl::StrCat("open database ", options.path), e,
                             kDatabaseKind);
  }
}

}  // namespace eroom::collector
