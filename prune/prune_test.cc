#include "prune/prune.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/float16.h"
#include "core/graph_edit.h"
#include "core/model_builder.h"
#include "core/test_util.h"
#include "data/inputs.h"
#include "prune/mask.h"
#include "runtime/session.h"

namespace pare::prune {
namespace {

std::vector<float> Values(const Tensor& t) { return t.ToFloat32().value(); }

const Tensor& Weight(const Model& m, const std::string& name) {
  for (const Tensor& t : m.graph.initializers) {
    if (t.name() == name) return t;
  }
  static const Tensor none;
  ADD_FAILURE() << "no initializer " << name;
  return none;
}

// x [rows, 32] -> MatMul w1 [32, 64] -> Relu -> MatMul w2 [64, 16] = y (the head).
Model Mlp(int64_t k = 32) {
  ModelBuilder b("mlp");
  b.Input("x", DataType::kFloat32, {-1, k});
  b.Initializer(RandomTensor("w1", {k, 64}, 1, 0.1f));
  b.Initializer(RandomTensor("w2", {64, 16}, 2, 0.1f));
  b.AddNode("MatMul", {"x", "w1"}, {"h"}, "fc1");
  b.AddNode("Relu", {"h"}, {"r"}, "relu");
  b.AddNode("MatMul", {"r", "w2"}, {"y"}, "head");
  b.Output("y", DataType::kFloat32, {-1, 16});
  return std::move(b).Build();
}

// Correlated activations whose channel 3 is 30x the rest, as in real models.
std::vector<float> Activations(int64_t rows, int64_t k, uint64_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<float> x(static_cast<size_t>(rows * k));
  for (int64_t r = 0; r < rows; ++r) {
    const float shared = normal(rng);
    for (int64_t c = 0; c < k; ++c) {
      x[r * k + c] = (0.7f * shared + 0.3f * normal(rng)) * (c == 3 ? 30.0f : 1.0f);
    }
  }
  return x;
}

data::CalibrationData Data(int64_t k, int64_t samples = 4) {
  data::CalibrationData d;
  d.count = samples;
  d.sample = [k](int64_t i) -> absl::StatusOr<std::vector<Tensor>> {
    return std::vector<Tensor>{Tensor::FromVector<float>(
        "x", {64, k}, Activations(64, k, 100 + static_cast<uint64_t>(i)))};
  };
  d.description = "test activations";
  return d;
}

// ||X W - X W'|| over held-out activations.
double OutputError(const std::vector<float>& w, const std::vector<float>& pruned, int64_t k,
                   int64_t n) {
  const std::vector<float> x = Activations(256, k, 7);
  double total = 0;
  for (int64_t r = 0; r < 256; ++r) {
    for (int64_t j = 0; j < n; ++j) {
      double acc = 0;
      for (int64_t c = 0; c < k; ++c) acc += x[r * k + c] * (w[c * n + j] - pruned[c * n + j]);
      total += acc * acc;
    }
  }
  return std::sqrt(total);
}

TEST(Prune, MagnitudeRemovesTheSmallestWeightsAndKeepsTheHeadDense) {
  Model m = Mlp();
  const std::vector<float> before = Values(Weight(m, "w1"));
  auto r = Prune(m, nullptr, {.method = PruneMethod::kMagnitude, .sparsity = 0.5});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->layers.size(), 1u);
  EXPECT_EQ(r->layers[0].node, "fc1");
  EXPECT_DOUBLE_EQ(r->layers[0].achieved, 0.5);
  ASSERT_EQ(r->skipped.size(), 1u);
  EXPECT_NE(r->skipped[0].find("head: output head kept dense"), std::string::npos);
  const std::vector<float> after = Values(Weight(m, "w1"));
  float largest_pruned = 0, smallest_kept = 1e9f;
  for (size_t i = 0; i < after.size(); ++i) {
    if (after[i] == 0) {
      largest_pruned = std::max(largest_pruned, std::fabs(before[i]));
    } else {
      EXPECT_EQ(after[i], before[i]);
      smallest_kept = std::min(smallest_kept, std::fabs(before[i]));
    }
  }
  EXPECT_LE(largest_pruned, smallest_kept);
  EXPECT_EQ(Values(Weight(m, "w2")), Values(Weight(Mlp(), "w2")));
  // The compact forms: half the values plus a bitmask, or plus int64 indices.
  EXPECT_EQ(r->layers[0].bytes_dense, 32u * 64 * 4);
  EXPECT_EQ(r->layers[0].bytes_compact, 32u * 64 * 2 + 32 * 64 / 8);
  EXPECT_EQ(r->layers[0].bytes_sparse_initializer, 32u * 64 / 2 * 12);
}

TEST(Prune, NmPatternKeepsAtMostNOfEveryMInputs) {
  for (const char* text : {"2:4", "4:8", "1:4"}) {
    Model m = Mlp();
    const NmPattern p = ParseNmPattern(text).value();
    for (PruneMethod method :
         {PruneMethod::kMagnitude, PruneMethod::kWanda, PruneMethod::kSparseGpt}) {
      Model copy = m;
      const data::CalibrationData data = Data(32);
      auto r = Prune(copy, &data, {.method = method, .pattern = p, .include_head = true});
      ASSERT_TRUE(r.ok()) << r.status();
      for (const char* name : {"w1", "w2"}) {
        const std::vector<float> w = Values(Weight(copy, name));
        const int64_t n = name[1] == '1' ? 64 : 16, k = static_cast<int64_t>(w.size()) / n;
        for (int64_t col = 0; col < n; ++col) {
          for (int64_t g = 0; g < k; g += p.m) {
            int kept = 0;
            for (int64_t i = g; i < g + p.m; ++i) kept += w[i * n + col] != 0;
            EXPECT_EQ(kept, p.n) << text << " " << PruneMethodName(method) << " " << name;
          }
        }
      }
    }
  }
}

TEST(Prune, WandaKeepsWeightsOfLargeActivations) {
  Model m = Mlp();
  const data::CalibrationData data = Data(32);
  auto r = Prune(m, &data, {.method = PruneMethod::kWanda, .sparsity = 0.75});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->samples, 4);
  const std::vector<float> w = Values(Weight(m, "w1"));
  // Input 3's activations are 30x the others': nearly all its weights
  // survive, where magnitude keeps about a quarter of them.
  Model by_magnitude = Mlp();
  ASSERT_TRUE(Prune(by_magnitude, nullptr, {.sparsity = 0.75}).ok());
  const std::vector<float> wm = Values(Weight(by_magnitude, "w1"));
  int wanda_kept = 0, magnitude_kept = 0;
  for (int64_t col = 0; col < 64; ++col) {
    wanda_kept += w[3 * 64 + col] != 0;
    magnitude_kept += wm[3 * 64 + col] != 0;
  }
  EXPECT_GE(wanda_kept, 58);
  EXPECT_LE(magnitude_kept, 26);
  // Each output keeps a quarter of its inputs.
  for (int64_t col = 0; col < 64; ++col) {
    int kept = 0;
    for (int64_t i = 0; i < 32; ++i) kept += w[i * 64 + col] != 0;
    EXPECT_EQ(kept, 8);
  }
}

