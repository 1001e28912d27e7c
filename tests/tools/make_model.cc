// pare-make-model: writes a deterministic MLP language-model-shaped ONNX
// model (token embedding, residual feed-forward blocks, output head) for
// demos and benchmarks. The same flags always give the same bytes.
//
//   pare-make-model --out demo.onnx --dim 64 --layers 2
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>

#include "CLI/CLI.hpp"
#include "core/model_builder.h"
#include "core/onnx_io.h"

namespace {

struct Flags {
  std::string out;
  std::string kind = "mlp";  // mlp | transformer
  int64_t heads = 4;
  int64_t int4_block = 0;  // > 0: MatMul weights as MatMulNBits, 4-bit RTN
  int64_t vocab = 256;
  int64_t dim = 64;
  int64_t layers = 2;
  uint64_t seed = 1;
  bool zeros = false;
  uint64_t external_threshold = 1024;
};

pare::Tensor Weight(const Flags& f, std::string name, std::vector<int64_t> dims, uint64_t seed) {
  if (!f.zeros) return pare::RandomTensor(std::move(name), std::move(dims), seed);
  const uint64_t bytes = pare::ElementCount(dims).value() * 4;
  return pare::Tensor::FromBytes(std::move(name), pare::DataType::kFloat32, std::move(dims),
                                 std::vector<uint8_t>(bytes, 0));
}

// Symmetric 4-bit round-to-nearest of a [K, N] weight into MatMulNBits
// layout (B [N, k_blocks, block/2], scales [N * k_blocks], zero point 8).
// A test fixture, not pare's quantizer: enough to exercise the int4 kernel.
void AddInt4MatMul(pare::ModelBuilder& b, const Flags& f, const std::string& input,
                   const pare::Tensor& w, const std::string& output) {
  const int64_t k = w.dims()[0], n = w.dims()[1], block = f.int4_block;
  const int64_t blocks = (k + block - 1) / block;
  const std::vector<float> values = w.ToFloat32().value();
  std::vector<uint8_t> packed(n * blocks * block / 2, 0);
  std::vector<float> scales(n * blocks);
  for (int64_t col = 0; col < n; ++col) {
    for (int64_t kb = 0; kb < blocks; ++kb) {
      float amax = 0;
      for (int64_t j = kb * block; j < std::min(k, (kb + 1) * block); ++j) {
        amax = std::max(amax, std::abs(values[j * n + col]));
      }
      const float scale = amax > 0 ? amax / 7.0f : 1.0f;
      scales[col * blocks + kb] = scale;
      for (int64_t j = kb * block; j < std::min(k, (kb + 1) * block); ++j) {
        const int q =
            std::clamp(static_cast<int>(std::lround(values[j * n + col] / scale)), -8, 7) + 8;
        const int64_t at = (col * blocks + kb) * block / 2 + (j - kb * block) / 2;
        packed[at] |= static_cast<uint8_t>(((j - kb * block) % 2) ? q << 4 : q);
      }
    }
  }
  b.Initializer(pare::Tensor::FromBytes(w.name() + ".q4", pare::DataType::kUint8,
                                        {n, blocks, block / 2}, packed));
  b.Initializer(pare::Tensor::FromVector<float>(w.name() + ".scales", {n * blocks}, scales));
  pare::Node& node =
      b.AddNode("MatMulNBits", {input, w.name() + ".q4", w.name() + ".scales"}, {output}, output);
  node.domain = "com.microsoft";
  node.attributes = {pare::IntAttr("K", k), pare::IntAttr("N", n), pare::IntAttr("bits", 4),
                     pare::IntAttr("block_size", block)};
}

// x @ W: a float MatMul, or MatMulNBits when --int4-block is set.
void Linear(pare::ModelBuilder& b, const Flags& f, const std::string& input, pare::Tensor w,
            const std::string& output) {
  if (f.int4_block > 0) {
    AddInt4MatMul(b, f, input, w, output);
    return;
  }
  const std::string name = w.name();
  b.Initializer(std::move(w));
  b.AddNode("MatMul", {input, name}, {output}, output);
}

pare::Tensor Ones(std::string name, int64_t n, float value) {
  return pare::Tensor::FromVector<float>(std::move(name), {n}, std::vector<float>(n, value));
}

// Pre-norm transformer blocks: LayerNorm, multi-head self-attention
// (MatMul/Reshape/Transpose/Softmax), residual, LayerNorm, GELU MLP, residual.
pare::Model BuildTransformer(const Flags& f) {
  using pare::DataType;
  const int64_t d = f.dim, h = f.heads, hd = f.dim / f.heads;
  pare::ModelBuilder b("transformer_lm", 17);
  b.Opset("com.microsoft", 1);
  b.Input("tokens", DataType::kInt64, {-1, -1});
  b.Initializer(Weight(f, "embed.weight", {f.vocab, d}, f.seed));
  b.Initializer(pare::Tensor::FromVector<int64_t>("heads_shape", {4}, {0, 0, h, hd}));
  b.Initializer(pare::Tensor::FromVector<int64_t>("merge_shape", {3}, {0, 0, d}));
  b.Initializer(pare::Tensor::FromVector<float>("attn_scale", {},
                                                {1.0f / std::sqrt(static_cast<float>(hd))}));
  b.Initializer(pare::Tensor::FromVector<float>("half", {}, {0.5f}));
  b.Initializer(pare::Tensor::FromVector<float>("one", {}, {1.0f}));
  b.Initializer(pare::Tensor::FromVector<float>("inv_sqrt2", {}, {0.70710678f}));
  b.AddNode("Gather", {"embed.weight", "tokens"}, {"h0"}, "embed");
  std::string x = "h0";
  for (int64_t l = 0; l < f.layers; ++l) {
    const std::string p = "layers." + std::to_string(l) + ".";
    auto norm = [&](const std::string& in, const std::string& tag) {
      b.Initializer(Ones(p + tag + ".weight", d, 1.0f));
      b.Initializer(Ones(p + tag + ".bias", d, 0.0f));
      b.AddNode("LayerNormalization", {in, p + tag + ".weight", p + tag + ".bias"}, {p + tag},
                p + tag)
          .attributes = {pare::IntAttr("axis", -1)};
      return p + tag;
    };
    const std::string n1 = norm(x, "ln1");
    for (const char* m : {"q", "k", "v"}) {
      Linear(b, f, n1, Weight(f, p + m + ".weight", {d, d}, f.seed + 100 * l + m[0]), p + m);
      b.AddNode("Reshape", {p + m, "heads_shape"}, {p + m + ".heads"}, p + m + ".split");
      b.AddNode("Transpose", {p + m + ".heads"}, {p + m + ".t"}, p + m + ".transpose").attributes =
          {pare::IntsAttr("perm", std::string(m) == "k" ? std::vector<int64_t>{0, 2, 3, 1}
                                                        : std::vector<int64_t>{0, 2, 1, 3})};
    }
    b.AddNode("MatMul", {p + "q.t", p + "k.t"}, {p + "scores"}, p + "scores");
    b.AddNode("Mul", {p + "scores", "attn_scale"}, {p + "scaled"}, p + "scale");
    b.AddNode("Softmax", {p + "scaled"}, {p + "probs"}, p + "softmax").attributes = {
        pare::IntAttr("axis", -1)};
    b.AddNode("MatMul", {p + "probs", p + "v.t"}, {p + "ctx"}, p + "context");
    b.AddNode("Transpose", {p + "ctx"}, {p + "ctx.t"}, p + "ctx.transpose").attributes = {
        pare::IntsAttr("perm", {0, 2, 1, 3})};
    b.AddNode("Reshape", {p + "ctx.t", "merge_shape"}, {p + "merged"}, p + "merge");
    Linear(b, f, p + "merged", Weight(f, p + "o.weight", {d, d}, f.seed + 100 * l + 7), p + "attn");
    b.AddNode("Add", {x, p + "attn"}, {p + "res1"}, p + "res1");
    const std::string n2 = norm(p + "res1", "ln2");
    Linear(b, f, n2, Weight(f, p + "up.weight", {d, 4 * d}, f.seed + 100 * l + 8), p + "up");
    // GELU as exported by torch: 0.5 * x * (1 + erf(x / sqrt(2)))
    b.AddNode("Mul", {p + "up", "inv_sqrt2"}, {p + "g1"}, p + "g1");
    b.AddNode("Erf", {p + "g1"}, {p + "g2"}, p + "g2");
    b.AddNode("Add", {p + "g2", "one"}, {p + "g3"}, p + "g3");
    b.AddNode("Mul", {p + "up", p + "g3"}, {p + "g4"}, p + "g4");
    b.AddNode("Mul", {p + "g4", "half"}, {p + "gelu"}, p + "gelu");
    Linear(b, f, p + "gelu", Weight(f, p + "down.weight", {4 * d, d}, f.seed + 100 * l + 9),
           p + "mlp");
    const std::string next = "h" + std::to_string(l + 1);
    b.AddNode("Add", {p + "res1", p + "mlp"}, {next}, p + "res2");
    x = next;
  }
  Linear(b, f, x, Weight(f, "head.weight", {d, f.vocab}, f.seed + 7), "logits");
  b.Output("logits", DataType::kFloat32, {-1, -1, f.vocab});
  return std::move(b).Build();
}

pare::Model Build(const Flags& f) {
  if (f.kind == "transformer") return BuildTransformer(f);
  using pare::DataType;
  pare::ModelBuilder b("mlp_lm", 17);
  b.Input("tokens", DataType::kInt64, {-1, -1});
  b.Initializer(Weight(f, "embed.weight", {f.vocab, f.dim}, f.seed));
  b.AddNode("Gather", {"embed.weight", "tokens"}, {"h0"}, "embed");
  std::string h = "h0";
  for (int64_t l = 0; l < f.layers; ++l) {
    const std::string p = "layers." + std::to_string(l) + ".";
    b.Initializer(Weight(f, p + "up.weight", {f.dim, 4 * f.dim}, f.seed + 10 * l + 1));
    b.Initializer(Weight(f, p + "down.weight", {4 * f.dim, f.dim}, f.seed + 10 * l + 2));
    b.AddNode("MatMul", {h, p + "up.weight"}, {p + "up"}, p + "up");
    b.AddNode("Relu", {p + "up"}, {p + "act"}, p + "act");
    b.AddNode("MatMul", {p + "act", p + "down.weight"}, {p + "down"}, p + "down");
    const std::string next = "h" + std::to_string(l + 1);
    b.AddNode("Add", {h, p + "down"}, {next}, p + "residual");
    h = next;
  }
  b.Initializer(Weight(f, "head.weight", {f.dim, f.vocab}, f.seed + 7));
  b.AddNode("MatMul", {h, "head.weight"}, {"logits"}, "head");
  b.Output("logits", DataType::kFloat32, {-1, -1, f.vocab});
  return std::move(b).Build();
}

}  // namespace

