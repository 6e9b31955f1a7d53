#include "agent/spool.h"

#include <sqlite3.h>
// Header-only: xxHash is compiled in here, the agent links no library for it.
#define XXH_INLINE_ALL
#include <xxhash.h>

#include <filesystem>
#include <optional>
#include <system_error>

#include "SQLiteCpp/Transaction.h"
#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "common/sqlite_migrations.h"
#include "common/sqlite_setup.h"
#include "common/sqlite_status.h"
#include "common/status_macros.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"
#include "spdlog/spdlog.h"

namespace eroom::agent {
namespace v1 = ::eroom::monitor::v1;
namespace {

constexpr char kDatabaseKind[] = "eroom-agent state database";
// The spool's schema; append-only (common/sqlite_migrations.h).
constexpr SchemaMigration kMigrations[] = {
    {1, R"sql(
      CREATE TABLE spool (
        sequence INTEGER PRIMARY KEY,
        payload BLOB NOT NULL  -- serialized eroom.monitor.v1.Event, no sequence
      );
      CREATE TABLE checkpoints (
        device INTEGER NOT NULL,
        inode INTEGER NOT NULL,
        fingerprint BLOB NOT NULL,
        path TEXT NOT NULL,
        offset INTEGER NOT NULL,
        PRIMARY KEY (device, inode)
      );
      CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
    )sql"},
    // Samples and probe results may be evicted when the spool is full; log
    // events never are (their file is the buffer), nor notices (they carry
    // the count of what was evicted).
    {2, R"sql(
      ALTER TABLE spool ADD COLUMN evictable INTEGER NOT NULL DEFAULT 0;
      CREATE INDEX spool_evictable ON spool (sequence) WHERE evictable = 1;
    )sql"},
    // Whether the log tailer ever committed (SavedLogState::committed) was
    // inferred from saved checkpoints, wrongly after a run that found no
    // file; it is recorded since. A database older than that has seen a run
    // if it holds anything at all.
    {3, R"sql(
      INSERT INTO meta (key, value)
        SELECT 'logs_committed', 1
        WHERE EXISTS (SELECT 1 FROM meta) OR EXISTS (SELECT 1 FROM spool)
           OR EXISTS (SELECT 1 FROM checkpoints);
    )sql"},
    // After a damaged spool was replaced: the start of each file's last
    // event the collector stored, left out when it is read again
    // (Spool::ResumeLogs).
    {4, R"sql(
      CREATE TABLE stored_log_events (
        device INTEGER NOT NULL,
        inode INTEGER NOT NULL,
        offset INTEGER NOT NULL,
        PRIMARY KEY (device, inode)
      );
    )sql"},
    // The last state of each remote command (CommandJournal), newest the
    // highest rowid.
    {5, R"sql(
      CREATE TABLE command_states (
        command_id TEXT NOT NULL UNIQUE,
        progress BLOB NOT NULL  -- serialized eroom.monitor.v1.CommandProgress
      );
    )sql"},
    // Each event's checksum of its payload (XXH3, 64 bits), checked as it
    // is read instead of parsing it (Spool::ReadAfter). NULL for events
    // spooled before: those are parsed.
    {6, R"sql(
      ALTER TABLE spool ADD COLUMN checksum INTEGER;
    )sql"},
    // The log events of a commit are spooled several to a row, numbered
    // consecutively: a row's key is its last event's sequence, `events`
    // says how many it holds, and its payload is each event's length (a
    // varint) followed by the event (a serialized Event, no sequence), its
    // checksum the whole payload's. SQLite's work for each row, more than
    // the bytes, was most of what spooling cost the tailer and deleting
    // cost the uplink (perf). A row spooled before holds one event without
    // its length, and no count.
    {7, R"sql(
      ALTER TABLE spool ADD COLUMN events INTEGER;
    )sql"},
    // A log event names its file, logger and thread through a source
    // (Event.log_source), spooled once: a generated event was 80 bytes
    // shorter without them, and the agent spooled, read back and sent each
    // of those bytes. A row's `sources` lists the sources of its events
    // (varints), for ReadAfter to send with them; NULL in other rows.
    {8, R"sql(
      CREATE TABLE log_sources (
        source INTEGER PRIMARY KEY,
        definition BLOB NOT NULL  -- serialized eroom.monitor.v1.LogSource
      );
      ALTER TABLE spool ADD COLUMN sources BLOB;
    )sql"},
};
// Meta flags of a spool that replaced a damaged one, each cleared once the
// collector's answer settled it.
constexpr char kLogResumePending[] = "log_resume_pending";
constexpr char kNumberingRestarted[] = "numbering_restarted";
constexpr SchemaHistory kSchema{kDatabaseKind, kMigrations};

// The checksum of a row holding `events` events in `payload` (0 events for
// a row spooled before rows had counts). XXH3 rather than zlib's CRC-32: as
// good at telling damage, with 64 bits, and a fifth of the instructions on
// a log event (callgrind). Seeded with the count, so that it covers the
// count too: a wrong one would number the events wrongly. The row's
// `sources`, if any, are hashed on from there: a wrong one would send
// events with the wrong file, or with a source the collector refuses.
int64_t RowChecksum(absl::string_view payload, int64_t events,
                    absl::string_view sources) {
  const XXH64_hash_t checksum = XXH3_64bits_withSeed(
      payload.data(), payload.size(), static_cast<XXH64_hash_t>(events));
  return static_cast<int64_t>(
      sources.empty()
          ? checksum
          : XXH3_64bits_withSeed(sources.data(), sources.size(), checksum));
}

// A row of log events holds at most this many bytes (an event larger than
// that has a row of its own), so that with its other columns it fits whole
// in one 16 KiB page (UseLargePagesIfNew), whose largest record is 16,349
// bytes. Rows of 64 events of the generated log took 12 KB, and as no second
// row fitted beside one, a quarter of every page stayed empty: 3,205 pages
// for 38 MB of events where full rows take 2,489, and the tailer wrote a
// sixth less (write-ahead log and checkpoint, /proc/PID/io).
constexpr size_t kMaxRowBytes = 16256;

// Appends `value` to `out` as a varint.
void AppendVarint(uint64_t value, std::string& out) {
  using google::protobuf::io::CodedOutputStream;
  uint8_t bytes[10];  // The longest varint: 64 bits, 7 a byte.
  const uint8_t* end = CodedOutputStream::WriteVarint64ToArray(value, bytes);
  out.append(reinterpret_cast<const char*>(bytes), end - bytes);
}

// Appends `event` to `row`: its length, then the event.
void AppendFramed(const v1::Event& event, std::string& row) {
  const size_t size = event.ByteSizeLong();
  AppendVarint(size, row);
  const size_t start = row.size();
  row.resize(start + size);
  event.SerializeWithCachedSizesToArray(
      reinterpret_cast<uint8_t*>(row.data() + start));
}

// The tags of Event.log and Event.log_source.
constexpr uint32_t kLogTag =
    google::protobuf::internal::WireFormatLite::MakeTag(
        v1::Event::kLogFieldNumber,
        google::protobuf::internal::WireFormatLite::WIRETYPE_LENGTH_DELIMITED);
constexpr uint32_t kLogSourceTag =
    google::protobuf::internal::WireFormatLite::MakeTag(
        v1::Event::kLogSourceFieldNumber,
        google::protobuf::internal::WireFormatLite::WIRETYPE_VARINT);

// The bytes of the Event holding `log` from `source`; caches `log`'s size
// for AppendFramed.
size_t EventSize(const v1::LogEvent& log, uint32_t source) {
  using google::protobuf::io::CodedOutputStream;
  const size_t size = log.ByteSizeLong();
  return CodedOutputStream::VarintSize32(kLogSourceTag) +
         CodedOutputStream::VarintSize32(source) +
         CodedOutputStream::VarintSize32(kLogTag) +
         CodedOutputStream::VarintSize64(size) + size;
}

// The bytes AppendFramed appends for an Event of `event_size` bytes.
size_t FramedSize(size_t event_size) {
  return google::protobuf::io::CodedOutputStream::VarintSize64(event_size) +
         event_size;
}

// Appends the Event holding `log` from `source`, of `event_size` bytes
// (EventSize), to `row` as AppendFramed would. Written around the event's
// own serialization: copying each event into an Event first cost 2,800
// instructions a line, a fifth of the tailer's (callgrind,
// pipeline_instructions.sh).
void AppendFramed(const v1::LogEvent& log, uint32_t source, size_t event_size,
                  std::string& row) {
  using google::protobuf::io::CodedOutputStream;
  AppendVarint(event_size, row);
  const size_t start = row.size();
  row.resize(start + event_size);
  uint8_t* out = reinterpret_cast<uint8_t*>(row.data() + start);
  out = CodedOutputStream::WriteTagToArray(kLogSourceTag, out);
  out = CodedOutputStream::WriteVarint32ToArray(source, out);
  out = CodedOutputStream::WriteTagToArray(kLogTag, out);
  out = CodedOutputStream::WriteVarint64ToArray(log.GetCachedSize(), out);
  log.SerializeWithCachedSizesToArray(out);
}

// A row's count of events, in SQL: a row spooled before counts holds one.
constexpr char kRowEvents[] = "COALESCE(events, 1)";
// The events and payload bytes of the rows a query selects, in SQL.
std::string RowTotals() {
  return absl::StrCat("COALESCE(SUM(", kRowEvents,
                      "), 0), COALESCE(SUM(LENGTH(payload)), 0)");
}

// The columns a RowEvents is read from, in its order.
constexpr char kRowColumns[] = "sequence, payload, checksum, events, sources";

// The events of the spooled row that `rows` (selecting kRowColumns) is on,
// oldest first; valid until `rows` moves on.
class RowEvents {
 public:
  explicit RowEvents(SQLite::Statement& rows)
      : framed_(!rows.getColumn(3).isNull()),
        count_(framed_ ? rows.getColumn(3).getInt64() : 1),
        first_sequence_(rows.getColumn(0).getInt64() - count_ + 1),
        payload_(static_cast<const char*>(rows.getColumn(1).getBlob()),
                 rows.getColumn(1).getBytes()),
        checksum_(rows.getColumn(2).isNull()
                      ? std::nullopt
                      : std::optional(rows.getColumn(2).getInt64())),
        sources_(static_cast<const char*>(rows.getColumn(4).getBlob()),
                 rows.getColumn(4).getBytes()) {}

