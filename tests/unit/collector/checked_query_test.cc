#include "collector/sqlite/checked_query.h"

#include "SQLiteCpp/Database.h"
#include "SQLiteCpp/Statement.h"
#include "gtest/gtest.h"

namespace eroom::collector {
namespace {

// A statement of many steps: a count over a million generated rows.
constexpr char kLongCount[] =
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
    "WHERE i < 1000000) SELECT count(*) FROM n";

TEST(CheckedQueryTest, AStepLimitInterruptsAndIsSaidSo) {
  SQLite::Database db(":memory:", SQLite::OPEN_READWRITE);
  const QueryCheck no_check;
  CheckedQuery checked(db, no_check);
  checked.LimitSteps(10'000);
  EXPECT_THROW(db.execAndGet(kLongCount), SQLite::Exception);
  EXPECT_TRUE(checked.over_limit());
  EXPECT_TRUE(checked.stopped_with().ok());

  checked.Unlimit();
  EXPECT_EQ(db.execAndGet(kLongCount).getInt(), 1'000'000);
}

TEST(CheckedQueryTest, TheCheckStopsAQueryWithItsStatus) {
  SQLite::Database db(":memory:", SQLite::OPEN_READWRITE);
  int checks = 0;
  const QueryCheck check = [&checks]() -> absl::Status {
    if (++checks < 3) return absl::OkStatus();
    return absl::CancelledError("the caller gave up");
  };
  CheckedQuery checked(db, check);
  EXPECT_THROW(db.execAndGet(kLongCount), SQLite::Exception);
  EXPECT_FALSE(checked.over_limit());
  EXPECT_EQ(checked.stopped_with().code(), absl::StatusCode::kCancelled);
}

TEST(CheckedQueryTest, NothingIsWatchedOnceItIsGone) {
  SQLite::Database db(":memory:", SQLite::OPEN_READWRITE);
  {
    const QueryCheck no_check;
    CheckedQuery checked(db, no_check);
    checked.LimitSteps(100);
  }
  EXPECT_EQ(db.execAndGet(kLongCount).getInt(), 1'000'000);
}

}  // namespace
}  // namespace eroom::collector
