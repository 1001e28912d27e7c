#include "analysis/llama_graph.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <deque>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "analysis/attention.h"
#include "analysis/rotary.h"
#include "core/graph.h"
#include "core/graph_edit.h"
#include "core/status_macros.h"

namespace pare::analysis {
namespace {

absl::Status NoMatch(const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("not a Llama-family decoder: ", what));
}

// The single node reading `value`, or null.
const Node* OnlyReader(const std::string& value, const GraphIndex& index) {
  const auto& readers = index.Consumers(value);
  return readers.size() == 1 ? readers[0] : nullptr;
}

// The constant `value` is an Identity of, or `value`. torch.onnx writes
// parameters that are equal (norm scales still at their initial ones) once,
// and the others as Identity nodes of it.
std::string ThroughIdentity(const std::string& value, const GraphIndex& index,
                            const Constants& constants) {
  const Node* p = index.Producer(value);
  if (p && p->op_type == "Identity" && p->inputs.size() == 1 && constants.Contains(p->inputs[0])) {
    return p->inputs[0];
  }
  return value;
}

bool AddsToMean(const Node& add, const GraphIndex& index) {
  for (const std::string& in : add.inputs) {
    const Node* p = index.Producer(in);
    if (p && p->op_type == "ReduceMean") return true;
  }
  return false;
}

struct RmsNorm {
  std::string scale;
  float eps = 1e-5f;
};

// `value` as the output of RMSNorm: x / sqrt(mean(x^2) + eps) * scale, in
// any of the ways exporters spell it (Pow or Mul for the square, Div or
// Reciprocal or Mul for the division).
absl::StatusOr<RmsNorm> MatchRmsNorm(const std::string& value, const GraphIndex& index,
                                     const Constants& constants, const std::string& where) {
  const Node* p = index.Producer(value);
  if (!p || p->op_type != "Mul" || p->inputs.size() != 2) {
    return NoMatch(absl::StrCat(where, ": the input is not an RMSNorm (no scale Mul)"));
  }
  RmsNorm norm;
  std::string normalized;
  for (int i = 0; i < 2; ++i) {
    const std::string scale = ThroughIdentity(p->inputs[i], index, constants);
    const Tensor* t = constants.Find(scale);
    if (t && t->dims().size() == 1) {
      norm.scale = scale;
      normalized = p->inputs[1 - i];
    }
  }
  if (norm.scale.empty()) return NoMatch(absl::StrCat(where, ": RMSNorm without a 1-D scale"));
  bool mean = false, root = false;
  std::deque<std::pair<std::string, int>> queue = {{normalized, 0}};
  absl::flat_hash_set<std::string> seen;
  while (!queue.empty()) {
    auto [v, depth] = queue.front();
    queue.pop_front();
    const Node* n = index.Producer(v);
    if (!n || depth > 6 || !seen.insert(v).second) continue;
    if (n->op_type == "Sub")
      return NoMatch(absl::StrCat(where, ": LayerNorm (mean subtracted), not RMSNorm"));
    mean |= n->op_type == "ReduceMean";
    root |= n->op_type == "Sqrt" || n->op_type == "Reciprocal";
    // eps is added to the mean square, not anywhere upstream (GELU's 1 + tanh).
    if (n->op_type == "Add" && AddsToMean(*n, index)) {
      for (const std::string& in : n->inputs) {
        if (std::optional<float> eps = constants.Scalar(in)) norm.eps = *eps;
      }
    }
    if (n->op_type == "ReduceMean") continue;  // the square of the block input is behind it
    for (const std::string& in : n->inputs) {
      if (!constants.Contains(in)) queue.push_back({in, depth + 1});
    }
  }
  if (!mean || !root) return NoMatch(absl::StrCat(where, ": no mean-square and root in the norm"));
  return norm;
}

// The first value of an int64 constant, or nullopt.
std::optional<int64_t> FirstInt(const std::string& value, const Constants& constants) {
  const Tensor* t = constants.Find(value);
  if (!t || t->dtype() != DataType::kInt64 || t->element_count() == 0) return std::nullopt;
  int64_t v = 0;
  std::memcpy(&v, t->bytes().data(), sizeof(v));
  return v;
}

// A Reshape's target shape, entry by entry (0 where computed): a constant,
// or a Concat of one-value parts.
std::vector<int64_t> TargetShape(const Node& reshape, const GraphIndex& index,
                                 const Constants& constants) {
  std::vector<int64_t> out;
  if (const Tensor* shape = constants.Find(reshape.inputs[1])) {
    if (shape->dtype() != DataType::kInt64) return out;
    out.resize(shape->element_count());
    std::memcpy(out.data(), shape->bytes().data(), out.size() * sizeof(int64_t));
    return out;
  }
  const Node* concat = index.Producer(reshape.inputs[1]);
  if (!concat || concat->op_type != "Concat") return out;
  for (const std::string& part : concat->inputs)
    out.push_back(FirstInt(part, constants).value_or(0));
  return out;
}

// How a projection's output becomes heads: through a bias Add and, for a
// fused projection, the Slice taking this part, into the Reshape to
// [..., heads, head_dim]. `path` holds the nodes between the projection and
// the attention (TraceProjection's), so a fused projection's other parts
// are not taken.
struct HeadSplit {
  int64_t heads = 0, head_dim = 0;
  std::string bias;
  std::string heads_value;             // the Reshape's output
  std::optional<int64_t> slice_start;  // set when a Slice takes this part
};

std::optional<HeadSplit> SplitIntoHeads(const Node& projection,
                                        const std::vector<const Node*>& path,
                                        const GraphIndex& index, const Constants& constants) {
  const absl::flat_hash_set<const Node*> on_path(path.begin(), path.end());
  HeadSplit split;
  std::string value = projection.outputs[0];
  for (int step = 0; step < 4; ++step) {
    const Node* next = nullptr;
    for (const Node* c : index.Consumers(value)) {
      if (on_path.contains(c)) next = c;
    }
    if (!next || next->inputs.size() < 2) return std::nullopt;
    if (next->op_type == "Reshape") {
      const std::vector<int64_t> shape = TargetShape(*next, index, constants);
      if (shape.size() < 2 || shape.back() <= 0) return std::nullopt;
      // [batch, sequence, heads, head_dim], or with the heads spelled as
      // [kv_heads, group] (5-D grouped-query layouts).
      split.head_dim = shape.back();
      split.heads_value = next->outputs[0];
      split.heads = 1;
      for (size_t i = 2; i + 1 < shape.size(); ++i) split.heads *= std::max<int64_t>(shape[i], 0);
      return split;
    }
    if (next->op_type == "Add") {
      const std::string other =
          ThroughIdentity(next->inputs[next->inputs[0] == value ? 1 : 0], index, constants);
      const Tensor* bias = constants.Find(other);
      if (!bias || bias->dims().size() != 1) return std::nullopt;
      split.bias = other;
    } else if (next->op_type == "Slice") {
      split.slice_start = FirstInt(next->inputs[1], constants);
      if (!split.slice_start) return std::nullopt;
    } else {
      return std::nullopt;
    }
    value = next->outputs[0];
  }
  return std::nullopt;
}

// The constant behind a rotary table value (through Slice, Gather,
// Unsqueeze, Cast, Reshape: the positions used are cut from it).
const Tensor* RotaryTable(std::string value, const GraphIndex& index, const Constants& constants) {
  for (int step = 0; step < 6; ++step) {
    if (const Tensor* t = constants.Find(value)) return t->dims().size() >= 2 ? t : nullptr;
    const Node* p = index.Producer(value);
    if (!p || p->inputs.empty()) return nullptr;
    static const absl::flat_hash_set<std::string> passes = {
        "Slice", "Gather", "Unsqueeze", "Cast", "Reshape", "Squeeze", "Expand"};
    if (!passes.contains(p->op_type)) return nullptr;
    value = p->inputs[0];
  }
  return nullptr;
}

// Whether `value` is computed from `target`, looking back at most `depth`
// nodes.
bool ComputedFrom(const std::string& value, const std::string& target, const GraphIndex& index,
                  int depth = 24) {
  std::deque<std::pair<std::string, int>> queue = {{value, 0}};
  absl::flat_hash_set<std::string> seen;
  while (!queue.empty()) {
    auto [v, d] = queue.front();
    queue.pop_front();
    if (v == target) return true;
    const Node* p = index.Producer(v);
    if (!p || d >= depth || !seen.insert(v).second) continue;
    for (const std::string& in : p->inputs) queue.push_back({in, d + 1});
  }
  return false;
}

// The operands the query path's Muls take from outside it: the rotary cos
// and sin values (q * cos + rotate_half(q) * sin). The path, a breadth-first
// walk back from the attention, also holds the nodes computing cos and sin;
// only Muls with one operand computed from the projection count, and
// constants are scales (attention, Qwen3's per-head norm), not tables.
std::vector<std::string> RotaryOperands(const std::vector<const Node*>& path,
                                        const Node& projection, const GraphIndex& index,
                                        const Constants& constants) {
  const std::string& q = projection.outputs[0];
  std::vector<std::string> operands;
  for (const Node* n : path) {
    if (n->op_type != "Mul" || n->inputs.size() != 2) continue;
    for (int i = 0; i < 2; ++i) {
      const std::string& other = n->inputs[1 - i];
      if (constants.Contains(other) ||
          std::find(operands.begin(), operands.end(), other) != operands.end()) {
        continue;
      }
      if (ComputedFrom(n->inputs[i], q, index) && !ComputedFrom(other, q, index)) {
        operands.push_back(other);
      }
    }
  }
  return operands;
}

constexpr int64_t kRotaryPositions = 64;
// llama.cpp's default training context when the graph computes its table
// for any position (no table rows to count).
constexpr int64_t kComputedRotaryContext = 4096;

// The cos/sin tables `operands` hold for positions 0.., with the table rows
// when they are cut from constants (the trained context).
struct RotaryTables {
  std::vector<std::vector<float>> tables;
  int64_t width = 0, context = 0;
};

absl::StatusOr<RotaryTables> TablesOf(const Model& model, const std::vector<std::string>& operands,
                                      const GraphIndex& index, const Constants& constants) {
  RotaryTables out;
  std::vector<Tensor> evaluated;
  bool constant = true;
  for (const std::string& v : operands) {
    const Tensor* t = RotaryTable(v, index, constants);
    constant &= t != nullptr;
    if (!t) continue;
    evaluated.push_back(*t);
    out.context = t->dims()[0];
  }
  if (!constant) {
    ASSIGN_OR_RETURN(evaluated, EvaluateFromInputs(model, operands, kRotaryPositions));
    out.context = kComputedRotaryContext;
  }
  for (const Tensor& t : evaluated) {
    if (t.dims().empty()) return NoMatch("a scalar rotary table");
    ASSIGN_OR_RETURN(std::vector<float> v, t.ToFloat32());
    out.width = t.dims().back();
    out.tables.push_back(std::move(v));
  }
  return out;
}

// Rotary embedding on the query path: rotate-half (Neg and Concat) with cos
// and sin tables, constant or computed; sets base and context.
absl::Status MatchRotary(const Model& model, const std::vector<const Node*>& path,
                         const Node& projection, const GraphIndex& index,
                         const Constants& constants, LlamaGraph& g) {
  bool neg = false;
  for (const Node* n : path) neg |= n->op_type == "Neg";
  const std::vector<std::string> operands = RotaryOperands(path, projection, index, constants);
  if (!neg || operands.size() != 2) {
    return NoMatch("no rotary embedding on the queries (llama.cpp always applies RoPE)");
  }
  absl::StatusOr<RotaryTables> t = TablesOf(model, operands, index, constants);
  if (!t.ok()) return NoMatch(std::string(t.status().message()));
  if (t->tables[0].empty() || t->tables[1].empty()) return NoMatch("empty rotary tables");
  const bool first_is_cos = t->tables[0][0] > 0.5f;  // position 0: cos 1, sin 0
  const std::vector<float>& cos = t->tables[first_is_cos ? 0 : 1];
  const std::vector<float>& sin = t->tables[first_is_cos ? 1 : 0];
  absl::StatusOr<Rotary> r = ReadRotaryTables(cos, sin, t->width);
  if (!r.ok()) return NoMatch(std::string(r.status().message()));
  if (!r->rotate_half) return NoMatch("rotary embedding on adjacent pairs is not supported yet");
  if (r->freq_scale != 1) return NoMatch("linearly scaled rotary positions are not supported yet");
  g.rotate_half = true;
  g.rope_base = r->base;
  g.rotary_dims = r->dims;
  g.context = t->context;
  return absl::OkStatus();
}

// A projection reading `value` as its data input, reached through
// Transpose/Reshape/Cast (merging heads), or null.
const Node* ProjectionAfter(std::string value, const GraphIndex& index,
                            const Constants& constants) {
  for (int step = 0; step < 5; ++step) {
    const Node* n = OnlyReader(value, index);
    if (!n) return nullptr;
    if (ProjectionWidth(*n, constants) > 0 && n->inputs[0] == value) return n;
    if (n->op_type != "Transpose" && n->op_type != "Reshape" && n->op_type != "Cast")
      return nullptr;
    value = n->outputs[0];
  }
  return nullptr;
}

struct GatedMlp {
  const Node *gate, *up, *down;
  Activation activation;
  bool fused;  // gate == up: one projection sliced [gate | up]
};

// The projection `value` is the output of, directly or as a Slice of a
// fused one (setting *sliced), or null.
const Node* ProjectionOrPart(const std::string& value, const GraphIndex& index,
                             const Constants& constants, const Node** sliced) {
  const Node* p = index.Producer(value);
  if (p && p->op_type == "Slice" && !p->inputs.empty()) {
    *sliced = p;
    p = index.Producer(p->inputs[0]);
  }
  return p && ProjectionWidth(*p, constants) > 0 ? p : nullptr;
}

// The activation between a gate projection and `value`, and that
// projection: silu (x * sigmoid(x)) or GELU's tanh form, in a few ops.
std::optional<std::pair<const Node*, Activation>> GateOf(const std::string& value,
                                                         const GraphIndex& index,
                                                         const Constants& constants) {
  // Every op between `value` and the projections it is computed from.
  const Node* gate = nullptr;
  bool sigmoid = false, tanh = false;
  std::deque<std::pair<std::string, int>> queue = {{value, 0}};
  absl::flat_hash_set<std::string> seen;
  while (!queue.empty()) {
    auto [v, depth] = queue.front();
    queue.pop_front();
    const Node* n = index.Producer(v);
    if (!n || !seen.insert(v).second) continue;
    if (ProjectionWidth(*n, constants) > 0) {
      if (gate && gate != n) return std::nullopt;  // two projections: not one gate
      gate = n;
      continue;
    }
    if (depth > 10) return std::nullopt;
    sigmoid |= n->op_type == "Sigmoid";
    tanh |= n->op_type == "Tanh";
    const size_t inputs = n->op_type == "Slice" ? 1 : n->inputs.size();
    for (size_t i = 0; i < inputs; ++i) {
      if (!constants.Contains(n->inputs[i])) queue.push_back({n->inputs[i], depth + 1});
    }
  }
  if (!gate || sigmoid == tanh) return std::nullopt;
  return std::make_pair(gate, sigmoid ? Activation::kSilu : Activation::kGeluTanh);
}

// Every down(act(gate(x)) * up(x)) in graph order: SwiGLU, or GeGLU with
// GELU's tanh form (Gemma); gate and up separate, or one projection sliced
// in halves (Phi-3's gate_up_proj).
std::vector<GatedMlp> MatchGatedMlps(const Graph& g, const GraphIndex& index,
                                     const Constants& constants) {
  std::vector<GatedMlp> out;
  for (const Node& mix : g.nodes) {
    if (mix.op_type != "Mul" || mix.inputs.size() != 2) continue;
    const Node* down = OnlyReader(mix.outputs[0], index);
    if (!down || ProjectionWidth(*down, constants) <= 0 || down->inputs[0] != mix.outputs[0]) {
      continue;
    }
    for (int i = 0; i < 2; ++i) {
      const Node* up_slice = nullptr;
      const Node* up = ProjectionOrPart(mix.inputs[1 - i], index, constants, &up_slice);
      if (!up) continue;
      const auto gate = GateOf(mix.inputs[i], index, constants);
      if (!gate || gate->first->inputs[0] != up->inputs[0]) continue;
      const bool fused = gate->first == up;
      // A fused projection's up half is the second: its Slice does not start at 0.
      if (fused && (!up_slice || FirstInt(up_slice->inputs[1], constants) == 0)) continue;
      out.push_back({gate->first, up, down, gate->second, fused});
      break;
    }
  }
  return out;
}

// A head tied to the embedding: MatMul by Transpose(table), or Gemm with
// transB reading the table itself.
bool ReadsEmbeddingTransposed(const Node& head, const std::string& table, const GraphIndex& index) {
  if (head.inputs.size() < 2) return false;
  if (head.op_type == "Gemm") {
    const Attribute* t = head.FindAttribute("transB");
    return t && t->i && head.inputs[1] == table;
  }
  if (head.op_type != "MatMul") return false;
  const Node* t = index.Producer(head.inputs[1]);
  if (!t || t->op_type != "Transpose" || t->inputs.empty() || t->inputs[0] != table) return false;
  const Attribute* perm = t->FindAttribute("perm");
  return !perm || perm->ints == std::vector<int64_t>{1, 0};
}

}  // namespace

