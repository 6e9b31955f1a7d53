#include "collector/sqlite/search_index.h"

#include <pthread.h>
#include <sched.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "SQLiteCpp/Statement.h"
#include "SQLiteCpp/Transaction.h"
#include "absl/cleanup/cleanup.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"
#include "collector/sqlite/checked_query.h"
#include "collector/sqlite/schema.h"
#include "common/logging.h"
#include "common/sqlite_setup.h"
#include "common/sqlite_status.h"
#include "re2/re2.h"
#include "spdlog/spdlog.h"

namespace eroom::collector {
namespace {

constexpr char kIndexKind[] = "eroom-collector search index";

// Any other version in an index file is rebuilt, never migrated: the index
// is derived from the events.
constexpr int kIndexFormat = 2;

// The trigram tokenizer indexes every three code points, case-folded, so
// Korean works too. detail=none keeps only which rows hold a trigram, not
// where: half the size and twice the speed of full detail; the MATCH
// expression is therefore an AND of single trigrams, and LIKE on the
// event's message does the exact test. The index stores no text of its own
// (content=''): the events' database has it.
constexpr char kIndexSchema[] = R"sql(
CREATE VIRTUAL TABLE log_messages USING fts5 (
  message, content = '', tokenize = 'trigram', detail = none, columnsize = 0
);
-- Merge index segments in larger, rarer steps than the defaults (4 and 16):
-- a third more indexing throughput, no measurable cost to queries.
INSERT INTO log_messages (log_messages, rank) VALUES ('automerge', 16);
INSERT INTO log_messages (log_messages, rank) VALUES ('crisismerge', 64);
-- Two-character words of Hangul, Han and kana (실패, 오류), shorter than a
-- trigram: each message's adjacent pairs of those characters, as words.
CREATE VIRTUAL TABLE log_pairs USING fts5 (
  pairs, content = '', tokenize = 'unicode61 remove_diacritics 0',
  detail = none, columnsize = 0
);
INSERT INTO log_pairs (log_pairs, rank) VALUES ('automerge', 16);
INSERT INTO log_pairs (log_pairs, rank) VALUES ('crisismerge', 64);
CREATE TABLE index_state (
  singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
  store_id TEXT NOT NULL,  -- store_identity.id of the events' database
  indexed_through INTEGER NOT NULL  -- highest log_events.id indexed
);
INSERT INTO index_state VALUES (1, '', 0);
)sql";

// An indexing round starts once this many log events are pending (or the
// indexer's round delay after the first of them).
constexpr int64_t kEventsPerRound = 5000;

void Attach(SQLite::Database& db, const std::string& path, const char* schema) {
  SQLite::Statement attach(db, absl::StrCat("ATTACH DATABASE ? AS ", schema));
  attach.bind(1, path);
  attach.exec();
}

bool IsDamaged(const SQLite::Exception& e) {
  const int code = e.getErrorCode() & 0xff;
  return code == SQLITE_CORRUPT || code == SQLITE_NOTADB;
}

void RemoveIndexFiles(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::error_code ignored;  // Absent files are what we want.
    std::filesystem::remove(path + suffix, ignored);
  }
}

// Opens the index file, creating its schema, with the events' database
// attached. Throws SQLite::Exception.
std::unique_ptr<SQLite::Database> OpenIndexFile(
    const std::string& path, const std::string& database_path) {
  if (absl::Status kept = KeepOwnerOnly(path); !kept.ok()) {
    throw SQLite::Exception(std::string(kept.message()), SQLITE_CANTOPEN);
  }
  auto db = std::make_unique<SQLite::Database>(
      path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_NOMUTEX,
      kBusyTimeoutMs);
  UseLargePagesIfNew(*db);
  db->exec("PRAGMA journal_mode = WAL");
  // A power loss may take the last transactions back, watermark included;
  // the index then repeats them. Fsyncs would only slow it down.
  db->exec("PRAGMA synchronous = NORMAL");
  int format = db->execAndGet("PRAGMA user_version").getInt();
  if (format != kIndexFormat) {
    if (format != 0 || db->tableExists("index_state")) {
      spdlog::warn("{}: index format {} is not {}; rebuilding it", path, format,
                   kIndexFormat);
      db.reset();
      RemoveIndexFiles(path);
      if (std::filesystem::exists(path)) {
        throw SQLite::Exception("cannot remove the outdated index file",
                                SQLITE_CANTOPEN);
      }
      return OpenIndexFile(path, database_path);
    }
    SQLite::Transaction txn(*db);
    db->exec(kIndexSchema);
    db->exec(absl::StrCat("PRAGMA user_version = ", kIndexFormat));
    txn.commit();
  }
  Attach(*db, database_path, "events");
  // Integrity of what is about to be trusted: a damaged page shows here
  // rather than in the middle of ingest.
  db->exec("SELECT count(*) FROM index_state");
  return db;
}

