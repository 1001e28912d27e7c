#include "analysis/attention.h"

#include <deque>
#include <utility>

#include "absl/container/flat_hash_set.h"

namespace pare::analysis {
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

}  // namespace

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

const Node* TraceProjection(const std::string& value, const GraphIndex& index,
                            const Constants& constants, std::vector<const Node*>* visited) {
  std::deque<std::pair<std::string, int>> queue = {{value, 0}};
  absl::flat_hash_set<std::string> seen = {value};
  while (!queue.empty()) {
    auto [v, depth] = queue.front();
    queue.pop_front();
    const Node* p = index.Producer(v);
    if (!p) continue;
    if (ProjectionWidth(*p, constants) > 0) return p;
    if (visited) visited->push_back(p);
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
  return nullptr;
}

namespace {

// The only reader of `value`, or null.
const Node* OnlyConsumer(const std::string& value, const GraphIndex& index) {
  const std::vector<const Node*>& c = index.Consumers(value);
  return c.size() == 1 ? c[0] : nullptr;
}

}  // namespace

std::optional<Attention> MatchAttention(const Node& n, const GraphIndex& index,
                                        const Constants& constants) {
  if (!IsPlainMatMul(n) || n.inputs.size() != 2 || constants.Contains(n.inputs[0]) ||
      constants.Contains(n.inputs[1])) {
    return std::nullopt;
  }
  Attention a{.scores = &n, .queries = n.inputs[0], .keys = n.inputs[1]};
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
      a.context = next;
      return a;
    }
    if (next->op_type != "Cast" || next->outputs.empty()) return std::nullopt;
    v = next->outputs[0];
  }
  return std::nullopt;
}

}  // namespace pare::analysis
