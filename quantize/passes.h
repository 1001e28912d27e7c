// The graph rewrites the quantize stage makes before it places any
// quantized node, one ordered list per format (core/rewrite.h). Each keeps
// the model's numbers; only the operator spelling changes.
//  - QDQ (static int8): opset-10 (QuantizeLinear/DequantizeLinear exist;
//    Slice and TopK take inputs), then, for per-channel weights in an opset
//    11 or 12 model, opset-13 (per-axis DequantizeLinear).
//  - Blocked DequantizeLinear (weight-only int4/int8 without MatMulNBits,
//    and quantized embeddings): opset-21 (block_size, int4 types).
#ifndef PARE_QUANTIZE_PASSES_H_
#define PARE_QUANTIZE_PASSES_H_

#include "core/rewrite.h"

namespace pare::quantize {

RewritePasses QdqPreparation(bool per_channel);
RewritePasses BlockedDequantizePreparation();

}  // namespace pare::quantize

#endif  // PARE_QUANTIZE_PASSES_H_