// Empties the index when it was built from another database (a restored
// backup, a copied file) or from rows the database no longer has.
void ResetIfForeign(SQLite::Database& db, const std::string& path) {
  SQLite::Transaction txn(db);
  const std::string store_id =
      db.execAndGet("SELECT id FROM events.store_identity").getString();
  SQLite::Statement state(db,
                          "SELECT store_id, indexed_through FROM index_state");
  state.executeStep();
  const std::string indexed_store = state.getColumn(0).getString();
  const int64_t indexed_through = state.getColumn(1).getInt64();
  state.reset();
  const int64_t newest =
      db.execAndGet("SELECT coalesce(max(id), 0) FROM events.log_events")
          .getInt64();
  if (indexed_store == store_id && indexed_through <= newest) return;
  if (!indexed_store.empty()) {
    spdlog::warn(
        "{}: built from another database or an older copy of this one; "
        "rebuilding it",
        path);
  }
  db.exec("INSERT INTO log_messages (log_messages) VALUES ('delete-all')");
  db.exec("INSERT INTO log_pairs (log_pairs) VALUES ('delete-all')");
  SQLite::Statement reset(
      db, "UPDATE index_state SET store_id = ?, indexed_through = 0");
  reset.bind(1, store_id);
  reset.exec();
  txn.commit();
}

// The code points of UTF-8 `text`, each as its bytes.
std::vector<std::string> CodePoints(const std::string& text) {
  std::vector<std::string> points;
  for (char c : text) {
    if (points.empty() || (static_cast<unsigned char>(c) & 0xC0) != 0x80) {
      points.emplace_back();
    }
    points.back().push_back(c);
  }
  return points;
}

// The first `count` code points of UTF-8 `text`; "" if it has fewer.
absl::string_view CodePointPrefix(absl::string_view text, size_t count) {
  size_t points = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) continue;
    if (points++ == count) return text.substr(0, i);
  }
  return points == count ? text : absl::string_view();
}

// Characters of the scripts written without spaces between words, whose
// two-character words the pair index finds.
constexpr char kUnspacedCharacter[] =
    R"([\p{Hangul}\p{Han}\p{Hiragana}\p{Katakana}])";

// What the pair index holds of `message`: each distinct pair of adjacent
// unspaced characters, as words separated by spaces ("" when none).
std::string CharacterPairs(const std::string& message) {
  static const RE2 kRun(absl::StrCat("(", kUnspacedCharacter, "{2,})"));
  re2::StringPiece input(message);
  re2::StringPiece run;
  absl::flat_hash_set<std::string> seen;
  std::string pairs;
  while (RE2::FindAndConsume(&input, kRun, &run)) {
    const std::vector<std::string> points = CodePoints(run.as_string());
    for (size_t i = 0; i + 1 < points.size(); ++i) {
      std::string pair = absl::StrCat(points[i], points[i + 1]);
      if (!seen.insert(pair).second) continue;
      if (!pairs.empty()) pairs.push_back(' ');
      pairs += pair;
    }
  }
  return pairs;
}

// An FTS5 MATCH expression of one token, quoted.
std::string QuotedToken(absl::string_view token) {
  return absl::StrCat("\"", absl::StrReplaceAll(token, {{"\"", "\"\""}}), "\"");
}

// A CheckedQuery's check that stops what runs once `stop_early` says so.
QueryCheck StopWhen(const std::function<bool()>& stop_early) {
  return [&stop_early] {
    return stop_early() ? absl::CancelledError("stopping") : absl::OkStatus();
  };
}

