#include "collector/sqlite/sqlite_storage.h"

#include <sqlite3.h>

#include <filesystem>
#include <optional>
#include <system_error>
#include <type_traits>
#include <utility>

#include "SQLiteCpp/Database.h"
#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "collector/sqlite/queries.h"
#include "collector/sqlite/reader_pool.h"
#include "collector/sqlite/schema.h"
#include "collector/sqlite/search_index.h"
#include "collector/sqlite/writer.h"
#include "common/sqlite_setup.h"
#include "common/sqlite_status.h"
#include "common/status_macros.h"
#include "spdlog/spdlog.h"

namespace eroom::collector {
namespace {

namespace v1 = ::eroom::monitor::v1;

absl::Status RequirePositiveLimit(int32_t limit) {
  if (limit > 0) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("limit must be positive, got ", limit));
}

bool IsConstraintViolation(const SQLite::Exception& e) {
  return (e.getErrorCode() & 0xff) == SQLITE_CONSTRAINT;
}

// What SqliteStorage::Write returns for a write `Fn`: a Status if it returns
// nothing, else a StatusOr of what it returns.
template <typename Fn>
using WriteResult =
    std::conditional_t<std::is_void_v<std::invoke_result_t<Fn, SqliteWriter&>>,
                       absl::Status,
                       absl::StatusOr<std::invoke_result_t<Fn, SqliteWriter&>>>;

class SqliteStorage final : public Storage {
 public:
  // Without a search index (it could not be opened), searches scan.
  SqliteStorage(std::unique_ptr<SqliteWriter> writer,
                const SqliteOptions& options,
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
    return Write(absl::StrCat("register agent '", hello.agent_id(), "'"),
                 [&](SqliteWriter& writer) {
                   return writer.RegisterAgent(hello, ToMs(now));
                 });
  }

  absl::Status MarkDisconnected(const std::string& agent_id,
                                absl::Time now) override {
    return Write(absl::StrCat("mark agent '", agent_id, "' disconnected"),
                 [&](SqliteWriter& writer) {
                   writer.MarkDisconnected(agent_id, ToMs(now));
                 });
  }

  absl::StatusOr<uint64_t> LastStoredSequence(
      const std::string& agent_id) override {
    return Write(absl::StrCat("read agent '", agent_id, "' last sequence"),
                 [&](SqliteWriter& writer) {
                   return writer.LastStoredSequence(agent_id);
                 });
  }

  absl::Status Apply(const StoredBatch& batch) override {
    EROOM_RETURN_IF_ERROR(RequireAgentIds(batch));
    EROOM_ASSIGN_OR_RETURN(
        int64_t log_events,
        Write("store event batches",
              [&](SqliteWriter& writer) { return writer.Apply(batch); }));
    if (indexer_ != nullptr) indexer_->Notify(log_events);
    return absl::OkStatus();
  }

  absl::Status RecordCommand(const v1::CommandRecord& command) override {
    if (command.command_id().empty() || command.agent_id().empty()) {
      return absl::InvalidArgumentError(
          "command without command_id or agent_id");
    }
    absl::MutexLock lock(&write_mu_);
    try {
      writer_->RecordCommand(command);
      return absl::OkStatus();
    } catch (const SQLite::Exception& e) {
      writer_->RecoverFromFailure();
      if (IsConstraintViolation(e)) {
        return absl::AlreadyExistsError(absl::StrCat(
            "command '", command.command_id(), "' is already recorded"));
      }
      return SqliteErrorStatus(
          absl::StrCat("record command '", command.command_id(), "'"), e,
          kDatabaseKind);
    }
  }

  absl::StatusOr<std::string> CommandAgent(
      const std::string& command_id) override {
    EROOM_ASSIGN_OR_RETURN(
        std::optional<std::string> agent_id,
        Write(absl::StrCat("look up command '", command_id, "'"),
              [&](SqliteWriter& writer) {
                return writer.CommandAgent(command_id);
              }));
    if (!agent_id.has_value()) return UnknownCommand(command_id);
    return *std::move(agent_id);
  }

  absl::StatusOr<v1::ListHostsResponse> ListHosts(
      const v1::ListHostsRequest& request) override {
    return Read("list hosts",
                [&](SQLite::Database& db) { return QueryHosts(db, request); });
  }

  absl::StatusOr<v1::QueryLogsResponse> QueryLogs(
      const v1::QueryLogsRequest& request) override {
    EROOM_RETURN_IF_ERROR(RequirePositiveLimit(request.limit()));
    return Read("query logs", [&](SQLite::Database& db) {
      return QueryLogEvents(db, request, readers_.search_index_attached());
    });
  }

