// Weight-only quantization of MatMul weights for language models: each
// constant [K, N] weight becomes 2-8 bit codes in blocks along K with one
// scale (and zero point) per block, by round-to-nearest, HQQ, GPTQ or AWQ
// (blockwise.h, gptq.h, awq.h). Activations stay float.
//
//   WeightOnlyOptions o{.algorithm = WeightAlgorithm::kGptq, .bits = 4};
//   ASSIGN_OR_RETURN(QuantizeReport r, QuantizeWeightOnly(model, &calibration, o));
//
// Output format: com.microsoft MatMulNBits (ONNX Runtime's operator, which
// pare runs too), or the standard form, opset-21 DequantizeLinear with
// block_size over int4/uint4 (or int8/uint8) initializers feeding the
// MatMul (the model is raised to opset 21). Node and value names are kept,
// so `pare evaluate --per-layer` lines the layers up with the original.
#ifndef PARE_QUANTIZE_WEIGHT_ONLY_H_
#define PARE_QUANTIZE_WEIGHT_ONLY_H_

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/model.h"
#include "quantize/gptq.h"
#include "quantize/static_int8.h"

namespace pare::quantize {

enum class WeightAlgorithm { kRtn, kHqq, kGptq, kAwq };
const char* WeightAlgorithmName(WeightAlgorithm a);
absl::StatusOr<WeightAlgorithm> ParseWeightAlgorithm(const std::string& name);

// A per-layer override (from a recipe file): the first rule whose pattern
// matches a node (as --exclude matches) decides for it.
struct LayerRule {
  std::string match;
  std::optional<int> bits;  // 0: keep the layer in float
  std::optional<int64_t> block_size;
  std::optional<WeightAlgorithm> algorithm;
};

struct WeightOnlyOptions {
  WeightAlgorithm algorithm = WeightAlgorithm::kRtn;
  enum class Format { kMatMulNBits, kDequantizeLinear } format = Format::kMatMulNBits;
  int bits = 4;
  int64_t block_size = 32;
  bool symmetric = true;     // HQQ is always asymmetric
  bool fp16_scales = false;  // scales rounded to float16 values
  std::vector<std::string> exclude;
  // The output head (a MatMul whose output is a graph output): its bits, 0
  // to keep it in float; unset: like the rest.
  std::optional<int> head_bits;
  // Embedding tables (Gather of a constant [V, D] along axis 0): quantized
  // to these bits (4 or 8) in blocks along D, always in the DequantizeLinear
  // form (the model is raised to opset 21); unset or 0: kept in float.
  std::optional<int> embed_bits;
  std::vector<LayerRule> rules;
  GptqOptions gptq;
  HqqOptions hqq;
  int awq_grid = 20;
  int64_t awq_sample_rows = 512;  // calibration rows kept per input for AWQ's search
  // Where packed weights wait on disk until the model is saved (see
  // core/tensor_spill.h); empty: in memory. With it, peak memory is about one
  // weight per thread, whatever the model's size.
  std::filesystem::path spill_directory;
  int threads = 0;
  std::function<void(int64_t done, int64_t total)> progress;         // calibration samples
  std::function<void(int64_t done, int64_t total)> weight_progress;  // weights quantized
};

// `calibration` may be null when no layer's algorithm needs data (RTN, HQQ).
// On any error `model` is unchanged (core/stage.h: the stage works on a copy
// and commits only when everything succeeded).
absl::StatusOr<QuantizeReport> QuantizeWeightOnly(Model& model, const CalibrationData* calibration,
                                                  const WeightOnlyOptions& options);

}  // namespace pare::quantize

#endif  // PARE_QUANTIZE_WEIGHT_ONLY_H_