namespace {

// The token embedding: a Gather of a constant 2-D table by computed ids,
// and the scalar it is multiplied by before the first block (Gemma's
// sqrt(dim)), if any.
absl::Status MatchEmbedding(const Graph& graph, const GraphIndex& index, const Constants& constants,
                            LlamaGraph& g) {
  for (const Node& n : graph.nodes) {
    if (n.op_type != "Gather" || n.inputs.size() != 2) continue;
    const Tensor* table = constants.Find(n.inputs[0]);
    if (!table || table->dims().size() != 2 || constants.Contains(n.inputs[1])) continue;
    g.token_embd = n.inputs[0];
    g.vocab = table->dims()[0];
    g.dim = table->dims()[1];
    const Node* scale = OnlyReader(n.outputs[0], index);
    if (scale && scale->op_type == "Mul") {
      for (const std::string& in : scale->inputs) {
        if (std::optional<float> v = constants.Scalar(in)) g.embedding_scale = *v;
      }
    }
    return absl::OkStatus();
  }
  return NoMatch("no token embedding (Gather of a constant table)");
}

// Qwen3's RMSNorm of each head, between the head split and the rotary
// embedding: its scale, or empty when the heads go straight on.
absl::StatusOr<std::string> HeadNorm(const std::string& heads, const std::vector<const Node*>& path,
                                     int64_t head_dim, const GraphIndex& index,
                                     const Constants& constants, const std::string& where) {
  const absl::flat_hash_set<const Node*> on_path(path.begin(), path.end());
  std::deque<std::pair<std::string, int>> queue = {{heads, 0}};
  while (!queue.empty()) {
    auto [v, depth] = queue.front();
    queue.pop_front();
    for (const Node* c : index.Consumers(v)) {
      if (!on_path.contains(c) || depth > 10) continue;
      if (c->op_type == "Mul" && c->inputs.size() == 2) {
        for (const std::string& in : c->inputs) {
          const Tensor* t = constants.Find(ThroughIdentity(in, index, constants));
          if (!t || t->dims() != std::vector<int64_t>{head_dim}) continue;
          ASSIGN_OR_RETURN(const RmsNorm norm,
                           MatchRmsNorm(c->outputs[0], index, constants, where + " head norm"));
          return norm.scale;
        }
      }
      queue.push_back({c->outputs[0], depth + 1});
    }
  }
  return std::string();
}

// q, k and v: three projections, or one sliced [q | k | v] (Phi-3's
// qkv_proj), reading one RMSNorm; their biases; the head counts.
absl::Status MatchQkv(const Attention& a, const std::string& where, const GraphIndex& index,
                      const Constants& constants, LlamaBlock& b, LlamaGraph& g,
                      std::vector<const Node*>& query_path) {
  std::vector<const Node*> key_path, value_path;
  b.q = TraceProjection(a.queries, index, constants, &query_path);
  b.k = TraceProjection(a.keys, index, constants, &key_path);
  b.v = TraceProjection(a.values, index, constants, &value_path);
  if (!b.q || !b.k || !b.v) return NoMatch(absl::StrCat(where, ": no q, k and v projections"));
  if (b.q->inputs[0] != b.k->inputs[0] || b.q->inputs[0] != b.v->inputs[0]) {
    return NoMatch(absl::StrCat(where, ": q, k and v read different inputs"));
  }
  // The norm first: a LayerNorm decoder (GPT-2) is refused for that.
  ASSIGN_OR_RETURN(const RmsNorm attn_norm, MatchRmsNorm(b.q->inputs[0], index, constants, where));
  b.attn_norm = attn_norm.scale;
  g.rms_eps = attn_norm.eps;
  const std::optional<HeadSplit> q = SplitIntoHeads(*b.q, query_path, index, constants);
  const std::optional<HeadSplit> k = SplitIntoHeads(*b.k, key_path, index, constants);
  const std::optional<HeadSplit> v = SplitIntoHeads(*b.v, value_path, index, constants);
  if (!q || !k || !v) return NoMatch(absl::StrCat(where, ": no head split after q, k or v"));
  b.q_bias = q->bias, b.k_bias = k->bias, b.v_bias = v->bias;
  ASSIGN_OR_RETURN(b.q_norm,
                   HeadNorm(q->heads_value, query_path, q->head_dim, index, constants, where));
  ASSIGN_OR_RETURN(b.k_norm,
                   HeadNorm(k->heads_value, key_path, k->head_dim, index, constants, where));
  if (b.q_norm.empty() != b.k_norm.empty()) {
    return NoMatch(absl::StrCat(where, ": a per-head norm on only one of q and k"));
  }
  b.fused_qkv = b.q == b.k && b.k == b.v;
  g.head_dim = q->head_dim;
  // Separate projections give the head counts by their widths; a fused one
  // by its Reshapes.
  g.heads = b.q != b.k ? ProjectionWidth(*b.q, constants) / g.head_dim : q->heads;
  g.kv_heads = b.q != b.k ? ProjectionWidth(*b.k, constants) / g.head_dim : k->heads;
  if (g.heads <= 0 || g.kv_heads <= 0) {
    return NoMatch(absl::StrCat(where, ": no head count in the fused projection's head split"));
  }
  if (b.fused_qkv) {
    const int64_t q_width = g.heads * g.head_dim, kv_width = g.kv_heads * g.head_dim;
    if (q->slice_start != 0 || k->slice_start != q_width || v->slice_start != q_width + kv_width ||
        ProjectionWidth(*b.q, constants) != q_width + 2 * kv_width) {
      return NoMatch(absl::StrCat(where, ": a fused qkv projection not sliced [q | k | v]"));
    }
  } else if (b.q == b.k || b.k == b.v || b.q == b.v) {
    return NoMatch(absl::StrCat(where, ": two of q, k and v share a projection"));
  }
  return absl::OkStatus();
}

absl::StatusOr<LlamaBlock> MatchBlock(const Model& model, const Attention& a,
                                      const std::vector<GatedMlp>& mlps, const GraphIndex& index,
                                      const Constants& constants, LlamaGraph& g) {
  const std::string where = absl::StrCat("block ", g.blocks.size());
  LlamaBlock b;
  std::vector<const Node*> query_path;
  RETURN_IF_ERROR(MatchQkv(a, where, index, constants, b, g, query_path));
  b.o = ProjectionAfter(a.context->outputs[0], index, constants);
  if (!b.o) return NoMatch(absl::StrCat(where, ": attention without an output projection"));
  if (g.blocks.empty()) {
    RETURN_IF_ERROR(MatchRotary(model, query_path, *b.q, index, constants, g));
    if (g.rotary_dims != g.head_dim) {
      return NoMatch(absl::StrCat("partial rotary embedding (", g.rotary_dims, " of ", g.head_dim,
                                  " channels) is not supported yet"));
    }
  }
  if (g.blocks.size() >= mlps.size()) {
    return NoMatch(absl::StrCat(where, ": no gated MLP (SwiGLU or GeGLU)"));
  }
  const GatedMlp& mlp = mlps[g.blocks.size()];
  b.gate = mlp.gate, b.up = mlp.up, b.down = mlp.down, b.fused_gate_up = mlp.fused;
  g.activation = mlp.activation;
  ASSIGN_OR_RETURN(const RmsNorm ffn_norm,
                   MatchRmsNorm(b.gate->inputs[0], index, constants, where));
  b.ffn_norm = ffn_norm.scale;
  g.ffn = ProjectionWidth(*b.gate, constants) / (mlp.fused ? 2 : 1);
  return b;
}

// Whether `head` multiplies by the embedding table transposed: spelled so,
// or a constant-folded copy (exporters fold Transpose of a constant).
bool TiedToEmbedding(const Node& head, const std::string& table, const GraphIndex& index,
                     const Constants& constants) {
  if (ReadsEmbeddingTransposed(head, table, index)) return true;
  const Tensor* e = constants.Find(table);
  const Tensor* w = head.op_type == "MatMul" ? constants.Find(head.inputs[1]) : nullptr;
  if (!e || !w || w->dtype() != e->dtype() || w->dims().size() != 2 ||
      w->dims()[0] != e->dims()[1] || w->dims()[1] != e->dims()[0]) {
    return false;
  }
  const int64_t rows = e->dims()[0], cols = e->dims()[1];
  if (Info(e->dtype()).bits < 8) return false;
  const size_t width = Info(e->dtype()).bits / 8;
  // Sampled: a copy equals everywhere, a trained head differs almost anywhere.
  const int64_t step = std::max<int64_t>(1, rows * cols / 65536);
  for (int64_t i = 0; i < rows * cols; i += step) {
    const int64_t r = i / cols, c = i % cols;
    if (std::memcmp(e->bytes().data() + i * width, w->bytes().data() + (c * rows + r) * width,
                    width) != 0) {
      return false;
    }
  }
  return true;
}

absl::Status MatchOutput(const Graph& graph, const GraphIndex& index, const Constants& constants,
                         LlamaGraph& g) {
  if (graph.outputs.empty()) return NoMatch("no graph output");
  const Node* head = index.Producer(graph.outputs[0].name);
  if (head && head->op_type == "Cast") head = index.Producer(head->inputs[0]);
  g.tied_head = head && TiedToEmbedding(*head, g.token_embd, index, constants);
  if (!head || (!g.tied_head && ProjectionWidth(*head, constants) != g.vocab)) {
    return NoMatch("the first output is not a projection to the vocabulary");
  }
  g.output = head;
  ASSIGN_OR_RETURN(const RmsNorm final_norm,
                   MatchRmsNorm(head->inputs[0], index, constants, "output head"));
  g.output_norm = final_norm.scale;
  return absl::OkStatus();
}

// The llama.cpp architecture whose graph computes what this one does.
absl::Status ChooseArchitecture(LlamaGraph& g) {
  const LlamaBlock& b = g.blocks[0];
  const bool biases = !b.q_bias.empty() || !b.k_bias.empty() || !b.v_bias.empty();
  if (g.activation == Activation::kGeluTanh || g.embedding_scale != 1) {
    const float want = std::sqrt(static_cast<float>(g.dim));
    if (g.activation != Activation::kGeluTanh ||
        std::fabs(g.embedding_scale - want) > 1e-3f * want || !g.tied_head || biases ||
        b.fused_qkv || b.fused_gate_up) {
      return NoMatch(
          absl::StrCat("a GeGLU or scaled-embedding decoder that is not Gemma's (GELU, "
                       "embedding times sqrt(dim) = ",
                       want, ", tied head); got scale ", g.embedding_scale));
    }
    g.arch = "gemma";
  } else if (!b.q_norm.empty()) {
    if (b.fused_qkv || b.fused_gate_up) return NoMatch("per-head q/k norms with fused projections");
    g.arch = "qwen3";
  } else if (b.fused_gate_up) {
    if (biases) return NoMatch("a Phi-3-style decoder with q/k/v biases");
    g.arch = "phi3";
  } else if (b.fused_qkv) {
    return NoMatch("a fused qkv projection with separate gate and up is not supported yet");
  } else {
    g.arch = biases ? "qwen2" : "llama";
  }
  for (const LlamaBlock& other : g.blocks) {
    if (other.fused_qkv != b.fused_qkv || other.fused_gate_up != b.fused_gate_up ||
        other.q_bias.empty() != b.q_bias.empty() || other.q_norm.empty() != b.q_norm.empty()) {
      return NoMatch("blocks differ in their fused projections or biases");
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<LlamaGraph> MatchLlama(const Model& model) {
  const Graph& graph = model.graph;
  const GraphIndex index(graph);
  const Constants constants(graph);
  LlamaGraph g;
  RETURN_IF_ERROR(MatchEmbedding(graph, index, constants, g));
  const std::vector<GatedMlp> mlps = MatchGatedMlps(graph, index, constants);
  for (const Node& n : graph.nodes) {
    std::optional<Attention> a = MatchAttention(n, index, constants);
    if (!a) continue;
    ASSIGN_OR_RETURN(LlamaBlock b, MatchBlock(model, *a, mlps, index, constants, g));
    g.blocks.push_back(std::move(b));
  }
  if (g.blocks.empty()) return NoMatch("no attention (score MatMul -> Softmax -> MatMul)");
  RETURN_IF_ERROR(MatchOutput(graph, index, constants, g));
  RETURN_IF_ERROR(ChooseArchitecture(g));
  return g;
}

}  // namespace pare::analysis
