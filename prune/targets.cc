#include "prune/targets.h"

#include <cstring>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "core/float16.h"
#include "core/status_macros.h"

namespace pare::prune {

namespace {

int64_t IntAttribute(const Node& n, const char* name, int64_t fallback) {
  const Attribute* a = n.FindAttribute(name);
  return a == nullptr ? fallback : a->i;
}

// The target for one node's weight, before rules; nullopt when the node has
// no prunable weight.
std::optional<WeightTarget> WeightOf(const Graph& g, size_t i, const Constants& constants) {
  const Node& node = g.nodes[i];
  if (!node.domain.empty() || node.inputs.size() < 2) return std::nullopt;
  const Tensor* w = constants.FindFloating(node.inputs[1]);
  if (w == nullptr) return std::nullopt;
  const std::vector<int64_t>& d = w->dims();
  WeightTarget t;
  t.node = i;
  t.input = node.inputs[0];
  t.weight = node.inputs[1];
  t.tensor = w;
  if (node.op_type == "MatMul" && d.size() == 2) {
    t.k = d[0];
    t.n = d[1];
  } else if (node.op_type == "Gemm" && d.size() == 2 && IntAttribute(node, "transA", 0) == 0) {
    t.transposed = IntAttribute(node, "transB", 0) != 0;
    t.k = t.transposed ? d[1] : d[0];
    t.n = t.transposed ? d[0] : d[1];
  } else if (node.op_type == "Conv" && d.size() >= 3) {
    t.transposed = true;
    t.n = d[0];
    t.k = static_cast<int64_t>(w->element_count()) / std::max<int64_t>(d[0], 1);
  } else {
    return std::nullopt;
  }
  return t;
}

}  // namespace

bool NeedsData(PruneMethod m) { return m == PruneMethod::kWanda || m == PruneMethod::kSparseGpt; }

absl::StatusOr<std::vector<WeightTarget>> PlanTargets(const Graph& g, const Constants& constants,
                                                      const PruneOptions& o,
                                                      std::vector<std::string>& skipped,
                                                      bool main_graph) {
  absl::flat_hash_set<std::string> outputs;
  if (main_graph) {
    for (const ValueInfo& v : g.outputs) outputs.insert(v.name);
  }
  absl::flat_hash_map<std::string, int> readers;
  for (const Node& n : g.nodes) {
    for (const std::string& in : n.inputs) ++readers[in];
  }
  std::vector<WeightTarget> targets;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    std::optional<WeightTarget> t = WeightOf(g, i, constants);
    if (!t) continue;
    const Node& node = g.nodes[i];
    const std::string label = NodeLabel(node);
    if (MatchesAnyPattern(node, o.exclude)) {
      skipped.push_back(label + ": excluded");
      continue;
    }
    if (readers[t->weight] > 1) {
      skipped.push_back(absl::StrCat(label, ": its weight '", t->weight, "' is shared by ",
                                     readers[t->weight], " nodes"));
      continue;
    }
    t->method = o.method;
    t->sparsity = o.sparsity;
    t->pattern = o.pattern;
    const PruneRule* rule = nullptr;
    for (const PruneRule& r : o.rules) {
      if (MatchesAnyPattern(node, {r.match})) {
        rule = &r;
        break;
      }
    }
    if (rule == nullptr && node.op_type != "Conv" && outputs.contains(node.outputs[0]) &&
        !o.include_head) {
      skipped.push_back(label + ": output head kept dense (--include-head prunes it)");
      continue;
    }
    if (rule != nullptr) {
      if (rule->sparsity) t->sparsity = *rule->sparsity;
      if (rule->pattern) t->pattern = *rule->pattern;
      if (rule->method) t->method = *rule->method;
      if (rule->sparsity && *rule->sparsity == 0) {
        skipped.push_back(label + ": kept dense by the recipe");
        continue;
      }
    }
    if (t->method == PruneMethod::kChannels) {
      skipped.push_back(label + ": channels is a whole-model method, not a per-layer rule");
      continue;
    }
    if (NeedsData(t->method) && node.op_type == "Conv") {
      skipped.push_back(absl::StrCat(label, ": ", PruneMethodName(t->method),
                                     " prunes MatMul and Gemm weights; magnitude prunes convs"));
      continue;
    }
    if (t->pattern.structured() && t->k % t->pattern.m != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(label, ": ", NmPatternName(t->pattern), " needs the input dimension (", t->k,
                       ") to be a multiple of ", t->pattern.m,
                       "; leave the node out with --exclude '", label, "'"));
    }
    targets.push_back(std::move(*t));
  }
  return targets;
}

absl::StatusOr<std::vector<float>> LoadKn(const WeightTarget& t) {
  ASSIGN_OR_RETURN(std::vector<float> v, t.tensor->ToFloat32());
  RETURN_IF_ERROR(CheckFiniteWeight(t.tensor->name(), v, kNonFiniteWeightAdvice));
  if (!t.transposed) return v;
  std::vector<float> kn(v.size());
  for (int64_t j = 0; j < t.n; ++j) {
    for (int64_t i = 0; i < t.k; ++i) kn[i * t.n + j] = v[j * t.k + i];
  }
  return kn;
}

Tensor StoreKn(const WeightTarget& t, const std::vector<float>& kn) {
  // Straight into the tensor's bytes, in its own layout and type: one copy.
  const DataType type = t.tensor->dtype();
  const size_t count = kn.size(), width = type == DataType::kFloat32 ? 4 : 2;
  std::vector<uint8_t> bytes(count * width);
  std::vector<float> row;
  auto put = [&](size_t at, const float* values, size_t n) {
    if (type == DataType::kFloat32) {
      std::memcpy(bytes.data() + at * 4, values, n * 4);
    } else if (type == DataType::kFloat16) {
      Float32ToFloat16(values, reinterpret_cast<uint16_t*>(bytes.data()) + at, n);
    } else {
      Float32ToBFloat16(values, reinterpret_cast<uint16_t*>(bytes.data()) + at, n);
    }
  };
  if (!t.transposed) {
    put(0, kn.data(), count);
  } else {
    row.resize(static_cast<size_t>(t.k));
    for (int64_t j = 0; j < t.n; ++j) {
      for (int64_t i = 0; i < t.k; ++i) row[i] = kn[i * t.n + j];
      put(static_cast<size_t>(j * t.k), row.data(), row.size());
    }
  }
  return Tensor::FromBytes(t.weight, type, t.tensor->dims(), std::move(bytes));
}

}  // namespace pare::prune
