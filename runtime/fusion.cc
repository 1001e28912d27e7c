#include "runtime/fusion.h"

#include <cmath>
#include <limits>
#include <optional>

#include "absl/strings/str_cat.h"
#include "core/graph.h"
#include "core/graph_edit.h"
#include "core/model_builder.h"
#include "runtime/value_readers.h"

namespace pare::runtime {
namespace {

struct Activation {
  std::string kind;
  float alpha = 0, beta = 0;
};

bool IsOp(const Node& node, const char* op) {
  return node.op_type == op && node.domain.empty() && node.outputs.size() == 1;
}

// The operand of a binary node other than `value`, if `value` is one of them.
std::optional<std::string> OtherOperand(const Node& node, const std::string& value) {
  if (node.inputs.size() != 2) return std::nullopt;
  if (node.inputs[0] == value) return node.inputs[1];
  if (node.inputs[1] == value) return node.inputs[0];
  return std::nullopt;
}

float AttrOr(const Node& node, const char* name, float fallback) {
  const Attribute* a = node.FindAttribute(name);
  return a != nullptr && a->type == AttributeType::kFloat ? a->f : fallback;
}

// Clip's bounds when they are known before running.
std::optional<std::pair<float, float>> ClipBounds(const Node& node, int64_t opset,
                                                  const Constants& constants) {
  float lo = -std::numeric_limits<float>::infinity(), hi = std::numeric_limits<float>::infinity();
  if (opset < 11) return std::make_pair(AttrOr(node, "min", lo), AttrOr(node, "max", hi));
  for (size_t i = 1; i < node.inputs.size() && i < 3; ++i) {
    if (node.inputs[i].empty()) continue;
    std::optional<float> bound = constants.Scalar(node.inputs[i]);
    if (!bound) return std::nullopt;  // bounds computed at run time
    (i == 1 ? lo : hi) = *bound;
  }
  return std::make_pair(lo, hi);
}

// The activation `node` computes, if it is one a Conv can absorb.
std::optional<Activation> AsActivation(const Node& node, int64_t opset,
                                       const Constants& constants) {
  if (!node.domain.empty() || node.inputs.empty() || node.outputs.size() != 1) return std::nullopt;
  const std::string& op = node.op_type;
  if (op == "Relu" || op == "Sigmoid") return Activation{op};
  if (op == "LeakyRelu") return Activation{op, AttrOr(node, "alpha", 0.01f)};
  if (op == "HardSigmoid") {
    return Activation{op, AttrOr(node, "alpha", 0.2f), AttrOr(node, "beta", 0.5f)};
  }
  if (op != "Clip") return std::nullopt;
  auto bounds = ClipBounds(node, opset, constants);
  if (!bounds) return std::nullopt;
  return Activation{"Clip", bounds->first, bounds->second};
}

class Fuser {
 public:
  Fuser(const Model& model, Graph& graph)
      : graph_(graph), opset_(OpsetVersion(model, "").value_or(1)) {}

  std::vector<std::string> FoldAll() {
    FoldAffineToFixpoint();
    return std::move(fused_);
  }

  std::vector<std::string> Run() {
    FoldAffineToFixpoint();
    Pass(&Fuser::FuseHardSwish);
    Pass(&Fuser::FuseActivation);
    return std::move(fused_);
  }

 private:
  using Rewrite = bool (Fuser::*)(size_t conv, const Constants&, const ValueReaders&);

  void FoldAffineToFixpoint() {
    // Each rewrite changes readers, so every pass starts from a fresh index.
    while (Pass(&Fuser::FoldAffine)) {
    }
  }

  bool Pass(Rewrite rewrite) {
    const Constants constants(graph_);
    const ValueReaders readers(graph_);
    removed_.assign(graph_.nodes.size(), false);
    bool changed = false;
    for (size_t i = 0; i < graph_.nodes.size(); ++i) {
      const Node& n = graph_.nodes[i];
      if (IsOp(n, "Conv") && !removed_[i] && !n.FindAttribute(kFusedActivation)) {
        changed |= (this->*rewrite)(i, constants, readers);
      }
    }
    std::vector<Node> kept;
    for (size_t i = 0; i < graph_.nodes.size(); ++i) {
      if (!removed_[i]) kept.push_back(std::move(graph_.nodes[i]));
    }
    graph_.nodes = std::move(kept);
    for (Tensor& t : added_) graph_.initializers.push_back(std::move(t));
    added_.clear();
    return changed;
  }