bool Interrupted(const SQLite::Exception& e) {
  return (e.getErrorCode() & 0xff) == SQLITE_INTERRUPT;
}

}  // namespace

std::string SearchIndexPath(const std::string& database_path) {
  return database_path + ".search";
}

void AttachSearchIndex(SQLite::Database& db, const std::string& database_path) {
  Attach(db, SearchIndexPath(database_path), "search");
}

std::optional<std::string> TrigramMatchExpression(const std::string& text) {
  const std::vector<std::string> points = CodePoints(text);
  if (points.size() < kMinIndexedSubstring) return std::nullopt;
  // Trigrams side by side cover every character of `text`; the last one is
  // moved back to end with it. The rest add little selectivity and each
  // costs a lookup.
  std::vector<size_t> starts;
  for (size_t start = 0; start + kMinIndexedSubstring <= points.size();
       start += kMinIndexedSubstring) {
    starts.push_back(start);
  }
  if (starts.back() + kMinIndexedSubstring != points.size()) {
    starts.push_back(points.size() - kMinIndexedSubstring);
  }
  if (starts.size() > kMaxMatchTrigrams) {
    std::vector<size_t> spread;
    for (size_t i = 0; i < kMaxMatchTrigrams; ++i) {
      spread.push_back(
          starts[i * (starts.size() - 1) / (kMaxMatchTrigrams - 1)]);
    }
    starts = std::move(spread);
  }
  std::vector<std::string> terms;
  for (size_t start : starts) {
    terms.push_back(QuotedToken(
        absl::StrCat(points[start], points[start + 1], points[start + 2])));
  }
  return absl::StrJoin(terms, " AND ");
}

std::optional<IndexedSearch> IndexedSearchFor(const std::string& text) {
  // The events the index's `table` lists for the bound MATCH, and every
  // event above the watermark.
  const auto condition = [](absl::string_view table) {
    return absl::StrCat("(id IN (SELECT rowid FROM search.", table, " WHERE ",
                        table,
                        " MATCH ?) OR id > (SELECT indexed_through FROM "
                        "search.index_state))");
  };
  if (std::optional<std::string> match = TrigramMatchExpression(text)) {
    return IndexedSearch{.condition = condition("log_messages"),
                         .match = *std::move(match)};
  }
  static const RE2 kPair(absl::StrCat(kUnspacedCharacter, "{2}"));
  if (RE2::FullMatch(text, kPair)) {
    return IndexedSearch{.condition = condition("log_pairs"),
                         .match = QuotedToken(text)};
  }
  return std::nullopt;
}

SearchIndex::SearchIndex(std::string path, std::unique_ptr<SQLite::Database> db)
    : path_(std::move(path)), db_(std::move(db)) {}

absl::StatusOr<std::unique_ptr<SearchIndex>> SearchIndex::Open(
    const std::string& database_path) {
  const std::string path = SearchIndexPath(database_path);
  for (int attempt = 0;; ++attempt) {
    try {
      std::unique_ptr<SQLite::Database> db = OpenIndexFile(path, database_path);
      ResetIfForeign(*db, path);
      return std::unique_ptr<SearchIndex>(new SearchIndex(path, std::move(db)));
    } catch (const SQLite::Exception& e) {
      if (attempt == 0 && IsDamaged(e)) {
        spdlog::warn("{}: damaged ({}); rebuilding it", path, e.what());
        RemoveIndexFiles(path);
        continue;
      }
      return SqliteErrorStatus(absl::StrCat("open ", path), e, kIndexKind);
    }
  }
}

absl::StatusOr<std::unique_ptr<SearchIndex>> SearchIndex::Rebuild(
    const std::string& database_path) {
  const std::string path = SearchIndexPath(database_path);
  RemoveIndexFiles(path);
  if (std::filesystem::exists(path)) {
    return absl::InternalError(
        absl::StrCat("rebuild ", path, ": cannot remove the damaged file"));
  }
  return Open(database_path);
}

