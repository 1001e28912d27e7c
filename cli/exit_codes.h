// Process exit codes of `pare`, one per kind of failure, so scripts and CI
// jobs can tell bad input from a missing file from a bug. Documented in
// docs/exit-codes.md; codes are never reused for another meaning.
#ifndef PARE_CLI_EXIT_CODES_H_
#define PARE_CLI_EXIT_CODES_H_

#include "absl/status/status.h"

namespace pare::cli {

enum ExitCode : int {
  kExitOk = 0,
  kExitGateFailed = 1,    // pare evaluate: a threshold did not hold (CI gate)
  kExitUsage = 2,         // bad command line
  kExitInvalidInput = 3,  // malformed or inconsistent model or data
  kExitNotFound = 4,      // a file that does not exist
  kExitUnsupported = 5,   // valid input pare does not handle yet
  kExitIo = 6,            // cannot read or write: permissions, disk full, ...
  kExitInternal = 70,     // a bug in pare: please report it (sysexits' EX_SOFTWARE)
};

int ExitCodeFor(const absl::Status& status);

// Prints "pare: error: <message>" on one line to stderr and returns the
// matching exit code.
int ReportError(const absl::Status& status);

// For commands with a check (convert --require-fit, fit): OK is 0; Aborted
// (the check failed) and ResourceExhausted (nothing fits the budget) print
// the one-line error and give kExitGateFailed; anything else as ReportError.
int ReportCheckOrError(const absl::Status& status);

}  // namespace pare::cli

#endif  // PARE_CLI_EXIT_CODES_H_
