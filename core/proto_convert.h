// Internal to core's I/O layer: conversion between onnx::ModelProto and
// pare::Model. Nothing outside core/ includes this header.
#ifndef PARE_CORE_PROTO_CONVERT_H_
#define PARE_CORE_PROTO_CONVERT_H_

#include <functional>

#include "absl/status/statusor.h"
#include "core/external_data.h"
#include "core/model.h"
#include "core/onnx_io.h"
#include "onnx/onnx_pb.h"

namespace pare::internal {

// Converts `proto` into a Model, moving inline tensor bytes out of it (the
// proto is left partly emptied). External data is mapped through `resolver`.
absl::StatusOr<Model> ModelFromProto(onnx::ModelProto& proto, ExternalDataResolver& resolver,
                                     const LoadOptions& options);

absl::StatusOr<Tensor> TensorFromProto(onnx::TensorProto& proto, ExternalDataResolver& resolver,
                                       const LoadOptions& options);

// Where a tensor is written is up to the caller: the callback fills the data
// fields of `proto` (raw_data inline, or external_data). Name, type and dims
// are already set. `is_initializer` is false for tensors in attributes.
using TensorDataWriter = std::function<absl::Status(const Tensor& tensor, bool is_initializer,
                                                    onnx::TensorProto* proto)>;

absl::Status ModelToProto(const Model& model, const TensorDataWriter& write_data,
                          onnx::ModelProto* proto);

// Fills data fields inline (raw_data, or string_data for strings).
void SetInlineData(const Tensor& tensor, onnx::TensorProto* proto);

}  // namespace pare::internal

#endif  // PARE_CORE_PROTO_CONVERT_H_