absl::Status SearchIndex::QuickCheck(const std::function<bool()>& stop_early) {
  const QueryCheck check = StopWhen(stop_early);
  CheckedQuery checked(*db_, check);
  // SQLite's virtual machine runs some hundred million steps a second.
  checked.LimitSteps(6'000'000'000);
  absl::Status status;
  try {
    // main only: the events' database is attached too.
    SQLite::Statement check(*db_, "PRAGMA main.quick_check");
    std::vector<std::string> problems;
    while (check.executeStep()) {
      std::string line = check.getColumn(0).getString();
      if (line != "ok") problems.push_back(std::move(line));
    }
    if (!problems.empty()) {
      status = absl::DataLossError(absl::StrCat(
          path_, ": damaged (", absl::StrJoin(problems, "; "), ")"));
    }
  } catch (const SQLite::Exception& e) {
    if (!Interrupted(e)) {
      status = SqliteErrorStatus(absl::StrCat("check ", path_), e, kIndexKind);
    }
  }
  return status;
}

absl::StatusOr<int> SearchIndex::IndexNext(
    int max_events, const std::function<bool()>& stop_early) {
  // Rows are copied out in a statement of their own and indexed after it:
  // a snapshot of the events' database held through the slow part would
  // keep that database's write-ahead log from starting over, and this
  // thread may wait long for a CPU.
  constexpr size_t kMaxBytes = 8 << 20;  // Events may hold up to 64 KiB.
  std::vector<std::pair<int64_t, std::string>> events;
  try {
    SQLite::Statement next(*db_, R"sql(
        SELECT id, message FROM events.log_events
        WHERE id > (SELECT indexed_through FROM index_state)
        ORDER BY id LIMIT ?1)sql");
    next.bind(1, max_events);
    size_t bytes = 0;
    while (bytes < kMaxBytes && next.executeStep()) {
      events.emplace_back(next.getColumn(0).getInt64(),
                          next.getColumn(1).getString());
      bytes += events.back().second.size();
    }
    next.reset();
    if (events.empty()) return 0;
    // Large events take seconds to index: a stop must not wait for them.
    const QueryCheck check = StopWhen(stop_early);
    CheckedQuery checked(*db_, check);
    SQLite::Transaction txn(*db_);
    SQLite::Statement add(
        *db_, "INSERT INTO log_messages (rowid, message) VALUES (?1, ?2)");
    SQLite::Statement add_pairs(
        *db_, "INSERT INTO log_pairs (rowid, pairs) VALUES (?1, ?2)");
    for (const auto& [id, message] : events) {
      add.reset();
      add.bind(1, id);
      add.bindNoCopy(2, message);
      add.exec();
      const std::string pairs = CharacterPairs(message);
      if (pairs.empty()) continue;
      add_pairs.reset();
      add_pairs.bind(1, id);
      add_pairs.bindNoCopy(2, pairs);
      add_pairs.exec();
    }
    SQLite::Statement advance(*db_,
                              "UPDATE index_state SET indexed_through = ?1");
    advance.bind(1, events.back().first);
    advance.exec();
    txn.commit();
    return static_cast<int>(events.size());
  } catch (const SQLite::Exception& e) {
    if (Interrupted(e)) return 0;
    return SqliteErrorStatus(absl::StrCat("index log messages into ", path_), e,
                             kIndexKind);
  }
}

absl::Status SearchIndex::Forget(const std::vector<RemovedLogEvent>& events) {
  try {
    SQLite::Transaction txn(*db_);
    // The index stores no text: deleting a row takes the text it was
    // indexed with, and deleting a row it never held damages it. An event
    // below the watermark may never have been indexed: deleted before the
    // indexer read it. Each table is asked whether it holds the event, by
    // one of the event's own tokens; a message with none left no row.
    SQLite::Statement holds_message(*db_, R"sql(
        SELECT 1 FROM log_messages WHERE log_messages MATCH ?1 AND rowid = ?2
        )sql");
    SQLite::Statement remove_message(*db_, R"sql(
        INSERT INTO log_messages (log_messages, rowid, message)
        VALUES ('delete', ?1, ?2))sql");
    SQLite::Statement holds_pairs(*db_, R"sql(
        SELECT 1 FROM log_pairs WHERE log_pairs MATCH ?1 AND rowid = ?2)sql");
    SQLite::Statement remove_pairs(*db_, R"sql(
        INSERT INTO log_pairs (log_pairs, rowid, pairs)
        VALUES ('delete', ?1, ?2))sql");
    const auto forget = [](SQLite::Statement& holds, SQLite::Statement& remove,
                           int64_t id, const std::string& token,
                           const std::string& text) {
      holds.reset();
      holds.bind(1, QuotedToken(token));
      holds.bind(2, id);
      if (!holds.executeStep()) return;
      remove.reset();
      remove.bind(1, id);
      remove.bindNoCopy(2, text);
      remove.exec();
    };
    const int64_t indexed_through =
        db_->execAndGet("SELECT indexed_through FROM index_state").getInt64();
    for (const RemovedLogEvent& event : events) {
      if (event.id > indexed_through) continue;
      const absl::string_view first_trigram =
          CodePointPrefix(event.message, kMinIndexedSubstring);
      if (!first_trigram.empty()) {
        forget(holds_message, remove_message, event.id,
               std::string(first_trigram), event.message);
      }
      const std::string pairs = CharacterPairs(event.message);
      if (!pairs.empty()) {
        forget(holds_pairs, remove_pairs, event.id,
               pairs.substr(0, pairs.find(' ')), pairs);
      }
    }
    txn.commit();
    return absl::OkStatus();
  } catch (const SQLite::Exception& e) {
    return SqliteErrorStatus(
        absl::StrCat("remove deleted log events from ", path_), e, kIndexKind);
  }
}

absl::StatusOr<SearchIndexProgress> ReadSearchIndexProgress(
    const std::string& database_path) {
  const std::string path = SearchIndexPath(database_path);
  try {
    SQLite::Database db(path, SQLite::OPEN_READONLY, kBusyTimeoutMs);
    Attach(db, database_path, "events");
    SQLite::Statement query(db, R"sql(
        SELECT (SELECT indexed_through FROM index_state),
               (SELECT coalesce(max(id), 0) FROM events.log_events))sql");
    query.executeStep();
    return SearchIndexProgress{.indexed_through = query.getColumn(0).getInt64(),
                               .newest_event = query.getColumn(1).getInt64()};
  } catch (const SQLite::Exception& e) {
    return SqliteErrorStatus(absl::StrCat("read the progress of ", path), e,
                             kIndexKind);
  }
}

std::shared_ptr<SearchIndexer> SearchIndexer::Start(
    std::unique_ptr<SearchIndex> index, std::string database_path,
    absl::Duration round_delay, std::function<void(bool usable)> on_usable) {
  std::shared_ptr<SearchIndexer> indexer(
      new SearchIndexer(std::move(index), std::move(database_path), round_delay,
                        std::move(on_usable)));
  indexer->thread_ = std::thread([indexer] { indexer->Run(); });
  return indexer;
}

SearchIndexer::SearchIndexer(std::unique_ptr<SearchIndex> index,
                             std::string database_path,
                             absl::Duration round_delay,
                             std::function<void(bool usable)> on_usable)
    : index_(std::move(index)),
      database_path_(std::move(database_path)),
      round_delay_(round_delay),
      on_usable_(std::move(on_usable)),
      pending_(kEventsPerRound) {}

SearchIndexer::~SearchIndexer() {
  // The last reference may be the thread's own, after Stop left it.
  if (thread_.joinable()) thread_.detach();
}

void SearchIndexer::Stop(absl::Duration wait) {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  // At idle priority the thread gets next to no CPU while other work keeps
  // the cores busy, and could not stop in time: it stops at the normal one.
  // Only a privileged process may raise it; others wait as they are.
  const sched_param normal{.sched_priority = 0};
  if (thread_.joinable()) {
    pthread_setschedparam(thread_.native_handle(), SCHED_OTHER, &normal);
  }
  if (finished_.WaitForNotificationWithTimeout(wait)) {
    thread_.join();
    return;
  }
  spdlog::info(
      "{}: the indexer got no CPU to stop within {}; its transaction rolls "
      "back with the process and is redone at the next start",
      SearchIndexPath(database_path_), absl::FormatDuration(wait));
  thread_.detach();
}

void SearchIndexer::Notify(int64_t events) {
  absl::MutexLock lock(&mu_);
  pending_ += events;
}

void SearchIndexer::Rebuild() {
  absl::MutexLock lock(&mu_);
  rebuild_requested_ = true;
}

void SearchIndexer::Forget(std::vector<RemovedLogEvent> events) {
  absl::MutexLock lock(&mu_);
  for (RemovedLogEvent& event : events) {
    if (to_forget_bytes_ + event.message.size() > kMaxForgetBytes) {
      if (!forget_overflowed_) {
        spdlog::warn(
            "{}: too many deleted log events wait to leave the index; it "
            "keeps some until it is rebuilt",
            SearchIndexPath(database_path_));
      }
      forget_overflowed_ = true;
      return;
    }
    to_forget_bytes_ += event.message.size();
    to_forget_.push_back(std::move(event));
  }
}

bool SearchIndexer::stopping() const {
  absl::MutexLock lock(&mu_);
  return stopping_;
}

void SearchIndexer::SetUsable(bool usable) {
  absl::MutexLock lock(&mu_);
  if (!stopping_) on_usable_(usable);
}

bool SearchIndexer::RebuildIndex() {
  SetUsable(false);
  index_.reset();
  absl::StatusOr<std::unique_ptr<SearchIndex>> rebuilt =
      SearchIndex::Rebuild(database_path_);
  if (!rebuilt.ok()) {
    spdlog::error("{}; searches scan every event instead",
                  rebuilt.status().ToString());
    return false;
  }
  index_ = *std::move(rebuilt);
  SetUsable(true);
  spdlog::info("{}: rebuilt; every event is indexed again",
               SearchIndexPath(database_path_));
  return true;
}

void SearchIndexer::Run() {
  SetThreadName("search-index");
  absl::Cleanup notify_finished = [this] { finished_.Notify(); };
  // Storing and acknowledging events comes first: the index takes only CPU
  // time nothing else wants, and on a busy machine falls behind instead.
  const sched_param idle{.sched_priority = 0};
  sched_setscheduler(gettid(), SCHED_IDLE, &idle);
  // Damage the opening did not see (pages of the index's own tables) would
  // otherwise show only in searches.
  if (absl::Status check = index_->QuickCheck([this] { return stopping(); });
      !check.ok()) {
    spdlog::error("{}; rebuilding it", check.ToString());
    RebuildIndex();
  }
  // Small enough that a stop waits at most about a tenth of a second.
  constexpr int kEventsPerTransaction = 20000;
  bool failing = false;
  std::vector<RemovedLogEvent> to_forget;
  while (true) {
    bool rebuild;
    {
      absl::MutexLock lock(&mu_);
      auto has_work = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
        return pending_ > 0 || !to_forget_.empty() || rebuild_requested_ ||
               stopping_;
      };
      auto round_due = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
        return pending_ >= kEventsPerRound || rebuild_requested_ || stopping_;
      };
      mu_.Await(absl::Condition(&has_work));
      mu_.AwaitWithTimeout(absl::Condition(&round_due), round_delay_);
      if (stopping_) return;
      pending_ = 0;
      rebuild = rebuild_requested_;
      rebuild_requested_ = false;
      to_forget.swap(to_forget_);
      to_forget_bytes_ = 0;
      forget_overflowed_ = false;
    }
    // Without an index (its rebuild failed), every round tries again.
    if ((rebuild || index_ == nullptr) && !RebuildIndex()) continue;
    if (!to_forget.empty()) {
      // A failure leaves index rows of deleted events, which searches never
      // show: not worth a rebuild.
      if (absl::Status forgot = index_->Forget(to_forget); !forgot.ok()) {
        spdlog::error("{}", forgot.ToString());
      }
      to_forget.clear();
    }
    while (true) {
      absl::StatusOr<int> added = index_->IndexNext(
          kEventsPerTransaction, [this] { return stopping(); });
      if (!added.ok()) {
        // Once a round: a damaged events' database fails the new index too.
        if (absl::IsDataLoss(added.status()) && !rebuild) {
          spdlog::error("{}; rebuilding it", added.status().ToString());
          rebuild = true;
          if (!RebuildIndex()) break;
          continue;
        }
        // Retried at the next commit; said once, and again once it works.
        if (!failing) {
          spdlog::error("{}; searches scan the events not yet indexed",
                        added.status().ToString());
        }
        failing = true;
        break;
      }
      if (failing) spdlog::info("search index works again");
      failing = false;
      absl::MutexLock lock(&mu_);
      if (*added == 0 || stopping_) break;
    }
  }
}

}  // namespace eroom::collector