  int64_t count() const { return count_; }
  uint64_t first_sequence() const { return first_sequence_; }
  uint64_t last_sequence() const { return first_sequence_ + count_ - 1; }
  absl::string_view payload() const { return payload_; }
  // The log sources of the row's events, each a varint.
  absl::string_view sources() const { return sources_; }
  // Where the next event's frame begins in the payload.
  size_t offset() const { return offset_; }
  // Whether the row is as it was spooled, by its checksum: the collector
  // would refuse a whole batch for one event it cannot parse.
  bool Intact() const {
    if (!checksum_.has_value()) {  // Spooled before checksums: one event.
      v1::Event parsed;
      return parsed.ParseFromArray(payload_.data(),
                                   static_cast<int>(payload_.size()));
    }
    return *checksum_ == RowChecksum(payload_, framed_ ? count_ : 0, sources_);
  }
  // Whether the frames ran past the payload, which only damage the checksum
  // missed can cause.
  bool damaged() const { return damaged_; }

  // The next event and its sequence; false after the last one.
  bool Next(uint64_t& sequence, absl::string_view& event) {
    if (read_ == count_ || damaged_) return false;
    if (!framed_) {
      event = payload_;
      offset_ = payload_.size();
    } else {
      google::protobuf::io::CodedInputStream input(
          reinterpret_cast<const uint8_t*>(payload_.data() + offset_),
          static_cast<int>(payload_.size() - offset_));
      uint32_t size = 0;
      if (!input.ReadVarint32(&size) ||
          size > payload_.size() - offset_ - input.CurrentPosition()) {
        damaged_ = true;
        return false;
      }
      event = payload_.substr(offset_ + input.CurrentPosition(), size);
      offset_ += input.CurrentPosition() + size;
    }
    sequence = first_sequence_ + read_++;
    return true;
  }

