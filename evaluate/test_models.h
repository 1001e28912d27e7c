// Small models for the evaluate and plan tests.
#ifndef PARE_EVALUATE_TEST_MODELS_H_
#define PARE_EVALUATE_TEST_MODELS_H_

#include <string>
#include <utility>
#include <vector>

#include "core/model_builder.h"

namespace pare::evaluate::testing_models {

// x [N, 16] -> MatMul -> Relu -> MatMul -> Relu -> MatMul -> y [N, 8], with
// `corrupt` (if set) adding 3.0 to one element of that layer's weight.
inline Model Mlp(const std::string& corrupt = "") {
  ModelBuilder b("mlp");
  b.Input("x", DataType::kFloat32, {-1, 16});
  const std::vector<std::pair<std::string, std::vector<int64_t>>> layers = {
      {"w1", {16, 32}}, {"w2", {32, 32}}, {"w3", {32, 8}}};
  std::string in = "x";
  for (size_t i = 0; i < layers.size(); ++i) {
    const auto& [name, dims] = layers[i];
    Tensor w = RandomTensor(name, dims, i + 1, 0.3f);
    if (name == corrupt) {
      std::vector<float> v = w.ToFloat32().value();
      v[37] += 3.0f;
      w = Tensor::FromVector<float>(name, dims, v);
    }
    b.Initializer(w);
    const std::string mm = "mm" + std::to_string(i + 1);
    b.AddNode("MatMul", {in, name}, {mm}, mm);
    in = mm;
    if (i + 1 < layers.size()) {
      const std::string relu = "relu" + std::to_string(i + 1);
      b.AddNode("Relu", {in}, {relu}, relu);
      in = relu;
    }
  }
  b.AddNode("Identity", {in}, {"y"}, "out");
  b.Output("y", DataType::kFloat32, {-1, 8});
  return std::move(b).Build();
}

}  // namespace pare::evaluate::testing_models

#endif  // PARE_EVALUATE_TEST_MODELS_H_
