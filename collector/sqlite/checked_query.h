#ifndef EROOM_COLLECTOR_SQLITE_CHECKED_QUERY_H_
#define EROOM_COLLECTOR_SQLITE_CHECKED_QUERY_H_

#include <cstdint>

#include "SQLiteCpp/Database.h"
#include "absl/status/status.h"
#include "collector/storage.h"

namespace eroom::collector {

// While alive, watches the statements run on a connection every hundred
// steps of SQLite's virtual machine: it interrupts them once the query's
// check says to stop, or once a step limit set on it ran out. A step may
// take long (the substring test of a long text in a long message runs in
// one), and a row takes a few dozen of them: the watch runs every few
// rows, at a cost of a few percent.
class CheckedQuery {
 public:
  // `check` may be empty: nothing to ask.
  CheckedQuery(SQLite::Database& db, const QueryCheck& check);
  CheckedQuery(const CheckedQuery&) = delete;
  CheckedQuery& operator=(const CheckedQuery&) = delete;
  ~CheckedQuery();

  // Why the check stopped the query; OK if it did not.
  const absl::Status& stopped_with() const { return stopped_with_; }

  // Interrupts what runs once it took about `steps` more steps, until
  // Unlimit: a try that gives way to another plan when it costs too much.
  void LimitSteps(int64_t steps);
  void Unlimit();
  // Whether the limit interrupted a statement.
  bool over_limit() const { return over_limit_; }

 private:
  static constexpr int kStepsPerWatch = 100;
  // False to interrupt.
  bool Watch();

  SQLite::Database& db_;
  const QueryCheck& check_;
  absl::Status stopped_with_;
  int64_t watches_left_ = -1;  // Negative: no limit.
  bool over_limit_ = false;
};

}  // namespace eroom::collector

#endif  // EROOM_COLLECTOR_SQLITE_CHECKED_QUERY_H_
