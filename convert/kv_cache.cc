#include "convert/kv_cache.h"

#include <cmath>
#include <deque>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/graph.h"
#include "core/graph_edit.h"

namespace pare::convert {
namespace {

// Element-wise steps allowed between an attention score and its softmax
// (scaling, masking, soft-capping, casts).
bool PassesScores(const std::string& op) {
  static const absl::flat_hash_set<std::string> ops = {"Mul",  "Div",  "Add", "Sub", "Where",
                                                       "Cast", "Tanh", "Max", "Min", "Clip"};
  return ops.contains(op);
}

bool TakesDataFirst(const std::string& op) {
  static const absl::flat_hash_set<std::string> ops = {
      "Reshape", "Expand", "Slice", "Tile", "Unsqueeze", "Squeeze", "Gather", "Pad", "Split"};
  return ops.contains(op);
}

bool IsPlainMatMul(const Node& n) { return n.op_type == "MatMul" && n.domain.empty(); }

// The output width of a projection node reading a constant weight, or 0.
int64_t ProjectionWidth(const Node& n, const Constants& constants) {
  if (n.op_type == "MatMulNBits") {
    const Attribute* a = n.FindAttribute("N");
    return a ? a->i : 0;
  }
  if (n.inputs.size() < 2) return 0;
  const Tensor* w = constants.Find(n.inputs[1]);
  if (!w || w->dims().size() != 2) return 0;
  if (IsPlainMatMul(n)) return w->dims()[1];
  if (n.op_type == "Gemm") {
    const Attribute* t = n.FindAttribute("transB");
    return t && t->i ? w->dims()[0] : w->dims()[1];
  }
  return 0;
}

// The width of the nearest projection `value` is computed from (breadth
// first, so the layer's own projection wins over earlier layers'), or 0.
int64_t TraceProjection(const std::string& value, const GraphIndex& index,
                        const Constants& constants) {
  std::deque<std::pair<std::string, int>> queue = {{value, 0}};
  absl::flat_hash_set<std::string> seen = {value};
  while (!queue.empty()) {
    auto [v, depth] = queue.front();
    queue.pop_front();
    const Node* p = index.Producer(v);
    if (!p) continue;
    if (int64_t width = ProjectionWidth(*p, constants)) return width;
    if (depth >= 24 || p->op_type == "Shape" || p->op_type == "Size") continue;
    // Only data flows back to the projection: a Reshape's target shape (or a
    // Slice's bounds) is computed from other layers' values.
    const size_t inputs = TakesDataFirst(p->op_type) ? 1 : p->inputs.size();
    for (size_t i = 0; i < inputs && i < p->inputs.size(); ++i) {
      const std::string& in = p->inputs[i];
      if (in.empty() || constants.Contains(in) || !seen.insert(in).second) continue;
      queue.push_back({in, depth + 1});
    }
  }
  return 0;
}

// The only reader of `value`, or null.
const Node* OnlyConsumer(const std::string& value, const GraphIndex& index) {
  const std::vector<const Node*>& c = index.Consumers(value);
  return c.size() == 1 ? c[0] : nullptr;
}

struct Attention {
  std::string keys, values;
  std::vector<std::string> chain;  // score .. softmax output
};

// When `n` computes attention scores: its key and value operands.
std::optional<Attention> MatchAttention(const Node& n, const GraphIndex& index,
                                        const Constants& constants) {
  if (!IsPlainMatMul(n) || n.inputs.size() != 2 || constants.Contains(n.inputs[0]) ||
      constants.Contains(n.inputs[1])) {
    return std::nullopt;
  }
  Attention a{.keys = n.inputs[1]};
  std::string v = n.outputs[0];
  a.chain.push_back(v);
  for (int step = 0; step < 8; ++step) {
    const Node* next = OnlyConsumer(v, index);
    if (!next || next->outputs.empty()) return std::nullopt;
    v = next->outputs[0];
    a.chain.push_back(v);
    if (next->op_type == "Softmax") break;
    if (!PassesScores(next->op_type)) return std::nullopt;
    if (step == 7) return std::nullopt;
  }
  // Probabilities times values (possibly through a cast).
  for (int step = 0; step < 3; ++step) {
    const Node* next = OnlyConsumer(v, index);
    if (!next) return std::nullopt;
    if (IsPlainMatMul(*next) && next->inputs[0] == v) {
      a.values = next->inputs[1];
      return a;
    }
    if (next->op_type != "Cast" || next->outputs.empty()) return std::nullopt;
    v = next->outputs[0];
  }
  return std::nullopt;
}

int64_t FixedDim(const std::vector<Dim>& shape, size_t i) {
  return i < shape.size() && shape[i].value ? *shape[i].value : 0;
}

// Inputs shaped [batch, kv_heads, past, head_dim] named like a key or value
// cache.
std::optional<KvCacheShape> FromCacheInputs(const Graph& g) {
  KvCacheShape kv{.source = "cache inputs [batch, kv_heads, past, head_dim]"};
  for (const ValueInfo& in : g.inputs) {
    const std::string name = in.name;
    if (!absl::StrContains(name, "past") || !in.shape || in.shape->size() != 4) continue;
    const int64_t elements = FixedDim(*in.shape, 1) * FixedDim(*in.shape, 3);
    if (elements == 0) continue;
    if (absl::StrContains(name, "key")) {
      kv.key_elements += elements;
      ++kv.layers;
    } else if (absl::StrContains(name, "value")) {
      kv.value_elements += elements;
    }
  }
  if (kv.layers == 0 || kv.value_elements == 0) return std::nullopt;
  return kv;
}

}  // namespace

uint64_t KvCacheShape::bytes_per_token(double element_bytes) const {
  return static_cast<uint64_t>(
      std::ceil(static_cast<double>(key_elements + value_elements) * element_bytes));
}

std::optional<KvCacheShape> DetectKvCache(const Model& model) {
  const Graph& g = model.graph;
  const GraphIndex index(g);
  const Constants constants(g);
  KvCacheShape kv{.source = "attention in the graph (score MatMul -> Softmax; K/V projections)"};
  for (const Node& n : g.nodes) {
    std::optional<Attention> a = MatchAttention(n, index, constants);
    if (!a) continue;
    const int64_t k = TraceProjection(a->keys, index, constants);
    const int64_t v = TraceProjection(a->values, index, constants);
    if (k == 0 || v == 0) continue;
    ++kv.layers;
    kv.key_elements += k;
    kv.value_elements += v;
    for (std::string& value : a->chain) kv.score_values.push_back(std::move(value));
  }
  std::optional<KvCacheShape> cache = FromCacheInputs(g);
  if (cache) {
    cache->score_values = kv.score_values;
    return cache;
  }
  if (kv.layers == 0) return std::nullopt;
  return kv;
}

KvCacheShape KvCacheFromDimensions(int64_t layers, int64_t kv_heads, int64_t head_dim) {
  return KvCacheShape{.layers = layers,
                      .key_elements = layers * kv_heads * head_dim,
                      .value_elements = layers * kv_heads * head_dim,
                      .source = "flags (--layers, --kv-heads, --head-dim)"};
}

}  // namespace pare::convert
