// Every quantize stage leaves the caller's model unchanged when it fails,
// whether an option is refused or a weight is, and however late the failure
// comes (after opset upgrades, after other weights were rewritten).
#include <gtest/gtest.h>

#include "core/model_builder.h"
#include "core/test_util.h"
#include "data/inputs.h"
#include "quantize/dynamic_int8.h"
#include "quantize/float16_weights.h"
#include "quantize/static_int8.h"
#include "quantize/weight_only.h"

namespace pare::quantize {
namespace {

using pare::testing::Snapshot;

// With `nan_weight`, w2 (the second weight the stages reach) holds a NaN; at
// opset 9 every stage that needs a later opset upgrades it first.
Model TwoLayers(int64_t opset, bool nan_weight) {
  return pare::testing::MatMulChain(opset, {64, 64, 32}, nan_weight ? 2 : 0);
}

CalibrationData Calibration(const Model& model) {
  return {4,
          [&model](int64_t i) {
            return data::RandomInputs(model, 10 + i, {{"N", 2}});
          },
          "random"};
}

// Runs `stage` on `model`, expects an error, and the model byte for byte
// as it was.
template <typename Stage>
void ExpectFailsAndLeavesModel(Model model, Stage stage) {
  const std::string before = Snapshot(model);
  const auto result = stage(model);
  EXPECT_FALSE(result.ok());
  EXPECT_TRUE(Snapshot(model) == before) << "the failed stage changed its input";
}

TEST(StageContract, StaticInt8LeavesModelOnFailure) {
  // Refused after the opset 9 -> 10 upgrade: QOperator takes no SmoothQuant.
  ExpectFailsAndLeavesModel(TwoLayers(9, false), [](Model& m) {
    const CalibrationData data = Calibration(m);
    return QuantizeStaticInt8(
        m, data, {.format = StaticInt8Options::Format::kQOperator, .smoothquant_alpha = 0.5});
  });
  ExpectFailsAndLeavesModel(TwoLayers(9, true), [](Model& m) {
    const CalibrationData data = Calibration(m);
    return QuantizeStaticInt8(m, data, {});
  });
}

TEST(StageContract, DynamicInt8LeavesModelOnFailure) {
  ExpectFailsAndLeavesModel(TwoLayers(13, false), [](Model& m) {
    return QuantizeDynamicInt8(m, {.op_types = {"Conv"}});
  });
  ExpectFailsAndLeavesModel(TwoLayers(13, true),
                            [](Model& m) { return QuantizeDynamicInt8(m, {}); });
}

TEST(StageContract, WeightOnlyLeavesModelOnFailure) {
  ExpectFailsAndLeavesModel(TwoLayers(9, false),
                            [](Model& m) { return QuantizeWeightOnly(m, nullptr, {.bits = 5}); });
  // The DequantizeLinear format upgrades to opset 21 before w2's NaN is met.
  for (WeightAlgorithm algorithm : {WeightAlgorithm::kRtn, WeightAlgorithm::kHqq}) {
    ExpectFailsAndLeavesModel(TwoLayers(9, true), [&](Model& m) {
      return QuantizeWeightOnly(
          m, nullptr,
          {.algorithm = algorithm, .format = WeightOnlyOptions::Format::kDequantizeLinear});
    });
  }
}

TEST(StageContract, Float16StorageLeavesModelOnFailure) {
  ExpectFailsAndLeavesModel(TwoLayers(13, false),
                            [](Model& m) { return StoreWeightsInHalf(m, DataType::kFloat32); });
  // The spill file cannot be made: fails at the first weight it converts.
  ExpectFailsAndLeavesModel(TwoLayers(13, false), [](Model& m) {
    return StoreWeightsInHalf(m, DataType::kFloat16, nullptr, "/nonexistent/pare-spill");
  });
}

}  // namespace
}  // namespace pare::quantize