TEST(Prune, SparseGptAndWandaLoseLessThanMagnitude) {
  const Model original = Mlp();
  const std::vector<float> w = Values(Weight(original, "w1"));
  std::map<PruneMethod, double> error;
  for (PruneMethod method :
       {PruneMethod::kMagnitude, PruneMethod::kWanda, PruneMethod::kSparseGpt}) {
    Model m = original;
    const data::CalibrationData data = Data(32, 8);
    ASSERT_TRUE(Prune(m, &data, {.method = method, .sparsity = 0.5}).ok());
    error[method] = OutputError(w, Values(Weight(m, "w1")), 32, 64);
  }
  EXPECT_LT(error[PruneMethod::kWanda], 0.8 * error[PruneMethod::kMagnitude]);
  EXPECT_LT(error[PruneMethod::kSparseGpt], error[PruneMethod::kWanda]);
}

TEST(Prune, AMemoryBudgetSplitsCalibrationIntoPassesWithTheSameResult) {
  const data::CalibrationData data = Data(32);
  Model one = Mlp(), many = Mlp();
  PruneOptions o{.method = PruneMethod::kSparseGpt, .include_head = true};
  auto a = Prune(one, &data, o);
  o.calibration_memory_bytes = 1;  // every input's Hessian in a pass of its own
  auto b = Prune(many, &data, o);
  ASSERT_TRUE(a.ok() && b.ok()) << b.status();
  EXPECT_EQ(a->calibration_passes, 1);
  EXPECT_EQ(b->calibration_passes, 2);
  for (const char* w : {"w1", "w2"}) EXPECT_EQ(Values(Weight(one, w)), Values(Weight(many, w)));
}

TEST(Prune, GlobalMagnitudeMeetsTheTotalSparsity) {
  ModelBuilder b("two");
  b.Input("x", DataType::kFloat32, {-1, 64});
  b.Initializer(RandomTensor("small", {64, 64}, 1, 0.01f));
  b.Initializer(RandomTensor("large", {64, 64}, 2, 0.1f));
  b.AddNode("MatMul", {"x", "small"}, {"a"}, "a");
  b.AddNode("MatMul", {"a", "large"}, {"b"}, "b");
  b.AddNode("Relu", {"b"}, {"y"});
  b.Output("y", DataType::kFloat32, {-1, 64});
  Model m = std::move(b).Build();
  auto r = Prune(m, nullptr, {.sparsity = 0.5, .global = true});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->layers.size(), 2u);
  // One threshold: the small layer goes almost entirely, the large one barely.
  EXPECT_GT(r->layers[0].achieved, 0.85);
  EXPECT_LT(r->layers[1].achieved, 0.15);
  const double total = (r->layers[0].achieved + r->layers[1].achieved) / 2;
  EXPECT_NEAR(total, 0.5, 0.005);
}

