// ONNX shape inference over pare's model, through libonnx's schemas.
//
//   RETURN_IF_ERROR(InferShapes(model));   // fills graph.value_info and outputs
//
// Applies where libonnx knows the operators: Debian's ONNX 1.12 has schemas
// up to opset 17, and contrib ops (com.microsoft) have none, so values behind
// unknown operators simply stay without inferred shapes. Weight data is not
// copied: only small integer tensors, which inference may read (Reshape's
// shape, Slice's starts), travel with the graph.
#ifndef PARE_CORE_SHAPE_INFERENCE_H_
#define PARE_CORE_SHAPE_INFERENCE_H_

#include "absl/status/status.h"
#include "core/model.h"

namespace pare {

// Replaces model.graph.value_info with the inferred types and fills in
// output types and shapes that inference could determine. Fails only when
// libonnx reports an inconsistency it can prove (InvalidArgument). With
// `propagate_data`, shape computations (Shape -> Gather -> Concat ->
// Reshape, as exporters write them) are evaluated too, so concrete input
// sizes reach the values behind them.
absl::Status InferShapes(Model& model, bool propagate_data = false);

}  // namespace pare

#endif  // PARE_CORE_SHAPE_INFERENCE_H_