 private:
  const bool framed_;
  const int64_t count_;
  const uint64_t first_sequence_;
  const absl::string_view payload_;
  const std::optional<int64_t> checksum_;
  const absl::string_view sources_;
  size_t offset_ = 0;
  int64_t read_ = 0;
  bool damaged_ = false;
};

void LogDamaged(const RowEvents& row) {
  spdlog::error("spooled events {} to {} are damaged; skipping them",
                row.first_sequence(), row.last_sequence());
}

absl::Status Failed(absl::string_view context, const SQLite::Exception& e) {
  return SqliteErrorStatus(context, e, kDatabaseKind);
}

// Throws SQLite::Exception.
std::unique_ptr<SQLite::Database> OpenAndCheck(const std::string& path) {
  ConfigureSqlite();
  // Every use of the connection holds the spool's own mutex: SQLite's
  // would only be taken and released around each call.
  auto db = std::make_unique<SQLite::Database>(path, SQLite::OPEN_READWRITE |
                                                         SQLite::OPEN_CREATE |
                                                         SQLite::OPEN_NOMUTEX);
  db->setBusyTimeout(5000);
  UseLargePagesIfNew(*db);
  db->exec("PRAGMA journal_mode = WAL");
  // NORMAL survives any process crash. A power loss may forget the last
  // commits, events and checkpoints alike, so logs are simply read again.
  db->exec("PRAGMA synchronous = NORMAL");
  // The spool is appended at one end and deleted at the other: its hot
  // pages fit in far less than SQLite's default 2 MB page cache, which a
  // backlog would fill and keep (1.6 MB of the agent's heap at its peak;
  // tests/bench/agent_memory.sh).
  db->exec("PRAGMA cache_size = -512");  // KiB
  // Debian's SQLite zeroes what a delete frees; a fifth of the uplink's
  // instructions went to zeroing acknowledged events (callgrind), which
  // are copies of this host's own log files and stored at the collector.
  db->exec("PRAGMA secure_delete = OFF");
  if (db->execAndGet("PRAGMA quick_check").getString() != "ok") {
    throw SQLite::Exception("quick_check failed", SQLITE_CORRUPT);
  }
  return db;
}

// The spool at `path`, created or migrated; DataLoss if it is damaged.
absl::StatusOr<std::unique_ptr<SQLite::Database>> OpenDatabase(
    const std::string& path) {
  EROOM_RETURN_IF_ERROR(KeepOwnerOnly(path));
  std::unique_ptr<SQLite::Database> db;
  try {
    db = OpenAndCheck(path);
  } catch (const SQLite::Exception& e) {
    return Failed(absl::StrCat("open ", path), e);
  }
  EROOM_RETURN_IF_ERROR(MigrateSchema(*db, kSchema));
  return db;
}

// Moves a damaged database (and its WAL) out of the way, keeping it for a
// post-mortem. Returns where it went.
std::string MoveAside(const std::string& path) {
  std::string aside =
      absl::StrCat(path, ".corrupt-", absl::ToUnixSeconds(absl::Now()));
  std::error_code ignored;
  std::filesystem::rename(path, aside, ignored);
  for (const char* suffix : {"-wal", "-shm"}) {
    std::filesystem::remove(path + suffix, ignored);
  }
  return aside;
}

// Whether `event` is one of `stored_starts`, events ResumeLogs named as
// stored already (events carry their file's path, `checkpoints` its
// identity).
bool IsStoredStart(const v1::LogEvent& event,
                   const std::vector<FileCheckpoint>& checkpoints,
                   const std::vector<FileCheckpoint>& stored_starts) {
  for (const FileCheckpoint& start : stored_starts) {
    if (start.offset != event.file_offset()) continue;
    for (const FileCheckpoint& file : checkpoints) {
      if (file.path == event.file() && file.device == start.device &&
          file.inode == start.inode) {
        return true;
      }
    }
  }
  return false;
}

}  // namespace

std::string SpoolReservePath(const std::string& spool_path) {
  return spool_path + "-reserve";
}

absl::StatusOr<std::unique_ptr<Spool>> Spool::Open(
    const SpoolOptions& options) {
  std::error_code error;
  std::filesystem::path dir = std::filesystem::path(options.path).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir, error);
  if (error) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot create state directory ", dir.string(), ": ", error.message()));
  }
  std::string moved_aside;
  absl::StatusOr<std::unique_ptr<SQLite::Database>> db =
      OpenDatabase(options.path);
  if (absl::IsDataLoss(db.status())) {
    // A damaged spool must not stop the agent: keep it aside, start afresh.
    moved_aside = MoveAside(options.path);
    spdlog::error("{}; moved it to {} and started a new one",
                  db.status().ToString(), moved_aside);
    db = OpenDatabase(options.path);
    if (db.ok()) {
      try {
        (*db)->exec(absl::StrCat(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('",
            kLogResumePending, "', 1), ('", kNumberingRestarted, "', 1)"));
      } catch (const SQLite::Exception& e) {
        return Failed("mark the new state database as a replacement", e);
      }
    }
  }
  if (!db.ok()) return db.status();
  std::unique_ptr<Spool> store(new Spool(*std::move(db), options));
  store->moved_aside_ = std::move(moved_aside);
  return store;
}

