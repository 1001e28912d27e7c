#include "quantize/integer_layout.h"

#include <algorithm>
#include <array>
#include <string_view>

#include "absl/container/flat_hash_set.h"
#include "core/graph.h"

namespace pare::quantize {
namespace {

// Ops an integer runtime runs on 8-bit inputs and output, each with its own
// scale (ONNX Runtime: QLinearAdd, QLinearMul, QLinearConcat, ...).
constexpr std::array<std::string_view, 6> kIntegerOps = {
    "Add", "Mul", "Concat", "GlobalAveragePool", "AveragePool", "Sigmoid"};
// Ops that only move or select values: 8-bit in, 8-bit out, one scale.
constexpr std::array<std::string_view, 11> kDataMovementOps = {
    "Reshape", "Transpose", "Squeeze", "Unsqueeze",    "Flatten",     "MaxPool",
    "Resize",  "Slice",     "Split",   "DepthToSpace", "SpaceToDepth"};
// Clamps folded into the range of the value they read.
constexpr std::array<std::string_view, 2> kClamps = {"Relu", "Clip"};

bool OneOf(std::string_view op, const auto& ops) {
  return std::find(ops.begin(), ops.end(), op) != ops.end();
}

class Planner {
 public:
  Planner(const Graph& g, const Constants& constants) : index_(g), constants_(constants) {}

  bool IsActivation(const std::string& v) const { return !v.empty() && !constants_.Contains(v); }

  void Add(const std::string& v) {
    if (!IsActivation(v) || index_.IsGraphOutput(v)) return;
    if (chosen_.insert(v).second) layout_.values.push_back(v);
  }

  // The value that carries a quantized op's result: its output, or the
  // output of a clamp that is the output's only reader.
  std::string ResultOf(const Node& n) const {
    const std::string& out = n.outputs[0];
    const std::vector<const Node*>& readers = index_.Consumers(out);
    if (readers.size() == 1 && readers[0]->domain.empty() && OneOf(readers[0]->op_type, kClamps) &&
        !index_.IsGraphOutput(out)) {
      return readers[0]->outputs[0];
    }
    return out;
  }

  void Visit(const Node& n) {
    if (!n.domain.empty() || n.inputs.empty()) return;
    if (OneOf(n.op_type, kIntegerOps)) {
      const bool all_activations = std::all_of(
          n.inputs.begin(), n.inputs.end(), [&](const std::string& v) { return IsActivation(v); });
      if (!all_activations) return;  // Add(x, bias), Mul(x, gamma): float
      for (const std::string& v : n.inputs) Add(v);
      Add(ResultOf(n));
    } else if (OneOf(n.op_type, kDataMovementOps) && IsActivation(n.inputs[0])) {
      Add(n.inputs[0]);
      for (const std::string& out : n.outputs) {
        if (out.empty()) continue;
        Add(out);
        layout_.shared[out] = n.inputs[0];
      }
    }
  }

  IntegerLayout Take() { return std::move(layout_); }

 private:
  GraphIndex index_;
  const Constants& constants_;
  absl::flat_hash_set<std::string> chosen_;
  IntegerLayout layout_;
};

}  // namespace

const std::string& IntegerLayout::RangeSource(const std::string& value) const {
  const std::string* v = &value;
  for (auto it = shared.find(*v); it != shared.end(); it = shared.find(*v)) v = &it->second;
  return *v;
}

IntegerLayout PlanIntegerLayout(const Graph& g, const Constants& constants,
                                const std::vector<Target>& targets) {
  Planner planner(g, constants);
  absl::flat_hash_set<size_t> target_nodes;
  for (const Target& t : targets) target_nodes.insert(t.node);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (target_nodes.contains(i)) {
      planner.Add(planner.ResultOf(g.nodes[i]));
    } else {
      planner.Visit(g.nodes[i]);
    }
  }
  return planner.Take();
}

}  // namespace pare::quantize
