#include "collector/sqlite/search_index.h"

#include <pthread.h>
#include <sched.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "SQLiteCpp/Statement.h"
#include "SQLiteCpp/Transaction.h"
#include "absl/base/attributes.h"
#include "absl/cleanup/cleanup.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"
#include "collector/sqlite/checked_query.h"
#include "collector/sqlite/schema.h"
#include "common/logging.h"
#include "common/sqlite_setup.h"
#include "common/sqlite_status.h"
#include "common/utf8.h"
#include "re2/re2.h"
#include "spdlog/spdlog.h"

namespace eroom::collector {
namespace {

constexpr char kIndexKind[] = "eroom-collector search index";

// Any other version in an index file is rebuilt, never migrated: the index
// is derived from the events. 5: blocks of 32 events (4 had blocks of 16).
constexpr int kIndexFormat = 5;
static_assert(kEventsPerIndexBlock == 32,
              "rows of blocks of another size need another kIndexFormat");

// The separator of the terms in a block's row.
constexpr char kTermSeparator = '\n';

// Whether an index term may not hold `c`: the separator, and the one
// character SQLite text cannot carry. Every other character may belong to
// a term.
bool IsTermSeparator(char c) { return c == kTermSeparator || c == '\0'; }

// The index's tokenizer: each term of a row (between separators) is one
// token, ASCII case-folded in queries as LIKE folds; the rows hold the terms
// BlockTerms wrote, folded already. FTS5's ascii tokenizer, told that every
// other character belongs to a term, gave the same tokens but classified,
// folded and copied each byte: this takes a seventeenth off the index
// thread's instructions (callgrind).
constexpr char kTermTokenizer[] = "eroom_terms";

int TokenizeTerms(Fts5Tokenizer* /*tokenizer*/, void* context, int flags,
                  const char* text, int size,
                  int (*add_token)(void*, int, const char*, int, int, int)) {
  const bool fold = (flags & FTS5_TOKENIZE_QUERY) != 0;
  std::string folded;
  for (int start = 0; start < size;) {
    int end = start;
    while (end < size && !IsTermSeparator(text[end])) ++end;
    if (end > start) {
      const char* term = text + start;
      if (fold) {
        folded.assign(term, end - start);
        absl::AsciiStrToLower(&folded);
        term = folded.data();
      }
      const int status = add_token(context, 0, term, end - start, start, end);
      if (status != SQLITE_OK) return status;
    }
    start = end + 1;
  }
  return SQLITE_OK;
}

// One row per block of kEventsPerIndexBlock consecutive event ids (rowid:
// the id divided by it) lists the distinct terms of its events' messages:
// every three characters (code points, so Korean works), and every two
// adjacent characters of the scripts written without spaces (실패, 오류,
// 失敗), which are words shorter than a trigram. Log lines repeat their
// words, so a block of 32 lists about 10 terms an event of a generated log,
// where blocks of 16 listed 18 and one row per event 39: each costs FTS5 a
// hash entry, and blocks of 32 took a quarter off the index thread's
// instructions against 16. The price: a search tests the messages of the
// blocks' other events too, so a text in one event of a few thousand reads
// more rows; at 32 that did not show on ten million events, at 64 such a
// search took a third longer (README). detail=none keeps only which rows
// hold a term, not where: the MATCH expression is an AND of single terms.
// The index keeps each row's text, so that a row can be deleted after its
// events are: it takes 1.4 times the space of one row per event.
std::string IndexSchema() {
  return absl::StrCat(R"sql(
CREATE VIRTUAL TABLE log_terms USING fts5 (
  terms, tokenize = )sql",
                      kTermTokenizer, R"sql(, detail = none, columnsize = 0
);
-- Merge index segments in larger, rarer steps than the defaults (4 and 16):
-- a third more indexing throughput, no measurable cost to queries.
INSERT INTO log_terms (log_terms, rank) VALUES ('automerge', 16);
INSERT INTO log_terms (log_terms, rank) VALUES ('crisismerge', 64);
CREATE TABLE index_state (
  singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
  store_id TEXT NOT NULL,  -- store_identity.id of the events' database
  indexed_through INTEGER NOT NULL  -- highest log_events.id indexed
);
INSERT INTO index_state VALUES (1, '', 0);
)sql");
}

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
  RegisterSearchIndexTokenizer(*db);
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
    db->exec(IndexSchema());
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
  db.exec("DELETE FROM log_terms");
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
    if (points.empty() || !IsUtf8ContinuationByte(c)) points.emplace_back();
    points.back().push_back(c);
  }
  return points;
}