Spool::Spool(std::unique_ptr<SQLite::Database> db, const SpoolOptions& options)
    : db_(std::move(db)),
      // A conflict rolls back the whole transaction, as its caller would
      // anyway, so that the statement needs no journal to undo its row.
      insert_row_(*db_,
                  "INSERT OR ROLLBACK INTO spool (sequence, payload, "
                  "evictable, checksum, events, sources) VALUES (?, ?, ?, ?, "
                  "?, ?)"),
      rows_after_(*db_, absl::StrCat("SELECT ", kRowColumns,
                                     " FROM spool WHERE sequence > ? "
                                     "ORDER BY sequence LIMIT ?")),
      totals_through_(*db_, absl::StrCat("SELECT ", RowTotals(),
                                         " FROM spool WHERE sequence <= ?")),
      delete_through_(*db_, "DELETE FROM spool WHERE sequence <= ?"),
      trim_row_(*db_,
                "UPDATE spool SET payload = ?, events = ?, checksum = ? "
                "WHERE sequence = ?"),
      save_last_sequence_(*db_,
                          "INSERT INTO meta (key, value) VALUES "
                          "('last_sequence', ?) ON CONFLICT (key) DO UPDATE "
                          "SET value = excluded.value"),
      insert_source_(*db_,
                     "INSERT INTO log_sources (source, definition) "
                     "VALUES (?, ?)"),
      select_source_(*db_,
                     "SELECT definition FROM log_sources WHERE source = ?"),
      max_spool_bytes_(options.max_spool_bytes),
      reserve_(SpoolReservePath(options.path), options.disk_reserve_bytes) {
  absl::MutexLock sources_lock(&sources_mu_);
  absl::MutexLock lock(&mu_);
  if (!reserve_.Acquire()) {
    spdlog::warn(
        "no room for the {} KiB disk reserve {}: the state file system is "
        "full; log reading waits for room",
        reserve_.bytes() >> 10, reserve_.path());
    disk_full_ = true;
  }
  SQLite::Statement totals(
      *db_, absl::StrCat("SELECT ", RowTotals(),
                         ", COALESCE(MAX(sequence), 0) FROM spool"));
  totals.executeStep();
  totals_.events = totals.getColumn(0).getInt64();
  totals_.bytes = totals.getColumn(1).getInt64();
  uint64_t highest_spooled = totals.getColumn(2).getInt64();
  SQLite::Statement saved(*db_,
                          "SELECT value FROM meta WHERE key = 'last_sequence'");
  uint64_t saved_last = saved.executeStep() ? saved.getColumn(0).getInt64() : 0;
  totals_.last_sequence = std::max(saved_last, highest_spooled);
  // The sources of an earlier run are not looked up again: numbered anew,
  // they are deleted once the events that refer to them are acknowledged.
  next_source_ = static_cast<uint32_t>(
      db_->execAndGet("SELECT COALESCE(MAX(source), 0) + 1 FROM log_sources")
          .getInt64());
  if (next_source_ > 1) ForgetSourcesLocked();
  SQLite::Statement flags(*db_, "SELECT key FROM meta WHERE key IN (?, ?)");
  flags.bind(1, kLogResumePending);
  flags.bind(2, kNumberingRestarted);
  while (flags.executeStep()) {
    const std::string key = flags.getColumn(0).getString();
    log_resume_pending_ |= key == kLogResumePending;
    numbering_restarted_ |= key == kNumberingRestarted;
  }
  SQLite::Statement starts(
      *db_, "SELECT device, inode, offset FROM stored_log_events");
  while (starts.executeStep()) {
    FileCheckpoint start;
    start.device = starts.getColumn(0).getInt64();
    start.inode = starts.getColumn(1).getInt64();
    start.offset = starts.getColumn(2).getInt64();
    stored_starts_.push_back(std::move(start));
  }
}

void Spool::InsertLocked(absl::Span<const Row> rows, bool evictable) {
  for (const Row& row : rows) {
    const uint64_t last = totals_.last_sequence + row.events;
    const int size = static_cast<int>(row.payload.size());
    insert_row_.reset();
    insert_row_.bind(1, static_cast<int64_t>(last));
    insert_row_.bindNoCopy(2, row.payload.data(), size);
    insert_row_.bind(3, evictable ? 1 : 0);
    insert_row_.bind(4, RowChecksum(row.payload, row.events, row.sources));
    insert_row_.bind(5, row.events);
    if (row.sources.empty()) {
      insert_row_.bind(6);
    } else {
      insert_row_.bindNoCopy(6, row.sources.data(),
                             static_cast<int>(row.sources.size()));
    }
    insert_row_.exec();
    totals_.last_sequence = last;
    totals_.events += row.events;
    totals_.bytes += row.payload.size();
  }
}

bool Spool::MakeRoomLocked(uint64_t needed) {
  if (needed == 0 || totals_.bytes + needed <= max_spool_bytes_) return true;
  uint64_t excess = totals_.bytes + needed - max_spool_bytes_;
  // Events already handed to the uplink may be stored at the collector by
  // now: evicting them would count as dropped what was delivered.
  SQLite::Statement oldest(
      *db_, absl::StrCat("SELECT sequence, LENGTH(payload), ", kRowEvents,
                         " FROM spool WHERE evictable = 1 AND sequence > ? "
                         "ORDER BY sequence"));
  oldest.bind(1, static_cast<int64_t>(handed_out_through_));
  uint64_t freed = 0, evicted = 0, through = 0;
  while (freed < excess && oldest.executeStep()) {
    through = oldest.getColumn(0).getInt64();
    freed += oldest.getColumn(1).getInt64();
    evicted += oldest.getColumn(2).getInt64();
  }
  if (freed < excess) return false;
  SQLite::Statement evict(*db_,
                          "DELETE FROM spool WHERE evictable = 1 AND "
                          "sequence > ? AND sequence <= ?");
  evict.bind(1, static_cast<int64_t>(handed_out_through_));
  evict.bind(2, static_cast<int64_t>(through));
  evict.exec();
  totals_.events -= evicted;
  totals_.bytes -= freed;
  totals_.dropped += evicted;
  return true;
}

void Spool::OnDiskFullLocked() {
  if (!disk_full_) {
    spdlog::warn(
        "state file system full{}; log reading paused, samples and probe "
        "results dropped until there is room",
        reserve_.held()
            ? absl::StrCat(": released the ", reserve_.bytes() >> 10,
                           " KiB reserve so that delivered events "
                           "can still be deleted")
            : "");
  }
  disk_full_ = true;
  reserve_.Release();
  try {
    db_->exec("PRAGMA wal_checkpoint(TRUNCATE)");
  } catch (const SQLite::Exception&) {
    // Readers in the way, or still no room: the next one will do.
  }
}

