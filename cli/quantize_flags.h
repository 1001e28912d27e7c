// The flags of `pare quantize`, shared by its static/dynamic and weight-only
// halves (cli/quantize_command.cc, cli/quantize_weights.cc).
#ifndef PARE_CLI_QUANTIZE_FLAGS_H_
#define PARE_CLI_QUANTIZE_FLAGS_H_

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cli/calibration_flags.h"
#include "core/model.h"
#include "nlohmann/json.hpp"
#include "quantize/static_int8.h"

namespace pare::cli {

struct QuantizeFlags {
  std::string model, output, report, method = "minmax";
  CalibrationFlags calibration;
  std::vector<std::string> op_types, exclude, wide;
  std::optional<double> target_sqnr;
  std::string validate, fallback = "wide";
  double percentile = 99.999;
  int64_t search_samples = 8;
  bool per_tensor = false, symmetric = false, force = false, weight_clip = false,
       bias_correction = false, integer_graph = false;
  std::string activation_type = "uint8";
  std::string mode = "static", format;  // format: "" is the mode's default
  // --mode weights
  int bits = 4;
  std::string algorithm = "rtn", scale_type = "fp32", recipe;
  int64_t block_size = 32;
  bool asymmetric = false, act_order = false;
  std::optional<int> head_bits, embed_bits;
  double damp = 0.01;
  std::optional<double> smoothquant;
  int threads = 0;
};

// Calibration samples from --calib, --calib-random or --calib-tokens.
absl::StatusOr<quantize::CalibrationData> Calibration(const QuantizeFlags& f, const Model& model);

// Writes the model and, with --report, the JSON report plus `extra` keys.
absl::Status Save(const QuantizeFlags& f, const Model& model,
                  const quantize::QuantizeReport& report,
                  const nlohmann::json& extra = nlohmann::json::object());

void PrintSummary(const quantize::QuantizeReport& report, const std::string& what,
                  const std::string& output);

// --mode weights.
absl::Status RunWeightOnly(const QuantizeFlags& f, Model& model);
void AddWeightOnlyFlags(CLI::App& cmd, QuantizeFlags& f);

}  // namespace pare::cli

#endif  // PARE_CLI_QUANTIZE_FLAGS_H_
