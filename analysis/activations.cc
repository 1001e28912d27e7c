#include "analysis/activations.h"

#include <algorithm>
#include <cmath>
#include <deque>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/graph.h"
#include "core/graph_edit.h"
#include "core/shape_inference.h"
#include "core/status_macros.h"

namespace pare::analysis {
namespace {

// A stand-in graph input for a weight whose producer has no ONNX schema
// (MatMulNBits) or is a run-once decode of constants (DequantizeLinear):
// shape inference then sees a plain weight of the decoded shape.
ValueInfo FakeWeight(const std::string& name, std::vector<int64_t> dims) {
  ValueInfo v{.name = name, .elem_type = DataType::kFloat32};
  v.shape.emplace();
  for (int64_t d : dims) v.shape->push_back(Dim{.value = d});
  return v;
}

// Rewrites the copy so libonnx's schemas cover it; returns the names that
// are weights (not activations) from now on.
absl::flat_hash_set<std::string> PrepareSkeleton(Model& m) {
  Graph& g = m.graph;
  const Constants constants(g);
  absl::flat_hash_set<std::string> weights;
  for (const Tensor& t : g.initializers) weights.insert(t.name());
  std::vector<Node> kept;
  for (Node& n : g.nodes) {
    if (n.op_type == "Constant") {
      for (const std::string& o : n.outputs) weights.insert(o);
      kept.push_back(std::move(n));
      continue;
    }
    if (n.op_type == "MatMulNBits") {
      const Attribute* k = n.FindAttribute("K");
      const Attribute* nn = n.FindAttribute("N");
      const std::string w = n.outputs[0] + ".pare_weight";
      g.inputs.push_back(FakeWeight(w, {k ? k->i : 0, nn ? nn->i : 0}));
      weights.insert(w);
      kept.push_back(Node{.name = n.name,
                          .op_type = "MatMul",
                          .inputs = {n.inputs[0], w},
                          .outputs = {n.outputs[0]}});
      continue;
    }
    if (n.op_type == "DequantizeLinear" && !n.inputs.empty()) {
      if (const Tensor* x = constants.Find(n.inputs[0])) {
        g.inputs.push_back(FakeWeight(n.outputs[0], x->dims()));
        weights.insert(n.outputs[0]);
        continue;
      }
    }
    // A node of weights only (a compact-storage decoder, a transpose of a
    // weight) runs once at load: its outputs are weights too.
    bool all_weights = !n.inputs.empty();
    for (const std::string& in : n.inputs) {
      if (!in.empty() && !weights.contains(in)) all_weights = false;
    }
    if (all_weights) {
      for (const std::string& o : n.outputs) weights.insert(o);
    }
    kept.push_back(std::move(n));
  }
  g.nodes = std::move(kept);
  return weights;
}

// Binds the symbolic sizes of the real inputs: the first axis is the
// batch, cache inputs ("past") hold the context before this step, any other
// symbolic axis is the step's tokens.
void BindInputs(Graph& g, const absl::flat_hash_set<std::string>& weights,
                const ActivationShape& s) {
  for (ValueInfo& in : g.inputs) {
    if (weights.contains(in.name) || !in.shape) continue;
    const bool cache = absl::StrContains(in.name, "past");
    for (size_t i = 0; i < in.shape->size(); ++i) {
      Dim& d = (*in.shape)[i];
      if (d.value) continue;
      d.value = i == 0 ? s.batch : cache ? std::max<int64_t>(s.context - s.tokens, 0) : s.tokens;
      d.param.clear();
    }
  }
}

bool Elementwise(const std::string& op) {
  static const absl::flat_hash_set<std::string> ops = {
      "Add",  "Sub",     "Mul",  "Div",        "Pow", "Neg", "Where", "Cast", "Sigmoid", "Tanh",
      "Relu", "Softmax", "Sqrt", "Reciprocal", "Erf", "Exp", "Max",   "Min",  "Clip",    "Gelu"};
  return ops.contains(op);
}

std::optional<std::vector<int64_t>> StaticShape(const ValueInfo* v) {
  if (!v || !v->is_tensor || !v->shape) return std::nullopt;
  std::vector<int64_t> dims;
  for (const Dim& d : *v->shape) {
    if (!d.value) return std::nullopt;
    dims.push_back(*d.value);
  }
  return dims;
}

// Where libonnx gives up (a Slice bounded by a computed length, as rotary
// tables are cut to the sequence), an element-wise node still has the
// broadcast shape of the inputs whose shapes are known: this recovers the
// rotary output and everything after it. Returns how many values it filled.
int FillElementwiseShapes(Graph& g) {
  absl::flat_hash_map<std::string, const ValueInfo*> known;
  for (const std::vector<ValueInfo>* list : {&g.inputs, &g.value_info, &g.outputs}) {
    for (const ValueInfo& v : *list) known[v.name] = &v;
  }
  absl::flat_hash_map<std::string, std::vector<int64_t>> initializer_dims;
  for (const Tensor& t : g.initializers) initializer_dims[t.name()] = t.dims();
  std::deque<ValueInfo> added;  // stable addresses for `known`
  for (const Node& n : g.nodes) {
    if (!Elementwise(n.op_type) || n.outputs.empty()) continue;
    auto it = known.find(n.outputs[0]);
    if (it != known.end() && StaticShape(it->second)) continue;
    std::vector<int64_t> out;
    DataType type = DataType::kUndefined;
    bool any = false;
    for (const std::string& in : n.inputs) {
      std::optional<std::vector<int64_t>> dims;
      if (auto k = known.find(in); k != known.end()) {
        dims = StaticShape(k->second);
        if (type == DataType::kUndefined) type = k->second->elem_type;
      }
      if (auto w = initializer_dims.find(in); !dims && w != initializer_dims.end())
        dims = w->second;
      if (!dims) continue;
      any = true;
      if (dims->size() > out.size()) out.insert(out.begin(), dims->size() - out.size(), 1);
      for (size_t i = 0; i < dims->size(); ++i) {
        int64_t& o = out[out.size() - dims->size() + i];
        o = std::max(o, (*dims)[i]);
      }
    }
    // Only activations (rank 3 and up) are trusted to fix the shape: a
    // scalar operand says nothing about the other's rank.
    if (!any || out.size() < 3 || type == DataType::kUndefined) continue;
    if (n.op_type == "Cast") {
      if (const Attribute* to = n.FindAttribute("to")) type = static_cast<DataType>(to->i);
    }
    ValueInfo v = FakeWeight(n.outputs[0], out);
    v.elem_type = type;
    added.push_back(std::move(v));
    known[n.outputs[0]] = &added.back();
  }
  absl::flat_hash_set<std::string> names;
  for (const ValueInfo& v : added) names.insert(v.name);
  std::erase_if(g.value_info, [&](const ValueInfo& v) { return names.contains(v.name); });
  for (ValueInfo& v : added) g.value_info.push_back(std::move(v));
  return static_cast<int>(added.size());
}

std::optional<uint64_t> ValueBytes(const ValueInfo& v) {
  if (!v.is_tensor || !v.shape) return std::nullopt;
  uint64_t elements = 1;
  for (const Dim& d : *v.shape) {
    if (!d.value || *d.value < 0) return std::nullopt;
    elements *= static_cast<uint64_t>(*d.value);
  }
  absl::StatusOr<uint64_t> bytes = StorageBytes(v.elem_type, elements);
  if (!bytes.ok()) return std::nullopt;
  return *bytes;
}

}  // namespace

absl::StatusOr<ActivationEstimate> EstimatePeakActivations(
    const Model& model, const ActivationShape& shape,
    const std::vector<std::string>& score_values) {
  Model m = model;  // tensors share storage: the copy costs the graph's structure
  const absl::flat_hash_set<std::string> weights = PrepareSkeleton(m);
  BindInputs(m.graph, weights, shape);
  for (ValueInfo& o : m.graph.outputs) o.shape.reset();  // inference sizes them for these inputs
  RETURN_IF_ERROR(InferShapes(m, /*propagate_data=*/true));
  for (int round = 0; round < 8; ++round) {
    const std::vector<ValueInfo> inferred = m.graph.value_info;
    if (FillElementwiseShapes(m.graph) == 0) break;
    if (!InferShapes(m, /*propagate_data=*/true).ok()) {  // a guess was wrong: keep what held
      m.graph.value_info = inferred;
      break;
    }
  }

  absl::flat_hash_map<std::string, std::optional<uint64_t>> sizes;
  for (const std::vector<ValueInfo>* list :
       {&m.graph.inputs, &m.graph.value_info, &m.graph.outputs}) {
    for (const ValueInfo& v : *list) sizes[v.name] = ValueBytes(v);
  }
  const double key_span =
      static_cast<double>(shape.context) / static_cast<double>(std::max<int64_t>(shape.tokens, 1));
  for (const std::string& v : score_values) {
    auto it = sizes.find(v);
    if (it != sizes.end() && it->second) {
      it->second = static_cast<uint64_t>(std::ceil(static_cast<double>(*it->second) * key_span));
    }
  }

  const Graph& g = m.graph;
  ASSIGN_OR_RETURN(const std::vector<size_t> order, TopologicalOrder(g));
  absl::flat_hash_map<std::string, int64_t> readers;
  for (const Node& n : g.nodes) {
    for (const std::string& r : NodeReads(n)) ++readers[r];
  }
  absl::flat_hash_set<std::string> outputs;
  for (const ValueInfo& o : g.outputs) outputs.insert(o.name);

  ActivationEstimate e;
  uint64_t live = 0;
  auto size_of = [&](const std::string& v) -> uint64_t {
    auto it = sizes.find(v);
    return it != sizes.end() && it->second ? *it->second : 0;
  };
  for (const ValueInfo& in : g.inputs) {
    if (!weights.contains(in.name)) live += size_of(in.name);
  }
  e.peak_bytes = live;
  for (size_t i : order) {
    const Node& n = g.nodes[i];
    if (weights.contains(n.outputs.empty() ? "" : n.outputs[0])) continue;
    for (const std::string& o : n.outputs) {
      if (o.empty()) continue;
      ++e.values;
      auto it = sizes.find(o);
      if (it == sizes.end() || !it->second) ++e.unknown_values;
      live += size_of(o);
    }
    if (live > e.peak_bytes) {
      e.peak_bytes = live;
      e.peak_node = NodeLabel(n);
    }
    for (const std::string& r : NodeReads(n)) {
      if (weights.contains(r) || outputs.contains(r)) continue;
      if (--readers[r] == 0) live -= std::min(live, size_of(r));
    }
    for (const std::string& o : n.outputs) {  // results nothing reads
      if (!o.empty() && !outputs.contains(o) && readers[o] == 0) live -= std::min(live, size_of(o));
    }
  }
  return e;
}

}  // namespace pare::analysis
