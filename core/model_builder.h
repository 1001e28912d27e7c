// Builds models in code, deterministically: tests and demos make their own
// models instead of depending on downloaded files.
//
//   ModelBuilder b("mlp");
//   b.Input("x", DataType::kFloat32, {-1, 16});
//   b.Initializer(RandomTensor("w", {16, 8}, /*seed=*/1));
//   b.AddNode("MatMul", {"x", "w"}, {"y"});
//   b.Output("y", DataType::kFloat32, {-1, 8});
//   Model model = std::move(b).Build();
#ifndef PARE_CORE_MODEL_BUILDER_H_
#define PARE_CORE_MODEL_BUILDER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "core/model.h"

namespace pare {

// Float32 tensor of normally distributed values (mean 0, given stddev) from
// a seeded generator: the same seed gives the same bytes on every platform.
Tensor RandomTensor(std::string name, std::vector<int64_t> dims, uint64_t seed,
                    float stddev = 0.02f);

Attribute IntAttr(std::string name, int64_t value);
Attribute FloatAttr(std::string name, float value);
Attribute StringAttr(std::string name, std::string value);
Attribute IntsAttr(std::string name, std::vector<int64_t> values);
Attribute TensorAttr(std::string name, Tensor value);
Attribute GraphAttr(std::string name, Graph value);

class ModelBuilder {
 public:
  explicit ModelBuilder(std::string graph_name, int64_t opset = 17);

  // A dimension of -1 is symbolic: "N" in position 0, "d<i>" in position i.
  ModelBuilder& Input(std::string name, DataType type, std::vector<int64_t> dims);
  ModelBuilder& Output(std::string name, DataType type, std::vector<int64_t> dims);
  ModelBuilder& Initializer(Tensor tensor);
  ModelBuilder& Opset(std::string domain, int64_t version);
  // Returns the node so callers can add attributes. The reference is valid
  // until the next AddNode.
  Node& AddNode(std::string op_type, std::vector<std::string> inputs,
                std::vector<std::string> outputs, std::string name = "");

  Graph& graph() { return model_.graph; }
  Model Build() &&;

 private:
  Model model_;
};

ValueInfo TensorValueInfo(std::string name, DataType type, const std::vector<int64_t>& dims);

}  // namespace pare

#endif  // PARE_CORE_MODEL_BUILDER_H_
