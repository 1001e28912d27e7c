// pare-make-model: writes a deterministic MLP language-model-shaped ONNX
// model (token embedding, residual feed-forward blocks, output head) for
// demos and benchmarks. The same flags always give the same bytes.
//
//   pare-make-model --out demo.onnx --dim 64 --layers 2
#include <cstdio>
#include <iostream>

#include "CLI/CLI.hpp"
#include "core/model_builder.h"
#include "core/onnx_io.h"

namespace {

struct Flags {
  std::string out;
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

pare::Model Build(const Flags& f) {
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
