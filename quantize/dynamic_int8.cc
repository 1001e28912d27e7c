#include "quantize/dynamic_int8.h"

#include <algorithm>
#include <array>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "core/graph.h"
#include "core/graph_edit.h"
#include "core/model_builder.h"
#include "core/stage.h"
#include "core/status_macros.h"
#include "quantize/int8.h"
#include "quantize/rewrite_util.h"

namespace pare::quantize {
namespace {

// The weight as [K, N] (Gemm's transB undone), or nothing when `n` is not a
// MatMul/Gemm with a constant 2-D float32 weight this quantizer handles.
std::optional<std::pair<std::vector<float>, std::vector<int64_t>>> WeightKxN(
    const Node& n, const Constants& constants, std::string* why) {
  if (n.inputs.size() < 2) return std::nullopt;
  const Tensor* w = constants.FindFloat(n.inputs[1]);
  if (w == nullptr || w->dims().size() != 2) {
    *why = "the weight is not a 2-D float32 constant";
    return std::nullopt;
  }
  std::vector<float> v = w->ToFloat32().value();
  const int64_t r = w->dims()[0], c = w->dims()[1];
  if (n.op_type == "Gemm") {
    const Attribute* ta = n.FindAttribute("transA");
    if (ta != nullptr && ta->i != 0) {
      *why = "A is transposed";
      return std::nullopt;
    }
    const Attribute* tb = n.FindAttribute("transB");
    if (tb != nullptr && tb->i != 0) {  // stored [N, K]
      std::vector<float> t(v.size());
      for (int64_t i = 0; i < r; ++i) {
        for (int64_t j = 0; j < c; ++j) t[j * r + i] = v[i * c + j];
      }
      return std::pair{std::move(t), std::vector<int64_t>{c, r}};
    }
  }
  return std::pair{std::move(v), std::vector<int64_t>{r, c}};
}

class DynamicRewriter {
 public:
  explicit DynamicRewriter(Model& model) : model_(model) {}

  // DynamicQuantizeLinear of X, shared by every quantized consumer.
  std::array<std::string, 3> Quantized(const std::string& x) {
    if (auto it = quantized_.find(x); it != quantized_.end()) return it->second;
    std::array<std::string, 3> names = {x + "_quantized", x + "_scale", x + "_zero_point"};
    AddNode("DynamicQuantizeLinear", {x}, {names[0], names[1], names[2]});
    quantized_[x] = names;
    return names;
  }

  void Rewrite(Node& node, const std::vector<float>& w, const std::vector<int64_t>& kxn,
               bool per_channel, QuantizeReport& report) {
    const std::string out = node.outputs[0], base = NodeLabel(node);
    const WeightQuantization q = QuantizeWeights(w, kxn, per_channel ? 1 : -1);
    const int64_t n = kxn[1];
    initializers_.push_back(Tensor::FromVector<int8_t>(base + "_W_quantized", kxn, q.values));
    initializers_.push_back(Tensor::FromVector<float>(
        base + "_W_scale", q.scales.size() > 1 ? std::vector<int64_t>{n} : std::vector<int64_t>{},
        q.scales));
    const auto x = Quantized(node.inputs[0]);
    AddNode("MatMulInteger", {x[0], base + "_W_quantized", x[2]}, {out + "_int32"});
    Node& cast = AddNode("Cast", {out + "_int32"}, {out + "_float"});
    cast.attributes.push_back(IntAttr("to", static_cast<int64_t>(DataType::kFloat32)));
    AddNode("Mul", {x[1], base + "_W_scale"}, {out + "_rescale"});
    float alpha = 1, beta = 1;
    if (node.op_type == "Gemm") {
      if (const Attribute* a = node.FindAttribute("alpha")) alpha = a->f;
      if (const Attribute* b = node.FindAttribute("beta")) beta = b->f;
    }
    const bool has_bias =
        node.op_type == "Gemm" && node.inputs.size() > 2 && !node.inputs[2].empty();
    std::string scaled = out + "_rescale";
    if (alpha != 1) {
      initializers_.push_back(Tensor::FromVector<float>(base + "_alpha", {}, {alpha}));
      AddNode("Mul", {scaled, base + "_alpha"}, {out + "_rescale_alpha"});
      scaled = out + "_rescale_alpha";
    }
    AddNode("Mul", {out + "_float", scaled}, {has_bias ? out + "_product" : out});
    if (has_bias) {
      std::string c = node.inputs[2];
      if (beta != 1) {
        initializers_.push_back(Tensor::FromVector<float>(base + "_beta", {}, {beta}));
        AddNode("Mul", {c, base + "_beta"}, {out + "_bias"});
        c = out + "_bias";
      }
      AddNode("Add", {out + "_product", c}, {out});
    }
    report.tensors.push_back(WeightEntry(node.inputs[1], q, w.size(), 4));
    report.quantized_nodes.push_back(base);
  }

