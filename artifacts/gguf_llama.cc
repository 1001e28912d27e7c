#include "artifacts/gguf_llama.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "analysis/attention.h"
#include "analysis/llama_graph.h"
#include "artifacts/gguf_vocab.h"
#include "core/float16.h"
#include "core/graph_edit.h"
#include "core/quant_format.h"
#include "core/status_macros.h"

namespace pare::artifacts {

using analysis::LlamaBlock;
using analysis::LlamaGraph;
using analysis::MatchLlama;
using analysis::ProjectionWidth;
namespace {

// A projection's weight as float rows [out, in] (llama.cpp's layout).
struct Rows {
  int64_t out = 0, in = 0;
  std::vector<float> values;
};

int64_t IntAttr(const Node& n, const char* name, int64_t fallback) {
  const Attribute* a = n.FindAttribute(name);
  return a ? a->i : fallback;
}

// MatMulNBits B [N, blocks, block * bits / 8] with scales [N * blocks] and
// zero points: none (2^(bits-1), symmetric), uint8 packed per column, or
// real-valued (hqq) in the scales' type. Weight = (code - zero) * scale.
struct NBits {
  int64_t n, k, bits, block;
  const Tensor* codes;
  std::vector<float> scales;
  std::vector<float> zeros;  // [N * blocks]; empty when symmetric
  int64_t blocks() const { return (k + block - 1) / block; }
  float Zero(int64_t i) const {
    return zeros.empty() ? static_cast<float>(1 << (bits - 1)) : zeros[i];
  }
};

// Code j of a packed row, bits (4 or 8) wide, low bits first.
int Code(const uint8_t* row, int64_t j, int64_t bits) {
  if (bits == 8) return row[j];
  return j % 2 == 0 ? row[j / 2] & 15 : row[j / 2] >> 4;
}

absl::StatusOr<std::vector<float>> ZeroPoints(const Node& node, const Tensor& z, const NBits& w) {
  const int64_t count = w.n * w.blocks();
  if (z.dtype() != DataType::kUint8) {
    ASSIGN_OR_RETURN(std::vector<float> zeros, z.ToFloat32());
    if (static_cast<int64_t>(zeros.size()) != count) {
      return absl::InvalidArgumentError(absl::StrCat(NodeLabel(node), ": zero_points size"));
    }
    return zeros;
  }
  const int64_t stride = (w.blocks() * w.bits + 7) / 8;
  if (static_cast<int64_t>(z.element_count()) != w.n * stride) {
    return absl::InvalidArgumentError(
        absl::StrCat(NodeLabel(node), ": packed zero_points have the wrong size"));
  }
  std::vector<float> zeros(static_cast<size_t>(count));
  for (int64_t n = 0; n < w.n; ++n) {
    for (int64_t blk = 0; blk < w.blocks(); ++blk) {
      zeros[n * w.blocks() + blk] =
          static_cast<float>(Code(z.bytes().data() + n * stride, blk, w.bits));
    }
  }
  return zeros;
}

absl::StatusOr<NBits> ReadNBits(const Node& node, const Constants& c) {
  NBits w{.n = IntAttr(node, "N", 0),
          .k = IntAttr(node, "K", 0),
          .bits = IntAttr(node, "bits", 4),
          .block = IntAttr(node, "block_size", 32),
          .codes = c.Find(node.inputs[1])};
  const Tensor* scales = node.inputs.size() > 2 ? c.Find(node.inputs[2]) : nullptr;
  if (!w.codes || !scales || (w.bits != 4 && w.bits != 8) || w.block <= 0) {
    return absl::UnimplementedError(absl::StrCat(NodeLabel(node), ": MatMulNBits form not read"));
  }
  ASSIGN_OR_RETURN(w.scales, scales->ToFloat32());
  if (static_cast<int64_t>(w.scales.size()) != w.n * w.blocks() ||
      static_cast<int64_t>(w.codes->element_count()) != w.n * w.blocks() * w.block * w.bits / 8) {
    return absl::InvalidArgumentError(
        absl::StrCat(NodeLabel(node), ": MatMulNBits B or scales do not match N, K, block_size"));
  }
  if (node.inputs.size() > 3 && !node.inputs[3].empty()) {
    const Tensor* z = c.Find(node.inputs[3]);
    if (!z) {
      return absl::UnimplementedError(
          absl::StrCat(NodeLabel(node), ": zero_points are not a constant"));
    }
    ASSIGN_OR_RETURN(w.zeros, ZeroPoints(node, *z, w));
    const float standard = static_cast<float>(1 << (w.bits - 1));
    if (std::all_of(w.zeros.begin(), w.zeros.end(), [&](float v) { return v == standard; })) {
      w.zeros.clear();  // written out, but symmetric
    }
  }
  return w;
}

Rows DequantizeNBits(const NBits& w) {
  const int64_t blob = w.block * w.bits / 8;
  const uint8_t* b = w.codes->bytes().data();
  Rows r{.out = w.n, .in = w.k, .values = std::vector<float>(w.n * w.k)};
  for (int64_t n = 0; n < w.n; ++n) {
    for (int64_t k = 0; k < w.k; ++k) {
      const int64_t i = n * w.blocks() + k / w.block;
      const int code = Code(b + i * blob, k % w.block, w.bits);
      r.values[n * w.k + k] = (static_cast<float>(code) - w.Zero(i)) * w.scales[i];
    }
  }
  return r;
}

// One element of a float tensor (float32, float16 or bfloat16) as float.
float ElementAt(const Tensor& t, uint64_t i) {
  const uint8_t* p = t.bytes().data();
  if (t.dtype() == DataType::kFloat32) {
    float v;
    std::memcpy(&v, p + i * 4, 4);
    return v;
  }
  uint16_t h;
  std::memcpy(&h, p + i * 2, 2);
  return t.dtype() == DataType::kFloat16 ? Float16ToFloat32(h) : BFloat16ToFloat32(h);
}

// Encodes a float weight's rows a block at a time, so memory holds a few
// rows, not the matrix. `transposed`: the tensor is [in, out] (a MatMul
// weight) and llama.cpp's row r is its column order[r] (or r).
absl::Status EncodeFloatRows(const Tensor& t, bool transposed, const std::vector<int64_t>& order,
                             GgmlType type, std::vector<uint8_t>& out, runtime::ThreadPool* pool) {
  if (t.dtype() != DataType::kFloat32 && t.dtype() != DataType::kFloat16 &&
      t.dtype() != DataType::kBFloat16) {
    return absl::InvalidArgumentError(absl::StrCat(t.name(), ": not a float weight"));
  }
  const int64_t rows = transposed ? t.dims()[1] : t.dims()[0];
  const int64_t cols = transposed ? t.dims()[0] : t.dims()[1];
  constexpr int64_t kBlockRows = 64;
  std::vector<float> block;
  for (int64_t first = 0; first < rows; first += kBlockRows) {
    const int64_t count = std::min(kBlockRows, rows - first);
    block.assign(static_cast<size_t>(count * cols), 0.0f);
    auto source = [&](int64_t k) { return order.empty() ? first + k : order[first + k]; };
    if (transposed) {
      // Source row i holds this block's values of input i, near each other.
      for (int64_t i = 0; i < cols; ++i) {
        for (int64_t k = 0; k < count; ++k) {
          block[k * cols + i] = ElementAt(t, static_cast<uint64_t>(i * rows + source(k)));
        }
      }
    } else {
      for (int64_t k = 0; k < count; ++k) {
        for (int64_t i = 0; i < cols; ++i) {
          block[k * cols + i] = ElementAt(t, static_cast<uint64_t>(source(k) * cols + i));
        }
      }
    }
    EncodeRows(type, block.data(), block.size(), out, pool);
  }
  t.ReleasePages();
  return absl::OkStatus();
}

// A float weight as rows [out, in] in `order` (all of it: a calibrated
// encoder sees the whole tensor).
absl::StatusOr<std::vector<float>> FloatRowsOf(const Tensor& t, bool transposed,
                                               const std::vector<int64_t>& order) {
  std::vector<uint8_t> f32;
  RETURN_IF_ERROR(EncodeFloatRows(t, transposed, order, GgmlType::kF32, f32, nullptr));
  std::vector<float> rows(f32.size() / sizeof(float));
  std::memcpy(rows.data(), f32.data(), f32.size());
  return rows;
}

bool Float16Exact(const std::vector<float>& v) {
  for (float x : v) {
    if (Float16ToFloat32(Float32ToFloat16(x)) != x) return false;
  }
  return true;
}

void PutHalfBits(uint16_t h, std::vector<uint8_t>& out) {
  out.push_back(static_cast<uint8_t>(h & 0xff));
  out.push_back(static_cast<uint8_t>(h >> 8));
}

// pare's block-32 codes already are ggml blocks, after a float16 scale:
// - 4-bit symmetric, (code - 8) * scale is Q4_0's (q - 8) * d, with the
//   nibble order changed (MatMulNBits pairs neighbours, Q4_0 pairs j with
//   j + 16);
// - 4-bit, (code - z) * scale is Q4_1's q * d + m with
//   m = -z * scale, rounded to float16 (the one inexact part: within 2^-11
//   of m, about 0.4% of a quantization step);
// - 8-bit symmetric, (code - 128) * scale is Q8_0's q * d, q = code - 128.
// Returns whether every minimum was float16-exact.
bool RepackBlocks(const NBits& w, GgmlType type, const std::vector<int64_t>& order,
                  std::vector<uint8_t>& out) {
  const int64_t blob = 32 * w.bits / 8;
  const uint8_t* b = w.codes->bytes().data();
  bool exact = true;
  for (int64_t r = 0; r < w.n; ++r) {
    const int64_t n = order.empty() ? r : order[r];
    for (int64_t blk = 0; blk < w.blocks(); ++blk) {
      const int64_t i = n * w.blocks() + blk;
      const uint8_t* p = b + i * blob;
      PutHalfBits(Float32ToFloat16(w.scales[i]), out);
      if (FindGgmlFormat(static_cast<int32_t>(type))->zero == ZeroPoint::kMinimum) {
        const float m = -w.Zero(i) * w.scales[i];
        const uint16_t h = Float32ToFloat16(m);
        exact = exact && Float16ToFloat32(h) == m;
        PutHalfBits(h, out);
      }
      if (w.bits == 8) {
        for (int j = 0; j < 32; ++j) out.push_back(static_cast<uint8_t>(p[j] - 128));
        continue;
      }
      for (int j = 0; j < 16; ++j) {
        out.push_back(static_cast<uint8_t>(Code(p, j, 4) | (Code(p, j + 16, 4) << 4)));
      }
    }
  }
  return exact;
}

enum class Repack { kNone, kExact, kMinimumRounded };

// Repacks a MatMulNBits weight when its codes already are blocks of `type`:
// block 32, float16-exact scales, and 4-bit symmetric to Q4_0, any 4-bit to
// Q4_1 (symmetric: m = -8 * scale, exact), or 8-bit symmetric to Q8_0.
Repack TryRepack(const NBits& w, GgmlType type, const std::vector<int64_t>& order,
                 std::vector<uint8_t>& out) {
  // The format table says which codes carry over: the same width and
  // block, a minimum that can hold any zero point, or else symmetric codes.
  const QuantFormat& f = *FindGgmlFormat(static_cast<int32_t>(type));
  const bool symmetric = w.zeros.empty();
  const bool fits = f.block > 1 && f.sub_block == 0 && f.Takes(w.bits) && w.block == f.block &&
                    w.k % f.block == 0 && (f.zero == ZeroPoint::kMinimum || symmetric);
  if (!fits || !Float16Exact(w.scales)) return Repack::kNone;
  return RepackBlocks(w, type, order, out) ? Repack::kExact : Repack::kMinimumRounded;
}

// Which 2-D weights the _M mix treats apart.
enum class Role { kOther, kAttnQkv, kAttnV, kAttnOutput, kFfnDown, kOutput };

// llama.cpp's choice of layers that get more bits: the first and last
// eighth, and every third layer between.
bool UseMoreBits(int64_t layer, int64_t layers) {
  return layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2;
}

class Exporter {
 public:
  Exporter(const Model& model, const LlamaGraph& g, const GgufExportOptions& o)
      : constants_(model.graph), g_(g), o_(o), pool_(o.threads) {}