// Characters of the scripts written without spaces between words, whose
// two-character words the index holds.
constexpr char kUnspacedCharacter[] =
    R"([\p{Hangul}\p{Han}\p{Hiragana}\p{Katakana}])";

// A character of a message: where its bytes start, and its code point, or
// kOddCharacter if they are not the UTF-8 of one.
struct Character {
  size_t start = 0;
  char32_t point = 0;
  bool unspaced = false;  // Of a script written without spaces.
};
constexpr char32_t kOddCharacter = 0xFFFFFFFF;

// The code point of the UTF-8 `bytes` of one character (a lead byte and its
// continuation bytes), or kOddCharacter if they are not well-formed UTF-8 of
// one.
char32_t CodePointOf(absl::string_view bytes) {
  const std::optional<Utf8Character> character = FirstUtf8Character(bytes);
  return character.has_value() && character->bytes == bytes.size()
             ? character->code_point
             : kOddCharacter;
}

// Whether the character of code point `point` and UTF-8 `bytes` is of a
// script written without spaces. Logs use a few thousand characters over and
// over: each of the Basic Multilingual Plane's is classified once.
bool IsUnspaced(char32_t point, absl::string_view bytes) {
  static const RE2 kCharacter(kUnspacedCharacter);
  const auto classify = [&bytes] {
    return RE2::FullMatch(re2::StringPiece(bytes.data(), bytes.size()),
                          kCharacter);
  };
  constexpr char32_t kPlane = 0x10000;
  if (point >= kPlane) return point != kOddCharacter && classify();
  enum : uint8_t { kUnclassified, kSpaced, kUnspaced };
  thread_local std::vector<uint8_t> classified(kPlane, kUnclassified);
  uint8_t& known = classified[point];
  if (known == kUnclassified) known = classify() ? kUnspaced : kSpaced;
  return known == kUnspaced;
}

// The distinct terms of a block's messages, as the text of its index row.
class BlockTerms {
 public:
  // Adds the terms of `message`, case-folded already, which must outlive
  // the terms' next Clear.
  void Add(absl::string_view message) {
    // Lines repeat whole within a block (a status polled, a warning
    // retried): on the generated log, 38 % of the messages in blocks of 32.
    // A repeat has no term its first time did not add.
    if (!messages_.insert(message).second) return;
    // The last three characters, the newest last.
    Character first;
    Character second;
    Character third;
    size_t characters = 0;  // Since the start or the last separator.
    size_t i = 0;
    while (i < message.size() && IsUtf8ContinuationByte(message[i])) ++i;
    while (i < message.size()) {
      first = second;
      second = third;
      third.start = i++;
      while (i < message.size() && IsUtf8ContinuationByte(message[i])) ++i;
      if (IsTermSeparator(message[third.start])) {
        characters = 0;
        continue;
      }
      const absl::string_view bytes =
          message.substr(third.start, i - third.start);
      third.point = CodePointOf(bytes);
      third.unspaced = third.point >= 0x80 && IsUnspaced(third.point, bytes);
      ++characters;
      if (characters >= 2 && second.unspaced && third.unspaced) {
        AddPair(message.substr(second.start, i - second.start), second.point,
                third.point);
      }
      if (characters >= 3) {
        AddTrigram(message.substr(first.start, i - first.start), first.point,
                   second.point, third.point);
      }
      if (characters >= 2 && (second.point | third.point) < 0x80) {
        const size_t run_end =
            AddAsciiRun(message, i, second.point << 7 | third.point);
        if (run_end == i) continue;
        characters += run_end - i;
        i = run_end;
        const auto ascii = [&message](size_t at) {
          return Character{.start = at,
                           .point = static_cast<uint8_t>(message[at]),
                           .unspaced = false};
        };
        first = ascii(i - 3);
        second = ascii(i - 2);
        third = ascii(i - 1);
      }
    }
  }

  const std::string& text() const { return text_; }