TEST(Prune, HistogramThresholdSplitsAtTheQuantile) {
  std::vector<float> w(10000);
  for (size_t i = 0; i < w.size(); ++i) w[i] = (i % 2 ? -1.0f : 1.0f) * (i + 1) * 1e-3f;
  MagnitudeHistogram h;
  h.Add(w.data(), static_cast<int64_t>(w.size()));
  EXPECT_NEAR(h.Threshold(0.3), 3.0f, 0.01f);
}

TEST(Prune, ConstantNodeAndFloat16WeightsArePrunedInPlace) {
  ModelBuilder b("consts");
  b.Input("x", DataType::kFloat32, {-1, 16});
  Tensor w = RandomTensor("w", {16, 8}, 3);
  std::vector<float> v = Values(w);
  std::vector<uint16_t> half(v.size());
  Float32ToFloat16(v.data(), half.data(), v.size());
  std::vector<uint8_t> bytes(half.size() * 2);
  std::memcpy(bytes.data(), half.data(), bytes.size());
  b.AddNode("Constant", {}, {"w16"})
      .attributes.push_back(
          TensorAttr("value", Tensor::FromBytes("w16", DataType::kFloat16, {16, 8}, bytes)));
  b.AddNode("Cast", {"x"}, {"x16"}).attributes.push_back(IntAttr("to", 10));
  b.AddNode("MatMul", {"x16", "w16"}, {"h"}, "fc");
  b.AddNode("Cast", {"h"}, {"y"}).attributes.push_back(IntAttr("to", 1));
  b.Output("y", DataType::kFloat32, {-1, 8});
  Model m = std::move(b).Build();
  auto r = Prune(m, nullptr, {.sparsity = 0.25});
  ASSERT_TRUE(r.ok()) << r.status();
  const Tensor& pruned = Weight(m, "w16");
  EXPECT_EQ(pruned.dtype(), DataType::kFloat16);
  EXPECT_DOUBLE_EQ(ZeroFraction(Values(pruned).data(), 128), 0.25);
  for (const Node& n : m.graph.nodes) EXPECT_NE(n.op_type, "Constant");
  auto session = runtime::Session::Create(m, {.threads = 1});
  ASSERT_TRUE(session.ok()) << session.status();
}

TEST(Prune, SpilledWeightsGiveTheSameModel) {
  testing::TempDir dir;
  Model a = Mlp(), b = Mlp();
  ASSERT_TRUE(Prune(a, nullptr, {.sparsity = 0.5}).ok());
  ASSERT_TRUE(Prune(b, nullptr, {.sparsity = 0.5, .spill_directory = dir.path()}).ok());
  EXPECT_EQ(Values(Weight(a, "w1")), Values(Weight(b, "w1")));
}

TEST(Prune, CompactStorageDecodesToTheSameWeights) {
  testing::TempDir dir;
  for (const char* pattern : {"unstructured", "2:4"}) {
    Model dense = Mlp(), compact = Mlp();
    PruneOptions o{
        .sparsity = 0.6, .pattern = ParseNmPattern(pattern).value(), .include_head = true};
    ASSERT_TRUE(Prune(dense, nullptr, o).ok());
    o.compact_storage = true;
    o.spill_directory = dir.path();
    auto r = Prune(compact, nullptr, o);
    ASSERT_TRUE(r.ok()) << r.status();
    // 60% (or 50%) of float32 values gone: values plus a bit per weight.
    EXPECT_LT(r->bytes_after, r->bytes_before * 0.6);
    for (const Tensor& t : compact.graph.initializers) EXPECT_NE(t.name(), "w1");
    auto a = runtime::Session::Create(dense, {.threads = 1});
    auto b = runtime::Session::Create(compact, {.threads = 1});
    ASSERT_TRUE(a.ok() && b.ok()) << b.status();
    const std::vector<Tensor> x = {RandomTensor("x", {3, 32}, 9, 1.0f)};
    EXPECT_EQ(Values((*a)->Run(x).value()[0]), Values((*b)->Run(x).value()[0])) << pattern;
  }
}

