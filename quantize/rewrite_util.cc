#include "quantize/rewrite_util.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "core/graph.h"
#include "core/status_macros.h"

namespace pare::quantize {

bool IsQuantizedGraph(const Graph& g, std::string* which) {
  static const absl::flat_hash_set<std::string> kQuantized = {
      "QuantizeLinear", "DequantizeLinear", "QLinearConv", "QLinearMatMul",
      "MatMulInteger",  "ConvInteger",      "MatMulNBits", "DynamicQuantizeLinear"};
  for (const Node& n : g.nodes) {
    if (kQuantized.contains(n.op_type)) {
      *which = absl::StrCat(n.op_type, " node '", n.name.empty() ? n.outputs[0] : n.name, "'");
      return true;
    }
  }
  return false;
}

std::vector<Tensor> WeightInitializers(const std::string& name, const std::vector<int64_t>& dims,
                                       const WeightQuantization& q) {
  const std::vector<int64_t> sdims =
      q.scales.size() > 1 ? std::vector<int64_t>{static_cast<int64_t>(q.scales.size())}
                          : std::vector<int64_t>{};
  return {Tensor::FromVector<int8_t>(name + "_quantized", dims, q.values),
          Tensor::FromVector<float>(name + "_scale", sdims, q.scales),
          Tensor::FromVector<int8_t>(name + "_zero_point", sdims,
                                     std::vector<int8_t>(q.scales.size(), 0))};
}

QuantizedTensor WeightEntry(const std::string& name, const WeightQuantization& q, uint64_t elements,
                            uint64_t scale_bytes) {
  QuantizedTensor t;
  t.name = name;
  t.kind = "weight";
  t.scales = q.scales;
  t.zero_points.assign(q.scales.size(), 0);
  t.sqnr_db = q.sqnr_db;
  t.bytes_before = elements * 4;
  t.bytes_after = elements + q.scales.size() * scale_bytes;
  return t;
}

void ReplaceNodes(Graph& g, const std::vector<bool>& removed, std::vector<Node>& nodes,
                  std::vector<Tensor>& initializers) {
  std::vector<Node> kept;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (!removed[i]) kept.push_back(std::move(g.nodes[i]));
  }
  for (Node& n : nodes) kept.push_back(std::move(n));
  g.nodes = std::move(kept);
  for (Tensor& t : initializers) g.initializers.push_back(std::move(t));
  nodes.clear();
  initializers.clear();
}

absl::Status FinishRewrite(Model& model, bool uses_contrib) {
  if (uses_contrib && !OpsetVersion(model, "com.microsoft")) {
    model.opset_imports.push_back({"com.microsoft", 1});
  }
  return FinishGraphRewrite(model);
}

}  // namespace pare::quantize
