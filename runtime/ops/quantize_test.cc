// MatMulNBits and blocked int4 DequantizeLinear, which the ONNX 1.12 test
// data does not cover, checked against a float reference on awkward sizes.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/int4.h"
#include "core/model_builder.h"
#include "runtime/session.h"

namespace pare::runtime {
namespace {

struct NBitsCase {
  int64_t m, k, n, bits, block;
  bool zero_points, bias;
};

std::vector<float> RunSingleNode(Model model, std::vector<Tensor> inputs) {
  auto session = Session::Create(model, {.threads = 2});
  EXPECT_TRUE(session.ok()) << session.status();
  auto out = (*session)->Run(inputs);
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? (*out)[0].ToFloat32().value() : std::vector<float>{};
}

class MatMulNBitsTest : public ::testing::TestWithParam<NBitsCase> {};

TEST_P(MatMulNBitsTest, MatchesDequantizedReference) {
  const NBitsCase c = GetParam();
  std::mt19937 rng(static_cast<uint32_t>(c.k * 131 + c.n * 7 + c.bits));
  const int64_t k_blocks = (c.k + c.block - 1) / c.block, blob = c.block * c.bits / 8;
  const int32_t levels = 1 << c.bits;
  std::vector<int32_t> codes(c.n * k_blocks * c.block);
  for (auto& q : codes) q = static_cast<int32_t>(rng() % levels);
  std::vector<uint8_t> packed(c.n * k_blocks * blob, 0);
  for (size_t i = 0; i < codes.size(); ++i) {
    const size_t bit = (i % c.block) * c.bits, base = (i / c.block) * blob;
    packed[base + bit / 8] |= static_cast<uint8_t>(codes[i] << (bit % 8));
  }
  std::vector<float> scales(c.n * k_blocks), a(c.m * c.k), bias(c.n);
  for (auto& s : scales) s = 0.01f + (rng() % 100) / 1000.0f;
  for (auto& v : a) v = static_cast<float>(static_cast<int>(rng() % 200) - 100) / 50.0f;
  for (auto& v : bias) v = static_cast<float>(rng() % 10);
  std::vector<uint8_t> zp_codes(c.n * k_blocks);
  const int64_t zp_stride = (k_blocks * c.bits + 7) / 8;
  std::vector<uint8_t> zp_packed(c.n * zp_stride, 0);
  for (int64_t n = 0; n < c.n; ++n) {
    for (int64_t kb = 0; kb < k_blocks; ++kb) {
      const uint8_t z = static_cast<uint8_t>(rng() % levels);
      zp_codes[n * k_blocks + kb] = z;
      zp_packed[n * zp_stride + kb * c.bits / 8] |= static_cast<uint8_t>(z << ((kb * c.bits) % 8));
    }
  }
  std::vector<float> expected(c.m * c.n, 0.0f);
  for (int64_t m = 0; m < c.m; ++m) {
    for (int64_t n = 0; n < c.n; ++n) {
      double acc = c.bias ? bias[n] : 0.0;
      for (int64_t kk = 0; kk < c.k; ++kk) {
        const int64_t kb = kk / c.block;
        const float z =
            c.zero_points ? zp_codes[n * k_blocks + kb] : static_cast<float>(levels / 2);
        acc += a[m * c.k + kk] * (codes[(n * k_blocks + kb) * c.block + kk % c.block] - z) *
               scales[n * k_blocks + kb];
      }
      expected[m * c.n + n] = static_cast<float>(acc);
    }
  }
  ModelBuilder b("nbits");
  b.Opset("com.microsoft", 1);
  b.Input("a", DataType::kFloat32, {c.m, c.k});
  b.Initializer(Tensor::FromBytes("b", DataType::kUint8, {c.n, k_blocks, blob}, packed));
  b.Initializer(Tensor::FromVector<float>("scales", {c.n * k_blocks}, scales));
  std::vector<std::string> inputs = {"a", "b", "scales"};
  if (c.zero_points) {
    b.Initializer(Tensor::FromBytes("zp", DataType::kUint8, {c.n * zp_stride}, zp_packed));
    inputs.push_back("zp");
  }
  if (c.bias) {
    b.Initializer(Tensor::FromVector<float>("bias", {c.n}, bias));
    if (!c.zero_points) inputs.push_back("");
    inputs.insert(inputs.end(), {"", "bias"});
  }
  Node& node = b.AddNode("MatMulNBits", inputs, {"y"});
  node.domain = "com.microsoft";
  node.attributes = {IntAttr("K", c.k), IntAttr("N", c.n), IntAttr("bits", c.bits),
                     IntAttr("block_size", c.block)};
  b.Output("y", DataType::kFloat32, {c.m, c.n});
  const auto got =
      RunSingleNode(std::move(b).Build(), {Tensor::FromVector<float>("a", {c.m, c.k}, a)});
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_NEAR(got[i], expected[i], 1e-3f * (1 + std::abs(expected[i]))) << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, MatMulNBitsTest,
                         ::testing::Values(NBitsCase{1, 64, 8, 4, 32, false, false},
                                           NBitsCase{3, 100, 17, 4, 32, true,
                                                     false},  // K not a block multiple
                                           NBitsCase{5, 48, 9, 4, 16, true, true},
                                           NBitsCase{2, 300, 33, 4, 128, false, true},
                                           NBitsCase{4, 70, 5, 8, 32, true, true},
                                           NBitsCase{1, 256, 64, 8, 256, false, false},
                                           NBitsCase{2, 64, 7, 2, 32, true, false}));

TEST(DequantizeLinear, BlockedInt4AlongAxisOne) {
  // x: int4 [2, 5], blocks of 2 along axis 1 → scale [2, 3].
  const std::vector<int8_t> q = {-8, -1, 0, 3, 7, 1, 2, -3, 4, 5};
  std::vector<uint8_t> packed(PackedInt4Bytes(q.size()));
  PackInt4(q.data(), q.size(), packed.data());
  const std::vector<float> scale = {0.5f, 1.0f, 2.0f, 0.25f, 0.1f, 3.0f};
  ModelBuilder b("dq", 21);
  b.Initializer(Tensor::FromBytes("x", DataType::kInt4, {2, 5}, packed));
  b.Initializer(Tensor::FromVector<float>("s", {2, 3}, scale));
  Node& node = b.AddNode("DequantizeLinear", {"x", "s"}, {"y"});
  node.attributes = {IntAttr("axis", 1), IntAttr("block_size", 2)};
  b.Output("y", DataType::kFloat32, {2, 5});
  const auto got = RunSingleNode(std::move(b).Build(), {});
  const std::vector<float> expected = {-4, -0.5f, 0, 3, 14, 0.25f, 0.5f, -0.3f, 0.4f, 15};
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], expected[i], 1e-6f) << i;
}

