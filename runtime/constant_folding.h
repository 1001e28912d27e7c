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
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/model.h"

namespace pare::runtime {

// Runs a one-node model whose inputs are all initializers and returns its
// outputs; `max_tensor_bytes` caps what the node may allocate. The session
// passes itself in here, so folding needs no executor of its own (and this
// file does not include session.h, which includes it).
using NodeEvaluator = std::function<absl::StatusOr<std::vector<Tensor>>(const Model& one_node,
                                                                        uint64_t max_tensor_bytes)>;

// Rewrites `model.graph` (the top level) in place; returns the names of the
// values that became constants (they are no longer node outputs).
// `max_tensor_bytes` caps what a folded node may allocate (the session's cap).
// A node that fails to evaluate is left in the graph: it fails at run time,
// naming itself as usual.
std::vector<std::string> FoldConstants(Model& model, uint64_t max_tensor_bytes,
                                       const NodeEvaluator& evaluate);

}  // namespace pare::runtime

#endif  // PARE_RUNTIME_CONSTANT_FOLDING_H_
