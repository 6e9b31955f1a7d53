#include "common/sqlite_status.h"

#include <sqlite3.h>

#include "absl/strings/str_cat.h"

namespace eroom {

absl::Status SqliteErrorStatus(absl::string_view context,
                               const SQLite::Exception& e,
                               absl::string_view database_kind) {
  std::string message = absl::StrCat(context, ": ", e.what());
  // Primary code: the extended codes refine it in the high bits.
  switch (e.getErrorCode() & 0xff) {
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      return absl::DataLossError(absl::StrCat(
          message, " (the file is not a valid ", database_kind, ")"));
    case SQLITE_FULL:
      return absl::ResourceExhaustedError(
          absl::StrCat(message, " (disk or database full)"));
    default:
      return absl::InternalError(message);
  }
}

}  // namespace eroom
