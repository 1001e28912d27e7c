// The data flags of the commands that build and measure artifacts (`pare
// fit`, `pare sweep`): where sensitivity and held-out samples come from,
// and the options they share.
#ifndef PARE_CLI_FIT_FLAGS_H_
#define PARE_CLI_FIT_FLAGS_H_

#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "cli/device_flags.h"
#include "plan/fit.h"

namespace pare::cli {

struct FitDataFlags {
  std::string calib_tokens, calib_data, eval_tokens, eval_data;
  int64_t seq_len = 128, calib_samples = 4, eval_samples = 0;
  int threads = 0;
};

void AddFitDataFlags(CLI::App& cmd, FitDataFlags& f);

// FitOptions from the shared flags, the device resolved, logging to stderr.
absl::StatusOr<plan::FitOptions> BaseFitOptions(const FitDataFlags& data,
                                                const DeviceFlags& device);

}  // namespace pare::cli

#endif  // PARE_CLI_FIT_FLAGS_H_