int main(int argc, char** argv) {
  Flags f;
  CLI::App app{"Write a deterministic MLP language-model-shaped ONNX model."};
  app.add_option("--out", f.out, "Output .onnx path")->required();
  app.add_option("--vocab", f.vocab, "Vocabulary size")->check(CLI::PositiveNumber);
  app.add_option("--dim", f.dim, "Hidden size")->check(CLI::PositiveNumber);
  app.add_option("--layers", f.layers, "Feed-forward blocks")->check(CLI::NonNegativeNumber);
  app.add_option("--seed", f.seed, "Weight seed");
  app.add_option("--kind", f.kind, "mlp (feed-forward blocks) or transformer (attention blocks)")
      ->check(CLI::IsMember({"mlp", "transformer"}));
  app.add_option("--heads", f.heads, "Attention heads (transformer)")->check(CLI::PositiveNumber);
  app.add_option("--int4-block", f.int4_block,
                 "Store transformer MatMul weights as 4-bit MatMulNBits with this block size");
  app.add_flag("--zeros", f.zeros, "All-zero weights (sparse data file; for size tests)");
  app.add_option("--external-threshold", f.external_threshold,
                 "Tensors of at least this many bytes go to external data");
  CLI11_PARSE(app, argc, argv);
  const absl::Status s =
      pare::SaveModel(Build(f), f.out, {.external_threshold_bytes = f.external_threshold});
  if (!s.ok()) {
    std::fprintf(stderr, "pare-make-model: error: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  return 0;
}
