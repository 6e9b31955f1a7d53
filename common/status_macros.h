#ifndef EROOM_COMMON_STATUS_MACROS_H_
#define EROOM_COMMON_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// EROOM_RETURN_IF_ERROR(expr): returns the absl::Status of `expr` from the
// enclosing function unless it is OK. `expr` may yield a Status or StatusOr.
#define EROOM_RETURN_IF_ERROR(expr)                                     \
  do {                                                                  \
    if (absl::Status eroom_status_ = ::eroom::internal::ToStatus(expr); \
        !eroom_status_.ok()) {                                          \
      return eroom_status_;                                             \
    }                                                                   \
  } while (false)

// EROOM_ASSIGN_OR_RETURN(lhs, expr): evaluates the StatusOr `expr`; returns
// its status if it failed, otherwise moves its value into `lhs`, which may
// declare a variable ("auto x", "const Foo& y") or name an existing one.
#define EROOM_ASSIGN_OR_RETURN(lhs, expr)                                     \
  EROOM_ASSIGN_OR_RETURN_IMPL(EROOM_STATUS_CONCAT(eroom_statusor_, __LINE__), \
                              lhs, expr)

#define EROOM_ASSIGN_OR_RETURN_IMPL(statusor, lhs, expr)   \
  auto statusor = (expr);                                  \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()

#define EROOM_STATUS_CONCAT_INNER(a, b) a##b
#define EROOM_STATUS_CONCAT(a, b) EROOM_STATUS_CONCAT_INNER(a, b)

namespace eroom::internal {

inline absl::Status ToStatus(absl::Status status) { return status; }
template <typename T>
absl::Status ToStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

}  // namespace eroom::internal

#endif  // EROOM_COMMON_STATUS_MACROS_H_
