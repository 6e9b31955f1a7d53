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
#include "collector/sqlite/checked_query.h"
#include "collector/sqlite/queries.h"
#include "collector/sqlite/reader_pool.h"
#include "collector/sqlite/schema.h"
#include "collector/sqlite/search_index.h"
#include "collector/sqlite/wal_checkpointer.h"
#include "collector/sqlite/writer.h"
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

// What a read `Query(db, search_index_attached)` returns, or one that also
// takes the CheckedQuery watching it: `Query(db, attached, checked)`.
template <typename Query, typename = void>
struct ReadResultOf {
  using type = std::invoke_result_t<Query&, SQLite::Database&, bool>;
};
template <typename Query>
struct ReadResultOf<
    Query, std::enable_if_t<std::is_invocable_v<Query&, SQLite::Database&, bool,
                                                CheckedQuery&>>> {
  using type =
      std::invoke_result_t<Query&, SQLite::Database&, bool, CheckedQuery&>;
};
template <typename Query>
using ReadResult = typename ReadResultOf<Query>::type;

class SqliteStorage final : public Storage {
 public:
  // Without a search index (it could not be opened), searches scan.
  // `checkpointer` watches `writer`'s connection.
  SqliteStorage(std::unique_ptr<WalCheckpointer> checkpointer,
                std::unique_ptr<SqliteWriter> writer,
                const SqliteOptions& options,
                std::unique_ptr<SearchIndex> search_index)
      : path_(options.path),
        checkpointer_(std::move(checkpointer)),
        writer_(std::move(writer)),
        readers_(options.path, search_index != nullptr),
        indexer_(search_index ? SearchIndexer::Start(
                                    std::move(search_index), options.path,
                                    options.search_index_delay,
                                    [this](bool usable) {
                                      readers_.SetSearchIndexUsable(usable);
                                    })
                              : nullptr) {}

  // A daemon stops within 5 s of SIGTERM; the index is derived data and may
  // be left to the process's end (SearchIndexer).
  ~SqliteStorage() override {
    if (indexer_ != nullptr) indexer_->Stop(absl::Seconds(1));
  }