  void Metadata(GgufFile& f) const {
    const std::string& a = g_.arch;
    auto count = [](int64_t v) { return static_cast<uint32_t>(v); };
    f.Add("general.architecture", a);
    f.Add("general.name", o_.name);
    f.Add("general.file_type", FileType());
    f.Add(a + ".context_length", count(g_.context));
    f.Add(a + ".embedding_length", count(g_.dim));
    f.Add(a + ".block_count", count(static_cast<int64_t>(g_.blocks.size())));
    f.Add(a + ".feed_forward_length", count(g_.ffn));
    f.Add(a + ".attention.head_count", count(g_.heads));
    f.Add(a + ".attention.head_count_kv", count(g_.kv_heads));
    // Heads need not split the embedding evenly (Gemma: 8 x 256 on 2048).
    f.Add(a + ".attention.key_length", count(g_.head_dim));
    f.Add(a + ".attention.value_length", count(g_.head_dim));
    f.Add(a + ".rope.dimension_count", count(g_.rotary_dims));
    f.Add(a + ".rope.freq_base", g_.rope_base);
    f.Add(a + ".attention.layer_norm_rms_epsilon", g_.rms_eps);
    f.Add(a + ".vocab_size", count(g_.vocab));
  }

  // llama.cpp's general.file_type: the main type's, or its _M file type.
  uint32_t FileType() const {
    if (o_.medium_mix && o_.type == GgmlType::kQ3_K) return 12;  // LLAMA_FTYPE_MOSTLY_Q3_K_M
    if (o_.medium_mix && o_.type == GgmlType::kQ4_K) return 15;  // LLAMA_FTYPE_MOSTLY_Q4_K_M
    if (o_.medium_mix && o_.type == GgmlType::kQ5_K) return 17;  // LLAMA_FTYPE_MOSTLY_Q5_K_M
    return LlamaFileType(o_.type);
  }

