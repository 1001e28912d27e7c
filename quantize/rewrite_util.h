// Helpers shared by pare's quantizers (internal to quantize/).
#ifndef PARE_QUANTIZE_REWRITE_UTIL_H_
#define PARE_QUANTIZE_REWRITE_UTIL_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/graph_edit.h"
#include "core/model.h"
#include "quantize/int8.h"
#include "quantize/report.h"
#include "quantize/static_options.h"

namespace pare::quantize {

// True (and `which` names the node) when the graph already holds quantized
// operators: quantizing again would stack errors.
bool IsQuantizedGraph(const Graph& g, std::string* which);

// Drops the nodes marked in `removed` and appends `nodes` and
// `initializers` (the pieces a quantizer built beside the graph).
void ReplaceNodes(Graph& g, const std::vector<bool>& removed, std::vector<Node>& nodes,
                  std::vector<Tensor>& initializers);

// FinishGraphRewrite, importing com.microsoft when `uses_contrib`.
absl::Status FinishRewrite(Model& model, bool uses_contrib);

// --exclude: whether `node` matches one of the patterns.
inline bool Excluded(const Node& node, const std::vector<std::string>& patterns) {
  return MatchesAnyPattern(node, patterns);
}

// The initializers of a quantized weight `name`: name_quantized (int8, the
// weight's dims), name_scale and name_zero_point (zeros), one value per
// channel or scalars for one scale.
std::vector<Tensor> WeightInitializers(const std::string& name, const std::vector<int64_t>& dims,
                                       const WeightQuantization& q);

// The report entry of a quantized weight: `elements` float32 values became
// int8, plus `scale_bytes` per channel of scales and zero points.
QuantizedTensor WeightEntry(const std::string& name, const WeightQuantization& q, uint64_t elements,
                            uint64_t scale_bytes);

}  // namespace pare::quantize

#endif  // PARE_QUANTIZE_REWRITE_UTIL_H_
