// Calibration data from the command line, shared by the subcommands that
// need activations (quantize, prune): --calib DIR, --calib-tokens FILE with
// --seq-len, or --calib-random N for smoke tests.
#ifndef PARE_CLI_CALIBRATION_FLAGS_H_
#define PARE_CLI_CALIBRATION_FLAGS_H_

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/model.h"
#include "data/calibration_data.h"

namespace pare::cli {

struct CalibrationFlags {
  std::string calib, calib_tokens;
  int64_t calib_random = 0, max_calib = 0, seq_len = 0;
  uint64_t seed = 1;
  std::vector<std::string> dims;  // --dim NAME=N for random samples

  bool any() const { return !calib.empty() || !calib_tokens.empty() || calib_random > 0; }
};

// Registers --calib, --calib-random (with --seed, --dim), --calib-tokens
// (with --seq-len) and --max-calib on `cmd`; `what` says which methods use
// them, for the help text.
void AddCalibrationFlags(CLI::App& cmd, CalibrationFlags& f, const std::string& what);

// The samples the flags name; `model` must outlive the result.
absl::StatusOr<data::CalibrationData> LoadCalibration(const CalibrationFlags& f,
                                                      const Model& model);

}  // namespace pare::cli

#endif  // PARE_CLI_CALIBRATION_FLAGS_H_
