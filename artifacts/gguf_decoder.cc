#include "artifacts/gguf_decoder.h"

#include <cmath>
#include <fstream>
#include <limits>
#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "artifacts/gguf.h"
#include "artifacts/gguf_llama.h"
#include "core/model_builder.h"
#include "core/quant_format.h"
#include "core/status_macros.h"

namespace pare::artifacts {
namespace {

absl::Status Bad(const std::filesystem::path& path, const std::string& why) {
  return absl::InvalidArgumentError(absl::StrCat(path.string(), ": ", why));
}

// The architecture's numbers, from the metadata.
struct Hyper {
  std::string arch;
  int64_t dim = 0, layers = 0, ffn = 0, heads = 0, kv_heads = 0, head_dim = 0, rotary = 0;
  float base = 10000, eps = 1e-5f;
};

// The file's tensors, dequantized to float32 on request.
class Tensors {
 public:
  Tensors(std::filesystem::path path, const GgufSummary& s) : path_(std::move(path)), s_(s) {
    for (const GgufSummary::Tensor& t : s_.tensors) by_name_[t.name] = &t;
  }

  bool Has(const std::string& name) const { return by_name_.contains(name); }
  GgmlType Type(const std::string& name) const {
    auto it = by_name_.find(name);
    return it == by_name_.end() ? GgmlType::kF32 : it->second->type;
  }

  // [rows, cols] float32 (cols: ggml's first, contiguous dimension).
  absl::StatusOr<std::vector<float>> Rows(const std::string& name, int64_t* rows,
                                          int64_t* cols) const {
    auto it = by_name_.find(name);
    if (it == by_name_.end()) return absl::InvalidArgumentError(absl::StrCat("no tensor ", name));
    const GgufSummary::Tensor& t = *it->second;
    const QuantFormat* f = FindGgmlFormat(static_cast<int32_t>(t.type));
    if (!f || !f->unpack || t.dims.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, ": ggml type ", static_cast<int>(t.type), " is not one pare reads"));
    }
    uint64_t count = 1;
    for (uint64_t d : t.dims) {
      if (d == 0 || count > (uint64_t{1} << 40) / d)
        return absl::InvalidArgumentError(name + ": bad dimensions");
      count *= d;
    }
    *cols = static_cast<int64_t>(t.dims[0]);
    *rows = static_cast<int64_t>(count / t.dims[0]);
    if (count % static_cast<uint64_t>(f->block) != 0)
      return absl::InvalidArgumentError(name + ": partial block");
    const uint64_t size = count / f->block * f->bytes_per_block;
    std::error_code error;
    const uint64_t file = std::filesystem::file_size(path_, error);
    if (error || s_.data_offset + t.offset > file || size > file - s_.data_offset - t.offset) {
      return absl::InvalidArgumentError(absl::StrCat(name, ": data beyond the end of the file"));
    }
    std::vector<uint8_t> bytes(static_cast<size_t>(size));
    std::ifstream in(path_, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(s_.data_offset + t.offset));
    in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (!in) return absl::InvalidArgumentError(absl::StrCat(name, ": data cut short"));
    std::vector<float> values(static_cast<size_t>(count));
    for (uint64_t b = 0; b < count / f->block; ++b) {
      f->unpack(bytes.data() + b * f->bytes_per_block, values.data() + b * f->block);
    }
    return values;
  }

 private:
  std::filesystem::path path_;
  const GgufSummary& s_;
  std::map<std::string, const GgufSummary::Tensor*> by_name_;
};

