// Compact storage applied to a whole model after the fact (prune.h).
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "core/graph.h"
#include "core/graph_edit.h"
#include "core/stage.h"
#include "core/status_macros.h"
#include "prune/compact_storage.h"
#include "prune/prune.h"

namespace pare::prune {

static absl::StatusOr<int64_t> StoreSparseWeightsCompactOn(Model& model) {
  if (OpsetVersion(model, "").value_or(0) < 11) {
    return absl::InvalidArgumentError(
        "compact storage decodes with BitShift and CumSum, which need opset 11 or later");
  }
  Graph& g = model.graph;
  absl::flat_hash_set<std::string> weights;
  for (const Node& n : g.nodes) {
    const bool dense_op =
        n.domain.empty() && (n.op_type == "MatMul" || n.op_type == "Gemm" || n.op_type == "Conv");
    if (dense_op && n.inputs.size() >= 2) weights.insert(n.inputs[1]);
  }
  std::vector<Tensor> kept;
  std::vector<Node> decoders;
  int64_t packed = 0;
  for (Tensor& t : g.initializers) {
    const bool floating = t.dtype() == DataType::kFloat32 || t.dtype() == DataType::kFloat16;
    std::optional<CompactWeight> c;
    if (floating && weights.contains(t.name())) c = PackCompact(t);
    if (!c) {
      kept.push_back(std::move(t));
      continue;
    }
    ++packed;
    for (Tensor& p : c->tensors) kept.push_back(std::move(p));
    for (Node& n : c->nodes) decoders.push_back(std::move(n));
  }
  g.initializers = std::move(kept);
  for (Node& n : decoders) g.nodes.push_back(std::move(n));
  RETURN_IF_ERROR(FinishGraphRewrite(model));
  return packed;
}

absl::StatusOr<int64_t> StoreSparseWeightsCompact(Model& model) {
  return CommitOnSuccess(model, [](Model& work) { return StoreSparseWeightsCompactOn(work); });
}

}  // namespace pare::prune