  absl::StatusOr<v1::QueryMetricsResponse> QueryMetrics(
      const v1::QueryMetricsRequest& request) override {
    EROOM_RETURN_IF_ERROR(RequirePositiveLimit(request.limit()));
    return Read(
        absl::StrCat("query metric '", request.name(), "'"),
        [&](SQLite::Database& db) { return QueryMetricSeries(db, request); });
  }

  absl::StatusOr<v1::CommandRecord> GetCommand(
      const std::string& command_id) override {
    EROOM_ASSIGN_OR_RETURN(std::optional<v1::CommandRecord> record,
                           Read(absl::StrCat("read command '", command_id, "'"),
                                [&](SQLite::Database& db) {
                                  return QueryCommand(db, command_id);
                                }));
    if (!record.has_value()) return UnknownCommand(command_id);
    return *std::move(record);
  }

  absl::StatusOr<v1::ListCommandsResponse> ListCommands(
      const v1::ListCommandsRequest& request) override {
    EROOM_RETURN_IF_ERROR(RequirePositiveLimit(request.limit()));
    return Read("list commands", [&](SQLite::Database& db) {
      return QueryCommands(db, request);
    });
  }

  absl::StatusOr<std::vector<v1::LogResumePoint>> LogResumePoints(
      const std::string& agent_id) override {
    return Read(absl::StrCat("find where agent '", agent_id, "' logs resume"),
                [&](SQLite::Database& db) {
                  return QueryLogResumePoints(db, agent_id);
                });
  }

 private:
  static int64_t ToMs(absl::Time time) { return absl::ToUnixMillis(time); }

  static absl::Status UnknownCommand(const std::string& command_id) {
    return absl::NotFoundError(
        absl::StrCat("no command with id '", command_id, "'"));
  }

  // Runs `write` on the writer, mapping a SQLite failure to a status about
  // `what`.
  template <typename Fn>
  WriteResult<Fn> Write(absl::string_view what, Fn write) {
    using Out = WriteResult<Fn>;
    absl::MutexLock lock(&write_mu_);
    try {
      if constexpr (std::is_same_v<Out, absl::Status>) {
        write(*writer_);
        return Out(absl::OkStatus());
      } else {
        return Out(write(*writer_));
      }
    } catch (const SQLite::Exception& e) {
      writer_->RecoverFromFailure();
      return Out(SqliteErrorStatus(what, e, kDatabaseKind));
    }
  }

  // Runs `query` on a reader connection, mapping a SQLite failure to a
  // status about `what`.
  template <typename Query>
  auto Read(absl::string_view what, Query query)
      -> absl::StatusOr<decltype(query(std::declval<SQLite::Database&>()))> {
    try {
      SqliteReaderPool::Lease reader = readers_.Acquire();
      return query(reader.db());
    } catch (const SQLite::Exception& e) {
      return SqliteErrorStatus(what, e, kDatabaseKind);
    }
  }

  absl::Mutex write_mu_;  // Uncontended: the ingest thread is the only writer.
  std::unique_ptr<SqliteWriter> writer_ ABSL_GUARDED_BY(write_mu_);
  SqliteReaderPool readers_;
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
  EROOM_RETURN_IF_ERROR(KeepOwnerOnly(options.path));
  try {
    SQLite::Database db(
        options.path,
        SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_NOMUTEX,
        kBusyTimeoutMs);
    EROOM_RETURN_IF_ERROR(ConfigureWriteConnection(db));
    EROOM_RETURN_IF_ERROR(MigrateSchema(db, CollectorSchema()));
    db.exec("UPDATE hosts SET connected = 0");
    absl::StatusOr<std::unique_ptr<SearchIndex>> search_index =
        SearchIndex::Open(options.path);
    if (!search_index.ok()) {
      // Searches still work, by scanning; everything else is unaffected.
      spdlog::error("{}; searches scan every event instead",
                    search_index.status().ToString());
    }
    return std::make_unique<SqliteStorage>(
        std::make_unique<SqliteWriter>(std::move(db)), options,
        search_index.ok() ? *std::move(search_index) : nullptr);
  } catch (const SQLite::Exception& e) {
    return SqliteErrorStatus(absl::StrCat("open database ", options.path), e,
                             kDatabaseKind);
  }
}

}  // namespace eroom::collector