  void Vector(GgufFile& f, std::string name, const std::string& tensor) const {
    const Tensor* t = constants_.Find(tensor);
    f.tensors.push_back({.name = std::move(name),
                         .type = GgmlType::kF32,
                         .dims = {t->element_count()},
                         .fill = [t](std::vector<uint8_t>& out) -> absl::Status {
                           ASSIGN_OR_RETURN(const std::vector<float> v, t->ToFloat32());
                           EncodeRows(GgmlType::kF32, v.data(), v.size(), out);
                           return absl::OkStatus();
                         }});
  }

  // The type of one 2-D weight: the file's, raised to Q6_K where the _M mix
  // asks (layer < 0: not in a block), then fitted to the row width.
  GgmlType TypeOf(Role role, int64_t layer, int64_t width) const {
    GgmlType t = o_.type;
    if (o_.medium_mix) t = MixedType(role, layer);
    return TypeForWidth(t, width);
  }

  GgmlType MixedType(Role role, int64_t layer) const {
    const int64_t layers = static_cast<int64_t>(g_.blocks.size());
    if (role == Role::kOutput) return GgmlType::kQ6_K;
    if (role == Role::kAttnQkv) {  // one step up: Q3_K -> Q4_K, Q4_K -> Q5_K, Q5_K -> Q6_K
      if (o_.type == GgmlType::kQ3_K) return GgmlType::kQ4_K;
      return o_.type == GgmlType::kQ4_K ? GgmlType::kQ5_K : GgmlType::kQ6_K;
    }
    if (o_.type == GgmlType::kQ3_K) {
      if (role == Role::kAttnV) return layer < 2 ? GgmlType::kQ5_K : GgmlType::kQ4_K;
      if (role == Role::kFfnDown) return layer < layers / 16 ? GgmlType::kQ5_K : GgmlType::kQ4_K;
      if (role == Role::kAttnOutput) return GgmlType::kQ4_K;
      return o_.type;
    }
    const bool raised =
        (role == Role::kAttnV || role == Role::kFfnDown) && UseMoreBits(layer, layers);
    return raised ? GgmlType::kQ6_K : o_.type;
  }

