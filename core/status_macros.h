// Early-return helpers for absl::Status, which Debian's Abseil (20220623)
// does not ship yet.
//
//   RETURN_IF_ERROR(WriteHeader(out));
//   ASSIGN_OR_RETURN(Model model, LoadModel(path));
#ifndef PARE_CORE_STATUS_MACROS_H_
#define PARE_CORE_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define PARE_CONCAT_INNER(a, b) a##b
#define PARE_CONCAT(a, b) PARE_CONCAT_INNER(a, b)

#define RETURN_IF_ERROR(expr)                    \
  do {                                           \
    ::absl::Status pare_status_ = (expr);        \
    if (!pare_status_.ok()) return pare_status_; \
  } while (0)

#define PARE_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return tmp.status();              \
  lhs = std::move(tmp).value()

#define ASSIGN_OR_RETURN(lhs, expr) \
  PARE_ASSIGN_OR_RETURN_IMPL(PARE_CONCAT(pare_statusor_, __LINE__), lhs, expr)

#endif  // PARE_CORE_STATUS_MACROS_H_
