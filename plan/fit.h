// `pare fit` and each recipe of `pare sweep`: plan per-layer precision for
// a byte budget, build the artifact through the real stages (prune,
// quantize, half-precision storage), account for its memory, evaluate it
// against the original, and re-plan when a loss target is missed.
//
//   FitOptions o{.device = device, .candidates = {int8, int4_g32}, .calib_tokens = "calib.txt"};
//   ASSIGN_OR_RETURN(FitResult r, Fit("model.onnx", "out/model-m4", o));
#ifndef PARE_PLAN_FIT_H_
#define PARE_PLAN_FIT_H_

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "analysis/device.h"
#include "analysis/memory_account.h"
#include "nlohmann/json.hpp"
#include "plan/planner.h"
#include "plan/precision.h"

namespace pare::plan {

struct FitOptions {
  analysis::DeviceProfile device;
  analysis::AccountOptions account;
  std::vector<Precision> candidates;
  // All weights (planned and not) within this many bytes, instead of what
  // the device leaves after KV cache, activations and overhead.
  std::optional<uint64_t> weight_budget;
  // Sensitivity data: token file (language model, KL) or a sample folder
  // (noise power); neither: the weights' own error (no data).
  std::filesystem::path calib_tokens, calib_data;
  int64_t seq_len = 128, calib_samples = 4;
  // Where measured sensitivities are kept and reused (a sweep's fit@
  // recipes share one measurement); empty: not kept.
  std::filesystem::path sensitivity_cache;
  // Held-out data to evaluate the built artifact (evaluate stage).
  std::filesystem::path eval_tokens, eval_data;
  int64_t eval_samples = 0;  // 0: all
  std::optional<double> max_kl, min_sqnr;
  int max_iterations = 3;
  quantize::WeightAlgorithm algorithm = quantize::WeightAlgorithm::kRtn;
  // Applied before planning, through the prune stage (e.g. "2:4" magnitude).
  std::string prune_pattern;
  bool replace = false;
  int threads = 0;
  std::function<void(const std::string& line)> log;
  std::function<void(int64_t, int64_t)> progress;
};

struct FitResult {
  std::vector<PlanLayer> layers;
  Plan plan;
  LossKind loss_kind = LossKind::kWeightError;
  analysis::MemoryAccount before, after;
  uint64_t planned_budget = 0;
  nlohmann::json metrics;               // evaluate's candidate report, when evaluated
  std::optional<double> measured_loss;  // KL, or noise power, of the artifact
  int iterations = 0;
  uint64_t artifact_bytes = 0;
  uint64_t external_bytes = 0;  // the external data file, alignment padding included
};

absl::StatusOr<FitResult> Fit(const std::filesystem::path& model_path,
                              const std::filesystem::path& output, const FitOptions& options);

// The report printed by `pare fit`: counts per precision, the layers kept
// widest and why, the account after.
std::string FitToText(const FitResult& r, const std::vector<Precision>& candidates);
nlohmann::json FitToJson(const FitResult& r, const std::vector<Precision>& candidates);

}  // namespace pare::plan

#endif  // PARE_PLAN_FIT_H_