  // Empties the terms, keeping the memory for the next block's.
  void Clear() {
    for (uint32_t trigram : ascii_trigrams_) {
      seen_ascii_[trigram / kBitsPerWord] = 0;
    }
    ascii_trigrams_.clear();
    // Blocks of log lines hold some hundreds of terms: space for them at
    // once, not in steps (clearing a large set frees its memory).
    constexpr size_t kTypicalTerms = 1024;
    seen_.clear();
    seen_.reserve(kTypicalTerms);
    seen_odd_.clear();
    messages_.clear();
    text_.clear();
  }

 private:
  // Code points take 21 bits: a term of two or three characters is one
  // number, cheaper to hash and compare than its text; the top bit tells
  // pairs apart.
  static constexpr int kPointBits = 21;
  static constexpr uint64_t kPair = uint64_t{1} << 63;

  // Adds the trigrams of the ASCII characters of `message` from `start` up
  // to the next separator or other character, after two ASCII characters
  // whose key is `key`: most characters of most lines, in a loop that rolls
  // the trigram's key along instead of decoding each. Returns where they end.
  size_t AddAsciiRun(absl::string_view message, size_t start, uint32_t key) {
    size_t i = start;
    for (; i < message.size(); ++i) {
      const uint8_t byte = static_cast<uint8_t>(message[i]);
      if (byte >= 0x80 || IsTermSeparator(message[i])) break;
      // Not a character of its own if continuation bytes follow it.
      if (i + 1 < message.size() && IsUtf8ContinuationByte(message[i + 1]))
        break;
      key = (key << 7 | byte) & (kAsciiTrigramKeys - 1);
      AddAsciiTrigram(message.substr(i - 2, 3), key);
    }
    return i;
  }

  void AddPair(absl::string_view pair, char32_t a, char32_t b) {
    AddTerm(pair, kPair | uint64_t{a} << kPointBits | b,
            a == kOddCharacter || b == kOddCharacter);
  }

  void AddTrigram(absl::string_view trigram, char32_t a, char32_t b,
                  char32_t c) {
    if ((a | b | c) < 0x80) {
      AddAsciiTrigram(trigram, a << 14 | b << 7 | c);
      return;
    }
    AddTerm(trigram,
            uint64_t{a} << 2 * kPointBits | uint64_t{b} << kPointBits | c,
            a == kOddCharacter || b == kOddCharacter || c == kOddCharacter);
  }

  // Adds `term`, known by `key` unless it holds an odd character.
  void AddTerm(absl::string_view term, uint64_t key, bool odd) {
    if (odd ? !seen_odd_.insert(term).second : !seen_.insert(key).second) {
      return;
    }
    Append(term);
  }

  // Trigrams of ASCII, most terms of most lines, take a bit each of 2^21
  // (their 7-bit characters side by side), told apart in a fraction of a
  // hash set's instructions. The list of the block's clears them. Inlined,
  // as Append, because it runs for nearly every character: g++ called both.
  ABSL_ATTRIBUTE_ALWAYS_INLINE void AddAsciiTrigram(absl::string_view trigram,
                                                    uint32_t key) {
    uint64_t& word = seen_ascii_[key / kBitsPerWord];
    const uint64_t bit = uint64_t{1} << (key % kBitsPerWord);
    if ((word & bit) == 0) {
      word |= bit;
      ascii_trigrams_.push_back(key);
      Append(trigram);
    }
  }

  ABSL_ATTRIBUTE_ALWAYS_INLINE void Append(absl::string_view term) {
    if (!text_.empty()) text_.push_back(kTermSeparator);
    text_.append(term.data(), term.size());
  }

  static constexpr uint32_t kBitsPerWord = 64;
  static constexpr uint32_t kAsciiTrigramKeys = uint32_t{1} << 21;
  std::vector<uint64_t> seen_ascii_ =
      std::vector<uint64_t>(kAsciiTrigramKeys / kBitsPerWord);
  std::vector<uint32_t> ascii_trigrams_;
  absl::flat_hash_set<uint64_t> seen_;
  absl::flat_hash_set<absl::string_view> seen_odd_;
  absl::flat_hash_set<absl::string_view> messages_;
  std::string text_;
};

// The block holding log event `id`.
int64_t BlockOf(int64_t id) { return id / kEventsPerIndexBlock; }

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

