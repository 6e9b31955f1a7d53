#ifndef EROOM_COLLECTOR_SQLITE_SEARCH_INDEX_H_
#define EROOM_COLLECTOR_SQLITE_SEARCH_INDEX_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "SQLiteCpp/Database.h"
#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "collector/sqlite/writer.h"

namespace eroom::collector {

// The substring index over log messages lives in a database file of its own
// beside the collector's database, so that building it never holds that
// database's write lock: the ingest thread stores and acknowledges events at
// the speed of plain inserts, and the index follows on another core. The
// index holds every log event up to a watermark; queries look the indexed
// events up in it and scan the few newer ones (see SearchCondition). It
// lists the terms of blocks of kEventsPerIndexBlock events, not of each
// event: a block's events repeat most of their terms, so it is built in
// less CPU, and a search tests the messages of the blocks that hold every
// term it looks up.
//
// It is derived data: a missing, damaged or foreign index file is rebuilt
// from the events, never a reason to refuse to start; damage found later
// (by a check at start, by indexing or by a search) has it rebuilt in the
// background while searches scan.

// The index file of the collector database at `database_path`.
std::string SearchIndexPath(const std::string& database_path);

// Attaches the index of the collector database at `database_path` to `db`,
// a connection to that database, as kSearchCondition expects it. Throws
// SQLite::Exception.
void AttachSearchIndex(SQLite::Database& db, const std::string& database_path);

// Makes the index's own tokenizer known to `db`, which any connection that
// reads the index's table needs (AttachSearchIndex and SearchIndex do it;
// a connection that opens the index file itself must). Throws
// SQLite::Exception.
void RegisterSearchIndexTokenizer(SQLite::Database& db);

// The trigram index finds substrings of at least this many code points.
inline constexpr size_t kMinIndexedSubstring = 3;

// The index lists the terms of the events with ids from n times this to
// n times this plus this minus one together, for each n.
inline constexpr int64_t kEventsPerIndexBlock = 32;

// The most trigrams a MATCH expression looks up: each costs a pass over the
// events that hold it, and beyond a dozen or so they narrow the candidates
// little more, so that a long text would cost far more than it saves.
inline constexpr size_t kMaxMatchTrigrams = 16;

// The FTS5 MATCH expression selecting the indexed events whose message may
// contain `text`: trigrams of it side by side, at most kMaxMatchTrigrams of
// them spread over it. A superset of the events that contain it (trigrams
// are case-folded and not ordered), which the caller narrows with LIKE.
// Trigrams holding a line break are not indexed, and not looked up.
// nullopt when `text` has no trigram the index holds.
std::optional<std::string> TrigramMatchExpression(const std::string& text);

// How the index narrows a search for a text: `condition`, an SQL condition
// on log_events (its rowid `id`), is true for every event whose message
// contains the text when `match` is bound to its first parameter and a LIKE
// pattern of the text (escaped with '\\') to its second. Of the events
// above the watermark, which the index does not hold, it is true for every
// one. Needs the index attached (AttachSearchIndex).
struct IndexedSearch {
  std::string condition;
  std::string match;
};

// The lookup for `text`: trigrams for three code points or more; for two
// characters of a script written without spaces between words (Hangul, Han,
// kana), such as 실패 or 오류, the index's pairs of them. nullopt for
// anything shorter, which only a scan finds.
std::optional<IndexedSearch> IndexedSearchFor(const std::string& text);

// A search reads first at most this many of the newest events the other
// filters select, testing each message: a word common enough fills the
// page there, in a few milliseconds, where the index would list every
// event that holds it, for as long as the database has grown. Rarer words
// go on to the index.
inline constexpr int kNewestScannedBeforeIndex = 10'000;
// ... and at most about this many steps of SQLite's virtual machine (a few
// milliseconds) reading them.
inline constexpr int64_t kNewestScanSteps = 400'000;

struct SearchIndexProgress {
  int64_t indexed_through = 0;  // Highest log event id in the index.
  int64_t newest_event = 0;     // Highest log event id in the database.
};

// How far the index of the collector database at `database_path` is, read
// through a connection of its own (any thread, any process).
absl::StatusOr<SearchIndexProgress> ReadSearchIndexProgress(
    const std::string& database_path);

// Builds the index. Not thread-safe: one owner, normally SearchIndexer.
class SearchIndex {
 public:
  // Opens (creating, or rebuilding when it is damaged or belongs to another
  // database) the index of the collector database at `database_path`, whose
  // schema must be current.
  static absl::StatusOr<std::unique_ptr<SearchIndex>> Open(
      const std::string& database_path);
  // Replaces the index file with a new, empty one.
  static absl::StatusOr<std::unique_ptr<SearchIndex>> Rebuild(
      const std::string& database_path);

