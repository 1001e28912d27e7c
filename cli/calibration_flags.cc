#include "cli/calibration_flags.h"

#include <algorithm>
#include <filesystem>
#include <memory>

#include "absl/strings/str_cat.h"
#include "cli/flags.h"
#include "core/status_macros.h"
#include "evaluate/samples.h"
#include "runtime/inputs.h"

namespace pare::cli {

namespace fs = std::filesystem;

absl::StatusOr<runtime::CalibrationData> LoadCalibration(const CalibrationFlags& f,
                                                         const Model& model) {
  runtime::CalibrationData data;
  if (!f.calib_tokens.empty()) {
    if (f.seq_len <= 0) return absl::InvalidArgumentError("--calib-tokens needs --seq-len N");
    ASSIGN_OR_RETURN(std::unique_ptr<evaluate::SampleSource> tokens,
                     evaluate::TokenSamples(model, f.calib_tokens, f.seq_len));
    std::shared_ptr<evaluate::SampleSource> shared = std::move(tokens);
    data.count = shared->size();
    data.sample = [shared](int64_t i) -> absl::StatusOr<std::vector<Tensor>> {
      ASSIGN_OR_RETURN(evaluate::Sample s, shared->Get(i));
      return std::move(s.inputs);
    };
    data.description = absl::StrCat(shared->Describe());
    if (data.count == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(f.calib_tokens, ": fewer tokens than one --seq-len chunk"));
    }
  } else if (!f.calib.empty()) {
    auto sets = std::make_shared<std::vector<fs::path>>(runtime::DataSets(f.calib));
    if (sets->empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(f.calib, ": no calibration samples (test_data_set_* or .npy/.pb files)"));
    }
    data.count = static_cast<int64_t>(sets->size());
    data.sample = [sets, &model](int64_t i) { return runtime::LoadDataSet(model, (*sets)[i]); };
    data.description = absl::StrCat(sets->size(), " sample(s) from ", f.calib);
  } else {
    ASSIGN_OR_RETURN(auto dims, ParseDims(f.dims));
    data.count = f.calib_random;
    const uint64_t seed = f.seed;
    data.sample = [dims, seed, &model](int64_t i) {
      return runtime::RandomInputs(model, seed + static_cast<uint64_t>(i), dims);
    };
    data.description = absl::StrCat(f.calib_random, " random sample(s) (smoke test only)");
  }
  if (f.max_calib > 0) data.count = std::min(data.count, f.max_calib);
  return data;
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