void RegisterSearchIndexTokenizer(SQLite::Database& db) {
  fts5_api* api = nullptr;
  sqlite3_stmt* get_api = nullptr;
  // SQLiteCpp binds no pointers: FTS5 hands its API out through one.
  if (sqlite3_prepare_v2(db.getHandle(), "SELECT fts5(?1)", -1, &get_api,
                         nullptr) == SQLITE_OK) {
    sqlite3_bind_pointer(get_api, 1, &api, "fts5_api_ptr", nullptr);
    sqlite3_step(get_api);
  }
  sqlite3_finalize(get_api);
  if (api == nullptr) {
    throw SQLite::Exception("this SQLite has no FTS5", SQLITE_ERROR);
  }
  fts5_tokenizer tokenizer{
      // Stateless: FTS5 wants an instance, any pointer but null will do.
      .xCreate =
          [](void* context, const char** /*arguments*/, int /*count*/,
             Fts5Tokenizer** out) {
            *out = static_cast<Fts5Tokenizer*>(context);
            return SQLITE_OK;
          },
      .xDelete = [](Fts5Tokenizer* /*tokenizer*/) {},
      .xTokenize = TokenizeTerms,
  };
  static char instance;
  const int status = api->xCreateTokenizer(api, kTermTokenizer, &instance,
                                           &tokenizer, nullptr);
  if (status != SQLITE_OK) throw SQLite::Exception(db.getHandle(), status);
}

void AttachSearchIndex(SQLite::Database& db, const std::string& database_path) {
  RegisterSearchIndexTokenizer(db);
  Attach(db, SearchIndexPath(database_path), "search");
}