  // Conv -> Mul or Add by a constant scalar or per-channel [M,1,..] value,
  // or an inference BatchNormalization: folded into the weights and bias.
  bool FoldAffine(size_t ci, const Constants& constants, const ValueReaders& readers) {
    Node& conv = graph_.nodes[ci];
    auto next = readers.Only(conv.outputs[0]);
    if (!next || conv.inputs.size() < 2) return false;
    const Node& op = graph_.nodes[*next];
    const Tensor* w = constants.Find(conv.inputs[1]);
    if (w == nullptr || w->dims().empty() || w->dims()[0] <= 0) return false;
    const int64_t maps = w->dims()[0];
    // Every foldable op is y * scale + shift per output map.
    std::optional<std::vector<float>> scale, shift;
    if (IsOp(op, "Mul") || IsOp(op, "Add")) {
      auto operand = OtherOperand(op, conv.outputs[0]);
      if (!operand) return false;
      auto c = PerChannel(*operand, constants, maps, w->dims().size());
      if (!c) return false;
      (IsOp(op, "Mul") ? scale : shift) = std::move(c);
    } else if (IsOp(op, "BatchNormalization")) {
      if (!BatchNormAffine(op, constants, maps, &scale, &shift)) return false;
    } else {
      return false;
    }
    auto weights = constants.Floats(conv.inputs[1]);
    std::vector<float> bias(maps, 0.0f);
    if (conv.inputs.size() > 2 && !conv.inputs[2].empty()) {
      auto b = constants.Floats(conv.inputs[2]);
      if (!b || b->size() != static_cast<size_t>(maps)) return false;
      bias = *b;
    }
    if (!weights || weights->size() % maps != 0) return false;
    const size_t per_map = weights->size() / maps;
    for (int64_t m = 0; m < maps; ++m) {
      if (scale) {
        for (size_t j = 0; j < per_map; ++j) (*weights)[m * per_map + j] *= (*scale)[m];
        bias[m] *= (*scale)[m];
      }
      if (shift) bias[m] += (*shift)[m];
    }
    const std::string base = absl::StrCat(op.outputs[0], "_pare_folded");
    added_.push_back(Tensor::FromVector<float>(base + "_w", w->dims(), *weights));
    added_.push_back(Tensor::FromVector<float>(base + "_b", {maps}, bias));
    conv.inputs.resize(3);
    conv.inputs[1] = base + "_w";
    conv.inputs[2] = base + "_b";
    Absorb(conv, {*next});
    return true;
  }

  // Inference BatchNormalization as y * s + t: s = gamma / sqrt(var + eps),
  // t = beta - mean * s, when all four statistics are constants.
  static bool BatchNormAffine(const Node& bn, const Constants& constants, int64_t maps,
                              std::optional<std::vector<float>>* scale,
                              std::optional<std::vector<float>>* shift) {
    const Attribute* training = bn.FindAttribute("training_mode");
    if (bn.inputs.size() != 5 || (training != nullptr && training->i != 0)) return false;
    std::vector<float> v[4];
    for (int i = 0; i < 4; ++i) {
      auto values = constants.Floats(bn.inputs[i + 1]);
      if (!values || values->size() != static_cast<size_t>(maps)) return false;
      v[i] = *std::move(values);
    }
    const float eps = AttrOr(bn, "epsilon", 1e-5f);
    *scale = std::vector<float>(maps);
    *shift = std::vector<float>(maps);
    for (int64_t m = 0; m < maps; ++m) {
      (**scale)[m] = v[0][m] / std::sqrt(v[3][m] + eps);
      (**shift)[m] = v[1][m] - v[2][m] * (**scale)[m];
    }
    return true;
  }

