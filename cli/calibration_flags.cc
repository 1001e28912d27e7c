#include "cli/calibration_flags.h"

#include <algorithm>
#include <filesystem>
#include <memory>

#include "absl/strings/str_cat.h"
#include "cli/flags.h"
#include "core/status_macros.h"
#include "data/calibration_data.h"
#include "data/samples.h"

namespace pare::cli {

// Every source is one of data/samples.h's, so calibration reads folders,
// token files and random inputs exactly as evaluate does.
absl::StatusOr<data::CalibrationData> LoadCalibration(const CalibrationFlags& f,
                                                      const Model& model) {
  std::unique_ptr<data::SampleSource> samples;
  if (!f.calib_tokens.empty()) {
    if (f.seq_len <= 0) return absl::InvalidArgumentError("--calib-tokens needs --seq-len N");
    ASSIGN_OR_RETURN(samples, data::TokenSamples(model, f.calib_tokens, f.seq_len));
    if (samples->size() == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(f.calib_tokens, ": fewer tokens than one --seq-len chunk"));
    }
  } else if (!f.calib.empty()) {
    ASSIGN_OR_RETURN(samples, data::DataSamples(model, f.calib));
  } else {
    ASSIGN_OR_RETURN(auto dims, ParseDims(f.dims));
    samples = data::RandomSamples(model, f.calib_random, f.seed, dims);
  }
  data::CalibrationData calibration = data::CalibrationFrom(std::move(samples));
  if (f.calib_random > 0 && f.calib.empty() && f.calib_tokens.empty()) {
    calibration.description += " (smoke test only)";
  }
  if (f.max_calib > 0) calibration.count = std::min(calibration.count, f.max_calib);
  return calibration;
}

void AddCalibrationFlags(CLI::App& cmd, CalibrationFlags& f, const std::string& what) {
  auto* calib = cmd.add_option("--calib", f.calib,
                               "Calibration inputs for " + what +
                                   ": test_data_set_*/input_N.pb or NAME.npy folders, "
                                   "representative of real use");
  auto* random = cmd.add_option("--calib-random", f.calib_random,
                                "N random calibration samples (smoke tests only: real "
                                "statistics need real data)")
                     ->check(IntegerRange(1, int64_t{1} << 24));
  calib->excludes(random);
  auto* tokens = cmd.add_option("--calib-tokens", f.calib_tokens,
                                "Calibration token ids for language models (text, .npy or int32 "
                                ".bin), cut into --seq-len chunks");
  tokens->excludes(calib)->excludes(random);
  cmd.add_option("--seq-len", f.seq_len, "Tokens per --calib-tokens sample")
      ->check(IntegerRange(2, int64_t{1} << 20));
  cmd.add_option("--seed", f.seed, "Seed of --calib-random")->default_val(1);
  cmd.add_option("--dim", f.dims, "NAME=N for symbolic dimensions of --calib-random")
      ->check(DimAssignment());
  cmd.add_option("--max-calib", f.max_calib, "Use at most N calibration samples (0: all)")
      ->check(IntegerRange(0));
}

}  // namespace pare::cli
