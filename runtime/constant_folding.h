// Computes once, when a session is created, every node whose inputs are all
// constants (initializers, Constant nodes, earlier folded values): the
// DequantizeLinear of a QDQ model's int8 weights, shape arithmetic on
// constants, Constant nodes themselves. Their outputs become initializers,
// which also lets Conv fusion see the weights. Outputs over 64 MiB each (or
// 1 GiB in all) are left to run time: dequantizing a large language model's
// weights ahead of time would multiply its memory.
#ifndef PARE_RUNTIME_CONSTANT_FOLDING_H_
#define PARE_RUNTIME_CONSTANT_FOLDING_H_

#include <cstdint>
#include <string>
#include <vector>

#include "core/model.h"

namespace pare::runtime {

// Rewrites `model.graph` (the top level) in place; returns the names of the
// values that became constants (they are no longer node outputs).
// `max_tensor_bytes` caps what a folded node may allocate (the session's cap).
std::vector<std::string> FoldConstants(Model& model, uint64_t max_tensor_bytes);

}  // namespace pare::runtime

#endif  // PARE_RUNTIME_CONSTANT_FOLDING_H_
