#include "core/model_builder.h"

#include <cmath>
#include <random>

#include "absl/strings/str_cat.h"

namespace pare {

Tensor RandomTensor(std::string name, std::vector<int64_t> dims, uint64_t seed, float stddev) {
  const uint64_t count = ElementCount(dims).value();
  // std::normal_distribution differs across standard libraries; Box-Muller
  // over mt19937_64's fully specified output does not.
  std::mt19937_64 rng(seed);
  auto uniform = [&rng] { return (static_cast<double>(rng() >> 11) + 0.5) * 0x1.0p-53; };
  std::vector<float> values(count);
  for (uint64_t i = 0; i < count; i += 2) {
    const double radius = std::sqrt(-2.0 * std::log(uniform()));
    const double angle = 2.0 * M_PI * uniform();
    values[i] = static_cast<float>(radius * std::cos(angle) * stddev);
    if (i + 1 < count) values[i + 1] = static_cast<float>(radius * std::sin(angle) * stddev);
  }
  return Tensor::FromVector(std::move(name), std::move(dims), values);
}

Attribute IntAttr(std::string name, int64_t value) {
  Attribute a{.name = std::move(name), .type = AttributeType::kInt};
  a.i = value;
  return a;
}

Attribute FloatAttr(std::string name, float value) {
  Attribute a{.name = std::move(name), .type = AttributeType::kFloat};
  a.f = value;
  return a;
}

Attribute StringAttr(std::string name, std::string value) {
  Attribute a{.name = std::move(name), .type = AttributeType::kString};
  a.s = std::move(value);
  return a;
}

Attribute IntsAttr(std::string name, std::vector<int64_t> values) {
  Attribute a{.name = std::move(name), .type = AttributeType::kInts};
  a.ints = std::move(values);
  return a;
}

Attribute TensorAttr(std::string name, Tensor value) {
  Attribute a{.name = std::move(name), .type = AttributeType::kTensor};
  a.tensors.push_back(std::move(value));
  return a;
}

Attribute GraphAttr(std::string name, Graph value) {
  Attribute a{.name = std::move(name), .type = AttributeType::kGraph};
  a.graphs.push_back(std::move(value));
  return a;
}

ValueInfo TensorValueInfo(std::string name, DataType type, const std::vector<int64_t>& dims) {
  ValueInfo info;
  info.name = std::move(name);
  info.elem_type = type;
  auto& shape = info.shape.emplace();
  for (size_t i = 0; i < dims.size(); ++i) {
    // Distinct symbols: a shared one would claim the dimensions are equal.
    const std::string symbol = i == 0 ? "N" : absl::StrCat("d", i);
    shape.push_back(dims[i] < 0 ? Dim{std::nullopt, symbol} : Dim{dims[i], ""});
  }
  return info;
}

ModelBuilder::ModelBuilder(std::string graph_name, int64_t opset) {
  model_.ir_version = 8;
  model_.producer_name = "pare";
  model_.graph.name = std::move(graph_name);
  model_.opset_imports.push_back({"", opset});
}

ModelBuilder& ModelBuilder::Input(std::string name, DataType type, std::vector<int64_t> dims) {
  model_.graph.inputs.push_back(TensorValueInfo(std::move(name), type, dims));
  return *this;
}

ModelBuilder& ModelBuilder::Output(std::string name, DataType type, std::vector<int64_t> dims) {
  model_.graph.outputs.push_back(TensorValueInfo(std::move(name), type, dims));
  return *this;
}

ModelBuilder& ModelBuilder::Initializer(Tensor tensor) {
  model_.graph.initializers.push_back(std::move(tensor));
  return *this;
}

ModelBuilder& ModelBuilder::Opset(std::string domain, int64_t version) {
  model_.opset_imports.push_back({std::move(domain), version});
  return *this;
}

Node& ModelBuilder::AddNode(std::string op_type, std::vector<std::string> inputs,
                            std::vector<std::string> outputs, std::string name) {
  Node node;
  node.name = name.empty() ? op_type + "_" + std::to_string(model_.graph.nodes.size()) : name;
  node.op_type = std::move(op_type);
  node.inputs = std::move(inputs);
  node.outputs = std::move(outputs);
  model_.graph.nodes.push_back(std::move(node));
  return model_.graph.nodes.back();
}

Model ModelBuilder::Build() && { return std::move(model_); }

}  // namespace pare