  void Matrix(GgufFile& f, std::string name, const Node* node, bool rotary,
              Role role = Role::kOther, int64_t layer = -1) {
    const int64_t out_dim = ProjectionWidth(*node, constants_);
    const int64_t in_dim = node->op_type == "MatMulNBits"
                               ? IntAttr(*node, "K", 0)
                               : constants_.Find(node->inputs[1])->dims()[0];
    const GgmlType type = TypeOf(role, layer, in_dim);
    result_.weight_inputs.emplace_back(name, node->inputs[0]);
    const std::string tensor_name = name;
    std::vector<int64_t> order;
    if (rotary && PermutesRotaryRows()) order = RotaryRowOrder(out_dim, g_.head_dim);
    f.tensors.push_back(
        {.name = std::move(name),
         .type = type,
         .dims = {static_cast<uint64_t>(in_dim), static_cast<uint64_t>(out_dim)},
         .fill = [this, node, type, order, out_dim, in_dim,
                  tensor_name](std::vector<uint8_t>& out) -> absl::Status {
           if (node->op_type != "MatMulNBits") {
             const Tensor& t = *constants_.Find(node->inputs[1]);
             ASSIGN_OR_RETURN(const bool encoded, Encode(tensor_name, node->inputs[0], t, true,
                                                         order, out_dim, in_dim, type, out));
             if (encoded) return absl::OkStatus();
             return EncodeFloatRows(t, /*transposed=*/true, order, type, out, &pool_);
           }
           ASSIGN_OR_RETURN(const NBits w, ReadNBits(*node, constants_));
           const Repack repack = TryRepack(w, type, order, out);
           if (repack != Repack::kNone) {
             ++(repack == Repack::kExact ? result_.repacked : result_.repacked_minimum_rounded);
             return absl::OkStatus();
           }
           ++result_.requantized;
           const Rows r = DequantizeNBits(w);
           for (int64_t row = 0; row < r.out; ++row) {
             const int64_t src = order.empty() ? row : order[row];
             EncodeRows(type, r.values.data() + src * r.in, r.in, out, &pool_);
           }
           return absl::OkStatus();
         }});
  }