  // `name` as one value per output map, from a scalar or a [1?, M, 1, ...]
  // constant that broadcasts along the Conv output's channel axis.
  std::optional<std::vector<float>> PerChannel(const std::string& name, const Constants& constants,
                                               int64_t maps, size_t rank) const {
    const Tensor* t = constants.Find(name);
    auto v = constants.Floats(name);
    if (t == nullptr || !v) return std::nullopt;
    if (v->size() == 1) return std::vector<float>(maps, (*v)[0]);
    const auto& d = t->dims();
    if (d.size() > rank || d.size() < rank - 1 || v->size() != static_cast<size_t>(maps)) {
      return std::nullopt;
    }
    const size_t channel_axis = d.size() - (rank - 1);  // axis 1 of the output
    for (size_t i = 0; i < d.size(); ++i) {
      if (d[i] != (i == channel_axis ? maps : 1)) return std::nullopt;
    }
    return v;
  }

  // y -> Add(y, 3) -> Clip(0, 6) -> Mul(y, .) -> Div(., 6): x * relu6(x + 3) / 6.
  bool FuseHardSwish(size_t ci, const Constants& constants, const ValueReaders& readers) {
    Node& conv = graph_.nodes[ci];
    const std::string& y = conv.outputs[0];
    std::vector<size_t> r = readers.Private(y);
    if (r.size() != 2) return false;
    for (int order = 0; order < 2; ++order) {
      const size_t add = r[order], mul = r[1 - order];
      const Node& a = graph_.nodes[add];
      auto three = IsOp(a, "Add") ? OtherOperand(a, y) : std::nullopt;
      if (!three || constants.Scalar(*three) != 3.0f) continue;
      auto clip = readers.Only(a.outputs[0]);
      if (!clip || !IsOp(graph_.nodes[*clip], "Clip")) continue;
      auto bounds = ClipBounds(graph_.nodes[*clip], opset_, constants);
      if (!bounds || bounds->first != 0.0f || bounds->second != 6.0f) continue;
      const Node& m = graph_.nodes[mul];
      if (!IsOp(m, "Mul") || OtherOperand(m, y) != graph_.nodes[*clip].outputs[0]) continue;
      if (readers.Only(graph_.nodes[*clip].outputs[0]) != mul) continue;
      auto div = readers.Only(m.outputs[0]);
      if (!div || !IsOp(graph_.nodes[*div], "Div") ||
          graph_.nodes[*div].inputs[0] != m.outputs[0] ||
          constants.Scalar(graph_.nodes[*div].inputs[1]) != 6.0f) {
        continue;
      }
      SetActivation(conv, {"HardSwish"});
      Absorb(conv, {add, *clip, mul, *div});
      return true;
    }
    return false;
  }

  bool FuseActivation(size_t ci, const Constants& constants, const ValueReaders& readers) {
    Node& conv = graph_.nodes[ci];
    auto next = readers.Only(conv.outputs[0]);
    if (!next || graph_.nodes[*next].inputs.empty() ||
        graph_.nodes[*next].inputs[0] != conv.outputs[0]) {
      return false;
    }
    std::optional<Activation> act = AsActivation(graph_.nodes[*next], opset_, constants);
    if (!act) return false;
    SetActivation(conv, *act);
    Absorb(conv, {*next});
    return true;
  }

  static void SetActivation(Node& conv, const Activation& act) {
    conv.attributes.push_back(StringAttr(kFusedActivation, act.kind));
    conv.attributes.push_back(FloatAttr(kFusedAlpha, act.alpha));
    conv.attributes.push_back(FloatAttr(kFusedBeta, act.beta));
  }

  // Removes `chain` (nodes after the Conv, the last one's output becoming the
  // Conv's) and records the values that disappear.
  void Absorb(Node& conv, const std::vector<size_t>& chain) {
    fused_.push_back(conv.outputs[0]);
    for (size_t i = 0; i + 1 < chain.size(); ++i) {
      fused_.push_back(graph_.nodes[chain[i]].outputs[0]);
    }
    conv.outputs[0] = graph_.nodes[chain.back()].outputs[0];
    for (size_t i : chain) removed_[i] = true;
  }

  Graph& graph_;
  int64_t opset_;
  std::vector<bool> removed_;
  std::vector<Tensor> added_;
  std::vector<std::string> fused_;
};

}  // namespace

std::vector<std::string> FuseConvActivations(const Model& model, Graph& graph) {
  return Fuser(model, graph).Run();
}

std::vector<std::string> FoldConvAffine(const Model& model, Graph& graph) {
  return Fuser(model, graph).FoldAll();
}

}  // namespace pare::runtime
