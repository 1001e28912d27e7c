#include "quantize/qoperator.h"

#include <algorithm>
#include <array>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "core/graph.h"
#include "core/graph_edit.h"
#include "core/model_builder.h"
#include "core/status_macros.h"

namespace pare::quantize {
namespace {

// A value in quantized form: tensor, scale, zero point.
using Quantized = std::array<std::string, 3>;

class QOperatorWriter {
 public:
  QOperatorWriter(Model& model, const StaticInt8Options& o, QuantizeReport& report)
      : model_(model), o_(o), report_(report) {}

  // Scale and zero point of a calibrated activation, as initializers.
  Quantized Params(const std::string& x, const TensorCalibrator& c) {
    const Range chosen = c.Compute(o_.calibration);
    const QuantParams p = ChooseParams(chosen, o_.activation_type, o_.symmetric_activations);
    Add(Tensor::FromVector<float>(x + "_scale", {}, {p.scale}));
    Add(Scalar(x + "_zero_point", o_.activation_type, p.zero_point));
    report_.tensors.push_back({x,
                               "activation",
                               {p.scale},
                               {p.zero_point},
                               c.Compute({CalibrationMethod::kMinMax}),
                               chosen,
                               0,
                               0,
                               0,
                               DataTypeName(o_.activation_type)});
    return {x + "_quantized", x + "_scale", x + "_zero_point"};
  }

  // X in quantized form: a quantized operator's output, or a new
  // QuantizeLinear shared by every quantized reader.
  Quantized Input(const std::string& x, const TensorCalibrator& c) {
    if (auto it = quantized_.find(x); it != quantized_.end()) return it->second;
    const Quantized q = Params(x, c);
    AddNode("QuantizeLinear", {x, q[1], q[2]}, q[0]);
    quantized_[x] = q;
    return q;
  }

  void Rewrite(const Node& node, const Tensor& weight, int64_t weight_axis, const Tensor* bias,
               const absl::flat_hash_map<std::string, TensorCalibrator>& calibrators) {
    const Quantized x = Input(node.inputs[0], calibrators.at(node.inputs[0]));
    const std::string y = node.outputs[0];
    const Quantized out = Params(y, calibrators.at(y));
    // Weight: int8 per output channel, zero points 0.
    const std::string w = node.inputs[1];
    const std::vector<float> values = weight.ToFloat32().value();
    const WeightQuantization q = QuantizeWeights(
        values, weight.dims(), o_.per_channel ? weight_axis : -1, o_.weight_mse_clip);
    for (Tensor& t : WeightInitializers(w, weight.dims(), q)) Add(std::move(t));
    report_.tensors.push_back(WeightEntry(w, q, values.size(), 5));
    std::vector<std::string> inputs = {
        x[0], x[1], x[2], w + "_quantized", w + "_scale", w + "_zero_point", out[1], out[2]};
    if (bias != nullptr) {
      const float input_scale = InputScale(node.inputs[0]);
      const std::vector<float> b = bias->ToFloat32().value();
      Add(Tensor::FromVector<int32_t>(node.inputs[2] + "_quantized", bias->dims(),
                                      QuantizeBias(b, input_scale, q.scales)));
      report_.tensors.push_back(
          {node.inputs[2], "bias", {}, {}, {}, {}, 0, b.size() * 4ull, b.size() * 4ull});
      inputs.push_back(node.inputs[2] + "_quantized");
    }
    Node& n = AddNode(node.op_type == "Conv" ? "QLinearConv" : "QLinearMatMul", inputs, out[0]);
    if (node.op_type == "Conv") {
      for (const Attribute& a : node.attributes) n.attributes.push_back(a);
    }
    n.name = NodeLabel(node);
    quantized_[y] = out;
    // Float readers keep reading `y`; unread, this node is dropped later.
    AddNode("DequantizeLinear", {out[0], out[1], out[2]}, y);
    report_.quantized_nodes.push_back(NodeLabel(node));
  }

  absl::Status Finish(const std::vector<bool>& removed) {
    Graph& g = model_.graph;
    ReplaceNodes(g, removed, nodes_, initializers_);
    // DequantizeLinear nodes whose float value nothing reads any more.
    absl::flat_hash_set<std::string> read;
    for (const Node& n : g.nodes) {
      for (const std::string& v : NodeReads(n)) read.insert(v);
    }
    for (const ValueInfo& v : g.outputs) read.insert(v.name);
    std::erase_if(g.nodes, [&](const Node& n) {
      return n.op_type == "DequantizeLinear" && n.outputs.size() == 1 &&
             !read.contains(n.outputs[0]);
    });
    return FinishRewrite(model_, false);
  }

 private:
  float InputScale(const std::string& x) const {
    for (const QuantizedTensor& t : report_.tensors) {
      if (t.name == x && t.kind == "activation") return t.scales[0];
    }
    return 1;
  }
  void Add(Tensor t) { initializers_.push_back(std::move(t)); }
  Node& AddNode(const std::string& op, std::vector<std::string> inputs, const std::string& out) {
    Node n;
    n.name = out;
    n.op_type = op;
    n.inputs = std::move(inputs);
    n.outputs = {out};
    nodes_.push_back(std::move(n));
    return nodes_.back();
  }

  Model& model_;
  const StaticInt8Options& o_;
  QuantizeReport& report_;
  std::vector<Node> nodes_;
  std::vector<Tensor> initializers_;
  absl::flat_hash_map<std::string, Quantized> quantized_;
};

}  // namespace

std::vector<Target> QOperatorTargets(const Graph& g, std::vector<Target> targets,
                                     std::vector<std::string>& skipped) {
  std::erase_if(targets, [&](const Target& t) {
    const Node& n = g.nodes[t.node];
    const bool ok = (n.op_type == "Conv" || n.op_type == "MatMul") && t.weight == 1;
    if (!ok) skipped.push_back(NodeLabel(n) + ": no QOperator form (kept in float)");
    return !ok;
  });
  return targets;
}

absl::Status WriteQOperator(Model& model, const std::vector<Target>& targets,
                            const Constants& constants,
                            const absl::flat_hash_map<std::string, TensorCalibrator>& calibrators,
                            const StaticInt8Options& o, QuantizeReport& report) {
  // Producers before consumers, so that quantized outputs are reused.
  ASSIGN_OR_RETURN(std::vector<size_t> order, TopologicalOrder(model.graph));
  std::vector<size_t> rank(model.graph.nodes.size());
  for (size_t i = 0; i < order.size(); ++i) rank[order[i]] = i;
  std::vector<Target> sorted = targets;
  std::sort(sorted.begin(), sorted.end(),
            [&](const Target& a, const Target& b) { return rank[a.node] < rank[b.node]; });
  QOperatorWriter writer(model, o, report);
  std::vector<bool> removed(model.graph.nodes.size(), false);
  for (const Target& t : sorted) {
    const Node& n = model.graph.nodes[t.node];
    const Tensor* w = constants.FindFloat(n.inputs[1]);
    const Tensor* b = t.bias >= 0 ? constants.FindFloat(n.inputs[t.bias]) : nullptr;
    if (calibrators.at(n.inputs[0]).count() == 0 || calibrators.at(n.outputs[0]).count() == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", NodeLabel(n), "' was never run by the calibration samples"));
    }
    RETURN_IF_ERROR(CheckFiniteWeight(n.inputs[1], w->ToFloat32().value(), kNonFiniteWeightAdvice));
    writer.Rewrite(n, *w, t.weight_axis, b, calibrators);
    removed[t.node] = true;
  }
  return writer.Finish(removed);
}

}  // namespace pare::quantize