  void Embedding(GgufFile& f) const {
    const Tensor* t = constants_.Find(g_.token_embd);
    // A tied embedding is also the head, and takes the head's type.
    const GgmlType type = TypeOf(g_.tied_head ? Role::kOutput : Role::kOther, -1, g_.dim);
    f.tensors.push_back({.name = "token_embd.weight",
                         .type = type,
                         .dims = {static_cast<uint64_t>(g_.dim), static_cast<uint64_t>(g_.vocab)},
                         .fill = [this, t, type](std::vector<uint8_t>& out) -> absl::Status {
                           ASSIGN_OR_RETURN(const bool encoded,
                                            Encode("token_embd.weight", "", *t, false, {}, g_.vocab,
                                                   g_.dim, type, out));
                           if (encoded) return absl::OkStatus();
                           return EncodeFloatRows(*t, /*transposed=*/false, {}, type, out, &pool_);
                         }});
  }

  // llama.cpp's llama architecture rotates adjacent pairs; its others
  // (qwen2, gemma, phi3) rotate halves as Hugging Face does.
  bool PermutesRotaryRows() const { return g_.rotate_half && g_.arch == "llama"; }

  // One block's tensors, with llama.cpp's names for the architecture.
  void Block(GgufFile& f, size_t i) {
    const LlamaBlock& b = g_.blocks[i];
    const std::string p = absl::StrCat("blk.", i, ".");
    const int64_t layer = static_cast<int64_t>(i);
    Vector(f, p + "attn_norm.weight", b.attn_norm);
    if (b.fused_qkv) {
      Matrix(f, p + "attn_qkv.weight", b.q, false, Role::kAttnQkv, layer);
    } else {
      Matrix(f, p + "attn_q.weight", b.q, /*rotary=*/true);
      if (!b.q_bias.empty()) Vector(f, p + "attn_q.bias", b.q_bias);
      Matrix(f, p + "attn_k.weight", b.k, /*rotary=*/true);
      if (!b.k_bias.empty()) Vector(f, p + "attn_k.bias", b.k_bias);
      Matrix(f, p + "attn_v.weight", b.v, false, Role::kAttnV, layer);
      if (!b.v_bias.empty()) Vector(f, p + "attn_v.bias", b.v_bias);
    }
    if (!b.q_norm.empty()) {
      Vector(f, p + "attn_q_norm.weight", b.q_norm);
      Vector(f, p + "attn_k_norm.weight", b.k_norm);
    }
    Matrix(f, p + "attn_output.weight", b.o, false, Role::kAttnOutput, layer);
    Vector(f, p + "ffn_norm.weight", b.ffn_norm);
    // A fused gate_up is llama.cpp's ffn_up of twice the width, gate first.
    if (!b.fused_gate_up) Matrix(f, p + "ffn_gate.weight", b.gate, false);
    Matrix(f, p + "ffn_up.weight", b.up, false);
    Matrix(f, p + "ffn_down.weight", b.down, false, Role::kFfnDown, layer);
  }

  GgufExport& result() { return result_; }

