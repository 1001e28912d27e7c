#include "quantize/rewrite_util.h"

#include <fnmatch.h>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "core/graph.h"
#include "core/status_macros.h"

namespace pare::quantize {

std::string NodeLabel(const Node& node) {
  return node.name.empty() && !node.outputs.empty() ? node.outputs[0] : node.name;
}

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

bool Excluded(const Node& node, const std::vector<std::string>& patterns) {
  std::vector<std::string> names = {NodeLabel(node)};
  names.insert(names.end(), node.outputs.begin(), node.outputs.end());
  for (const std::string& p : patterns) {
    for (const std::string& n : names) {
      if (p == n || fnmatch(p.c_str(), n.c_str(), 0) == 0) return true;
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
  Graph& g = model.graph;
  absl::flat_hash_set<std::string> read;
  for (const Node& n : g.nodes) {
    for (const std::string& v : NodeReads(n)) read.insert(v);
  }
  for (const ValueInfo& v : g.outputs) read.insert(v.name);
  std::erase_if(g.initializers, [&](const Tensor& t) { return !read.contains(t.name()); });
  std::erase_if(g.nodes, [&](const Node& n) {
    return n.op_type == "Constant" && n.outputs.size() == 1 && !read.contains(n.outputs[0]);
  });
  if (uses_contrib && !OpsetVersion(model, "com.microsoft")) {
    model.opset_imports.push_back({"com.microsoft", 1});
  }
  ASSIGN_OR_RETURN(std::vector<size_t> order, TopologicalOrder(g));
  std::vector<Node> sorted;
  sorted.reserve(order.size());
  for (size_t i : order) sorted.push_back(std::move(g.nodes[i]));
  g.nodes = std::move(sorted);
  return absl::OkStatus();
}

}  // namespace pare::quantize
