#include "quantize/weight_only.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "absl/strings/str_cat.h"
#include "core/float16.h"
#include "core/graph.h"
#include "core/model_builder.h"
#include "core/test_util.h"
#include "data/hessian.h"
#include "data/inputs.h"
#include "quantize/awq.h"
#include "quantize/blockwise.h"
#include "quantize/gptq.h"
#include "runtime/session.h"

namespace pare::quantize {
namespace {

std::vector<float> Values(const Tensor& t) { return t.ToFloat32().value(); }

// Rows of activations [rows, k] whose channels are correlated and of very
// different sizes (channel 3 is 30x the rest), as in real models.
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

// ||X (W - Wq)||^2 over the rows.
double OutputError(const std::vector<float>& x, int64_t k, const std::vector<float>& w,
                   const std::vector<float>& wq, int64_t n) {
  double total = 0;
  for (size_t r = 0; r < x.size() / k; ++r) {
    for (int64_t j = 0; j < n; ++j) {
      double acc = 0;
      for (int64_t c = 0; c < k; ++c) acc += x[r * k + c] * (w[c * n + j] - wq[c * n + j]);
      total += acc * acc;
    }
  }
  return total;
}

TEST(Blockwise, SymmetricKeepsEachBlocksExtremeExactly) {
  const std::vector<float> w = Values(RandomTensor("w", {64, 8}, 1));
  const BlockQuantized q = QuantizeRtn(w.data(), 64, 8, {.bits = 4, .block = 32});
  EXPECT_EQ(q.blocks, 2);
  for (int64_t col = 0; col < 8; ++col) {
    for (int64_t b = 0; b < 2; ++b) {
      int64_t extreme = b * 32;
      for (int64_t r = b * 32; r < b * 32 + 32; ++r) {
        if (std::abs(w[r * 8 + col]) > std::abs(w[extreme * 8 + col])) extreme = r;
        EXPECT_LE(std::abs(w[r * 8 + col] - q.Dequantize(r, col)), std::abs(q.Scale(r, col)));
      }
      EXPECT_FLOAT_EQ(q.Dequantize(extreme, col), w[extreme * 8 + col]);
      EXPECT_EQ(q.Zero(b * 32, col), 8);
    }
  }
  EXPECT_GT(ReconstructionSqnrDb(w.data(), q), 15);
}

TEST(Blockwise, HqqIsNoWorseThanAsymmetricRtn) {
  const std::vector<float> w = Values(RandomTensor("w", {128, 16}, 2));
  const BlockSpec spec{.bits = 4, .block = 32, .symmetric = false};
  const BlockQuantized rtn = QuantizeRtn(w.data(), 128, 16, spec);
  const BlockQuantized hqq = QuantizeHqq(w.data(), 128, 16, spec);
  double rtn_l1 = 0, hqq_l1 = 0;
  for (int64_t r = 0; r < 128; ++r) {
    for (int64_t c = 0; c < 16; ++c) {
      rtn_l1 += std::abs(w[r * 16 + c] - rtn.Dequantize(r, c));
      hqq_l1 += std::abs(w[r * 16 + c] - hqq.Dequantize(r, c));
    }
  }
  EXPECT_LT(hqq_l1, rtn_l1);
  EXPECT_FALSE(hqq.IntegerZeros());
}

TEST(Gptq, LowersTheOutputErrorOfRtn) {
  const int64_t k = 64, n = 16;
  const std::vector<float> w = Values(RandomTensor("w", {k, n}, 3));
  const std::vector<float> x = Activations(512, k, 4);
  data::HessianAccumulator h(k);
  h.Add(x.data(), 512);
  const BlockSpec spec{.bits = 4, .block = 32};
  const std::vector<float> rtn = QuantizeRtn(w.data(), k, n, spec).DequantizeAll();
  for (bool act_order : {false, true}) {
    auto gptq = QuantizeGptq(w.data(), k, n, spec, h, {.act_order = act_order});
    ASSERT_TRUE(gptq.ok()) << gptq.status();
    EXPECT_LT(OutputError(x, k, w, gptq->DequantizeAll(), n), 0.7 * OutputError(x, k, w, rtn, n))
        << "act_order " << act_order;
  }
  data::HessianAccumulator wrong(k + 1);
  EXPECT_FALSE(QuantizeGptq(w.data(), k, n, spec, wrong).ok());
}

TEST(Gptq, PrunedZerosStayZero) {
  std::vector<float> w = Values(RandomTensor("w", {64, 8}, 6));
  for (size_t i = 0; i < w.size(); i += 2) w[i] = 0;  // half pruned
  const std::vector<float> x = Activations(256, 64, 9);
  data::HessianAccumulator h(64);
  h.Add(x.data(), 256);
  for (bool symmetric : {true, false}) {
    const BlockSpec spec{.bits = 4, .block = 32, .symmetric = symmetric};
    for (const BlockQuantized& q :
         {QuantizeGptq(w.data(), 64, 8, spec, h).value(), QuantizeRtn(w.data(), 64, 8, spec)}) {
      const std::vector<float> back = q.DequantizeAll();
      for (size_t i = 0; i < w.size(); i += 2) ASSERT_EQ(back[i], 0.0f) << i;
    }
  }
}

TEST(Awq, ScalesUpTheWeightsOfLargeChannels) {
  const int64_t k = 64, n = 16;
  const std::vector<float> w = Values(RandomTensor("w", {k, n}, 5));
  const std::vector<float> x = Activations(256, k, 6);
  ActivationSample sample(k, 128);
  sample.Add(x.data(), 256);
  EXPECT_EQ(sample.sampled_rows(), 128);
  const AwqResult r = SearchAwqScales(sample, {{w.data(), n}}, {.bits = 4, .block = 32});
  EXPECT_GT(r.alpha, 0);
  EXPECT_LT(r.error, r.rtn_error);
  EXPECT_GT(r.scales[3], r.scales[0]);
}

// x [2, 64] -> Mul(gamma) -> MatMul(w1 [64, 32]) -> MatMul(w2 [32, 8]) -> y,
// gamma with one 30x channel (an RMSNorm weight with an outlier).
Model TwoLayers() {
  ModelBuilder b("two_layers", 17);
  b.Input("x", DataType::kFloat32, {2, 64});
  std::vector<float> gamma = Values(RandomTensor("gamma", {64}, 7, 1.0f));
  gamma[3] = 30;
  b.Initializer(Tensor::FromVector<float>("gamma", {64}, gamma));
  b.Initializer(RandomTensor("w1", {64, 32}, 8));
  b.Initializer(RandomTensor("w2", {32, 8}, 9));
  b.AddNode("Mul", {"x", "gamma"}, {"normed"}, "norm");
  b.AddNode("MatMul", {"normed", "w1"}, {"h"}, "mm1");
  b.AddNode("MatMul", {"h", "w2"}, {"y"}, "head");
  b.Output("y", DataType::kFloat32, {2, 8});
  return std::move(b).Build();
}

std::vector<float> Outputs(const Model& model) {
  auto session = runtime::Session::Create(model, {.threads = 1});
  EXPECT_TRUE(session.ok()) << session.status();
  auto out = (*session)->Run(data::RandomInputs(model, 11, {}).value());
  EXPECT_TRUE(out.ok()) << out.status();
  return (*out)[0].ToFloat32().value();
}

double Sqnr(const std::vector<float>& ref, const std::vector<float>& got) {
  double s = 0, e = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    s += ref[i] * ref[i];
    e += (ref[i] - got[i]) * (ref[i] - got[i]);
  }
  return 10 * std::log10(s / e);
}

int CountOps(const Model& m, const std::string& op) {
  int count = 0;
  for (const Node& n : m.graph.nodes) count += n.op_type == op;
  return count;
}

CalibrationData Random(const Model& model, int64_t count) {
  return {count, [&model](int64_t i) { return data::RandomInputs(model, 20 + i, {}); }, "random"};
}

TEST(WeightOnly, EveryFormatAndAlgorithmRunsCloseToFloat) {
  const Model original = TwoLayers();
  const std::vector<float> want = Outputs(original);
  using Format = WeightOnlyOptions::Format;
  struct Case {
    WeightAlgorithm algorithm;
    Format format;
    int bits;
    bool symmetric;
    double min_sqnr;
  };
  for (const Case& c : {Case{WeightAlgorithm::kRtn, Format::kMatMulNBits, 4, true, 12},
                        Case{WeightAlgorithm::kRtn, Format::kMatMulNBits, 4, false, 12},
                        Case{WeightAlgorithm::kRtn, Format::kMatMulNBits, 8, true, 35},
                        Case{WeightAlgorithm::kRtn, Format::kMatMulNBits, 2, true, 0},
                        Case{WeightAlgorithm::kHqq, Format::kMatMulNBits, 4, false, 12},
                        Case{WeightAlgorithm::kGptq, Format::kMatMulNBits, 4, true, 12},
                        Case{WeightAlgorithm::kAwq, Format::kMatMulNBits, 4, true, 12},
                        Case{WeightAlgorithm::kRtn, Format::kDequantizeLinear, 4, true, 12},
                        Case{WeightAlgorithm::kRtn, Format::kDequantizeLinear, 4, false, 12},
                        Case{WeightAlgorithm::kRtn, Format::kDequantizeLinear, 8, false, 35}}) {
    Model model = original;
    const CalibrationData data = Random(original, 4);
    WeightOnlyOptions o{.algorithm = c.algorithm,
                        .format = c.format,
                        .bits = c.bits,
                        .symmetric = c.symmetric,
                        .threads = 1};
    auto report = QuantizeWeightOnly(model, &data, o);
    ASSERT_TRUE(report.ok()) << report.status();
    const std::string what = absl::StrCat(WeightAlgorithmName(c.algorithm), " bits ", c.bits,
                                          c.format == Format::kMatMulNBits ? " nbits" : " dq");
    EXPECT_EQ(report->quantized_nodes.size(), 2u) << what;
    EXPECT_LT(report->weight_bytes_after, report->weight_bytes_before) << what;
    EXPECT_GT(Sqnr(want, Outputs(model)), c.min_sqnr) << what;
    if (c.format == Format::kMatMulNBits) {
      EXPECT_EQ(CountOps(model, "MatMulNBits"), 2) << what;
    } else {
      EXPECT_EQ(CountOps(model, "DequantizeLinear"), 2) << what;
      EXPECT_EQ(OpsetVersion(model, ""), 21) << what;
    }
    if (c.algorithm == WeightAlgorithm::kAwq) {
      // mm1's input scaling folds into the norm's constant; the head's input
      // has no constant producer, so it gets a Mul.
      for (const Node& n : model.graph.nodes) {
        if (n.name == "mm1") {
          EXPECT_EQ(n.inputs[0], "normed");
        }
        if (n.name == "norm") {
          EXPECT_EQ(n.inputs[1], "normed_awq_folded_scale");
        }
      }
      EXPECT_LE(CountOps(model, "Mul"), 2);
    } else {
      EXPECT_EQ(CountOps(model, "Mul"), 1) << what;
    }
  }
}

TEST(WeightOnly, SpilledWeightsGiveTheSameModel) {
  const Model original = TwoLayers();
  Model in_memory = original, spilled = original;
  ASSERT_TRUE(QuantizeWeightOnly(in_memory, nullptr, {.threads = 1}).ok());
  testing::TempDir dir;
  ASSERT_TRUE(QuantizeWeightOnly(spilled, nullptr, {.spill_directory = dir.path()}).ok());
  EXPECT_EQ(Outputs(in_memory), Outputs(spilled));
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(WeightOnly, Float16WeightsKeepFloat16Scales) {
  ModelBuilder b("half", 17);
  b.Input("x", DataType::kFloat16, {1, 64});
  std::vector<float> w = Values(RandomTensor("w", {64, 8}, 12));
  std::vector<uint16_t> half(w.size());
  Float32ToFloat16(w.data(), half.data(), w.size());
  std::vector<uint8_t> bytes(half.size() * 2);
  std::memcpy(bytes.data(), half.data(), bytes.size());
  b.Initializer(Tensor::FromBytes("w", DataType::kFloat16, {64, 8}, bytes));
  b.AddNode("MatMul", {"x", "w"}, {"y"}, "mm");
  b.Output("y", DataType::kFloat16, {1, 8});
  Model model = std::move(b).Build();
  auto report = QuantizeWeightOnly(model, nullptr, {});
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->tensors[0].bytes_before, 64u * 8 * 2);
  for (const Tensor& t : model.graph.initializers) {
    if (t.name() == "w_scales") {
      EXPECT_EQ(t.dtype(), DataType::kFloat16);
    }
  }
  // pare's runtime has no float16 MatMul to compare with; the quantized
  // model runs (A widened to float32 inside MatMulNBits) and stays float16.
  auto session = runtime::Session::Create(model, {.threads = 1});
  ASSERT_TRUE(session.ok()) << session.status();
  auto out = (*session)->Run(data::RandomInputs(model, 11, {}).value());
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[0].dtype(), DataType::kFloat16);
  EXPECT_EQ((*out)[0].dims(), (std::vector<int64_t>{1, 8}));
}

