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
    if (n->op_type == "Add") {
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

// The head dimension from the Reshape that splits a projection into heads:
// the last entry of its target shape (a constant, or a Concat whose last
// part is one).
int64_t HeadDim(const Node& projection, const GraphIndex& index, const Constants& constants) {
  for (const Node* r : index.Consumers(projection.outputs[0])) {
    if (r->op_type != "Reshape" || r->inputs.size() < 2) continue;
    const Tensor* shape = constants.Find(r->inputs[1]);
    if (!shape) {
      const Node* concat = index.Producer(r->inputs[1]);
      if (concat && concat->op_type == "Concat") shape = constants.Find(concat->inputs.back());
    }
    if (!shape || shape->dtype() != DataType::kInt64 || shape->element_count() == 0) continue;
    int64_t last = 0;
    std::memcpy(&last, shape->bytes().data() + shape->bytes().size() - sizeof(last), sizeof(last));
    if (last > 0) return last;
  }
  return 0;
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

// The operands the query path's Muls take from outside it: the rotary cos
// and sin values (q * cos + rotate_half(q) * sin). The path, a breadth-first
// walk back from the attention, also holds the nodes computing cos and sin;
// only Muls with one operand computed from the projection count.
std::vector<std::string> RotaryOperands(const std::vector<const Node*>& path,
                                        const Node& projection, const Constants& constants) {
  absl::flat_hash_set<std::string> derived = {projection.outputs[0]};
  for (bool grew = true; grew;) {
    grew = false;
    for (const Node* n : path) {
      if (derived.contains(n->outputs[0])) continue;
      for (const std::string& in : n->inputs) {
        if (derived.contains(in)) {
          derived.insert(n->outputs.begin(), n->outputs.end());
          grew = true;
          break;
        }
      }
    }
  }
  std::vector<std::string> operands;
  for (const Node* n : path) {
    if (n->op_type != "Mul" || n->inputs.size() != 2) continue;
    for (int i = 0; i < 2; ++i) {
      const std::string& other = n->inputs[1 - i];
      if (derived.contains(n->inputs[i]) && !derived.contains(other) && !constants.Scalar(other) &&
          std::find(operands.begin(), operands.end(), other) == operands.end()) {
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
  for (const std::string& v : operands) constant &= RotaryTable(v, index, constants) != nullptr;
  if (constant) {
    for (const std::string& v : operands) {
      const Tensor* t = RotaryTable(v, index, constants);
      out.context = t->dims()[0];
      evaluated.push_back(*t);
    }
  } else {
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
  const std::vector<std::string> operands = RotaryOperands(path, projection, constants);
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

struct SwiGlu {
  const Node *gate, *up, *down;
};

// Every down(silu(gate(x)) * up(x)) in graph order.
std::vector<SwiGlu> MatchSwiGlus(const Graph& g, const GraphIndex& index,
                                 const Constants& constants) {
  std::vector<SwiGlu> out;
  auto projection_of = [&](const std::string& v) {
    const Node* p = index.Producer(v);
    return p && ProjectionWidth(*p, constants) > 0 ? p : nullptr;
  };
  for (const Node& mix : g.nodes) {
    if (mix.op_type != "Mul" || mix.inputs.size() != 2) continue;
    for (int i = 0; i < 2; ++i) {
      const Node* silu = index.Producer(mix.inputs[i]);
      const Node* up = projection_of(mix.inputs[1 - i]);
      if (!silu || !up || silu->op_type != "Mul" || silu->inputs.size() != 2) continue;
      const Node* gate = nullptr;
      for (int j = 0; j < 2; ++j) {
        const Node* sig = index.Producer(silu->inputs[j]);
        if (sig && sig->op_type == "Sigmoid" && sig->inputs[0] == silu->inputs[1 - j]) {
          gate = projection_of(silu->inputs[1 - j]);
        }
      }
      if (!gate || gate->inputs[0] != up->inputs[0]) continue;
      const Node* down = OnlyReader(mix.outputs[0], index);
      if (down && ProjectionWidth(*down, constants) > 0) out.push_back({gate, up, down});
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

absl::StatusOr<LlamaGraph> MatchLlama(const Model& model) {
  const Graph& graph = model.graph;
  const GraphIndex index(graph);
  const Constants constants(graph);
  LlamaGraph g;
  for (const Node& n : graph.nodes) {
    if (n.op_type != "Gather" || n.inputs.size() != 2) continue;
    const Tensor* table = constants.Find(n.inputs[0]);
    if (table && table->dims().size() == 2 && !constants.Contains(n.inputs[1])) {
      g.token_embd = n.inputs[0];
      g.vocab = table->dims()[0];
      g.dim = table->dims()[1];
      break;
    }
  }
  if (g.token_embd.empty()) return NoMatch("no token embedding (Gather of a constant table)");
  const std::vector<SwiGlu> mlps = MatchSwiGlus(graph, index, constants);
  for (const Node& n : graph.nodes) {
    std::optional<Attention> a = MatchAttention(n, index, constants);
    if (!a) continue;
    const std::string where = absl::StrCat("block ", g.blocks.size());
    LlamaBlock b;
    std::vector<const Node*> query_path;
    b.q = TraceProjection(a->queries, index, constants, &query_path);
    b.k = TraceProjection(a->keys, index, constants);
    b.v = TraceProjection(a->values, index, constants);
    b.o = ProjectionAfter(a->context->outputs[0], index, constants);
    if (!b.q || !b.k || !b.v || !b.o) {
      return NoMatch(absl::StrCat(where, ": attention without q, k, v and output projections"));
    }
    if (b.q->inputs[0] != b.k->inputs[0] || b.q->inputs[0] != b.v->inputs[0]) {
      return NoMatch(absl::StrCat(where, ": q, k and v read different inputs"));
    }
    ASSIGN_OR_RETURN(const RmsNorm attn_norm,
                     MatchRmsNorm(b.q->inputs[0], index, constants, where));
    b.attn_norm = attn_norm.scale;
    g.rms_eps = attn_norm.eps;
    if (g.blocks.empty()) {
      RETURN_IF_ERROR(MatchRotary(model, query_path, *b.q, index, constants, g));
      g.head_dim = HeadDim(*b.q, index, constants);
      if (g.head_dim <= 0) return NoMatch(absl::StrCat(where, ": no head split after q"));
      if (g.rotary_dims != g.head_dim) {
        return NoMatch(absl::StrCat("partial rotary embedding (", g.rotary_dims, " of ", g.head_dim,
                                    " channels) is not supported yet"));
      }
      g.heads = ProjectionWidth(*b.q, constants) / g.head_dim;
      g.kv_heads = ProjectionWidth(*b.k, constants) / g.head_dim;
    }
    if (g.blocks.size() >= mlps.size()) return NoMatch(absl::StrCat(where, ": no SwiGLU MLP"));
    const SwiGlu& mlp = mlps[g.blocks.size()];
    b.gate = mlp.gate, b.up = mlp.up, b.down = mlp.down;
    ASSIGN_OR_RETURN(const RmsNorm ffn_norm,
                     MatchRmsNorm(b.gate->inputs[0], index, constants, where));
    b.ffn_norm = ffn_norm.scale;
    g.ffn = ProjectionWidth(*b.gate, constants);
    g.blocks.push_back(b);
  }
  if (g.blocks.empty()) return NoMatch("no attention (score MatMul -> Softmax -> MatMul)");
  if (graph.outputs.empty()) return NoMatch("no graph output");
  const Node* head = index.Producer(graph.outputs[0].name);
  if (head && head->op_type == "Cast") head = index.Producer(head->inputs[0]);
  g.tied_head = head && ReadsEmbeddingTransposed(*head, g.token_embd, index);
  if (!head || (!g.tied_head && ProjectionWidth(*head, constants) != g.vocab)) {
    return NoMatch("the first output is not a projection to the vocabulary");
  }
  g.output = head;
  ASSIGN_OR_RETURN(const RmsNorm final_norm,
                   MatchRmsNorm(head->inputs[0], index, constants, "output head"));
  g.output_norm = final_norm.scale;
  return g;
}

}  // namespace pare::analysis
