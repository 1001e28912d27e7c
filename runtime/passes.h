// The rewrites a session applies before it plans, in order (core/rewrite.h):
//  1. fold-constants: every node whose inputs are all constants runs once
//     (QDQ weights' DequantizeLinear, shape arithmetic), so later passes
//     and the planner see plain initializers;
//  2. fuse-conv-activations: Conv followed by a constant scale, a
//     BatchNormalization or an activation becomes one Conv (fusion.h);
//     it runs after folding, which is what exposes dequantized weights;
//  3. fuse-quantize-dequantize: each activation's Q -> DQ pair runs as one
//     kernel, inside the Conv that feeds it where it can (qdq_fusion.h).
#ifndef PARE_RUNTIME_PASSES_H_
#define PARE_RUNTIME_PASSES_H_

#include <cstdint>

#include "core/rewrite.h"
#include "runtime/constant_folding.h"

namespace pare::runtime {

RewritePasses SessionPasses(uint64_t max_tensor_bytes, NodeEvaluator evaluate);

}  // namespace pare::runtime

#endif  // PARE_RUNTIME_PASSES_H_
