#include "collector/sqlite/checked_query.h"

#include <sqlite3.h>

namespace eroom::collector {

CheckedQuery::CheckedQuery(SQLite::Database& db, const QueryCheck& check)
    : db_(db), check_(check) {
  sqlite3_progress_handler(
      db_.getHandle(), kStepsPerWatch,
      [](void* self) -> int {
        return static_cast<CheckedQuery*>(self)->Watch() ? 0 : 1;
      },
      this);
}

CheckedQuery::~CheckedQuery() {
  sqlite3_progress_handler(db_.getHandle(), 0, nullptr, nullptr);
}

void CheckedQuery::LimitSteps(int64_t steps) {
  watches_left_ = steps / kStepsPerWatch;
  over_limit_ = false;
}

void CheckedQuery::Unlimit() { watches_left_ = -1; }

bool CheckedQuery::Watch() {
  if (watches_left_ >= 0 && watches_left_-- == 0) {
    over_limit_ = true;
    return false;
  }
  if (!check_) return true;
  stopped_with_ = check_();
  return stopped_with_.ok();
}

}  // namespace eroom::collector
