#include "runtime/constant_folding.h"

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "core/graph.h"

namespace pare::runtime {
namespace {

constexpr uint64_t kMaxFoldedTensorBytes = uint64_t{64} << 20;
constexpr uint64_t kMaxFoldedTotalBytes = uint64_t{1} << 30;

bool Foldable(const Node& node) {
  static const absl::flat_hash_set<std::string> kNondeterministic = {
      "RandomNormal",      "RandomUniform", "RandomNormalLike",
      "RandomUniformLike", "Multinomial",   "Bernoulli"};
  if (kNondeterministic.contains(node.op_type)) return false;
  for (const Attribute& a : node.attributes) {
    if (!a.graphs.empty()) return false;  // If/Loop/Scan
  }
  return true;
}

}  // namespace

std::vector<std::string> FoldConstants(Model& model, uint64_t max_tensor_bytes,
                                       const NodeEvaluator& evaluate) {
  Graph& g = model.graph;
  absl::flat_hash_set<std::string> overridable;  // initializers a caller may feed
  for (const ValueInfo& v : g.inputs) overridable.insert(v.name);
  absl::flat_hash_map<std::string, Tensor> constants;
  for (const Tensor& t : g.initializers) {
    if (!overridable.contains(t.name())) constants[t.name()] = t;
  }
  auto order = TopologicalOrder(g);
  if (!order.ok()) return {};  // planning reports the cycle
  std::vector<bool> removed(g.nodes.size(), false);
  std::vector<std::string> folded;
  uint64_t total = 0;
  for (size_t i : *order) {
    const Node& node = g.nodes[i];
    if (!Foldable(node)) continue;
    const std::vector<std::string> reads = NodeReads(node);
    bool all_constant = true;
    for (const std::string& r : reads) all_constant &= r.empty() || constants.contains(r);
    if (!all_constant) continue;
    // Run the node alone, its constant inputs as initializers.
    Model one;
    one.ir_version = model.ir_version;
    one.opset_imports = model.opset_imports;
    one.graph.nodes = {node};
    for (const std::string& r : reads) {
      if (!r.empty()) one.graph.initializers.push_back(constants.at(r));
    }
    for (const std::string& out : node.outputs) {
      if (!out.empty()) one.graph.outputs.push_back({.name = out});
    }
    auto outputs = evaluate(one, std::min(max_tensor_bytes, kMaxFoldedTensorBytes));
    if (!outputs.ok()) continue;  // left to the real plan or run, naming the node as usual
    uint64_t bytes = 0;
    bool small = true;
    for (const Tensor& t : *outputs) {
      bytes += t.bytes().size();
      small &= t.bytes().size() <= kMaxFoldedTensorBytes;
    }
    if (!small || total + bytes > kMaxFoldedTotalBytes) continue;
    total += bytes;
    for (Tensor& t : *outputs) {
      folded.push_back(t.name());
      constants[t.name()] = t;
      g.initializers.push_back(std::move(t));
    }
    removed[i] = true;
  }
  if (folded.empty()) return folded;
  std::vector<Node> kept;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (!removed[i]) kept.push_back(std::move(g.nodes[i]));
  }
  g.nodes = std::move(kept);
  // Initializers only folded nodes read (the int8 weights) are dropped.
  absl::flat_hash_set<std::string> read(overridable.begin(), overridable.end());
  for (const Node& n : g.nodes) {
    for (const std::string& r : NodeReads(n)) read.insert(r);
  }
  for (const ValueInfo& v : g.outputs) read.insert(v.name);
  std::erase_if(g.initializers, [&](const Tensor& t) { return !read.contains(t.name()); });
  return folded;
}

}  // namespace pare::runtime