bool Spool::HasRoomLocked(uint64_t needed) {
  if (!disk_full_) return true;
  const uint64_t free_bytes = reserve_.FileSystemFreeBytes();
  // Room for the reserve twice over: taking it will not fill the disk again.
  if (free_bytes >= 2 * reserve_.bytes() && reserve_.Acquire()) {
    spdlog::info("state file system has room again; disk reserve restored");
    disk_full_ = false;
    return true;
  }
  // Meanwhile the reserve's worth stays free for deletes, and writes go to
  // what is left beyond it and to the pages deleted events freed.
  const uint64_t spare =
      free_bytes > reserve_.bytes() ? free_bytes - reserve_.bytes() : 0;
  const int64_t free_pages =
      db_->execAndGet("PRAGMA freelist_count").getInt64();
  const int64_t page_size = db_->execAndGet("PRAGMA page_size").getInt64();
  // An estimate (rows take a little more than their payload): a write that
  // still does not fit fails, and OnDiskFullLocked takes its traces back.
  return spare + static_cast<uint64_t>(free_pages * page_size) >= needed;
}

absl::Status Spool::FailedLocked(absl::string_view context,
                                 const SQLite::Exception& e) {
  absl::Status status = Failed(context, e);
  if (absl::IsResourceExhausted(status)) OnDiskFullLocked();
  return status;
}

void Spool::SaveLastSequenceLocked() {
  save_last_sequence_.reset();
  save_last_sequence_.bind(1, static_cast<int64_t>(totals_.last_sequence));
  save_last_sequence_.exec();
}

absl::StatusOr<SavedLogState> Spool::Load() {
  absl::MutexLock lock(&mu_);
  SavedLogState saved;
  try {
    saved.committed = db_->execAndGet(
                             "SELECT EXISTS (SELECT 1 FROM meta WHERE key = "
                             "'logs_committed')")
                          .getInt() != 0;
    SQLite::Statement select(
        *db_,
        "SELECT device, inode, fingerprint, path, offset FROM checkpoints");
    while (select.executeStep()) {
      FileCheckpoint c;
      c.device = select.getColumn(0).getInt64();
      c.inode = select.getColumn(1).getInt64();
      SQLite::Column fingerprint = select.getColumn(2);
      c.fingerprint.assign(static_cast<const char*>(fingerprint.getBlob()),
                           fingerprint.getBytes());
      c.path = select.getColumn(3).getString();
      c.offset = select.getColumn(4).getInt64();
      saved.checkpoints.push_back(std::move(c));
    }
  } catch (const SQLite::Exception& e) {
    return Failed("load log checkpoints", e);
  }
  return saved;
}

Spool::KnownSource& Spool::SourceOf(v1::LogEvent& event,
                                    std::vector<NewSource>& added) {
  source_key_.clear();
  absl::StrAppend(&source_key_, event.file().size(), ":", event.file(),
                  event.logger().size(), ":", event.logger(), event.thread());
  auto [known, inserted] = source_ids_.try_emplace(source_key_);
  if (inserted) {
    known->second.id = next_source_++;
    v1::LogSource source;
    source.set_id(known->second.id);
    if (event.has_file()) source.set_file(event.file());
    if (event.has_logger()) source.set_logger(event.logger());
    if (event.has_thread()) source.set_thread(event.thread());
    added.push_back({known->second.id, source.SerializeAsString()});
  }
  event.clear_file();
  event.clear_logger();
  event.clear_thread();
  return known->second;
}

void Spool::ForgetSourcesLocked() {
  source_ids_.clear();
  stale_sources_below_ = next_source_;
  stale_through_sequence_ = totals_.last_sequence;
}

absl::Status Spool::Commit(absl::Span<v1::LogEvent> events,
                           const std::vector<FileCheckpoint>& checkpoints) {
  absl::MutexLock sources_lock(&sources_mu_);
  std::vector<FileCheckpoint> stored_already;
  {
    absl::MutexLock lock(&mu_);
    stored_already = stored_starts_;
    if (source_ids_.size() >= kMaxLogSources) ForgetSourcesLocked();
  }
  // Serialized before taking mu_, which the uplink waits for.
  ++commits_;
  std::vector<NewSource> added;
  std::vector<Row> rows;
  for (v1::LogEvent& event : events) {
    if (IsStoredStart(event, checkpoints, stored_already)) continue;
    KnownSource& source = SourceOf(event, added);
    const size_t event_size = EventSize(event, source.id);
    if (rows.empty() || rows.back().events == kMaxEventsPerRow ||
        rows.back().payload.size() + FramedSize(event_size) > kMaxRowBytes) {
      rows.emplace_back();
      // Grown in steps instead, a row's bytes were copied about twice.
      rows.back().payload.reserve(kMaxRowBytes);
    }
    Row& row = rows.back();
    AppendFramed(event, source.id, event_size, row.payload);
    ++row.events;
    if (source.listed_in_commit != commits_ ||
        source.listed_in_row != rows.size()) {
      source.listed_in_commit = commits_;
      source.listed_in_row = rows.size();
      AppendVarint(source.id, row.sources);
    }
  }
  uint64_t needed = 0;
  for (const Row& row : rows) needed += row.payload.size();
  for (const NewSource& source : added) needed += source.definition.size();
  absl::MutexLock lock(&mu_);
  // Sources numbered by a commit that fails are not spooled: numbering
  // starts afresh rather than refer to them.
  bool committed = false;
  absl::Cleanup forget_added = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(sources_mu_,
                                                                   mu_) {
    if (!committed && !added.empty()) ForgetSourcesLocked();
  };
  const Stats before = totals_;
  if (needed > 0 && totals_.bytes + needed > max_spool_bytes_) {
    return absl::ResourceExhaustedError(
        absl::StrCat("spool full: ", totals_.bytes, " of ", max_spool_bytes_,
                     " bytes used, ", needed, " more needed"));
  }
  try {
    if (!HasRoomLocked(needed)) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "state file system full: no room for ", needed, " more bytes"));
    }
    SQLite::Transaction transaction(*db_);
    for (const NewSource& source : added) {
      insert_source_.reset();
      insert_source_.bind(1, static_cast<int64_t>(source.id));
      insert_source_.bindNoCopy(2, source.definition.data(),
                                static_cast<int>(source.definition.size()));
      insert_source_.exec();
    }
    InsertLocked(rows, /*evictable=*/false);
    SaveCheckpointsLocked(checkpoints);
    std::vector<FileCheckpoint> stored_starts =
        StoredStartsAheadLocked(checkpoints);
    SaveLastSequenceLocked();
    transaction.commit();
    committed = true;
    stored_starts_ = std::move(stored_starts);
    for (NewSource& source : added) {
      source_definitions_.emplace(source.id, std::move(source.definition));
    }
  } catch (const SQLite::Exception& e) {
    totals_ = before;
    return FailedLocked("spool log events", e);
  }
  return absl::OkStatus();
}

