#include "core/shape_inference.h"

#include <exception>

#include "absl/strings/str_cat.h"
#include "core/proto_convert.h"
#include "core/status_macros.h"
#include "onnx/shape_inference/implementation.h"

namespace pare {
namespace {

constexpr uint64_t kInlineIntegerBytes = 1 << 16;

bool InferenceMayReadData(const Tensor& t) {
  const bool integer = t.dtype() == DataType::kInt64 || t.dtype() == DataType::kInt32;
  return integer && t.bytes().size() <= kInlineIntegerBytes;
}

// Reads back the inferred value infos of the main graph.
absl::StatusOr<Model> ModelFromInferred(onnx::ModelProto& proto) {
  ExternalDataResolver unused("");
  // Strip tensors so reading back touches no data: only value infos matter.
  proto.mutable_graph()->clear_initializer();
  proto.mutable_graph()->clear_node();
  return internal::ModelFromProto(proto, unused, LoadOptions{});
}

}  // namespace

absl::Status InferShapes(Model& model, bool propagate_data) {
  onnx::ModelProto proto;
  RETURN_IF_ERROR(internal::ModelToProto(
      model,
      [](const Tensor& t, bool, onnx::TensorProto* p) {
        if (InferenceMayReadData(t)) internal::SetInlineData(t, p);
        return absl::OkStatus();
      },
      &proto));
  try {
    onnx::ShapeInferenceOptions options{/*check_type=*/false, /*error_mode=*/0,
                                        /*enable_data_propagation=*/propagate_data};
    onnx::shape_inference::InferShapes(proto, onnx::OpSchemaRegistry::Instance(), options);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("shape inference failed: ", e.what()));
  }
  ASSIGN_OR_RETURN(Model inferred, ModelFromInferred(proto));
  model.graph.value_info = std::move(inferred.graph.value_info);
  for (size_t i = 0; i < model.graph.outputs.size() && i < inferred.graph.outputs.size(); ++i) {
    ValueInfo& out = model.graph.outputs[i];
    if (out.is_tensor && !out.shape) out = inferred.graph.outputs[i];
  }
  return absl::OkStatus();
}

}  // namespace pare
