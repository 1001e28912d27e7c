// pare's in-memory model: an ONNX model as plain C++ values, with weight data
// held by reference (see tensor.h). Stages read and build these; only the
// I/O layer (onnx_io.h) touches protobuf.
//
//   ASSIGN_OR_RETURN(Model model, LoadModel("model.onnx"));
//   for (const Node& node : model.graph.nodes) ...
//
// Parts of ONNX that pare does not interpret (sparse initializers, local
// functions, training info, non-tensor types, quantization annotations) are
// kept as serialized protobuf bytes so that they survive a load/save round
// trip unchanged.
#ifndef PARE_CORE_MODEL_H_
#define PARE_CORE_MODEL_H_

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/dtype.h"
#include "core/tensor.h"

namespace pare {

struct Graph;

// One dimension of a declared shape: a fixed size, a named symbol, or unknown.
struct Dim {
  std::optional<int64_t> value;
  std::string param;  // symbolic name when value is empty; may be empty too
};

struct ValueInfo {
  std::string name;
  std::string doc_string;
  // Tensor values: element type and, when declared, shape.
  bool is_tensor = true;
  DataType elem_type = DataType::kUndefined;
  std::optional<std::vector<Dim>> shape;
  // Non-tensor values (sequence, map, optional): the serialized TypeProto.
  std::string opaque_type;
};

enum class AttributeType : int32_t {
  kUndefined = 0,
  kFloat = 1,
  kInt = 2,
  kString = 3,
  kTensor = 4,
  kGraph = 5,
  kSparseTensor = 11,
  kTypeProto = 13,
  kFloats = 6,
  kInts = 7,
  kStrings = 8,
  kTensors = 9,
  kGraphs = 10,
  kSparseTensors = 12,
  kTypeProtos = 14,
};

struct Attribute {
  std::string name;
  AttributeType type = AttributeType::kUndefined;
  std::string ref_attr_name;  // set inside function bodies
  std::string doc_string;
  float f = 0;
  int64_t i = 0;
  std::string s;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
  std::vector<Tensor> tensors;  // one element for kTensor
  std::vector<Graph> graphs;    // one element for kGraph
  // kSparseTensor(s) and kTypeProto(s): serialized protobuf messages.
  std::vector<std::string> opaque;
};

struct Node {
  std::string name;
  std::string op_type;
  std::string domain;               // "" is the default ONNX domain
  std::vector<std::string> inputs;  // "" marks an omitted optional input
  std::vector<std::string> outputs;
  std::vector<Attribute> attributes;
  std::string doc_string;

  const Attribute* FindAttribute(const std::string& attr_name) const;
};

struct Graph {
  std::string name;
  std::string doc_string;
  std::vector<Node> nodes;
  std::vector<Tensor> initializers;
  std::vector<ValueInfo> inputs;
  std::vector<ValueInfo> outputs;
  std::vector<ValueInfo> value_info;
  std::vector<std::string> opaque_sparse_initializers;
  std::vector<std::string> opaque_quantization_annotations;
};

struct OpsetImport {
  std::string domain;
  int64_t version = 0;
};

struct Model {
  int64_t ir_version = 0;
  std::vector<OpsetImport> opset_imports;
  std::string producer_name;
  std::string producer_version;
  std::string domain;
  int64_t model_version = 0;
  std::string doc_string;
  std::vector<std::pair<std::string, std::string>> metadata_props;
  Graph graph;
  std::vector<std::string> opaque_functions;
  std::vector<std::string> opaque_training_info;
  // The file the model was loaded from; empty for models built in memory.
  std::filesystem::path source_path;
};

}  // namespace pare

#endif  // PARE_CORE_MODEL_H_
