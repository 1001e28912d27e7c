#include "analysis/kv_cache.h"

#include <cmath>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "analysis/attention.h"
#include "core/graph.h"
#include "core/graph_edit.h"

namespace pare::analysis {
namespace {

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
    const Node* kp = TraceProjection(a->keys, index, constants);
    const Node* vp = TraceProjection(a->values, index, constants);
    if (!kp || !vp) continue;
    const int64_t k = ProjectionWidth(*kp, constants), v = ProjectionWidth(*vp, constants);
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

}  // namespace pare::analysis