  // The options' encoder on a float weight, when set and `type` is a block
  // type; false when it left the weight to round to nearest.
  absl::StatusOr<bool> Encode(const std::string& name, const std::string& input, const Tensor& t,
                              bool transposed, const std::vector<int64_t>& order, int64_t out_dim,
                              int64_t in_dim, GgmlType type, std::vector<uint8_t>& out) const {
    if (!o_.encoder || !FindGgmlFormat(static_cast<int32_t>(type))->grid) return false;
    ASSIGN_OR_RETURN(const std::vector<float> rows, FloatRowsOf(t, transposed, order));
    ASSIGN_OR_RETURN(std::vector<uint8_t> bytes,
                     o_.encoder(name, input, rows, out_dim, in_dim, type));
    if (bytes.empty()) return false;
    ++result_.calibrated;
    out.insert(out.end(), bytes.begin(), bytes.end());
    return true;
  }

 private:
  const Constants constants_;
  const LlamaGraph& g_;
  const GgufExportOptions& o_;
  mutable runtime::ThreadPool pool_;  // encodes blocks; fills run one tensor at a time
  mutable GgufExport result_;
};

}  // namespace

std::vector<int64_t> RotaryRowOrder(int64_t rows, int64_t head_dim) {
  std::vector<int64_t> order(rows);
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t head = r / head_dim, within = r % head_dim;
    order[r] = head * head_dim + (within % 2) * (head_dim / 2) + within / 2;
  }
  return order;
}

absl::Status ParseGgufFileType(const std::string& name, GgufExportOptions& options) {
  std::string base = name;
  options.medium_mix = base == "q3_k_m" || base == "q4_k_m" || base == "q5_k_m";
  if (options.medium_mix) base.resize(base.size() - 2);
  absl::StatusOr<GgmlType> t = ParseGgmlType(base);
  if (!t.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(t.status().message(), "; or a mix: q3_k_m, q4_k_m, q5_k_m"));
  }
  options.type = *t;
  return absl::OkStatus();
}

GgmlType TypeForWidth(GgmlType type, int64_t width) {
  auto fits = [width](GgmlType t) {
    return width % FindGgmlFormat(static_cast<int32_t>(t))->block == 0;
  };
  if (fits(type)) return type;
  GgmlType fallback = GgmlType::kF16;
  if (type == GgmlType::kQ4_K) fallback = GgmlType::kQ5_0;
  if (type == GgmlType::kQ5_K) fallback = GgmlType::kQ5_1;
  if (type == GgmlType::kQ2_K || type == GgmlType::kQ3_K) fallback = GgmlType::kQ4_0;
  if (type == GgmlType::kQ6_K) fallback = GgmlType::kQ8_0;
  return fits(fallback) ? fallback : GgmlType::kF16;
}

absl::StatusOr<GgufExport> ExportLlamaGguf(const Model& model, const std::filesystem::path& path,
                                           const GgufExportOptions& options) {
  ASSIGN_OR_RETURN(const LlamaGraph g, MatchLlama(model));
  Vocabulary vocab;
  if (!options.tokenizer.empty()) {
    ASSIGN_OR_RETURN(vocab, ReadHuggingFaceTokenizer(options.tokenizer, g.vocab));
  } else if (g.vocab == 256) {
    vocab = ByteVocabulary();
  } else if (options.placeholder_vocabulary) {
    vocab = PlaceholderVocabulary(g.vocab);
  } else {
    return absl::InvalidArgumentError(absl::StrCat("a vocabulary of ", g.vocab,
                                                   " tokens needs --tokenizer tokenizer.json (or "
                                                   "--placeholder-vocab for a model without one)"));
  }
  Exporter e(model, g, options);
  GgufFile f;
  e.Metadata(f);
  AddVocabulary(vocab, f);
  e.Embedding(f);
  for (size_t i = 0; i < g.blocks.size(); ++i) e.Block(f, i);
  e.Vector(f, "output_norm.weight", g.output_norm);
  // Without output.weight, llama.cpp multiplies by token_embd: a tied head.
  if (!g.tied_head) e.Matrix(f, "output.weight", g.output, false, Role::kOutput);
  RETURN_IF_ERROR(WriteGguf(f, path));
  GgufExport r = e.result();
  r.tensors = static_cast<int64_t>(f.tensors.size());
  r.bytes = std::filesystem::file_size(path);
  return r;
}

}  // namespace pare::artifacts