absl::StatusOr<Hyper> ReadHyper(const std::filesystem::path& path, const GgufSummary& s) {
  std::map<std::string, std::string> m(s.metadata.begin(), s.metadata.end());
  Hyper h;
  h.arch = m["general.architecture"];
  if (h.arch != "llama" && h.arch != "qwen2" && h.arch != "qwen3" && h.arch != "gemma" &&
      h.arch != "phi3") {
    return Bad(path, absl::StrCat("architecture '", h.arch,
                                  "' is not one pare rebuilds (llama, qwen2, qwen3, gemma, phi3)"));
  }
  auto integer = [&](const std::string& key, int64_t* v, bool required) -> absl::Status {
    auto it = m.find(h.arch + "." + key);
    if (it == m.end()) {
      return required ? Bad(path, absl::StrCat("no ", h.arch, ".", key)) : absl::OkStatus();
    }
    if (!absl::SimpleAtoi(it->second, v)) return Bad(path, absl::StrCat(key, " is ", it->second));
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(integer("embedding_length", &h.dim, true));
  RETURN_IF_ERROR(integer("block_count", &h.layers, true));
  RETURN_IF_ERROR(integer("feed_forward_length", &h.ffn, true));
  RETURN_IF_ERROR(integer("attention.head_count", &h.heads, true));
  h.kv_heads = h.heads;
  RETURN_IF_ERROR(integer("attention.head_count_kv", &h.kv_heads, false));
  if (h.heads <= 0 || h.kv_heads <= 0 || h.heads % h.kv_heads) return Bad(path, "head counts");
  h.head_dim = h.dim / h.heads;
  RETURN_IF_ERROR(integer("attention.key_length", &h.head_dim, false));
  h.rotary = h.head_dim;
  RETURN_IF_ERROR(integer("rope.dimension_count", &h.rotary, false));
  if (h.rotary != h.head_dim) return Bad(path, "partial rotary embedding is not rebuilt yet");
  if (h.dim <= 0 || h.layers <= 0 || h.layers > 100000 || h.ffn <= 0 || h.head_dim <= 0 ||
      h.head_dim % 2) {
    return Bad(path,
               absl::StrCat("metadata out of range: ", h.dim, " wide, ", h.layers,
                            " blocks, feed-forward ", h.ffn, ", head dimension ", h.head_dim));
  }
  auto real = [&](const std::string& key, float* v) {
    auto it = m.find(h.arch + "." + key);
    if (it != m.end()) (void)absl::SimpleAtof(it->second, v);
  };
  real("rope.freq_base", &h.base);
  real("attention.layer_norm_rms_epsilon", &h.eps);
  return h;
}

// Writes the graph: each op's output named `name` (readable per-layer
// names), constants named after what they hold.
class Writer {
 public:
  Writer() : b_("gguf_decoder", 17) {}

  std::string Op(const std::string& op, std::vector<std::string> in, const std::string& name,
                 std::vector<Attribute> attrs = {}) {
    Node& n = b_.AddNode(op, std::move(in), {name}, name);
    for (Attribute& a : attrs) n.attributes.push_back(std::move(a));
    return name;
  }
  std::string Ints(const std::string& name, std::vector<int64_t> v) {
    const int64_t n = static_cast<int64_t>(v.size());
    b_.Initializer(Tensor::FromVector<int64_t>(name, {n}, v));
    return name;
  }
  std::string Scalar(const std::string& name, float v) {
    b_.Initializer(Tensor::FromVector<float>(name, {}, {v}));
    return name;
  }
  std::string IntScalar(const std::string& name, int64_t v) {
    b_.Initializer(Tensor::FromVector<int64_t>(name, {}, {v}));
    return name;
  }
  std::string Floats(const std::string& name, std::vector<int64_t> dims, std::vector<float> v) {
    b_.Initializer(Tensor::FromVector<float>(name, std::move(dims), v));
    return name;
  }
  ModelBuilder& builder() { return b_; }

 private:
  ModelBuilder b_;
};

// Rows [out, in] as a MatMul weight [in, out].
std::vector<float> Transposed(const std::vector<float>& rows, int64_t out, int64_t in) {
  std::vector<float> t(rows.size());
  for (int64_t o = 0; o < out; ++o) {
    for (int64_t i = 0; i < in; ++i) t[i * out + o] = rows[o * in + i];
  }
  return t;
}

class Rebuild {
 public:
  Rebuild(const Hyper& h, const Tensors& t, bool llama_cpp_activations)
      : h_(h), t_(t), llama_cpp_activations_(llama_cpp_activations) {}

  absl::StatusOr<Model> Build(const std::string& input) && {
    w_.builder().Input(input, DataType::kInt64, {1, -1});
    ASSIGN_OR_RETURN(std::string x, Embedding(input));
    Positions(input);
    for (int64_t i = 0; i < h_.layers; ++i) {
      ASSIGN_OR_RETURN(x, Block(i, x));
    }
    ASSIGN_OR_RETURN(const std::string n, Norm("output_norm", x));
    const std::string head = t_.Has("output.weight") ? "output.weight" : "token_embd.weight";
    ASSIGN_OR_RETURN(const std::string logits, Linear("logits", n, head, "", false));
    w_.builder().Output(logits, DataType::kFloat32, {1, -1, vocab_});
    return std::move(w_.builder()).Build();
  }

 private:
  absl::StatusOr<std::string> Embedding(const std::string& input) {
    int64_t rows = 0, cols = 0;
    ASSIGN_OR_RETURN(std::vector<float> e, t_.Rows("token_embd.weight", &rows, &cols));
    if (cols != h_.dim)
      return absl::InvalidArgumentError("token_embd width is not embedding_length");
    vocab_ = rows;
    w_.Floats("token_embd", {rows, cols}, std::move(e));
    std::string x = w_.Op("Gather", {"token_embd", input}, "embedded");
    if (h_.arch == "gemma") {
      x = w_.Op("Mul", {x, w_.Scalar("embedding_scale", std::sqrt(static_cast<float>(h_.dim)))},
                "embedded_scaled");
    }
    return x;
  }

  // cos/sin [T, head_dim] (halves rotated, as the rebuilt q/k rows are) and
  // the causal mask [T, T], for positions 0..T-1.
  void Positions(const std::string& input) {
    const std::string shape = w_.Op("Shape", {input}, "ids_shape");
    const std::string t = w_.Op("Gather", {shape, w_.IntScalar("one", 1)}, "positions_count");
    const std::string pos =
        w_.Op("Range", {w_.IntScalar("zero", 0), t, w_.IntScalar("step", 1)}, "positions");
    const std::string pos_f = w_.Op("Cast", {pos}, "positions_float", {IntAttr("to", 1)});
    std::vector<float> inv(static_cast<size_t>(h_.rotary / 2));
    for (size_t i = 0; i < inv.size(); ++i) {
      inv[i] = static_cast<float>(
          std::pow(static_cast<double>(h_.base), -2.0 * static_cast<double>(i) / h_.rotary));
    }
    const std::string column = w_.Op("Unsqueeze", {pos_f, w_.Ints("axis1", {1})}, "pos_column");
    const std::string freqs =
        w_.Op("Mul", {column, w_.Floats("inv_freq", {1, h_.rotary / 2}, inv)}, "rope_freqs");
    const std::string both = w_.Op("Concat", {freqs, freqs}, "rope_angles", {IntAttr("axis", -1)});
    w_.Op("Cos", {both}, "rope_cos");
    w_.Op("Sin", {both}, "rope_sin");
    const std::string row = w_.Op("Unsqueeze", {pos, w_.Ints("axis0", {0})}, "pos_row");
    const std::string col = w_.Op("Unsqueeze", {pos, w_.Ints("axis1b", {1})}, "pos_col");
    const std::string future = w_.Op("Greater", {row, col}, "future");
    w_.Op("Where",
          {future, w_.Scalar("blocked", std::numeric_limits<float>::lowest()),
           w_.Scalar("open", 0.0f)},
          "causal_mask");
  }

  absl::StatusOr<std::string> Norm(const std::string& weight, const std::string& x) {
    int64_t rows = 0, cols = 0;
    ASSIGN_OR_RETURN(std::vector<float> w, t_.Rows(weight + ".weight", &rows, &cols));
    const std::string p = weight + ".";
    const std::string sq = w_.Op("Mul", {x, x}, p + "square");
    const std::string mean =
        w_.Op("ReduceMean", {sq}, p + "mean", {IntsAttr("axes", {-1}), IntAttr("keepdims", 1)});
    const std::string root = w_.Op(
        "Sqrt", {w_.Op("Add", {mean, w_.Scalar(p + "eps", h_.eps)}, p + "plus_eps")}, p + "root");
    const std::string normed = w_.Op("Div", {x, root}, p + "normalized");
    return w_.Op("Mul", {normed, w_.Floats(weight, {cols}, std::move(w))}, p + "out");
  }

  // x times a weight's rows [out, in] (a slice of them: rows [first, first
  // + count), when count > 0), plus an optional bias tensor.
  absl::StatusOr<std::string> Linear(const std::string& name, const std::string& x,
                                     const std::string& weight, const std::string& bias,
                                     bool rotary, int64_t first = 0, int64_t count = 0) {
    int64_t rows = 0, cols = 0;
    ASSIGN_OR_RETURN(std::vector<float> w, t_.Rows(weight, &rows, &cols));
    if (count > 0) {
      w = std::vector<float>(w.begin() + first * cols, w.begin() + (first + count) * cols);
      rows = count;
    }
    if (rotary && h_.arch == "llama") w = UnpermuteRotaryRows(w, rows, cols);
    const std::string input =
        llama_cpp_activations_ ? AsLlamaCppReads(name, x, t_.Type(weight), cols) : x;
    const std::string y = w_.Op(
        "MatMul", {input, w_.Floats(name + ".w", {cols, rows}, Transposed(w, rows, cols))}, name);
    if (bias.empty() || !t_.Has(bias)) return y;
    int64_t brows = 0, bcols = 0;
    ASSIGN_OR_RETURN(std::vector<float> b, t_.Rows(bias, &brows, &bcols));
    return w_.Op("Add", {y, w_.Floats(name + ".b", {bcols}, std::move(b))}, name + "_biased");
  }

  // The activations as llama.cpp's CPU kernels read them for a weight of
  // `type`: to 8 bits in blocks (Q8_0: 32, float16 scale; Q8_K: 256, float
  // scale), to float16 for F16, as they are for F32.
  std::string AsLlamaCppReads(const std::string& name, const std::string& x, GgmlType type,
                              int64_t width) {
    const std::string p = name + ".act_";
    if (type == GgmlType::kF32) return x;
    if (type == GgmlType::kF16) {
      return w_.Op("Cast", {w_.Op("Cast", {x}, p + "f16", {IntAttr("to", 10)})}, p + "read",
                   {IntAttr("to", 1)});
    }
    const bool k_quant = FindGgmlFormat(static_cast<int32_t>(type))->sub_block > 0;
    const int64_t block = k_quant ? 256 : 32;
    if (width % block) return x;
    const std::string blocks = w_.Op(
        "Reshape", {x, w_.Ints(p + "blocks_shape", {0, 0, width / block, block})}, p + "blocks");
    const std::string amax = w_.Op("ReduceMax", {w_.Op("Abs", {blocks}, p + "abs")}, p + "amax",
                                   {IntsAttr("axes", {-1}), IntAttr("keepdims", 1)});
    std::string d = w_.Op("Div", {amax, w_.Scalar(p + "levels", 127.0f)}, p + "scale");
    if (!k_quant) {  // Q8_0 keeps its scale in float16
      d = w_.Op("Cast", {w_.Op("Cast", {d}, p + "scale_f16", {IntAttr("to", 10)})},
                p + "scale_half", {IntAttr("to", 1)});
    }
    const std::string safe = w_.Op("Max", {d, w_.Scalar(p + "tiny", 1e-30f)}, p + "safe_scale");
    const std::string q = w_.Op("Round", {w_.Op("Div", {blocks, safe}, p + "scaled")}, p + "codes");
    const std::string back = w_.Op("Mul", {q, d}, p + "dequantized");
    return w_.Op("Reshape", {back, w_.Ints(p + "row_shape", {0, 0, width})}, p + "read");
  }

  // llama's q/k rows were written for adjacent-pair rotation
  // (RotaryRowOrder); back to rotating halves.
  std::vector<float> UnpermuteRotaryRows(const std::vector<float>& w, int64_t rows,
                                         int64_t cols) const {
    const std::vector<int64_t> order = RotaryRowOrder(rows, h_.head_dim);
    std::vector<float> out(w.size());
    for (int64_t r = 0; r < rows; ++r) {
      std::copy(w.begin() + r * cols, w.begin() + (r + 1) * cols, out.begin() + order[r] * cols);
    }
    return out;
  }

  // [1, T, heads * hd] -> [1, kv, group, T, hd] with RoPE when asked.
  absl::StatusOr<std::string> Heads(const std::string& p, const std::string& x, int64_t group,
                                    bool rope, const std::string& norm = "") {
    const std::string r = w_.Op(
        "Reshape", {x, w_.Ints(p + "shape", {0, 0, h_.kv_heads, group, h_.head_dim})}, p + "split");
    std::string t = w_.Op("Transpose", {r}, p + "heads", {IntsAttr("perm", {0, 2, 3, 1, 4})});
    // Qwen3 norms each head of q and k before the rotation.
    if (!norm.empty() && t_.Has(norm + ".weight")) {
      ASSIGN_OR_RETURN(t, Norm(norm, t));
    }
    if (!rope) return t;
    const int64_t half = h_.head_dim / 2;
    const std::string axis = w_.Ints(p + "last_axis", {4});
    const std::string x1 = w_.Op(
        "Slice", {t, w_.Ints(p + "s0", {0}), w_.Ints(p + "e0", {half}), axis}, p + "first_half");
    const std::string x2 =
        w_.Op("Slice", {t, w_.Ints(p + "s1", {half}), w_.Ints(p + "e1", {h_.head_dim}), axis},
              p + "second_half");
    const std::string rotated =
        w_.Op("Concat", {w_.Op("Neg", {x2}, p + "neg"), x1}, p + "rotated", {IntAttr("axis", 4)});
    return w_.Op(
        "Add",
        {w_.Op("Mul", {t, "rope_cos"}, p + "cos"), w_.Op("Mul", {rotated, "rope_sin"}, p + "sin")},
        p + "rope");
  }

  absl::StatusOr<std::string> Attention(const std::string& p, const std::string& a) {
    const int64_t group = h_.heads / h_.kv_heads;
    const int64_t q_rows = h_.heads * h_.head_dim, kv_rows = h_.kv_heads * h_.head_dim;
    const bool fused = t_.Has(p + "attn_qkv.weight");
    auto part = [&](const char* which, int64_t first, int64_t count, bool rotary) {
      return fused ? Linear(p + which, a, p + "attn_qkv.weight", "", rotary, first, count)
                   : Linear(p + which, a, absl::StrCat(p, "attn_", which, ".weight"),
                            absl::StrCat(p, "attn_", which, ".bias"), rotary);
    };
    ASSIGN_OR_RETURN(const std::string q, part("q", 0, q_rows, true));
    ASSIGN_OR_RETURN(const std::string k, part("k", q_rows, kv_rows, true));
    ASSIGN_OR_RETURN(const std::string v, part("v", q_rows + kv_rows, kv_rows, false));
    ASSIGN_OR_RETURN(const std::string qh, Heads(p + "q_", q, group, true, p + "attn_q_norm"));
    ASSIGN_OR_RETURN(const std::string kh, Heads(p + "k_", k, 1, true, p + "attn_k_norm"));
    ASSIGN_OR_RETURN(const std::string vh, Heads(p + "v_", v, 1, false));
    const std::string kt =
        w_.Op("Transpose", {kh}, p + "keys", {IntsAttr("perm", {0, 1, 2, 4, 3})});
    const std::string scores = w_.Op("MatMul", {qh, kt}, p + "scores");
    const float scale = 1.0f / std::sqrt(static_cast<float>(h_.head_dim));
    const std::string scaled = w_.Op("Mul", {scores, w_.Scalar(p + "scale", scale)}, p + "scaled");
    const std::string masked = w_.Op("Add", {scaled, "causal_mask"}, p + "masked");
    const std::string probs = w_.Op("Softmax", {masked}, p + "probs", {IntAttr("axis", -1)});
    const std::string ctx = w_.Op("MatMul", {probs, vh}, p + "context");
    const std::string back =
        w_.Op("Transpose", {ctx}, p + "context_t", {IntsAttr("perm", {0, 3, 1, 2, 4})});
    const std::string merged =
        w_.Op("Reshape", {back, w_.Ints(p + "merge", {0, 0, -1})}, p + "merged");
    return Linear(p + "attn_output", merged, p + "attn_output.weight", "", false);
  }

  std::string Activation(const std::string& p, const std::string& g) {
    if (h_.arch != "gemma") {
      return w_.Op("Mul", {g, w_.Op("Sigmoid", {g}, p + "sigmoid")}, p + "silu");
    }
    // GELU's tanh form, as Gemma and llama.cpp's ggml_gelu compute it.
    const std::string cube = w_.Op("Mul", {w_.Op("Mul", {g, g}, p + "g2"), g}, p + "g3");
    const std::string inner = w_.Op(
        "Add", {g, w_.Op("Mul", {cube, w_.Scalar(p + "c", 0.044715f)}, p + "g3c")}, p + "inner");
    const std::string t = w_.Op(
        "Tanh", {w_.Op("Mul", {inner, w_.Scalar(p + "k", 0.7978845608f)}, p + "scaled")}, p + "th");
    const std::string one = w_.Op("Add", {t, w_.Scalar(p + "one", 1.0f)}, p + "one_plus");
    return w_.Op("Mul", {w_.Op("Mul", {g, one}, p + "g_one"), w_.Scalar(p + "half", 0.5f)},
                 p + "gelu");
  }

  absl::StatusOr<std::string> Mlp(const std::string& p, const std::string& m) {
    std::string gate, up;
    if (t_.Has(p + "ffn_gate.weight")) {
      ASSIGN_OR_RETURN(gate, Linear(p + "ffn_gate", m, p + "ffn_gate.weight", "", false));
      ASSIGN_OR_RETURN(up, Linear(p + "ffn_up", m, p + "ffn_up.weight", "", false));
    } else {  // phi3: ffn_up holds [gate; up]
      ASSIGN_OR_RETURN(gate, Linear(p + "ffn_gate", m, p + "ffn_up.weight", "", false, 0, h_.ffn));
      ASSIGN_OR_RETURN(up, Linear(p + "ffn_up", m, p + "ffn_up.weight", "", false, h_.ffn, h_.ffn));
    }
    const std::string mix = w_.Op("Mul", {Activation(p + "act_", gate), up}, p + "ffn_mix");
    return Linear(p + "ffn_down", mix, p + "ffn_down.weight", "", false);
  }

  absl::StatusOr<std::string> Block(int64_t i, const std::string& x) {
    const std::string p = absl::StrCat("blk.", i, ".");
    ASSIGN_OR_RETURN(const std::string a, Norm(p + "attn_norm", x));
    ASSIGN_OR_RETURN(const std::string o, Attention(p, a));
    const std::string h = w_.Op("Add", {x, o}, p + "attn_residual");
    ASSIGN_OR_RETURN(const std::string m, Norm(p + "ffn_norm", h));
    ASSIGN_OR_RETURN(const std::string d, Mlp(p, m));
    return w_.Op("Add", {h, d}, p + "out");
  }

  const Hyper& h_;
  const Tensors& t_;
  const bool llama_cpp_activations_;
  Writer w_;
  int64_t vocab_ = 0;
};

}  // namespace

absl::StatusOr<Model> DecoderFromGguf(const std::filesystem::path& path,
                                      const GgufDecoderOptions& options) {
  ASSIGN_OR_RETURN(const GgufSummary s, ReadGgufSummary(path));
  ASSIGN_OR_RETURN(const Hyper h, ReadHyper(path, s));
  const Tensors tensors(path, s);
  absl::StatusOr<Model> m = Rebuild(h, tensors, options.llama_cpp_activations).Build(options.input);
  if (!m.ok()) return Bad(path, std::string(m.status().message()));
  return m;
}

}  // namespace pare::artifacts