std::optional<std::string> TrigramMatchExpression(const std::string& text) {
  const std::vector<std::string> points = CodePoints(text);
  if (points.size() < kMinIndexedSubstring) return std::nullopt;
  // Trigrams side by side cover every character of `text`; the last one is
  // moved back to end with it. The rest add little selectivity and each
  // costs a lookup. Trigrams across a line break are not in the index.
  const auto indexed = [&points](size_t start) {
    for (size_t i = start; i < start + kMinIndexedSubstring; ++i) {
      if (points[i].size() == 1 && IsTermSeparator(points[i][0])) return false;
    }
    return true;
  };
  std::vector<size_t> starts;
  size_t last = 0;
  for (size_t start = 0; start + kMinIndexedSubstring <= points.size();
       ++start) {
    if (!indexed(start)) continue;
    if (starts.empty() || start >= starts.back() + kMinIndexedSubstring) {
      starts.push_back(start);
    }
    last = start;
  }
  if (starts.empty()) return std::nullopt;
  if (starts.back() != last) starts.push_back(last);
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
  // The events of the blocks the index lists for the bound MATCH whose
  // message is LIKE the bound pattern, and every event above the watermark.
  // The blocks' events are tested here, read in id order block by block
  // (CROSS JOIN: the blocks first), so that only the matches are collected
  // for the caller's query to look up again.
  const std::string condition = absl::StrCat(
      "(id IN (SELECT candidate.id FROM search.log_terms CROSS JOIN "
      "main.log_events AS candidate WHERE log_terms MATCH ? AND candidate.id "
      "BETWEEN log_terms.rowid * ",
      kEventsPerIndexBlock, " AND log_terms.rowid * ", kEventsPerIndexBlock,
      " + ", kEventsPerIndexBlock - 1,
      " AND candidate.message LIKE ? ESCAPE '\\') OR id > (SELECT "
      "indexed_through FROM search.index_state))");
  if (std::optional<std::string> match = TrigramMatchExpression(text)) {
    return IndexedSearch{.condition = condition, .match = *std::move(match)};
  }
  static const RE2 kPair(absl::StrCat(kUnspacedCharacter, "{2}"));
  if (RE2::FullMatch(text, kPair)) {
    return IndexedSearch{.condition = condition, .match = QuotedToken(text)};
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
  // Each event's id and where its message ends in `messages`, which holds
  // them back to back: one allocation, not one each.
  std::vector<std::pair<int64_t, size_t>> events;
  std::string messages;
  try {
    const int64_t watermark =
        db_->execAndGet("SELECT indexed_through FROM index_state").getInt64();
    // The block at the watermark may have more events now: its row is
    // written again, from all of them.
    const int64_t first_block = BlockOf(watermark + 1);
    SQLite::Statement next(*db_, R"sql(
        SELECT id, message FROM events.log_events
        WHERE id >= ?1 ORDER BY id LIMIT ?2)sql");
    next.bind(1, first_block * kEventsPerIndexBlock);
    next.bind(2, max_events + kEventsPerIndexBlock);
    int added = 0;
    size_t added_bytes = 0;
    while (added < max_events && added_bytes < kMaxBytes &&
           next.executeStep()) {
      const int64_t id = next.getColumn(0).getInt64();
      const SQLite::Column message = next.getColumn(1);
      messages.append(static_cast<const char*>(message.getBlob()),
                      message.getBytes());
      events.emplace_back(id, messages.size());
      if (id <= watermark) continue;
      ++added;
      added_bytes += message.getBytes();
    }
    next.reset();
    if (added == 0) return 0;
    absl::AsciiStrToLower(&messages);
    // Large events take seconds to index: a stop must not wait for them.
    const QueryCheck check = StopWhen(stop_early);
    CheckedQuery checked(*db_, check);
    SQLite::Transaction txn(*db_);
    SQLite::Statement remove(*db_, "DELETE FROM log_terms WHERE rowid = ?1");
    remove.bind(1, first_block);
    remove.exec();
    SQLite::Statement add(
        *db_, "INSERT INTO log_terms (rowid, terms) VALUES (?1, ?2)");
    BlockTerms terms;
    size_t message_start = 0;
    for (auto block_begin = events.begin(); block_begin != events.end();) {
      const int64_t block = BlockOf(block_begin->first);
      terms.Clear();
      auto block_end = block_begin;
      for (; block_end != events.end() && BlockOf(block_end->first) == block;
           ++block_end) {
        const size_t message_end = block_end->second;
        terms.Add(absl::string_view(messages).substr(
            message_start, message_end - message_start));
        message_start = message_end;
      }
      block_begin = block_end;
      if (terms.text().empty()) continue;
      add.reset();
      add.bind(1, block);
      add.bindNoCopy(2, terms.text());
      add.exec();
    }
    SQLite::Statement advance(*db_,
                              "UPDATE index_state SET indexed_through = ?1");
    advance.bind(1, events.back().first);
    advance.exec();
    txn.commit();
    return added;
  } catch (const SQLite::Exception& e) {
    if (Interrupted(e)) return 0;
    return SqliteErrorStatus(absl::StrCat("index log messages into ", path_), e,
                             kIndexKind);
  }
}

absl::Status SearchIndex::Forget(const std::vector<RemovedLogEvent>& events) {
  try {
    SQLite::Transaction txn(*db_);
    const int64_t indexed_through =
        db_->execAndGet("SELECT indexed_through FROM index_state").getInt64();
    absl::flat_hash_set<int64_t> blocks;
    for (const RemovedLogEvent& event : events) {
      if (event.id <= indexed_through) blocks.insert(BlockOf(event.id));
    }
    // A block's row goes with the last of its events: until then the
    // deleted events' terms only add candidates, which LIKE rejects.
    SQLite::Statement has_events(*db_, R"sql(
        SELECT 1 FROM events.log_events WHERE id BETWEEN ?1 AND ?2 LIMIT 1
        )sql");
    SQLite::Statement remove(*db_, "DELETE FROM log_terms WHERE rowid = ?1");
    for (int64_t block : blocks) {
      has_events.reset();
      has_events.bind(1, block * kEventsPerIndexBlock);
      has_events.bind(2, (block + 1) * kEventsPerIndexBlock - 1);
      if (has_events.executeStep()) continue;
      remove.reset();
      remove.bind(1, block);
      remove.exec();
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
  if (to_forget_.size() + events.size() > kMaxForgetEvents) {
    if (!forget_overflowed_) {
      spdlog::warn(
          "{}: too many deleted log events wait to leave the index; it "
          "keeps some until it is rebuilt",
          SearchIndexPath(database_path_));
    }
    forget_overflowed_ = true;
    return;
  }
  to_forget_.insert(to_forget_.end(), events.begin(), events.end());
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
