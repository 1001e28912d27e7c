// ModelProto → Model: graphs (with subgraphs), nodes, attributes, value info.
#include "absl/strings/str_cat.h"
#include "core/proto_convert.h"
#include "core/status_macros.h"

namespace pare::internal {
namespace {

class Reader {
 public:
  Reader(ExternalDataResolver& resolver, const LoadOptions& options)
      : resolver_(resolver), options_(options) {}

  absl::StatusOr<Graph> ReadGraph(onnx::GraphProto& g);

 private:
  absl::StatusOr<Node> ReadNode(onnx::NodeProto& n);
  absl::StatusOr<Attribute> ReadAttribute(onnx::AttributeProto& a);
  static ValueInfo ReadValueInfo(const onnx::ValueInfoProto& v);

  ExternalDataResolver& resolver_;
  const LoadOptions& options_;
};

// Old exporters leave AttributeProto.type unset; infer it from the field used.
AttributeType InferAttributeType(const onnx::AttributeProto& a) {
  if (a.type() != onnx::AttributeProto::UNDEFINED) return static_cast<AttributeType>(a.type());
  if (a.has_f()) return AttributeType::kFloat;
  if (a.has_i()) return AttributeType::kInt;
  if (a.has_s()) return AttributeType::kString;
  if (a.has_t()) return AttributeType::kTensor;
  if (a.has_g()) return AttributeType::kGraph;
  if (a.floats_size()) return AttributeType::kFloats;
  if (a.ints_size()) return AttributeType::kInts;
  if (a.strings_size()) return AttributeType::kStrings;
  if (a.tensors_size()) return AttributeType::kTensors;
  if (a.graphs_size()) return AttributeType::kGraphs;
  return AttributeType::kUndefined;
}

ValueInfo Reader::ReadValueInfo(const onnx::ValueInfoProto& v) {
  ValueInfo info;
  info.name = v.name();
  info.doc_string = v.doc_string();
  if (!v.has_type()) return info;
  if (!v.type().has_tensor_type()) {
    info.is_tensor = false;
    info.opaque_type = v.type().SerializeAsString();
    return info;
  }
  const auto& tensor_type = v.type().tensor_type();
  info.elem_type = static_cast<DataType>(tensor_type.elem_type());
  if (tensor_type.has_shape()) {
    auto& shape = info.shape.emplace();
    for (const auto& d : tensor_type.shape().dim()) {
      Dim dim;
      if (d.has_dim_value()) dim.value = d.dim_value();
      if (d.has_dim_param()) dim.param = d.dim_param();
      shape.push_back(std::move(dim));
    }
  }
  return info;
}

absl::StatusOr<Attribute> Reader::ReadAttribute(onnx::AttributeProto& a) {
  Attribute attr;
  attr.name = a.name();
  attr.type = InferAttributeType(a);
  attr.ref_attr_name = a.ref_attr_name();
  attr.doc_string = a.doc_string();
  attr.f = a.f();
  attr.i = a.i();
  attr.s = a.s();
  attr.floats.assign(a.floats().begin(), a.floats().end());
  attr.ints.assign(a.ints().begin(), a.ints().end());
  attr.strings.assign(a.strings().begin(), a.strings().end());
  if (a.has_t()) {
    ASSIGN_OR_RETURN(Tensor t, TensorFromProto(*a.mutable_t(), resolver_, options_));
    attr.tensors.push_back(std::move(t));
  }
  for (auto& t : *a.mutable_tensors()) {
    ASSIGN_OR_RETURN(Tensor tensor, TensorFromProto(t, resolver_, options_));
    attr.tensors.push_back(std::move(tensor));
  }
  if (a.has_g()) {
    ASSIGN_OR_RETURN(Graph g, ReadGraph(*a.mutable_g()));
    attr.graphs.push_back(std::move(g));
  }
  for (auto& g : *a.mutable_graphs()) {
    ASSIGN_OR_RETURN(Graph graph, ReadGraph(g));
    attr.graphs.push_back(std::move(graph));
  }
  if (a.has_sparse_tensor()) attr.opaque.push_back(a.sparse_tensor().SerializeAsString());
  for (const auto& s : a.sparse_tensors()) attr.opaque.push_back(s.SerializeAsString());
  if (a.has_tp()) attr.opaque.push_back(a.tp().SerializeAsString());
  for (const auto& tp : a.type_protos()) attr.opaque.push_back(tp.SerializeAsString());
  return attr;
}

absl::StatusOr<Node> Reader::ReadNode(onnx::NodeProto& n) {
  Node node;
  node.name = n.name();
  node.op_type = n.op_type();
  node.domain = n.domain();
  node.doc_string = n.doc_string();
  node.inputs.assign(n.input().begin(), n.input().end());
  node.outputs.assign(n.output().begin(), n.output().end());
  for (auto& a : *n.mutable_attribute()) {
    absl::StatusOr<Attribute> attr = ReadAttribute(a);
    if (!attr.ok()) {
      const std::string& label = n.name().empty() ? n.op_type() : n.name();
      return absl::Status(attr.status().code(),
                          absl::StrCat("node '", label, "' (", n.op_type(), ") attribute '",
                                       a.name(), "': ", attr.status().message()));
    }
    node.attributes.push_back(*std::move(attr));
  }
  if (node.outputs.empty()) {
    // Every operator produces something; a node without outputs is a
    // damaged graph, and every later stage names nodes by their output.
    return absl::DataLossError(absl::StrCat("node '", n.name().empty() ? n.op_type() : n.name(),
                                            "' (", n.op_type(), ") has no outputs"));
  }
  return node;
}

absl::StatusOr<Graph> Reader::ReadGraph(onnx::GraphProto& g) {
  Graph graph;
  graph.name = g.name();
  graph.doc_string = g.doc_string();
  for (auto& t : *g.mutable_initializer()) {
    ASSIGN_OR_RETURN(Tensor tensor, TensorFromProto(t, resolver_, options_));
    graph.initializers.push_back(std::move(tensor));
  }
  for (auto& n : *g.mutable_node()) {
    ASSIGN_OR_RETURN(Node node, ReadNode(n));
    graph.nodes.push_back(std::move(node));
  }
  for (const auto& v : g.input()) graph.inputs.push_back(ReadValueInfo(v));
  for (const auto& v : g.output()) graph.outputs.push_back(ReadValueInfo(v));
  for (const auto& v : g.value_info()) graph.value_info.push_back(ReadValueInfo(v));
  for (const auto& s : g.sparse_initializer()) {
    graph.opaque_sparse_initializers.push_back(s.SerializeAsString());
  }
  for (const auto& q : g.quantization_annotation()) {
    graph.opaque_quantization_annotations.push_back(q.SerializeAsString());
  }
  return graph;
}

}  // namespace

absl::StatusOr<Model> ModelFromProto(onnx::ModelProto& proto, ExternalDataResolver& resolver,
                                     const LoadOptions& options) {
  if (!proto.has_graph()) return absl::DataLossError("not an ONNX model: it has no graph");
  Model model;
  model.ir_version = proto.ir_version();
  for (const auto& op : proto.opset_import()) {
    model.opset_imports.push_back({op.domain(), op.version()});
  }
  model.producer_name = proto.producer_name();
  model.producer_version = proto.producer_version();
  model.domain = proto.domain();
  model.model_version = proto.model_version();
  model.doc_string = proto.doc_string();
  for (const auto& kv : proto.metadata_props()) {
    model.metadata_props.emplace_back(kv.key(), kv.value());
  }
  for (const auto& f : proto.functions()) model.opaque_functions.push_back(f.SerializeAsString());
  for (const auto& t : proto.training_info()) {
    model.opaque_training_info.push_back(t.SerializeAsString());
  }
  Reader reader(resolver, options);
  ASSIGN_OR_RETURN(model.graph, reader.ReadGraph(*proto.mutable_graph()));
  return model;
}

}  // namespace pare::internal
