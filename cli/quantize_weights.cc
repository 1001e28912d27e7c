// `pare quantize --mode weights`: weight-only block-wise quantization of
// MatMul weights (RTN, HQQ, GPTQ, AWQ), with per-layer rules from a recipe.
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/flags.h"
#include "cli/quantize_flags.h"
#include "core/status_macros.h"
#include "quantize/weight_only.h"

namespace pare::cli {
namespace {

// {"layers": [{"match": "*down_proj*", "bits": 8, "block_size": 64, "algorithm": "gptq"}, ...]}
absl::StatusOr<std::vector<quantize::LayerRule>> ReadRecipe(const std::string& path) {
  ASSIGN_OR_RETURN(const std::vector<nlohmann::json> layers, ReadRecipeRules(path));
  std::vector<quantize::LayerRule> rules;
  for (const nlohmann::json& layer : layers) {
    quantize::LayerRule r;
    r.match = layer["match"];
    for (const auto& [key, value] : layer.items()) {
      if (key == "match") continue;
      if (key == "bits" && value.is_number_integer()) {
        r.bits = value.get<int>();
      } else if (key == "block_size" && value.is_number_integer()) {
        r.block_size = value.get<int64_t>();
      } else if (key == "algorithm" && value.is_string()) {
        ASSIGN_OR_RETURN(r.algorithm, quantize::ParseWeightAlgorithm(value.get<std::string>()));
      } else {
        return absl::InvalidArgumentError(
            absl::StrCat(path, ": rule '", r.match, "': unknown or mistyped key '", key, "'"));
      }
    }
    rules.push_back(std::move(r));
  }
  return rules;
}

}  // namespace

absl::Status RunWeightOnly(const QuantizeFlags& f, Model& model) {
  quantize::WeightOnlyOptions o;
  ASSIGN_OR_RETURN(o.algorithm, quantize::ParseWeightAlgorithm(f.algorithm));
  if (f.format == "qoperator") {
    return absl::InvalidArgumentError("--mode weights writes matmulnbits or qdq, not qoperator");
  }
  o.format = f.format == "qdq" ? quantize::WeightOnlyOptions::Format::kDequantizeLinear
                               : quantize::WeightOnlyOptions::Format::kMatMulNBits;
  o.bits = f.bits;
  o.block_size = f.block_size;
  o.symmetric = !f.asymmetric;
  o.fp16_scales = f.scale_type == "fp16";
  o.exclude = f.exclude;
  o.head_bits = f.head_bits;
  o.embed_bits = f.embed_bits;
  o.gptq.damp = f.damp;
  o.gptq.act_order = f.act_order;
  o.threads = f.threads;
  if (!f.recipe.empty()) {
    ASSIGN_OR_RETURN(o.rules, ReadRecipe(f.recipe));
  }
  o.progress = StderrProgress("calibrating", "calibrated", "samples");
  o.weight_progress = StderrProgress("quantizing", "quantized", "weights");
  // Packed weights wait beside the output until it is saved (the output's
  // disk has room for them by definition).
  const std::filesystem::path parent = std::filesystem::path(f.output).parent_path();
  o.spill_directory = parent.empty() ? std::filesystem::path(".") : parent;
  std::optional<quantize::CalibrationData> data;
  if (f.calibration.any()) {
    ASSIGN_OR_RETURN(data, Calibration(f, model));
  }
  ASSIGN_OR_RETURN(quantize::QuantizeReport report,
                   quantize::QuantizeWeightOnly(model, data ? &*data : nullptr, o));
  RETURN_IF_ERROR(Save(f, model, report));
  const double bits_per_weight = quantize::BitsPerWeight(report);
  PrintSummary(
      report,
      absl::StrFormat("weight-only %d-bit %s, block %d, %s, %s; %.2f bits per weight", o.bits,
                      report.method, o.block_size,
                      o.symmetric && o.algorithm != quantize::WeightAlgorithm::kHqq ? "symmetric"
                                                                                    : "asymmetric",
                      report.format, bits_per_weight),
      f.output);
  return absl::OkStatus();
}

void AddWeightOnlyFlags(CLI::App& cmd, QuantizeFlags& f) {
  auto group = [&](CLI::Option* option) { return option->group("Weight-only (--mode weights)"); };
  group(cmd.add_option("--bits", f.bits, "Bits per weight: 4 (default), 8, or 2 (matmulnbits)")
            ->check(CLI::IsMember({2, 4, 8})));
  group(cmd.add_option("--algorithm", f.algorithm,
                       "rtn (round to nearest), hqq (half-quadratic, no data), gptq (Hessian-"
                       "based error feedback, needs calibration), awq (activation-aware "
                       "scaling, needs calibration)")
            ->check(CLI::IsMember({"rtn", "hqq", "gptq", "awq"})));
  group(cmd.add_option("--block-size", f.block_size,
                       "Weights per scale along the input dimension (16..256, power of 2)"));
  group(cmd.add_flag("--asymmetric", f.asymmetric,
                     "A zero point per block (min/max) instead of symmetric codes"));
  group(cmd.add_option("--scale-type", f.scale_type,
                       "fp16 rounds every scale to a float16 value (what GGUF and fp16 runtimes "
                       "store)")
            ->check(CLI::IsMember({"fp32", "fp16"})));
  group(cmd.add_option("--head-bits", f.head_bits,
                       "Bits of the output head (a MatMul producing a graph output); 0 keeps it "
                       "in float")
            ->check(CLI::IsMember({0, 2, 4, 8})));
  group(cmd.add_option("--embed-bits", f.embed_bits,
                       "Quantize embedding tables (Gather) too, to 4 or 8 bits, as block-wise "
                       "DequantizeLinear (raises the model to opset 21); default: float")
            ->check(CLI::IsMember({0, 4, 8})));
  group(cmd.add_option("--recipe", f.recipe,
                       "JSON per-layer rules: {\"layers\": [{\"match\": \"*down_proj*\", "
                       "\"bits\": 8}, ...]}; the first matching rule decides (bits 0: float)"));
  group(cmd.add_option("--damp", f.damp, "GPTQ dampening, a fraction of mean(diag(H)) (0..1)")
            ->check(FiniteRange(0, 1)));
  group(cmd.add_flag("--act-order", f.act_order,
                     "GPTQ: quantize input rows by decreasing activation energy"));
}

}  // namespace pare::cli
