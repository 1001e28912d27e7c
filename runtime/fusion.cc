#include "runtime/fusion.h"

#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "core/graph.h"
#include "core/model_builder.h"

namespace pare::runtime {
namespace {

struct Activation {
  std::string kind;
  float alpha = 0, beta = 0;
};

// A float scalar known before running: an initializer or a Constant's value.
class Constants {
 public:
  explicit Constants(const Graph& graph) {
    for (const Tensor& t : graph.initializers) values_[t.name()] = &t;
    for (const Node& node : graph.nodes) {
      if (node.op_type != "Constant" || !node.domain.empty() || node.outputs.size() != 1) continue;
      const Attribute* value = node.FindAttribute("value");
      if (value != nullptr && value->tensors.size() == 1) {
        values_[node.outputs[0]] = &value->tensors[0];
      }
    }
  }

  std::optional<float> Scalar(const std::string& name) const {
    auto it = values_.find(name);
    if (it == values_.end() || it->second->element_count() != 1) return std::nullopt;
    auto floats = it->second->ToFloat32();
    if (!floats.ok() || it->second->dtype() != DataType::kFloat32) return std::nullopt;
    return (*floats)[0];
  }

 private:
  absl::flat_hash_map<std::string, const Tensor*> values_;
};

float AttrOr(const Node& node, const char* name, float fallback) {
  const Attribute* a = node.FindAttribute(name);
  return a != nullptr && a->type == AttributeType::kFloat ? a->f : fallback;
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
  Activation clip{"Clip", -std::numeric_limits<float>::infinity(),
                  std::numeric_limits<float>::infinity()};
  if (opset < 11) {
    clip.alpha = AttrOr(node, "min", clip.alpha);
    clip.beta = AttrOr(node, "max", clip.beta);
    return clip;
  }
  for (size_t i = 1; i < node.inputs.size() && i < 3; ++i) {
    if (node.inputs[i].empty()) continue;
    std::optional<float> bound = constants.Scalar(node.inputs[i]);
    if (!bound) return std::nullopt;  // bounds computed at run time
    (i == 1 ? clip.alpha : clip.beta) = *bound;
  }
  return clip;
}

}  // namespace

std::vector<std::string> FuseConvActivations(const Model& model, Graph& graph) {
  absl::flat_hash_map<std::string, int> readers;
  absl::flat_hash_map<std::string, size_t> reader_of;
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    for (const std::string& v : NodeReads(graph.nodes[i])) {
      ++readers[v];
      reader_of[v] = i;
    }
  }
  absl::flat_hash_set<std::string> graph_outputs;
  for (const ValueInfo& v : graph.outputs) graph_outputs.insert(v.name);
  const Constants constants(graph);
  const int64_t opset = OpsetVersion(model, "").value_or(1);
  std::vector<std::string> fused;
  std::vector<bool> removed(graph.nodes.size(), false);
  for (Node& conv : graph.nodes) {
    if (conv.op_type != "Conv" || !conv.domain.empty() || conv.outputs.size() != 1) continue;
    const std::string& y = conv.outputs[0];
    if (readers[y] != 1 || graph_outputs.contains(y)) continue;
    const size_t next = reader_of[y];
    const Node& act_node = graph.nodes[next];
    if (act_node.inputs[0] != y || removed[next]) continue;
    std::optional<Activation> act = AsActivation(act_node, opset, constants);
    if (!act) continue;
    fused.push_back(y);
    conv.attributes.push_back(StringAttr(kFusedActivation, act->kind));
    conv.attributes.push_back(FloatAttr(kFusedAlpha, act->alpha));
    conv.attributes.push_back(FloatAttr(kFusedBeta, act->beta));
    conv.outputs[0] = act_node.outputs[0];
    removed[next] = true;
  }
  std::vector<Node> kept;
  kept.reserve(graph.nodes.size());
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    if (!removed[i]) kept.push_back(std::move(graph.nodes[i]));
  }
  graph.nodes = std::move(kept);
  return fused;
}

}  // namespace pare::runtime