void Spool::SaveCheckpointsLocked(
    const std::vector<FileCheckpoint>& checkpoints) {
  db_->exec("DELETE FROM checkpoints");
  SQLite::Statement insert(*db_,
                           "INSERT OR REPLACE INTO checkpoints (device, "
                           "inode, fingerprint, path, offset) VALUES (?, ?, "
                           "?, ?, ?)");
  for (const FileCheckpoint& c : checkpoints) {
    insert.reset();
    insert.bind(1, static_cast<int64_t>(c.device));
    insert.bind(2, static_cast<int64_t>(c.inode));
    insert.bind(3, c.fingerprint.data(),
                static_cast<int>(c.fingerprint.size()));
    insert.bind(4, c.path);
    insert.bind(5, static_cast<int64_t>(c.offset));
    insert.exec();
  }
  db_->exec(
      "INSERT OR IGNORE INTO meta (key, value) VALUES ('logs_committed', 1)");
}

std::vector<FileCheckpoint> Spool::StoredStartsAheadLocked(
    const std::vector<FileCheckpoint>& checkpoints) {
  std::vector<FileCheckpoint> ahead;
  for (const FileCheckpoint& start : stored_starts_) {
    for (const FileCheckpoint& file : checkpoints) {
      if (file.device == start.device && file.inode == start.inode &&
          file.offset <= start.offset) {
        ahead.push_back(start);
      }
    }
  }
  if (ahead.size() != stored_starts_.size()) SaveStoredStartsLocked(ahead);
  return ahead;
}

void Spool::SaveStoredStartsLocked(const std::vector<FileCheckpoint>& starts) {
  db_->exec("DELETE FROM stored_log_events");
  SQLite::Statement insert(
      *db_,
      "INSERT OR REPLACE INTO stored_log_events (device, inode, offset) "
      "VALUES (?, ?, ?)");
  for (const FileCheckpoint& start : starts) {
    insert.reset();
    insert.bind(1, static_cast<int64_t>(start.device));
    insert.bind(2, static_cast<int64_t>(start.inode));
    insert.bind(3, static_cast<int64_t>(start.offset));
    insert.exec();
  }
}

bool Spool::log_resume_pending() const {
  absl::MutexLock lock(&mu_);
  return log_resume_pending_;
}

void Spool::OfferLogResumePoints(std::vector<v1::LogResumePoint> points) {
  absl::MutexLock lock(&mu_);
  if (!offered_points_.has_value()) offered_points_ = std::move(points);
}

std::optional<std::vector<v1::LogResumePoint>> Spool::AwaitLogResumePoints(
    absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto offered = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return offered_points_.has_value();
  };
  mu_.AwaitWithTimeout(absl::Condition(&offered), timeout);
  return offered_points_;
}

absl::Status Spool::ResumeLogs(const LogResumePlan& plan) {
  absl::MutexLock lock(&mu_);
  try {
    SQLite::Transaction transaction(*db_);
    SaveCheckpointsLocked(plan.checkpoints);
    SaveStoredStartsLocked(plan.stored_event_starts);
    db_->exec(
        absl::StrCat("DELETE FROM meta WHERE key = '", kLogResumePending, "'"));
    transaction.commit();
  } catch (const SQLite::Exception& e) {
    return FailedLocked("save where the logs resume", e);
  }
  stored_starts_ = plan.stored_event_starts;
  log_resume_pending_ = false;
  return absl::OkStatus();
}

absl::Status Spool::Append(std::vector<v1::Event> events) {
  std::vector<Row> rows(events.size());
  uint64_t needed = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    events[i].clear_sequence();
    AppendFramed(events[i], rows[i].payload);
    rows[i].events = 1;
    // Notices are never dropped: they carry the count of what was, so they
    // may take the spool a little over its cap.
    if (!events[i].has_notice()) needed += rows[i].payload.size();
  }
  absl::MutexLock lock(&mu_);
  const Stats before = totals_;
  try {
    SQLite::Transaction transaction(*db_);
    if (HasRoomLocked(needed) && MakeRoomLocked(needed)) {
      for (size_t i = 0; i < events.size(); ++i) {
        InsertLocked(absl::MakeConstSpan(&rows[i], 1),
                     events[i].has_sample() || events[i].has_probe());
      }
    } else {
      // Dropped events still take their sequences, so that the collector's
      // gaps are exactly the drops the agent reports.
      totals_.last_sequence += events.size();
      totals_.dropped += events.size();
    }
    SaveLastSequenceLocked();
    transaction.commit();
  } catch (const SQLite::Exception& e) {
    totals_ = before;
    totals_.dropped += events.size();
    absl::Status status = FailedLocked("spool events", e);
    if (!append_failing_) {
      spdlog::error("dropping events the spool refused: {}", status.ToString());
    }
    append_failing_ = true;
    return status;
  }
  append_failing_ = false;
  return absl::OkStatus();
}

