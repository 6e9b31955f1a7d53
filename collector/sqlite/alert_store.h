#ifndef EROOM_COLLECTOR_SQLITE_ALERT_STORE_H_
#define EROOM_COLLECTOR_SQLITE_ALERT_STORE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "SQLiteCpp/Database.h"
#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "collector/alerting/alert_store.h"
#include "collector/retention_policy.h"
#include "common/clock.h"

namespace eroom::collector {

struct SqliteAlertStoreOptions {
  // The collector's database file (SqliteOptions::path); created and
  // migrated if need be, kept readable by its owner only.
  std::string path;
  // History and delivery rows older than this are pruned, and so are the
  // silences that ended before it. A resolved alert goes with the last of
  // its history and delivery rows.
  absl::Duration retention = RetentionPolicy{}.alerts;
  // At most this many history rows, and as many delivery rows, are kept
  // (the newest), whatever their age: a flapping rule cannot fill the disk.
  int64_t max_rows = 100000;
  // Pruning runs at open and after every this many rows written.
  int64_t prune_every_rows = 1000;
};

// The AlertStore in the collector's SQLite database, through a connection
// of its own beside the ingest writer's (WAL: neither blocks the other's
// readers; writes wait at most kBusyTimeoutMs for each other). Every call
// holds the store's mutex, so the rule thread, delivery threads and query
// workers may share it.
//
// Save with id 0 for a key that already has a pending or firing alert
// (a restart whose engine lost track of it) carries on with that alert
// rather than starting a second one: a key has one active alert at most.
class SqliteAlertStore final : public alerting::AlertStore {
 public:
  // `clock` tells pruning what "older than the retention" means.
  static absl::StatusOr<std::unique_ptr<SqliteAlertStore>> Open(
      const SqliteAlertStoreOptions& options, const Clock& clock);

  absl::StatusOr<std::vector<alerting::Alert>> LoadActive() override;
  absl::StatusOr<int64_t> Save(const alerting::AlertEvent& event) override;
  absl::StatusOr<std::vector<int64_t>> SaveAll(
      const std::vector<alerting::AlertEvent>& events) override;
  absl::Status Acknowledge(int64_t alert_id, const std::string& by,
                           const std::string& comment, absl::Time at) override;
  absl::StatusOr<std::vector<alerting::AlertEvent>> History(
      absl::Time since, int limit, const std::string& agent_id) override;
  absl::StatusOr<int64_t> AddSilence(const alerting::Silence& silence) override;
  absl::Status ExpireSilence(int64_t silence_id, const std::string& by,
                             absl::Time at) override;
  absl::StatusOr<std::vector<alerting::Silence>> Silences(
      absl::Time at) override;
  absl::Status RecordDelivery(const alerting::DeliveryRecord& record) override;
  absl::StatusOr<std::vector<alerting::DeliveryRecord>> Deliveries(
      int64_t alert_id) override;

  // Removes what the retention and the row limit leave out (as it does by
  // itself every prune_every_rows rows).
  absl::Status Prune();

 private:
  SqliteAlertStore(SQLite::Database db, const SqliteAlertStoreOptions& options,
                   const Clock& clock);

  // Runs `body` under the mutex, mapping a SQLite failure to a status about
  // `what`. Clang's lock analysis cannot see that a lambda runs with the
  // mutex held, so bodies are marked ABSL_NO_THREAD_SAFETY_ANALYSIS.
  template <typename Body>
  auto Locked(absl::string_view what, Body body);
  // Writes one change inside the caller's transaction, adding the rows it
  // wrote to `rows`. Throws SQLite::Exception.
  absl::StatusOr<int64_t> SaveLocked(const alerting::AlertEvent& event,
                                     int64_t& rows)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Counts rows written; prunes once enough were.
  void RowsWritten(int64_t rows) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PruneLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const SqliteAlertStoreOptions options_;
  const Clock& clock_;
  absl::Mutex mu_;
  SQLite::Database db_ ABSL_GUARDED_BY(mu_);
  int64_t rows_since_prune_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace eroom::collector

#endif  // EROOM_COLLECTOR_SQLITE_ALERT_STORE_H_