TEST(QuantizeLinear, BlockedUint4RoundsHalfToEvenAndSaturates) {
  ModelBuilder b("q", 21);
  b.Input("x", DataType::kFloat32, {1, 4});
  b.Initializer(Tensor::FromVector<float>("s", {1, 2}, {1.0f, 2.0f}));
  b.Initializer(Tensor::FromBytes("zp", DataType::kUint4, {1, 2}, {0x21}));  // zp 1 and 2
  Node& node = b.AddNode("QuantizeLinear", {"x", "s", "zp"}, {"q"});
  node.attributes = {IntAttr("axis", 1), IntAttr("block_size", 2)};
  b.Output("q", DataType::kUint4, {1, 4});
  auto session = Session::Create(std::move(b).Build());
  ASSERT_TRUE(session.ok()) << session.status();
  auto out =
      (*session)->Run({Tensor::FromVector<float>("x", {1, 4}, {2.5f, 100.0f, 3.0f, -50.0f})});
  ASSERT_TRUE(out.ok()) << out.status();
  // 2.5/1 → 2 (even) + 1 = 3; 100 → 15 (saturated); 3/2 = 1.5 → 2 + 2 = 4; -25 + 2 → 0.
  EXPECT_EQ((*out)[0].ToFloat32().value(), (std::vector<float>{3, 15, 4, 0}));
}

}  // namespace
}  // namespace pare::runtime