bool Spool::AppendSourcesLocked(absl::string_view sources,
                                absl::flat_hash_set<uint32_t>& defined,
                                std::string& batch) {
  using google::protobuf::internal::WireFormatLite;
  constexpr uint32_t kLogSourceTag =
      WireFormatLite::MakeTag(v1::EventBatch::kLogSourcesFieldNumber,
                              WireFormatLite::WIRETYPE_LENGTH_DELIMITED);
  google::protobuf::io::CodedInputStream input(
      reinterpret_cast<const uint8_t*>(sources.data()),
      static_cast<int>(sources.size()));
  while (input.CurrentPosition() < static_cast<int>(sources.size())) {
    uint32_t id = 0;
    if (!input.ReadVarint32(&id)) return false;
    if (!defined.insert(id).second) continue;
    auto known = source_definitions_.find(id);
    if (known == source_definitions_.end()) {
      select_source_.reset();
      select_source_.bind(1, static_cast<int64_t>(id));
      if (!select_source_.executeStep()) return false;
      const SQLite::Column column = select_source_.getColumn(0);
      std::string definition(static_cast<const char*>(column.getBlob()),
                             column.getBytes());
      select_source_.reset();
      // Checked once, as it is read back: the collector would refuse every
      // batch that carries a source it cannot parse.
      v1::LogSource parsed;
      if (!parsed.ParseFromString(definition) || parsed.id() != id) {
        return false;
      }
      known = source_definitions_.emplace(id, std::move(definition)).first;
    }
    AppendVarint(kLogSourceTag, batch);
    AppendVarint(known->second.size(), batch);
    batch.append(known->second);
  }
  return true;
}

absl::StatusOr<uint64_t> Spool::ReadAfter(uint64_t after, size_t max_events,
                                          size_t max_bytes,
                                          std::string& batch) {
  using google::protobuf::internal::WireFormatLite;
  using google::protobuf::io::CodedOutputStream;
  // EventBatch.events and Event.sequence are both field 1.
  constexpr uint32_t kEventTag =
      WireFormatLite::MakeTag(1, WireFormatLite::WIRETYPE_LENGTH_DELIMITED);
  constexpr uint32_t kSequenceTag =
      WireFormatLite::MakeTag(1, WireFormatLite::WIRETYPE_VARINT);
  absl::MutexLock lock(&mu_);
  uint64_t last = after;
  // Appended after the events: a parser takes a message's fields in any
  // order.
  std::string sources;
  absl::flat_hash_set<uint32_t> defined;
  try {
    SQLite::Statement& select = rows_after_;
    // Done with, the statement lets go of its snapshot of the database.
    absl::Cleanup done = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      rows_after_.reset();
    };
    select.reset();
    select.bind(1, static_cast<int64_t>(after));
    // Each row holds one event at least.
    select.bind(2, static_cast<int64_t>(max_events));
    size_t added = 0;
    size_t bytes = 0;
    bool full = false;
    while (!full && select.executeStep()) {
      RowEvents row(select);
      if (!row.Intact()) {
        // Only damage on disk can cause this; the sequences stay taken so
        // the collector sees the gap.
        LogDamaged(row);
        continue;
      }
      if (added > 0 && (added + row.count() > max_events ||
                        bytes + row.payload().size() > max_bytes)) {
        break;
      }
      const size_t sources_before = sources.size();
      if (!AppendSourcesLocked(row.sources(), defined, sources)) {
        LogDamaged(row);
        continue;
      }
      bytes += sources.size() - sources_before;
      uint64_t sequence = 0;
      absl::string_view event;
      while (row.Next(sequence, event)) {
        if (sequence <= after) continue;
        if (added > 0 &&
            (added == max_events || bytes + event.size() > max_bytes)) {
          full = true;
          break;
        }
        // The spooled bytes, then the sequence: of a field the wire format
        // repeats, parsers keep the last.
        const size_t sequence_field =
            CodedOutputStream::VarintSize32(kSequenceTag) +
            CodedOutputStream::VarintSize64(sequence);
        AppendVarint(kEventTag, batch);
        AppendVarint(event.size() + sequence_field, batch);
        batch.append(event.data(), event.size());
        AppendVarint(kSequenceTag, batch);
        AppendVarint(sequence, batch);
        bytes += event.size();
        ++added;
        last = sequence;
      }
      if (row.damaged()) LogDamaged(row);
    }
    handed_out_through_ = std::max(handed_out_through_, last);
  } catch (const SQLite::Exception& e) {
    return Failed("read spooled events", e);
  }
  batch.append(sources);
  return last;
}

absl::Status Spool::DeleteThrough(uint64_t sequence) {
  absl::MutexLock lock(&mu_);
  // A second attempt runs on the space the first failure released.
  for (int attempt = 0;; ++attempt) {
    try {
      SQLite::Transaction transaction(*db_);
      // Counted first: a DELETE with RETURNING cost the uplink a tenth
      // more instructions (callgrind).
      totals_through_.reset();
      totals_through_.bind(1, static_cast<int64_t>(sequence));
      totals_through_.executeStep();
      uint64_t events = totals_through_.getColumn(0).getInt64();
      uint64_t bytes = totals_through_.getColumn(1).getInt64();
      totals_through_.reset();
      if (events > 0) {
        delete_through_.reset();
        delete_through_.bind(1, static_cast<int64_t>(sequence));
        delete_through_.exec();
      }
      const auto [trimmed_events, trimmed_bytes] =
          TrimAcknowledgedLocked(sequence);
      events += trimmed_events;
      bytes += trimmed_bytes;
      const bool delete_stale_sources =
          stale_sources_below_ > 0 && sequence >= stale_through_sequence_;
      if (delete_stale_sources) {
        SQLite::Statement delete_sources(
            *db_, "DELETE FROM log_sources WHERE source < ?");
        delete_sources.bind(1, static_cast<int64_t>(stale_sources_below_));
        delete_sources.exec();
      }
      if (events == 0 && !delete_stale_sources) return absl::OkStatus();
      transaction.commit();
      totals_.events -= events;
      totals_.bytes -= bytes;
      if (delete_stale_sources) {
        absl::erase_if(source_definitions_,
                       [this](const auto& definition)
                           ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
                             return definition.first < stale_sources_below_;
                           });
        stale_sources_below_ = 0;
      }
      return absl::OkStatus();
    } catch (const SQLite::Exception& e) {
      absl::Status status = FailedLocked("delete acknowledged events", e);
      if (attempt > 0 || !absl::IsResourceExhausted(status)) return status;
    }
  }
}