TEST(WeightOnly, EmbeddingTablesGoToBlockwiseDequantizeLinear) {
  ModelBuilder b("embed", 17);
  b.Input("ids", DataType::kInt64, {1, 4});
  b.Initializer(RandomTensor("table", {16, 64}, 13));
  b.AddNode("Gather", {"table", "ids"}, {"y"}, "embedding");
  b.Output("y", DataType::kFloat32, {1, 4, 64});
  const Model original = std::move(b).Build();
  Model model = original;
  EXPECT_FALSE(QuantizeWeightOnly(model, nullptr, {}).ok());  // nothing to do without embed_bits
  auto report = QuantizeWeightOnly(model, nullptr, {.embed_bits = 4});
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->quantized_nodes, std::vector<std::string>{"embedding"});
  ASSERT_EQ(CountOps(model, "DequantizeLinear"), 1);
  for (const Node& n : model.graph.nodes) {
    if (n.op_type == "DequantizeLinear") {
      EXPECT_EQ(n.FindAttribute("axis")->i, 1);
    }
  }
  EXPECT_EQ(OpsetVersion(model, ""), 21);
  EXPECT_GT(Sqnr(Outputs(original), Outputs(model)), 15);
}

TEST(WeightOnly, HeadBitsRulesAndErrors) {
  const Model original = TwoLayers();
  Model model = original;
  WeightOnlyOptions o{.head_bits = 0, .threads = 1};
  auto report = QuantizeWeightOnly(model, nullptr, o);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->quantized_nodes, std::vector<std::string>{"mm1"});

  model = original;
  o = {.rules = {{"head", 8, std::nullopt, std::nullopt}}, .threads = 1};
  report = QuantizeWeightOnly(model, nullptr, o);
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->tensors.size(), 2u);
  EXPECT_EQ(report->tensors[1].bits, 8);

  model = original;
  o = {.algorithm = WeightAlgorithm::kGptq};
  EXPECT_EQ(QuantizeWeightOnly(model, nullptr, o).status().code(),
            absl::StatusCode::kInvalidArgument);
  o = {.algorithm = WeightAlgorithm::kHqq, .format = WeightOnlyOptions::Format::kDequantizeLinear};
  EXPECT_FALSE(QuantizeWeightOnly(model, nullptr, o).ok());
  o = {.block_size = 24};
  EXPECT_FALSE(QuantizeWeightOnly(model, nullptr, o).ok());
  model = original;
  ASSERT_TRUE(QuantizeWeightOnly(model, nullptr, {}).ok());
  EXPECT_EQ(QuantizeWeightOnly(model, nullptr, {}).status().code(),
            absl::StatusCode::kFailedPrecondition);  // already quantized
}

TEST(WeightOnly, NonFiniteWeightsAreRefusedByName) {
  for (WeightAlgorithm a : {WeightAlgorithm::kRtn, WeightAlgorithm::kHqq}) {
    Model model = TwoLayers();
    for (Tensor& t : model.graph.initializers) {
      if (t.name() != "w2") continue;
      std::vector<float> w = Values(t);
      w[5] = std::nanf("");
      t = Tensor::FromVector<float>("w2", {32, 8}, w);
    }
    auto report = QuantizeWeightOnly(model, nullptr, {.algorithm = a, .threads = 1});
    ASSERT_FALSE(report.ok());
    EXPECT_NE(report.status().message().find("weight 'w2' holds nan at element 5"),
              std::string::npos)
        << report.status();
  }
}

}  // namespace
}  // namespace pare::quantize
