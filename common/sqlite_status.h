#ifndef EROOM_COMMON_SQLITE_STATUS_H_
#define EROOM_COMMON_SQLITE_STATUS_H_

#include "SQLiteCpp/Exception.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace eroom {

// Maps a SQLite failure to a status: DataLoss for a file that is not (or no
// longer) a valid database of `database_kind` ("eroom-collector database",
// ...), ResourceExhausted for a full disk, Internal otherwise. `context`
// says what failed.
absl::Status SqliteErrorStatus(absl::string_view context,
                               const SQLite::Exception& e,
                               absl::string_view database_kind);

}  // namespace eroom

#endif  // EROOM_COMMON_SQLITE_STATUS_H_