  absl::StatusOr<std::vector<uint64_t>> RegisterAgents(
      absl::Span<const v1::AgentHello* const> hellos, absl::Time now) override {
    for (const v1::AgentHello* hello : hellos) {
      if (hello->agent_id().empty()) {
        return absl::InvalidArgumentError("hello without agent_id");
      }
    }
    return Write(
        hellos.size() == 1
            ? absl::StrCat("register agent '", hellos.front()->agent_id(), "'")
            : absl::StrCat("register ", hellos.size(), " agents"),
        [&](SqliteWriter& writer) {
          std::vector<uint64_t> last;
          last.reserve(hellos.size());
          for (const v1::AgentHello* hello : hellos) {
            last.push_back(writer.RegisterAgent(*hello, ToMs(now)));
          }
          return last;
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

  absl::StatusOr<RetentionCounts> DeleteExpired(const RetentionPolicy& policy,
                                                absl::Time now,
                                                int64_t max_rows) override {
    if (max_rows <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("max_rows must be positive, got ", max_rows));
    }
    EROOM_ASSIGN_OR_RETURN(
        ExpiredRows expired,
        Write("delete what outlived its retention", [&](SqliteWriter& writer) {
          return writer.DeleteExpired(policy, ToMs(now), max_rows);
        }));
    if (indexer_ != nullptr && !expired.log_events.empty()) {
      indexer_->Forget(std::move(expired.log_events));
    }
    return expired.counts;
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

  absl::StatusOr<v1::CommandRecord> RecordedCommand(
      const std::string& command_id) override {
    EROOM_ASSIGN_OR_RETURN(
        std::optional<v1::CommandRecord> record,
        Write(absl::StrCat("look up command '", command_id, "'"),
              [&](SqliteWriter& writer) {
                return writer.RecordedCommand(command_id);
              }));
    if (!record.has_value()) return UnknownCommand(command_id);
    return *std::move(record);
  }

  absl::StatusOr<v1::ListHostsResponse> ListHosts(
      const v1::ListHostsRequest& request) override {
    return Read("list hosts", /*check=*/{}, [&](SQLite::Database& db, bool) {
      return QueryHosts(db, request);
    });
  }

  absl::StatusOr<v1::QueryLogsResponse> QueryLogs(
      const v1::QueryLogsRequest& request, const QueryCheck& check) override {
    EROOM_RETURN_IF_ERROR(RequirePositiveLimit(request.limit()));
    EROOM_ASSIGN_OR_RETURN(const LogFilter filter, LogFilter::Compile(request));
    return Read("query logs", check,
                [&](SQLite::Database& db, bool search_index_attached,
                    CheckedQuery& checked) {
                  return QueryLogEvents(db, request, filter,
                                        search_index_attached, &checked);
                });
  }

  absl::StatusOr<LogEventPage> StoredLogEvents(
      const LogFilter& filter, const LogEventRange& range,
      const QueryCheck& check) override {
    EROOM_RETURN_IF_ERROR(RequirePositiveLimit(range.limit));
    return Read("read followed logs", check,
                [&](SQLite::Database& db, bool search_index_attached) {
                  return QueryStoredLogEvents(db, filter, range,
                                              search_index_attached);
                });
  }

  absl::StatusOr<LogResume> FollowResume(
      const std::vector<v1::LogPosition>& hosts, int64_t received_unix_ms,
      const QueryCheck& check) override {
    return Read("find where a log follow resumes", check,
                [&](SQLite::Database& db, bool) {
                  return QueryFollowResume(db, hosts, received_unix_ms);
                });
  }

  absl::StatusOr<v1::QueryMetricsResponse> QueryMetrics(
      const v1::QueryMetricsRequest& request) override {
    EROOM_RETURN_IF_ERROR(RequirePositiveLimit(request.limit()));
    return Read(absl::StrCat("query metric '", request.name(), "'"),
                /*check=*/{}, [&](SQLite::Database& db, bool) {
                  return QueryMetricSeries(db, request);
                });
  }

  absl::StatusOr<v1::CommandRecord> GetCommand(
      const std::string& command_id) override {
    EROOM_ASSIGN_OR_RETURN(std::optional<v1::CommandRecord> record,
                           Read(absl::StrCat("read command '", command_id, "'"),
                                /*check=*/{}, [&](SQLite::Database& db, bool) {
                                  return QueryCommand(db, command_id);
                                }));
    if (!record.has_value()) return UnknownCommand(command_id);
    return *std::move(record);
  }

  absl::StatusOr<v1::ListCommandsResponse> ListCommands(
      const v1::ListCommandsRequest& request) override {
    EROOM_RETURN_IF_ERROR(RequirePositiveLimit(request.limit()));
    return Read("list commands", /*check=*/{}, [&](SQLite::Database& db, bool) {
      return QueryCommands(db, request);
    });
  }

  absl::StatusOr<std::vector<v1::CommandRecord>> UnfinishedCommands() override {
    return Read("list unfinished commands", /*check=*/{},
                [&](SQLite::Database& db, bool) {
                  return QueryUnfinishedCommands(db);
                });
  }

  absl::StatusOr<v1::ListAuditResponse> ListAudit(
      const v1::ListAuditRequest& request) override {
    EROOM_RETURN_IF_ERROR(RequirePositiveLimit(request.limit()));
    return Read(
        "list the audit trail", /*check=*/{},
        [&](SQLite::Database& db, bool) { return QueryAudit(db, request); });
  }

  absl::StatusOr<std::vector<v1::LogResumePoint>> LogResumePoints(
      const std::string& agent_id) override {
    return Read(absl::StrCat("find where agent '", agent_id, "' logs resume"),
                /*check=*/{}, [&](SQLite::Database& db, bool) {
                  return QueryLogResumePoints(db, agent_id);
                });
  }

  absl::StatusOr<v1::ListRoomsResponse> ListRooms(
      const v1::ListRoomsRequest& request, absl::Time now) override {
    EROOM_RETURN_IF_ERROR(RequirePositiveLimit(request.limit()));
    return Read("list rooms", /*check=*/{}, [&](SQLite::Database& db, bool) {
      return QueryRooms(db, request, now);
    });
  }

  absl::StatusOr<v1::GetRoomResponse> GetRoom(const v1::GetRoomRequest& request,
                                              int32_t event_limit,
                                              absl::Time now) override {
    EROOM_RETURN_IF_ERROR(RequirePositiveLimit(event_limit));
    EROOM_ASSIGN_OR_RETURN(
        std::optional<v1::GetRoomResponse> room,
        Read(absl::StrCat("read room '", request.ruid(), "'"), /*check=*/{},
             [&](SQLite::Database& db, bool) {
               return QueryRoom(db, request, event_limit, now);
             }));
    if (!room.has_value()) return UnknownRoom(request);
    return *std::move(room);
  }

  absl::StatusOr<std::vector<HostDayActivity>> DayActivity(
      const std::vector<std::string>& agent_ids, absl::Time start,
      absl::Time end) override {
    return Read(
        "read a day's activity", /*check=*/{}, [&](SQLite::Database& db, bool) {
          return QueryDayActivity(db, agent_ids, ToMs(start), ToMs(end));
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

  // Runs `query(db, search_index_attached)` on a reader connection, stopped
  // early if `check` says so, mapping a SQLite failure to a status about
  // `what`. A failure with the search index attached may be the index's: the
  // query runs again without it, and if that works the index is rebuilt.
  template <typename Query>
  absl::StatusOr<ReadResult<Query>> Read(absl::string_view what,
                                         const QueryCheck& check, Query query) {
    const bool index_usable = readers_.search_index_usable();
    std::optional<SQLite::Exception> failure;
    try {
      SqliteReaderPool::Lease reader =
          index_usable ? readers_.Acquire()
                       : readers_.AcquireWithoutSearchIndex();
      return RunOn(reader, check, query);
    } catch (const SQLite::Exception& e) {
      if (!index_usable) return SqliteErrorStatus(what, e, kDatabaseKind);
      failure = e;
    }
    try {
      SqliteReaderPool::Lease reader = readers_.AcquireWithoutSearchIndex();
      absl::StatusOr<ReadResult<Query>> result = RunOn(reader, check, query);
      if (result.ok()) SearchIndexFailed(*failure);
      return result;
    } catch (const SQLite::Exception& e) {
      return SqliteErrorStatus(what, e, kDatabaseKind);
    }
  }

  // Runs `query` on `reader`: its result, or why `check` stopped it. Throws
  // SQLite::Exception when it fails.
  template <typename Query>
  static absl::StatusOr<ReadResult<Query>> RunOn(
      SqliteReaderPool::Lease& reader, const QueryCheck& check, Query& query) {
    CheckedQuery checked(reader.db(), check);
    try {
      if constexpr (std::is_invocable_v<Query&, SQLite::Database&, bool,
                                        CheckedQuery&>) {
        return query(reader.db(), reader.search_index_attached(), checked);
      } else {
        return query(reader.db(), reader.search_index_attached());
      }
    } catch (const SQLite::Exception&) {
      if (!checked.stopped_with().ok()) return checked.stopped_with();
      throw;
    }
  }

  // Searches scan until the indexer has rebuilt the index.
  void SearchIndexFailed(const SQLite::Exception& e) {
    if (!readers_.SetSearchIndexUsable(false)) return;  // Known already.
    spdlog::error("{}: {}; searches scan every event while it is rebuilt",
                  SearchIndexPath(path_), e.what());
    indexer_->Rebuild();
  }

  const std::string path_;
  // Outlives the writer's connection, which calls it at each commit.
  const std::unique_ptr<WalCheckpointer> checkpointer_;
  absl::Mutex write_mu_;  // Uncontended: the ingest thread is the only writer.
  std::unique_ptr<SqliteWriter> writer_ ABSL_GUARDED_BY(write_mu_);
  SqliteReaderPool readers_;
  std::shared_ptr<SearchIndexer> indexer_;  // Null without a search index.
};

}  // namespace

absl::StatusOr<std::unique_ptr<Storage>> OpenSqliteStorage(
    const SqliteOptions& options) {
  if (options.path.empty()) {
    return absl::InvalidArgumentError("SQLite database path is empty");
  }
  // Refused before a file of that name is made: ingest acknowledges what it
  // stored, so the database must outlive the process.
  if (options.path == ":memory:") {
    return absl::FailedPreconditionError(
        "SQLite database path is ':memory:'; the collector needs a database "
        "file");
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
  EROOM_ASSIGN_OR_RETURN(SQLite::Database db,
                         OpenWriteConnection(options.path));
  EROOM_ASSIGN_OR_RETURN(std::unique_ptr<WalCheckpointer> checkpointer,
                         WalCheckpointer::Start(options.path));
  checkpointer->Watch(db);
  try {
    db.exec("UPDATE hosts SET connected = 0");
    absl::StatusOr<std::unique_ptr<SearchIndex>> search_index =
        SearchIndex::Open(options.path);
    if (!search_index.ok()) {
      // Searches still work, by scanning; everything else is unaffected.
      spdlog::error("{}; searches scan every event instead",
                    search_index.status().ToString());
    }
    auto writer = std::make_unique<SqliteWriter>(std::move(db));
    writer->FinishPendingBackfills();
    return std::make_unique<SqliteStorage>(
        std::move(checkpointer), std::move(writer), options,
        search_index.ok() ? *std::move(search_index) : nullptr);
  } catch (const SQLite::Exception& e) {
    return SqliteErrorStatus(absl::StrCat("open database ", options.path), e,
                             kDatabaseKind);
  }
}

}  // namespace eroom::collector
