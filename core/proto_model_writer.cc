// Model → ModelProto. Tensor data placement is delegated to a callback so the
// same walk serves inline saving, external saving and metadata-only protos.
#include "core/proto_convert.h"
#include "core/status_macros.h"

namespace pare::internal {
namespace {

class Writer {
 public:
  explicit Writer(const TensorDataWriter& write_data) : write_data_(write_data) {}

  absl::Status WriteGraph(const Graph& graph, onnx::GraphProto* g);

 private:
  absl::Status WriteTensor(const Tensor& t, bool is_initializer, onnx::TensorProto* p);
  absl::Status WriteAttribute(const Attribute& attr, onnx::AttributeProto* a);
  static void WriteValueInfo(const ValueInfo& info, onnx::ValueInfoProto* v);

  const TensorDataWriter& write_data_;
};

absl::Status Writer::WriteTensor(const Tensor& t, bool is_initializer, onnx::TensorProto* p) {
  p->set_name(t.name());
  p->set_data_type(static_cast<int32_t>(t.dtype()));
  for (int64_t d : t.dims()) p->add_dims(d);
  return write_data_(t, is_initializer, p);
}

void Writer::WriteValueInfo(const ValueInfo& info, onnx::ValueInfoProto* v) {
  v->set_name(info.name);
  if (!info.doc_string.empty()) v->set_doc_string(info.doc_string);
  if (!info.is_tensor) {
    v->mutable_type()->ParseFromString(info.opaque_type);
    return;
  }
  if (info.elem_type == DataType::kUndefined && !info.shape) return;
  auto* tensor_type = v->mutable_type()->mutable_tensor_type();
  tensor_type->set_elem_type(static_cast<int32_t>(info.elem_type));
  if (!info.shape) return;
  auto* shape = tensor_type->mutable_shape();
  for (const Dim& dim : *info.shape) {
    auto* d = shape->add_dim();
    if (dim.value) d->set_dim_value(*dim.value);
    if (!dim.param.empty()) d->set_dim_param(dim.param);
  }
}

absl::Status Writer::WriteAttribute(const Attribute& attr, onnx::AttributeProto* a) {
  a->set_name(attr.name);
  a->set_type(static_cast<onnx::AttributeProto::AttributeType>(attr.type));
  if (!attr.ref_attr_name.empty()) a->set_ref_attr_name(attr.ref_attr_name);
  if (!attr.doc_string.empty()) a->set_doc_string(attr.doc_string);
  switch (attr.type) {
    case AttributeType::kFloat:
      a->set_f(attr.f);
      break;
    case AttributeType::kInt:
      a->set_i(attr.i);
      break;
    case AttributeType::kString:
      a->set_s(attr.s);
      break;
    case AttributeType::kTensor:
      if (!attr.tensors.empty())
        RETURN_IF_ERROR(WriteTensor(attr.tensors[0], false, a->mutable_t()));
      break;
    case AttributeType::kGraph:
      if (!attr.graphs.empty()) RETURN_IF_ERROR(WriteGraph(attr.graphs[0], a->mutable_g()));
      break;
    case AttributeType::kSparseTensor:
      if (!attr.opaque.empty()) a->mutable_sparse_tensor()->ParseFromString(attr.opaque[0]);
      break;
    case AttributeType::kTypeProto:
      if (!attr.opaque.empty()) a->mutable_tp()->ParseFromString(attr.opaque[0]);
      break;
    case AttributeType::kFloats:
      a->mutable_floats()->Add(attr.floats.begin(), attr.floats.end());
      break;
    case AttributeType::kInts:
      a->mutable_ints()->Add(attr.ints.begin(), attr.ints.end());
      break;
    case AttributeType::kStrings:
      for (const auto& s : attr.strings) a->add_strings(s);
      break;
    case AttributeType::kTensors:
      for (const Tensor& t : attr.tensors) RETURN_IF_ERROR(WriteTensor(t, false, a->add_tensors()));
      break;
    case AttributeType::kGraphs:
      for (const Graph& g : attr.graphs) RETURN_IF_ERROR(WriteGraph(g, a->add_graphs()));
      break;
    case AttributeType::kSparseTensors:
      for (const auto& s : attr.opaque) a->add_sparse_tensors()->ParseFromString(s);
      break;
    case AttributeType::kTypeProtos:
      for (const auto& s : attr.opaque) a->add_type_protos()->ParseFromString(s);
      break;
    case AttributeType::kUndefined:
      break;
  }
  return absl::OkStatus();
}

absl::Status Writer::WriteGraph(const Graph& graph, onnx::GraphProto* g) {
  g->set_name(graph.name);
  if (!graph.doc_string.empty()) g->set_doc_string(graph.doc_string);
  for (const Tensor& t : graph.initializers) {
    RETURN_IF_ERROR(WriteTensor(t, true, g->add_initializer()));
  }
  for (const Node& node : graph.nodes) {
    auto* n = g->add_node();
    if (!node.name.empty()) n->set_name(node.name);
    n->set_op_type(node.op_type);
    if (!node.domain.empty()) n->set_domain(node.domain);
    if (!node.doc_string.empty()) n->set_doc_string(node.doc_string);
    for (const auto& in : node.inputs) n->add_input(in);
    for (const auto& out : node.outputs) n->add_output(out);
    for (const Attribute& attr : node.attributes) {
      RETURN_IF_ERROR(WriteAttribute(attr, n->add_attribute()));
    }
  }
  for (const auto& v : graph.inputs) WriteValueInfo(v, g->add_input());
  for (const auto& v : graph.outputs) WriteValueInfo(v, g->add_output());
  for (const auto& v : graph.value_info) WriteValueInfo(v, g->add_value_info());
  for (const auto& s : graph.opaque_sparse_initializers) {
    g->add_sparse_initializer()->ParseFromString(s);
  }
  for (const auto& q : graph.opaque_quantization_annotations) {
    g->add_quantization_annotation()->ParseFromString(q);
  }
  return absl::OkStatus();
}

}  // namespace

void SetInlineData(const Tensor& tensor, onnx::TensorProto* proto) {
  if (tensor.dtype() == DataType::kString) {
    for (const auto& s : tensor.strings()) proto->add_string_data(s);
    return;
  }
  const auto bytes = tensor.bytes();
  proto->set_raw_data(bytes.data(), bytes.size());
}

absl::Status ModelToProto(const Model& model, const TensorDataWriter& write_data,
                          onnx::ModelProto* proto) {
  proto->set_ir_version(model.ir_version);
  for (const OpsetImport& op : model.opset_imports) {
    auto* o = proto->add_opset_import();
    o->set_domain(op.domain);
    o->set_version(op.version);
  }
  if (!model.producer_name.empty()) proto->set_producer_name(model.producer_name);
  if (!model.producer_version.empty()) proto->set_producer_version(model.producer_version);
  if (!model.domain.empty()) proto->set_domain(model.domain);
  if (model.model_version) proto->set_model_version(model.model_version);
  if (!model.doc_string.empty()) proto->set_doc_string(model.doc_string);
  for (const auto& [key, value] : model.metadata_props) {
    auto* kv = proto->add_metadata_props();
    kv->set_key(key);
    kv->set_value(value);
  }
  for (const auto& f : model.opaque_functions) proto->add_functions()->ParseFromString(f);
  for (const auto& t : model.opaque_training_info) proto->add_training_info()->ParseFromString(t);
  Writer writer(write_data);
  return writer.WriteGraph(model.graph, proto->mutable_graph());
}

}  // namespace pare::internal
