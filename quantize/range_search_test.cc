#include "quantize/range_search.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/model_builder.h"
#include "data/inputs.h"
#include "quantize/report.h"
#include "quantize/static_int8.h"
#include "quantize/static_test_util.h"
#include "runtime/session.h"

namespace pare::quantize {
namespace {

// x -> Conv -> Relu -> Conv -> Add(x') -> y, where x' = x * 4 gives the
// residual a wider range than the branch.
Model BranchAndResidual() {
  ModelBuilder b("residual", 13);
  b.Input("x", DataType::kFloat32, {1, 4, 6, 6});
  b.Initializer(RandomTensor("w1", {8, 4, 3, 3}, 1, 0.4f));
  b.Initializer(RandomTensor("w2", {4, 8, 1, 1}, 2, 0.4f));
  b.Initializer(Tensor::FromVector<float>("four", {}, {4.0f}));
  b.AddNode("Conv", {"x", "w1"}, {"c1"}, "conv1").attributes = {IntsAttr("pads", {1, 1, 1, 1})};
  b.AddNode("Relu", {"c1"}, {"r1"}, "relu1");
  b.AddNode("Conv", {"r1", "w2"}, {"c2"}, "conv2");
  b.AddNode("Mul", {"x", "four"}, {"wide"}, "widen");
  b.AddNode("Add", {"c2", "wide"}, {"y"}, "add");
  b.Output("y", DataType::kFloat32, {1, 4, 6, 6});
  return std::move(b).Build();
}

// The search samples and OutputError's inputs: seeds 200, 201, ...
CalibrationData Random(const Model& model, int64_t count) {
  return testing::RandomCalibration(model, count, 200);
}

// Summed |q - r|^2 / |r|^2 over the first `count` calibration samples.
double OutputError(const Model& reference, const Model& quantized, int64_t count) {
  auto want = runtime::Session::Create(reference, {.threads = 1});
  auto got = runtime::Session::Create(quantized, {.threads = 1});
  EXPECT_TRUE(want.ok() && got.ok());
  double total = 0;
  for (int64_t i = 0; i < count; ++i) {
    auto inputs = data::RandomInputs(reference, 200 + i, {});
    const auto r = (*want)->Run(*inputs)->at(0).ToFloat32().value();
    const auto q = (*got)->Run(*inputs)->at(0).ToFloat32().value();
    double s = 0, n = 0;
    for (size_t k = 0; k < r.size(); ++k) {
      s += r[k] * r[k];
      n += (q[k] - r[k]) * (q[k] - r[k]);
    }
    total += n / s;
  }
  return total;
}

TEST(RangeSearch, CandidatesAreDistinctAndStartWithMinMax) {
  TensorCalibrator c;
  std::vector<float> values(10000);
  for (size_t i = 0; i < values.size(); ++i) values[i] = std::pow(i / 10000.0f, 4.0f) * 10;
  c.Add(values.data(), values.size());
  const std::vector<NamedRange> candidates = CandidateRanges(c, 255);
  ASSERT_GE(candidates.size(), 3u);
  EXPECT_EQ(candidates[0].first, "minmax");
  for (size_t i = 0; i < candidates.size(); ++i) {
    for (size_t j = i + 1; j < candidates.size(); ++j) {
      EXPECT_FALSE(candidates[i].second.min == candidates[j].second.min &&
                   candidates[i].second.max == candidates[j].second.max);
    }
  }
}

// The search starts from the MSE ranges and keeps a change only when the
// output error falls: it ends better, and the report names what it chose.
TEST(RangeSearch, NeverWorseThanItsStartAndReportsTheChoices) {
  const Model original = BranchAndResidual();
  StaticInt8Options o;
  o.integer_graph = true;
  o.calibration.method = CalibrationMethod::kMse;
  Model start = original;
  ASSERT_TRUE(QuantizeStaticInt8(start, Random(original, 8), o).ok());
  o.range_search = true;
  o.range_search_samples = 4;
  Model searched = original;
  auto report = QuantizeStaticInt8(searched, Random(original, 8), o);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->method, "search");
  int chosen = 0;
  for (const QuantizedTensor& t : report->tensors) chosen += !t.range_method.empty();
  ASSERT_GT(chosen, 0);
  // A choice is kept only when it lowers the error on these samples, so the
  // written model must be strictly better than its start.
  EXPECT_LT(OutputError(original, searched, 4), OutputError(original, start, 4));
  EXPECT_NE(QuantizeReportToJson(*report).dump().find("range_method"), std::string::npos);
}

TEST(RangeSearch, QOperatorFormatRefusesIt) {
  const Model original = BranchAndResidual();
  Model model = original;
  StaticInt8Options o;
  o.range_search = true;
  o.format = StaticInt8Options::Format::kQOperator;
  EXPECT_FALSE(QuantizeStaticInt8(model, Random(original, 2), o).ok());
}

}  // namespace
}  // namespace pare::quantize