std::pair<uint64_t, uint64_t> Spool::TrimAcknowledgedLocked(uint64_t sequence) {
  std::string kept;
  std::string sources;
  int64_t key = 0;
  uint64_t trimmed_events = 0;
  size_t trimmed_bytes = 0;
  {
    SQLite::Statement& next = rows_after_;
    absl::Cleanup done = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      rows_after_.reset();
    };
    next.reset();
    next.bind(1, static_cast<int64_t>(sequence));
    next.bind(2, 1);
    if (!next.executeStep()) return {0, 0};
    RowEvents row(next);
    // A damaged row is left as it is, for ReadAfter to report.
    if (row.first_sequence() > sequence || !row.Intact()) return {0, 0};
    uint64_t at = 0;
    absl::string_view event;
    trimmed_bytes = row.offset();
    while (row.Next(at, event) && at <= sequence) trimmed_bytes = row.offset();
    if (row.damaged()) return {0, 0};
    kept = std::string(row.payload().substr(trimmed_bytes));
    sources = std::string(row.sources());
    key = static_cast<int64_t>(row.last_sequence());
    trimmed_events = sequence - row.first_sequence() + 1;
  }
  const int64_t kept_events = key - static_cast<int64_t>(sequence);
  SQLite::Statement& trim = trim_row_;
  trim.reset();
  trim.bindNoCopy(1, kept.data(), static_cast<int>(kept.size()));
  trim.bind(2, kept_events);
  trim.bind(3, RowChecksum(kept, kept_events, sources));
  trim.bind(4, key);
  trim.exec();
  return {trimmed_events, trimmed_bytes};
}

absl::Status Spool::FollowCollectorSequence(uint64_t collector_last) {
  absl::MutexLock lock(&mu_);
  if (!numbering_restarted_ && collector_last <= totals_.last_sequence) {
    return absl::OkStatus();
  }
  try {
    SQLite::Transaction transaction(*db_);
    uint64_t first =
        db_->execAndGet(absl::StrCat("SELECT COALESCE((SELECT sequence - ",
                                     kRowEvents,
                                     " + 1 FROM spool ORDER BY sequence "
                                     "LIMIT 1), 0)"))
            .getInt64();
    uint64_t shift =
        first == 0 || collector_last < first ? 0 : collector_last + 1 - first;
    // Two steps, because shifting in place would collide with itself.
    db_->exec("UPDATE spool SET sequence = -sequence");
    SQLite::Statement renumber(*db_,
                               "UPDATE spool SET sequence = -sequence + ?");
    renumber.bind(1, static_cast<int64_t>(shift));
    renumber.exec();
    const std::string previous =
        numbering_restarted_ ? std::string("was replaced")
                             : absl::StrCat("ended at ", totals_.last_sequence);
    const uint64_t previous_last = totals_.last_sequence;
    totals_.last_sequence = std::max(collector_last, previous_last + shift);
    try {
      SaveLastSequenceLocked();
      db_->exec(absl::StrCat("DELETE FROM meta WHERE key = '",
                             kNumberingRestarted, "'"));
      transaction.commit();
    } catch (const SQLite::Exception&) {
      totals_.last_sequence = previous_last;
      throw;
    }
    numbering_restarted_ = false;
    if (stale_sources_below_ > 0) stale_through_sequence_ += shift;
    spdlog::warn(
        "the collector has sequences up to {} but this agent's state {}: "
        "spooled events renumbered to follow the collector",
        collector_last, previous);
  } catch (const SQLite::Exception& e) {
    return FailedLocked("renumber spooled events", e);
  }
  return absl::OkStatus();
}

bool Spool::WaitForEventsAfter(uint64_t after, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto available = [this, after]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return totals_.last_sequence > after;
  };
  return mu_.AwaitWithTimeout(absl::Condition(&available), timeout);
}

Spool::Stats Spool::stats() const {
  absl::MutexLock lock(&mu_);
  return totals_;
}

absl::Status Spool::SaveCommandState(const v1::CommandProgress& last,
                                     size_t keep) {
  absl::MutexLock lock(&mu_);
  try {
    SQLite::Transaction transaction(*db_);
    SQLite::Statement remove(*db_,
                             "DELETE FROM command_states WHERE command_id = ?");
    remove.bind(1, last.command_id());
    remove.exec();
    SQLite::Statement insert(
        *db_,
        "INSERT INTO command_states (command_id, progress) VALUES (?, ?)");
    insert.bind(1, last.command_id());
    const std::string payload = last.SerializeAsString();
    insert.bind(2, payload.data(), static_cast<int>(payload.size()));
    insert.exec();
    // Each insert takes the highest rowid yet, so the newest `keep` rows
    // are those within `keep` of it.
    SQLite::Statement trim(*db_,
                           "DELETE FROM command_states WHERE rowid <= "
                           "(SELECT MAX(rowid) FROM command_states) - ?");
    trim.bind(1, static_cast<int64_t>(keep));
    trim.exec();
    transaction.commit();
    return absl::OkStatus();
  } catch (const SQLite::Exception& e) {
    return FailedLocked("save a command's state", e);
  }
}

absl::StatusOr<std::vector<v1::CommandProgress>> Spool::LoadCommandStates() {
  absl::MutexLock lock(&mu_);
  std::vector<v1::CommandProgress> states;
  try {
    SQLite::Statement select(
        *db_, "SELECT progress FROM command_states ORDER BY rowid");
    while (select.executeStep()) {
      const SQLite::Column column = select.getColumn(0);
      v1::CommandProgress progress;
      if (progress.ParseFromArray(column.getBlob(), column.getBytes())) {
        states.push_back(std::move(progress));
      }
    }
  } catch (const SQLite::Exception& e) {
    return FailedLocked("load the commands' states", e);
  }
  return states;
}

}  // namespace eroom::agent
