#include "collector/sqlite/alert_store.h"

#include <optional>
#include <type_traits>
#include <utility>

#include "SQLiteCpp/Statement.h"
#include "SQLiteCpp/Transaction.h"
#include "absl/strings/str_cat.h"
#include "collector/alerting/label_matcher.h"
#include "collector/sqlite/schema.h"
#include "collector/sqlite/sql_values.h"
#include "collector/sqlite/writer.h"
#include "common/sqlite_status.h"
#include "common/status_macros.h"
#include "nlohmann/json.hpp"
#include "spdlog/spdlog.h"

namespace eroom::collector {
namespace {

using alerting::Alert;
using alerting::AlertEvent;
using alerting::AlertState;
using alerting::DeliveryRecord;
using alerting::LabelMatcher;
using alerting::Severity;
using alerting::Silence;

// The alert columns ReadAlert reads, in its order, of `alerts AS a`.
constexpr char kAlertColumns[] =
    "a.id, a.rule, a.agent_id, a.group_key, a.state, a.severity, a.labels, "
    "a.summary, a.value, a.count, a.pending_since_ms, a.firing_since_ms, "
    "a.resolved_ms, a.last_evaluated_ms, a.acknowledged_by, a.ack_comment, "
    "a.acknowledged_ms";
constexpr int kAlertColumnCount = 17;

constexpr char kSilenceColumns[] =
    "id, matchers, comment, created_by, starts_ms, ends_ms, expired_by "
    "FROM silences";

// Times that have not happened ("never": InfinitePast) are NULL.
void BindTime(SQLite::Statement& s, int index, absl::Time time) {
  if (time == absl::InfinitePast()) {
    s.bind(index);
  } else {
    s.bind(index, absl::ToUnixMillis(time));
  }
}

absl::Time ReadTime(const SQLite::Column& column) {
  return column.isNull() ? absl::InfinitePast()
                         : absl::FromUnixMillis(column.getInt64());
}

// What the alert is once `event` happened to it.
AlertState StateAfter(const AlertEvent& event) {
  switch (event.kind) {
    case AlertEvent::Kind::kPending:
      return AlertState::kPending;
    case AlertEvent::Kind::kFiring:
      return AlertState::kFiring;
    case AlertEvent::Kind::kResolved:
      return AlertState::kResolved;
    case AlertEvent::Kind::kUpdated:
      break;
  }
  return event.alert.state;
}

// The alert of a row whose first columns are kAlertColumns.
Alert ReadAlert(SQLite::Statement& row) {
  Alert alert;
  alert.id = row.getColumn(0).getInt64();
  alert.key.rule = row.getColumn(1).getString();
  alert.key.agent_id = row.getColumn(2).getString();
  alert.key.group = row.getColumn(3).getString();
  alert.state = static_cast<AlertState>(row.getColumn(4).getInt());
  alert.severity = static_cast<Severity>(row.getColumn(5).getInt());
  FromJsonObject(row.getColumn(6).getText(), &alert.labels);
  alert.summary = row.getColumn(7).getString();
  alert.value = row.getColumn(8).getDouble();
  alert.count = row.getColumn(9).getInt64();
  alert.pending_since = ReadTime(row.getColumn(10));
  alert.firing_since = ReadTime(row.getColumn(11));
  alert.resolved_at = ReadTime(row.getColumn(12));
  alert.last_evaluated = ReadTime(row.getColumn(13));
  alert.acknowledged_by = row.getColumn(14).getString();
  alert.ack_comment = row.getColumn(15).getString();
  alert.acknowledged_at = ReadTime(row.getColumn(16));
  return alert;
}

std::string MatchersToJson(const std::vector<LabelMatcher>& matchers) {
  nlohmann::json array = nlohmann::json::array();
  for (const LabelMatcher& matcher : matchers) {
    array.push_back(alerting::FormatLabelMatcher(matcher));
  }
  return array.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// nullopt when the stored matchers do not read back (a hand-edited row): a
// silence without one of its matchers would silence more than it should.
std::optional<std::vector<LabelMatcher>> MatchersFromJson(const char* text) {
  nlohmann::json array = nlohmann::json::parse(text, nullptr, false);
  if (!array.is_array()) return std::nullopt;
  std::vector<LabelMatcher> matchers;
  for (const nlohmann::json& item : array) {
    if (!item.is_string()) return std::nullopt;
    absl::StatusOr<LabelMatcher> matcher =
        alerting::ParseLabelMatcher(item.get<std::string>());
    if (!matcher.ok()) return std::nullopt;
    matchers.push_back(*std::move(matcher));
  }
  return matchers;
}

absl::Status UnknownAlert(int64_t alert_id) {
  return absl::NotFoundError(absl::StrCat("no alert with id ", alert_id));
}

absl::Status UnknownSilence(int64_t silence_id) {
  return absl::NotFoundError(absl::StrCat("no silence with id ", silence_id));
}

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteAlertStore>> SqliteAlertStore::Open(
    const SqliteAlertStoreOptions& options, const Clock& clock) {
  if (options.path.empty()) {
    return absl::InvalidArgumentError("SQLite database path is empty");
  }
  EROOM_ASSIGN_OR_RETURN(SQLite::Database db,
                         OpenWriteConnection(options.path));
  std::unique_ptr<SqliteAlertStore> store(
      new SqliteAlertStore(std::move(db), options, clock));
  EROOM_RETURN_IF_ERROR(store->Prune());
  return store;
}

SqliteAlertStore::SqliteAlertStore(SQLite::Database db,
                                   const SqliteAlertStoreOptions& options,
                                   const Clock& clock)
    : options_(options), clock_(clock), db_(std::move(db)) {}

template <typename Body>
auto SqliteAlertStore::Locked(absl::string_view what, Body body) {
  using Result = std::invoke_result_t<Body&>;
  absl::MutexLock lock(&mu_);
  try {
    return body();
  } catch (const SQLite::Exception& e) {
    return Result(SqliteErrorStatus(what, e, kDatabaseKind));
  }
}

absl::StatusOr<std::vector<Alert>> SqliteAlertStore::LoadActive() {
  return Locked(
      "load active alerts",
      [&]()
          ABSL_NO_THREAD_SAFETY_ANALYSIS -> absl::StatusOr<std::vector<Alert>> {
            SQLite::Statement query(
                db_, absl::StrCat("SELECT ", kAlertColumns, R"sql(,
          (SELECT max(d.time_ms) FROM alert_deliveries AS d
           WHERE d.alert_id = a.id AND d.ok = 1)
          FROM alerts AS a WHERE a.state <> ?1 ORDER BY a.id)sql"));
            query.bind(1, static_cast<int>(AlertState::kResolved));
            std::vector<Alert> alerts;
            while (query.executeStep()) {
              Alert alert = ReadAlert(query);
              alert.last_notified_at =
                  ReadTime(query.getColumn(kAlertColumnCount));
              alerts.push_back(std::move(alert));
            }
            return alerts;
          });
}

absl::StatusOr<int64_t> SqliteAlertStore::Save(const AlertEvent& event) {
  EROOM_ASSIGN_OR_RETURN(const std::vector<int64_t> ids, SaveAll({event}));
  return ids.front();
}

absl::StatusOr<std::vector<int64_t>> SqliteAlertStore::SaveAll(
    const std::vector<AlertEvent>& events) {
  return Locked(
      "save alert changes",
      [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS
      -> absl::StatusOr<std::vector<int64_t>> {
        SQLite::Transaction txn(db_, SQLite::TransactionBehavior::IMMEDIATE);
        std::vector<int64_t> ids;
        int64_t rows = 0;
        for (const AlertEvent& event : events) {
          EROOM_ASSIGN_OR_RETURN(const int64_t id, SaveLocked(event, rows));
          ids.push_back(id);
        }
        txn.commit();
        RowsWritten(rows);
        return ids;
      });
}

absl::StatusOr<int64_t> SqliteAlertStore::SaveLocked(const AlertEvent& event,
                                                     int64_t& rows) {
  const Alert& alert = event.alert;
  int64_t id = alert.id;
  if (id == 0) {
    SQLite::Statement active(db_, R"sql(
        SELECT id FROM alerts WHERE rule = ?1 AND agent_id = ?2
          AND group_key = ?3 AND state <> ?4)sql");
    active.bind(1, alert.key.rule);
    active.bind(2, alert.key.agent_id);
    active.bind(3, alert.key.group);
    active.bind(4, static_cast<int>(AlertState::kResolved));
    if (active.executeStep()) id = active.getColumn(0).getInt64();
  }
  // The key of an alert never changes, nor does a save touch its
  // acknowledgement.
  SQLite::Statement write(db_, id == 0 ? R"sql(
      INSERT INTO alerts (state, severity, labels, summary, value, count,
        pending_since_ms, firing_since_ms, resolved_ms, last_evaluated_ms,
        rule, agent_id, group_key)
      VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
      RETURNING id)sql"
                                       : R"sql(
      UPDATE alerts SET state = ?1, severity = ?2, labels = ?3, summary = ?4,
        value = ?5, count = ?6, pending_since_ms = ?7, firing_since_ms = ?8,
        resolved_ms = ?9, last_evaluated_ms = ?10
      WHERE id = ?11 RETURNING id)sql");
  write.bind(1, static_cast<int>(StateAfter(event)));
  write.bind(2, static_cast<int>(alert.severity));
  write.bind(3, ToJsonObject(alert.labels));
  write.bind(4, alert.summary);
  write.bind(5, alert.value);
  write.bind(6, alert.count);
  BindTime(write, 7, alert.pending_since);
  BindTime(write, 8, alert.firing_since);
  BindTime(write, 9, alert.resolved_at);
  BindTime(write, 10, alert.last_evaluated);
  if (id == 0) {
    write.bind(11, alert.key.rule);
    write.bind(12, alert.key.agent_id);
    write.bind(13, alert.key.group);
  } else {
    write.bind(11, id);
  }
  if (!write.executeStep()) return UnknownAlert(id);
  id = write.getColumn(0).getInt64();
  write.reset();
  ++rows;
  if (event.kind == AlertEvent::Kind::kUpdated) return id;
  SQLite::Statement history(db_, R"sql(
      INSERT INTO alert_history (alert_id, kind, time_ms, summary, value,
                                 count, inhibited)
      VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7))sql");
  history.bind(1, id);
  history.bind(2, static_cast<int>(event.kind));
  history.bind(3, absl::ToUnixMillis(event.at));
  history.bind(4, alert.summary);
  history.bind(5, alert.value);
  history.bind(6, alert.count);
  history.bind(7, event.inhibited ? 1 : 0);
  history.exec();
  ++rows;
  return id;
}

absl::Status SqliteAlertStore::Acknowledge(int64_t alert_id,
                                           const std::string& by,
                                           const std::string& comment,
                                           absl::Time at) {
  return Locked(
      absl::StrCat("acknowledge alert ", alert_id),
      [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS -> absl::Status {
        SQLite::Transaction txn(db_, SQLite::TransactionBehavior::IMMEDIATE);
        SQLite::Statement state(db_, "SELECT state FROM alerts WHERE id = ?1");
        state.bind(1, alert_id);
        if (!state.executeStep()) return UnknownAlert(alert_id);
        if (state.getColumn(0).getInt() ==
            static_cast<int>(AlertState::kResolved)) {
          return absl::FailedPreconditionError(
              absl::StrCat("alert ", alert_id,
                           " has resolved; only pending or firing alerts can "
                           "be acknowledged"));
        }
        state.reset();
        SQLite::Statement update(db_, R"sql(
                      UPDATE alerts SET acknowledged_by = ?2, ack_comment = ?3,
                        acknowledged_ms = ?4
                      WHERE id = ?1)sql");
        update.bind(1, alert_id);
        update.bind(2, by);
        update.bind(3, comment);
        update.bind(4, absl::ToUnixMillis(at));
        update.exec();
        txn.commit();
        return absl::OkStatus();
      });
}

absl::StatusOr<std::vector<AlertEvent>> SqliteAlertStore::History(
    absl::Time since, int limit, const std::string& agent_id) {
  if (limit <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("limit must be positive, got ", limit));
  }
  return Locked(
      "read alert history",
      [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS
      -> absl::StatusOr<std::vector<AlertEvent>> {
        SQLite::Statement query(db_,
                                absl::StrCat("SELECT ", kAlertColumns, R"sql(,
              h.kind, h.time_ms, h.summary, h.value, h.count, h.inhibited
              FROM alert_history AS h JOIN alerts AS a ON a.id = h.alert_id
              WHERE h.time_ms >= ?1 AND (?2 = '' OR a.agent_id = ?2)
              ORDER BY h.time_ms DESC, h.id DESC LIMIT ?3)sql"));
        query.bind(1, absl::ToUnixMillis(since));
        query.bind(2, agent_id);
        query.bind(3, limit);
        std::vector<AlertEvent> events;
        while (query.executeStep()) {
          AlertEvent event;
          event.alert = ReadAlert(query);
          int column = kAlertColumnCount;
          event.kind =
              static_cast<AlertEvent::Kind>(query.getColumn(column++).getInt());
          event.at = absl::FromUnixMillis(query.getColumn(column++).getInt64());
          // The alert as it was at the change.
          event.alert.state = StateAfter(event);
          event.alert.summary = query.getColumn(column++).getString();
          event.alert.value = query.getColumn(column++).getDouble();
          event.alert.count = query.getColumn(column++).getInt64();
          event.inhibited = query.getColumn(column++).getInt() != 0;
          events.push_back(std::move(event));
        }
        return events;
      });
}

absl::StatusOr<int64_t> SqliteAlertStore::AddSilence(const Silence& silence) {
  return Locked("add a silence",
                [&]()
                    ABSL_NO_THREAD_SAFETY_ANALYSIS -> absl::StatusOr<int64_t> {
                      SQLite::Statement insert(db_, R"sql(
        INSERT INTO silences (matchers, comment, created_by, starts_ms,
                              ends_ms)
        VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id)sql");
                      insert.bind(1, MatchersToJson(silence.matchers));
                      insert.bind(2, silence.comment);
                      insert.bind(3, silence.created_by);
                      insert.bind(4, absl::ToUnixMillis(silence.starts_at));
                      insert.bind(5, absl::ToUnixMillis(silence.ends_at));
                      insert.executeStep();
                      const int64_t id = insert.getColumn(0).getInt64();
                      insert.reset();
                      return id;
                    });
}

absl::Status SqliteAlertStore::ExpireSilence(int64_t silence_id,
                                             const std::string& by,
                                             absl::Time at) {
  return Locked(
      absl::StrCat("expire silence ", silence_id),
      [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS -> absl::Status {
        SQLite::Transaction txn(db_, SQLite::TransactionBehavior::IMMEDIATE);
        SQLite::Statement ends(db_,
                               "SELECT ends_ms FROM silences WHERE id = ?1");
        ends.bind(1, silence_id);
        if (!ends.executeStep()) return UnknownSilence(silence_id);
        if (ends.getColumn(0).getInt64() <= absl::ToUnixMillis(at)) {
          return absl::FailedPreconditionError(
              absl::StrCat("silence ", silence_id, " has already ended"));
        }
        ends.reset();
        SQLite::Statement update(db_, R"sql(
            UPDATE silences SET ends_ms = ?2, expired_by = ?3
            WHERE id = ?1)sql");
        update.bind(1, silence_id);
        update.bind(2, absl::ToUnixMillis(at));
        update.bind(3, by);
        update.exec();
        txn.commit();
        return absl::OkStatus();
      });
}

absl::StatusOr<std::vector<Silence>> SqliteAlertStore::Silences(absl::Time at) {
  return Locked(
      "list silences",
      [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS
      -> absl::StatusOr<std::vector<Silence>> {
        SQLite::Statement query(
            db_, absl::StrCat("SELECT ", kSilenceColumns,
                              " WHERE ends_ms > ?1 ORDER BY id"));
        query.bind(1, absl::ToUnixMillis(at));
        std::vector<Silence> silences;
        while (query.executeStep()) {
          Silence silence;
          silence.id = query.getColumn(0).getInt64();
          std::optional<std::vector<LabelMatcher>> matchers =
              MatchersFromJson(query.getColumn(1).getText());
          if (!matchers.has_value()) {
            spdlog::error(
                "silence {} in {} has matchers that do not read back; "
                "it is ignored",
                silence.id, options_.path);
            continue;
          }
          silence.matchers = *std::move(matchers);
          silence.comment = query.getColumn(2).getString();
          silence.created_by = query.getColumn(3).getString();
          silence.starts_at =
              absl::FromUnixMillis(query.getColumn(4).getInt64());
          silence.ends_at = absl::FromUnixMillis(query.getColumn(5).getInt64());
          silence.expired_by = query.getColumn(6).getString();
          silences.push_back(std::move(silence));
        }
        return silences;
      });
}

absl::Status SqliteAlertStore::RecordDelivery(const DeliveryRecord& record) {
  return Locked(absl::StrCat("record a delivery of alert ", record.alert_id),
                [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS -> absl::Status {
                  SQLite::Statement insert(db_, R"sql(
            INSERT INTO alert_deliveries (alert_id, receiver, kind, attempt,
                                          time_ms, ok, error)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7))sql");
                  insert.bind(1, record.alert_id);
                  insert.bind(2, record.receiver);
                  insert.bind(3, static_cast<int>(record.kind));
                  insert.bind(4, record.attempt);
                  insert.bind(5, absl::ToUnixMillis(record.at));
                  insert.bind(6, record.ok ? 1 : 0);
                  insert.bind(7, record.error);
                  insert.exec();
                  RowsWritten(1);
                  return absl::OkStatus();
                });
}

absl::StatusOr<std::vector<DeliveryRecord>> SqliteAlertStore::Deliveries(
    int64_t alert_id) {
  return Locked(
      absl::StrCat("read the deliveries of alert ", alert_id),
      [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS
      -> absl::StatusOr<std::vector<DeliveryRecord>> {
        SQLite::Statement query(db_, R"sql(
            SELECT receiver, kind, attempt, time_ms, ok, error
            FROM alert_deliveries WHERE alert_id = ?1
            ORDER BY time_ms DESC, id DESC)sql");
        query.bind(1, alert_id);
        std::vector<DeliveryRecord> records;
        while (query.executeStep()) {
          DeliveryRecord record;
          record.alert_id = alert_id;
          record.receiver = query.getColumn(0).getString();
          record.kind =
              static_cast<AlertEvent::Kind>(query.getColumn(1).getInt());
          record.attempt = query.getColumn(2).getInt();
          record.at = absl::FromUnixMillis(query.getColumn(3).getInt64());
          record.ok = query.getColumn(4).getInt() != 0;
          record.error = query.getColumn(5).getString();
          records.push_back(std::move(record));
        }
        return records;
      });
}

absl::Status SqliteAlertStore::Prune() {
  return Locked("prune alert history",
                [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS -> absl::Status {
                  PruneLocked();
                  return absl::OkStatus();
                });
}

void SqliteAlertStore::RowsWritten(int64_t rows) {
  rows_since_prune_ += rows;
  if (rows_since_prune_ < options_.prune_every_rows) return;
  // Pruning is housekeeping: the write that triggered it succeeded.
  try {
    PruneLocked();
  } catch (const SQLite::Exception& e) {
    spdlog::error(
        "{}",
        SqliteErrorStatus("prune alert history", e, kDatabaseKind).ToString());
  }
}

void SqliteAlertStore::PruneLocked() {
  rows_since_prune_ = 0;
  const int64_t cutoff_ms =
      absl::ToUnixMillis(clock_.Now() - options_.retention);
  SQLite::Transaction txn(db_, SQLite::TransactionBehavior::IMMEDIATE);
  for (const char* table : {"alert_history", "alert_deliveries"}) {
    SQLite::Statement old(
        db_, absl::StrCat("DELETE FROM ", table, " WHERE time_ms < ?1"));
    old.bind(1, cutoff_ms);
    old.exec();
    // Ids grow with every row written: the newest rows have the largest.
    SQLite::Statement beyond(
        db_,
        absl::StrCat("DELETE FROM ", table, " WHERE id <= (SELECT id FROM ",
                     table, " ORDER BY id DESC LIMIT 1 OFFSET ?1)"));
    beyond.bind(1, options_.max_rows);
    beyond.exec();
  }
  // A resolved alert is shown through its history and deliveries only.
  SQLite::Statement resolved(db_, R"sql(
      DELETE FROM alerts WHERE state = ?1
        AND NOT EXISTS (SELECT 1 FROM alert_history AS h
                        WHERE h.alert_id = alerts.id)
        AND NOT EXISTS (SELECT 1 FROM alert_deliveries AS d
                        WHERE d.alert_id = alerts.id))sql");
  resolved.bind(1, static_cast<int>(AlertState::kResolved));
  resolved.exec();
  SQLite::Statement silences(db_, "DELETE FROM silences WHERE ends_ms < ?1");
  silences.bind(1, cutoff_ms);
  silences.exec();
  txn.commit();
}

}  // namespace eroom::collector
