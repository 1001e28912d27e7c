// Opset-18 spatial operators that the ONNX 1.12 test data does not cover:
// Col2Im and antialiased Resize, checked against values worked by hand.
#include <gtest/gtest.h>

#include "core/model_builder.h"
#include "runtime/session.h"

namespace pare::runtime {
namespace {

absl::StatusOr<std::vector<float>> RunOne(Model model, std::vector<Tensor> inputs) {
  auto session = Session::Create(std::move(model), {.threads = 2});
  if (!session.ok()) return session.status();
  auto out = (*session)->Run(inputs);
  if (!out.ok()) return out.status();
  return (*out)[0].ToFloat32();
}

Model Col2ImModel(std::vector<int64_t> image, std::vector<int64_t> block,
                  std::vector<int64_t> dilations = {}, std::vector<int64_t> pads = {}) {
  ModelBuilder b("col2im", /*opset=*/18);
  b.Input("x", DataType::kFloat32, {-1, -1, -1});
  const int64_t rank = static_cast<int64_t>(image.size());
  b.Initializer(Tensor::FromVector<int64_t>("image", {rank}, image));
  b.Initializer(Tensor::FromVector<int64_t>("block", {rank}, block));
  auto& node = b.AddNode("Col2Im", {"x", "image", "block"}, {"y"}, "fold");
  if (!dilations.empty()) node.attributes.push_back(IntsAttr("dilations", dilations));
  if (!pads.empty()) node.attributes.push_back(IntsAttr("pads", pads));
  b.Output("y", DataType::kFloat32, {});
  return std::move(b).Build();
}

TEST(Col2Im, OverlappingBlocksSumIntoTheImage) {
  // 3x3 image, 2x2 blocks at stride 1: 4 blocks; column k, block b holds
  // 10 * k + b and lands on pixel (bh + kh, bw + kw).
  std::vector<float> x;
  for (int k = 0; k < 4; ++k) {
    for (int b = 0; b < 4; ++b) x.push_back(static_cast<float>(10 * k + b));
  }
  auto y = RunOne(Col2ImModel({3, 3}, {2, 2}), {Tensor::FromVector<float>("x", {1, 4, 4}, x)});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(*y, (std::vector<float>{0, 11, 11, 22, 66, 44, 22, 55, 33}));
}

TEST(Col2Im, HonoursDilationAndPadding) {
  // 1x5 image, 1x2 blocks dilated by 2, padded by one on each side: 5
  // blocks; block b's element k lands on column b - 1 + 2k when inside.
  auto y = RunOne(Col2ImModel({1, 5}, {1, 2}, {1, 2}, {0, 1, 0, 1}),
                  {Tensor::FromVector<float>("x", {1, 2, 5}, {1, 2, 3, 4, 5, 10, 20, 30, 40, 50})});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(*y, (std::vector<float>{2, 13, 24, 35, 40}));
}

TEST(Col2Im, ColumnsThatDoNotFitTheImageAreRefused) {
  auto y = RunOne(Col2ImModel({3, 3}, {2, 2}),
                  {Tensor::FromVector<float>("x", {1, 4, 3}, std::vector<float>(12, 1.0f))});
  ASSERT_FALSE(y.ok());
  EXPECT_NE(y.status().message().find("does not hold 4 blocks"), std::string::npos) << y.status();
}

TEST(Resize, AntialiasStretchesTheLinearKernelWhenDownsampling) {
  // 8 -> 4 samples (scale 0.5, half_pixel): output o sits at 2o + 0.5 and
  // reads samples 2o - 1 .. 2o + 2 with weights 1/8, 3/8, 3/8, 1/8, the
  // edges clamped.
  ModelBuilder b("resize", /*opset=*/18);
  b.Input("x", DataType::kFloat32, {8});
  b.Initializer(Tensor::FromVector<float>("scales", {1}, {0.5f}));
  auto& node = b.AddNode("Resize", {"x", "", "scales"}, {"y"}, "down");
  node.attributes.push_back(StringAttr("mode", "linear"));
  node.attributes.push_back(IntAttr("antialias", 1));
  b.Output("y", DataType::kFloat32, {4});
  auto y =
      RunOne(std::move(b).Build(), {Tensor::FromVector<float>("x", {8}, {0, 1, 2, 3, 4, 5, 6, 7})});
  ASSERT_TRUE(y.ok()) << y.status();
  const std::vector<float> expected = {0.625f, 2.5f, 4.5f, 6.375f};
  ASSERT_EQ(y->size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_FLOAT_EQ((*y)[i], expected[i]) << i;
}

// A scale so small that the stretched kernel would cover billions of
// inputs (a fuzzer's find): refused with the reason, or an empty output,
// never undefined arithmetic.
TEST(Resize, AntialiasWithAVanishingScaleIsRefused) {
  for (float scale : {1e-20f, 0.05f}) {
    ModelBuilder b("resize", /*opset=*/18);
    b.Input("x", DataType::kFloat32, {8});
    b.Initializer(Tensor::FromVector<float>("scales", {1}, {scale}));
    auto& node = b.AddNode("Resize", {"x", "", "scales"}, {"y"}, "down");
    node.attributes.push_back(StringAttr("mode", "cubic"));
    node.attributes.push_back(IntAttr("antialias", 1));
    b.Output("y", DataType::kFloat32, {-1});
    auto y = RunOne(std::move(b).Build(),
                    {Tensor::FromVector<float>("x", {8}, {0, 1, 2, 3, 4, 5, 6, 7})});
    if (y.ok()) {
      EXPECT_TRUE(y->empty()) << scale;  // floor(8 * scale) = 0 outputs
    } else {
      EXPECT_NE(y.status().message().find("too small"), std::string::npos) << y.status();
    }
  }
}

}  // namespace
}  // namespace pare::runtime
