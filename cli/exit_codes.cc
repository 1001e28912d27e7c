#include "cli/exit_codes.h"

#include <cstdio>
#include <string>

namespace pare::cli {

int ExitCodeFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return kExitOk;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kDataLoss:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kFailedPrecondition:
      return kExitInvalidInput;
    case absl::StatusCode::kNotFound:
      return kExitNotFound;
    case absl::StatusCode::kUnimplemented:
      return kExitUnsupported;
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kAlreadyExists:
      return kExitIo;
    default:
      return kExitInternal;
  }
}

int ReportError(const absl::Status& status) {
  std::string message(status.message());
  // One line, whatever a lower layer put in the message.
  for (char& c : message) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  std::fprintf(stderr, "pare: error: %s\n", message.c_str());
  return ExitCodeFor(status);
}

int ReportCheckOrError(const absl::Status& status) {
  if (status.ok()) return kExitOk;
  const int code = ReportError(status);
  if (status.code() == absl::StatusCode::kAborted ||
      status.code() == absl::StatusCode::kResourceExhausted) {
    return kExitGateFailed;
  }
  return code;
}

}  // namespace pare::cli
