// Stores a model's remaining float32 weights as float16 (or bfloat16):
// half the bytes on disk and in runtimes that compute in half precision.
//
//   ASSIGN_OR_RETURN(HalfWeights r, StoreWeightsInHalf(model, DataType::kFloat16));
//
// Only the bulk goes: weights of MatMul/Gemm (A or B), Conv/ConvTranspose
// (W) and Gather tables, of at least 1024 elements, each followed by a Cast
// back to float32 under the weight's own name, so the graph computes as
// before. Numerically sensitive tensors stay float32: normalization scales
// and shifts, biases, and every small constant. Values outside float16's
// range are not converted (the weight stays float32), so nothing becomes inf.
#ifndef PARE_QUANTIZE_FLOAT16_WEIGHTS_H_
#define PARE_QUANTIZE_FLOAT16_WEIGHTS_H_

#include <cstdint>
#include <filesystem>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "core/model.h"

namespace pare::quantize {

struct HalfWeights {
  int64_t converted = 0, kept_out_of_range = 0;
  uint64_t bytes_before = 0, bytes_after = 0;
};

// `only`: when given, just these weights (by name) are candidates.
// `spill_directory`: converted weights wait in a scratch file there until
// the model is saved (core/tensor_spill.h), so memory holds one weight at a
// time; empty: in memory.
// On any error `model` is unchanged (core/stage.h: the stage works on a copy
// and commits only when everything succeeded).
absl::StatusOr<HalfWeights> StoreWeightsInHalf(
    Model& model, DataType half, const absl::flat_hash_set<std::string>* only = nullptr,
    const std::filesystem::path& spill_directory = {});

}  // namespace pare::quantize

#endif  // PARE_QUANTIZE_FLOAT16_WEIGHTS_H_