// x -> MatMul w0 -> h; If(cond) { MatMul(h, wt) } else { MatMul(h, we) } = y.
Model WithIfBranches() {
  auto branch = [](const std::string& name, uint64_t seed) {
    Graph g;
    g.name = name;
    g.initializers.push_back(RandomTensor("w_" + name, {16, 8}, seed, 0.1f));
    Node mm;
    mm.name = "mm_" + name;
    mm.op_type = "MatMul";
    mm.inputs = {"h", "w_" + name};
    mm.outputs = {"out_" + name};
    g.nodes.push_back(mm);
    g.outputs.push_back(TensorValueInfo("out_" + name, DataType::kFloat32, {-1, 8}));
    return g;
  };
  ModelBuilder b("if");
  b.Input("x", DataType::kFloat32, {-1, 16});
  b.Input("cond", DataType::kBool, {});
  b.Initializer(RandomTensor("w0", {16, 16}, 1, 0.1f));
  b.AddNode("MatMul", {"x", "w0"}, {"h"}, "mm0");
  Node& n = b.AddNode("If", {"cond"}, {"y"}, "branch");
  n.attributes = {GraphAttr("then_branch", branch("then", 2)),
                  GraphAttr("else_branch", branch("else", 3))};
  b.Output("y", DataType::kFloat32, {-1, 8});
  return std::move(b).Build();
}

TEST(Prune, WeightsInsideIfBranchesArePrunedToo) {
  Model m = WithIfBranches();
  auto r = Prune(m, nullptr, {.sparsity = 0.5});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->layers.size(), 3u);  // a body's last MatMul is not the model's head
  for (const Node& n : m.graph.nodes) {
    if (n.op_type != "If") continue;
    for (const Attribute& a : n.attributes) {
      const Tensor& w = a.graphs[0].initializers[0];
      EXPECT_DOUBLE_EQ(ZeroFraction(Values(w).data(), 128), 0.5) << w.name();
    }
  }
  auto session = runtime::Session::Create(m, {.threads = 1});
  ASSERT_TRUE(session.ok()) << session.status();
  const std::vector<Tensor> in = {RandomTensor("x", {2, 16}, 4, 1.0f),
                                  Tensor::FromBytes("cond", DataType::kBool, {}, {1})};
  EXPECT_TRUE((*session)->Run(in).ok());
  // Calibration observes the main graph only: wanda leaves bodies alone, saying so.
  Model again = WithIfBranches();
  data::CalibrationData data;
  data.count = 1;
  data.sample = [&](int64_t) -> absl::StatusOr<std::vector<Tensor>> { return in; };
  auto wanda = Prune(again, &data, {.method = PruneMethod::kWanda});
  ASSERT_TRUE(wanda.ok()) << wanda.status();
  EXPECT_EQ(wanda->layers.size(), 1u);
  EXPECT_NE(wanda->skipped[0].find("mm_then (in subgraph then): wanda needs activations"),
            std::string::npos)
      << wanda->skipped[0];
}

TEST(Prune, BadInputFailsWithAClearMessage) {
  Model m = Mlp(30);
  const Model untouched = m;
  auto bad = [&](PruneOptions o, const data::CalibrationData* d, const std::string& expect) {
    auto r = Prune(m, d, o);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(std::string(r.status().message()).find(expect), std::string::npos)
        << r.status().message();
    EXPECT_EQ(Values(Weight(m, "w1")), Values(Weight(untouched, "w1")));
  };
  bad({.sparsity = 1.0}, nullptr, "sparsity 1 is outside [0, 1)");
  bad({.sparsity = -0.1}, nullptr, "outside [0, 1)");
  bad({.pattern = {2, 4}}, nullptr,
      "fc1: 2:4 needs the input dimension (30) to be a multiple of 4");
  bad({.method = PruneMethod::kWanda}, nullptr, "need calibration data");
  bad({.exclude = {"fc*"}}, nullptr, "nothing to prune");
  EXPECT_FALSE(ParseNmPattern("4:2").ok());
  EXPECT_FALSE(ParseNmPattern("2-4").ok());
  EXPECT_FALSE(ParsePruneMethod("random").ok());
  // Calibration samples that do not fit the model name the sample.
  data::CalibrationData wrong = Data(32);
  bad({.method = PruneMethod::kSparseGpt}, &wrong, "calibration sample 0");
}

TEST(Prune, RulesOverrideThePerLayerSparsity) {
  Model m = Mlp();
  PruneOptions o{.sparsity = 0.5, .include_head = true};
  o.rules = {{.match = "head", .sparsity = 0.0}, {.match = "fc*", .sparsity = 0.25}};
  auto r = Prune(m, nullptr, o);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->layers.size(), 1u);
  EXPECT_DOUBLE_EQ(r->layers[0].achieved, 0.25);
  EXPECT_DOUBLE_EQ(WeightSparsity(m).value(), 0.25 * 2048 / (2048 + 1024));
}

}  // namespace
}  // namespace pare::prune