  absl::Status Finish(const std::vector<bool>& removed) {
    ReplaceNodes(model_.graph, removed, nodes_, initializers_);
    return FinishRewrite(model_, false);
  }

 private:
  Node& AddNode(const std::string& op, std::vector<std::string> inputs,
                std::vector<std::string> outputs) {
    Node n;
    n.name = outputs[0];
    n.op_type = op;
    n.inputs = std::move(inputs);
    n.outputs = std::move(outputs);
    nodes_.push_back(std::move(n));
    return nodes_.back();
  }

  Model& model_;
  std::vector<Node> nodes_;
  std::vector<Tensor> initializers_;
  absl::flat_hash_map<std::string, std::array<std::string, 3>> quantized_;
};

}  // namespace

static absl::StatusOr<QuantizeReport> QuantizeDynamicInt8On(Model& model,
                                                            const DynamicInt8Options& o) {
  std::string which;
  if (IsQuantizedGraph(model.graph, &which)) {
    return absl::FailedPreconditionError(absl::StrCat("the model is already quantized (it has a ",
                                                      which, "); quantize its float original"));
  }
  const int64_t opset = OpsetVersion(model, "").value_or(1);
  if (opset < 11) {
    return absl::UnimplementedError(
        absl::StrCat("dynamic int8 needs opset 11 (DynamicQuantizeLinear); the model has opset ",
                     opset, ": use static quantization (--calib) instead"));
  }
  QuantizeReport report;
  report.method = "dynamic";
  report.format = "dynamic";
  report.calibration = "none (activations are quantized at run time)";
  const Constants constants(model.graph);
  DynamicRewriter rewriter(model);
  std::vector<bool> removed(model.graph.nodes.size(), false);
  for (size_t i = 0; i < model.graph.nodes.size(); ++i) {
    Node& n = model.graph.nodes[i];
    if (!n.domain.empty() ||
        std::find(o.op_types.begin(), o.op_types.end(), n.op_type) == o.op_types.end() ||
        (n.op_type != "MatMul" && n.op_type != "Gemm")) {
      continue;
    }
    const std::string label = NodeLabel(n);
    if (Excluded(n, o.exclude)) {
      report.skipped.push_back(label + ": excluded");
      continue;
    }
    std::string why;
    auto w = WeightKxN(n, constants, &why);
    if (!w) {
      report.skipped.push_back(label + ": " + why);
      continue;
    }
    RETURN_IF_ERROR(CheckFiniteWeight(n.inputs[1], w->first, kNonFiniteWeightAdvice));
    rewriter.Rewrite(n, w->first, w->second, o.per_channel, report);
    removed[i] = true;
  }
  if (report.quantized_nodes.empty()) {
    return absl::InvalidArgumentError("no MatMul or Gemm with a constant 2-D weight to quantize");
  }
  RETURN_IF_ERROR(rewriter.Finish(removed));
  for (const QuantizedTensor& q : report.tensors) {
    report.weight_bytes_before += q.bytes_before;
    report.weight_bytes_after += q.bytes_after;
  }
  return report;
}

absl::StatusOr<QuantizeReport> QuantizeDynamicInt8(Model& model, const DynamicInt8Options& o) {
  return CommitOnSuccess(model, [&](Model& work) { return QuantizeDynamicInt8On(work, o); });
}

}  // namespace pare::quantize
