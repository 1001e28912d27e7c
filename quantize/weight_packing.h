// Storage of block-quantized weights (blockwise.h) in ONNX (internal to
// quantize/):
//  - com.microsoft MatMulNBits: B uint8 [N, k_blocks, block * bits / 8]
//    (codes low bits first), scales [N * k_blocks], zero points omitted when
//    they are all 2^(bits-1), else packed uint8 [N * ceil(k_blocks * bits / 8)]
//    or, when not integers (HQQ), float [N * k_blocks];
//  - opset-21 DequantizeLinear(axis 0, block_size) over an int4/int8 [K, N]
//    initializer (symmetric: code - 2^(bits-1), no zero point) or uint4/uint8
//    with a zero point [k_blocks, N].
#ifndef PARE_QUANTIZE_WEIGHT_PACKING_H_
#define PARE_QUANTIZE_WEIGHT_PACKING_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/model.h"
#include "quantize/blockwise.h"

namespace pare::quantize {

struct PackedWeight {
  std::vector<Tensor> tensors;
  std::vector<std::string> inputs;    // MatMulNBits: its inputs after A
  std::vector<Attribute> attributes;  // MatMulNBits: K, N, bits, block_size
  Node dequantize;                    // DequantizeLinear form: the node making W
};

// Scales (and float zero points) are stored as `float_type`, the weight's
// own type (float32, float16 or bfloat16): MatMulNBits wants A's type, and
// DequantizeLinear's output takes its scale's.
PackedWeight PackMatMulNBits(const std::string& name, const BlockQuantized& q, DataType float_type);

// Fails for real-valued zero points (HQQ), which DequantizeLinear cannot hold.
// `transposed`: the tensor is laid out [N, K] with blocks along axis 1 (an
// embedding table [vocabulary, width] for Gather, quantized as its
// transpose).
absl::StatusOr<PackedWeight> PackBlockedDequantize(const std::string& name, const BlockQuantized& q,
                                                   DataType float_type, bool transposed = false);

// float32 values stored as `type` (float32, float16 or bfloat16).
Tensor FloatTensor(const std::string& name, std::vector<int64_t> dims,
                   const std::vector<float>& values, DataType type);

}  // namespace pare::quantize

#endif  // PARE_QUANTIZE_WEIGHT_PACKING_H_