  // SQLite's quick check of the index file: DataLoss naming it if it is
  // damaged. Gives up (OK) once `stop_early` says so or after about a
  // minute's work: the check is a courtesy, searches fall back anyway.
  absl::Status QuickCheck(const std::function<bool()>& stop_early);

  // Adds up to `max_events` log events above the watermark (fewer when they
  // are large) to the index and moves the watermark past them, in one
  // transaction (the block at the watermark is written again whole). Returns
  // how many were added: 0 once the index has caught up, or when `stop_early`
  // said so first (the transaction is rolled back).
  absl::StatusOr<int> IndexNext(int max_events,
                                const std::function<bool()>& stop_early);

  // Removes from the index the blocks `events`, deleted from the database,
  // leave without events, in one transaction. A block that keeps events
  // keeps its terms.
  absl::Status Forget(const std::vector<RemovedLogEvent>& events);

 private:
  SearchIndex(std::string path, std::unique_ptr<SQLite::Database> db);

  const std::string path_;
  std::unique_ptr<SQLite::Database> db_;
};

// The thread that keeps a SearchIndex caught up: it indexes what is pending
// once enough has come or a moment has passed since the first of it (each
// transaction has a fixed cost, and searches scan what is not indexed yet),
// in transactions small enough to stop promptly. It checks the index first,
// and rebuilds it when it is damaged or when asked to.
//
// It runs at idle priority, so that storing never waits for indexing; on a
// busy machine it may then get no CPU for seconds, even to stop. What it is
// doing then is derived data (a transaction of the index, rolled back and
// redone at the next start), so Stop waits for it only a moment and then
// leaves it to end with the process: the thread owns a reference to the
// indexer for that.
class SearchIndexer {
 public:
  // Starts indexing the collector database at `database_path`. A few
  // pending events wait at most `round_delay` for more to join them.
  // `on_usable(false)` is called before the index is replaced,
  // `on_usable(true)` once a new one is in place (on the indexer's thread),
  // never after Stop returned.
  static std::shared_ptr<SearchIndexer> Start(
      std::unique_ptr<SearchIndex> index, std::string database_path,
      absl::Duration round_delay, std::function<void(bool usable)> on_usable);
  SearchIndexer(const SearchIndexer&) = delete;
  SearchIndexer& operator=(const SearchIndexer&) = delete;
  ~SearchIndexer();

  // Stops the thread after its current transaction, waiting for it at most
  // `wait`. Once.
  void Stop(absl::Duration wait);

  // `events` more log events were committed. Never blocks.
  void Notify(int64_t events);

  // The index failed a search: replace it. Never blocks.
  void Rebuild();

  // `events` were deleted from the database: the index forgets them at its
  // next round. Never blocks. Beyond kMaxForgetEvents waiting, more are
  // dropped: searches never show deleted events anyway, and a rebuild
  // reclaims the space their index rows keep.
  void Forget(std::vector<RemovedLogEvent> events);
  static constexpr size_t kMaxForgetEvents = 8 << 20;

 private:
  SearchIndexer(std::unique_ptr<SearchIndex> index, std::string database_path,
                absl::Duration round_delay,
                std::function<void(bool usable)> on_usable);
  void Run();
  // Calls on_usable_ unless stopping.
  void SetUsable(bool usable);
  // Replaces the index with an empty one; false if that failed.
  bool RebuildIndex();
  bool stopping() const;

  std::unique_ptr<SearchIndex> index_;  // Owned by the thread.
  const std::string database_path_;
  const absl::Duration round_delay_;
  const std::function<void(bool usable)> on_usable_;
  mutable absl::Mutex mu_;
  // Log events committed since the last round; what is there at start
  // counts as a full round.
  int64_t pending_ ABSL_GUARDED_BY(mu_);
  std::vector<RemovedLogEvent> to_forget_ ABSL_GUARDED_BY(mu_);
  bool forget_overflowed_ ABSL_GUARDED_BY(mu_) = false;
  bool rebuild_requested_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::Notification finished_;
  std::thread thread_;
};

}  // namespace eroom::collector

#endif  // EROOM_COLLECTOR_SQLITE_SEARCH_INDEX_H_
